// The commercetools HTTP API and its OAuth server, from
// @labdigital/commercetools-mock, on a loopback port, for the adapter's
// end-to-end tests. runServer() binds 0.0.0.0, so this listens through the
// mock's Fastify app on 127.0.0.1 instead. The mock stores API Extension
// definitions but never calls them: the tests post the extension request
// commercetools would send.
//
//   node server.mjs [PORT]   (0 or none: a free port)
//
// Prints "commercetools-mock listening on http://127.0.0.1:PORT" once it
// listens, and exits when its stdin closes, so it never outlives the test
// that started it.
import { CommercetoolsMock } from '@labdigital/commercetools-mock';

const mock = new CommercetoolsMock({
    enableAuthentication: true, // every API call needs a token from /oauth/token
    validateCredentials: true, // and the token must be one the mock issued
    strict: true,
    silent: true,
    apiHost: 'http://127.0.0.1',
    authHost: 'http://127.0.0.1',
});

const port = Number(process.argv[2] ?? 0);
await mock.app.listen({ host: '127.0.0.1', port });
const { port: bound } = mock.app.server.address();
process.stdout.write(`commercetools-mock listening on http://127.0.0.1:${bound}\n`);

process.stdin.resume();
process.stdin.on('end', () => mock.app.close().then(() => process.exit(0)));
process.stdin.on('error', () => process.exit(0));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
