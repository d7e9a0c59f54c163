#!/bin/bash
# End-to-end: requests that may take seconds run on the listener's slow
# lane (web/slow.h), never on a libmicrohttpd pool thread. A pool thread
# serves many connections in turn, so a handler working on it for seconds
# (publishing a CRL of a million entries takes four) made every other
# connection on that thread wait: issuance, /crl, /healthz.
#
# The daemon runs with one pool thread per listener (--threads 1), where a
# slow handler on the pool thread would hold up every other request of that
# listener, and with the test gate of fault-injection builds:
# MICA_TEST_SLOW_GATE=PATH makes each request queued for the slow lane
# append a line to PATH.queued, and each job of the lane one to
# PATH.reached before it waits (at most a minute) for PATH to exist.
# Checked:
#   - each slow route (POST /api/v1/crl, .../revoke, .../unrevoke,
#     .../renew) reaches the lane, on HTTP and HTTPS;
#   - while it is held there, on the same listener: /healthz, the current
#     CRL and an issuance are answered, and the held request is still in
#     flight;
#   - once let go, it is answered as before: the CRL published (201, the
#     next number, then served at /crl and verified by openssl), the
#     certificate revoked (listed on the served CRL), released, renewed;
#   - a CRL is signed on a thread (mica-crl-sign) 10 nice steps below
#     the daemon's other threads, the lane's included, which store it;
#     the CRL loader runs 10 steps below too (util/thread.h); the CRL
#     goes to a signer process of its own at that priority (with
#     MICA_TEST_CRL_BG_MIN=0, which makes every CRL "large"), one for
#     every publication, and after the CRLs below it is still the one;
#     killed, it is replaced and the next publication is signed;
#   - a daemon stopped (SIGTERM) while two slow requests are held and a
#     third waits behind them: the waiting one is answered 503 with a JSON
#     error, the held ones finish with their answers once let go, and the
#     daemon exits 0.
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/slow_lane.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3

W=$(mktmp)
D=$W/ca
# The gate exists only in builds with the fault hook (util/fault.h).
need_fault_hook "test gate"

G=$W/gate
SG=$W/signgate   # open unless a check closes it (start-up may sign a CRL)
touch "$SG"
serve_start "$W/serve.out" "$D" "MICA_TEST_SLOW_GATE=$G" \
	"MICA_TEST_CRL_SIGN_GATE=$SG" MICA_TEST_CRL_BG_MIN=0 -- --threads 1 \
	--domain example.test || serve_failed "$W/serve.out"
serve_facts "$W/serve.out" "$W"
AUTH=(-H "Authorization: Bearer $ADM")
# The gate stays open while the test sets up.
touch "$G"

lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }
reached() { lines "$G.reached" "$1"; }
# hold: close the gate; the next slow requests wait at it.
hold() { rm -f "$G" "$G.reached" "$G.queued"; }
release() { touch "$G"; }

# slow NAME URL [curl args...]: the request in the background; its status
# goes to $W/NAME.code, its body to $W/NAME.body; its PID in PID_NAME.
slow() {
	local name=$1 url=$2
	shift 2
	curl -sk -o "$W/$name.body" -w '%{http_code}' --max-time $((120 * TIME_SCALE)) \
		-X POST "${AUTH[@]}" "$@" "$url" >"$W/$name.code" 2>"$W/$name.err" &
	eval "PID_$name=\$!"
	on_exit_kill "$!"
}
# finished NAME: wait for the background request NAME (not in a $(...):
# a subshell cannot wait for it); its status in CODE.
finished() {
	local pid
	eval "pid=\$PID_$1"
	wait "$pid" 2>/dev/null
	on_exit_forget "$pid"
	CODE=$(cat "$W/$1.code")
}
running() { local pid; eval "pid=\$PID_$1"; kill -0 "$pid" 2>/dev/null; }

crl_number() { # URL: the number of the CRL served there
	curl -fsS "$1" 2>/dev/null | openssl crl -inform der -noout -crlnumber 2>/dev/null |
		sed -n 's/^crlNumber=0x//p' | tr 'a-f' 'A-F' | { read -r h && echo $((16#$h)); }
}

# ------------------------------------------------------ CPU priority --
# A CRL is seconds of CPU at a million entries: the daemon signs it on a
# thread of its own (mica-crl-sign) MICA_THREAD_BACKGROUND_NICE (10) nice
# steps below its other threads, and the lane's thread, at the daemon's
# priority, stores it (ca_crl_background, util/thread.h); the loader of a
# CRL another process published (mica-crl) runs below too. The sign gate
# (MICA_TEST_CRL_SIGN_GATE) holds the signing thread while it is looked at.
echo "# CRLs are signed below the daemon's CPU priority, stored at it"
nice_of() { # /proc/PID/task/TID -> its nice value (stat's 19th field; the
	# name in parentheses may hold spaces, so count after its ')')
	sed 's/.*) //' "$1/stat" | awk '{print $17}'
}
# threads: "NAME NICE" for each of the daemon's threads (one that ends
# while it is read is left out)
threads() {
	local t name n
	for t in /proc/"$SERVE_PID"/task/*; do
		name=$(cat "$t/comm" 2>/dev/null) && n=$(nice_of "$t" 2>/dev/null) &&
			[ -n "$n" ] && echo "$name $n"
	done
}
# settled FILE: a snapshot in FILE once every long-lived thread has named
# itself (each does as it first runs, which a busy machine may delay)
settled() {
	threads >"$1"
	[ "$(grep -c '^mica-slow ' "$1")" -ge 4 ] && grep -q '^mica-crl ' "$1" &&
		grep -q '^mica-accept ' "$1"
}
base=$(nice_of "/proc/$SERVE_PID/task/$SERVE_PID")
want=$((base + 10 > 19 ? 19 : base + 10))
wait_for "the daemon's threads named" 30 settled "$W/threads.idle" ||
	echo "# threads seen: $(tr '\n' ' ' <"$W/threads.idle")"
# Two lane threads per listener (WEB_SLOW_WORKERS), HTTP and HTTPS.
is "the daemon has four slow-lane threads, at its priority" \
	"$(grep -c "^mica-slow $base\$" "$W/threads.idle")" 4
is "the CRL loader runs $want (the daemon $base)" \
	"$(grep '^mica-crl ' "$W/threads.idle")" "mica-crl $want"
is "no CRL is being signed while none is published" \
	"$(grep -c '^mica-crl-sign ' "$W/threads.idle")" 0
others=$(grep -v -e '^mica-crl ' -e "^[^ ]* $base\$" "$W/threads.idle" | tr '\n' ' ')
is "every other thread runs at the daemon's priority" "$others" ""
grep -q '^MHD-' "$W/threads.idle" && ok "the request threads (MHD-...) are among them" ||
	fail "no libmicrohttpd thread seen: $(tr '\n' ' ' <"$W/threads.idle")"

before=$(crl_number "$H/crl")
rm -f "$SG" "$SG.reached"
slow pub_nice "$H/api/v1/crl" -H 'Content-Type: application/json' -d '{}'
if wait_for "the CRL's signing thread at its gate" 30 lines "$SG.reached" 1; then
	threads >"$W/threads.pub"
	is "one thread signs the CRL, at nice $want" \
		"$(grep '^mica-crl-sign ' "$W/threads.pub" | tr '\n' ' ')" "mica-crl-sign $want "
	is "the lane's threads stay at the daemon's priority meanwhile" \
		"$(grep -c "^mica-slow $base\$" "$W/threads.pub")" 4
	code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time $((10 * TIME_SCALE)) "$H/healthz")
	is "/healthz is answered while the CRL is signed" "$code" 200
else
	fail "the publication never reached the signing thread"
fi
touch "$SG"
finished pub_nice
is "the publication is answered 201 once signed" "$CODE" 201
is "it stored the next CRL" "$(json_get "$W/pub_nice.body" number)" $((before + 1))
wait_for "the signing thread gone" 30 sh -c "! grep -qx mica-crl-sign /proc/$SERVE_PID/task/*/comm" &&
	ok "the signing thread ends with its CRL" || fail "a mica-crl-sign thread is left"
# Such a thread's CRL of CA_SIGNER_CRL_BACKGROUND_MIN bytes or more (here,
# with MICA_TEST_CRL_BG_MIN=0, any) is signed by a signer process of its
# own, started by the keeper for the first one, at that lower priority;
# the signers of certificates stay at the daemon's (ca/signer.h).
KEEPER=$(pgrep -P "$SERVE_PID" -x mica-keeper)
proc_nice() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $17}'; }
crl_signers() { pgrep -P "$KEEPER" -x mica-signer-crl; }
CS=$(crl_signers)
is "the keeper started one CRL signer (mica-signer-crl)" "$(echo "$CS" | grep -c .)" 1
if [ -n "$CS" ]; then
	is "the CRL signer runs at nice $want" "$(proc_nice "$CS")" "$want"
	# (valgrind cannot run a seccomp filter: the signers run without)
	[ "${MICA_VALGRIND:-0}" = 1 ] ||
		is "the CRL signer is confined (seccomp)" \
			"$(sed -n 's/^Seccomp:[[:space:]]*//p' "/proc/$CS/status")" 2
fi
for p in $(pgrep -P "$KEEPER" -x mica-signer); do
	is "signer $p (certificates) stays at the daemon's nice $base" "$(proc_nice "$p")" "$base"
done

# An enrollment token for the issuance done while a slow request is held.
ET=$(enroll_token "$S" "$ADM" 20)
[ -n "$ET" ] || die "no enrollment token"
N=0
issue() { # LISTENER_URL -> prints the HTTP status; certificate in $W/leafN.pem
	N=$((N + 1))
	enroll_leaf "$1" "$ET" "h$N.example.test" "$W/leaf$N"
}

# While NAME is held at the gate: the listener at URL still answers.
answered_meanwhile() {
	local name=$1 url=$2 code
	code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time $((10 * TIME_SCALE)) "$url/healthz")
	is "$name: /healthz is answered while it is held" "$code" 200
	code=$(curl -sk -o "$W/held.crl" -w '%{http_code}' --max-time $((10 * TIME_SCALE)) "$url/crl")
	is "$name: /crl is served while it is held" "$code" 200
	code=$(issue "$url")
	is "$name: a certificate is issued while it is held" "$code" 201
	running "$name" && ok "$name: it is still in flight meanwhile" ||
		fail "$name: it was answered before the gate opened (not on the slow lane?)"
}

# ------------------------------------------------------- publication --
echo "# POST /api/v1/crl, over HTTP (loopback) and HTTPS"
for L in "$H" "$S"; do
	case $L in https*) tag=https ;; *) tag=http ;; esac
	before=$(crl_number "$H/crl")
	hold
	slow "pub_$tag" "$L/api/v1/crl" -H 'Content-Type: application/json' -d '{}'
	wait_for "publication ($tag) at the gate" 30 reached 1 &&
		ok "pub_$tag: the publication runs on the slow lane" ||
		fail "pub_$tag: the publication never reached the slow lane"
	answered_meanwhile "pub_$tag" "$L"
	release
	finished "pub_$tag"
is "pub_$tag: answered 201 once let go" "$CODE" 201
	is "pub_$tag: its number is the next one" "$(json_get "$W/pub_$tag.body" number)" $((before + 1))
	# A certificate issued meanwhile changes nothing on the CRL; the CRL
	# the daemon serves is the one just published.
	wait_for "the new CRL at /crl" 30 test "$(crl_number "$H/crl")" = $((before + 1)) &&
		ok "pub_$tag: /crl serves the new CRL" || fail "pub_$tag: /crl still serves $(crl_number "$H/crl")"
done
curl -fsS -o "$W/now.crl" "$H/crl"
openssl crl -inform der -in "$W/now.crl" -CAfile "$W/root.pem" -noout 2>"$W/crl.err" &&
	ok "openssl verifies the published CRL" || { fail "openssl crl -CAfile"; sed 's/^/    /' "$W/crl.err"; }
is "after those publications the CRL signer is still the one" "$(crl_signers | tr '\n' ' ')" "$CS "
# Killed, the keeper starts another; the next publication is signed.
if [ -n "$CS" ]; then
	kill -9 "$CS"
	before=$(crl_number "$H/crl")
	code=$(curl -sk -o "$W/pub_after.json" -w '%{http_code}' --max-time $((120 * TIME_SCALE)) \
		-X POST "${AUTH[@]}" -H 'Content-Type: application/json' -d '{}' "$H/api/v1/crl")
	is "a publication after the CRL signer was killed: 201" "$code" 201
	is "... with the next number" "$(json_get "$W/pub_after.json" number)" $((before + 1))
	new_cs() { CS2=$(crl_signers) && [ -n "$CS2" ] && [ "$CS2" != "$CS" ]; }
	wait_for "another CRL signer" 30 new_cs &&
		is "the keeper started another CRL signer, at nice $want" "$(proc_nice "$CS2")" "$want" ||
		fail "no CRL signer after the last one was killed"
fi

# ------------------------------------------------ revoke and release --
echo "# revoke, unrevoke and renew"
issue "$S" >/dev/null
SER=$(openssl x509 -in "$W/leaf$N.pem" -noout -serial | cut -d= -f2)
ser=$(echo "$SER" | tr 'A-F' 'a-f')
hold
slow revoke "$S/api/v1/certificates/$ser/revoke" -H 'Content-Type: application/json' \
	-d '{"reason":"keyCompromise"}'
wait_for "the revocation at the gate" 30 reached 1 &&
	ok "revoke: the revocation runs on the slow lane" || fail "revoke: never reached the slow lane"
answered_meanwhile revoke "$S"
release
finished revoke
is "revoke: answered 200 once let go" "$CODE" 200
listed() { curl -fsS "$H/crl" | openssl crl -inform der -noout -text 2>/dev/null | grep -q "Serial Number: $SER"; }
wait_for "the revoked serial on /crl" 30 listed &&
	ok "revoke: the served CRL lists the certificate" || fail "revoke: not on the served CRL"

issue "$S" >/dev/null
SER=$(openssl x509 -in "$W/leaf$N.pem" -noout -serial | cut -d= -f2)
ser=$(echo "$SER" | tr 'A-F' 'a-f')
curl -sk -o /dev/null -X POST "${AUTH[@]}" -H 'Content-Type: application/json' \
	-d '{"reason":"certificateHold"}' "$S/api/v1/certificates/$ser/revoke"
wait_for "the held serial on /crl" 30 listed || fail "hold: not on the served CRL"
hold
slow unrevoke "$S/api/v1/certificates/$ser/unrevoke" -H 'Content-Type: application/json' -d '{}'
wait_for "the release at the gate" 30 reached 1 &&
	ok "unrevoke: the release runs on the slow lane" || fail "unrevoke: never reached the slow lane"
answered_meanwhile unrevoke "$S"
release
finished unrevoke
is "unrevoke: answered 200 once let go" "$CODE" 200
is "unrevoke: the certificate is valid again" "$(json_get "$W/unrevoke.body" status)" valid
unlisted() { ! listed; }
wait_for "the released serial off /crl" 30 unlisted &&
	ok "unrevoke: the served CRL no longer lists it" || fail "unrevoke: still on the served CRL"

# Renewal with a fresh proof of possession (docs/API.md): a nonce from
# renew-challenge in the challengePassword of a CSR of the same key.
curl -sk -o "$W/chal.json" -X POST "$S/api/v1/certificates/$ser/renew-challenge"
CH=$(json_get "$W/chal.json" challenge)
[ -n "$CH" ] || fail "renew: no challenge ($(cat "$W/chal.json"))"
printf '[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n[dn]\nCN = h%s.example.test\n[attrs]\nchallengePassword = %s\n' \
	"$N" "$CH" >"$W/renew.cnf"
openssl req -new -key "$W/leaf$N.key" -config "$W/renew.cnf" -out "$W/renew.csr" 2>/dev/null ||
	die "openssl req with a challengePassword"
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' \
	"$W/renew.csr" >"$W/renew.json"
hold
slow renew "$S/api/v1/certificates/$ser/renew" -H 'Content-Type: application/json' \
	--data-binary @"$W/renew.json"
wait_for "the renewal at the gate" 30 reached 1 &&
	ok "renew: the renewal runs on the slow lane" || fail "renew: never reached the slow lane"
answered_meanwhile renew "$S"
release
finished renew
case $CODE in
201) ok "renew: answered 201 once let go" ;;
*) fail "renew: answered $CODE: $(head -c 300 "$W/renew.body")" ;;
esac

# ------------------------------------------------ stopping meanwhile --
echo "# SIGTERM with two slow requests held and one waiting"
hold
slow stop1 "$S/api/v1/crl" -H 'Content-Type: application/json' -d '{}'
slow stop2 "$S/api/v1/crl" -H 'Content-Type: application/json' -d '{}'
wait_for "two publications at the gate" 30 reached 2 || fail "stop: the two were not both held"
slow stop3 "$S/api/v1/crl" -H 'Content-Type: application/json' -d '{}'
# The third waits behind them (the lane has two threads).
wait_for "a third publication queued" 30 lines "$G.queued" 3 || fail "stop: the third was not queued"
kill -TERM "$SERVE_PID"
finished stop3
is "stop: the waiting request is answered 503" "$CODE" 503
is "stop: with a JSON error" "$(json_get "$W/stop3.body" error)" shutting_down
running stop1 && running stop2 && ok "stop: the held ones are still in flight" ||
	fail "stop: a held request ended before it was let go"
# A new connection meanwhile is refused at once (it waited in the
# listening socket's backlog for the whole stop, then was reset).
curl -s -o /dev/null --max-time $((10 * TIME_SCALE)) "$S/healthz"
is "stop: a new connection meanwhile is refused at once (curl exit 7)" "$?" 7
release
finished stop1
is "stop: the first held publication finishes (201)" "$CODE" 201
finished stop2
is "stop: the second held publication finishes (201)" "$CODE" 201
serve_wait
is "stop: the daemon exits 0" "$SERVE_RC" 0
grep -q "POST /api/v1/crl 503" "$W/serve.out.err" &&
	ok "stop: the log has the 503" ||
	{ fail "stop: no 503 in the log; its last lines:"; tail -15 "$W/serve.out.err" | sed 's/^/    /'; }

# ------------------------------------- a connection kept open meanwhile --
# Once the daemon stops, every answer closes its connection; a slow
# request arriving on a connection kept open after the lanes stopped
# (MICA_TEST_STOP_GATE holds the stop there, before the listeners' own
# threads go) is answered 503 shutting_down at once. Before, it was
# answered "busy" without closing, or - freed lane - not at all.
echo "# SIGTERM with two connections kept open"
SG2=$W/stopgate
serve_start "$W/serve2.out" "$D" "MICA_TEST_STOP_GATE=$SG2" -- --threads 1 ||
	serve_failed "$W/serve2.out"
"$PYTHON3" - "$S" "$W/root.pem" "$ADM" "$SG2" "$SERVE_PID" "$TIME_SCALE" > "$W/kept.out" 2>&1 <<'PY'
import http.client, json, os, signal, ssl, sys, time, urllib.parse
url, cafile, adm, gate, pid, scale = sys.argv[1:7]
u = urllib.parse.urlsplit(url)
ctx = ssl.create_default_context(cafile=cafile)
def conn():
    c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30 * int(scale))
    c.request("GET", "/healthz")
    r = c.getresponse()
    r.read()
    print("before", r.status, (r.getheader("Connection") or "-").lower())
    return c
a, b = conn(), conn()
os.kill(int(pid), signal.SIGTERM)
end = time.time() + 60 * int(scale)
while not os.path.exists(gate + ".reached"):
    if time.time() > end:
        print("gate never reached"); sys.exit(1)
    time.sleep(0.05)
a.request("POST", "/api/v1/crl", body="{}", headers={
    "Authorization": "Bearer " + adm, "Content-Type": "application/json"})
r = a.getresponse()
body = r.read()
try:
    code = json.loads(body).get("error")
except ValueError:
    code = body[:80]
print("slow", r.status, code, (r.getheader("Connection") or "-").lower())
b.request("GET", "/healthz")
r = b.getresponse()
r.read()
print("other", r.status, (r.getheader("Connection") or "-").lower())
open(gate, "w").close()
PY
is "kept: both connections stay open before the stop" "$(grep -c '^before 200 -$' "$W/kept.out")" 2
is "kept: a publication on one, after the lanes stopped: 503 shutting_down, closing" \
	"$(grep '^slow' "$W/kept.out")" "slow 503 shutting_down close"
is "kept: any answer on the other closes it" "$(grep '^other' "$W/kept.out")" "other 200 close"
touch "$SG2"
serve_wait
is "kept: the daemon exits 0" "$SERVE_RC" 0

finish
