#!/usr/bin/env python3
# tests/tools/pyverify.py - Python's cryptography as a relying party for
# tests/e2e/hier.sh: is LEAF a valid TLS server certificate for its first
# DNS name (its first IP address when it has none), with ROOT the only trust anchor, CHAIN the untrusted
# certificates, and CRLS (DER or PEM) the revocation lists to check?
#
# Usage: pyverify.py ROOT.pem LEAF.pem CHAIN.pem [CRL...]
# Prints "OK (how)" and exits 0, or the reason and exits 1.
#
# cryptography 42 and later has a path validator (x509.verification): it
# is used when present (CRLs then checked on the path it built). Debian
# 12's python3-cryptography is 38, which has none: then the path is built
# here and every judgement that takes cryptography is made by it -
# signatures (public_key().verify), names, validity, basicConstraints,
# keyUsage, nameConstraints (dNSName and iPAddress) and CRL signatures and entries as it parses
# them - and the output says "primitives".
import datetime
import sys

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtensionOID


def load_certs(path):
    data = open(path, "rb").read()
    out = []
    marker = b"-----BEGIN CERTIFICATE-----"
    for part in data.split(marker)[1:]:
        out.append(x509.load_pem_x509_certificate(marker + part))
    return out


def load_crl(path):
    data = open(path, "rb").read()
    if data.lstrip().startswith(b"-----"):
        marker = b"-----BEGIN X509 CRL-----"
        return [x509.load_pem_x509_crl(marker + p) for p in data.split(marker)[1:]]
    return [x509.load_der_x509_crl(data)]


def signed_by(child, issuer):
    if child.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(child.signature, child.tbs_certificate_bytes,
                       ec.ECDSA(child.signature_hash_algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(child.signature, child.tbs_certificate_bytes,
                       padding.PKCS1v15(), child.signature_hash_algorithm)
        else:
            return False
    except Exception:
        return False
    return True


def ext(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None


def dns_within(name, base):
    name, base = name.lower(), base.lower()
    if base.startswith("."):
        return name.endswith(base)
    return name == base or name.endswith("." + base)


def ip_within(addr, net):
    return addr.version == net.version and addr in net


def nc_ok(nc, dns_names, ips=()):
    for n in dns_names:
        for sub in nc.excluded_subtrees or []:
            if isinstance(sub, x509.DNSName) and dns_within(n, sub.value):
                return False
        permitted = [s for s in (nc.permitted_subtrees or [])
                     if isinstance(s, x509.DNSName)]
        if permitted and not any(dns_within(n, s.value) for s in permitted):
            return False
    # RFC 5280 4.2.1.10 for iPAddress: outside every excluded range and,
    # when any range is permitted, within one (of its own family).
    for a in ips:
        for sub in nc.excluded_subtrees or []:
            if isinstance(sub, x509.IPAddress) and ip_within(a, sub.value):
                return False
        permitted = [s for s in (nc.permitted_subtrees or [])
                     if isinstance(s, x509.IPAddress)]
        if permitted and not any(ip_within(a, s.value) for s in permitted):
            return False
    return True


def build_path(leaf, root, pool):
    path = [leaf]
    cur = leaf
    for _ in range(8):
        if signed_by(cur, root):
            return path + [root]
        nxt = next((c for c in pool if c not in path and signed_by(cur, c)),
                   None)
        if nxt is None:
            return None
        path.append(nxt)
        cur = nxt
    return None


def check_crls(path, crls, now):
    for i, cert in enumerate(path[:-1]):
        issuer = path[i + 1]
        for crl in crls:
            if crl.issuer != issuer.subject:
                continue
            if not crl.is_signature_valid(issuer.public_key()):
                continue
            if crl.next_update is not None and crl.next_update < now:
                return "a CRL has expired"
            if crl.get_revoked_certificate_by_serial_number(cert.serial_number):
                return "certificate %d of the path is revoked" % i
    return None


def primitives(root, leaf, pool, crls, now):
    path = build_path(leaf, root, pool)
    if path is None:
        return "no path to the root"
    for c in path:
        if not (c.not_valid_before <= now <= c.not_valid_after):
            return "outside its validity: %s" % c.subject.rfc4514_string()
    san = ext(leaf, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    dns = san.get_values_for_type(x509.DNSName) if san else []
    ips = san.get_values_for_type(x509.IPAddress) if san else []
    for depth, ca in enumerate(path[1:], start=1):
        bc = ext(ca, ExtensionOID.BASIC_CONSTRAINTS)
        if bc is None or not bc.ca:
            return "not a CA: %s" % ca.subject.rfc4514_string()
        ku = ext(ca, ExtensionOID.KEY_USAGE)
        if ku is not None and not ku.key_cert_sign:
            return "a CA without keyCertSign"
        # RFC 5280 6.1.4: CAs below this one (the leaf excluded)
        if bc.path_length is not None and depth - 1 > bc.path_length:
            return "pathLenConstraint exceeded"
        nc = ext(ca, ExtensionOID.NAME_CONSTRAINTS)
        if nc is not None and not nc_ok(nc, dns, ips):
            return "a name outside the name constraints"
    bad = check_crls(path, crls, now)
    return bad


def main():
    root = load_certs(sys.argv[1])[0]
    leaf = load_certs(sys.argv[2])[0]
    pool = load_certs(sys.argv[3]) if sys.argv[3] != "-" else []
    crls = [c for p in sys.argv[4:] for c in load_crl(p)]
    now = datetime.datetime.utcnow()
    verification = getattr(x509, "verification", None)
    if verification is not None:
        from cryptography.x509.verification import PolicyBuilder, Store
        san = ext(leaf, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        dns = san.get_values_for_type(x509.DNSName)
        name = (x509.DNSName(dns[0]) if dns else
                x509.IPAddress(san.get_values_for_type(x509.IPAddress)[0]))
        verifier = PolicyBuilder().store(Store([root])).build_server_verifier(
            name)
        try:
            chain = verifier.verify(leaf, pool)
        except Exception as e:
            print("refused: %s" % e)
            return 1
        bad = check_crls(chain, crls, now)
        if bad:
            print("refused: %s" % bad)
            return 1
        print("OK (x509.verification, cryptography %s)" % __import__("cryptography").__version__)
        return 0
    bad = primitives(root, leaf, pool, crls, now)
    if bad:
        print("refused: %s" % bad)
        return 1
    print("OK (primitives of cryptography %s: it has no path validator)"
          % __import__("cryptography").__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
