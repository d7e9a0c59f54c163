#!/usr/bin/env python3
"""tests/tools/keyscan.py - is the CA key in a process's memory?

  scalar --db DB --pass-file FILE
        unseal the CA key of a mica store independently of mica (PBKDF2-
        HMAC-SHA256 + AES-256-GCM as ca/keys.c documents it, with Python's
        cryptography) and print its private value as hex: the EC scalar,
        or RSA's private exponent d
  scan --pid PID --hex HEX [--hex HEX...]
        read every readable mapping of process PID (/proc/PID/maps and
        /proc/PID/mem; needs ptrace rights over it, root for a process
        that is not dumpable) and print, for each HEX pattern, how many
        times it occurs, big-endian and byte-reversed (bignum libraries
        keep little-endian limbs): "HEX COUNT"

Exit status: 0, or 2 on misuse or when the memory cannot be read.
"""

import argparse
import hashlib
import re
import sqlite3
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import load_der_private_key
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AAD_LABEL = b"mica-ca-key-v1"


def scalar(args):
    db = sqlite3.connect("file:%s?mode=ro" % args.db, uri=True)
    salt, it, nonce, ct = db.execute(
        "SELECT key_salt, key_iter, key_nonce, key_ct FROM ca WHERE id = 1").fetchone()
    with open(args.pass_file, "rb") as f:
        pw = f.readline().rstrip(b"\r\n")
    dk = hashlib.pbkdf2_hmac("sha256", pw, salt, it, 32)
    der = AESGCM(dk).decrypt(nonce, ct, AAD_LABEL + it.to_bytes(8, "big"))
    key = load_der_private_key(der, None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        v = key.private_numbers().private_value
        n = (key.curve.key_size + 7) // 8
    elif isinstance(key, rsa.RSAPrivateKey):
        v = key.private_numbers().d
        n = (key.key_size + 7) // 8
    else:
        sys.exit("unknown key type")
    print(v.to_bytes(n, "big").hex())


def scan(args):
    pats = [bytes.fromhex(h) for h in args.hex]
    counts = [0] * len(pats)
    try:
        maps = open("/proc/%d/maps" % args.pid).read().splitlines()
        mem = open("/proc/%d/mem" % args.pid, "rb", buffering=0)
    except OSError as e:
        sys.exit("cannot read process %d: %s" % (args.pid, e))
    regions = 0
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        if not m or m.group(3)[0] != "r" or line.endswith(("[vvar]", "[vsyscall]")):
            continue
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        try:
            mem.seek(lo)
            data = mem.read(hi - lo)
        except OSError:
            continue
        regions += 1
        for i, p in enumerate(pats):
            counts[i] += data.count(p) + data.count(p[::-1])
    if regions == 0:
        sys.exit("no readable memory in process %d" % args.pid)
    for h, c in zip(args.hex, counts):
        print(h, c)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("scalar")
    q.add_argument("--db", required=True)
    q.add_argument("--pass-file", required=True)
    q = sub.add_parser("scan")
    q.add_argument("--pid", type=int, required=True)
    q.add_argument("--hex", action="append", required=True)
    a = ap.parse_args()
    scalar(a) if a.cmd == "scalar" else scan(a)


if __name__ == "__main__":
    main()
