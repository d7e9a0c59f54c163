#!/usr/bin/env python3
"""tests/bench/run.py - mica's benchmark harness (run it through scripts/bench).

Measures, in one run on one machine, each comparison paired in time:
  1. the crypto ceiling (tests/bench/ceiling.c): cores / (CSR verify + sign)
  2. issuance through 'mica serve' over HTTPS and loopback HTTP at several
     concurrencies (wrk + tests/bench/wrk.lua POSTing a pool of P-256 CSRs
     with a multi-use enrollment token), beside 'cfssl serve' with its
     SQLite certdb and without a database, and 'openssl ca -batch'
  3. CRL publication ('mica crl') at 10k, 100k, 1M revoked certificates
     (tests/bench/bulkload.c fills a copy of a fresh store), beside
     'openssl ca -gencrl' and 'cfssl gencrl' on the same 100k serials
  4. GET /ca.crt and /crl with wrk -c64, beside nginx serving the same bytes
  5. memory: anonymous and resident memory of each server's process tree
     (pages shared copy-on-write by mica's forked processes counted once),
     idle and at its peak during each load (sampled every 20 ms); the
     server's CPU per certificate against the crypto alone (efficiency)
  6. start-up: exec of 'mica serve' to /healthz answering
  6b. revocation vs issuance ("stall"): issuance, GET /crl and /healthz on
     a store of 1M revoked certificates, quiet and while the daemon
     publishes 1M-entry CRLs back to back
  7. ACME: the whole flow per certificate (new-order, http-01 answered on
     loopback, finalize, download; tests/tools/acme_client.py), beside
     the plain API (POST /api/v1/requests) driven by the same client code,
     TLS stack and threads; the HTTP requests and the server CPU (the
     daemon and its signer processes) per certificate

Every figure is the median of several runs; the runs of the things being
compared are interleaved (and their order rotated) so that noise from other
work on a shared machine falls on all of them alike. Only loopback
addresses are used. Every process started here is stopped by its PID.

Output: a markdown report on stdout and in OUT/latest.md, raw and median
CSV files in OUT/, and PNG plots (gnuplot) of certificates/s and p99
latency against concurrency.
"""

import argparse
import atexit
import base64
import resource
import csv
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import growth

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "wrk.lua")
CFSSL_SCHEMA = os.path.join(HERE, "cfssl-certdb.sql")
DOMAIN = "mica.contoso.test"

FULL = dict(runs=3, issue_secs=8, conc=[1, 2, 8, 32], get_secs=5,
            crl_sizes=[10000, 100000, 1000000], csr_pool=2000,
            openssl_ca_n=200, startup_n=5, ceiling_runs=5,
            ceiling_secs=0.5, warm_secs=2, acme_n=200, acme_conc=[1, 4, 16],
            ocsp_certs=400, ocsp_conc=[1, 8, 64], ocsp_secs=5,
            ocsp_mem=[100000, 1000000], ocsp_mem_sign=20000,
            stall_revoked=1000000,
            ocsp_pass=[100000, 1000000], ocsp_pass_revoke=1000)
QUICK = dict(runs=3, issue_secs=2, conc=[1, 8], get_secs=2,
             crl_sizes=[10000, 100000], csr_pool=200, openssl_ca_n=30,
             startup_n=5, ceiling_runs=3, ceiling_secs=0.2, warm_secs=1,
             acme_n=40, acme_conc=[1, 8], ocsp_certs=80, ocsp_conc=[1, 16],
             ocsp_secs=2, ocsp_mem=[2000, 10000], ocsp_mem_sign=10000,
            stall_revoked=100000,
            ocsp_pass=[2000, 10000], ocsp_pass_revoke=1000)
SECTIONS = ["ceiling", "issue", "opensslca", "get", "startup", "crl", "stall",
            "acme", "ocsp", "growth"]
ACME_CLIENT = os.path.join(HERE, "..", "tools", "acme_client.py")
# run only when asked for with --only (ocspmem: the memory half of ocsp;
# ocsppass: the refresh and publication passes alone)
EXTRA_SECTIONS = ["profile", "ocspmem", "ocsppass"]
TARGET_LABEL = {
    "mica-https": "mica HTTPS",
    "mica-http": "mica HTTP (loopback)",
    "cfssl-certdb": "cfssl + SQLite certdb",
    "cfssl-nodb": "cfssl, no database",
}


class BenchError(Exception):
    pass


def say(msg):
    print("==> " + msg, file=sys.stderr, flush=True)


def warn(msg):
    print("warning: " + msg, file=sys.stderr, flush=True)


def run(argv, **kw):
    """Run a command; raise BenchError with its output if it fails."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("text", True)
    r = subprocess.run(argv, **kw)
    if r.returncode != 0:
        out = ((r.stdout or "") + (r.stderr or ""))[-2000:]
        raise BenchError("%s failed (exit %d):\n%s" %
                         (" ".join(argv[:4]), r.returncode, out))
    return r


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


# ----------------------------------------------------------- processes --

PROCS = []


class Proc:
    """A server started here, stopped by its PID, with memory readings."""

    def __init__(self, name, argv, log, cwd=None, env=None):
        self.name, self.argv, self.log_path = name, argv, log
        self.cwd, self.env = cwd, env
        self.p = None
        self.t_exec = None

    def start(self):
        self.logf = open(self.log_path, "ab")
        self.t_exec = time.monotonic()
        self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                  stdout=self.logf, stderr=subprocess.STDOUT,
                                  cwd=self.cwd, env=self.env)
        PROCS.append(self)
        return self

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def status_kb(self, field):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def rss_kb(self):
        return self.status_kb("VmRSS")

    def hwm_kb(self):
        return self.status_kb("VmHWM")

    def reset_hwm(self):
        """Reset VmHWM to the current RSS (Linux >= 4.0, clear_refs 5)."""
        try:
            with open("/proc/%d/clear_refs" % self.pid, "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def stop(self, timeout=20):
        if self.p is None:
            return None
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                warn("%s (pid %d) ignored SIGTERM for %d s; killing it" %
                     (self.name, self.pid, timeout))
                self.p.kill()
                self.p.wait()
        self.logf.close()
        if self in PROCS:
            PROCS.remove(self)
        return self.p.returncode

    def log_tail(self, n=15):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def stop_all():
    for p in list(PROCS):
        try:
            p.stop(timeout=10)
        except Exception:
            pass


def tree_pids(pid):
    """PID and every process below it (mica serve: the daemon, its keeper
    and its signer processes)."""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        parent[int(d)] = int(st[st.rfind(")") + 2:].split()[1])
    out = []
    for p in parent:
        q = p
        while q in parent and q != pid and q > 1:
            q = parent[q]
        if q == pid:
            out.append(p)
    return out


def status_fields_kb(pid, fields):
    """{field: KiB} of /proc/PID/status for FIELDS (0 for one not found),
    in one read."""
    out = dict.fromkeys(fields, 0)
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k = line.split(":", 1)[0]
                if k in out:
                    out[k] = int(line.split()[1])
    except OSError:
        pass
    return out


def anon_pss_kb(pid, rss_anon):
    """PID's proportional share of the anonymous pages it maps (Pss_Anon of
    /proc/PID/smaps_rollup): a page shared copy-on-write by N processes
    since a fork counts 1/N in each. RSS_ANON (its RssAnon) where that is
    unreadable or the kernel has no Pss_Anon (before Linux 5.8)."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss_Anon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return rss_anon


def tree_memory_kb(pid, pids=None):
    """(anonymous, resident) KiB of PID's process tree.

    Anonymous: the sum over the tree of every process's Pss_Anon
    (anon_pss_kb), the distinct anonymous pages the tree holds. mica's
    keeper and signers are forked from the daemon, not exec'd, so they
    share its anonymous pages copy-on-write until one of them writes;
    summing RssAnon would count such a page once per process mapping it.
    Anonymous pages are shared only between relatives by fork, all in the
    tree, so the proportional shares add up to each page counted once. For
    a single process (cfssl) Pss_Anon equals RssAnon.

    Resident: PID's pages of mapped files (VmRSS - RssAnon: the shared
    libraries as the main process maps them, counted once, though the
    children map the same files), plus the tree's anonymous memory as
    above, plus the children's shared-memory pages (RssShmem)."""
    anon = files = 0
    for p in (pids if pids is not None else tree_pids(pid)):
        if p == pid:
            st = status_fields_kb(p, ("VmRSS", "RssAnon"))
            files += st["VmRSS"] - st["RssAnon"]
        else:
            st = status_fields_kb(p, ("RssAnon", "RssShmem"))
            files += st["RssShmem"]
        anon += anon_pss_kb(p, st["RssAnon"])
    return anon, files + anon


class PeakSampler:
    """Peak memory and CPU of a server's process tree during a load.

    peak: the main process's peak RSS (VmHWM after resetting it, or, where
    that reset is refused, the highest VmRSS seen every 20 ms); peak_anon,
    peak_tree: the highest anonymous and resident memory of the whole tree
    (tree_memory_kb) seen every 20 ms; cpu_s, cores: CPU time (user +
    system) of the whole tree over the load, and its average in cores."""

    def __init__(self, proc):
        self.proc = proc
        self.peak = self.peak_anon = self.peak_tree = 0
        self.stopped = threading.Event()

    def __enter__(self):
        self.pids = tree_pids(self.proc.pid)
        self.cpu0, self.t0 = tree_cpu_s(self.proc.pid), time.monotonic()
        self.hwm_ok = self.proc.reset_hwm()
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()
        return self

    def _loop(self):
        while not self.stopped.is_set():
            v = self.proc.rss_kb()
            if v:
                self.peak = max(self.peak, v)
            a, r = tree_memory_kb(self.proc.pid, self.pids)
            self.peak_anon = max(self.peak_anon, a)
            self.peak_tree = max(self.peak_tree, r)
            self.stopped.wait(0.02)

    def __exit__(self, *a):
        cpu1, t1 = tree_cpu_s(self.proc.pid), time.monotonic()
        self.cpu_s = cpu1 - self.cpu0
        # Cores the server kept busy on average during the load.
        self.cores = (round(self.cpu_s / (t1 - self.t0), 2)
                      if t1 > self.t0 else None)
        self.stopped.set()
        self.t.join()
        if self.hwm_ok:
            h = self.proc.hwm_kb()
            if h:
                self.peak = max(self.peak, h)


def http_request(method, host, port, path, body=None, headers=None,
                 tls=False, timeout=2.0):
    """(status, body) of one request, or raise OSError."""
    if tls:
        ctx = ssl.create_default_context()
        # Readiness probe only; the load generator (wrk) does not verify
        # either. The project's end-to-end tests verify the chain.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        c = http.client.HTTPSConnection(host, port, timeout=timeout,
                                        context=ctx)
    else:
        c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def http_get(host, port, path, tls=False, timeout=2.0):
    return http_request("GET", host, port, path, tls=tls, timeout=timeout)


def http_post(host, port, path, body, headers, tls=False, timeout=10.0):
    return http_request("POST", host, port, path, body, headers, tls,
                        timeout)


def wait_ready(proc, port, path, want=None, tls=False, timeout=30.0):
    """Poll until PORT answers PATH (with status WANT if given); return the
    seconds since the process was exec'd."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise BenchError("%s exited during start-up:\n%s" %
                             (proc.name, proc.log_tail()))
        try:
            st, _ = http_get("127.0.0.1", port, path, tls=tls, timeout=1.0)
            if want is None or st == want:
                return time.monotonic() - proc.t_exec
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.002)
    raise BenchError("%s did not answer %s within %.0f s:\n%s" %
                     (proc.name, path, timeout, proc.log_tail()))


# ---------------------------------------------------------------- wrk --

def wrk(url, conns, secs, bodies=None, ctype="application/json", auth=None,
        threads=2, paths=None, hexbodies=False, noprobe=False):
    """wrk against URL: a GET of it, POSTs of the lines of BODIES (hex of
    binary bodies with HEXBODIES), or GETs of the lines of PATHS."""
    env = dict(os.environ)
    for k in ("BENCH_BODIES", "BENCH_CTYPE", "BENCH_AUTH", "BENCH_PATHS",
              "BENCH_HEX", "BENCH_NO_PROBE"):
        env.pop(k, None)
    if noprobe:
        env["BENCH_NO_PROBE"] = "1"
    if bodies:
        env["BENCH_BODIES"] = bodies
        env["BENCH_CTYPE"] = ctype
        if hexbodies:
            env["BENCH_HEX"] = "1"
        if auth:
            env["BENCH_AUTH"] = auth
    if paths:
        env["BENCH_PATHS"] = paths
    t = max(1, min(conns, threads))
    argv = ["wrk", "-t", str(t), "-c", str(conns), "-d", "%ds" % secs,
            "--timeout", "30s", "-s", LUA, url]
    r = run(argv, env=env, timeout=secs + 120)
    m = re.search(r"^BENCH (\{.*\})\s*$", r.stdout, re.M)
    if not m:
        raise BenchError("wrk printed no summary:\n" + r.stdout[-1500:])
    d = json.loads(m.group(1))
    dur = d["duration_us"] / 1e6
    errs = sum(d["errors"].values()) + d["status_errors"]
    ok = d["requests"] - d["status_errors"]
    lat = d["lat_us"]
    return {
        "requests": d["requests"], "ok": ok, "errors": errs,
        "duration_s": dur, "rate": ok / dur if dur > 0 else 0.0,
        "p50_ms": lat["p50"] / 1000.0, "p90_ms": lat["p90"] / 1000.0,
        "p99_ms": lat["p99"] / 1000.0, "max_ms": lat["max"] / 1000.0,
        "mean_ms": lat["mean"] / 1000.0, "bytes": d["bytes"],
    }


# ------------------------------------------------------------ machine --

def machine_info(mica):
    info = {}
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    deb = "?"
    try:
        with open("/etc/debian_version") as f:
            deb = f.read().strip()
    except OSError:
        pass

    def ver(argv, rx=None):
        try:
            r = subprocess.run(argv, capture_output=True, text=True,
                               timeout=10)
            out = (r.stdout + r.stderr).strip()
            if rx:
                m = re.search(rx, out)
                return m.group(1) if m else out.splitlines()[0]
            return out.splitlines()[0] if out else "?"
        except (OSError, subprocess.TimeoutExpired):
            return "missing"

    mbed = "?"
    try:
        with open("/usr/include/mbedtls/build_info.h") as f:
            m = re.search(r'MBEDTLS_VERSION_STRING\s+"([^"]+)"', f.read())
            mbed = m.group(1) if m else "?"
    except OSError:
        pass
    info.update(
        cpu=cpu, cores=os.cpu_count(), mem_mib=mem,
        kernel=platform.release(), debian=deb,
        mica=ver([mica, "--version"]), mbedtls=mbed,
        cfssl=ver(["cfssl", "version"], r"Version:\s*(\S+)"),
        nginx=ver(["nginx", "-v"], r"nginx/(\S+)"),
        openssl=ver(["openssl", "version"], r"OpenSSL (\S+)"),
        wrk=ver(["wrk", "-v"], r"wrk (\S+)"),
        sqlite=sqlite3.sqlite_version,
        load_start=loadavg(),
        date=datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
    )
    return info


# ------------------------------------------------------------ ceiling --

def run_ceiling(ceiling_bin, args, timeout):
    """The ceiling program's rows by key (numbers as floats); it must have
    printed the p256 row."""
    r = run([ceiling_bin] + args, timeout=timeout)
    rows = {}
    lines = [l for l in r.stdout.splitlines() if l and not l.startswith("#")]
    for row in csv.DictReader(lines):
        rows[row["key"]] = {k: (v if k == "key" else float(v))
                            for k, v in row.items()}
    if "p256" not in rows:
        raise BenchError("ceiling printed no p256 row:\n" + r.stdout)
    return rows


def bench_ceiling(cfg, ceiling_bin):
    say("crypto ceiling (mbedTLS, per core)")
    return run_ceiling(ceiling_bin, ["-r", str(cfg["ceiling_runs"]),
                                     "-s", str(cfg["ceiling_secs"])], 600)


def crypto_now(ceiling_bin):
    """(verify_us, sign_us, pair_cpu_us) of P-256 measured right now: one
    run of half a second each on one core, then the CPU time of one
    verify+sign pair while every core runs pairs (for a second; what the
    pair costs when the cores are all busy, as under a server's load).
    bench_issue takes it beside every mica load, as the machine's speed
    drifts during a run."""
    p = run_ceiling(ceiling_bin, ["-r", "1", "-s", "0.5", "-j",
                                  str(os.cpu_count() or 1), "-k", "p256"],
                    120)["p256"]
    return p["verify_us"], p["sign_us"], p.get("parallel_cpu_us")


# ------------------------------------------------------------ fixtures --

def make_csr_pool(work, n):
    """N P-256 CSRs for hosts under DOMAIN, made with openssl."""
    d = os.path.join(work, "csr")
    os.makedirs(d, exist_ok=True)
    say("making %d P-256 CSRs with openssl" % n)

    def one(i):
        path = os.path.join(d, "h%d.csr" % i)
        name = "h%d.%s" % (i, DOMAIN)
        run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null",
             "-subj", "/CN=" + name, "-addext",
             "subjectAltName=DNS:" + name, "-out", path])
        with open(path) as f:
            return f.read()

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        pems = list(ex.map(one, range(n)))
    mica_bodies = os.path.join(work, "bodies-mica.jsonl")
    cfssl_bodies = os.path.join(work, "bodies-cfssl.jsonl")
    with open(mica_bodies, "w") as f:
        for p in pems:
            f.write(json.dumps({"csr": p, "profile": "server"}) + "\n")
    with open(cfssl_bodies, "w") as f:
        for p in pems:
            f.write(json.dumps({"certificate_request": p}) + "\n")
    return d, mica_bodies, cfssl_bodies


def make_peer_ca(work):
    """A P-256 root for cfssl and openssl ca (mica's key stays sealed)."""
    d = os.path.join(work, "peer-ca")
    os.makedirs(d, exist_ok=True)
    key8 = os.path.join(d, "key-pkcs8.pem")
    key = os.path.join(d, "ca-key.pem")
    crt = os.path.join(d, "ca.pem")
    run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-out", key8])
    # SEC1 "EC PRIVATE KEY": what cfssl 1.2 parses.
    run(["openssl", "ec", "-in", key8, "-out", key])
    run(["openssl", "req", "-x509", "-new", "-key", key, "-sha256",
         "-subj", "/CN=Peer Bench Root CA", "-days", "3650", "-out", crt,
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    return crt, key


def mica_init(mica, datadir, http_port):
    run([mica, "-d", datadir, "init", "--name", "Bench Root CA",
         "--domain", DOMAIN, "--public-url",
         "http://127.0.0.1:%d" % http_port])


def mica_count_issued(datadir):
    db = sqlite3.connect("file:%s?mode=ro" %
                         os.path.join(datadir, "mica.db"), uri=True,
                         timeout=30)
    try:
        return db.execute("SELECT count(*) FROM certificate "
                          "WHERE status = 1").fetchone()[0]
    finally:
        db.close()


def mica_ocsp_dirty(datadir):
    """Certificates whose OCSP response the daemon has yet to sign (the
    marks in ocsp_dirty: every new certificate, every revocation)."""
    db = sqlite3.connect("file:%s?mode=ro" %
                         os.path.join(datadir, "mica.db"), uri=True,
                         timeout=30)
    try:
        return db.execute("SELECT count(*) FROM ocsp_dirty").fetchone()[0]
    finally:
        db.close()


def mica_ocsp_catch_up(datadir, proc, what, deadline_s=120.0):
    """Wait until the daemon PROC (store DATADIR) has signed the OCSP
    response of every certificate it issued: while it issues it holds its
    background pre-signing back (at most 20 s, then paced), so after a
    load it spends some more CPU on the responses it deferred. Returns the
    seconds waited, or None (with a warning) past DEADLINE_S or when the
    store has no ocsp_dirty table (a mica from before it)."""
    t0 = time.monotonic()
    while True:
        try:
            left = mica_ocsp_dirty(datadir)
        except sqlite3.Error as e:
            warn("%s: cannot read ocsp_dirty (%s); the OCSP catch-up is "
                 "not measured" % (what, e))
            return None
        if left == 0:
            return time.monotonic() - t0
        if not proc.alive():
            raise BenchError("%s: mica serve died signing OCSP responses:"
                             "\n%s" % (what, proc.log_tail()))
        if time.monotonic() - t0 >= deadline_s:
            warn("%s: %d OCSP responses still unsigned %.0f s after the "
                 "load; carrying on without the catch-up figures" %
                 (what, left, deadline_s))
            return None
        time.sleep(0.2)


def mica_serve_available(mica):
    r = subprocess.run([mica, "serve", "--help"], capture_output=True,
                       text=True)
    out = r.stdout + r.stderr
    return r.returncode == 0 and "not built" not in out


# ------------------------------------------------------------ servers --

class Servers:
    """The issuing servers of the run: mica (HTTP+HTTPS), cfssl with and
    without its certdb. Any of them may be absent (mica before the daemon
    is built)."""

    def __init__(self, work, mica, peer_crt, peer_key, with_mica):
        self.work, self.mica = work, mica
        self.peer_crt, self.peer_key = peer_crt, peer_key
        self.with_mica = with_mica
        self.mica_proc = None
        self.cf = {}
        self.idle = {}
        self.idle_anon = {}
        self.idle_tree = {}

    def start_mica(self):
        w = self.work
        self.mica_dir = os.path.join(w, "mica-data")
        self.http_port, self.https_port = free_port(), free_port()
        if not os.path.exists(self.mica_dir):
            mica_init(self.mica, self.mica_dir, self.http_port)
            r = run([self.mica, "-d", self.mica_dir, "token", "create",
                     "--enroll", "--profile", "server", "--uses", "-1",
                     "--comment", "benchmark"])
            tok = [l for l in r.stdout.split() if l.startswith("mica_")]
            if not tok:
                raise BenchError("no token in 'mica token create' output")
            self.token = tok[0]
        self.mica_proc = self.new_mica_proc().start()
        t = wait_ready(self.mica_proc, self.http_port, "/healthz", want=200)
        wait_ready(self.mica_proc, self.https_port, "/healthz", want=200,
                   tls=True)
        return t

    def new_mica_proc(self):
        return Proc("mica serve",
                    [self.mica, "-d", self.mica_dir, "serve",
                     "--http", "127.0.0.1:%d" % self.http_port,
                     "--https", "127.0.0.1:%d" % self.https_port,
                     "--log", os.path.join(self.work, "mica-serve.log")],
                    os.path.join(self.work, "mica-serve.out"))

    def new_cfssl_proc(self, kind, port):
        d = os.path.join(self.work, "cfssl-" + kind)
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "config.json")
        with open(conf, "w") as f:
            json.dump({"signing": {"default": {
                "usages": ["digital signature", "key encipherment",
                           "server auth"],
                "expiry": "8760h"}}}, f)
        argv = ["cfssl", "serve", "-address", "127.0.0.1",
                "-port", str(port), "-ca", self.peer_crt,
                "-ca-key", self.peer_key, "-config", conf]
        if kind == "certdb":
            db = os.path.join(d, "certs.db")
            if not os.path.exists(db):
                con = sqlite3.connect(db)
                with open(CFSSL_SCHEMA) as f:
                    con.executescript(f.read())
                con.close()
            dbconf = os.path.join(d, "db.json")
            with open(dbconf, "w") as f:
                json.dump({"driver": "sqlite3", "data_source": db}, f)
            argv += ["-db-config", dbconf]
            self.cf_db_path = db
        return Proc("cfssl serve (%s)" % kind, argv,
                    os.path.join(d, "serve.log"), cwd=d)

    def start_cfssl(self, kind):
        port = free_port()
        p = self.new_cfssl_proc(kind, port).start()
        t = wait_ready(p, port, "/")
        self.cf[kind] = (p, port)
        return t

    def start(self):
        if self.with_mica:
            say("starting mica serve")
            self.start_mica()
        say("starting cfssl serve (certdb, no db)")
        self.start_cfssl("certdb")
        self.start_cfssl("nodb")
        time.sleep(1.0)   # settle, then read the idle footprint
        procs = [("cfssl-certdb", self.cf["certdb"][0]),
                 ("cfssl-nodb", self.cf["nodb"][0])]
        if self.mica_proc:
            procs.insert(0, ("mica", self.mica_proc))
        for name, p in procs:
            self.idle[name] = p.rss_kb()
            # Anonymous memory is the processes' own; the rest of RSS is
            # pages of mapped files (mostly shared libraries). Over the
            # process tree (mica's keeper and signers too), pages shared
            # copy-on-write since a fork counted once (tree_memory_kb).
            self.idle_anon[name], self.idle_tree[name] = \
                tree_memory_kb(p.pid)

    def targets(self, mica_bodies, cfssl_bodies):
        t = []
        if self.mica_proc:
            auth = "Bearer " + self.token
            t.append(dict(name="mica-https", proc=self.mica_proc,
                          url="https://127.0.0.1:%d/api/v1/requests" %
                          self.https_port, bodies=mica_bodies, auth=auth))
            t.append(dict(name="mica-http", proc=self.mica_proc,
                          url="http://127.0.0.1:%d/api/v1/requests" %
                          self.http_port, bodies=mica_bodies, auth=auth))
        for kind in ("certdb", "nodb"):
            p, port = self.cf[kind]
            t.append(dict(name="cfssl-" + kind, proc=p,
                          url="http://127.0.0.1:%d/api/v1/cfssl/sign" % port,
                          bodies=cfssl_bodies, auth=None))
        return t

    def stop(self):
        if self.mica_proc:
            rc = self.mica_proc.stop()
            if rc not in (0, None):
                warn("mica serve exited with status %s:\n%s" %
                     (rc, self.mica_proc.log_tail()))
            self.mica_proc = None
        for p, _ in self.cf.values():
            p.stop()
        self.cf = {}


def probe_target(t):
    """One request by hand, so a refusal shows its message, not a rate."""
    with open(t["bodies"]) as f:
        body = f.readline().strip().encode()
    m = re.match(r"(https?)://([^:/]+):(\d+)(/.*)", t["url"])
    headers = {"Content-Type": "application/json"}
    if t["auth"]:
        headers["Authorization"] = t["auth"]
    st, resp = http_post(m.group(2), int(m.group(3)), m.group(4), body,
                         headers, tls=m.group(1) == "https")
    want = 201 if t["name"].startswith("mica") else 200
    if st != want:
        raise BenchError("%s answered %d to a CSR (wanted %d): %s" %
                         (t["name"], st, want, resp[:300]))


# ----------------------------------------------------------- issuance --

def bench_issue(cfg, srv, targets, ceiling, ceiling_bin):
    """Issuance at each concurrency. Besides rate and latency, each row has
    the server's CPU time per issued certificate (its whole process tree,
    from /proc) and the efficiency: what the two signature operations
    alone cost (CSR verify + certificate sign, one core; crypto_ms, the
    mean of a measurement by CEILING_BIN just before the load and one
    just after it), over that CPU time. Measured beside each load because
    the machine's speed drifts in a run: a ceiling taken once at the start
    of one run said 1,072 certificates/s, the same machine 1,776 twenty
    minutes later.

    mica holds its OCSP pre-signing back while it issues (at most 20 s,
    then paced), so after each mica run this waits until every new
    certificate's response is signed (ocsp_dirty empty): the row's "all
    in" CPU per certificate adds the CPU spent meanwhile
    (cpu_all_in_ms_per_cert, ocsp_catchup_s from the end of the load;
    None when the wait timed out), and no run's deferred signing falls
    into the next run's window."""
    say("issuance: %s at concurrency %s, %d runs of %d s" %
        (", ".join(t["name"] for t in targets), cfg["conc"], cfg["runs"],
         cfg["issue_secs"]))
    for t in targets:
        probe_target(t)
    # Warm-up (not recorded): TLS sessions, page cache, Go's heap.
    for t in targets:
        wrk(t["url"], 2, cfg["warm_secs"], bodies=t["bodies"], auth=t["auth"])
    # ... and the warm-up's deferred OCSP signatures out of the first run.
    if any(t["name"].startswith("mica") for t in targets):
        mica_ocsp_catch_up(srv.mica_dir, srv.mica_proc, "issuance warm-up")
    rows = []
    k = 0
    for r in range(cfg["runs"]):
        for c in cfg["conc"]:
            order = targets[k % len(targets):] + targets[:k % len(targets)]
            k += 1
            for t in order:
                before = (mica_count_issued(srv.mica_dir)
                          if t["name"].startswith("mica") else None)
                cr0 = crypto_now(ceiling_bin) if before is not None else None
                with PeakSampler(t["proc"]) as ps:
                    res = wrk(t["url"], c, cfg["issue_secs"],
                              bodies=t["bodies"], auth=t["auth"])
                t_end = time.monotonic()
                cpu_end = ps.cpu0 + ps.cpu_s
                if not t["proc"].alive():
                    raise BenchError("%s died under load:\n%s" %
                                     (t["name"], t["proc"].log_tail()))
                stored = None
                certs = res["ok"]
                all_in_ms = catchup_s = None
                if before is not None:
                    time.sleep(0.2)   # requests in flight when wrk stopped
                    stored = mica_count_issued(srv.mica_dir) - before
                    certs = max(certs, stored)
                    # Every 201 wrk saw must be a stored certificate; the
                    # store may hold up to C more (answered after wrk
                    # stopped reading).
                    if stored < res["ok"] or stored > res["ok"] + c:
                        warn("%s c=%d: wrk saw %d successes, the store "
                             "gained %d certificates" %
                             (t["name"], c, res["ok"], stored))
                    # The OCSP responses held back during the load: their
                    # CPU counts ("all in"), over the same certificates.
                    if mica_ocsp_catch_up(srv.mica_dir, t["proc"],
                                          "%s c=%d" % (t["name"], c)) \
                            is not None:
                        catchup_s = round(time.monotonic() - t_end, 2)
                        all_in = tree_cpu_s(t["proc"].pid) - cpu_end + \
                            ps.cpu_s
                        if certs:
                            all_in_ms = round(1000.0 * all_in / certs, 3)
                crypto_ms = sign_ms = busy_ms = None
                if cr0 is not None:
                    cr1 = crypto_now(ceiling_bin)
                    crypto_ms = (cr0[0] + cr0[1] + cr1[0] + cr1[1]) / 2000.0
                    sign_ms = (cr0[1] + cr1[1]) / 2000.0
                    if cr0[2] and cr1[2]:
                        busy_ms = (cr0[2] + cr1[2]) / 2000.0
                row = dict(run=r + 1, target=t["name"], conc=c,
                           certs_per_s=round(res["rate"], 1),
                           p50_ms=round(res["p50_ms"], 2),
                           p90_ms=round(res["p90_ms"], 2),
                           p99_ms=round(res["p99_ms"], 2),
                           max_ms=round(res["max_ms"], 2),
                           ok=res["ok"], errors=res["errors"],
                           stored=stored if stored is not None else "",
                           peak_rss_kb=ps.peak, server_cpu=ps.cores,
                           cpu_ms_per_cert=round(1000.0 * ps.cpu_s / certs,
                                                 3) if certs else "",
                           cpu_all_in_ms_per_cert=all_in_ms,
                           ocsp_catchup_s=catchup_s,
                           crypto_ms=round(crypto_ms, 3)
                           if crypto_ms else "",
                           sign_ms=round(sign_ms, 3) if sign_ms else "",
                           efficiency=round(crypto_ms * certs /
                                            (1000.0 * ps.cpu_s), 3)
                           if crypto_ms and certs and ps.cpu_s > 0 else "",
                           efficiency_ocsp=round((crypto_ms + sign_ms) /
                                                 all_in_ms, 3)
                           if crypto_ms and all_in_ms else "",
                           crypto_busy_ms=round(busy_ms, 3)
                           if busy_ms else "",
                           efficiency_busy=round(busy_ms * certs /
                                                 (1000.0 * ps.cpu_s), 3)
                           if busy_ms and certs and ps.cpu_s > 0 else "",
                           peak_tree_kb=ps.peak_tree,
                           peak_anon_kb=ps.peak_anon,
                           anon_kb_after=tree_memory_kb(t["proc"].pid)[0],
                           load1=loadavg(),
                           ceiling_ratio=round(res["rate"] / ceiling, 3))
                rows.append(row)
                say("  run %d c=%-2d %-13s %7.0f certs/s  p50 %6.1f ms  "
                    "p99 %7.1f ms  err %d  rss %d MiB  cpu %.2f  "
                    "%.2f ms/cert  eff %s%s" %
                    (r + 1, c, t["name"], res["rate"], res["p50_ms"],
                     res["p99_ms"], res["errors"], ps.peak_tree // 1024,
                     ps.cores or 0, 1000.0 * ps.cpu_s / max(1, certs),
                     row["efficiency"],
                     "  all in %.2f ms/cert (OCSP catch-up %.1f s)" %
                     (all_in_ms, catchup_s) if all_in_ms is not None
                     else ""))
    return rows


def issue_medians(rows):
    out = []
    keys = sorted({(r["target"], r["conc"]) for r in rows},
                  key=lambda x: (list(TARGET_LABEL).index(x[0]), x[1]))
    for tgt, c in keys:
        rs = [r for r in rows if r["target"] == tgt and r["conc"] == c]
        out.append(dict(
            target=tgt, conc=c, runs=len(rs),
            certs_per_s=median([r["certs_per_s"] for r in rs]),
            p50_ms=median([r["p50_ms"] for r in rs]),
            p99_ms=median([r["p99_ms"] for r in rs]),
            ceiling_ratio=median([r["ceiling_ratio"] for r in rs]),
            errors=sum(r["errors"] for r in rs),
            server_cpu=median([r["server_cpu"] for r in rs]),
            cpu_ms_per_cert=median([r["cpu_ms_per_cert"] for r in rs
                                    if r["cpu_ms_per_cert"] != ""] or [0]),
            efficiency=median([r["efficiency"] for r in rs
                               if r["efficiency"] != ""] or [0]),
            crypto_ms=median([r.get("crypto_ms") for r in rs
                              if r.get("crypto_ms") != ""]),
            efficiency_ocsp=median([r.get("efficiency_ocsp") for r in rs
                                    if r.get("efficiency_ocsp") != ""]),
            crypto_busy_ms=median([r.get("crypto_busy_ms") for r in rs
                                   if r.get("crypto_busy_ms") not in
                                   ("", None)]),
            efficiency_busy=median([r.get("efficiency_busy") for r in rs
                                    if r.get("efficiency_busy") not in
                                    ("", None)]),
            cpu_all_in_ms_per_cert=median(
                [r.get("cpu_all_in_ms_per_cert") for r in rs
                 if r.get("cpu_all_in_ms_per_cert") != ""]),
            ocsp_catchup_s=median([r.get("ocsp_catchup_s") for r in rs
                                   if r.get("ocsp_catchup_s") != ""]),
            anon_kb_after=max(r["anon_kb_after"] or 0 for r in rs),
            peak_anon_kb=max(r["peak_anon_kb"] for r in rs),
            peak_tree_kb=max(r["peak_tree_kb"] for r in rs),
            peak_rss_kb=max(r["peak_rss_kb"] for r in rs)))
    return out


# ------------------------------------------------------------ profile --

def bench_profile(cfg, out_dir, srv, bodies, conc=8, secs=5):
    """Where mica spends the time of an HTTPS issuance load: perf's on-CPU
    profile (callers included) and the stacks at which its threads block
    (sched_switch), written to OUT/profile-*.txt."""
    if not shutil.which("perf") or subprocess.run(
            ["perf", "stat", "-e", "task-clock", "true"],
            capture_output=True).returncode != 0:
        warn("perf is not usable here; no profile")
        return
    url = "https://127.0.0.1:%d/api/v1/requests" % srv.https_port
    auth = "Bearer " + srv.token
    for kind, ev in (("cpu", ["-F", "999"]),
                     ("offcpu", ["-e", "sched:sched_switch"])):
        say("profile (%s): mica HTTPS, %d clients, %d s" % (kind, conc, secs))
        data = os.path.join(out_dir, "profile-%s.data" % kind)
        env = dict(os.environ, BENCH_BODIES=bodies, BENCH_AUTH=auth,
                   BENCH_CTYPE="application/json")
        w = subprocess.Popen(["wrk", "-t2", "-c%d" % conc,
                              "-d%ds" % (secs + 2), "--timeout", "30s",
                              "-s", LUA, url], env=env,
                             stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        run(["perf", "record", "-q", "-o", data, "--call-graph",
             "dwarf,16384"] + ev + ["-p", ",".join(str(p) for p in
                                    tree_pids(srv.mica_proc.pid)), "--",
                                    "sleep", str(secs)], timeout=secs + 60)
        w.communicate(timeout=secs + 60)
        # The OCSP signatures the daemon held back during the load: not
        # in the next profile's window (nor the next section's).
        mica_ocsp_catch_up(srv.mica_dir, srv.mica_proc, "profile (%s)" % kind)
        rep = os.path.join(out_dir, "profile-%s.txt" % kind)
        if kind == "cpu":
            r = subprocess.run(["perf", "report", "-i", data, "--stdio",
                                "--children", "--sort", "comm,sym", "-g",
                                "none",
                                "--percent-limit", "2"],
                               capture_output=True, text=True)
            text = r.stdout
        else:
            r = subprocess.run(["perf", "script", "-i", data],
                               capture_output=True, text=True)
            text = offcpu_summary(r.stdout)
        with open(rep, "w") as f:
            f.write(text)
        os.unlink(data)
        say("  %s" % rep)


def offcpu_summary(script):
    """Collapse 'perf script' sched_switch samples into 'blocking call <-
    caller <- ...' lines with their share of all context switches."""
    counts = {}
    total = 0
    for block in script.split("\n\n"):
        lines = block.strip("\n").splitlines()
        if not lines or "sched_switch" not in lines[0]:
            continue
        total += 1
        sysc, chain = None, []
        for ln in lines[1:]:
            parts = ln.split(None, 1)
            if len(parts) < 2:
                continue
            sym = re.sub(r"\+0x[0-9a-f]+", "", parts[1].rsplit(" (", 1)[0])
            kernel = "kernel.kallsyms" in parts[1]
            if kernel:
                if sysc is None and re.match(r"__(x64|se)_sys_", sym):
                    sysc = re.sub(r"^__(x64|se)_sys_", "", sym)
                continue
            if sym.startswith(("0x", "[unknown]")) or sym in (
                    "clone3", "start_thread"):
                continue
            sym = sym.replace(" (inlined)", "")
            if not chain or chain[-1] != sym:
                chain.append(sym)
        if len(chain) > 9:
            chain = chain[:3] + ["..."] + chain[-6:]
        key = "%s: %s" % (sysc or "preempted", " <- ".join(chain))
        counts[key] = counts.get(key, 0) + 1
    out = ["# mica's threads: where they left the CPU (share of %d context "
           "switches; a count of switches, not of time)" % total, ""]
    for k, n in sorted(counts.items(), key=lambda x: -x[1])[:25]:
        out.append("%5.1f%%  %s" % (100.0 * n / max(total, 1), k))
    return "\n".join(out) + "\n"


# ------------------------------------------------------- openssl ca ---

OPENSSL_CA_CNF = """\
[ ca ]
default_ca = bench

[ bench ]
dir              = {dir}
database         = $dir/index.txt
new_certs_dir    = $dir/newcerts
certificate      = {crt}
private_key      = {key}
serial           = $dir/serial
crlnumber        = $dir/crlnumber
rand_serial      = yes
default_md       = sha256
default_days     = 365
default_crl_days = 7
policy           = pol
unique_subject   = no
copy_extensions  = copy
x509_extensions  = srv
crl_extensions   = crlext

[ pol ]
commonName = supplied

[ srv ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
crlDistributionPoints  = URI:http://127.0.0.1/crl

[ crlext ]
authorityKeyIdentifier = keyid
"""


def openssl_ca_dir(work, name, crt, key):
    d = os.path.join(work, name)
    os.makedirs(os.path.join(d, "newcerts"), exist_ok=True)
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "index.txt.attr"), "w") as f:
        f.write("unique_subject = no\n")
    with open(os.path.join(d, "crlnumber"), "w") as f:
        f.write("01\n")
    cnf = os.path.join(d, "openssl.cnf")
    with open(cnf, "w") as f:
        f.write(OPENSSL_CA_CNF.format(dir=d, crt=crt, key=key))
    return d, cnf


def bench_openssl_ca(cfg, work, csr_dir, crt, key):
    n = cfg["openssl_ca_n"]
    say("openssl ca -batch, %d certificates in sequence, %d runs" %
        (n, cfg["runs"]))
    rows = []
    for r in range(cfg["runs"]):
        d, cnf = openssl_ca_dir(work, "openssl-ca-%d" % r, crt, key)
        lat = []
        t0 = time.monotonic()
        for i in range(n):
            t1 = time.monotonic()
            run(["openssl", "ca", "-batch", "-config", cnf, "-notext",
                 "-in", os.path.join(csr_dir, "h%d.csr" % i),
                 "-out", os.path.join(d, "out.crt")])
            lat.append((time.monotonic() - t1) * 1000)
        el = time.monotonic() - t0
        lat.sort()
        rows.append(dict(run=r + 1, target="openssl-ca", conc=1,
                         certs_per_s=round(n / el, 1),
                         p50_ms=round(statistics.median(lat), 2),
                         p99_ms=round(lat[min(len(lat) - 1,
                                              int(len(lat) * 0.99))], 2)))
        say("  run %d: %.0f certs/s" % (r + 1, n / el))
        shutil.rmtree(d)
    return rows


# ----------------------------------------------------------------- CRL --

def timed(argv, stdout=None):
    """(wall seconds, peak RSS KiB) of one command, via /usr/bin/time."""
    tf = tempfile.NamedTemporaryFile(prefix="bench-time.", delete=False)
    tf.close()
    try:
        t0 = time.monotonic()
        r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name] +
                           argv, stdout=stdout or subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        el = time.monotonic() - t0
        if r.returncode != 0:
            raise BenchError("%s failed: %s" % (" ".join(argv[:4]),
                                                 r.stderr[-1500:]))
        with open(tf.name) as f:
            rss = int(f.read().strip().splitlines()[-1])
        return el, rss
    finally:
        os.unlink(tf.name)


def utctime(t):
    return time.strftime("%y%m%d%H%M%SZ", time.gmtime(t))


OSSL_REASONS = {0: None, 1: "keyCompromise", 2: "CACompromise",
                3: "affiliationChanged", 4: "superseded",
                5: "cessationOfOperation", 6: "certificateHold"}


def write_openssl_index(tsv, index):
    with open(tsv) as f, open(index, "w") as out:
        for i, line in enumerate(f):
            serial, rev, reason, na = line.split("\t")
            rv = utctime(int(rev))
            rn = OSSL_REASONS[int(reason)]
            if rn:
                rv += "," + rn
            out.write("R\t%s\t%s\t%s\tunknown\t/CN=h%d.%s\n" %
                      (utctime(int(na)), rv, serial.upper(), i, DOMAIN))


def write_cfssl_serials(tsv, path):
    # cfssl gencrl reads decimal serial numbers, one per line.
    with open(tsv) as f, open(path, "w") as out:
        for line in f:
            out.write("%d\n" % int(line.split("\t", 1)[0], 16))


def bench_crl(cfg, work, mica, bulkload, peer_crt, peer_key,
              with_mica):
    sizes = cfg["crl_sizes"]
    say("CRL publication: mica at %s revoked (each paired with an empty "
        "store); openssl ca and cfssl gencrl at 100k; %d runs" %
        (", ".join(map(str, sizes)), cfg["runs"]))
    tmpl = os.path.join(work, "crl-template")
    mica_init(mica, tmpl, 1)
    root = os.path.join(work, "crl-root.pem")
    run([mica, "-d", tmpl, "export-root", "--out", root])
    # The fixed cost of a 'mica crl' process (open the store, unseal the
    # key, sign an empty CRL), measured beside every size.
    base = os.path.join(work, "crl-0")
    shutil.copytree(tmpl, base)
    base_out = os.path.join(work, "crl-0.der")
    rows = []
    for n in sizes:
        d = os.path.join(work, "crl-%d" % n)
        shutil.copytree(tmpl, d)
        tsv = os.path.join(work, "crl-%d.tsv" % n)
        say("  loading %d revoked certificates" % n)
        # -Q: as a daemon's OCSP refresh leaves a store, or the daemon
        # timed below would sign a response per row meanwhile.
        run([bulkload, "-s", str(n), "-Q", "-o", tsv,
             os.path.join(d, "mica.db"), str(n)])
        out = os.path.join(work, "crl-%d.der" % n)
        tools = [("mica crl", n, [mica, "-d", d, "crl", "--out", out], None),
                 ("mica crl", 0, [mica, "-d", base, "crl", "--out",
                                  base_out], None)]
        if n == 100000:
            od, cnf = openssl_ca_dir(work, "openssl-crl", peer_crt, peer_key)
            write_openssl_index(tsv, os.path.join(od, "index.txt"))
            tools.append(("openssl ca -gencrl", n,
                          ["openssl", "ca", "-gencrl", "-config", cnf,
                           "-out", os.path.join(od, "crl.pem")], None))
            serials = os.path.join(work, "cfssl-serials.txt")
            write_cfssl_serials(tsv, serials)
            # cfssl 1.2 reads every argument, TIME too, from a file.
            expiry = os.path.join(work, "cfssl-expiry.txt")
            with open(expiry, "w") as f:
                f.write("604800\n")
            tools.append(("cfssl gencrl", n,
                          ["cfssl", "gencrl", serials, peer_crt, peer_key,
                           expiry], os.path.join(work, "cfssl-crl.b64")))
        # One untimed pass first: the store was just written and the page
        # cache, not the tools, would decide the first figure.
        for name, k, argv, sink in tools:
            with open(sink or os.devnull, "w") as f:
                timed(argv, stdout=f)
        for r in range(cfg["runs"]):
            order = tools[r % len(tools):] + tools[:r % len(tools)]
            for name, k, argv, sink in order:
                with open(sink or os.devnull, "w") as f:
                    el, rss = timed(argv, stdout=f)
                size = crl_der_size(name, out if k else base_out,
                                    peers_out(work))
                rows.append(dict(run=r + 1, tool=name, revoked=k,
                                 paired_with=n, seconds=round(el, 3),
                                 peak_rss_kb=rss, crl_bytes=size))
                say("  run %d %-20s %8d revoked: %.3f s, %d MiB" %
                    (r + 1, name, k, el, rss // 1024))
        if with_mica:
            rows += bench_crl_daemon(cfg, work, mica, d, n)
        # What mica wrote is a CRL of the root that verifies, with every
        # revoked certificate listed.
        v = run(["openssl", "crl", "-inform", "DER", "-in", out,
                 "-CAfile", root, "-noout"])
        if "verify OK" not in (v.stdout + v.stderr):
            raise BenchError("mica's CRL does not verify:\n" + v.stderr)
        if n <= 100000:
            t = run(["openssl", "crl", "-inform", "DER", "-in", out,
                     "-noout", "-text"]).stdout
            if t.count("Serial Number:") != n:
                raise BenchError("mica's CRL lists %d certificates, not %d"
                                 % (t.count("Serial Number:"), n))
        shutil.rmtree(d)
        for p in (tsv, out):
            if os.path.exists(p):
                os.unlink(p)
    return rows


DAEMON_CRL = "mica serve: POST /api/v1/crl"


def bench_crl_daemon(cfg, work, mica, datadir, n):
    """CRL publication by a running daemon (key unsealed, store open):
    POST /api/v1/crl with an admin token, timed from request to answer."""
    r = run([mica, "-d", datadir, "token", "create", "--admin",
             "--comment", "benchmark"])
    tok = [w for w in r.stdout.split() if w.startswith("mica_")]
    if not tok:
        raise BenchError("no token in 'mica token create' output")
    hp, sp = free_port(), free_port()
    p = Proc("mica serve (%d revoked)" % n,
             [mica, "-d", datadir, "serve", "--http", "127.0.0.1:%d" % hp,
              "--https", "127.0.0.1:%d" % sp, "--log",
              os.path.join(work, "mica-crl-serve.log")],
             os.path.join(work, "mica-crl-serve.out")).start()
    rows = []
    try:
        t_ready = wait_ready(p, hp, "/healthz", want=200, timeout=300)
        hdr = {"Authorization": "Bearer " + tok[0]}

        def publish():
            st, body = http_post("127.0.0.1", hp, "/api/v1/crl", b"", hdr,
                                 timeout=600)
            if st != 201:
                raise BenchError("POST /api/v1/crl: %d %s" % (st, body[:200]))

        publish()   # warm-up, untimed
        for i in range(cfg["runs"]):
            rss0 = p.rss_kb() or 0
            with PeakSampler(p) as ps:
                t0 = time.monotonic()
                publish()
                el = time.monotonic() - t0
            st, crl = http_get("127.0.0.1", hp, "/crl", timeout=60)
            rows.append(dict(run=i + 1, tool=DAEMON_CRL, revoked=n,
                             paired_with=n, seconds=round(el, 3),
                             peak_rss_kb=ps.peak,
                             added_rss_kb=max(0, ps.peak - rss0),
                             crl_bytes=len(crl), startup_s=round(t_ready, 3)))
            say("  run %d %-20s %8d revoked: %.3f s, +%d MiB (RSS %d MiB)" %
                (i + 1, "daemon POST /crl", n, el,
                 max(0, ps.peak - rss0) // 1024, ps.peak // 1024))
    finally:
        p.stop()
    return rows


# ------------------------------------------------------------- stall --

def mica_token(mica, datadir, *args):
    r = run([mica, "-d", datadir, "token", "create"] + list(args) +
            ["--comment", "benchmark"])
    tok = [w for w in r.stdout.split() if w.startswith("mica_")]
    if not tok:
        raise BenchError("no token in 'mica token create' output")
    return tok[0]


class Publisher:
    """POST /api/v1/crl back to back on a thread, so that a CRL is being
    signed and stored at every moment of a load."""

    def __init__(self, port, token):
        self.port, self.hdr = port, {"Authorization": "Bearer " + token}
        self.stopped = threading.Event()
        self.times, self.error = [], None

    def __enter__(self):
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()
        return self

    def _loop(self):
        while not self.stopped.is_set():
            t0 = time.monotonic()
            try:
                st, body = http_post("127.0.0.1", self.port, "/api/v1/crl",
                                     b"", self.hdr, timeout=600)
            except OSError as e:
                self.error = str(e)
                return
            if st != 201:
                self.error = "POST /api/v1/crl: %d %s" % (st, body[:200])
                return
            self.times.append(time.monotonic() - t0)

    def __exit__(self, *a):
        self.stopped.set()
        self.t.join()


def bench_stall(cfg, work, mica, bulkload, bodies):
    """Issuance, GET /crl and GET /healthz on a daemon whose store holds N
    revoked certificates, each measured quiet and again while the daemon
    publishes N-entry CRLs back to back (POST /api/v1/crl): what a
    publication costs everyone else. The two phases alternate, their order
    rotated per run."""
    n = cfg["stall_revoked"]
    d = os.path.join(work, "stall")
    hp, sp = free_port(), free_port()
    say("revocation vs issuance: a store with %d revoked certificates; "
        "issuance (HTTPS, c=8), GET /crl (c=1) and GET /healthz (c=4), "
        "quiet and during CRL publication; %d runs" % (n, cfg["runs"]))
    mica_init(mica, d, hp)
    # -Q: no OCSP marks left for the daemon to sign through the run (a
    # CA in steady use has signed its responses long before).
    run([bulkload, "-s", "16", "-Q", os.path.join(d, "mica.db"), str(n)],
        timeout=1800)
    enroll = mica_token(mica, d, "--enroll", "--profile", "server",
                        "--uses", "-1")
    admin = mica_token(mica, d, "--admin")
    signers = (["--signers", str(cfg["stall_signers"])]
               if cfg.get("stall_signers") else [])
    p = Proc("mica serve (stall)",
             [mica, "-d", d, "serve", "--http", "127.0.0.1:%d" % hp,
              "--https", "127.0.0.1:%d" % sp, "--log",
              os.path.join(work, "mica-stall.log")] + signers,
             os.path.join(work, "mica-stall.out")).start()
    rows = []
    ngx = None
    try:
        wait_ready(p, hp, "/healthz", want=200, timeout=600)
        wait_ready(p, sp, "/healthz", want=200, tls=True, timeout=60)
        issue_url = "https://127.0.0.1:%d/api/v1/requests" % sp
        with Publisher(hp, admin) as pub:   # warm-up: one publication
            while not pub.times and pub.error is None and p.alive():
                time.sleep(0.05)
        if pub.error:
            raise BenchError(pub.error)
        st, crl = http_get("127.0.0.1", hp, "/crl", timeout=60)
        if st != 200:
            raise BenchError("GET /crl: %d" % st)
        # The floor under /crl's figures: nginx sending the same bytes
        # from a file (sendfile) on the same cores, in the same phases.
        nd = nginx_dir(work, "stall-nginx")
        with open(os.path.join(nd, "www", "crl"), "wb") as f:
            f.write(crl)
        os.chmod(os.path.join(nd, "www", "crl"), 0o644)
        ngx, np_ = nginx_start(nd, "nginx (stall)")
        wrk(issue_url, 2, cfg["warm_secs"], bodies=bodies,
            auth="Bearer " + enroll)
        mica_ocsp_catch_up(d, p, "stall warm-up")
        for r in range(cfg["runs"]):
            phases = ["quiet", "publishing"]
            if r % 2:
                phases.reverse()
            for ph in phases:
                pub = Publisher(hp, admin) if ph == "publishing" else None
                if pub:
                    pub.__enter__()
                try:
                    ri = wrk(issue_url, 8, cfg["issue_secs"], bodies=bodies,
                             auth="Bearer " + enroll)
                    # The OCSP responses the load's issuance held back
                    # are signed before /crl is measured.
                    mica_ocsp_catch_up(d, p, "stall %s" % ph)
                    rc = wrk("http://127.0.0.1:%d/crl" % hp, 1,
                             cfg["get_secs"])
                    rn = wrk("http://127.0.0.1:%d/crl" % np_, 1,
                             cfg["get_secs"])
                    rh = wrk("http://127.0.0.1:%d/healthz" % hp, 4,
                             cfg["get_secs"])
                finally:
                    if pub:
                        pub.__exit__()
                if pub and pub.error:
                    raise BenchError(pub.error)
                if not p.alive():
                    raise BenchError("mica serve died:\n" + p.log_tail())
                row = dict(run=r + 1, phase=ph, revoked=n,
                           crl_bytes=len(crl),
                           issue_per_s=round(ri["rate"], 1),
                           issue_p99_ms=round(ri["p99_ms"], 2),
                           issue_max_ms=round(ri["max_ms"], 2),
                           issue_errors=ri["errors"],
                           crl_per_s=round(rc["rate"], 1),
                           crl_p99_ms=round(rc["p99_ms"], 2),
                           crl_errors=rc["errors"],
                           nginx_crl_p99_ms=round(rn["p99_ms"], 2),
                           healthz_p99_ms=round(rh["p99_ms"], 2),
                           healthz_errors=rh["errors"],
                           publications=len(pub.times) if pub else 0,
                           publish_s=round(median(pub.times), 3)
                           if pub and pub.times else "")
                rows.append(row)
                say("  run %d %-10s issuance %6.0f/s p99 %6.1f ms | /crl "
                    "p99 %6.1f ms (nginx %6.1f) | /healthz p99 %5.1f ms | "
                    "%d CRLs published" % (r + 1, ph, ri["rate"],
                                           ri["p99_ms"], rc["p99_ms"],
                                           rn["p99_ms"], rh["p99_ms"],
                                           row["publications"]))
    finally:
        if ngx is not None:
            ngx.stop()
        rc = p.stop()
        if rc not in (0, None):
            warn("mica serve (stall) exited with status %s:\n%s" %
                 (rc, p.log_tail()))
        shutil.rmtree(d, ignore_errors=True)
    return rows


def stall_medians(rows):
    out = {}
    for ph in ("quiet", "publishing"):
        rs = [r for r in rows if r["phase"] == ph]
        if not rs:
            continue
        out[ph] = {k: median([r[k] for r in rs])
                   for k in ("issue_per_s", "issue_p99_ms", "crl_p99_ms",
                             "healthz_p99_ms", "crl_per_s")}
        ng = [r["nginx_crl_p99_ms"] for r in rs
              if r.get("nginx_crl_p99_ms", "") != ""]
        out[ph]["nginx_crl_p99_ms"] = median(ng) if ng else None
        out[ph]["errors"] = sum(r["issue_errors"] + r["crl_errors"] +
                                r["healthz_errors"] for r in rs)
        out[ph]["publications"] = sum(r["publications"] for r in rs)
        pt = [r["publish_s"] for r in rs if r["publish_s"] != ""]
        out[ph]["publish_s"] = median(pt) if pt else None
        out[ph]["revoked"] = rs[0]["revoked"]
        out[ph]["crl_bytes"] = rs[0]["crl_bytes"]
    return out


def peers_out(work):
    return {"openssl ca -gencrl": os.path.join(work, "openssl-crl",
                                               "crl.pem"),
            "cfssl gencrl": os.path.join(work, "cfssl-crl.b64")}


def crl_der_size(tool, mica_out, peers):
    """Size in bytes of the DER CRL a tool wrote (PEM or bare base64 for
    the peers), so that the sizes can be compared."""
    if tool == "mica crl":
        return os.path.getsize(mica_out)
    with open(peers[tool]) as f:
        b64 = "".join(l.strip() for l in f if not l.startswith("-----"))
    return len(base64.b64decode(b64))


def crl_medians(rows):
    """Median per (tool, revoked); for mica also the median over runs of
    (time at N) - (time of the empty store in the same run)."""
    out = []
    seen = []
    for r in rows:
        k = (r["tool"], r["revoked"])
        if k not in seen:
            seen.append(k)
    rank = {"mica crl": 0, DAEMON_CRL: 1}
    for tool, n in sorted(seen, key=lambda k: (k[1], rank.get(k[0], 2),
                                               k[0])):
        rs = [r for r in rows if r["tool"] == tool and r["revoked"] == n]
        above = ""
        if tool == "mica crl" and n:
            diffs = []
            for r in rs:
                b = [x["seconds"] for x in rows
                     if x["tool"] == tool and x["revoked"] == 0 and
                     x["paired_with"] == n and x["run"] == r["run"]]
                if b:
                    diffs.append(r["seconds"] - b[0])
            above = round(median(diffs), 3) if diffs else ""
        added = [r["added_rss_kb"] for r in rs if r.get("added_rss_kb")
                 not in (None, "")]
        out.append(dict(tool=tool, revoked=n, runs=len(rs),
                        seconds=median([r["seconds"] for r in rs]),
                        above_fixed_s=above,
                        peak_rss_kb=max(r["peak_rss_kb"] for r in rs),
                        added_rss_kb=max(added) if added else "",
                        crl_bytes=rs[0]["crl_bytes"]))
    return out


# ----------------------------------------------------------------- GET --

NGINX_CONF = """\
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log {dir}/access.log;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
        location = /ca.crt {{ default_type application/pkix-cert; }}
        location = /crl {{ default_type application/pkix-crl; }}
    }}
}}
"""


def nginx_dir(work, name):
    """A directory for an nginx of the benchmark, its www/ and tmp/ made
    and readable by nginx's workers (they run as nobody)."""
    d = os.path.join(work, name)
    os.makedirs(os.path.join(d, "www"), exist_ok=True)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    for p in (work, d, os.path.join(d, "www")):
        os.chmod(p, 0o755)
    return d


def nginx_start(d, name):
    """nginx on D (NGINX_CONF: D/www's /ca.crt and /crl) at a free port:
    (Proc, port), once it serves /crl."""
    port = free_port()
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF.format(dir=d, port=port))
    ngx = Proc(name, ["nginx", "-p", d, "-c", os.path.join(d, "nginx.conf")],
               os.path.join(d, "nginx.out")).start()
    try:
        wait_ready(ngx, port, "/crl", want=200)
    except BaseException:
        ngx.stop()
        raise
    return ngx, port


def bench_get(cfg, work, srv):
    d = nginx_dir(work, "nginx")
    sizes = {}
    for path in ("/ca.crt", "/crl"):
        st, body = http_get("127.0.0.1", srv.http_port, path)
        if st != 200:
            raise BenchError("mica GET %s: %d" % (path, st))
        fn = os.path.join(d, "www", path.lstrip("/"))
        with open(fn, "wb") as f:
            f.write(body)
        os.chmod(fn, 0o644)
        sizes[path] = len(body)
    ngx, port = nginx_start(d, "nginx")
    try:
        for path in ("/ca.crt", "/crl"):
            _, a = http_get("127.0.0.1", port, path)
            _, b = http_get("127.0.0.1", srv.http_port, path)
            if a != b:
                raise BenchError("nginx and mica serve different %s" % path)
        say("GET /ca.crt (%d bytes) and /crl (%d bytes): mica vs nginx, "
            "wrk -c64, %d runs of %d s" % (sizes["/ca.crt"], sizes["/crl"],
                                          cfg["runs"], cfg["get_secs"]))
        servers = [("mica", srv.http_port, srv.mica_proc), ("nginx", port,
                                                            ngx)]
        for s, p, proc in servers:   # warm-up
            wrk("http://127.0.0.1:%d/ca.crt" % p, 64, 1)
        rows = []
        k = 0
        for r in range(cfg["runs"]):
            for path in ("/ca.crt", "/crl"):
                order = servers[k % 2:] + servers[:k % 2]
                k += 1
                for s, p, proc in order:
                    with PeakSampler(proc) as ps:
                        res = wrk("http://127.0.0.1:%d%s" % (p, path), 64,
                                  cfg["get_secs"])
                    rows.append(dict(run=r + 1, server=s, path=path,
                                     req_per_s=round(res["rate"]),
                                     p50_ms=round(res["p50_ms"], 3),
                                     p99_ms=round(res["p99_ms"], 3),
                                     errors=res["errors"],
                                     bytes=sizes[path],
                                     peak_rss_kb=ps.peak if s == "mica"
                                     else ""))
                    say("  run %d %-6s %-7s %8.0f req/s  p99 %.2f ms  err %d"
                        % (r + 1, s, path, res["rate"], res["p99_ms"],
                           res["errors"]))
        return rows
    finally:
        ngx.stop()


def get_medians(rows):
    out = []
    for path in ("/ca.crt", "/crl"):
        for s in ("mica", "nginx"):
            rs = [r for r in rows if r["path"] == path and r["server"] == s]
            if not rs:
                continue
            out.append(dict(server=s, path=path, runs=len(rs),
                            req_per_s=median([r["req_per_s"] for r in rs]),
                            p99_ms=median([r["p99_ms"] for r in rs]),
                            errors=sum(r["errors"] for r in rs),
                            bytes=rs[0]["bytes"],
                            peak_rss_kb=max((r["peak_rss_kb"] or 0)
                                            for r in rs)))
    return out


# ------------------------------------------------------------ start-up --

def bench_startup(cfg, srv):
    n = cfg["startup_n"]
    say("start-up: exec to serving, %d times each" % n)
    rows = []
    for i in range(n):
        # mica: the data directory exists (CA, TLS certificate, every
        # certificate issued above); ready = /healthz answers 200.
        p = srv.new_mica_proc().start()
        try:
            t = wait_ready(p, srv.http_port, "/healthz", want=200)
            rss_ready = p.rss_kb()
            time.sleep(1.0)
            rows.append(dict(run=i + 1, server="mica", ready_ms=round(t * 1000,
                                                                      1),
                             rss_ready_kb=rss_ready, rss_idle_kb=p.rss_kb()))
        finally:
            p.stop()
        # cfssl with its certdb: ready = any HTTP answer.
        port = free_port()
        p = srv.new_cfssl_proc("certdb", port).start()
        try:
            t = wait_ready(p, port, "/")
            rss_ready = p.rss_kb()
            time.sleep(1.0)
            rows.append(dict(run=i + 1, server="cfssl-certdb",
                             ready_ms=round(t * 1000, 1),
                             rss_ready_kb=rss_ready, rss_idle_kb=p.rss_kb()))
        finally:
            p.stop()
    for s in ("mica", "cfssl-certdb"):
        ts = [r["ready_ms"] for r in rows if r["server"] == s]
        say("  %-13s median %.0f ms (min %.0f, max %.0f)" %
            (s, median(ts), min(ts), max(ts)))
    return rows


# --------------------------------------------------------------- ACME --

def tree_cpu_s(pid):
    """CPU seconds (user + system, with reaped children) of PID and every
    process below it: the daemon, its keeper and its signers."""
    total = 0
    for p in tree_pids(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        total += sum(int(x) for x in st[st.rfind(")") + 2:].split()[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def acme_python():
    """Debian's python3, which has python3-cryptography (not a version
    manager's shim, which may lack it)."""
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"


def bench_acme(cfg, work, mica):
    """The ACME flow against the plain API, paired: for each concurrency
    and run, N certificates each way, interleaved."""
    d = os.path.join(work, "acme-data")
    http_port, https_port, ap = free_port(), free_port(), free_port()
    mica_init(mica, d, http_port)
    r = run([mica, "-d", d, "token", "create", "--enroll", "--acme",
             "--comment", "benchmark"])
    kid = re.search(r"eab-kid: (\S+)", r.stdout).group(1)
    hmac_key = re.search(r"eab-hmac-key: (\S+)", r.stdout).group(1)
    r = run([mica, "-d", d, "token", "create", "--enroll", "--profile",
             "server", "--uses", "-1", "--comment", "benchmark"])
    token = [t for t in r.stdout.split() if t.startswith("mica_")][0]
    hosts = os.path.join(work, "acme-hosts")
    with open(hosts, "w") as f:
        for run_i in range(cfg["runs"]):
            for c in cfg["acme_conc"]:
                for i in range(cfg["acme_n"]):
                    f.write("127.0.0.1 r%dc%d-%d.%s\n" % (run_i, c, i, DOMAIN))
    proc = Proc("mica serve (ACME)",
                [mica, "-d", d, "serve", "--http", "127.0.0.1:%d" % http_port,
                 "--https", "127.0.0.1:%d" % https_port,
                 "--log", os.path.join(work, "mica-acme.log"),
                 "--acme-hosts", hosts, "--acme-http-port", str(ap),
                 "--acme-allow-loopback"],
                os.path.join(work, "mica-acme.out")).start()
    rows = []
    try:
        wait_ready(proc, http_port, "/healthz", want=200)
        wait_ready(proc, https_port, "/healthz", want=200, tls=True)
        root = os.path.join(work, "acme-root.pem")
        st, pem = http_get("127.0.0.1", http_port, "/ca.pem")
        with open(root, "wb") as f:
            f.write(pem)
        base = "https://127.0.0.1:%d" % https_port
        say("ACME: %d certificates per point, clients %s, %d runs (plus the "
            "plain API beside each)" % (cfg["acme_n"], cfg["acme_conc"],
                                         cfg["runs"]))
        for run_i in range(cfg["runs"]):
            for c in cfg["acme_conc"]:
                kinds = ["acme", "api"] if run_i % 2 == 0 else ["api", "acme"]
                for kind in kinds:
                    prefix = "r%dc%d-" % (run_i, c)
                    if kind == "acme":
                        argv = [acme_python(), ACME_CLIENT, "bench",
                                "--dir", base + "/acme/directory",
                                "--cacert", root, "--key",
                                os.path.join(work, "acme-key-%d-%d.pem" % (run_i, c)),
                                "--eab-kid=" + kid, "--eab-hmac=" + hmac_key,
                                "--http-port", str(ap), "--n", str(cfg["acme_n"]),
                                "--conc", str(c), "--prefix", prefix,
                                "--domain", DOMAIN]
                        # One credential binds one account: later runs
                        # reuse that account's key.
                        if run_i > 0 or c != cfg["acme_conc"][0]:
                            argv[argv.index("--key") + 1] = os.path.join(
                                work, "acme-key-0-%d.pem" % cfg["acme_conc"][0])
                    else:
                        argv = [acme_python(), ACME_CLIENT, "bench-api",
                                "--dir", base, "--cacert", root, "--token", token,
                                "--n", str(cfg["acme_n"]), "--conc", str(c),
                                "--prefix", "api-" + prefix, "--domain", DOMAIN]
                    cpu0 = tree_cpu_s(proc.pid)
                    out = run(argv).stdout
                    cpu = tree_cpu_s(proc.pid) - cpu0
                    t_end = time.monotonic()
                    res = json.loads(out.strip().splitlines()[-1])
                    if res.get("errors") or not res.get("certs"):
                        raise BenchError("ACME bench (%s, c=%d): %s" %
                                         (kind, c, res))
                    # The OCSP responses the daemon held back while it
                    # issued: signed before the next run (not in its
                    # window), their CPU in the "all in" figure.
                    catchup = mica_ocsp_catch_up(d, proc, "ACME bench "
                                                 "(%s, c=%d)" % (kind, c))
                    all_in = (tree_cpu_s(proc.pid) - cpu0
                              if catchup is not None else None)
                    rows.append(dict(kind=kind, clients=c, run=run_i,
                                     certs=res["certs"],
                                     certs_per_s=res["rate"],
                                     p50_ms=res["median_s"] * 1000,
                                     p99_ms=res["p99_s"] * 1000,
                                     requests_per_cert=res["requests_per_cert"],
                                     server_cpu_ms_per_cert=cpu * 1000 / res["certs"],
                                     server_cpu_all_in_ms_per_cert=all_in * 1000 /
                                     res["certs"] if all_in is not None else None,
                                     ocsp_catchup_s=round(time.monotonic() - t_end, 2)
                                     if catchup is not None else None,
                                     order_ms=(res.get("median_order_s") or 0) * 1000,
                                     challenge_ms=(res.get("median_challenge_s") or 0) * 1000,
                                     finalize_ms=(res.get("median_finalize_s") or 0) * 1000,
                                     load1=loadavg()))
    finally:
        rc = proc.stop()
        if rc not in (0, None):
            warn("mica serve (ACME) exited with status %s:\n%s" %
                 (rc, proc.log_tail()))
    return rows


def acme_medians(rows):
    out = []
    for c in sorted(set(r["clients"] for r in rows)):
        m = {"clients": c}
        for kind in ("acme", "api"):
            rs = [r for r in rows if r["clients"] == c and r["kind"] == kind]
            for k in ("certs_per_s", "p50_ms", "p99_ms", "requests_per_cert",
                      "server_cpu_ms_per_cert",
                      "server_cpu_all_in_ms_per_cert", "ocsp_catchup_s",
                      "order_ms", "challenge_ms", "finalize_ms"):
                m["%s_%s" % (kind, k)] = median([r.get(k) for r in rs])
        out.append(m)
    return out


# ---------------------------------------------------------------- OCSP --

OCSP_TARGETS = [
    ("mica-post", "mica POST /ocsp"),
    ("mica-get", "mica GET /ocsp/{b64}"),
    ("nginx-get", "nginx GET /ocsp/{b64} (mica publish DIR)"),
    ("openssl-ocsp", "openssl ocsp -index (POST)"),
    ("mica-crl", "mica GET /crl (for comparison)"),
]

OPENSSL_OCSP_EXT = """
[ ocspsign ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = OCSPSigning
noCheck                = ignored
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
"""

NGINX_OCSP_CONF = """\
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
{publication}
}}
"""


def readme_nginx_conf(pub, mica_url, port):
    """The README's documented nginx server block for a publication
    directory, pointed at PUB, the daemon MICA_URL and 127.0.0.1:PORT."""
    readme = os.path.join(HERE, "..", "..", "README")
    with open(readme) as f:
        text = f.read()
    m = re.search(r"^    # -- begin mica publication --\n(.*?)"
                  r"^    # -- end mica publication --$", text, re.S | re.M)
    if not m:
        raise BenchError("README has no mica publication nginx example")
    conf = m.group(1)
    conf = conf.replace("/var/www/mica", pub)
    conf = conf.replace("http://127.0.0.1:8080", mica_url)
    conf = conf.replace("listen 80;", "listen 127.0.0.1:%d;" % port)
    return conf


def ocsp_request(issuer, serial_hex, out):
    """The RFC 5019 request (one SHA-1 CertID, no nonce) for a serial."""
    run(["openssl", "ocsp", "-issuer", issuer, "-serial", "0x" + serial_hex,
         "-no_nonce", "-reqout", out])
    with open(out, "rb") as f:
        return f.read()


def ocsp_check(resp, issuer, serial_hex, want):
    """openssl ocsp reads RESP (DER) as WANT (good, revoked) for the
    serial; raises BenchError otherwise (the signature is checked by the
    end-to-end tests; here the status)."""
    fd, path = tempfile.mkstemp(prefix="bench-ocsp.")
    with os.fdopen(fd, "wb") as f:
        f.write(resp)
    try:
        r = subprocess.run(["openssl", "ocsp", "-respin", path, "-issuer",
                            issuer, "-serial", "0x" + serial_hex,
                            "-noverify"], capture_output=True, text=True)
        if (": %s" % want) not in r.stdout:
            raise BenchError("OCSP answer for %s is not %s:\n%s%s" %
                             (serial_hex, want, r.stdout, r.stderr))
    finally:
        os.unlink(path)



def ocsp_fixture_csrs(work, n):
    """N P-256 CSRs (the certificates of the OCSP bench share them)."""
    d = os.path.join(work, "ocsp-csr")
    os.makedirs(d, exist_ok=True)
    paths = []
    for i in range(n):
        p = os.path.join(d, "k%d.csr" % i)
        run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             os.path.join(d, "k%d.key" % i), "-subj",
             "/CN=ocsp%d.%s" % (i, DOMAIN), "-addext",
             "subjectAltName=DNS:ocsp%d.%s" % (i, DOMAIN), "-out", p])
        paths.append(p)
    return paths


def ocsp_mica_certs(cfg, work, mica, csrs):
    """A daemon with --publish, N certificates issued through its API,
    one in four revoked (superseded). Returns (proc, ports, data dir,
    publication dir, [(serial, 'good'|'revoked')])."""
    d = os.path.join(work, "ocsp-data")
    pub = os.path.join(work, "ocsp-pub")
    hp, sp = free_port(), free_port()
    mica_init(mica, d, hp)
    r = run([mica, "-d", d, "token", "create", "--enroll", "--profile",
             "server", "--uses", "-1", "--comment", "benchmark"])
    enroll = [t for t in r.stdout.split() if t.startswith("mica_")][0]
    r = run([mica, "-d", d, "token", "create", "--admin", "--comment",
             "benchmark"])
    admin = [t for t in r.stdout.split() if t.startswith("mica_")][0]
    proc = Proc("mica serve (OCSP)",
                [mica, "-d", d, "serve", "--http", "127.0.0.1:%d" % hp,
                 "--https", "127.0.0.1:%d" % sp, "--publish", pub,
                 "--log", os.path.join(work, "mica-ocsp.log")],
                os.path.join(work, "mica-ocsp.out")).start()
    wait_ready(proc, hp, "/healthz", want=200)
    n = cfg["ocsp_certs"]
    pems = []
    for p in csrs:
        with open(p, "rb") as f:
            pems.append(f.read())

    def issue(i):
        st, body = http_post("127.0.0.1", hp,
                             "/api/v1/requests?profile=server",
                             pems[i % len(pems)],
                             {"Content-Type": "application/pkcs10",
                              "Authorization": "Bearer " + enroll})
        if st != 201:
            raise BenchError("issuing for the OCSP bench: %d %s" %
                             (st, body[:300]))
        return json.loads(body)["serial"]

    with ThreadPoolExecutor(max_workers=4) as ex:
        serials = list(ex.map(issue, range(n)))
    certs = []
    for i, s in enumerate(serials):
        if i % 4 == 3:
            st, body = http_post("127.0.0.1", hp,
                                 "/api/v1/certificates/%s/revoke" % s,
                                 b'{"reason": "superseded"}',
                                 {"Content-Type": "application/json",
                                  "Authorization": "Bearer " + admin})
            if st != 200:
                raise BenchError("revoking for the OCSP bench: %d %s" %
                                 (st, body[:300]))
            certs.append((s, "revoked"))
        else:
            certs.append((s, "good"))
    return proc, hp, d, pub, certs


def ocsp_openssl_responder(cfg, work, csrs, peer_crt, peer_key):
    """'openssl ocsp -index' as a user would run it: a CA made with
    openssl (the bench's peer root), N certificates from 'openssl ca', one
    in four revoked (superseded), a delegated responder certificate.
    Returns (argv, [(serial, status)])."""
    d, cnf = openssl_ca_dir(work, "ocsp-openssl-ca", peer_crt, peer_key)
    with open(cnf, "a") as f:
        f.write(OPENSSL_OCSP_EXT)
    n = cfg["ocsp_certs"]
    infiles = [csrs[i % len(csrs)] for i in range(n)]
    run(["openssl", "ca", "-batch", "-config", cnf, "-notext", "-out",
         os.path.join(d, "all.pem"), "-infiles"] + infiles, timeout=600)
    # The responder: its own key, certified for OCSPSigning by the CA.
    rkey = os.path.join(d, "ocsp.key")
    rcsr = os.path.join(d, "ocsp.csr")
    rcrt = os.path.join(d, "ocsp.pem")
    run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", rkey, "-subj",
         "/CN=Peer OCSP responder", "-out", rcsr])
    run(["openssl", "ca", "-batch", "-config", cnf, "-notext",
         "-extensions", "ocspsign", "-in", rcsr, "-out", rcrt])
    index = os.path.join(d, "index.txt")
    with open(index) as f:
        lines = f.read().splitlines()
    now = utctime(time.time() - 60)
    certs, out = [], []
    leaf = 0
    for line in lines:
        f = line.split("\t")
        if "Peer OCSP responder" in f[5]:
            out.append(line)
            continue
        if leaf % 4 == 3:
            f[0], f[2] = "R", now + ",superseded"
            certs.append((f[3].lower(), "revoked"))
        else:
            certs.append((f[3].lower(), "good"))
        leaf += 1
        out.append("\t".join(f))
    with open(index, "w") as f:
        f.write("\n".join(out) + "\n")
    argv = ["openssl", "ocsp", "-index", index, "-rsigner", rcrt, "-rkey",
            rkey, "-CA", peer_crt, "-nmin", "60", "-ignore_err"]
    return argv, certs


class OpensslResponder:
    """'openssl ocsp -index ... -port P', started afresh for every load:
    OpenSSL 3.0's responder spins on a connection closed before its
    request arrives (as wrk leaves some when it stops) and then answers
    nothing more. One process, as a user starts it by hand: -multi N's
    workers spin the same way, and in a trial they outlived the SIGTERM
    that stopped their parent."""

    def __init__(self, work, argv, probe):
        self.work, self.argv, self.probe = work, argv, probe
        self.proc = None
        self.port = None

    def start(self):
        self.port = free_port()
        self.proc = Proc("openssl ocsp -index",
                         self.argv + ["-port", str(self.port)],
                         os.path.join(self.work, "openssl-ocsp.out")).start()
        # Ready: it answers a real request (a bare connect would hang it).
        deadline = time.monotonic() + 30
        while True:
            if not self.proc.alive():
                raise BenchError("openssl ocsp exited:\n" +
                                 self.proc.log_tail())
            try:
                st, body = http_post("127.0.0.1", self.port, "/",
                                     self.probe, {"Content-Type":
                                                  "application/ocsp-request"},
                                     timeout=5)
                if st == 200:
                    return body
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise BenchError("openssl ocsp did not answer")
            time.sleep(0.05)

    def stop(self):
        if self.proc:
            self.proc.stop(timeout=5)
            self.proc = None


def bench_ocsp(cfg, work, mica, peer_crt, peer_key):
    """OCSP answers per second: mica's POST and GET (pre-signed), nginx
    serving 'mica publish'ed files, 'openssl ocsp -index' signing per
    request, and GET /crl from the same daemon."""
    say("OCSP: %d certificates each (one in four revoked), responders at "
        "concurrency %s, %d runs of %d s" %
        (cfg["ocsp_certs"], cfg["ocsp_conc"], cfg["runs"], cfg["ocsp_secs"]))
    csrs = ocsp_fixture_csrs(work, 8)
    proc, hp, d, pub, certs = ocsp_mica_certs(cfg, work, mica, csrs)
    procs = [proc]
    ossl = None
    try:
        root = os.path.join(work, "ocsp-root.pem")
        st, pem = http_get("127.0.0.1", hp, "/ca.pem")
        with open(root, "wb") as f:
            f.write(pem)
        rq = os.path.join(work, "ocsp-req.der")
        reqs = [(s, want, ocsp_request(root, s, rq)) for s, want in certs]
        # Every response pre-signed and published: the daemon's pass,
        # then the publication (about every 30 s).
        deadline = time.monotonic() + 180
        # (A name ending in '/' is not published: nginx passes that
        # request on to mica. '//' is written as '/', as nginx looks.)
        names = [re.sub("/+", "/", base64.b64encode(r).decode())
                 for _, _, r in reqs]
        files = [os.path.join(pub, "ocsp", n) for n in names
                 if not n.endswith("/")]
        while True:
            missing = [f for f in files if not os.path.exists(f)]
            if not missing:
                break
            if time.monotonic() > deadline:
                raise BenchError("%d of %d OCSP responses not published "
                                 "after 180 s" % (len(missing), len(files)))
            if not proc.alive():
                raise BenchError("mica serve died:\n" + proc.log_tail())
            time.sleep(0.5)
        # Revoked ones published as revoked (the dirty pass), not good.
        for (s, want, r), n in zip(reqs, names):
            fn = os.path.join(pub, "ocsp", n)
            if os.path.exists(fn):
                with open(fn, "rb") as f:
                    ocsp_check(f.read(), root, s, want)
        mica_paths = os.path.join(work, "ocsp-paths.txt")
        mica_bodies = os.path.join(work, "ocsp-bodies-mica.hex")
        with open(mica_paths, "w") as fp, open(mica_bodies, "w") as fb:
            for _, _, r in reqs:
                fp.write("/ocsp/%s\n" % urllib.parse.quote(
                    base64.b64encode(r).decode(), safe=""))
                fb.write(r.hex() + "\n")
        resp_bytes = {}
        with open(files[0], "rb") as f:
            resp_bytes["mica"] = len(f.read())

        # nginx on the publication directory, configured as documented.
        nd = os.path.join(work, "ocsp-nginx")
        os.makedirs(os.path.join(nd, "tmp"), exist_ok=True)
        for p in (work, nd):
            os.chmod(p, 0o755)
        for root_dir, dirs, fs in os.walk(pub):
            os.chmod(root_dir, 0o755)
        np_ = free_port()
        with open(os.path.join(nd, "nginx.conf"), "w") as f:
            f.write(NGINX_OCSP_CONF.format(
                dir=nd, publication=readme_nginx_conf(
                    pub, "http://127.0.0.1:%d" % hp, np_)))
        ngx = Proc("nginx (publication)", ["nginx", "-p", nd, "-c",
                                           os.path.join(nd, "nginx.conf")],
                   os.path.join(nd, "nginx.out")).start()
        procs.append(ngx)
        wait_ready(ngx, np_, "/ca.crt", want=200)

        # openssl ocsp -index with its own CA and certificates.
        oargv, ocerts = ocsp_openssl_responder(cfg, work, csrs, peer_crt,
                                               peer_key)
        oreqs = [(s, want, ocsp_request(peer_crt, s, rq))
                 for s, want in ocerts]
        ossl = OpensslResponder(work, oargv, oreqs[0][2])
        ossl_bodies = os.path.join(work, "ocsp-bodies-openssl.hex")
        with open(ossl_bodies, "w") as fb:
            for _, _, r in oreqs:
                fb.write(r.hex() + "\n")

        # Each server answers a good and a revoked certificate right.
        hdr = {"Content-Type": "application/ocsp-request"}
        for s, want, r in (reqs[0], reqs[3]):
            st, body = http_post("127.0.0.1", hp, "/ocsp", r, hdr)
            ocsp_check(body, root, s, want)
            path = "/ocsp/" + urllib.parse.quote(base64.b64encode(r).decode(),
                                                 safe="")
            for port in (hp, np_):
                st, body = http_get("127.0.0.1", port, path)
                if st != 200:
                    raise BenchError("GET %s on %d: %d" % (path, port, st))
                ocsp_check(body, root, s, want)
        ossl.start()
        for s, want, r in (oreqs[0], oreqs[3]):
            st, body = http_post("127.0.0.1", ossl.port, "/", r, hdr)
            ocsp_check(body, peer_crt, s, want)
            resp_bytes["openssl"] = len(body)
        ossl.stop()
        st, crl = http_get("127.0.0.1", hp, "/crl")
        resp_bytes["crl"] = len(crl)

        targets = [
            dict(name="mica-post", proc=proc, bytes=resp_bytes["mica"],
                 url="http://127.0.0.1:%d/ocsp" % hp,
                 kw=dict(bodies=mica_bodies, hexbodies=True,
                         ctype="application/ocsp-request")),
            dict(name="mica-get", proc=proc, bytes=resp_bytes["mica"],
                 url="http://127.0.0.1:%d/" % hp, kw=dict(paths=mica_paths)),
            dict(name="nginx-get", proc=ngx, bytes=resp_bytes["mica"],
                 url="http://127.0.0.1:%d/" % np_, kw=dict(paths=mica_paths)),
            dict(name="openssl-ocsp", responder=ossl,
                 bytes=resp_bytes["openssl"],
                 kw=dict(bodies=ossl_bodies, hexbodies=True, noprobe=True,
                         ctype="application/ocsp-request")),
            dict(name="mica-crl", proc=proc, bytes=resp_bytes["crl"],
                 url="http://127.0.0.1:%d/crl" % hp, kw={}),
        ]
        def begin(t):
            if "responder" in t:
                t["responder"].start()
                t["proc"] = t["responder"].proc
                t["url"] = "http://127.0.0.1:%d/" % t["responder"].port

        def end(t):
            if "responder" in t:
                t["responder"].stop()

        for t in targets:   # warm-up, not recorded
            begin(t)
            wrk(t["url"], 2, 1, **t["kw"])
            end(t)
        rows = []
        k = 0
        for r in range(cfg["runs"]):
            for c in cfg["ocsp_conc"]:
                order = targets[k % len(targets):] + targets[:k % len(targets)]
                k += 1
                for t in order:
                    # CPU of the server with its children (mica's
                    # signers, nginx's workers, openssl's -multi).
                    begin(t)
                    cpu0, t0 = tree_cpu_s(t["proc"].pid), time.monotonic()
                    with PeakSampler(t["proc"]) as ps:
                        res = wrk(t["url"], c, cfg["ocsp_secs"], **t["kw"])
                    cores = round((tree_cpu_s(t["proc"].pid) - cpu0) /
                                  (time.monotonic() - t0), 2)
                    if not t["proc"].alive():
                        raise BenchError("%s died under load:\n%s" %
                                         (t["name"], t["proc"].log_tail()))
                    end(t)
                    rows.append(dict(run=r + 1, target=t["name"], conc=c,
                                     req_per_s=round(res["rate"]),
                                     p50_ms=round(res["p50_ms"], 3),
                                     p99_ms=round(res["p99_ms"], 3),
                                     errors=res["errors"],
                                     resp_bytes=t["bytes"],
                                     server_cpu=cores,
                                     peak_rss_kb=ps.peak, load1=loadavg()))
                    say("  run %d c=%-3d %-13s %8.0f answers/s  p99 %7.2f ms"
                        "  err %d  cpu %.2f" %
                        (r + 1, c, t["name"], res["rate"], res["p99_ms"],
                         res["errors"], cores))
        # Nothing changed under load: the answers are still right.
        for s, want, r in (reqs[0], reqs[3]):
            st, body = http_post("127.0.0.1", hp, "/ocsp", r, hdr)
            ocsp_check(body, root, s, want)
        return rows
    finally:
        if ossl is not None:
            ossl.stop()
        for p in reversed(procs):
            p.stop()


def ocsp_medians(rows):
    out = []
    names = [n for n, _ in OCSP_TARGETS]
    for tgt, c in sorted({(r["target"], r["conc"]) for r in rows},
                         key=lambda x: (names.index(x[0]), x[1])):
        rs = [r for r in rows if r["target"] == tgt and r["conc"] == c]
        out.append(dict(target=tgt, conc=c, runs=len(rs),
                        req_per_s=median([r["req_per_s"] for r in rs]),
                        p50_ms=median([r["p50_ms"] for r in rs]),
                        p99_ms=median([r["p99_ms"] for r in rs]),
                        errors=sum(r["errors"] for r in rs),
                        resp_bytes=rs[0]["resp_bytes"],
                        server_cpu=median([r["server_cpu"] for r in rs]),
                        peak_rss_kb=max(r["peak_rss_kb"] for r in rs)))
    return out


def sqlite_object_bytes(db_path, names):
    """Bytes of the named tables and indexes in a store: dbstat when
    SQLite has it, else None."""
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=60)
    try:
        q = ",".join("?" * len(names))
        return db.execute("SELECT sum(pgsize) FROM dbstat WHERE name IN "
                          "(%s)" % q, names).fetchone()[0] or 0
    except sqlite3.OperationalError:
        return None
    finally:
        db.close()


def ocsp_mem_daemon(mica, work, d, n):
    hp, sp = free_port(), free_port()
    p = Proc("mica serve (%d certificates)" % n,
             [mica, "-d", d, "serve", "--http", "127.0.0.1:%d" % hp,
              "--https", "127.0.0.1:%d" % sp, "--log",
              os.path.join(work, "mica-ocsp-mem.log")],
             os.path.join(work, "mica-ocsp-mem.out")).start()
    wait_ready(p, hp, "/healthz", want=200, timeout=600)
    return p, hp


def ocsp_rows(dbp):
    db = sqlite3.connect("file:%s?mode=ro" % dbp, uri=True, timeout=60)
    try:
        return db.execute("SELECT count(*) FROM ocsp_response").fetchone()[0]
    finally:
        db.close()


def bench_ocsp_memory(cfg, work, mica, bulkload):
    """What pre-signed responses cost for N certificates: bulk-load N
    (three in four valid, the rest revoked) into a fresh store, start the
    daemon and let it sign responses ahead of time, then read the table's
    size in the store and the daemon's memory.

    Up to ocsp_mem_sign certificates the daemon signs them all. Above,
    that many are loaded first and signed (the sample that gives the
    signing rate); the daemon is stopped, the other certificates are
    loaded, and each gets a copy of a signed response of its own state
    (good or revoked: the same length, so the same bytes in the table,
    but not a response for that serial); the daemon is then started
    again on the full table, which it finds fresh, for its memory. Signing a million responses one after another would take
    the signers a quarter of an hour on an idle machine."""
    rows = []
    tmpl = os.path.join(work, "ocsp-mem-template")
    mica_init(mica, tmpl, 1)
    cap = cfg["ocsp_mem_sign"]
    for n in cfg["ocsp_mem"]:
        d = os.path.join(work, "ocsp-mem-%d" % n)
        shutil.copytree(tmpl, d)
        dbp = os.path.join(d, "mica.db")
        want = min(n, cap)
        size0 = os.path.getsize(dbp)
        # The daemon signs good responses before revoked ones (the order
        # of its index): the sample is a store of its own size, so that it
        # holds both; the rest is loaded after it is signed.
        say("OCSP memory: loading %d certificates" % want)
        run([bulkload, "-s", str(n), "-g", "75", dbp, str(want)],
            timeout=3600)
        p, hp = ocsp_mem_daemon(mica, work, d, n)
        copied = 0
        try:
            rss_ready = p.rss_kb()
            t0 = time.monotonic()
            # Allow a rate of 50 a second on a busy machine.
            deadline = t0 + max(300, want / 50)
            peak = 0
            while True:
                done = ocsp_rows(dbp)
                peak = max(peak, p.rss_kb() or 0)
                if done >= want:
                    break
                if not p.alive():
                    raise BenchError("mica serve died pre-signing:\n" +
                                     p.log_tail())
                if time.monotonic() > deadline:
                    raise BenchError("%d of %d responses pre-signed after "
                                     "%.0f s" % (done, want, deadline - t0))
                time.sleep(0.5)
            el = time.monotonic() - t0
            signed = done
            if want < n:
                p.stop()
                signed = ocsp_rows(dbp)
                say("  %d signed in %.0f s; loading %d more certificates, "
                    "with copies of signed responses" % (signed, el,
                                                          n - want))
                run([bulkload, "-s", str(n + 1), "-g", "75", dbp,
                     str(n - want)], timeout=3600)
                db = sqlite3.connect(dbp, timeout=60)
                try:
                    # (A store from before schema 009 has no responder.)
                    cols = [r[1] for r in db.execute(
                        "PRAGMA table_info(ocsp_response)")]
                    rc_ = ", responder" if "responder" in cols else ""
                    rt_ = ", t.responder" if "responder" in cols else ""
                    for status in (1, 2):
                        cur = db.execute(
                            "INSERT INTO ocsp_response (serial, status, "
                            "revoked_at, reason, this_update, next_update, "
                            "der" + rc_ + ") SELECT c.serial, c.status, "
                            "c.revoked_at, c.reason, t.this_update, "
                            "t.next_update, t.der" + rt_ + " FROM "
                            "certificate AS c, (SELECT * FROM ocsp_response "
                            "WHERE status = ? LIMIT 1) AS t WHERE c.status "
                            "= ? AND NOT EXISTS (SELECT 1 FROM ocsp_response "
                            "AS o WHERE o.serial = c.serial)",
                            (status, status))
                        if cur.rowcount <= 0:
                            raise BenchError("no signed response of state "
                                             "%d to copy" % status)
                    db.commit()
                    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                finally:
                    db.close()
                copied = ocsp_rows(dbp) - signed
                p, hp = ocsp_mem_daemon(mica, work, d, n)
                # A few answers, so the figure is a serving daemon's.
                for i in range(20):
                    http_get("127.0.0.1", hp, "/healthz")
                time.sleep(2.0)
            peak = max(peak, p.hwm_kb() or 0)
            rss = p.rss_kb()
            anon = p.status_kb("RssAnon")
            db = sqlite3.connect("file:%s?mode=ro" % dbp, uri=True,
                                 timeout=60)
            try:
                avg_der, tot_der, total = db.execute(
                    "SELECT avg(length(der)), sum(length(der)), count(*) "
                    "FROM ocsp_response").fetchone()
            finally:
                db.close()
        finally:
            p.stop()
        if total < n:
            raise BenchError("%d responses for %d certificates" % (total, n))
        tbl = sqlite_object_bytes(dbp, ["ocsp_response"])
        idx = sqlite_object_bytes(dbp, ["sqlite_autoindex_ocsp_response_1",
                                        "ocsp_response_by_next"])
        grow = os.path.getsize(dbp) - size0
        row = dict(certificates=n, signed=signed, copied=copied,
                   presign_s=round(el, 1),
                   presign_per_s=round(signed / el) if el > 0 else "",
                   der_avg_bytes=round(avg_der, 1), der_total_bytes=tot_der,
                   table_bytes=tbl if tbl is not None else "",
                   index_bytes=idx if idx is not None else "",
                   store_growth_bytes=grow,
                   bytes_per_cert=round(((tbl + idx) if tbl is not None
                                         else grow) / n, 1),
                   rss_ready_kb=rss_ready, rss_kb=rss, anon_kb=anon,
                   peak_rss_kb=peak)
        rows.append(row)
        say("  %d: %d signed in %.0f s (%d/s)%s, %.0f B per response "
            "(DER), %.0f B per certificate in the store, daemon RSS %d MiB" %
            (n, signed, el, signed / el if el else 0,
             ", %d copied" % copied if copied else "", avg_der,
             row["bytes_per_cert"], (rss or 0) // 1024))
        shutil.rmtree(d)
    return rows


def timed_cpu(argv, timeout):
    """Run ARGV; (wall s, CPU s of it and its children, its stderr). (Not
    timed() above, which measures memory: one name for both made the CRL
    section of a full run call this one.)"""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = run(argv, timeout=timeout)
    el = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return el, cpu, r.stderr or ""


def bench_ocsp_passes(cfg, work, mica, bulkload):
    """One pass of the OCSP refresh (`mica ocsp-sign`: what a pass of the
    daemon's background refresh does, in one process) and one of the
    publication (`mica publish DIR`) on a store of N certificates (three
    in four valid), every response really signed (no copies): the first
    passes (everything to sign and to write), passes when nothing changed,
    and passes after ocsp_pass_revoke valid certificates were revoked.
    The revocations are written into the store as `mica revoke` writes
    them (status, time, reason: the store's triggers drop their responses
    and mark them), without a CRL per revocation, which is not what is
    measured. Each pass is a new process: its figures include starting
    it and unsealing the key, which the "empty store" row gives alone."""
    rows = []
    tmpl = os.path.join(work, "ocsp-pass-template")
    mica_init(mica, tmpl, 1)
    d0 = os.path.join(work, "ocsp-pass-empty")
    shutil.copytree(tmpl, d0)
    el, cpu, _ = timed_cpu([mica, "-d", d0, "ocsp-sign"], 600)
    rows.append(dict(certificates=0, step="refresh, empty store",
                     wall_s=round(el, 2), cpu_s=round(cpu, 2), signed=0,
                     written="", kept="", removed=""))
    shutil.rmtree(d0)
    sign_re = re.compile(r"(\d+) OCSP response\(s\) signed")
    pub_re = re.compile(r"OCSP responses: (\d+) written, (\d+) unchanged, "
                        r"(\d+) removed")
    seq_re = re.compile(r"up to change (\d+)")
    last = {}

    def refresh(d, n, step):
        el, cpu, err = timed_cpu([mica, "-d", d, "ocsp-sign"], 7200)
        m = sign_re.search(err)
        rows.append(dict(certificates=n, step=step, wall_s=round(el, 2),
                         cpu_s=round(cpu, 2),
                         signed=int(m.group(1)) if m else "",
                         written="", kept="", removed=""))
        say("  %d: %s: %.1f s, %.1f s CPU, %s signed" %
            (n, step, el, cpu, m.group(1) if m else "?"))

    def publish(d, pub, n, step, since=False):
        cmd = [mica, "-d", d, "publish"]
        if since:
            # What the daemon's passes between its hourly full ones do.
            cmd += ["--since", str(last["seq"])]
        el, cpu, err = timed_cpu(cmd + [pub], 7200)
        q = seq_re.search(err)
        if q:
            last["seq"] = int(q.group(1))
        m = pub_re.search(err)
        rows.append(dict(certificates=n, step=step, wall_s=round(el, 2),
                         cpu_s=round(cpu, 2), signed="",
                         written=int(m.group(1)) if m else "",
                         kept=int(m.group(2)) if m else "",
                         removed=int(m.group(3)) if m else ""))
        say("  %d: %s: %.1f s, %.1f s CPU, %s" %
            (n, step, el, cpu, m.group(0) if m else "?"))

    for n in cfg["ocsp_pass"]:
        d = os.path.join(work, "ocsp-pass-%d" % n)
        pub = os.path.join(work, "ocsp-pass-%d-pub" % n)
        shutil.copytree(tmpl, d)
        dbp = os.path.join(d, "mica.db")
        say("OCSP passes: loading %d certificates" % n)
        run([bulkload, "-s", str(n), "-g", "75", dbp, str(n)], timeout=3600)
        refresh(d, n, "refresh, first (all to sign)")
        publish(d, pub, n, "publish, first (all to write)")
        refresh(d, n, "refresh, nothing changed")
        publish(d, pub, n, "publish, nothing changed")
        publish(d, pub, n, "publish --since, nothing changed", since=True)
        k = min(cfg["ocsp_pass_revoke"], n // 2)
        db = sqlite3.connect(dbp, timeout=60)
        try:
            cur = db.execute(
                "UPDATE certificate SET status = 2, revoked_at = ?, "
                "reason = 1 WHERE serial IN (SELECT serial FROM certificate "
                "WHERE status = 1 LIMIT ?)", (int(time.time()), k))
            if cur.rowcount != k:
                raise BenchError("revoked %d of %d" % (cur.rowcount, k))
            db.commit()
        finally:
            db.close()
        refresh(d, n, "refresh, %d revoked" % k)
        publish(d, pub, n, "publish --since, %d revoked" % k, since=True)
        publish(d, pub, n, "publish, %d revoked, then nothing" % k)
        shutil.rmtree(pub)
        shutil.rmtree(d)
    return rows


def report_ocsp(R, cfg, L):
    if R.get("ocsp_med"):
        lab = dict(OCSP_TARGETS)
        L.append("### OCSP answers (plain HTTP, wrk, keep-alive)")
        L.append("")
        L.append("%d certificates per responder, one in four revoked; every "
                 "request a real one (RFC 5019: one SHA-1 CertID, no nonce), "
                 "cycling through all of them. mica answers from its "
                 "pre-signed responses; nginx serves the files `mica "
                 "publish` wrote, with the README's configuration; `openssl "
                 "ocsp -index` (its own CA and delegated responder; one "
                 "process, as a user starts it by hand) signs each answer, "
                 "and is restarted for every load (OpenSSL 3.0's responder "
                 "spins on a connection closed before its request and "
                 "answers nothing more). GET /crl is the same "
                 "daemon's complete CRL. Server CPU: the cores the server "
                 "and its children kept busy on average." %
                 (cfg["ocsp_certs"],))
        L.append("")
        L.append("| responder | clients | answers/s | p50 ms | p99 ms | "
                 "server CPU (cores) | bytes per answer | errors |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for m in R["ocsp_med"]:
            L.append("| %s | %d | %s | %.2f | %.2f | %s | %d | %d |" %
                     (lab[m["target"]], m["conc"], fmt(m["req_per_s"]),
                      m["p50_ms"], m["p99_ms"],
                      "%.2f" % m["server_cpu"] if m["server_cpu"]
                      is not None else "-", m["resp_bytes"], m["errors"]))
        L.append("")
    if R.get("ocsp_pass"):
        L.append("### OCSP refresh and publication: one pass")
        L.append("")
        L.append("A fresh store bulk-loaded with N certificates (three in "
                 "four valid, the rest revoked). One refresh pass is `mica "
                 "ocsp-sign` (the daemon's background pass, in one process: "
                 "it signs the certificates marked as issued or revoked, "
                 "the responses whose refresh time - half a period before "
                 "nextUpdate - came, and walks a key's certificates only "
                 "the first time; each found through an index; every "
                 "response here is really signed), one full "
                 "publication pass `mica publish DIR` (it looks at every "
                 "certificate, rewrites only files whose response changed, "
                 "and removes those of revoked certificates until they are "
                 "signed again), one incremental pass `mica publish "
                 "--since N` (what the daemon does between its hourly full "
                 "passes: only the responses stored or dropped after change "
                 "N). The "
                 "revocations are written into the store as `mica revoke` "
                 "writes them, without a CRL each. Each pass is a process "
                 "of its own: the empty-store row is the cost of starting "
                 "one and unsealing the key. CPU: user + system of the "
                 "process.")
        L.append("")
        L.append("| certificates | pass | wall s | CPU s | signed | files "
                 "written | unchanged | removed |")
        L.append("|---:|---|---:|---:|---:|---:|---:|---:|")
        for m in R["ocsp_pass"]:
            L.append("| %s | %s | %.2f | %.2f | %s | %s | %s | %s |" %
                     (fmt(m["certificates"]), m["step"], m["wall_s"],
                      m["cpu_s"], fmt(m["signed"]), fmt(m["written"]),
                      fmt(m["kept"]), fmt(m["removed"])))
        L.append("")
    if R.get("ocsp_mem"):
        L.append("### Pre-signed OCSP responses: what they cost")
        L.append("")
        L.append("A fresh store bulk-loaded with N certificates (three in "
                 "four valid, the rest revoked); `mica serve` started on it "
                 "signs responses ahead of time: all of them up to %s "
                 "certificates; above, that many are loaded and signed "
                 "first (their rate is the figure), then the others are "
                 "loaded with copies of signed responses of their state "
                 "(same length, same bytes in the table) and the daemon "
                 "is started again on the full table. The "
                 "responses live in the store (table `ocsp_response` and "
                 "its indexes, sizes from SQLite's dbstat), not in the "
                 "daemon's memory." % fmt(cfg["ocsp_mem_sign"]))
        L.append("")
        L.append("| certificates | signed (copied) | pre-signing s | "
                 "responses/s | response DER bytes (mean) | store bytes "
                 "per certificate | store total MiB | daemon RSS MiB "
                 "(anonymous) | daemon peak MiB |")
        L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for m in R["ocsp_mem"]:
            tot = m["bytes_per_cert"] * m["certificates"]
            L.append("| %s | %s%s | %.0f | %s | %.0f | %.0f | %.1f | %s (%s) "
                     "| %s |"
                     % (fmt(m["certificates"]), fmt(m["signed"]),
                        " (%s)" % fmt(m["copied"]) if m["copied"] else "",
                        m["presign_s"],
                        fmt(m["presign_per_s"]), m["der_avg_bytes"],
                        m["bytes_per_cert"], tot / 1048576.0,
                        mib(m["rss_kb"]), mib(m["anon_kb"]),
                        mib(m["peak_rss_kb"])))
        L.append("")


def evaluate_ocsp_targets(R, out):
    om = {(m["target"], m["conc"]): m for m in R.get("ocsp_med", [])}
    if om:
        c = max(k[1] for k in om)
        mg, os_, crl = (om.get(("mica-get", c)), om.get(("openssl-ocsp", c)),
                        om.get(("mica-crl", c)))
        if mg and os_:
            # A lookup against a signature per answer, wrk on the same
            # cores as both.
            need = 3 * os_["req_per_s"]
            got = mg["req_per_s"]
            out.append(("OCSP GET at c=%d >= 3x openssl ocsp -index" % c,
                        ">= %s answers/s" % fmt(need),
                        "%s answers/s (%.1fx)" %
                        (fmt(got), got / os_["req_per_s"]
                         if os_["req_per_s"] else 0),
                        "met" if got >= need else
                        "MISSED by %s answers/s (%s short)" %
                        (fmt(need - got), pct_short(got, need))))
        if mg and crl:
            need = crl["req_per_s"] / 2
            got = mg["req_per_s"]
            out.append(("OCSP GET at c=%d >= half of GET /crl" % c,
                        ">= %s answers/s" % fmt(need),
                        "%s answers/s (%.0f%% of /crl)" %
                        (fmt(got), 100.0 * got / crl["req_per_s"]
                         if crl["req_per_s"] else 0),
                        "met" if got >= need else
                        "MISSED by %s answers/s (%s short)" %
                        (fmt(need - got), pct_short(got, need))))
    mem = R.get("ocsp_mem")
    if mem:
        m = max(mem, key=lambda x: x["certificates"])
        out.append(("pre-signed store at %s certificates <= 512 B each" %
                    fmt(m["certificates"]), "<= 512 B",
                    "%.0f B" % m["bytes_per_cert"],
                    "met" if m["bytes_per_cert"] <= 512 else
                    "MISSED by %.0f B" % (m["bytes_per_cert"] - 512)))
        out.append(("daemon RSS with %s pre-signed <= 32 MiB" %
                    fmt(m["certificates"]), "<= 32.0 MiB",
                    "%s MiB" % mib(m["rss_kb"]),
                    "met" if m["rss_kb"] <= 32768 else
                    "MISSED by %s MiB" % mib(m["rss_kb"] - 32768)))


# ------------------------------------------------------------ reports --

def write_csv(path, rows):
    if not rows:
        return
    keys = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow(r)


def mib(kb):
    return "%.1f" % (kb / 1024.0) if kb else "-"


def fmt(x, nd=0):
    if x is None or x == "":
        return "-"
    return ("{:,.%df}" % nd).format(x)


def pct_short(got, need):
    return "%.0f%%" % (100.0 * (need - got) / need) if need else "?"


def evaluate_targets(R):
    """[(target, required, measured, verdict)]; a miss says by how much."""
    out = []
    ceil = R.get("ceiling", {}).get("p256", {}).get("ceiling_per_s")
    im = {(m["target"], m["conc"]): m for m in R.get("issue_med", [])}
    mh = im.get(("mica-https", 8))
    cf = im.get(("cfssl-certdb", 8))
    if mh and ceil:
        need = 0.85 * ceil
        got = mh["certs_per_s"]
        out.append(("HTTPS issuance at c=8 >= 85% of ceiling",
                    ">= %s certs/s (85%% of %s)" % (fmt(need), fmt(ceil)),
                    "%s certs/s (%.0f%%)" % (fmt(got), 100 * got / ceil),
                    "met" if got >= need else
                    "MISSED by %s certs/s (%s short)" %
                    (fmt(need - got), pct_short(got, need))))
        out.append(("HTTPS issuance p99 at c=8 < 25 ms", "< 25 ms",
                    "%.1f ms" % mh["p99_ms"],
                    "met" if mh["p99_ms"] < 25 else
                    "MISSED by %.1f ms (%.1fx the limit)" %
                    (mh["p99_ms"] - 25, mh["p99_ms"] / 25)))
    if mh and mh.get("efficiency"):
        e = mh["efficiency"]
        ai = mh.get("cpu_all_in_ms_per_cert")
        cms = mh.get("crypto_ms") or R.get("crypto_ms", 0)
        out.append(("HTTPS issuance efficiency at c=8 >= 0.80 (crypto "
                    "alone / server CPU per certificate during the load)",
                    ">= 0.80",
                    "%.2f (%.2f ms CPU per certificate%s, crypto %.2f ms)" %
                    (e, mh["cpu_ms_per_cert"],
                     "; %.2f all in, with the deferred OCSP signatures" % ai
                     if ai else "", cms),
                    "met" if e >= 0.80 else
                    "MISSED by %.2f (%.2f ms CPU per certificate too many)"
                    % (0.80 - e, mh["cpu_ms_per_cert"] - cms / 0.80)))
    if mh and cf:
        got, ref = mh["certs_per_s"], cf["certs_per_s"]
        out.append(("HTTPS issuance at c=8 ahead of cfssl+certdb",
                    "> %s certs/s" % fmt(ref), "%s certs/s (%.2fx)" %
                    (fmt(got), got / ref if ref else 0),
                    "met" if got > ref else
                    "MISSED by %s certs/s" % fmt(ref - got)))
    cm = {(m["tool"], m["revoked"]): m for m in R.get("crl_med", [])}
    for tool, lab in (("mica crl", "mica crl"),
                      (DAEMON_CRL, "daemon")):
        m1 = cm.get((tool, 1000000))
        if not m1:
            continue
        mem = m1["peak_rss_kb"] if tool == "mica crl" else m1["added_rss_kb"]
        lim = 3 * m1["crl_bytes"] / 1024.0
        out.append(("1M-entry CRL published in <= 1.5 s (%s)" % lab,
                    "<= 1.50 s", "%.2f s" % m1["seconds"],
                    "met" if m1["seconds"] <= 1.5 else
                    "MISSED by %.2f s" % (m1["seconds"] - 1.5)))
        out.append(("1M CRL peak memory < 3x CRL size (%s)" % lab,
                    "< %s MiB (CRL %s MiB)" % (mib(lim),
                                               mib(m1["crl_bytes"] / 1024.0)),
                    "%s MiB (%.1fx)" % (mib(mem),
                                        mem * 1024.0 / m1["crl_bytes"]),
                    "met" if mem < lim else
                    "MISSED by %s MiB" % mib(mem - lim)))
    o100 = cm.get(("openssl ca -gencrl", 100000))
    for tool, lab in (("mica crl", "mica crl"), (DAEMON_CRL, "daemon")):
        m100 = cm.get((tool, 100000))
        if not (m100 and o100):
            continue
        sp = o100["seconds"] / m100["seconds"]
        out.append(("100k CRL >= 3x faster than openssl ca -gencrl (%s)" %
                    lab, "<= %.3f s" % (o100["seconds"] / 3),
                    "%.3f s (speed-up %.2fx)" % (m100["seconds"], sp),
                    "met" if sp >= 3 else
                    "MISSED: %.1fx instead of 3x (%.3f s too slow)" %
                    (sp, m100["seconds"] - o100["seconds"] / 3)))
    st = R.get("stall", {})
    if st.get("quiet") and st.get("publishing"):
        q, b = st["quiet"], st["publishing"]
        lab = fmt(q["revoked"])
        lim = 2 * q["issue_p99_ms"]
        out.append(("issuance p99 during a %s-entry CRL publication < 2x "
                    "without" % lab, "< %.1f ms (2 x %.1f)" %
                    (lim, q["issue_p99_ms"]),
                    "%.1f ms (%.2fx)" % (b["issue_p99_ms"],
                                         b["issue_p99_ms"] /
                                         q["issue_p99_ms"]),
                    "met" if b["issue_p99_ms"] < lim else
                    "MISSED by %.1f ms" % (b["issue_p99_ms"] - lim)))
        out.append(("GET /crl p99 during a %s-entry CRL publication < 10 ms"
                    % lab, "< 10 ms", "%.1f ms (quiet: %.1f ms%s)" %
                    (b["crl_p99_ms"], q["crl_p99_ms"],
                     "; nginx, the same bytes: %.1f ms" %
                     b["nginx_crl_p99_ms"]
                     if b.get("nginx_crl_p99_ms") is not None else ""),
                    "met" if b["crl_p99_ms"] < 10 else
                    "MISSED by %.1f ms" % (b["crl_p99_ms"] - 10)))
    gm = {(m["server"], m["path"]): m for m in R.get("get_med", [])}
    gmc, gnc = gm.get(("mica", "/ca.crt")), gm.get(("nginx", "/ca.crt"))
    if gmc and gnc:
        need = gnc["req_per_s"] / 2
        got = gmc["req_per_s"]
        out.append(("GET /ca.crt >= half of nginx",
                    ">= %s req/s" % fmt(need),
                    "%s req/s (%.0f%% of nginx)" %
                    (fmt(got), 100 * got / gnc["req_per_s"]),
                    "met" if got >= need else
                    "MISSED by %s req/s (%s short)" %
                    (fmt(need - got), pct_short(got, need))))
    evaluate_ocsp_targets(R, out)
    pk = R.get("peaks_tree", {})
    if pk.get("mica") and pk.get("cfssl-certdb"):
        v, ref = pk["mica"], pk["cfssl-certdb"]
        out.append(("peak RSS under issuance load (all mica's processes) "
                    "<= half of cfssl+certdb's",
                    "<= %s MiB" % mib(ref / 2), "%s MiB (cfssl %s MiB)" %
                    (mib(v), mib(ref)),
                    "met" if v <= ref / 2 else
                    "MISSED by %s MiB" % mib(v - ref / 2)))
    return out


def report(R, cfg, quick):
    M = R["machine"]
    L = []
    L.append("## Benchmark results (%s run, %s)" %
             ("quick" if quick else "full", M["date"]))
    L.append("")
    L.append("Machine: %s, %d cores, %d MiB RAM; Debian %s, Linux %s; "
             "1-minute load average %.2f at start, %s during issuance, "
             "%.2f at the end (above 1 means other work shared the cores)."
             % (M["cpu"], M["cores"], M["mem_mib"], M["debian"],
                M["kernel"], M["load_start"],
                "up to %.2f" % M["load_issue_max"]
                if "load_issue_max" in M else "-",
                M.get("load_end", M["load_start"])))
    L.append("Software: %s; mbedTLS %s, SQLite %s; peers: cfssl %s, "
             "OpenSSL %s, nginx %s; load generator wrk %s (on the same "
             "cores)." % (M["mica"], M["mbedtls"], M["sqlite"], M["cfssl"],
                          M["openssl"], M["nginx"], M["wrk"]))
    L.append("Each figure is the median of %d runs (issuance %d s per point, "
             "downloads %d s); the runs of compared servers are interleaved."
             % (cfg["runs"], cfg["issue_secs"], cfg["get_secs"]))
    L.append("")
    if "ceiling" in R:
        L.append("### Crypto ceiling (mbedTLS, one core, median of %d runs)"
                 % cfg["ceiling_runs"])
        L.append("")
        L.append("| keys (CSR + CA) | CSR verify/s | sign/s | ceiling = "
                 "cores / (verify + sign) | measured, all cores | "
                 "verify + sign alone us | CPU per pair, all cores us |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for k, lab in (("p256", "P-256 + P-256"),
                       ("rsa2048", "RSA-2048 + RSA-2048")):
            c = R["ceiling"].get(k)
            if c:
                pc = c.get("parallel_cpu_us")
                L.append("| %s | %s | %s | **%s certs/s** | %s certs/s | "
                         "%.0f | %s |" %
                         (lab, fmt(c["verify_per_s"]), fmt(c["sign_per_s"]),
                          fmt(c["ceiling_per_s"]), fmt(c["parallel_per_s"]),
                          c["verify_us"] + c["sign_us"],
                          "%.0f" % pc if pc else "-"))
        L.append("")
        L.append("All cores: every core runs verify + sign pairs at once; "
                 "its CPU per pair is the thread CPU time one pair took "
                 "there. Above the pair alone, it is what busy cores "
                 "(shared caches, or one physical core under two) cost "
                 "the same operations.")
        L.append("")
    if R.get("issue_med") or R.get("osslca_med"):
        L.append("### Issuance (P-256 CA, P-256 CSRs, every certificate "
                 "stored; wrk, keep-alive)")
        L.append("")
        L.append("| server | clients | certs/s | p50 ms | p99 ms | "
                 "of ceiling | server CPU (cores) | errors | peak RSS MiB |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for m in R.get("issue_med", []):
            L.append("| %s | %d | %s | %.1f | %.1f | %.0f%% | %s | %d | %s |"
                     % (TARGET_LABEL[m["target"]], m["conc"],
                        fmt(m["certs_per_s"]), m["p50_ms"], m["p99_ms"],
                        100 * m["ceiling_ratio"],
                        "%.2f" % m["server_cpu"] if m["server_cpu"]
                        is not None else "-", m["errors"],
                        mib(m["peak_rss_kb"])))
        o = R.get("osslca_med")
        if o:
            ceil = R.get("ceiling", {}).get("p256", {}).get("ceiling_per_s")
            L.append("| openssl ca -batch (one process per certificate) | 1 "
                     "| %s | %.1f | %.1f | %s | - | 0 | - |" %
                     (fmt(o["certs_per_s"]), o["p50_ms"], o["p99_ms"],
                      "%.0f%%" % (100 * o["certs_per_s"] / ceil)
                      if ceil else "-"))
        L.append("")
        L.append("Server CPU: the cores the server's processes (mica: "
                 "the daemon and its signer processes) kept busy on "
                 "average during the load (wrk runs on the same cores). "
                 "A server well below the core count while short of the "
                 "ceiling is waiting, not computing.")
        L.append("")
        eff = [m for m in R.get("issue_med", [])
               if m["target"] == "mica-https" and m.get("efficiency")]
        if eff and R.get("crypto_ms"):
            L.append("#### Efficiency: CPU per certificate against the "
                     "crypto alone (HTTPS)")
            L.append("")
            L.append("| clients | certs/s | server CPU ms per certificate "
                     "(during the load) | CPU all in ms per certificate | "
                     "OCSP catch-up s | crypto alone ms | efficiency | "
                     "with the OCSP signature (all in) | crypto, every "
                     "core busy ms | against it | p99 ms |")
            L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
                     "---:|")
            for m in eff:
                ai = m.get("cpu_all_in_ms_per_cert")
                cu = m.get("ocsp_catchup_s")
                eo = m.get("efficiency_ocsp")
                bm = m.get("crypto_busy_ms")
                eb = m.get("efficiency_busy")
                L.append("| %d | %s | %.2f | %s | %s | %.2f | **%.2f** | "
                         "%s | %s | %s | %.1f |" %
                         (m["conc"], fmt(m["certs_per_s"]),
                          m["cpu_ms_per_cert"],
                          "%.2f" % ai if ai else "-",
                          "%.1f" % cu if cu is not None else "-",
                          m.get("crypto_ms") or R["crypto_ms"],
                          m["efficiency"],
                          "%.2f" % eo if eo else "-",
                          "%.2f" % bm if bm else "-",
                          "%.2f" % eb if eb else "-",
                          m["p99_ms"]))
            L.append("")
            L.append("CPU per certificate: user + system time of every mica "
                     "process (/proc, the daemon and its signers) during the "
                     "load over the certificates stored. Crypto alone: one "
                     "CSR verify + one certificate signature (mbedTLS, one "
                     "core, in the thread's CPU time), measured for half a "
                     "second each just before and just after every load of "
                     "mica (the machine's "
                     "speed drifts during a run), median over the runs; "
                     "each run's efficiency uses its own. Efficiency is "
                     "their ratio (median of the runs'); the rest is TLS, "
                     "HTTP, JSON, the store, the WAL sync and hand-offs "
                     "between threads. Crypto, every core busy: the CPU "
                     "time of one verify + sign pair while every core runs "
                     "pairs at once (measured beside each load, as above): "
                     "a server under load runs its crypto on busy cores, "
                     "which share caches (or a physical core), so the same "
                     "two operations cost it more than they cost alone; "
                     "\"against it\" is the efficiency with that figure, "
                     "which leaves out what busy cores cost the crypto and "
                     "keeps what mica adds to it. The target is judged on "
                     "the efficiency column.")
            L.append("")
            L.append("Every issued certificate costs mica a third "
                     "operation: the OCSP response its refresh thread has "
                     "the signer pre-sign for it. The daemon holds that "
                     "pre-signing back while it issues (at most 20 s; then "
                     "paced), so the load's CPU leaves those signatures "
                     "out. \"All in\" adds the CPU it spent after the load "
                     "until every new certificate's response was signed "
                     "(ocsp_dirty empty), over the same certificates; "
                     "\"OCSP catch-up\" is how long that took from the end "
                     "of the load. The efficiency with the OCSP signature "
                     "is computed on the all-in CPU: the crypto alone plus "
                     "one more signature (verify + two signatures, measured "
                     "beside each load as above) over it.")
            L.append("")
    if R.get("crl_med"):
        L.append("### CRL publication (sign and store a new CRL)")
        L.append("")
        L.append("| revoked | tool | seconds | above mica's fixed cost | "
                 "peak RSS MiB | CRL size MiB | peak / size |")
        L.append("|---:|---|---:|---:|---:|---:|---:|")
        for m in R["crl_med"]:
            sz = m["crl_bytes"]
            above = ("%.3f" % m["above_fixed_s"]
                     if m["above_fixed_s"] != "" else "-")
            mem = m["peak_rss_kb"]
            peak = mib(mem)
            if m["added_rss_kb"] != "":
                # A daemon's peak counts what publishing added to it.
                mem = m["added_rss_kb"]
                peak = "+%s (of %s)" % (mib(mem), mib(m["peak_rss_kb"]))
            L.append("| %s | %s | %.3f | %s | %s | %s | %s |" %
                     (fmt(m["revoked"]), m["tool"], m["seconds"], above,
                      peak, "%.2f" % (sz / 1048576.0) if sz else "-",
                      "%.1fx" % (mem * 1024.0 / sz)
                      if sz and m["revoked"] else "-"))
        L.append("")
        L.append("`mica crl` is a whole process: opening the store and "
                 "unsealing the CA key (PBKDF2, 600,000 iterations) are in "
                 "every figure. The 0-revoked row is that fixed cost, "
                 "measured beside every size; \"above mica's fixed cost\" "
                 "is the median of the paired differences. The daemon "
                 "rows time POST /api/v1/crl on a running `mica serve` "
                 "(key unsealed at start), request to answer; their "
                 "memory is what publishing added to the daemon's "
                 "resident set.")
        L.append("")
    st = R.get("stall", {})
    if st.get("quiet") and st.get("publishing"):
        q, b = st["quiet"], st["publishing"]
        L.append("### Revocation never stalls issuance (%s revoked, CRL "
                 "%.1f MiB)" % (fmt(q["revoked"]), q["crl_bytes"] / 1048576.0))
        L.append("")
        L.append("| load | quiet | during CRL publication | ratio |")
        L.append("|---|---:|---:|---:|")
        for k, lab, f in (("issue_per_s", "issuance certs/s (HTTPS, c=8)",
                           "%.0f"),
                          ("issue_p99_ms", "issuance p99 ms", "%.1f"),
                          ("crl_p99_ms", "GET /crl p99 ms (c=1)", "%.1f"),
                          ("nginx_crl_p99_ms", "nginx: the same CRL from a "
                           "file, p99 ms (c=1)", "%.1f"),
                          ("crl_per_s", "GET /crl per s (c=1)", "%.1f"),
                          ("healthz_p99_ms", "GET /healthz p99 ms (c=4)",
                           "%.2f")):
            if q.get(k) is None or b.get(k) is None:
                continue
            L.append("| %s | %s | %s | %s |" %
                     (lab, f % q[k], f % b[k],
                      "%.2fx" % (b[k] / q[k]) if q[k] else "-"))
        L.append("")
        L.append("During publication the daemon signs and stores one "
                 "complete CRL after another (POST /api/v1/crl back to back: "
                 "%d CRLs, median %.2f s each) while the load runs. The CRL "
                 "is signed from a read snapshot outside the write lock and "
                 "stored in a short transaction, by threads ten nice steps "
                 "below the daemon's others (and signed by a signer process "
                 "at that priority, mica-signer-crl); /crl serves the previous "
                 "CRL until the next is loaded. The two CPU cores are shared "
                 "by the signing, the load and wrk itself. nginx sends the "
                 "same CRL from a file (sendfile), measured right after "
                 "mica's /crl in each phase: what sending those bytes costs "
                 "on this machine at that moment. Errors: %d quiet, "
                 "%d during publication." %
                 (b["publications"], b["publish_s"] or 0, q["errors"],
                  b["errors"]))
        if R.get("stall_signers"):
            L.append("")
            L.append("The daemon ran with --signers %d (the signer "
                     "processes of certificates; by default one per core)."
                     % R["stall_signers"])
        L.append("")
    if R.get("get_med"):
        L.append("### Root and CRL download (plain HTTP, wrk -c64)")
        L.append("")
        L.append("| path | bytes | mica req/s | nginx req/s | mica / nginx "
                 "| mica p99 ms | nginx p99 ms |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        gm = {(m["server"], m["path"]): m for m in R["get_med"]}
        for path in ("/ca.crt", "/crl"):
            a, b = gm.get(("mica", path)), gm.get(("nginx", path))
            if a and b:
                L.append("| GET %s | %d | %s | %s | %.0f%% | %.2f | %.2f |" %
                         (path, a["bytes"], fmt(a["req_per_s"]),
                          fmt(b["req_per_s"]),
                          100.0 * a["req_per_s"] / b["req_per_s"],
                          a["p99_ms"], b["p99_ms"]))
        L.append("")
    if R.get("idle") or R.get("peaks"):
        L.append("### Memory")
        L.append("")
        L.append("| server | anonymous idle MiB | anonymous peak, issuance "
                 "MiB | resident idle MiB | resident peak, issuance MiB | "
                 "main process peak, downloads MiB |")
        L.append("|---|---:|---:|---:|---:|---:|")
        for p, lab in (("mica", "mica serve (all its processes)"),
                       ("cfssl-certdb", "cfssl serve + certdb"),
                       ("cfssl-nodb", "cfssl serve, no db")):
            if p in R.get("idle", {}) or p in R.get("peaks", {}):
                L.append("| %s | %s | %s | %s | %s | %s |" %
                         (lab, mib(R.get("idle_anon", {}).get(p)),
                          mib(R.get("peaks_anon", {}).get(p)),
                          mib(R.get("idle_tree", {}).get(p)),
                          mib(R.get("peaks_tree", {}).get(p)),
                          mib(R.get("get_peak", {}).get(p))))
        L.append("")
        L.append("Anonymous: the processes' own memory (Pss_Anon summed over "
                 "the server's process tree: mica's daemon and its keeper "
                 "and signer processes), what a server really costs; the "
                 "keeper and signers are forked from the daemon, so a page "
                 "they still share with it copy-on-write counts once, not "
                 "once per process (RssAnon where the kernel has no "
                 "Pss_Anon). Resident: the main process's pages of mapped "
                 "files plus that anonymous memory and the children's "
                 "shared-memory pages, so the shared libraries every mica "
                 "process maps count once; it includes the library pages "
                 "the server touched (GnuTLS, SQLite, mbedTLS, libc for "
                 "mica; cfssl is one static Go binary). Peaks: sampled "
                 "every 20 ms during each load, the highest of the runs.")
        L.append("")
    if R.get("startup"):
        L.append("### Start-up (exec to serving, existing data directory)")
        L.append("")
        L.append("| server | median ms | min ms | max ms | RSS when ready "
                 "MiB |")
        L.append("|---|---:|---:|---:|---:|")
        for s, lab in (("mica", "mica serve (to /healthz 200)"),
                       ("cfssl-certdb", "cfssl serve + certdb (first HTTP "
                        "answer)")):
            ts = [r["ready_ms"] for r in R["startup"] if r["server"] == s]
            rs = [r["rss_ready_kb"] for r in R["startup"]
                  if r["server"] == s]
            if ts:
                L.append("| %s | %.0f | %.0f | %.0f | %s |" %
                         (lab, median(ts), min(ts), max(ts),
                          mib(median(rs))))
        L.append("")
    if R.get("acme_med"):
        L.append("### ACME issuance (whole flow per certificate) beside the "
                 "plain API")
        L.append("")
        L.append("Each ACME certificate: new-order, the authorization, the "
                 "http-01 challenge (answered on loopback, validated by the "
                 "daemon's workers), polling, finalize, download - one name "
                 "per order, so no authorization is reused. The API: one "
                 "POST /api/v1/requests with an enrollment token. Both by "
                 "tests/tools/acme_client.py (same Python, TLS stack and "
                 "threads; its CSR and JWS work is client time). Server CPU: "
                 "the daemon, its keeper and its signers.")
        L.append("")
        L.append("| clients | ACME certs/s | API certs/s | ACME / API | "
                 "ACME p50 ms | API p50 ms | ACME p99 ms | HTTP requests "
                 "per cert (ACME) | server CPU ms/cert ACME | API | "
                 "ACME steps: order / challenge / finalize ms |")
        L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for m in R["acme_med"]:
            L.append("| %d | %.1f | %.1f | %.0f%% | %.0f | %.0f | %.0f | %.1f "
                     "| %.1f | %.1f | %.0f / %.0f / %.0f |" %
                     (m["clients"], m["acme_certs_per_s"], m["api_certs_per_s"],
                      100.0 * m["acme_certs_per_s"] / m["api_certs_per_s"]
                      if m["api_certs_per_s"] else 0,
                      m["acme_p50_ms"], m["api_p50_ms"], m["acme_p99_ms"],
                      m["acme_requests_per_cert"],
                      m["acme_server_cpu_ms_per_cert"],
                      m["api_server_cpu_ms_per_cert"], m["acme_order_ms"],
                      m["acme_challenge_ms"], m["acme_finalize_ms"]))
        L.append("")
        extra = [m["acme_server_cpu_ms_per_cert"] - m["api_server_cpu_ms_per_cert"]
                 for m in R["acme_med"]]
        L.append("The ACME round trips cost the server %.1f to %.1f ms of CPU "
                 "per certificate more than the API: an ECDSA verification "
                 "of the request's JWS for each of the HTTP requests, the "
                 "order and authorization rows and their audit, the "
                 "validation's HTTP fetch. The rest of the difference in "
                 "latency is the client's round trips and its polling of "
                 "the challenge." % (min(extra), max(extra)))
        L.append("")
    report_ocsp(R, cfg, L)
    growth.report(R.get("growth"), cfg, sys.modules[__name__], L)
    if R.get("growth_plots"):
        L.append("![issuance against store size](%s) "
                 "![search p99 against store size](%s)" %
                 tuple(R["growth_plots"]))
        L.append("")
    tg = evaluate_targets(R)
    if tg:
        L.append("### Targets (issue 5)")
        L.append("")
        L.append("| target | required | measured | verdict |")
        L.append("|---|---|---|---|")
        for t in tg:
            L.append("| %s | %s | %s | %s |" % t)
        L.append("")
    if R.get("plots"):
        L.append("![certificates per second](%s) ![p99 latency](%s)" %
                 tuple(R["plots"]))
        L.append("")
    return "\n".join(L)


GNUPLOT = """\
set terminal pngcairo size 1100,560 enhanced
set datafile separator ","
set datafile missing "NaN"
set grid
set lmargin at screen 0.10
set rmargin at screen 0.64
set key at screen 0.66, screen 0.88 left top Left reverse box samplen 3 spacing 1.3 width -1
set logscale x 2
set xrange [0.8:{xmax}]
set xtics ({xtics})
set xlabel "concurrent clients (wrk connections, keep-alive)"

set output "{out_rate}"
set title "Issuance rate, P-256 CA and CSRs ({machine})"
set ylabel "certificates / s"
set yrange [0:*]
plot {rate_plots}

set output "{out_p99}"
set title "Issuance p99 latency ({machine})"
set ylabel "p99 latency, ms (log scale)"
set logscale y 10
set yrange [*:*]
plot {p99_plots}
"""


def plots(R, out_dir):
    med = R.get("issue_med")
    if not med or not shutil.which("gnuplot"):
        return None
    concs = sorted({m["conc"] for m in med})
    tg = [t for t in TARGET_LABEL if any(m["target"] == t for m in med)]
    dat = os.path.join(out_dir, "issuance-plot.csv")
    idx = {(m["target"], m["conc"]): m for m in med}
    with open(dat, "w") as f:
        for c in concs:
            vals = [str(c)]
            for t in tg:
                m = idx.get((t, c))
                vals.append("%.1f" % m["certs_per_s"] if m else "NaN")
            for t in tg:
                m = idx.get((t, c))
                vals.append("%.2f" % m["p99_ms"] if m else "NaN")
            f.write(",".join(vals) + "\n")
    styles = {"mica-https": 'lw 3 pt 7 lc rgb "#1f4e9a"',
              "mica-http": 'lw 2 pt 5 lc rgb "#4d8fd6" dt 4',
              "cfssl-certdb": 'lw 3 pt 9 lc rgb "#c0392b"',
              "cfssl-nodb": 'lw 2 pt 11 lc rgb "#e59866" dt 4'}
    rate = []
    p99 = []
    for i, t in enumerate(tg):
        rate.append('"%s" using 1:%d with linespoints %s title "%s"' %
                    (dat, 2 + i, styles[t], TARGET_LABEL[t]))
        p99.append('"%s" using 1:%d with linespoints %s title "%s"' %
                   (dat, 2 + len(tg) + i, styles[t], TARGET_LABEL[t]))
    ceil = R.get("ceiling", {}).get("p256", {}).get("ceiling_per_s")
    if ceil:
        rate.append('%f with lines lw 2 dt 2 lc rgb "#333333" '
                    'title "ceiling, %d cores: %.0f/s"' %
                    (ceil, R["machine"]["cores"], ceil))
        rate.append('%f with lines lw 1 dt 3 lc rgb "#333333" '
                    'title "target: 85%% of ceiling"' % (0.85 * ceil))
    p99.append('25 with lines lw 1 dt 3 lc rgb "#333333" '
               'title "target at 8 clients: 25 ms"')
    out_rate = os.path.join(out_dir, "issuance-rate.png")
    out_p99 = os.path.join(out_dir, "issuance-p99.png")
    machine = "%d cores, %s" % (R["machine"]["cores"],
                                re.sub(r"\s+", " ", R["machine"]["cpu"])[:40])
    script = GNUPLOT.format(
        xmax=max(concs) * 1.25,
        xtics=", ".join(str(c) for c in concs),
        out_rate=out_rate, out_p99=out_p99, machine=machine.replace('"', ""),
        rate_plots=", \\\n     ".join(rate),
        p99_plots=", \\\n     ".join(p99))
    gp = os.path.join(out_dir, "issuance-plot.gp")
    with open(gp, "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if r.returncode != 0:
        warn("gnuplot failed: " + r.stderr[-800:])
        return None
    return ["issuance-rate.png", "issuance-p99.png"]


# ---------------------------------------------------------------- main --

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="reduced run (about 2-3 minutes)")
    ap.add_argument("--mica", required=True, help="the mica binary")
    ap.add_argument("--ceiling", required=True, help="the ceiling binary")
    ap.add_argument("--bulkload", required=True, help="the bulkload binary")
    ap.add_argument("--out", required=True, help="results directory")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help="comma-separated sections: " + ",".join(SECTIONS))
    ap.add_argument("--runs", type=int, help="runs per figure (>= 3)")
    ap.add_argument("--growth-sizes", metavar="LIST",
                    help="store sizes of the growth section, e.g. "
                    "0,100k,1M,10M (the default; --quick 0,10k,100k)")
    ap.add_argument("--ocsp-pass-sizes", metavar="N[,N...]",
                    help="store sizes of the OCSP refresh/publication "
                    "passes (default 100000,1000000; --quick 2000,10000)")
    ap.add_argument("--stall-signers", type=int, metavar="N",
                    help="the stall section's daemon runs with --signers N "
                    "(default: mica's, one per core); 1 is what a "
                    "one-core machine gets")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory")
    ap.add_argument("--wait-quiet", type=int, default=0, metavar="SECONDS",
                    help="wait up to SECONDS for the 1-minute load "
                    "average to fall below 1.0")
    a = ap.parse_args()
    cfg = dict(QUICK if a.quick else FULL)
    cfg.update(growth.CFG_QUICK if a.quick else growth.CFG_FULL)
    if a.growth_sizes:
        try:
            cfg["growth_sizes"] = growth.parse_sizes(a.growth_sizes)
        except ValueError as e:
            ap.error(str(e))
    if a.runs:
        cfg["runs"] = a.runs
    if a.stall_signers is not None:
        if not 1 <= a.stall_signers <= 16:
            ap.error("--stall-signers wants a number from 1 to 16")
        cfg["stall_signers"] = a.stall_signers
    if a.ocsp_pass_sizes:
        try:
            cfg["ocsp_pass"] = [int(x) for x in a.ocsp_pass_sizes.split(",")]
        except ValueError:
            ap.error("--ocsp-pass-sizes wants numbers separated by commas")
        if any(x < 2 or x > 20000000 for x in cfg["ocsp_pass"]):
            ap.error("--ocsp-pass-sizes: each from 2 to 20000000")
    only = [s.strip() for s in a.only.split(",") if s.strip()]
    for s in only:
        if s not in SECTIONS + EXTRA_SECTIONS:
            ap.error("unknown section %s" % s)
    for tool in ("wrk", "cfssl", "nginx", "openssl", "/usr/bin/time"):
        if not shutil.which(tool):
            raise BenchError("%s is missing (scripts/bench installs it)" %
                             tool)
    mica = os.path.abspath(a.mica)
    os.makedirs(a.out, exist_ok=True)

    if a.wait_quiet:
        deadline = time.monotonic() + a.wait_quiet
        while loadavg() >= 1.0 and time.monotonic() < deadline:
            say("load average %.2f; waiting for a quiet moment" % loadavg())
            time.sleep(15)
    if loadavg() >= 1.0:
        warn("load average is %.2f: other work shares these cores, the "
             "figures will be noisier" % loadavg())

    work = tempfile.mkdtemp(prefix="mica-bench.")
    atexit.register(stop_all)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda *x: sys.exit(130))
    R = {"machine": machine_info(mica)}
    t_start = time.monotonic()
    srv = None
    try:
        if "ceiling" in only or "issue" in only:
            R["ceiling"] = bench_ceiling(cfg, a.ceiling)
            write_csv(os.path.join(a.out, "ceiling.csv"),
                      list(R["ceiling"].values()))
        need_csr = any(s in only for s in ("issue", "opensslca", "profile",
                                            "stall", "growth"))
        need_srv = any(s in only for s in ("issue", "get", "startup",
                                            "profile"))
        if need_csr:
            csr_dir, mica_bodies, cfssl_bodies = make_csr_pool(
                work, max(cfg["csr_pool"], cfg["openssl_ca_n"]))
        peer_crt, peer_key = make_peer_ca(work)
        with_mica = mica_serve_available(mica)
        if not with_mica:
            warn("'mica serve' is not built into %s: skipping the daemon's "
                 "figures" % mica)
        if need_srv:
            srv = Servers(work, mica, peer_crt, peer_key, with_mica)
            srv.start()
            R["idle"] = dict(srv.idle)
            R["idle_anon"] = dict(srv.idle_anon)
            R["idle_tree"] = dict(srv.idle_tree)
        if "issue" in only:
            c256 = R["ceiling"]["p256"]
            ceil = c256["ceiling_per_s"]
            crypto_ms = (c256["verify_us"] + c256["sign_us"]) / 1000.0
            R["crypto_ms"] = crypto_ms
            R["sign_ms"] = c256["sign_us"] / 1000.0
            rows = bench_issue(cfg, srv, srv.targets(mica_bodies,
                                                      cfssl_bodies), ceil,
                               a.ceiling)
            write_csv(os.path.join(a.out, "issuance-runs.csv"), rows)
            R["machine"]["load_issue_max"] = max(r["load1"] for r in rows)
            R["issue_med"] = issue_medians(rows)
            write_csv(os.path.join(a.out, "issuance.csv"), R["issue_med"])
            R["peaks"], R["peaks_anon"], R["peaks_tree"] = {}, {}, {}
            for m in R["issue_med"]:
                p = "mica" if m["target"].startswith("mica") else m["target"]
                R["peaks"][p] = max(R["peaks"].get(p, 0), m["peak_rss_kb"])
                R["peaks_anon"][p] = max(R["peaks_anon"].get(p, 0),
                                         m["peak_anon_kb"])
                R["peaks_tree"][p] = max(R["peaks_tree"].get(p, 0),
                                         m["peak_tree_kb"])
        if "profile" in only and srv and srv.mica_proc:
            bench_profile(cfg, a.out, srv, mica_bodies)
        if "opensslca" in only:
            rows = bench_openssl_ca(cfg, work, csr_dir, peer_crt, peer_key)
            write_csv(os.path.join(a.out, "openssl-ca-runs.csv"), rows)
            R["osslca_med"] = dict(
                certs_per_s=median([r["certs_per_s"] for r in rows]),
                p50_ms=median([r["p50_ms"] for r in rows]),
                p99_ms=median([r["p99_ms"] for r in rows]))
        if "get" in only and srv and srv.mica_proc:
            rows = bench_get(cfg, work, srv)
            write_csv(os.path.join(a.out, "download-runs.csv"), rows)
            R["get_med"] = get_medians(rows)
            write_csv(os.path.join(a.out, "download.csv"), R["get_med"])
            R["get_peak"] = {"mica": max(m["peak_rss_kb"]
                                         for m in R["get_med"])}
        if srv:
            srv.stop()
        if "startup" in only and srv and with_mica:
            R["startup"] = bench_startup(cfg, srv)
            write_csv(os.path.join(a.out, "startup.csv"), R["startup"])
        if "crl" in only:
            rows = bench_crl(cfg, work, mica, a.bulkload, peer_crt, peer_key,
                             with_mica)
            write_csv(os.path.join(a.out, "crl-runs.csv"), rows)
            R["crl_med"] = crl_medians(rows)
            write_csv(os.path.join(a.out, "crl.csv"), R["crl_med"])
        if "stall" in only and with_mica:
            rows = bench_stall(cfg, work, mica, a.bulkload, mica_bodies)
            write_csv(os.path.join(a.out, "stall-runs.csv"), rows)
            R["stall"] = stall_medians(rows)
            R["stall_signers"] = cfg.get("stall_signers")
        mem = []
        for p in ("mica", "cfssl-certdb", "cfssl-nodb"):
            if p in R.get("idle", {}):
                mem.append(dict(process=p, idle_rss_kb=R["idle"].get(p),
                                idle_anon_kb=R.get("idle_anon", {}).get(p),
                                idle_tree_kb=R.get("idle_tree", {}).get(p),
                                peak_issuance_kb=R.get("peaks", {}).get(p,
                                                                        ""),
                                peak_issuance_tree_kb=R.get(
                                    "peaks_tree", {}).get(p, ""),
                                peak_anon_issuance_kb=R.get(
                                    "peaks_anon", {}).get(p, ""),
                                peak_download_kb=R.get("get_peak",
                                                       {}).get(p, "")))
        write_csv(os.path.join(a.out, "memory.csv"), mem)
        if "acme" in only and with_mica:
            rows = bench_acme(cfg, work, mica)
            write_csv(os.path.join(a.out, "acme-runs.csv"), rows)
            R["acme_med"] = acme_medians(rows)
            write_csv(os.path.join(a.out, "acme.csv"), R["acme_med"])
        if "ocsp" in only and with_mica:
            rows = bench_ocsp(cfg, work, mica, peer_crt, peer_key)
            write_csv(os.path.join(a.out, "ocsp-runs.csv"), rows)
            R["ocsp_med"] = ocsp_medians(rows)
            write_csv(os.path.join(a.out, "ocsp.csv"), R["ocsp_med"])
        if ("ocsp" in only or "ocspmem" in only) and with_mica:
            R["ocsp_mem"] = bench_ocsp_memory(cfg, work, mica, a.bulkload)
            write_csv(os.path.join(a.out, "ocsp-memory.csv"), R["ocsp_mem"])
        if ("ocsp" in only or "ocspmem" in only or "ocsppass" in only) \
                and with_mica:
            R["ocsp_pass"] = bench_ocsp_passes(cfg, work, mica, a.bulkload)
            write_csv(os.path.join(a.out, "ocsp-passes.csv"), R["ocsp_pass"])
        if "growth" in only and with_mica:
            R["growth"] = growth.bench_growth(cfg, sys.modules[__name__],
                                              work, mica, a.bulkload,
                                              mica_bodies,
                                              cfg["growth_sizes"])
            write_csv(os.path.join(a.out, "growth.csv"), R["growth"])
            R["growth_plots"] = growth.plots(
                R["growth"], "%d cores, %s" % (
                    R["machine"]["cores"],
                    re.sub(r"\s+", " ", R["machine"]["cpu"])[:40]),
                sys.modules[__name__], a.out)
        R["machine"]["load_end"] = loadavg()
        R["plots"] = plots(R, a.out)
        md = report(R, cfg, a.quick)
        md += "\n(%s run took %.0f s.)\n" % ("quick" if a.quick else "full",
                                            time.monotonic() - t_start)
        # Only a run of every section is "the latest"; a partial run
        # leaves it alone.
        name = ("latest.md" if set(SECTIONS) <= set(only) else
                "partial.md")
        with open(os.path.join(a.out, name), "w") as f:
            f.write(md)
        with open(os.path.join(a.out, "machine.json"), "w") as f:
            json.dump(R["machine"], f, indent=1)
        print(md)
        return 0
    finally:
        stop_all()
        if a.keep:
            say("work directory kept: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print("bench: " + str(e), file=sys.stderr)
        sys.exit(1)
