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


# AddressSanitizer's shadow on x86-64 (one byte per eight of the
# program's, never the program's data): from LowShadow's start to
# HighShadow's end. It is terabytes, split into pieces wherever ASan maps
# part of it otherwise (the main stack's shadow, for one), so a piece may
# be of any size: skipped by address, in a process that has it (a mapping
# over a terabyte there), and by size anywhere else (HUGE). Reading it
# would take minutes and fill the target's page tables.
ASAN_SHADOW = (0x00007FFF8000, 0x10007FFF8000)
TERA = 1 << 40
HUGE = 64 << 30
CHUNK = 8 << 20


def regions_of(pid):
    """(lo, hi, rss_kb) of each readable mapping, from smaps."""
    out, cur = [], None
    for line in open("/proc/%d/smaps" % pid).read().splitlines():
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        if m:
            cur = None
            if m.group(3)[0] == "r" and not line.endswith(("[vvar]", "[vsyscall]")):
                cur = [int(m.group(1), 16), int(m.group(2), 16), 0]
                out.append(cur)
        elif cur is not None and line.startswith("Rss:"):
            cur[2] = int(line.split()[1])
    return out


def scan(args):
    pats = [bytes.fromhex(h) for h in args.hex]
    pats += [p[::-1] for p in pats]
    counts = [0] * len(pats)
    keep = max(len(p) for p in pats) - 1
    try:
        maps = regions_of(args.pid)
        mem = open("/proc/%d/mem" % args.pid, "rb", buffering=0)
    except OSError as e:
        sys.exit("cannot read process %d: %s" % (args.pid, e))
    asan = any(hi - lo > TERA and ASAN_SHADOW[0] <= lo and
               hi <= ASAN_SHADOW[1] for lo, hi, _ in maps)
    regions = huge = failed = 0
    for lo, hi, rss in maps:
        if rss == 0:
            continue            # nothing resident: nothing to find
        if hi - lo > HUGE or (asan and ASAN_SHADOW[0] <= lo and
                              hi <= ASAN_SHADOW[1]):
            huge += 1
            continue
        tail, ok, off = b"", False, lo
        while off < hi:
            try:
                mem.seek(off)
                data = mem.read(min(CHUNK, hi - off))
            except OSError as e:
                # A key could hide in what is not read: say so, fail.
                print("cannot read %x-%x at %x: %s" % (lo, hi, off, e),
                      file=sys.stderr)
                failed += 1
                break
            if not data:
                break
            ok = True
            buf = tail + data
            for i, p in enumerate(pats):
                # a match wholly inside the kept tail was counted last time
                counts[i] += buf.count(p) - tail.count(p)
            tail = buf[-keep:] if keep > 0 else b""
            off += len(data)
        regions += ok
    if regions == 0:
        sys.exit("no readable memory in process %d" % args.pid)
    if failed:
        sys.exit("%d mapping(s) of process %d could not be read whole"
                 % (failed, args.pid))
    if huge:
        print("skipped %d mapping(s) of sanitizer shadow" % huge,
              file=sys.stderr)
    n = len(args.hex)
    for i, h in enumerate(args.hex):
        print(h, counts[i] + counts[n + i])


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
