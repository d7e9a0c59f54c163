# tests/e2e/lib.sh - shared helpers of the end-to-end scripts (sourced).
# Provides: MICA, TMP (removed on exit), mktmp, free_port, ok/fail/check,
# expect_rc, db_dump, finish. Scripts run under 'make check' with MICA_BIN
# set, or by hand: MICA_BIN=./mica sh tests/e2e/cli.sh
set -u

MICA=${MICA_BIN:-$(pwd)/mica}
[ -x "$MICA" ] || { echo "mica binary not found at $MICA" >&2; exit 99; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mica-e2e.XXXXXX")
# MICA_VALGRIND=1 runs every mica invocation under valgrind's leak checker
# (scripts/valgrind-e2e): a leak or memory error makes that command fail
# with exit 42, which the checks report.
if [ "${MICA_VALGRIND:-0}" = 1 ]; then
	_real=$MICA
	MICA=$TMP/mica-vg
	cat > "$MICA" <<VG
#!/bin/sh
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=42 --log-fd=9 "$_real" "\$@" 9>>"$TMP/valgrind.log"
VG
	chmod +x "$MICA"
fi
PASS=0
FAIL=0
_CLEANUP=""

_on_exit() {
	for pid in $_CLEANUP; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap _on_exit EXIT
trap 'exit 130' INT TERM

# Register a PID to be killed at exit.
on_exit_kill() { _CLEANUP="$_CLEANUP $1"; }

mktmp() { mktemp -d "$TMP/d.XXXXXX"; }

die() { echo "FATAL: $*" >&2; exit 99; }

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
fail() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: pass if the command succeeds.
check() {
	d=$1; shift
	if "$@" >"$TMP/check.out" 2>&1; then ok "$d"; else fail "$d"; sed 's/^/    /' "$TMP/check.out" | head -20; fi
}

# expect_rc DESCRIPTION RC COMMAND...: pass if the command exits with RC.
expect_rc() {
	d=$1; want=$2; shift 2
	"$@" >"$TMP/rc.out" 2>"$TMP/rc.err"
	got=$?
	if [ "$got" = "$want" ]; then ok "$d"; else fail "$d (exit $got, wanted $want)"; sed 's/^/    /' "$TMP/rc.err" | head -5; fi
}

# A free TCP port on loopback.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Dump of a mica database, for "nothing changed" comparisons.
db_dump() { sqlite3 "$1/mica.db" .dump; }

finish() {
	if [ -s "$TMP/valgrind.log" ]; then
		fail "valgrind found leaks or memory errors:"; sed 's/^/    /' "$TMP/valgrind.log" | head -40
	fi
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
