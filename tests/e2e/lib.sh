# tests/e2e/lib.sh - shared helpers of the end-to-end scripts (sourced by
# bash). Provides: MICA, TMP (removed on exit), mktmp, free_port,
# on_exit_kill/on_exit_forget, ok/fail/skip/skip_all/check/checkv/is, need,
# expect_rc, wait_for, json_get, enroll_leaf, db_dump, finish,
# s_server_start/s_server_stop (openssl s_server on a free port),
# and `mica serve` on loopback: serve_ports, serve_start, serve_wait,
# serve_stop, serve_facts, serve_failed (see below). Scripts run under 'make check' with
# MICA_BIN set, or by hand: MICA_BIN=./mica bash tests/e2e/cli.sh
#
# Output is TAP (automake's tap-driver.sh counts it): one "ok - ..." or
# "not ok - ..." line per check, "ok - ... # SKIP why" for a check that
# could not run (counted as a skip, never as a pass), the plan "1..N" at
# the end (finish), "1..0 # SKIP why" for a script that cannot run at all
# (skip_all), and "Bail out!" when the script dies (die). Anything else on
# standard output is commentary and must not start with "ok" or "not ok":
# indent command output, or send it to standard error.
#
# Waits: a script never sleeps a fixed time hoping that work is done. It
# waits for the condition it needs (wait_for) with a deadline generous for
# a busy machine, and fails clearly when the deadline passes. Deadlines are
# multiplied by MICA_TEST_TIME_SCALE (default 1; 10 under valgrind).
set -u

MICA=${MICA_BIN:-$(pwd)/mica}
[ -x "$MICA" ] || { echo "mica binary not found at $MICA" >&2; exit 99; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mica-e2e.XXXXXX")
# MICA_VALGRIND=1 runs every mica invocation under valgrind's leak checker
# (scripts/valgrind-e2e): a leak or memory error makes that command fail
# with exit 42, which the checks report.
if [ "${MICA_VALGRIND:-0}" = 1 ]; then
	_real=$MICA
	# What valgrind reports that is no leak (see the file).
	_supp=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/valgrind.supp
	MICA=$TMP/mica-vg
	cat > "$MICA" <<VG
#!/bin/sh
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=42 --suppressions="$_supp" --log-fd=9 "$_real" "\$@" 9>>"$TMP/valgrind.log"
VG
	chmod +x "$MICA"
	# Made now, writable by all: a check that runs mica as another user
	# (offline_root.sh's setpriv) must be able to append to it too.
	: > "$TMP/valgrind.log" && chmod 666 "$TMP/valgrind.log"
	MICA_TEST_TIME_SCALE=${MICA_TEST_TIME_SCALE:-10}
fi
TIME_SCALE=${MICA_TEST_TIME_SCALE:-1}
# Debian's python3, which scripts/setup installs with python3-cryptography,
# rather than whatever a version manager's shim earlier on the PATH picks:
# such a shim may lack the module, and costs half a second a call.
if [ -x /usr/bin/python3 ]; then
	python3() { /usr/bin/python3 "$@"; }
fi
# PYTHON3: that interpreter by its path, for a Python program started in
# the background: through the function above, $! would be a subshell of
# bash whose child is the interpreter, and killing $! (on_exit_kill, a
# test's kill) would leave the interpreter running, its sockets open.
PYTHON3=$(type -P python3)
[ -x /usr/bin/python3 ] && PYTHON3=/usr/bin/python3
# A mica built with --enable-test-kdf (scripts/test) seals the CA keys the
# tests create with 1,000 PBKDF2 iterations instead of 600,000: every CLI
# command unseals the key, and the suite runs hundreds of them. Other
# builds ignore the variable. cli.sh unsets it to check the real count.
export MICA_TEST_INSECURE_KDF_ITER=${MICA_TEST_INSECURE_KDF_ITER-1000}
# The command line's audit actor is "cli:USER", USER the effective user,
# with " (sudo NAME)" when SUDO_USER (or DOAS_USER) is set: a suite run
# through sudo records what a plain run does, CLI_ACTOR, and a check that
# wants sudo's part sets the variable itself.
unset SUDO_USER DOAS_USER
CLI_ACTOR="cli:$(id -un)"
PASS=0
FAIL=0
SKIP=0
_CLEANUP=""

_on_exit() {
	for pid in $_CLEANUP; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	free_ports_drop
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap _on_exit EXIT
trap 'exit 130' INT TERM

# Register a PID to be killed at exit.
on_exit_kill() { _CLEANUP="$_CLEANUP $1"; }

# Forget a PID registered with on_exit_kill once we have reaped it
# ourselves, so that the exit trap never signals a recycled PID.
on_exit_forget() {
	local p out=""
	for p in $_CLEANUP; do
		[ "$p" = "$1" ] || out="$out $p"
	done
	_CLEANUP=$out
}

mktmp() { mktemp -d "$TMP/d.XXXXXX"; }

# die MESSAGE: the script cannot go on; tap-driver.sh reports an error.
die() { echo "FATAL: $*" >&2; echo "Bail out! $*"; exit 99; }

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
fail() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
# skip DESCRIPTION WHY: a check that could not run here, counted as a skip.
skip() { SKIP=$((SKIP + 1)); echo "ok - $1 # SKIP $2"; }
# skip_all WHY: nothing of this script can run here; exit counted as a skip.
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# check DESCRIPTION COMMAND...: pass if the command succeeds.
check() {
	d=$1; shift
	if "$@" >"$TMP/check.out" 2>&1; then ok "$d"; else fail "$d"; sed 's/^/    /' "$TMP/check.out" | head -20; fi
}

# checkv: check, and on success show the command's one-line summary.
checkv() { local f=$FAIL; check "$@"; [ "$FAIL" != "$f" ] || sed -n '1s/^/    /p' "$TMP/check.out"; }

# is DESCRIPTION ACTUAL EXPECTED: pass if the two strings are equal.
is() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', wanted '$3'"; fi; }

# need TOOL...: die unless every TOOL is on the PATH.
need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || die "$t is required"
	done
}

# expect_rc DESCRIPTION RC COMMAND...: pass if the command exits with RC.
expect_rc() {
	d=$1; want=$2; shift 2
	"$@" >"$TMP/rc.out" 2>"$TMP/rc.err"
	got=$?
	if [ "$got" = "$want" ]; then ok "$d"; else fail "$d (exit $got, wanted $want)"; sed 's/^/    /' "$TMP/rc.err" | head -5; fi
}

# wait_for DESCRIPTION SECONDS COMMAND...: run COMMAND (quietly) until it
# succeeds; 0 then, or 1 after SECONDS (times MICA_TEST_TIME_SCALE), with
# "timed out: DESCRIPTION" on standard error. It polls every 0.05 s at
# first, backing off to 0.5 s.
wait_for() {
	local what=$1 secs=$2 pause=0.05 end
	shift 2
	end=$((SECONDS + secs * TIME_SCALE))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		if [ "$SECONDS" -ge "$end" ]; then
			echo "timed out after $((secs * TIME_SCALE)) s: $what" >&2
			return 1
		fi
		sleep "$pause"
		case $pause in 0.05) pause=0.1 ;; 0.1) pause=0.2 ;; *) pause=0.5 ;; esac
	done
}

# tap_run CMD...: run CMD (a helper in Python, say); each "ok - X" or
# "not ok - X" line it prints is a check of this script, any other line a
# comment.
tap_run() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) fail "${line#not ok - }" ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done < <("$@" 2>&1)
}

# A free TCP port for a server a test starts later, below the kernel's
# ephemeral range (32768 on): a client's socket (a flood of hundreds, in
# workers.sh, descriptors.sh and http_hardening.sh, which make check may
# run beside this test) takes its port from that range, and may otherwise
# take the port picked here before the server binds it. Checked free on
# every address (certbot's standalone server binds them all).
# Free is not enough when scripts run side by side: a port stays free
# between its pick and the bind, and between a daemon's stop and its
# restart on the same port (daemon.sh, interrupt.sh...), and another
# script could pick it then. So each port picked is claimed for this
# script in $MICA_TEST_PORTS (a file named by the port, holding this
# script's PID, made under a lock): no other script picks it while this
# one runs; the exit trap drops the claims; a claim whose script is gone
# is taken over.
# The directory is this user's alone (mode 0700, one per user id): a
# directory in /tmp shared with other users could be made beforehand by
# one of them, its claim files symlinks to a file of root's that the
# suite run as root would then overwrite, and a lock or claim file
# another user made cannot be opened (free_port printed no port at all).
# A directory that is not this user's alone, or a claim file that is not
# a plain file, is not used: the port is then only checked free, and a
# line on standard error says so.
MICA_TEST_PORTS=${MICA_TEST_PORTS:-${TMPDIR:-/tmp}/mica-e2e-ports-$EUID}
free_port() {
	python3 - "$MICA_TEST_PORTS" "$$" <<'PY'
import errno, fcntl, os, random, socket, stat, sys
d, me = sys.argv[1], sys.argv[2]
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

def note(why):
    print("# free_port: no claim in %s (%s): the port is only checked free"
          % (d, why), file=sys.stderr)

try:
    os.makedirs(d, mode=0o700, exist_ok=True)
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or \
            st.st_mode & 0o022:
        raise OSError(errno.EPERM, "not a directory of this user's alone")
    lock = os.open(os.path.join(d, ".lock"),
                   os.O_RDWR | os.O_CREAT | NOFOLLOW, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
except OSError as e:
    note(e.strerror or str(e))
    d = None

def claimed(p):
    try:
        fd = os.open(os.path.join(d, str(p)), os.O_RDONLY | NOFOLLOW)
        with os.fdopen(fd) as f:
            owner = int(f.read(32).strip() or 0)
    except (OSError, ValueError):
        return False
    if owner <= 0:
        return False
    try:
        os.kill(owner, 0)
    except OSError as e:
        return e.errno == errno.EPERM     # alive, another user's
    return True

def claim(p):
    try:
        fd = os.open(os.path.join(d, str(p)),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC | NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(me + "\n")
    except OSError as e:
        note("port %d: %s" % (p, e.strerror or e))

for _ in range(1000):
    p = random.randint(20000, 32000)
    if d is not None and claimed(p):
        continue
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", p))
    except OSError:
        continue
    finally:
        s.close()
    if d is not None:
        claim(p)
    print(p)
    break
PY
}

# free_ports_drop: drop this script's claims on the ports it picked (at exit).
free_ports_drop() {
	local f
	for f in "$MICA_TEST_PORTS"/[0-9]*; do
		[ -f "$f" ] && [ "$(cat "$f" 2>/dev/null)" = "$$" ] && rm -f "$f"
	done
	return 0
}

# s_server_start OUT ARGS...: openssl s_server -accept 127.0.0.1:PORT ARGS
# in the background on a port of free_port (S_SERVER_PORT), its output in
# OUT, its PID in S_SERVER_PID (registered with on_exit_kill); returns 0
# once it listens (it prints ACCEPT then: ARGS must not hold -quiet), 1
# if it exits first (its output in OUT). A port taken between the pick
# and the bind (by a process outside the suite) is replaced by a new one,
# five times at most: a check that reached someone else's server there
# would fail or, worse, pass for the wrong reason.
s_server_start() {
	local out=$1 try
	shift
	for try in 1 2 3 4 5; do
		S_SERVER_PORT=$(free_port)
		# Emptied before the fork: OUT may hold an earlier server's
		# ACCEPT, which the wait below would take for this one's.
		: >"$out"
		openssl s_server -accept "127.0.0.1:$S_SERVER_PORT" "$@" >"$out" 2>&1 </dev/null &
		S_SERVER_PID=$!
		on_exit_kill "$S_SERVER_PID"
		wait_for "s_server on port $S_SERVER_PORT" 30 _s_server_up "$out" ||
			die "s_server did not start: $(head -5 "$out")"
		kill -0 "$S_SERVER_PID" 2>/dev/null && return 0
		wait "$S_SERVER_PID" 2>/dev/null
		on_exit_forget "$S_SERVER_PID"
		S_SERVER_PID=
		grep -q 'Address already in use' "$out" || return 1
		echo "# s_server_start: port $S_SERVER_PORT was taken; another" >&2
	done
	return 1
}
_s_server_up() { grep -q '^ACCEPT' "$1" || ! kill -0 "$S_SERVER_PID" 2>/dev/null; }

# s_server_stop: stop that s_server (by PID) and reap it.
s_server_stop() {
	[ -n "${S_SERVER_PID:-}" ] || return 0
	kill "$S_SERVER_PID" 2>/dev/null
	wait "$S_SERVER_PID" 2>/dev/null
	on_exit_forget "$S_SERVER_PID"
	S_SERVER_PID=
}

# stored_crl DATADIR WHERE OUT: the DER of the first CRL of DATADIR's store
# that the SQL condition WHERE selects, in number order (e.g. "delta_base >
# 0 ORDER BY number DESC"), into OUT: its row's bytes, or its body kept
# beside the store (mica.db-crls/NUMBER.crl), which must match the length
# and SHA-256 its row keeps. Fails if there is none, or no intact body.
stored_crl() {
	python3 - "$1" "$2" "$3" <<'PY'
import hashlib, sqlite3, sys
d, where, out = sys.argv[1:4]
db = sqlite3.connect("file:%s/mica.db?mode=ro" % d, uri=True)
row = db.execute("SELECT number, der, body_len, body_sha256 FROM crl WHERE "
                 + where + " LIMIT 1").fetchone()
if row is None:
    sys.exit("no such CRL in the store")
n, der, ln, sha = row
if der is None:
    with open("%s/mica.db-crls/%d.crl" % (d, n), "rb") as f:
        der = f.read()
    if len(der) != ln or hashlib.sha256(der).digest() != bytes(sha):
        sys.exit("CRL %d beside the store does not match its row" % n)
with open(out, "wb") as f:
    f.write(bytes(der))
PY
}

# enroll_leaf BASE TOKEN NAME OUT: a new P-256 key (OUT.key) and CSR
# (OUT.csr) for the DNS name NAME, submitted as JSON to BASE/api/v1/requests
# with TOKEN (curl -k: a test's loopback daemon); prints the HTTP status;
# the answer in OUT.out, its certificate (if any) in OUT.pem.
enroll_leaf() {
	local base=$1 token=$2 name=$3 out=$4
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$out.key" -subj "/CN=$name" -addext "subjectAltName=DNS:$name" \
		-out "$out.csr" 2>/dev/null
	python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' \
		"$out.csr" >"$out.json"
	curl -sk -o "$out.out" -w '%{http_code}' --max-time $((30 * TIME_SCALE)) \
		-H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		--data-binary @"$out.json" "$base/api/v1/requests"
	json_get "$out.out" certificate >"$out.pem"
}

# enroll_token BASE ADMIN USES: a new enrollment token for *.example.test
# with USES uses (-1: no limit), made with POST BASE/api/v1/tokens and the
# admin token ADMIN; prints it (nothing if it was refused).
enroll_token() {
	curl -sk -o "$TMP/tok.json" -X POST -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/json' \
		-d "{\"kind\":\"enroll\",\"names\":[\"*.example.test\"],\"uses\":$3}" \
		"$1/api/v1/tokens"
	json_get "$TMP/tok.json" token
}

# fault_injection_built: whether $MICA was built with
# --enable-fault-injection (MICA_FAULT, the test gates and settings). The
# probe makes a CA of its own (the command must be able to succeed: on a
# directory with no CA it fails in every build), checks that a store
# write succeeds there, then that MICA_FAULT aimed at it makes it fail.
fault_injection_built() {
	local d
	d=$(mktmp)/probe
	env -u MICA_PASSPHRASE "$MICA" -d "$d" init --name "Probe CA" \
		--domain probe.test --public-url http://127.0.0.1:1 >/dev/null 2>&1 ||
		die "fault_injection_built: mica init failed"
	"$MICA" -d "$d" token create --admin >/dev/null 2>&1 ||
		die "fault_injection_built: 'mica token create' failed without a fault"
	! MICA_FAULT=db_write:1 "$MICA" -d "$d" token create --admin >/dev/null 2>&1
}

# faketime_lib: the path of libfaketime to LD_PRELOAD (the multi-threaded
# one where there is one: the daemon has threads), or nothing when it is
# not installed.
faketime_lib() {
	local f
	for f in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1 \
		/usr/local/lib/faketime/libfaketimeMT.so.1 /usr/lib/*/faketime/libfaketime.so.1; do
		[ -e "$f" ] && { printf '%s\n' "$f"; return 0; }
	done
	return 0
}

# hold_flock ex|sh PATH: take an flock on PATH (a file or a directory)
# and hold it until killed; run it in the background and kill $! to let
# go. The holder is this very process (exec), so that /proc/locks names
# $! and killing it frees the lock at once - flock(1) COMMAND would leave
# its COMMAND holding the lock after flock itself is killed.
hold_flock() {
	exec python3 -c '
import fcntl, os, signal, sys
fd = os.open(sys.argv[2], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX if sys.argv[1] == "ex" else fcntl.LOCK_SH)
while True:
    signal.pause()
' "$1" "$2"
}

# need_fault_hook WHAT: skip the whole script unless $MICA has the test
# hooks of --enable-fault-injection; WHAT names the ones it needs.
need_fault_hook() {
	fault_injection_built ||
		skip_all "this mica was built without --enable-fault-injection (no $1)"
}

# serial_of PEM: the certificate's serial, lowercase hex as mica writes it.
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }

# call METHOD URL [curl options...]: one request, trusting $W/root.pem;
# its status in $CODE, its body in $W/body, its header in $W/hdr. A
# request that fails outright (refused, timed out) leaves CODE 000.
call() {
	local m=$1 u=$2
	shift 2
	CODE=$(curl -s --max-time $((30 * TIME_SCALE)) --cacert "$W/root.pem" -X "$m" -D "$W/hdr" \
		-o "$W/body" -w '%{http_code}' "$@" "$u") || true
}

# json_get FILE PATH: the JSON value at PATH ("a.b.0") in FILE; "" for null,
# absent, or a file that is not JSON; lists, objects and booleans as JSON.
json_get() {
	python3 - "$1" "$2" <<'PY'
import json, sys
try:
    v = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split('.'):
        v = v[int(k)] if isinstance(v, list) else v.get(k)
        if v is None:
            break
except Exception:
    v = None
if isinstance(v, (list, dict, bool)):
    v = json.dumps(v)
sys.stdout.write('' if v is None else str(v))
PY
}

# ---------------------------------------------------------- mica serve --
#
# serve_ports: free loopback ports for the daemon, HP (HTTP) and SP
# (HTTPS, distinct from HP), each picked only if not set yet, so that a
# restarted daemon listens where its clients and its --public-url expect it;
# H and S are their base URLs.
#
# serve_start OUT DIR [VAR=VALUE...] -- [serve options...]
#   Starts `$MICA -d DIR serve` in the background (stdout to OUT, stderr to
#   OUT.err), with MICA_PASSPHRASE removed from its environment and the
#   VAR=VALUE settings added (MICA_FAULT=..., LD_PRELOAD=...). Unless the
#   options give their own, it listens on --http 127.0.0.1:$HP and --https
#   127.0.0.1:$SP (serve_ports is called first). SERVE_PID is its PID,
#   registered with on_exit_kill.
#   Then it waits for the end of the start-up: the daemon prints "http: URL
#   ..." and "https: URL ..." (stdout, flushed) once its listeners run, the
#   HTTPS line after it has issued its own TLS certificate; so it waits for
#   the "https: " line (the "http: " line with --https none) and, unless
#   SERVE_HEALTHZ is 0, for $H/healthz to answer. (/healthz alone is not
#   enough: the HTTP listener answers before the HTTPS start-up, which may
#   still fail.) SERVE_HEALTHZ=0 is for tests that count the daemon's store
#   accesses or need its workers untouched: no request is made.
#   Returns 0 when the daemon is ready; 1 when it exited first (reaped, its
#   status in SERVE_RC, SERVE_PID empty); dies after SERVE_TIMEOUT seconds
#   (60, times MICA_TEST_TIME_SCALE). A daemon that exits because a port
#   this call picked (HP or SP unset before it) was taken meanwhile is
#   started again on new ones; ports the caller set are never changed.
#   Usual call: serve_start OUT DIR -- [options] || serve_failed OUT
# serve_wait   waits for that daemon to exit (once signalled), puts its exit
#              status in SERVE_RC and forgets its PID.
# serve_stop [SIGNAL]
#              sends SIGNAL (default TERM) to it, then serve_wait. Both do
#              nothing when no daemon runs (SERVE_PID empty).
SERVE_PID=
SERVE_RC=
SERVE_HEALTHZ=${SERVE_HEALTHZ:-1}
SERVE_TIMEOUT=$((${SERVE_TIMEOUT:-60} * TIME_SCALE))

serve_ports() {
	[ -n "${HP:-}" ] || HP=$(free_port)
	if [ -z "${SP:-}" ]; then
		SP=$(free_port)
		while [ "$SP" = "$HP" ]; do SP=$(free_port); done
	fi
	H=http://127.0.0.1:$HP
	S=https://127.0.0.1:$SP
}

serve_start() {
	local out=$1 dir=$2 want=https prev= a end http_set= https_set= pick=
	local envs=() addr=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		envs+=("$1")
		shift
	done
	[ "${1:-}" = "--" ] && shift
	for a in "$@"; do
		case $prev in
		--http) http_set=1 ;;
		--https) https_set=1; [ "$a" = none ] && want=http ;;
		esac
		prev=$a
	done
	# Ports picked here (not set by the caller, nor kept from an earlier
	# start) may be taken by a process outside the suite between the pick
	# and the bind: then the daemon exits at once saying so, and is
	# started again on new ones (five times at most).
	[ -n "${HP:-}" ] || pick=${pick}h
	[ -n "${SP:-}" ] || pick=${pick}s
	serve_ports
	[ -n "$http_set" ] || addr+=(--http "127.0.0.1:$HP")
	[ -n "$https_set" ] || addr+=(--https "127.0.0.1:$SP")
	# Emptied before the fork: a reused OUT would still hold the last
	# daemon's "https: " line when the loop below first reads it.
	: >"$out"
	: >"$out.err"
	env -u MICA_PASSPHRASE "${envs[@]}" "$MICA" -d "$dir" serve "${addr[@]}" "$@" \
		>"$out" 2>"$out.err" &
	SERVE_PID=$!
	SERVE_RC=
	on_exit_kill "$SERVE_PID"
	end=$((SECONDS + SERVE_TIMEOUT))
	while [ "$SECONDS" -lt "$end" ]; do
		if grep -q "^$want: " "$out" 2>/dev/null &&
			{ [ "$SERVE_HEALTHZ" = 0 ] || curl -s -o /dev/null --max-time $((10 * TIME_SCALE)) "$H/healthz"; }; then
			return 0
		fi
		if ! kill -0 "$SERVE_PID" 2>/dev/null; then
			serve_wait
			if [ "$SERVE_RC" = 8 ] && [ "${SERVE_TRIES:-1}" -lt 5 ] &&
				_serve_port_taken "$out.err" "$pick" "$http_set" "$https_set"; then
				echo "# serve_start: a port was taken before the daemon bound it; new ports" >&2
				case $pick in *h*) HP= ;; esac
				case $pick in *s*) SP= ;; esac
				SERVE_TRIES=$((${SERVE_TRIES:-1} + 1)) serve_start "$out" "$dir" "${envs[@]}" -- "$@"
				return
			fi
			return 1
		fi
		sleep 0.05
	done
	tail -5 "$out.err" >&2
	die "mica serve did not become ready within $SERVE_TIMEOUT s"
}

# _serve_port_taken ERRFILE PICK HTTP_SET HTTPS_SET: whether the daemon
# (its stderr in ERRFILE) could not bind a port that serve_start picked.
_serve_port_taken() {
	{ [ -z "$3" ] && case $2 in *h*) true ;; *) false ;; esac &&
		grep -q "cannot serve HTTP on 127.0.0.1:$HP (address in use)" "$1"; } ||
	{ [ -z "$4" ] && case $2 in *s*) true ;; *) false ;; esac &&
		grep -q "cannot serve HTTPS on 127.0.0.1:$SP (address in use)" "$1"; }
}

serve_wait() {
	[ -n "$SERVE_PID" ] || return 0
	wait "$SERVE_PID" 2>/dev/null
	SERVE_RC=$?
	on_exit_forget "$SERVE_PID"
	SERVE_PID=
	return 0
}

serve_stop() {
	[ -n "$SERVE_PID" ] || return 0
	kill -"${1:-TERM}" "$SERVE_PID" 2>/dev/null
	serve_wait
}

# serve_facts OUT DIR: after a first start (output in OUT), ADM is the
# admin token it printed and DIR/root.der, DIR/root.pem the root it serves
# at $H/ca.crt; dies if either is missing.
serve_facts() {
	ADM=$(sed -n 's/^admin token: //p' "$1")
	case $ADM in mica_*) ;; *) die "no admin token printed at first start" ;; esac
	curl -fsS -o "$2/root.der" "$H/ca.crt" || die "GET /ca.crt"
	openssl x509 -inform der -in "$2/root.der" -out "$2/root.pem" 2>/dev/null || die "/ca.crt is not DER"
}

# serve_failed OUT WHAT: the daemon (started with OUT) did not start: show
# its stderr and die.
serve_failed() {
	cat "$1.err" >&2
	die "${2:-mica serve} exited before it was ready (exit $SERVE_RC)"
}

# Dump of a mica database, for "nothing changed" comparisons. Without the
# OCSP responses a running daemon signs ahead of time on its own schedule
# (and the marks of what to re-sign, the change numbers and records of
# dropped responses, the keys walked: schema 012): they change whatever a
# test does.
db_dump() {
	sqlite3 "$1/mica.db" .dump |
		grep -v '^INSERT INTO ocsp_response VALUES\|^INSERT INTO ocsp_dirty VALUES' |
		grep -v '^INSERT INTO ocsp_seq VALUES\|^INSERT INTO ocsp_gone VALUES\|^INSERT INTO ocsp_walked VALUES'
}

# A check that calls a helper or tool that does not exist would otherwise
# count as neither ok nor failed; bash calls this (in a subshell, hence the
# file) for every command it cannot find, and finish() fails on it.
command_not_found_handle() {
	echo "$1" >> "$TMP/not-found"
	echo "lib.sh: command not found: $1" >&2
	return 127
}

finish() {
	if [ -s "$TMP/not-found" ]; then
		fail "the script ran commands that do not exist: $(sort -u "$TMP/not-found" | tr '\n' ' ')"
	fi
	if [ -s "$TMP/valgrind.log" ]; then
		fail "valgrind found leaks or memory errors:"; sed 's/^/    /' "$TMP/valgrind.log" | head -40
	fi
	echo "1..$((PASS + FAIL + SKIP))"
	echo "# $PASS passed, $FAIL failed, $SKIP skipped"
	[ "$FAIL" -eq 0 ]
}
