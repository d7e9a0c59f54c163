#!/usr/bin/env python3
"""tests/tools/crl_forge.py - a CRL signed with a mica CA's own key, saying
what no mica would: for tests/e2e/restore_crl.sh, which hands such CRLs to
'mica restore --crl' and 'mica revoke --from-crl'. The key is unsealed
from the store as ca/keys.c seals it (PBKDF2-HMAC-SHA256, AES-256-GCM,
AAD "mica-ca-key-v1" || iterations as 8 octets big-endian).

  crl_forge.py DB PASSFILE OUT --number N [--entry SERIALHEX:EPOCH[:REASON]]...

SERIALHEX is the INTEGER's content octets as they go in (so "00" is zero
and "0001" a non-DER one); EPOCH the revocationDate (UTCTime from 1950
to 2049, else GeneralizedTime).
"""
import argparse, datetime, hashlib, sqlite3, time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography import x509


def length(n):
    if n < 128:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, content):
    return bytes([tag]) + length(len(content)) + content


def seq(*parts):
    return tlv(0x30, b"".join(parts))


def integer(v):
    return tlv(2, v.to_bytes((v.bit_length() + 8) // 8 or 1, "big", signed=True))


def oid(dotted):
    p = [int(x) for x in dotted.split(".")]
    out = bytes([40 * p[0] + p[1]])
    for x in p[2:]:
        enc = [x & 0x7F]
        x >>= 7
        while x:
            enc.append(0x80 | (x & 0x7F))
            x >>= 7
        out += bytes(reversed(enc))
    return tlv(6, out)


def when(t):
    d = datetime.datetime.fromtimestamp(0, datetime.timezone.utc) + datetime.timedelta(seconds=t)
    if 1950 <= d.year < 2050:
        return tlv(0x17, d.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(0x18, d.strftime("%Y%m%d%H%M%SZ").encode())


def ext(dotted, value, critical=False):
    return seq(oid(dotted), tlv(1, b"\xff") if critical else b"", tlv(4, value))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("passfile")
    ap.add_argument("out")
    ap.add_argument("--number", type=int, required=True)
    ap.add_argument("--entry", action="append", default=[])
    a = ap.parse_args()

    pw = open(a.passfile, "rb").read().rstrip(b"\r\n")
    row = sqlite3.connect(a.db).execute(
        "SELECT key_salt, key_iter, key_nonce, key_ct, cert_der FROM ca WHERE id = 1").fetchone()
    salt, it, nonce, ct, cert_der = row
    dk = hashlib.pbkdf2_hmac("sha256", pw, salt, it, 32)
    key = serialization.load_der_private_key(
        AESGCM(dk).decrypt(nonce, ct, b"mica-ca-key-v1" + it.to_bytes(8, "big")), None)
    cert = x509.load_der_x509_certificate(cert_der)

    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = seq(oid("1.2.840.10045.4.3.2"))
    else:
        alg = seq(oid("1.2.840.113549.1.1.11"), tlv(5, b""))
    entries = b""
    for e in a.entry:
        f = e.split(":")
        exts = ext("2.5.29.21", tlv(10, bytes([int(f[2])]))) if len(f) > 2 else b""
        entries += seq(tlv(2, bytes.fromhex(f[0])), when(int(f[1])), seq(exts) if exts else b"")
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    now = int(time.time())
    tbs = seq(integer(1), alg, cert.subject.public_bytes(), when(now), when(now + 86400),
              seq(entries) if entries else b"",
              tlv(0xA0, seq(ext("2.5.29.35", seq(tlv(0x80, ski))),
                            ext("2.5.29.20", integer(a.number)))))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        sig = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    else:
        sig = key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    open(a.out, "wb").write(seq(tbs, alg, tlv(3, b"\x00" + sig)))


main()
