"""An independent COSE implementation (pycose, cbor2, base45 from PyPI) on Legion's
entry authorisations.

    pycose_peer.py verify TOKEN_FILE TRUST_LIST_FILE
        Unwraps the LG1: text (Base45, zlib), decodes the COSE_Sign1 with pycose, finds the
        key by its kid in the trust list's JWKs, verifies the signature, prints the claims as
        JSON. Exit 1 if the signature does not verify.

    pycose_peer.py sign SEED_HEX ISSUER NOW
        Signs a token in Legion's claim layout with pycose (EdDSA, kid = first 8 bytes of
        SHA-256 of the public key in the protected header) and prints its LG1: text.
"""

import base64
import hashlib
import json
import sys
import uuid
import zlib

import base45
import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pycose.algorithms import EdDSA
from pycose.headers import KID, Algorithm
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import CoseMessage, Sign1Message


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def verify(token_file, trust_file):
    token = open(token_file).read().strip()
    assert token.startswith("LG1:"), "prefix"
    cose = zlib.decompress(base45.b45decode(token[4:]))
    msg = CoseMessage.decode(cose)
    kid = msg.phdr[KID]
    trust = json.load(open(trust_file))
    jwk = next(k for k in trust["keys"] if b64url_decode(k["kid"]) == kid)
    msg.key = OKPKey(crv=Ed25519, x=b64url_decode(jwk["x"]))
    if not msg.verify_signature():
        print("signature does not verify", file=sys.stderr)
        sys.exit(1)
    claims = cbor2.loads(msg.payload)
    holder = claims[-65538]
    print(json.dumps({
        "alg": "EdDSA" if msg.phdr[Algorithm] == EdDSA else str(msg.phdr[Algorithm]),
        "iss": claims[1],
        "exp": claims[4],
        "nbf": claims[5],
        "iat": claims[6],
        "cti": str(uuid.UUID(bytes=claims[7])),
        "purpose": claims[-65537],
        "family_name": holder[1],
        "passport_number": holder[5],
        "entry_window": claims[-65539],
    }))


def sign(seed_hex, issuer, now):
    now = int(now)
    seed = bytes.fromhex(seed_hex)
    # pycose does not derive the public key from the seed; its backend (cryptography) does.
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = OKPKey(crv=Ed25519, d=seed, x=public)
    kid = hashlib.sha256(public).digest()[:8]
    claims = {
        1: issuer,
        4: now + 86400 * 10,
        5: now - 3600,
        6: now - 3600,
        7: uuid.UUID("6b0d8c4e-1f5a-4c9b-9b7e-3d2a1c0f9e8d").bytes,
        -65537: "entry authorisation v1",
        -65538: {1: "PYTHON", 2: "COSE PEER", 3: "1985-06-15", 4: "NL", 5: "NP1234567"},
        -65539: ["2027-01-01", "2027-01-31"],
    }
    msg = Sign1Message(phdr={Algorithm: EdDSA, KID: kid}, payload=cbor2.dumps(claims))
    msg.key = key
    print("LG1:" + base45.b45encode(zlib.compress(msg.encode(), 9)).decode())


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "sign":
        sign(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(2)
