#!/usr/bin/env python3
"""tests/tools/acme_client.py - a small ACME (RFC 8555) client for the
tests and the benchmark: the full flow with http-01, and the misbehaviour
the real clients never show (a replayed nonce, a JWS of another account,
a CSR that differs from the order, a second finalize...).

Debian's python3 with python3-cryptography only. The daemon's root
(--cacert) is the only trust anchor; host names are checked.

Every command prints one JSON object on standard output; a refusal is
reported there ({"problem": TYPE, "status": N, "detail": ...}), not as an
exit status, so that the shell tests compare what they expect. Exit
status: 0 when the command ran, 2 on misuse, 1 on an unexpected failure
(a transport error, a protocol step that should have worked).

Commands (all take --dir URL --cacert PEM; account commands take
--key FILE, created if missing, and --eab-kid/--eab-hmac for a new one):
  account        create (or find) the account; {"account": URL}
  issue          order --name..., answer http-01 on --http-port with the
                 responder --respond (good, wrong, big, none, hang), finalize
                 with a CSR for --csr-name... (default: the order's
                 names), download; {"serial", "status", "problem"...}.
                 --finalize-twice finalizes again after success.
                 --accept A (repeated; '-' for no Accept header; a
                 newline in A: an Accept line each) downloads
                 the certificate again with each, the i-th into
                 --accept-dir/i.bin; "accept": ["STATUS TYPE"...]
  order          only the new-order step for --name...; the order or the
                 problem
  fill-orders    new orders for NAME-PREFIX<i>.DOMAIN (i from 0) until
                 one is refused, at most --n; {"made": N, "problem",
                 "retry_after"...}
  replay-nonce   send a POST-as-GET of the account twice with one nonce
  foreign        account --key orders; account --other-key reads that
                 order, and signs with its own key a JWS naming the first
                 account's kid; both must be refused. With --http-port the
                 first account also gets the certificate, and every URL of
                 its objects (order, finalize, authorization, challenge,
                 certificate, its list of orders) is tried by the other
                 beside the same URL with an unknown id: "indistinct" is
                 "yes" when each pair got the same status, type and detail
  replaces       --conc new orders at once for --name..., each with
                 "replaces": --replaces (RFC 9773); {"created": N,
                 "already_replaced": N, "orders": [URL...]}
  bench          --n orders, --conc at once, each for its own name
                 NAME-PREFIX<i>.DOMAIN with http-01 (the hosts file of the
                 daemon must map them); rate and per-step latencies
  bench-api      the same number of certificates through the plain API
                 (POST /api/v1/requests with the enrollment --token), by
                 the same Python, TLS stack and threads: the comparison
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import socketserver
import ssl
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jdump(o):
    return json.dumps(o, separators=(",", ":"), sort_keys=True).encode()


class Problem(Exception):
    def __init__(self, status, body):
        self.status = status
        self.body = body if isinstance(body, dict) else {}
        t = self.body.get("type", "")
        self.type = t.rsplit(":", 1)[-1] if t else "(none)"
        self.retry_after = None    # its Retry-After header, if any
        super().__init__("%s %s: %s" % (status, self.type, self.body.get("detail", "")))

    def as_dict(self):
        d = {"problem": self.type, "status": self.status,
             "detail": self.body.get("detail", "")}
        if self.retry_after is not None:
            d["retry_after"] = self.retry_after
        # RFC 8555 6.7.1: "TYPE:VALUE:PROBLEM ..." of each subproblem.
        sub = self.body.get("subproblems")
        if sub is not None:
            d["subproblems"] = " ".join(
                "%s:%s:%s" % (x.get("identifier", {}).get("type"),
                              x.get("identifier", {}).get("value"),
                              x.get("type", "").rsplit(":", 1)[-1])
                for x in sub)
            d["subdetails"] = " | ".join(x.get("detail", "") for x in sub)
        return d


# ------------------------------------------------------------------- keys --

class Key:
    """An ES256 account key."""

    def __init__(self, path=None):
        if path and os.path.exists(path):
            with open(path, "rb") as f:
                self.k = serialization.load_pem_private_key(f.read(), None)
        else:
            self.k = ec.generate_private_key(ec.SECP256R1())
            if path:
                with open(path, "wb") as f:
                    f.write(self.k.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
        n = self.k.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC",
                    "x": b64u(n.x.to_bytes(32, "big")),
                    "y": b64u(n.y.to_bytes(32, "big"))}
        self.thumbprint = b64u(hashlib.sha256(jdump(self.jwk)).digest())

    def sign(self, data):
        r, s = decode_dss_signature(self.k.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def jws(key, url, payload, nonce=None, kid=None, use_jwk=False, signer=None):
    prot = {"alg": "ES256", "url": url}
    if nonce is not None:
        prot["nonce"] = nonce
    if kid and not use_jwk:
        prot["kid"] = kid
    else:
        prot["jwk"] = key.jwk
    p64 = b64u(jdump(prot))
    y64 = "" if payload is None else b64u(jdump(payload))
    sig = (signer or key).sign(("%s.%s" % (p64, y64)).encode())
    return {"protected": p64, "payload": y64, "signature": b64u(sig)}


def eab_jws(kid, hmac_b64, url, jwk):
    prot = b64u(jdump({"alg": "HS256", "kid": kid, "url": url}))
    pay = b64u(jdump(jwk))
    mac = hmac.new(b64u_dec(hmac_b64), ("%s.%s" % (prot, pay)).encode(),
                   hashlib.sha256).digest()
    return {"protected": prot, "payload": pay, "signature": b64u(mac)}


# --------------------------------------------------------------- client --

class Acme:
    def __init__(self, directory, cacert, timeout=60.0):
        u = urllib.parse.urlsplit(directory)
        self.host, self.port = u.hostname, u.port or 443
        self.ctx = ssl.create_default_context(cafile=cacert)
        self.timeout = timeout
        self.local = threading.local()
        self.requests = 0          # HTTP requests made (the benchmark)
        self.count_lock = threading.Lock()
        self.dir = self.get_json(directory)
        self.nonce = None
        self.kid = None
        self.key = None

    def conn(self):
        c = getattr(self.local, "c", None)
        if c is None:
            c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                            timeout=self.timeout)
            self.local.c = c
        return c

    def request(self, method, url, body=None, headers=None):
        path = urllib.parse.urlsplit(url).path
        with self.count_lock:
            self.requests += 1
        for attempt in range(2):
            c = self.conn()
            try:
                c.request(method, path, body=body, headers=headers or {})
                r = c.getresponse()
                data = r.read()
                return r, data
            except (http.client.HTTPException, OSError):
                c.close()
                self.local.c = None
                if attempt == 1:
                    raise

    def get_json(self, url):
        r, data = self.request("GET", url)
        if r.status != 200:
            raise Problem(r.status, {})
        return json.loads(data)

    def new_nonce(self):
        r, _ = self.request("HEAD", self.dir["newNonce"])
        return r.getheader("Replay-Nonce")

    def post(self, url, payload, key=None, use_jwk=False, nonce=None, kid=None,
             signer=None, raw=False, retry_bad_nonce=True, headers=None):
        key = key or self.key
        n = nonce or getattr(self.local, "nonce", None) or self.new_nonce()
        self.local.nonce = None
        body = json.dumps(jws(key, url, payload, nonce=n, kid=kid or self.kid,
                              use_jwk=use_jwk, signer=signer)).encode()
        h = {"Content-Type": "application/jose+json"}
        h.update(headers or {})
        r, data = self.request("POST", url, body, h)
        self.local.nonce = r.getheader("Replay-Nonce")
        ctype = r.getheader("Content-Type", "")
        if r.status >= 400:
            p = Problem(r.status, json.loads(data) if "json" in ctype and data else {})
            p.retry_after = r.getheader("Retry-After")
            if p.type == "badNonce" and retry_bad_nonce and nonce is None:
                return self.post(url, payload, key, use_jwk, None, kid, signer, raw,
                                 retry_bad_nonce=False, headers=headers)
            raise p
        if raw:
            return r, data
        return r, (json.loads(data) if data and "json" in ctype else None)

    def account(self, key, eab_kid=None, eab_hmac=None):
        self.key = key
        payload = {"termsOfServiceAgreed": True}
        if eab_kid:
            payload["externalAccountBinding"] = eab_jws(
                eab_kid, eab_hmac, self.dir["newAccount"], key.jwk)
        r, _ = self.post(self.dir["newAccount"], payload, use_jwk=True)
        self.kid = r.getheader("Location")
        return self.kid

    def poll(self, url, done, timeout=60.0):
        end = time.time() + timeout
        while True:
            _, o = self.post(url, None)
            if done(o):
                return o
            if time.time() > end:
                raise RuntimeError("timed out polling %s (%s)" % (url, o.get("status")))
            time.sleep(0.05)


def make_csr(names, key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    alt = [x509.DNSName(n) for n in names]
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
           .add_extension(x509.SubjectAlternativeName(alt), critical=False)
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.DER), key


# ------------------------------------------------------ http-01 responder --

class Responder:
    """Answers http-01 on 127.0.0.1:PORT: good, wrong (another string), big
    (the key authorization followed by 20 KiB of spaces), or hang (accept,
    then say nothing)."""

    def __init__(self, port, mode="good"):
        self.tokens = {}
        self.mode = mode
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                tok = self.path.rsplit("/", 1)[-1]
                if outer.mode == "hang":
                    time.sleep(30)
                    return
                ka = outer.tokens.get(tok)
                if ka is None:
                    self.send_error(404)
                    return
                if outer.mode == "big":
                    body = (ka + " " * 20480).encode()
                else:
                    body = (ka if outer.mode == "good" else ka[::-1]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.srv = S(("127.0.0.1", port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


# --------------------------------------------------------------- flows --

def fetch_formats(a, cert_url, accepts, where):
    """POST-as-GET of CERT_URL once for each Accept of ACCEPTS (None: no
    Accept header at all); the body of the i-th into WHERE/i.bin. Each
    answer as "STATUS CONTENT-TYPE" (a problem: "STATUS TYPE")."""
    res = []
    for i, acc in enumerate(accepts):
        # A newline in ACC: each line an Accept field line of its own
        # (names that differ in case only: http.client sends them all).
        spell = ["Accept", "accept", "ACCEPT", "aCCEPT"]
        h = {} if acc is None else {
            spell[j]: v for j, v in enumerate(acc.split("\n"))}
        try:
            r, data = a.post(cert_url, None, raw=True, headers=h)
            with open(os.path.join(where, "%d.bin" % i), "wb") as f:
                f.write(data)
            res.append("%d %s" % (r.status, r.getheader("Content-Type", "")))
        except Problem as p:
            res.append("%d %s" % (p.status, p.type))
    return res


def do_issue(a, names, csr_names=None, finalize_twice=False, timings=None,
             csr_key=None, accepts=None, accept_dir=None):
    """new-order -> http-01 -> finalize -> certificate. Returns a dict."""
    t = time.time()
    out = {}
    r, order = a.post(a.dir["newOrder"],
                      {"identifiers": [{"type": "dns", "value": n} for n in names]})
    order_url = r.getheader("Location")
    out["order"] = order_url
    if timings is not None:
        timings["order"].append(time.time() - t)
    t = time.time()
    for az_url in order["authorizations"]:
        _, az = a.post(az_url, None)
        if az["status"] == "valid":
            continue
        ch = [c for c in az["challenges"] if c["type"] == "http-01"][0]
        RESPONDER.tokens[ch["token"]] = "%s.%s" % (ch["token"], a.key.thumbprint)
        a.post(ch["url"], {})
        az = a.poll(az_url, lambda o: o["status"] != "pending", timeout=60)
        if az["status"] != "valid":
            ch = [c for c in az["challenges"] if c["type"] == "http-01"][0]
            e = ch.get("error", {})
            out.update({"authz": az["status"],
                        "problem": e.get("type", "").rsplit(":", 1)[-1],
                        "detail": e.get("detail", "")})
            _, order = a.post(order_url, None)
            out["order_status"] = order["status"]
            return out
    if timings is not None:
        timings["challenge"].append(time.time() - t)
    t = time.time()
    csr, _ = make_csr(csr_names or names, csr_key)
    _, order = a.post(order["finalize"], {"csr": b64u(csr)})
    if order["status"] == "processing":
        order = a.poll(order_url, lambda o: o["status"] != "processing")
    out["order_status"] = order["status"]
    if order["status"] != "valid":
        return out
    _, pem = a.post(order["certificate"], None, raw=True)
    cert = x509.load_pem_x509_certificate(pem)
    out["serial"] = "%x" % cert.serial_number
    out["chain_certs"] = pem.count(b"BEGIN CERTIFICATE")
    if accepts:
        out["cert_url"] = order["certificate"]
        out["accept"] = fetch_formats(a, order["certificate"], accepts, accept_dir)
    if timings is not None:
        timings["finalize"].append(time.time() - t)
    if finalize_twice:
        try:
            a.post(order["finalize"], {"csr": b64u(csr)})
            out["second"] = "accepted"
        except Problem as p:
            out["second"] = p.type
            out["second_status"] = p.status
    return out


RESPONDER = None


def main():
    global RESPONDER
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["account", "issue", "order", "fill-orders", "replay-nonce",
                                    "foreign", "replaces", "bench", "bench-api"])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--cacert", required=True)
    ap.add_argument("--key")
    ap.add_argument("--other-key")
    ap.add_argument("--eab-kid")
    ap.add_argument("--eab-hmac")
    ap.add_argument("--other-eab-kid")
    ap.add_argument("--other-eab-hmac")
    ap.add_argument("--name", action="append", default=[])
    ap.add_argument("--csr-name", action="append", default=[])
    ap.add_argument("--http-port", type=int, default=0)
    ap.add_argument("--respond", default="good", choices=["good", "wrong", "big", "none", "hang"])
    ap.add_argument("--finalize-twice", action="store_true")
    ap.add_argument("--csr-key", help="PEM private key for the CSR (default: a new one)")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--conc", type=int, default=4)
    ap.add_argument("--prefix", default="b")
    ap.add_argument("--domain", default="contoso.test")
    ap.add_argument("--token", help="bench-api: an enrollment token")
    ap.add_argument("--replaces", help="replaces: the certID (RFC 9773)")
    ap.add_argument("--accept", action="append", default=[],
                    help="issue: download the certificate again with this "
                         "Accept ('-': none), each into --accept-dir/i.bin")
    ap.add_argument("--accept-dir", default=".")
    o = ap.parse_args()

    if o.cmd == "bench-api":
        bench_api(o)
        return

    if o.http_port and o.respond != "none":
        RESPONDER = Responder(o.http_port, o.respond)
    a = Acme(o.dir, o.cacert)
    key = Key(o.key)
    try:
        if o.cmd == "account":
            print(json.dumps({"account": a.account(key, o.eab_kid, o.eab_hmac)}))
        elif o.cmd == "order":
            a.account(key, o.eab_kid, o.eab_hmac)
            r, order = a.post(a.dir["newOrder"], {"identifiers": [
                {"type": "dns", "value": n} for n in o.name]})
            print(json.dumps({"order": r.getheader("Location"), "status": order["status"]}))
        elif o.cmd == "issue":
            if RESPONDER is None:
                RESPONDER = type("R", (), {"tokens": {}})()
            a.account(key, o.eab_kid, o.eab_hmac)
            ck = None
            if o.csr_key:
                with open(o.csr_key, "rb") as f:
                    ck = serialization.load_pem_private_key(f.read(), None)
            try:
                accepts = [None if v == "-" else v for v in o.accept]
                print(json.dumps(do_issue(a, o.name, o.csr_name or None,
                                          o.finalize_twice, csr_key=ck,
                                          accepts=accepts,
                                          accept_dir=o.accept_dir)))
            except Problem as p:
                d = p.as_dict()
                d["step"] = "finalize"
                print(json.dumps(d))
        elif o.cmd == "fill-orders":
            # New orders for NAME-PREFIX<i>.DOMAIN until one is refused
            # (at most --n): how many were made, and the refusal.
            a.account(key, o.eab_kid, o.eab_hmac)
            res = {"made": 0}
            for i in range(o.n):
                try:
                    a.post(a.dir["newOrder"], {"identifiers": [
                        {"type": "dns", "value": "%s%d.%s" % (o.prefix, i, o.domain)}]})
                    res["made"] += 1
                except Problem as p:
                    res.update(p.as_dict())
                    break
            print(json.dumps(res))
        elif o.cmd == "replay-nonce":
            a.account(key, o.eab_kid, o.eab_hmac)
            n = a.new_nonce()
            a.post(a.kid, None, nonce=n)
            try:
                a.post(a.kid, None, nonce=n)
                print(json.dumps({"second": "accepted"}))
            except Problem as p:
                print(json.dumps(p.as_dict()))
        elif o.cmd == "foreign":
            a.account(key, o.eab_kid, o.eab_hmac)
            if RESPONDER is not None:
                order_url = do_issue(a, o.name)["order"]
            else:
                r, _ = a.post(a.dir["newOrder"], {"identifiers": [
                    {"type": "dns", "value": n} for n in o.name]})
                order_url = r.getheader("Location")
            victim = a.kid
            b = Acme(o.dir, o.cacert)
            other = Key(o.other_key)
            b.account(other, o.other_eab_kid, o.other_eab_hmac)
            res = {}
            if RESPONDER is not None:
                res["indistinct"] = foreign_pairs(a, b, order_url)
            try:
                b.post(order_url, None)
                res["read"] = "accepted"
            except Problem as p:
                res["read"], res["read_status"] = p.type, p.status
            try:
                # The victim's kid, the attacker's signature.
                b.post(order_url, None, key=other, kid=victim)
                res["forged"] = "accepted"
            except Problem as p:
                res["forged"], res["forged_status"] = p.type, p.status
            print(json.dumps(res))
        elif o.cmd == "replaces":
            a.account(key, o.eab_kid, o.eab_hmac)
            print(json.dumps(replaces_race(a, o.name, o.replaces, o.conc)))
        elif o.cmd == "bench":
            bench(o, a, key)
    except Problem as p:
        print(json.dumps(p.as_dict()))
    finally:
        if RESPONDER is not None and hasattr(RESPONDER, "stop"):
            RESPONDER.stop()


def replaces_race(a, names, certid, conc):
    """CONC new orders for NAMES replacing CERTID, sent at once (each
    thread its own connection and nonce): how many were created, how many
    refused as alreadyReplaced, and the URLs of those created."""
    res = {"created": 0, "already_replaced": 0, "other": [], "orders": []}
    lock = threading.Lock()
    go = threading.Barrier(conc)

    def one():
        payload = {"identifiers": [{"type": "dns", "value": n} for n in names],
                   "replaces": certid}
        nonce = a.new_nonce()
        go.wait()
        try:
            r, _ = a.post(a.dir["newOrder"], payload, nonce=nonce)
            with lock:
                res["created"] += 1
                res["orders"].append(r.getheader("Location"))
        except Problem as p:
            with lock:
                if p.type == "alreadyReplaced":
                    res["already_replaced"] += 1
                else:
                    res["other"].append(p.type)

    ts = [threading.Thread(target=one) for _ in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return res


def foreign_pairs(a, b, order_url):
    """Account B tries each URL of account A's objects and the same URL
    with an unknown id: "yes" if every pair was refused alike, else the
    URLs whose answers differ (or were accepted) and what each got."""
    unknown = "0" * 32
    _, order = a.post(order_url, None)
    authz = order["authorizations"][0]
    _, az = a.post(authz, None)
    chall = az["challenges"][0]["url"]
    base = order_url.rsplit("/order/", 1)[0]
    csr, _ = make_csr([az["identifier"]["value"]])
    tries = [
        (order_url, None, base + "/order/" + unknown),
        (order["finalize"], {"csr": b64u(csr)}, base + "/order/" + unknown + "/finalize"),
        (authz, None, base + "/authz/" + unknown),
        (authz, {"status": "deactivated"}, base + "/authz/" + unknown),
        (chall, None, base + "/chall/" + unknown + "/" + chall.rsplit("/", 1)[-1]),
        (chall, {}, base + "/chall/" + unknown + "/" + chall.rsplit("/", 1)[-1]),
        (order["certificate"], None, base + "/cert/7e57"),
        (a.kid + "/orders", None, base + "/acct/" + unknown + "/orders"),
    ]
    bad = []
    for mine, payload, none in tries:
        got = []
        for url in (mine, none):
            try:
                b.post(url, payload)
                got.append("accepted")
            except Problem as p:
                got.append((p.status, p.type, p.body.get("detail", "")))
        if got[0] != got[1] or got[0] == "accepted":
            bad.append({"url": mine, "payload": payload, "got": got})
    return "yes" if not bad else bad


def bench(o, a, key):
    """--n orders from --conc threads, each order for a name of its own
    (no authorization to reuse): the whole ACME flow per certificate."""
    a.account(key, o.eab_kid, o.eab_hmac)
    timings = {"order": [], "challenge": [], "finalize": []}
    lock = threading.Lock()
    nxt = [0]
    done = []
    errors = []

    def worker():
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= o.n:
                return
            name = "%s%d.%s" % (o.prefix, i, o.domain)
            t0 = time.time()
            try:
                r = do_issue(a, [name], timings=timings)
                if r.get("order_status") == "valid":
                    with lock:
                        done.append(time.time() - t0)
                else:
                    errors.append(r)
            except Exception as e:   # counted, reported, never hidden
                errors.append(str(e))

    t = time.time()
    th = [threading.Thread(target=worker) for _ in range(o.conc)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    wall = time.time() - t

    def med(v):
        v = sorted(v)
        return v[len(v) // 2] if v else None

    def p99(v):
        v = sorted(v)
        return v[min(len(v) - 1, int(len(v) * 0.99))] if v else None

    print(json.dumps({"certs": len(done), "errors": len(errors),
                      "requests_per_cert": a.requests / len(done) if done else None,
                      "first_error": errors[0] if errors else None,
                      "seconds": wall, "rate": len(done) / wall if wall else 0,
                      "median_s": med(done), "p99_s": p99(done),
                      "median_order_s": med(timings["order"]),
                      "median_challenge_s": med(timings["challenge"]),
                      "median_finalize_s": med(timings["finalize"])}))


def bench_api(o):
    """--n certificates from --conc threads through POST /api/v1/requests."""
    u = urllib.parse.urlsplit(o.dir)
    ctx = ssl.create_default_context(cafile=o.cacert)
    lock = threading.Lock()
    nxt, done, errors = [0], [], []

    def worker():
        c = http.client.HTTPSConnection(u.hostname, u.port or 443, context=ctx,
                                        timeout=60)
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= o.n:
                return
            t0 = time.time()
            csr, _ = make_csr(["%s%d.%s" % (o.prefix, i, o.domain)])
            body = json.dumps({"csr": "-----BEGIN CERTIFICATE REQUEST-----\n" +
                               base64.encodebytes(csr).decode() +
                               "-----END CERTIFICATE REQUEST-----\n"}).encode()
            try:
                c.request("POST", "/api/v1/requests", body=body, headers={
                    "Content-Type": "application/json",
                    "Authorization": "Bearer " + o.token})
                r = c.getresponse()
                r.read()
                if r.status == 201:
                    with lock:
                        done.append(time.time() - t0)
                else:
                    errors.append(r.status)
            except (http.client.HTTPException, OSError) as e:
                errors.append(str(e))
                c.close()

    t = time.time()
    th = [threading.Thread(target=worker) for _ in range(o.conc)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    wall = time.time() - t
    done.sort()
    print(json.dumps({"certs": len(done), "errors": len(errors),
                      "first_error": errors[0] if errors else None,
                      "requests_per_cert": 1.0, "seconds": wall,
                      "rate": len(done) / wall if wall else 0,
                      "median_s": done[len(done) // 2] if done else None,
                      "p99_s": done[min(len(done) - 1, int(len(done) * 0.99))] if done else None}))


if __name__ == "__main__":
    main()
