// Verifies the stand-in's signature vector with @saleor/app-sdk's own
// verifySignatureWithJwks (jose's flattenedVerify over the detached,
// unencoded payload): the vector's signature must verify, a foreign key's
// and a changed body must not. Exits 1 on any surprise.
"use strict";
const { verifySignatureWithJwks } = require("@saleor/app-sdk/auth");
const vector = require("../testdata/signature-vector.json");

async function verifies(signature, body) {
  try {
    await verifySignatureWithJwks(JSON.stringify(vector.jwks), signature, body);
    return true;
  } catch {
    return false;
  }
}

(async () => {
  const cases = [
    ["the stand-in's signature", vector.signature, vector.body, true],
    ["a foreign key's signature", vector.foreignSignature, vector.body, false],
    ["the body changed after signing", vector.signature, vector.body.replace("103.5", "1.05"), false],
  ];
  let failed = 0;
  for (const [name, signature, body, want] of cases) {
    const got = await verifies(signature, body);
    console.log(`${got === want ? "ok  " : "FAIL"} ${name}: ${got ? "verified" : "refused"} by @saleor/app-sdk`);
    if (got !== want) failed++;
  }
  process.exit(failed ? 1 : 0);
})();
