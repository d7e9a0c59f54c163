#!/usr/bin/env python3
"""tests/tools/scep_msg.py - a small SCEP (RFC 8894) client for
tests/e2e/scep.sh: it builds the messages the real clients cannot be made
to send (a chosen transactionID, a replay, another recipient, another
algorithm, a CertPoll, a GetCert, a GetCRL) and reads the CertRep an
answer holds.
Python's cryptography does RSA, hashes and ciphers; the DER is by hand.

  scep_msg.py make OUT --ra RA.pem --key KEY.pem --cn NAME [--challenge C]
      [--san DNSNAME ...]
      [--type pkcsreq|renewalreq|certpoll|getcert|getcrl] [--tid T]
      [--cipher aes128|aes256|des3|cast5|aes128-ofb]
      [--digest sha256|sha1|sha384|md5] [--sig-alg rsa|pss] [--key-alg rsa|oaep]
      [--signer CERT.pem | --fake-signer BITS:EBITS] [--csr-key KEY2.pem]
      [--serial HEX --issuer-of CERT.pem] [--nonce-out FILE]
      [--envelope-from MSG.der] [--message-type RAW] [--plaintext HEX]
  scep_msg.py reply IN --ra RA.pem --key KEY.pem [--out CERT.pem]
      prints "status=N failinfo=N tid=T" (the signature checked with the
      RA certificate) and writes the certificate (or, for GetCRL, the CRL)
      of a SUCCESS as PEM.
  scep_msg.py nextca IN --ra RA.pem [--out CERT.pem]
      reads a GetNextCACert reply (RFC 8894 4.7.1) as a client would: the
      RA's signature over the signed attributes, their messageDigest of
      the content, the content a certs-only PKCS#7 (read by cryptography's
      pkcs7 loader); prints "certs=N attrs=NAME,..." and writes the
      certificates as PEM.
--csr-key makes the CSR of another key (made when missing) than the one
that signs the message: a renewal with a new key, or someone's CSR wrapped
by another.
--plaintext encrypts HEX (whole cipher blocks) as it is, no padding added:
content whose padding is right or wrong, as a padding oracle probes.
--digest sha384 and md5, --sig-alg pss (RSASSA-PSS, SHA-256), --key-alg
oaep (RSAES-OAEP, SHA-1) and --cipher cast5 (CAST5-CBC, RFC 2984) and aes128-ofb
are algorithms mica does not support: a client's that mica answers
FAILURE badAlg. --nonce-out writes the senderNonce, hex.
--envelope-from takes the encrypted envelope of an existing message as it
is, and signs it anew: a copy signed again by someone who cannot read it.
KEY.pem is made (RSA-2048) when missing, and with it the self-signed
certificate that signs every message of that key (KEY.pem.self), unless
--signer names another. --fake-signer makes up the signer certificate: an
RSA key of a BITS-bit modulus and an EBITS-bit exponent, and a signature
that cannot verify.
"""
import argparse
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as apad
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID
import datetime


# ---- DER ----------------------------------------------------------------
def tlv(tag, body):
    n = len(body)
    if n < 128:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + body


def seq(*xs):
    return tlv(0x30, b"".join(xs))


def set_(*xs):
    return tlv(0x31, b"".join(sorted(xs)))


def oid(s):
    p = [int(x) for x in s.split(".")]
    out = bytes([40 * p[0] + p[1]])
    for v in p[2:]:
        enc = [v & 0x7F]
        v >>= 7
        while v:
            enc.insert(0, 0x80 | (v & 0x7F))
            v >>= 7
        out += bytes(enc)
    return tlv(0x06, out)


def octet(b):
    return tlv(0x04, b)


def integer(v):
    b = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big")
    return tlv(0x02, b)


def printable(s):
    return tlv(0x13, s.encode())


def null():
    return b"\x05\x00"


def read(b, i=0):
    """One element at B[i]: (tag, contents, end)."""
    tag = b[i]
    n = b[i + 1]
    j = i + 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[j:j + k], "big")
        j += k
    return tag, b[j:j + n], j + n


def items(b):
    i, out = 0, []
    while i < len(b):
        t, v, e = read(b, i)
        out.append((t, v, b[i:e]))
        i = e
    return out


OID = {
    "data": "1.2.840.113549.1.7.1", "signedData": "1.2.840.113549.1.7.2",
    "envelopedData": "1.2.840.113549.1.7.3", "rsa": "1.2.840.113549.1.1.1",
    "sha256": "2.16.840.1.101.3.4.2.1", "sha1": "1.3.14.3.2.26",
    "md5": "1.2.840.113549.2.5", "sha384": "2.16.840.1.101.3.4.2.2",
    "aes128": "2.16.840.1.101.3.4.1.2", "aes256": "2.16.840.1.101.3.4.1.42",
    "des3": "1.2.840.113549.3.7", "cast5": "1.2.840.113533.7.66.10",
    "aes128-ofb": "2.16.840.1.101.3.4.1.3",
    "oaep": "1.2.840.113549.1.1.7", "pss": "1.2.840.113549.1.1.10",
    "mgf1": "1.2.840.113549.1.1.8",
    "contentType": "1.2.840.113549.1.9.3", "messageDigest": "1.2.840.113549.1.9.4",
    "messageType": "2.16.840.1.113733.1.9.2", "pkiStatus": "2.16.840.1.113733.1.9.3",
    "failInfo": "2.16.840.1.113733.1.9.4", "senderNonce": "2.16.840.1.113733.1.9.5",
    "recipientNonce": "2.16.840.1.113733.1.9.6", "transactionID": "2.16.840.1.113733.1.9.7",
}
TYPES = {"pkcsreq": 19, "renewalreq": 17, "certpoll": 20, "getcert": 21, "getcrl": 22}
HASH = {"sha256": hashes.SHA256, "sha1": hashes.SHA1, "md5": hashes.MD5,
        "sha384": hashes.SHA384}


def ias(cert):
    """IssuerAndSerialNumber of CERT, the issuer's bytes as in the cert."""
    tbs = items(read(cert.public_bytes(serialization.Encoding.DER))[1])[0][1]
    f = items(tbs)
    if f[0][0] == 0xA0:
        f = f[1:]
    return seq(f[2][2], f[0][2])


def issuer_raw(cert):
    """The issuer Name of CERT, its bytes as in the certificate."""
    body = read(ias(cert))[1]
    return body[:read(body)[2]]


def load_key(path):
    if not os.path.exists(path):
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with open(path, "wb") as f:
            f.write(k.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return serialization.load_pem_private_key(open(path, "rb").read(), None)


def self_signed(key, cn):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))


def envelope(a, ra, content):
    """EnvelopedData of CONTENT to the RA (RFC 5652 6, 8894 3.3)."""
    klen = {"aes128": 16, "aes256": 32, "des3": 24, "cast5": 16,
            "aes128-ofb": 16}[a.cipher]
    cek, iv = os.urandom(klen), os.urandom(8 if a.cipher in ("des3", "cast5") else 16)
    mode = modes.OFB(iv) if a.cipher == "aes128-ofb" else modes.CBC(iv)
    if a.cipher == "des3":
        alg = algorithms.TripleDES(cek)
    elif a.cipher == "cast5":
        try:  # cryptography 43 moved it to decrepit
            from cryptography.hazmat.decrepit.ciphers.algorithms import CAST5
        except ImportError:
            import warnings
            with warnings.catch_warnings():  # "CAST5 has been deprecated"
                warnings.simplefilter("ignore")
                CAST5 = algorithms.CAST5
        alg = CAST5(cek)
    else:
        alg = algorithms.AES(cek)
    # RFC 2984 3: CAST5CBCParameters { iv, keyLength }, not an OCTET
    # STRING as the others' IV is.
    params = seq(octet(iv), integer(128)) if a.cipher == "cast5" else octet(iv)
    e = Cipher(alg, mode).encryptor()
    if a.plaintext is not None:
        ct = e.update(bytes.fromhex(a.plaintext)) + e.finalize()
    else:
        p = padding.PKCS7(alg.block_size).padder()
        ct = e.update(p.update(content) + p.finalize()) + e.finalize()
    if a.key_alg == "oaep":
        # RFC 4055 4.1: RSAES-OAEP-params all default (SHA-1, MGF1-SHA-1)
        ek = ra.public_key().encrypt(cek, apad.OAEP(apad.MGF1(hashes.SHA1()),
                                                    hashes.SHA1(), None))
        kalg = seq(oid(OID["oaep"]), seq())
    else:
        ek = ra.public_key().encrypt(cek, apad.PKCS1v15())
        kalg = seq(oid(OID["rsa"]), null())
    env = seq(oid(OID["envelopedData"]), tlv(0xA0, seq(
        integer(0),
        set_(seq(integer(0), ias(ra), kalg, octet(ek))),
        seq(oid(OID["data"]), seq(oid(OID[a.cipher]), params), tlv(0x80, ct)))))
    return env


def make(a):
    key = load_key(a.key)
    ra = x509.load_pem_x509_certificate(open(a.ra, "rb").read())
    if a.signer:
        signer = x509.load_pem_x509_certificate(open(a.signer, "rb").read())
    elif os.path.exists(a.key + ".self"):
        # The same self-signed certificate for every message of one key,
        # as real clients keep theirs (scepclient's self.pem).
        signer = x509.load_pem_x509_certificate(open(a.key + ".self", "rb").read())
    else:
        signer = self_signed(key, a.cn)
        open(a.key + ".self", "wb").write(signer.public_bytes(serialization.Encoding.PEM))
    if a.envelope_from:
        ci = items(read(open(a.envelope_from, "rb").read())[1])
        sd0 = items(read(ci[1][1])[1])
        env = read(items(sd0[2][1])[1][1])[1]
        content = None
    elif a.type in ("pkcsreq", "renewalreq"):
        b = x509.CertificateSigningRequestBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, a.cn)]))
        if a.challenge:
            b = b.add_attribute(x509.oid.AttributeOID.CHALLENGE_PASSWORD,
                                a.challenge.encode())
        if a.san:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in a.san]), critical=False)
        ckey = load_key(a.csr_key) if a.csr_key else key
        content = b.sign(ckey, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    elif a.type == "certpoll":
        name = seq(set_(seq(oid("2.5.4.3"), tlv(0x0C, a.cn.encode()))))
        content = seq(issuer_raw(ra), name)
    else:  # getcert, getcrl: IssuerAndSerialNumber of --serial under --issuer-of
        issuer = x509.load_pem_x509_certificate(open(a.issuer_of, "rb").read())
        content = seq(issuer_raw(issuer), integer(int(a.serial, 16)))
    if content is not None:
        env = envelope(a, ra, content)
    h = hashes.Hash(HASH[a.digest]())
    h.update(env)
    nonce = os.urandom(16)
    if a.nonce_out:
        open(a.nonce_out, "w").write(nonce.hex() + "\n")
    attrs = [
        seq(oid(OID["contentType"]), set_(oid(OID["data"]))),
        seq(oid(OID["messageDigest"]), set_(octet(h.finalize()))),
        seq(oid(OID["messageType"]), set_(printable(a.message_type or str(TYPES[a.type])))),
        seq(oid(OID["transactionID"]), set_(printable(a.tid))),
        seq(oid(OID["senderNonce"]), set_(octet(nonce))),
    ]
    sattrs = set_(*attrs)
    if a.sig_alg == "pss":
        # RFC 4055 3.1: SHA-256, MGF1 with SHA-256, a 32-octet salt
        sig = key.sign(sattrs, apad.PSS(apad.MGF1(hashes.SHA256()), 32),
                       hashes.SHA256())
        h256 = seq(oid(OID["sha256"]), null())
        salg = seq(oid(OID["pss"]), seq(tlv(0xA0, h256),
                                        tlv(0xA1, seq(oid(OID["mgf1"]), h256)),
                                        tlv(0xA2, integer(32))))
    else:
        sig = key.sign(sattrs, apad.PKCS1v15(), HASH[a.digest]())
        salg = seq(oid(OID["rsa"]), null())
    signer_ias = ias(signer)
    signer_der = signer.public_bytes(serialization.Encoding.DER)
    if a.fake_signer:
        # A made-up certificate whose RSA key has a BITS-bit modulus and
        # an EBITS-bit exponent, and a signature under it that cannot
        # verify: what anyone could send to make the server spend its
        # CPU on that key.
        bits, ebits = (int(x) for x in a.fake_signer.split(":"))
        n = int.from_bytes(os.urandom(bits // 8), "big") | (1 << (bits - 1)) | 1
        e = int.from_bytes(os.urandom(ebits // 8 + 1), "big") % (1 << ebits)
        e |= (1 << (ebits - 1)) | 1
        name = seq(set_(seq(oid("2.5.4.3"), tlv(0x0C, a.cn.encode()))))
        alg = seq(oid("1.2.840.113549.1.1.11"), null())
        spki = seq(seq(oid(OID["rsa"]), null()),
                   tlv(0x03, b"\0" + seq(integer(n), integer(e))))
        tbs = seq(tlv(0xA0, integer(2)), integer(12345), alg, name,
                  seq(tlv(0x17, b"260101000000Z"), tlv(0x17, b"360101000000Z")),
                  name, spki)
        signer_der = seq(tbs, alg, tlv(0x03, b"\0" + (n - 12345).to_bytes(bits // 8, "big")))
        signer_ias = seq(name, integer(12345))
        sig = (n - 54321).to_bytes(bits // 8, "big")
    dalg = seq(oid(OID[a.digest]), null())
    si = seq(integer(1), signer_ias, dalg, b"\xa0" + sattrs[1:],
             salg, octet(sig))
    sd = seq(integer(1), set_(dalg), seq(oid(OID["data"]), tlv(0xA0, octet(env))),
             tlv(0xA0, signer_der), set_(si))
    open(a.file, "wb").write(seq(oid(OID["signedData"]), tlv(0xA0, sd)))


def reply(a):
    key = load_key(a.key)
    ra = x509.load_pem_x509_certificate(open(a.ra, "rb").read())
    b = open(a.file, "rb").read()
    ci = items(read(b)[1])
    sd = items(read(ci[1][1])[1])
    econtent = read(items(sd[2][1])[1][1])[1]
    si = items(items(sd[-1][1])[0][1])
    sattrs = si[3][2]
    ra.public_key().verify(si[5][1], b"\x31" + sattrs[1:], apad.PKCS1v15(), hashes.SHA256())
    got = {}
    for _, v, _raw in items(si[3][1]):
        f = items(v)
        got[f[0][1]] = items(f[1][1])[0][1]
    want = lambda name: oid(OID[name])[2:]
    h = hashes.Hash(hashes.SHA256())
    h.update(econtent)
    assert got[want("messageDigest")] == h.finalize(), "messageDigest"
    status = got[want("pkiStatus")].decode()
    fi = got.get(want("failInfo"), b"").decode()
    print("status=%s failinfo=%s tid=%s" % (status, fi, got[want("transactionID")].decode()))
    if status == "0" and a.out:
        ed = items(read(items(read(econtent)[1])[1][1])[1])
        ri = items(items(ed[1][1])[0][1])
        cek = key.decrypt(ri[3][1], apad.PKCS1v15())
        eci = items(ed[2][1])
        algo = items(eci[1][1])
        iv = algo[1][1]
        alg = (algorithms.TripleDES(cek) if len(iv) == 8 else algorithms.AES(cek))
        d = Cipher(alg, modes.CBC(iv)).decryptor()
        u = padding.PKCS7(alg.block_size).unpadder()
        p7 = u.update(d.update(eci[2][1]) + d.finalize()) + u.finalize()
        field = items(read(items(read(p7)[1])[1][1])[1])[3]
        if field[0] == 0xA1:  # crls [1]: a GetCRL's answer
            crls = items(field[1])
            if len(crls) != 1:
                raise SystemExit("%d CRLs in the answer, wanted 1" % len(crls))
            c = x509.load_der_x509_crl(crls[0][2])
        else:
            c = x509.load_der_x509_certificate(items(field[1])[0][2])
        open(a.out, "wb").write(c.public_bytes(serialization.Encoding.PEM))


def nextca(a):
    from cryptography.hazmat.primitives.serialization import pkcs7
    ra = x509.load_pem_x509_certificate(open(a.ra, "rb").read())
    b = open(a.file, "rb").read()
    ci = items(read(b)[1])
    assert ci[0][2] == oid(OID["signedData"]), "not signedData"
    sd = items(read(ci[1][1])[1])
    eci = items(sd[2][1])
    assert eci[0][2] == oid(OID["data"]), "eContentType is not id-data"
    econtent = read(eci[1][1])[1]
    certs = [x509.load_der_x509_certificate(c[2]) for c in items(sd[3][1])]
    assert certs == [ra], "the SignedData does not carry the RA certificate alone"
    sis = items(sd[-1][1])
    assert len(sis) == 1, "not one SignerInfo"
    si = items(sis[0][1])
    assert si[1][2] == ias(ra), "the signer is not the RA"
    sattrs = si[3][2]
    ra.public_key().verify(si[5][1], b"\x31" + sattrs[1:], apad.PKCS1v15(), hashes.SHA256())
    got = {}
    for _, v, _raw in items(si[3][1]):
        f = items(v)
        got[f[0][1]] = items(f[1][1])[0][1]
    want = lambda name: oid(OID[name])[2:]
    h = hashes.Hash(hashes.SHA256())
    h.update(econtent)
    assert got[want("messageDigest")] == h.finalize(), "messageDigest"
    names = {oid(OID[k])[2:]: k for k in OID}
    inner = pkcs7.load_der_pkcs7_certificates(econtent)
    print("certs=%d attrs=%s" % (len(inner), ",".join(sorted(names.get(k, "?") for k in got))))
    if a.out:
        open(a.out, "wb").write(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in inner))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("op", choices=["make", "reply", "nextca"])
    ap.add_argument("file")
    ap.add_argument("--ra", required=True)
    ap.add_argument("--key")
    ap.add_argument("--cn", default="device.example.test")
    ap.add_argument("--challenge")
    ap.add_argument("--san", action="append")
    ap.add_argument("--type", default="pkcsreq", choices=sorted(TYPES))
    ap.add_argument("--tid", default=os.urandom(8).hex())
    ap.add_argument("--cipher", default="aes128",
                    choices=["aes128", "aes256", "des3", "cast5", "aes128-ofb"])
    ap.add_argument("--sig-alg", default="rsa", choices=["rsa", "pss"])
    ap.add_argument("--key-alg", default="rsa", choices=["rsa", "oaep"])
    ap.add_argument("--nonce-out")
    ap.add_argument("--digest", default="sha256", choices=sorted(HASH))
    ap.add_argument("--signer")
    ap.add_argument("--fake-signer", metavar="BITS:EBITS")
    ap.add_argument("--csr-key")
    ap.add_argument("--serial")
    ap.add_argument("--issuer-of")
    ap.add_argument("--out")
    ap.add_argument("--envelope-from")
    ap.add_argument("--message-type")
    ap.add_argument("--plaintext", metavar="HEX")
    a = ap.parse_args()
    if a.op == "nextca":
        return nextca(a)
    if a.key is None:
        ap.error("--key is required for make and reply")
    make(a) if a.op == "make" else reply(a)


if __name__ == "__main__":
    sys.exit(main())
