#!/bin/bash
# tests/e2e/clock_step.sh - the wall clock steps (a virtual machine resumed,
# NTP) while the daemon signs a certificate: between the moment the front
# end dates the certificate and the moment a signer process checks that
# date against its own "now".
#
# The daemon runs under libfaketime with FAKETIME=% (its wall clock, the
# signers' too, is the modification time of $CLK: see time_jumps.sh), and
# a test gate (util/fault.h, MICA_TEST_LEAF_SIGN_GATE; a build with
# --enable-fault-injection) holds the issuance after its certificate is
# built, before it goes to a signer. The clock is moved three days on
# there, then the issuance goes on. Checked:
#   - the client gets 503 clock_stepped (it was 422 signer_refused, which
#     tells a client that its request is wrong and not to send it again);
#   - nothing was recorded: no certificate row left, the one-use token's
#     use given back;
#   - the same request made again gets its certificate (201).
SRC=${MICA_SRCDIR:-$(dirname "$0")/../..}
. "$SRC/tests/e2e/lib.sh"
. "$SRC/tests/tools/host_lib.sh"

need curl openssl python3 sqlite3
fault_injection_built || skip_all "needs a build with --enable-fault-injection"
W=$(mktmp)
HOST_W=$W
FTLIB=$(faketime_lib)
[ -n "$FTLIB" ] || skip_all "needs libfaketime (Debian: faketime)"
ASAN_FT="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

CLK=$W/clock
R0=$(date +%s)
set_clock() { touch -d "@$1" "$CLK" || die "touch $CLK"; }
G=$W/gate

D=$W/ca
host_ca "$D"
T=$("$MICA" -d "$D" token create --enroll --uses 1 2>/dev/null) || die "token create"
TID=${T#mica_}
TID=${TID%%_*}
set_clock "$R0"
touch "$G"   # open while the daemon starts (it signs its own certificate)
host_serve "$W/out" "$D" "LD_PRELOAD=$FTLIB" FAKETIME=% "FAKETIME_FOLLOW_FILE=$CLK" \
	FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 "$ASAN_FT" \
	"MICA_TEST_LEAF_SIGN_GATE=$G" -- --threads 2 --log "$W/log" ||
	{ cat "$W/out.err"; die "mica serve did not start"; }
wait_for "the HTTP listener" 30 curl -fsS --max-time $((5 * TIME_SCALE)) "$H/healthz" || die "no /healthz"

rows() { host_sql "$D" "SELECT count(*) FROM certificate"; }
uses() { host_sql "$D" "SELECT uses_left FROM token WHERE id = '$TID'"; }
ROWS0=$(rows)

# Hold the next issuance at the gate, step the clock, let it go.
rm -f "$G" "$G.reached"
host_csr step step.contoso.test
host_enroll "$H" "$T" "$W/step.der" &
EPID=$!
wait_for "the issuance at the gate" 30 test -s "$G.reached" || fail "the issuance never reached the gate"
set_clock $((R0 + 3 * 86400))
touch "$G"
wait "$EPID"
# host_enroll ran in a subshell: its status from the headers it kept.
CODE=$(sed -n 's/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$W/hdr" | tail -1)
is "a clock step between dating and signing: 503" "$CODE" 503
is "... clock_stepped" "$(json_get "$W/body" error)" clock_stepped
is "... nothing recorded" "$(rows)" "$ROWS0"
is "... the token's use given back" "$(uses)" 1

# The same request again, at the new time.
host_enroll "$H" "$T" "$W/step.der"
is "the same request made again gets its certificate" "$CODE" 201
is "... which used the token" "$(uses)" 0
host_stop
is "the daemon stops cleanly" "$HOST_RC" 0

host_sanitizers "$W/out.err"
finish
