#!/usr/bin/env python3
"""tests/tools/enroll.py - load and race clients of `mica serve`, and the
store checks of the reliability tests (tests/e2e/crash.sh, concurrency.sh,
backup.sh).

Standard library only. Every client talks to one base URL: http://127.0.0.1:P
(the API over loopback HTTP) or https://127.0.0.1:P with --cacert ROOT.pem,
which is then the only trust anchor (hostname checked, never unverified).

Commands:
  loop     enroll again and again until a stop file appears; keep every
           certificate received (a 201 body) as OUT/SERIAL.pem
  burst    N enrollments from P threads, as fast as the daemon answers
  race     P threads send one request each at the same moment (a barrier)
  admin    publish CRLs, fetch /crl and revoke in a loop (crash test)
  publish  several admin clients publish CRLs at once for a while
  revrace  revoke serials one by one while another thread publishes CRLs
           and fetches /crl; check what every fetched CRL must contain
  check    every saved certificate is in a store, byte for byte
  export   write every signed certificate of a store as PEM files
  crls     the CRLs of a store are numbered in the order they were made,
           and every saved CRL file is the stored CRL of its number

Certificates and CRLs are judged by OpenSSL (openssl crl -text) where a
parser is needed; DER is only walked here to read a certificate's serial.
Exit status: 0 when every check passed, 1 when one failed, 2 on misuse.
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import re
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse


# ------------------------------------------------------------ transport --

class Client:
    """One keep-alive connection, re-opened after any transport error."""

    def __init__(self, base, cacert=None, timeout=60.0, source=None):
        u = urllib.parse.urlsplit(base)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise SystemExit("bad URL: %s" % base)
        if u.scheme == "https" and not cacert:
            raise SystemExit("https needs --cacert (never unverified)")
        self.https = u.scheme == "https"
        self.host = u.hostname
        self.port = u.port or (443 if self.https else 80)
        self.timeout = timeout
        # A loopback source address of its own keeps a client's failed
        # authentications (the daemon blocks an address after 10 a minute)
        # from blocking the other clients of a test.
        self.source = (source, 0) if source else None
        self.ctx = None
        if self.https:
            self.ctx = ssl.create_default_context(cafile=cacert)
            self.ctx.check_hostname = True
            self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.conn = None

    def connect(self):
        if self.conn is None:
            if self.https:
                self.conn = http.client.HTTPSConnection(
                    self.host, self.port, context=self.ctx, timeout=self.timeout,
                    source_address=self.source)
            else:
                self.conn = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout,
                    source_address=self.source)
            self.conn.connect()
        return self.conn

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None

    def request(self, method, path, body=None, headers=None):
        """(status, body bytes); raises OSError/HTTPException on transport
        failure (the connection is then closed)."""
        try:
            c = self.connect()
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return r.status, data
        except (OSError, http.client.HTTPException):
            self.close()
            raise


def auth(token):
    return {"Authorization": "Bearer " + token} if token else {}


def enroll_request(client, token, csr_der, profile="server"):
    h = auth(token)
    h["Content-Type"] = "application/pkcs10"
    return client.request("POST", "/api/v1/requests?profile=" + profile,
                          body=csr_der, headers=h)


# ------------------------------------------------------------------ DER --

def der_tlv(buf, off):
    """(tag, value start, value end) of the TLV at off; strict DER lengths."""
    if off + 2 > len(buf):
        raise ValueError("truncated")
    tag = buf[off]
    n = buf[off + 1]
    off += 2
    if n & 0x80:
        k = n & 0x7f
        if k == 0 or k > 4 or off + k > len(buf):
            raise ValueError("bad length")
        n = int.from_bytes(buf[off:off + k], "big")
        off += k
    if off + n > len(buf):
        raise ValueError("truncated")
    return tag, off, off + n


def cert_serial(der):
    """Lowercase hex of a certificate's serial (RFC 5280 4.1.2.2), even
    length, as mica writes serials."""
    tag, s, e = der_tlv(der, 0)
    if tag != 0x30 or e != len(der):
        raise ValueError("not a certificate")
    tag, s, e = der_tlv(der, s)              # tbsCertificate
    if tag != 0x30:
        raise ValueError("no tbsCertificate")
    tag, vs, ve = der_tlv(der, s)
    if tag == 0xa0:                          # [0] version
        tag, vs, ve = der_tlv(der, ve)
    if tag != 0x02 or ve == vs:
        raise ValueError("no serial")
    return strip_serial(der[vs:ve].hex())


def strip_serial(h):
    """mica's form of a serial: no leading zero octets, even length."""
    h = h.lower()
    while len(h) > 2 and h.startswith("00"):
        h = h[2:]
    return h


def pem_der(text, label="CERTIFICATE"):
    m = re.search(r"-----BEGIN %s-----(.*?)-----END %s-----" % (label, label),
                  text, re.S)
    if m is None:
        raise ValueError("no PEM %s" % label)
    return base64.b64decode("".join(m.group(1).split()), validate=True)


def der_pem(der, label="CERTIFICATE"):
    b = base64.b64encode(der).decode()
    lines = [b[i:i + 64] for i in range(0, len(b), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (
        label, "\n".join(lines), label)


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    os.rename(tmp, path)


def save_issued(out, body):
    """Keep a 201 body's certificate as OUT/SERIAL.pem; the serial."""
    j = json.loads(body)
    serial = j["serial"]
    if not re.fullmatch(r"[0-9a-f]{2,40}", serial or ""):
        raise ValueError("bad serial in reply: %r" % serial)
    path = os.path.join(out, serial + ".pem")
    if os.path.exists(path):
        # The same serial twice: keep both, the check step reports it.
        path = os.path.join(out, serial + ".dup%d.pem" % time.monotonic_ns())
    write_atomic(path, j["certificate"])
    return serial


def read_csrs(paths):
    csrs = []
    for p in paths:
        with open(p, "rb") as f:
            csrs.append(f.read())
    if not csrs:
        raise SystemExit("no CSR given")
    return csrs


# ------------------------------------------------------------- commands --

def cmd_loop(a):
    """Enroll until the stop file exists. A transport error (the daemon was
    killed) is counted and the client reconnects after a short pause."""
    os.makedirs(a.out, exist_ok=True)
    csrs = read_csrs(a.csr)
    c = Client(a.url, a.cacert, timeout=a.timeout, source=a.source)
    stats = {"issued": 0, "transport_errors": 0, "status": {}}
    deadline = time.monotonic() + a.max_seconds
    i = 0
    while not os.path.exists(a.stop) and time.monotonic() < deadline:
        csr = csrs[i % len(csrs)]
        i += 1
        try:
            st, body = enroll_request(c, a.token, csr)
        except (OSError, http.client.HTTPException):
            stats["transport_errors"] += 1
            time.sleep(0.05)
            continue
        stats["status"][str(st)] = stats["status"].get(str(st), 0) + 1
        if st == 201:
            save_issued(a.out, body)
            stats["issued"] += 1
        else:
            time.sleep(0.05)
    c.close()
    write_atomic(a.out.rstrip("/") + ".stats", json.dumps(stats) + "\n")
    return 0


def cmd_burst(a):
    """COUNT enrollments shared by PARALLEL threads, one connection each."""
    os.makedirs(a.out, exist_ok=True)
    csrs = read_csrs(a.csr)
    lock = threading.Lock()
    nxt = [0]
    codes = {}
    retries = [0]
    failed = []

    def worker(k):
        c = Client(a.url, a.cacert, timeout=a.timeout, source=a.source)
        while True:
            with lock:
                if nxt[0] >= a.count:
                    break
                n = nxt[0]
                nxt[0] += 1
            csr = csrs[n % len(csrs)]
            for attempt in range(4):
                try:
                    st, body = enroll_request(c, a.token, csr)
                    break
                except (OSError, http.client.HTTPException) as e:
                    with lock:
                        retries[0] += 1
                    st, body = None, str(e).encode()
                    time.sleep(0.05)
            with lock:
                codes[str(st)] = codes.get(str(st), 0) + 1
                if st != 201:
                    failed.append((st, body[:200]))
            if st == 201:
                save_issued(a.out, body)
        c.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.monotonic() - t0
    print(json.dumps({"count": a.count, "parallel": a.parallel, "codes": codes,
                      "transport_retries": retries[0], "seconds": round(dt, 2),
                      "per_second": round(a.count / dt, 1) if dt > 0 else None}))
    for st, b in failed[:5]:
        print("failed: %s %r" % (st, b), file=sys.stderr)
    return 0 if codes.get("201", 0) == a.count else 1


def cmd_race(a):
    """Every thread connects first, then all send at once; one status code
    per line on stdout, and each certificate received in OUT."""
    csrs = read_csrs(a.csr)
    if a.out:
        os.makedirs(a.out, exist_ok=True)
    barrier = threading.Barrier(a.parallel)
    codes = [None] * a.parallel

    def worker(k):
        src = "127.0.%d.%d" % (a.spread, k + 1) if a.spread else a.source
        c = Client(a.url, a.cacert, timeout=a.timeout, source=src)
        try:
            c.connect()
        except OSError:
            pass
        barrier.wait()
        try:
            st, body = enroll_request(c, a.token, csrs[k % len(csrs)])
        except (OSError, http.client.HTTPException):
            st, body = 0, b""
        codes[k] = st
        if st == 201 and a.out:
            save_issued(a.out, body)
        c.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for st in codes:
        print(st)
    return 0


def cmd_admin(a):
    """The admin side of the crash test: POST /api/v1/crl, GET /crl, and now
    and then revoke a certificate one of the enrolling clients received.
    Logs, one JSON object per line: what was published (number), fetched
    (number and file) and revoked (serial) with a 2xx answer."""
    os.makedirs(a.out, exist_ok=True)
    c = Client(a.url, a.cacert, timeout=a.timeout, source=a.source)
    log = open(os.path.join(a.out, "admin.log"), "a")
    revoked = set()
    n = 0
    deadline = time.monotonic() + a.max_seconds
    rng = random.Random(a.seed)

    def note(**kw):
        log.write(json.dumps(kw) + "\n")
        log.flush()

    while not os.path.exists(a.stop) and time.monotonic() < deadline:
        n += 1
        try:
            if n % 3 == 0 and a.revoke_from:
                cands = [f[:-4] for f in os.listdir(a.revoke_from)
                         if re.fullmatch(r"[0-9a-f]+\.pem", f)]
                cands = [s for s in cands if s not in revoked]
                if cands:
                    s = rng.choice(cands)
                    h = auth(a.token)
                    h["Content-Type"] = "application/json"
                    st, body = c.request("POST", "/api/v1/certificates/%s/revoke" % s,
                                         body=b'{"reason": "keyCompromise"}', headers=h)
                    if st == 200:
                        revoked.add(s)
                        note(op="revoke", serial=s)
            else:
                st, body = c.request("POST", "/api/v1/crl", headers=auth(a.token))
                if st == 201:
                    note(op="publish", number=json.loads(body)["number"])
            st, body = c.request("GET", "/crl")
            if st == 200:
                f = os.path.join(a.out, "crl-%06d.der" % n)
                write_atomic(f, body)
                note(op="fetch", file=f)
        except (OSError, http.client.HTTPException, ValueError):
            time.sleep(0.05)
            continue
        time.sleep(a.pause)
    c.close()
    log.close()
    return 0


def openssl_crl(path, cafile=None):
    """(number, set of serials, signature ok) of a DER CRL, as OpenSSL reads
    it."""
    cmd = ["openssl", "crl", "-inform", "der", "-in", path, "-noout", "-text"]
    if cafile:
        cmd += ["-CAfile", cafile]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise ValueError("openssl crl: %s" % p.stderr.strip()[:200])
    text = p.stdout + p.stderr
    # OpenSSL prints small numbers in decimal, large ones in hex with 0x.
    m = re.search(r"X509v3 CRL Number:\s*\n\s*(0x[0-9A-Fa-f]+|[0-9]+)\s", text)
    if m is None:
        raise ValueError("%s: no CRL number" % path)
    raw = m.group(1)
    number = int(raw, 16) if raw.startswith("0x") else int(raw)
    serials = set(strip_serial(s) for s in
                  re.findall(r"Serial Number:\s*([0-9A-Fa-f]+)", text))
    return number, serials, ("verify OK" in text) if cafile else None


def cmd_publish(a):
    """PARALLEL admin clients POST /api/v1/crl for SECONDS, each from its
    own loopback address. Checks: every answer 201, no number given twice,
    each client's numbers strictly increase. (Whether the stored CRLs'
    thisUpdate follows their numbers is the crls command's check.)"""
    end = time.monotonic() + a.seconds
    lock = threading.Lock()
    seqs = [[] for _ in range(a.parallel)]
    other = {}

    def worker(k):
        c = Client(a.url, a.cacert, timeout=a.timeout,
                   source="127.0.%d.%d" % (a.spread, k + 1) if a.spread else a.source)
        while time.monotonic() < end:
            try:
                st, body = c.request("POST", "/api/v1/crl", headers=auth(a.token))
            except (OSError, http.client.HTTPException) as e:
                st, body = "error", str(e).encode()
            if st == 201:
                seqs[k].append(json.loads(body)["number"])
            else:
                with lock:
                    other[str(st)] = other.get(str(st), 0) + 1
        c.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    nums = [n for q in seqs for n in q]
    bad = []
    if other:
        bad.append("answers other than 201: %r" % other)
    if len(set(nums)) != len(nums):
        bad.append("a CRL number was given twice")
    for q in seqs:
        if any(not y > x for x, y in zip(q, q[1:])):
            bad.append("one client's numbers did not strictly increase")
            break
    print(json.dumps({"published": len(nums), "first": min(nums) if nums else None,
                      "last": max(nums) if nums else None, "problems": len(bad)}))
    for b in bad:
        print("FAIL: " + b, file=sys.stderr)
    return 1 if bad or not nums else 0


_crl_cache = {}


def openssl_crl_cached(path, cafile=None):
    """openssl_crl, once per distinct CRL (a race fetches many copies)."""
    with open(path, "rb") as f:
        key = (f.read(), cafile)
    if key not in _crl_cache:
        _crl_cache[key] = openssl_crl(path, cafile)
    return _crl_cache[key]


def cmd_revrace(a):
    """Revocations racing CRL publication. One thread revokes the serials
    one by one (admin API); another POSTs /api/v1/crl in a loop and fetches
    /crl after each. Checks: every revocation answered 200; the numbers
    published are strictly increasing; /crl numbers never go down and are
    at least the number just published; every /crl fetched after a
    revocation was answered lists that serial."""
    os.makedirs(a.out, exist_ok=True)
    with open(a.serials) as f:
        serials = [l.strip() for l in f if l.strip()]
    revokes = []      # (t_done, serial, status)
    pubs = []         # (t_sent, status, number)
    fetches = []      # (t_sent, file, just_published_number)
    done = threading.Event()
    errors = []

    def revoker():
        c = Client(a.url, a.cacert, timeout=a.timeout, source=a.source)
        h = auth(a.token)
        h["Content-Type"] = "application/json"
        for s in serials:
            try:
                # Not keyCompromise: the burst's certificates share a few
                # keys, and keyCompromise revokes a key's every certificate
                # (the later ones would answer 409). Each revocation here
                # must change the revoked set by its one serial.
                st, _ = c.request("POST", "/api/v1/certificates/%s/revoke" % s,
                                  body=b'{"reason": "cessationOfOperation"}',
                                  headers=h)
            except (OSError, http.client.HTTPException) as e:
                st = "error: %s" % e
            revokes.append((time.monotonic(), s, st))
            if a.pace:
                time.sleep(a.pace)
        done.set()
        c.close()

    def publisher():
        c = Client(a.url, a.cacert, timeout=a.timeout, source=a.source)
        k = 0
        last_round = False
        while True:
            k += 1
            t = time.monotonic()
            try:
                st, body = c.request("POST", "/api/v1/crl", headers=auth(a.token))
                num = json.loads(body).get("number") if st == 201 else None
                pubs.append((t, st, num))
                t = time.monotonic()
                st2, crl = c.request("GET", "/crl")
                if st2 == 200:
                    f = os.path.join(a.out, "crl-%05d.der" % k)
                    write_atomic(f, crl)
                    fetches.append((t, f, num))
                else:
                    errors.append("GET /crl answered %s" % st2)
            except (OSError, http.client.HTTPException, ValueError) as e:
                errors.append("publisher: %s" % e)
            if last_round:
                break
            if done.is_set():
                last_round = True      # one more CRL after the last revocation
        c.close()

    t0 = time.monotonic()
    th = [threading.Thread(target=revoker), threading.Thread(target=publisher)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    dt = time.monotonic() - t0

    bad = list(errors)
    notok = [(s, st) for _, s, st in revokes if st != 200]
    if notok:
        bad.append("revocations not answered 200: %r" % notok[:5])
    nums = [n for _, st, n in pubs if st == 201]
    if len(nums) != len(pubs):
        bad.append("POST /api/v1/crl not always 201: %r" %
                   [st for _, st, _ in pubs if st != 201][:5])
    for x, y in zip(nums, nums[1:]):
        if not y > x:
            bad.append("published CRL numbers not strictly increasing: %d then %d" % (x, y))
            break
    prev = 0
    checked = 0
    for t, f, justpub in fetches:
        try:
            number, listed, sig = openssl_crl_cached(f, a.cacert_root)
        except ValueError as e:
            bad.append(str(e))
            continue
        if a.cacert_root and not sig:
            bad.append("%s: signature not verified by the root" % f)
        if number < prev:
            bad.append("/crl went back from %d to %d" % (prev, number))
        if justpub is not None and number < justpub:
            bad.append("/crl %d older than the CRL %d just published" % (number, justpub))
        prev = max(prev, number)
        for td, s, st in revokes:
            if st == 200 and td < t:
                checked += 1
                if s not in listed:
                    bad.append("CRL %d fetched after %s was revoked does not list it" % (number, s))
    print(json.dumps({"revocations": len(revokes), "published": len(nums),
                      "first": nums[0] if nums else None,
                      "last": nums[-1] if nums else None,
                      "fetched": len(fetches), "containment_checks": checked,
                      "seconds": round(dt, 2)}))
    for b in bad[:20]:
        print("FAIL: " + b, file=sys.stderr)
    return 1 if bad else 0


def open_ro(path):
    # Read-only, so a check can never change the store it judges. WAL
    # recovery after a SIGKILL still needs the -shm, which SQLite manages.
    return sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(path), uri=True)


def cmd_check(a):
    """Every OUT/SERIAL.pem of the given directories: the PEM's serial is
    its file name, the store has that serial with the same DER byte for
    byte, and no serial was handed out twice. --list FILE restricts the
    check to the file names listed (those received before a backup)."""
    db = open_ro(a.db)
    files = []
    for d in a.dirs:
        for f in sorted(os.listdir(d)):
            if f.endswith(".pem"):
                files.append(os.path.join(d, f))
    if a.list:
        with open(a.list) as f:
            want = set(l.strip() for l in f if l.strip())
        files = [p for p in files if p in want]
        missing = want - set(files)
    else:
        missing = set()
    bad = ["%s: listed but gone" % m for m in sorted(missing)]
    seen = {}
    ok = 0
    for p in files:
        name = os.path.basename(p)
        if ".dup" in name:
            bad.append("%s: a serial received twice" % name)
            continue
        try:
            with open(p) as f:
                der = pem_der(f.read())
            s = cert_serial(der)
        except (ValueError, OSError) as e:
            bad.append("%s: %s" % (p, e))
            continue
        if s != name[:-4]:
            bad.append("%s: the certificate's serial is %s" % (p, s))
        if s in seen:
            bad.append("%s: serial also received as %s" % (p, seen[s]))
        seen[s] = p
        row = db.execute("SELECT der FROM certificate WHERE serial = ?", (s,)).fetchone()
        if row is None:
            bad.append("%s: serial %s not in the store" % (p, s))
        elif row[0] is None:
            bad.append("%s: serial %s stored without its DER" % (p, s))
        elif bytes(row[0]) != der:
            bad.append("%s: stored DER differs" % p)
        else:
            ok += 1
    print(json.dumps({"files": len(files), "identical": ok, "problems": len(bad)}))
    for b in bad[:20]:
        print("FAIL: " + b, file=sys.stderr)
    return 1 if bad or (a.min is not None and ok < a.min) else 0


def cmd_export(a):
    """Write every signed certificate of the store (valid and revoked) as
    OUT/SERIAL.pem; prints the count."""
    os.makedirs(a.out, exist_ok=True)
    db = open_ro(a.db)
    n = 0
    q = "SELECT serial, der FROM certificate WHERE der IS NOT NULL"
    if a.status is not None:
        q += " AND status = %d" % a.status
    for serial, der in db.execute(q):
        with open(os.path.join(a.out, serial + ".pem"), "w") as f:
            f.write(der_pem(bytes(der)))
        n += 1
    print(n)
    return 0


def cmd_crls(a):
    """The store's CRLs: numbers positive and unique (primary key), and
    later numbers never carry an earlier thisUpdate (numbers follow time,
    RFC 5280 5.2.3). Every saved CRL file is byte for byte the stored CRL
    of its number (so no number was ever served for two different CRLs):
    compared by SHA-256, the row's own hash for a body kept beside the
    store (schema 013, whose older bodies are removed); the files given in
    order (--ordered) never go down in number."""
    db = open_ro(a.db)
    rows = db.execute("SELECT number, this_update, der, body_sha256 FROM crl "
                      "ORDER BY number").fetchall()
    bad = []
    for (n1, t1, _, _), (n2, t2, _, _) in zip(rows, rows[1:]):
        if t2 < t1 and not a.files_only:
            bad.append("CRL %d has thisUpdate %d before CRL %d's %d" % (n2, t2, n1, t1))
    stored = {n: bytes(h) if d is None else hashlib.sha256(bytes(d)).digest()
              for n, _, d, h in rows}
    prev = 0
    seen = 0
    files = []
    for f in a.files:
        if os.path.isdir(f):
            files += sorted(os.path.join(f, x) for x in os.listdir(f) if x.endswith(".der"))
        else:
            files.append(f)
    for f in files:
        try:
            number, _, sig = openssl_crl_cached(f, a.root)
        except ValueError as e:
            bad.append(str(e))
            continue
        seen += 1
        if a.root and not sig:
            bad.append("%s: not signed by the root" % f)
        with open(f, "rb") as fh:
            der = fh.read()
        if number not in stored:
            bad.append("%s: CRL number %d served but not in the store" % (f, number))
        elif stored[number] != hashlib.sha256(der).digest():
            bad.append("%s: CRL number %d served with other bytes than stored" % (f, number))
        if a.ordered and number < prev:
            bad.append("%s: CRL number went back from %d to %d" % (f, prev, number))
        prev = max(prev, number)
    print(json.dumps({"stored": len(rows),
                      "first": rows[0][0] if rows else None,
                      "last": rows[-1][0] if rows else None,
                      "files": seen, "problems": len(bad)}))
    for b in bad[:20]:
        print("FAIL: " + b, file=sys.stderr)
    return 1 if bad else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def client_args(q, token=True):
        q.add_argument("--url", required=True, help="http://127.0.0.1:P or https://...")
        q.add_argument("--cacert", help="the root (PEM), required for https")
        q.add_argument("--timeout", type=float, default=60.0,
                       help="seconds per request (generous: a busy machine)")
        q.add_argument("--source", help="local address to connect from (127.x.y.z)")
        if token:
            q.add_argument("--token", default="")

    q = sub.add_parser("loop")
    client_args(q)
    q.add_argument("--csr", action="append", required=True, help="DER CSR (repeatable)")
    q.add_argument("--out", required=True)
    q.add_argument("--stop", required=True, help="stop once this file exists")
    q.add_argument("--max-seconds", type=float, default=900)
    q.set_defaults(fn=cmd_loop)

    q = sub.add_parser("burst")
    client_args(q)
    q.add_argument("--csr", action="append", required=True)
    q.add_argument("--out", required=True)
    q.add_argument("--count", type=int, required=True)
    q.add_argument("--parallel", type=int, default=16)
    q.set_defaults(fn=cmd_burst)

    q = sub.add_parser("race")
    client_args(q)
    q.add_argument("--csr", action="append", required=True)
    q.add_argument("--out")
    q.add_argument("--parallel", type=int, default=16)
    q.add_argument("--spread", type=int, metavar="Y",
                   help="racer k connects from 127.0.Y.k+1 (one address each)")
    q.set_defaults(fn=cmd_race)

    q = sub.add_parser("admin")
    client_args(q)
    q.add_argument("--out", required=True)
    q.add_argument("--stop", required=True)
    q.add_argument("--revoke-from", help="a loop client's OUT directory")
    q.add_argument("--pause", type=float, default=0.05)
    q.add_argument("--seed", type=int, default=None)
    q.add_argument("--max-seconds", type=float, default=900)
    q.set_defaults(fn=cmd_admin)

    q = sub.add_parser("publish")
    client_args(q)
    q.add_argument("--seconds", type=float, default=2.5)
    q.add_argument("--parallel", type=int, default=4)
    q.add_argument("--spread", type=int, metavar="Y",
                   help="client k connects from 127.0.Y.k+1")
    q.set_defaults(fn=cmd_publish)

    q = sub.add_parser("revrace")
    client_args(q)
    q.add_argument("--serials", required=True, help="file, one serial a line")
    q.add_argument("--out", required=True)
    q.add_argument("--root", dest="cacert_root", help="verify each CRL's signature")
    q.add_argument("--pace", type=float, default=0.0,
                   help="seconds between revocations (spreads the race over "
                   "several clock seconds)")
    q.set_defaults(fn=cmd_revrace)

    q = sub.add_parser("check")
    q.add_argument("--db", required=True)
    q.add_argument("--list", help="only these files (one path a line)")
    q.add_argument("--min", type=int, help="fail unless at least this many matched")
    q.add_argument("dirs", nargs="+")
    q.set_defaults(fn=cmd_check)

    q = sub.add_parser("export")
    q.add_argument("--db", required=True)
    q.add_argument("--out", required=True)
    q.add_argument("--status", type=int, help="only this status (1 valid, 2 revoked)")
    q.set_defaults(fn=cmd_export)

    q = sub.add_parser("crls")
    q.add_argument("--db", required=True)
    q.add_argument("--root", help="verify each CRL file's signature")
    q.add_argument("--ordered", action="store_true",
                   help="the files are in fetch order: numbers never go down")
    q.add_argument("--files-only", action="store_true",
                   help="only judge the files, not the order of thisUpdate in the store")
    q.add_argument("files", nargs="*",
                   help="DER CRLs, or directories of them (*.der, in name order)")
    q.set_defaults(fn=cmd_crls)

    a = p.parse_args()
    try:
        return a.fn(a)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
