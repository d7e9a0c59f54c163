#!/bin/bash
# End-to-end: the daemon's CRL at start-up (web/crl_cache.c web_crl_start).
# A CRL of a million entries is some 45 MiB to read, check against its
# SHA-256 and encode as PEM; the daemon no longer waits for that before it
# serves: the cache's loader thread loads it in the background, requests
# for the CRL wait for that first load, and nothing else does. A CRL that
# is due (or missing) is still published before the daemon serves.
#
# The first load is held with the test gate of fault-injection builds
# (util/fault.h): MICA_TEST_CRL_GATE=PATH makes it append a line to
# PATH.reached and wait (at most a minute) for PATH to exist. Checked:
#   - while the first load is held: /healthz answers 200 (the CRL the
#     store records is current), a certificate is issued, and GET /crl
#     waits (still in flight), then, let go, gets the stored CRL, which
#     openssl verifies, and /crl.pem (made when first asked for) is the
#     same CRL, replaced by the next one's once a CRL is published;
#   - a daemon whose newest CRL body (mica.db-crls/N.crl) is damaged, or
#     missing, starts, publishes a new CRL numbered N+1 (never serving
#     the damaged bytes), says so in its log, answers /healthz 200 and
#     issues; POST /api/v1/crl then publishes N+2, served by /crl and
#     /crl.pem.
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/crl_load.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3 sqlite3

W=$(mktmp)
D=$W/ca
need_fault_hook "test gate"

serve_start "$W/s1.out" "$D" -- --domain example.test || serve_failed "$W/s1.out"
serve_facts "$W/s1.out" "$W"
AUTH=(-H "Authorization: Bearer $ADM")
ET=$(enroll_token "$S" "$ADM" 20)
[ -n "$ET" ] || die "no enrollment token"
serve_stop
is "the first daemon stops cleanly" "$SERVE_RC" 0

N=0
issue() { # prints the HTTP status of one issuance over HTTPS
	N=$((N + 1))
	enroll_leaf "$S" "$ET" "h$N.example.test" "$W/leaf$N"
}
status() { # URL -> HTTP status, body in $W/last
	curl -sk -o "$W/last" -w '%{http_code}' --max-time $((30 * TIME_SCALE)) "$1"
}
newest() { sqlite3 "$D/mica.db" "SELECT max(number) FROM crl WHERE delta_base IS NULL OR delta_base = 0"; }
publish() { # POST /api/v1/crl: prints the HTTP status, the answer in $W/pub.json
	curl -sk -o "$W/pub.json" -w '%{http_code}' -X POST "${AUTH[@]}" \
		-H 'Content-Type: application/json' -d '{}' "$S/api/v1/crl"
}
pem_number() { # the number of the CRL /crl.pem serves
	status "$H/crl.pem" >/dev/null
	openssl crl -in "$W/last" -outform der -out "$W/pem.der" 2>/dev/null
	crl_number "$W/pem.der"
}
crl_number() { # DER file -> its CRL number, decimal
	openssl crl -inform der -in "$1" -noout -crlnumber 2>/dev/null |
		sed -n 's/^crlNumber=0x//p' | { read -r h && echo $((16#$h)); }
}

# -------------------------------------------------------- held first load --
echo "# the first load of the CRL held at the gate"
G=$W/gate
SERVE_HEALTHZ=0 serve_start "$W/s2.out" "$D" "MICA_TEST_CRL_GATE=$G" -- ||
	serve_failed "$W/s2.out"
wait_for "the first CRL load at the gate" 30 test -s "$G.reached" &&
	ok "the CRL is loaded by the loader thread, after the start" ||
	fail "the first CRL load never reached the gate"
is "/healthz answers 200 while the CRL loads" "$(status "$H/healthz")" 200
is "a certificate is issued while the CRL loads" "$(issue)" 201
curl -s -o "$W/held.crl" -w '%{http_code}' --max-time $((120 * TIME_SCALE)) "$H/crl" \
	>"$W/held.code" 2>/dev/null &
CRL_PID=$!
on_exit_kill "$CRL_PID"
# Given two seconds to be answered wrongly, it must still be waiting.
end=$((SECONDS + 2))
while [ "$SECONDS" -lt "$end" ] && kill -0 "$CRL_PID" 2>/dev/null; do sleep 0.1; done
kill -0 "$CRL_PID" 2>/dev/null && ok "GET /crl waits for the first load" ||
	fail "GET /crl was answered ($(cat "$W/held.code")) before the first load"
touch "$G"
wait "$CRL_PID"
on_exit_forget "$CRL_PID"
is "then GET /crl answers 200" "$(cat "$W/held.code")" 200
stored_crl "$D" "number = $(newest)" "$W/stored.crl" || fail "no stored CRL"
cmp -s "$W/held.crl" "$W/stored.crl" && ok "it is the stored CRL" ||
	fail "GET /crl served other bytes than the stored CRL"
openssl crl -inform der -in "$W/held.crl" -CAfile "$W/root.pem" -noout 2>"$W/v.err" &&
	ok "openssl verifies it" || { fail "openssl crl -CAfile"; sed 's/^/    /' "$W/v.err"; }
# The PEM form is made when first asked for: the same CRL.
is "GET /crl.pem answers 200" "$(status "$H/crl.pem")" 200
openssl crl -in "$W/last" -outform der -out "$W/pem.der" 2>/dev/null &&
	cmp -s "$W/pem.der" "$W/held.crl" && ok "/crl.pem is the same CRL in PEM" ||
	fail "/crl.pem is not the CRL /crl serves"
# A new CRL replaces the PEM made of the old one.
m=$(newest)
is "a CRL is published" "$(publish)" 201
is "/crl.pem then serves the new CRL" "$(pem_number)" $((m + 1))
is "/healthz still 200" "$(status "$H/healthz")" 200
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0

# -------------------------------------------------- damaged or missing --
for how in damaged missing; do
	echo "# the newest CRL's body $how"
	n=$(newest)
	body=$D/mica.db-crls/$n.crl
	[ -f "$body" ] || die "CRL $n has no body beside the store"
	if [ $how = damaged ]; then
		python3 - "$body" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01
open(p, "wb").write(bytes(b))
PY
	else
		rm -f "$body"
	fi
	SERVE_HEALTHZ=0 serve_start "$W/s3$how.out" "$D" -- &&
		ok "$how: the daemon starts" || serve_failed "$W/s3$how.out"
	# The store has every revocation: the daemon publishes a new CRL,
	# numbered above the lost one, rather than answer errors until an
	# admin does.
	is "$how: /healthz answers 200" "$(status "$H/healthz")" 200
	is "$how: /crl answers 200" "$(status "$H/crl")" 200
	is "$how: with a new CRL, the next number" "$(crl_number "$W/last")" $((n + 1))
	openssl crl -inform der -in "$W/last" -CAfile "$W/root.pem" -noout 2>"$W/v.err" &&
		ok "$how: openssl verifies it" || { fail "$how: openssl crl -CAfile"; sed 's/^/    /' "$W/v.err"; }
	grep -q "missing or damaged: publishing a new CRL" "$W/s3$how.out.err" &&
	grep -q "published CRL number $((n + 1)) (the last one's body was missing or damaged)" "$W/s3$how.out.err" &&
		ok "$how: the log says the body was lost and a new CRL published" ||
		{ fail "$how: the log does not say why:"; grep -i crl "$W/s3$how.out.err" | tail -5 | sed 's/^/    /'; }
	is "$how: /crl.pem serves it too" "$(pem_number)" $((n + 1))
	is "$how: certificates are still issued" "$(issue)" 201
	is "$how: POST /api/v1/crl publishes a new CRL" "$(publish)" 201
	is "$how: with the next number" "$(json_get "$W/pub.json" number)" $((n + 2))
	is "$how: /crl serves it" "$(status "$H/crl")" 200
	is "$how: the new CRL" "$(crl_number "$W/last")" $((n + 2))
	is "$how: /crl.pem serves it too" "$(pem_number)" $((n + 2))
	is "$how: /healthz answers 200 again" "$(status "$H/healthz")" 200
	serve_stop
	is "$how: the daemon stops cleanly" "$SERVE_RC" 0
done

finish
