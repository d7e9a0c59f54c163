#!/bin/bash
# End-to-end: the daemon's OCSP pre-signing gives way to issuance
# (web/ocsp.c). Each new certificate's response is signed ahead of time by
# a background thread; while the daemon is issuing, that signing waits for
# a pause (at most REFRESH_DEFER_MS, 20 s), except for a revocation, and
# past that deadline it is signed in paced batches while issuance goes on.
#
# A fault-injection build lets the test set the pause that counts as quiet
# (MICA_TEST_OCSP_QUIET_MS: 10 s here, so that a slow loop of issuances
# keeps the daemon "issuing" even on a busy machine) and the deadline
# (MICA_TEST_OCSP_DEFER_MS), and notes why each wait ended
# (MICA_TEST_OCSP_NOTE=P: a line in P.quiet, P.revoked or P.deadline).
# Checked:
#   - a certificate issued alone: its response is signed once the daemon
#     has been quiet, after a wait that ended for that reason;
#   - while a loop issues certificates: a new certificate's response is not
#     signed (it stays marked) for several seconds, yet `openssl ocsp`
#     asking for it meanwhile is answered good (signed on demand) and
#     verifies;
#   - a revocation while the loop issues: its revoked response is signed
#     within seconds, for that reason (not a pause, not the deadline);
#   - once the loop stops, every mark is signed (quiet);
#   - with a 4 s deadline and the loop running on: the responses are
#     signed while certificates are still being issued.
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/ocsp_defer.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3 sqlite3

W=$(mktmp)
D=$W/ca
need_fault_hook "test settings"

serve_start "$W/s1.out" "$D" -- --domain example.test || serve_failed "$W/s1.out"
serve_facts "$W/s1.out" "$W"
AUTH=(-H "Authorization: Bearer $ADM")
ET=$(enroll_token "$S" "$ADM" -1)
[ -n "$ET" ] || die "no enrollment token"
serve_stop
is "the first daemon stops cleanly" "$SERVE_RC" 0

q() { sqlite3 "$D/mica.db" "$1"; }
presigned() { # SERIAL [STATUS]: a pre-signed response is stored
	[ "$(q "SELECT count(*) FROM ocsp_response WHERE serial = '$1'${2:+ AND status = $2}")" = 1 ]
}
marked() { [ "$(q "SELECT count(*) FROM ocsp_dirty WHERE serial = '$1'")" = 1 ]; }
unmarked() { [ "$(q 'SELECT count(*) FROM ocsp_dirty')" = 0 ]; }   # none at all
N=0
issue() { # NAME-PREFIX: one issuance over HTTPS; prints the new serial
	N=$((N + 1))
	[ "$(enroll_leaf "$S" "$ET" "$1$N.example.test" "$W/leaf-$1$N")" = 201 ] || return 1
	serial_of "$W/leaf-$1$N.pem"
}

# The loop: issues one certificate after another until $W/loop.stop
# exists, each serial a line of $W/loop.serials (and its PEM kept).
loop_start() {
	rm -f "$W/loop.stop" "$W/loop.serials"
	: >"$W/loop.serials"
	(
		k=0
		while [ ! -e "$W/loop.stop" ]; do
			k=$((k + 1))
			c=$(enroll_leaf "$S" "$ET" "loop$LOOPS-$k.example.test" "$W/loop$LOOPS-$k")
			[ "$c" = 201 ] && serial_of "$W/loop$LOOPS-$k.pem" >>"$W/loop.serials"
		done
	) &
	LOOP_PID=$!
	on_exit_kill "$LOOP_PID"
}
loop_stop() {
	touch "$W/loop.stop"
	wait "$LOOP_PID" 2>/dev/null
	on_exit_forget "$LOOP_PID"
}
loop_count() { wc -l <"$W/loop.serials"; }
loop_has() { [ "$(loop_count)" -ge "$1" ]; }
LOOPS=0
NOTE=$W/note
start() { # DEFER_MS
	serve_start "$W/s$((LOOPS + 2)).out" "$D" "MICA_TEST_OCSP_NOTE=$NOTE" \
		"MICA_TEST_OCSP_QUIET_MS=10000" "MICA_TEST_OCSP_DEFER_MS=$1" -- ||
		serve_failed "$W/s$((LOOPS + 2)).out"
}

# ------------------------------------------------------------- quiet --
echo "# a certificate issued alone"
start 600000
A=$(issue alone) || die "issuance failed"
check "the new certificate is marked for pre-signing" marked "$A"
wait_for "A's pre-signed response" 60 presigned "$A" 1 &&
	ok "a certificate issued alone: its response is pre-signed" ||
	fail "a certificate issued alone: no pre-signed response"
check "... after a wait that a pause ended" test -s "$NOTE.quiet"

# ------------------------------------------------------ while issuing --
echo "# while a loop issues certificates"
LOOPS=1
rm -f "$NOTE".*
loop_start
wait_for "the loop's first certificate" 60 loop_has 1 ||
	die "the loop issued nothing"
B=$(head -1 "$W/loop.serials")
# Given five seconds (two polls of the refresh, and its signing), the
# response must still wait, the loop still issuing.
early=
wait_for "B's response (it must not come)" 5 presigned "$B" 2>/dev/null && early=1
is "while certificates are issued, a new one's response is not pre-signed" "${early:-no}" no
check "... it stays marked" marked "$B"
check "... and the loop was issuing meanwhile" kill -0 "$LOOP_PID"
cp "$W/loop1-1.pem" "$W/b.pem"
openssl ocsp -issuer "$W/root.pem" -cert "$W/b.pem" -url "$H/ocsp" -CAfile "$W/root.pem" \
	-no_nonce -timeout $((20 * TIME_SCALE)) >"$W/b.ocsp" 2>&1
check "an OCSP request meanwhile is answered good (signed on demand)" \
	grep -q "^$W/b.pem: good" "$W/b.ocsp"
check "... and verifies against the root" grep -q "^Response verify OK" "$W/b.ocsp"

echo "# a revocation while the loop issues"
C1=$(loop_count)
code=$(curl -sk -o "$W/rev.json" -w '%{http_code}' -X POST "${AUTH[@]}" \
	-H 'Content-Type: application/json' -d '{"reason":"keyCompromise"}' \
	"$S/api/v1/certificates/$A/revoke")
is "POST revoke of the lone certificate" "$code" 200
wait_for "A's revoked response" 30 presigned "$A" 2 &&
	ok "a revocation is pre-signed while issuance goes on" ||
	fail "the revocation's response was not signed while issuing"
check "... because it is a revocation (not a pause, not the deadline)" test -s "$NOTE.revoked"
check "... no pause came" test ! -e "$NOTE.quiet"
check "... no deadline came" test ! -e "$NOTE.deadline"
# (The loop spawns openssl and curl for each certificate: on a busy
# machine the revocation can be signed before its next one, so wait.)
wait_for "the loop's next certificate" 30 loop_has "$((C1 + 1))" &&
	ok "... and the loop goes on issuing" ||
	fail "... the loop issued nothing more after the revocation"

echo "# the loop stops"
loop_stop
# The revocation's pass signs every mark it finds, the loop's too; on a
# slow machine the loop may issue nothing after it. One more certificate
# makes sure there is work left that only a pause lets through.
Z=$(issue after) || die "issuance failed"
wait_for "every mark signed" 60 unmarked &&
	ok "once issuance pauses, every new certificate's response is pre-signed" ||
	fail "marks left after issuance stopped: $(q 'SELECT count(*) FROM ocsp_dirty')"
check "... the loop's first certificate among them" presigned "$(head -1 "$W/loop.serials")" 1
check "... the loop's last too" presigned "$(tail -1 "$W/loop.serials")" 1
check "... and the one issued after it" presigned "$Z" 1
check "... after a pause" test -s "$NOTE.quiet"
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0

# ---------------------------------------------------------- deadline --
echo "# a 4 s deadline, the loop issuing on"
LOOPS=2
rm -f "$NOTE".*
start 4000
loop_start
wait_for "the loop's first certificate" 60 loop_has 1 ||
	die "the loop issued nothing"
E=$(head -1 "$W/loop.serials")
wait_for "E's pre-signed response" 60 presigned "$E" 1 &&
	ok "past the deadline, responses are signed while issuance goes on" ||
	fail "past the deadline, nothing was signed"
check "... because the deadline passed" test -s "$NOTE.deadline"
check "... not a pause" test ! -e "$NOTE.quiet"
C2=$(loop_count)
wait_for "a further issuance" 60 loop_has $((C2 + 1)) &&
	ok "... and issuance went on" || fail "the loop stopped issuing"
loop_stop
wait_for "every mark signed" 60 unmarked &&
	ok "then every mark is signed" || fail "marks left: $(q 'SELECT count(*) FROM ocsp_dirty')"
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0
check "the log names no failure" sh -c "! grep -q 'pre-signing failed' '$W'/s*.out.err"

finish
