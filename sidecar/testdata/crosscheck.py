"""Independent check of trustly-sidecar's signatures, written from the wire
contract alone: serialize, locate the signature, verify RSA-PKCS1v15-SHA1.

usage: crosscheck.py PUBLIC.pem MESSAGE.json...
Prints one JSON line per message: {"file", "plaintext", "valid"}.
"""
import base64
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def serialize(v):
    # Numbers arrive as their original text (parse_int/parse_float=str).
    if v is None:
        return ""
    if isinstance(v, bool):
        raise ValueError("JSON boolean in signed data")
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        # Code point order equals UTF-8 byte order.
        return "".join(k + serialize(v[k]) for k in sorted(v))
    if isinstance(v, list):
        return "".join(serialize(e) for e in v)
    raise ValueError("cannot serialize %r" % type(v))


def locate(msg):
    """method, uuid, data, signature of any of the five envelopes."""
    if msg.get("params") is not None:
        p = msg["params"]
        if "Data" in p or "UUID" in p:
            return msg.get("method"), p.get("UUID"), p.get("Data"), p.get("Signature")
        return msg.get("method"), p.get("uuid"), p.get("data"), p.get("signature")
    block = msg["result"] if msg.get("result") is not None else msg["error"]["error"]
    return block.get("method"), block.get("uuid"), block.get("data"), block.get("signature")


def main():
    with open(sys.argv[1], "rb") as f:
        key = serialization.load_pem_public_key(f.read())
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            msg = json.load(f, parse_int=str, parse_float=str)
        method, uuid, data, sig = locate(msg)
        plaintext = (method or "") + (uuid or "") + serialize(data)
        try:
            key.verify(base64.b64decode(sig or "", validate=True), plaintext.encode("utf-8"),
                       padding.PKCS1v15(), hashes.SHA1())
            valid = True
        except (InvalidSignature, ValueError):
            valid = False
        print(json.dumps({"file": path, "plaintext": plaintext, "valid": valid}))


main()
