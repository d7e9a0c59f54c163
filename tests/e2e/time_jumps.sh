#!/bin/bash
# tests/e2e/time_jumps.sh - a long-running 'mica serve' whose wall clock
# jumps: forward (a virtual machine resumed after days, months of uptime)
# and back (a clock that ran ahead, then NTP or an admin set it right).
#
# The daemon runs under libfaketime with FAKETIME=% (its wall clock is the
# modification time of the file $CLK, read again at every call:
# FAKETIME_NO_CACHE), so that the test moves the clock of the running
# process, its signer processes included, with touch. FAKETIME_TIMESTAMP_FILE
# cannot do that here: libfaketime opens that file at every reading, and
# the signers' seccomp filter (ca/signer_proc.c) kills a process that
# opens a file; reading a file's time (stat) is allowed. The monotonic
# clock is left alone (FAKETIME_DONT_FAKE_MONOTONIC), as a real clock step
# leaves it.
#
# The relying parties judge at the daemon's time: curl --cacert and
# openssl ocsp run under libfaketime too (FAKETIME="@date", at the time of
# $CLK), or with the real clock once the daemon's is back.
#
#   A. at the real time: enrollment tokens of 1 and 10 days, a certificate
#      issued with one, its OCSP response verified;
#   B. two days on: the 1-day token is expired (daemon: 401; CLI: "token
#      list" says expired), the 10-day token works, OCSP still verifies;
#   C. 100 days on (past the daemon's 90-day HTTPS certificate and its
#      4-day OCSP responder certificate): the daemon renews its HTTPS
#      certificate by itself (curl --cacert accepts it at that time), the
#      OCSP responder certificate is renewed (openssl ocsp verifies), so is
#      the 90-day SCEP RA certificate, the 10-day token is expired;
#   D. back to the real time: the certificates made at +100 days are not
#      valid yet for clients with the right time; the daemon replaces its
#      HTTPS certificate, its OCSP responder certificate and its SCEP RA
#      certificate (curl and openssl ocsp with the real clock accept them;
#      GetCACert hands out an RA certificate valid now), the stored OCSP
#      response dated +100 days is not served, and the 10-day token (whose
#      days have not passed) works again.
SRC=${MICA_SRCDIR:-$(dirname "$0")/../..}
. "$SRC/tests/e2e/lib.sh"
. "$SRC/tests/tools/host_lib.sh"

need curl openssl python3 sqlite3
W=$(mktmp)
HOST_W=$W
FTLIB=$(faketime_lib)
[ -n "$FTLIB" ] || skip_all "needs libfaketime (Debian: faketime)"
DAY=86400
# A sanitizer build insists on its runtime coming first; libfaketime
# only wraps time calls, so the order does not matter here.
ASAN_FT="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

CLK=$W/clock
R0=$(date +%s)
FAKE=$R0
# set_clock WHEN: the daemon's wall clock is WHEN (seconds) from now on.
set_clock() { FAKE=$1; touch -d "@$1" "$CLK" || die "touch $CLK"; }
# at WHEN COMMAND...: COMMAND with its wall clock at WHEN (and running).
at() {
	local when=$1
	shift
	env LD_PRELOAD="$FTLIB" FAKETIME="@$(date -u -d "@$when" '+%Y-%m-%d %H:%M:%S')" \
		FAKETIME_DONT_FAKE_MONOTONIC=1 "$ASAN_FT" "$@"
}
# served_date start|end: the notBefore/notAfter (seconds) of the
# certificate the HTTPS listener serves now.
served_date() {
	local v
	v=$(echo | openssl s_client -connect "127.0.0.1:$SP" -servername localhost 2>/dev/null |
		openssl x509 -noout "-$1date" 2>/dev/null | sed 's/^[^=]*=//')
	[ -n "$v" ] && date -u -d "$v" +%s
}
served_serial() {
	echo | openssl s_client -connect "127.0.0.1:$SP" -servername localhost 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//'
}
# healthz_at WHEN: curl --cacert root.pem accepts the daemon's HTTPS at WHEN
# ("now": the real clock).
healthz_at() {
	if [ "$1" = now ]; then
		curl -fsS --max-time $((10 * TIME_SCALE)) --cacert "$W/root.pem" "$S/healthz"
	else
		at "$1" curl -fsS --max-time $((10 * TIME_SCALE)) --cacert "$W/root.pem" "$S/healthz"
	fi
}
# ocsp_check WHEN CERT WHAT: openssl ocsp (at WHEN, or "now") verifies the
# daemon's answer about CERT with -CAfile root.pem, as the README shows,
# and says good. The responder certificate it carried: $W/ocsp.signer.
ocsp_check() {
	local when=$1 cert=$2 what=$3 run=()
	[ "$when" = now ] || run=(at "$when")
	"${run[@]}" openssl ocsp -issuer "$W/root.pem" -cert "$cert" -url "$H/ocsp" \
		-CAfile "$W/root.pem" -no_nonce -resp_text -timeout $((20 * TIME_SCALE)) >"$W/ocsp.out" 2>&1
	if grep -q "^Response verify OK" "$W/ocsp.out" && grep -q "^$cert: good" "$W/ocsp.out"; then
		ok "$what"
	else
		fail "$what: $(grep -i -E 'error|verify|: ' "$W/ocsp.out" | head -3 | tr '\n' ' ')"
	fi
	awk '/BEGIN CERTIFICATE/,/END CERTIFICATE/' "$W/ocsp.out" >"$W/ocsp.signer"
}
# ocsp_signer_ok WHEN WHAT: the responder certificate of the last answer
# is valid at WHEN.
ocsp_signer_ok() {
	local nb na
	nb=$(openssl x509 -in "$W/ocsp.signer" -noout -startdate 2>/dev/null | sed 's/^[^=]*=//')
	na=$(openssl x509 -in "$W/ocsp.signer" -noout -enddate 2>/dev/null | sed 's/^[^=]*=//')
	if [ -n "$nb" ] && [ "$(date -u -d "$nb" +%s)" -le "$1" ] &&
		[ "$(date -u -d "$na" +%s)" -gt "$1" ]; then
		ok "$2 ($nb - $na)"
	else
		fail "$2: the responder certificate is valid from '$nb' to '$na'"
	fi
}
# scep_ra_ok WHEN WHAT: the SCEP RA certificate that GetCACert hands out
# (the one clients encrypt to) is valid at WHEN.
scep_ra_ok() {
	local nb na
	curl -fsS --max-time $((20 * TIME_SCALE)) -o "$W/cacert.p7" "$H/scep?operation=GetCACert" &&
		openssl pkcs7 -inform der -in "$W/cacert.p7" -print_certs 2>/dev/null |
		awk '/^subject=/ { ra = /SCEP RA/ } ra && /BEGIN/, /END/' >"$W/ra.pem"
	nb=$(openssl x509 -in "$W/ra.pem" -noout -startdate 2>/dev/null | sed 's/^[^=]*=//')
	na=$(openssl x509 -in "$W/ra.pem" -noout -enddate 2>/dev/null | sed 's/^[^=]*=//')
	if [ -n "$nb" ] && [ "$(date -u -d "$nb" +%s)" -le "$1" ] &&
		[ "$(date -u -d "$na" +%s)" -gt "$1" ]; then
		ok "$2 ($nb - $na)"
	else
		fail "$2: the RA certificate is valid from '$nb' to '$na'"
	fi
}
# enroll TOKEN NAME: POST a CSR for NAME.contoso.test with TOKEN over
# plain HTTP from loopback (the HTTPS certificate is what some checks
# doubt); the status in CODE, the certificate in $W/NAME.pem.
enroll() {
	host_csr "$2" "$2.contoso.test"
	host_enroll "$H" "$1" "$W/$2.der"
	json_get "$W/body" certificate >"$W/$2.pem"
}
token_status() { # token_status WHEN ID: what 'mica token list' says at WHEN
	at "$1" "$MICA" -d "$D" token list --json >"$W/tokens.json" 2>"$W/tokens.err" ||
		{ cat "$W/tokens.err" >&2; return 1; }
	python3 -c 'import json, sys
print([t["status"] for t in json.load(open(sys.argv[1])) if t["id"] == sys.argv[2]][0])' \
		"$W/tokens.json" "$2"
}

D=$W/ca
host_ca "$D"
"$MICA" -d "$D" export-root --pem >"$W/root.pem" || die "export-root"
T1=$("$MICA" -d "$D" token create --enroll --uses 5 --expires 1d 2>/dev/null) || die "token create"
T10=$("$MICA" -d "$D" token create --enroll --uses 5 --expires 10d 2>/dev/null) || die "token create"
id_of() { echo "$1" | cut -d_ -f2; }
T1_ID=$(id_of "$T1")
T10_ID=$(id_of "$T10")

echo "# A: the real time"
set_clock "$R0"
host_serve "$W/out" "$D" "LD_PRELOAD=$FTLIB" FAKETIME=% "FAKETIME_FOLLOW_FILE=$CLK" \
	FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 "$ASAN_FT" -- \
	--threads 2 --log "$W/log" || { cat "$W/out.err"; die "mica serve did not start"; }
wait_for "the HTTP listener" 30 curl -fsS --max-time $((5 * TIME_SCALE)) "$H/healthz" || die "no /healthz"
TLS0=$(served_serial)
TLS0_END=$(served_date end)
[ -n "$TLS0" ] && [ -n "$TLS0_END" ] || die "no HTTPS certificate served"
check "A: curl --cacert accepts the HTTPS certificate" healthz_at now
enroll "$T1" a0
is "A: the 1-day token enrolls" "$CODE" 201
ocsp_check now "$W/a0.pem" "A: openssl ocsp verifies the answer about it"
ocsp_signer_ok "$R0" "A: the responder certificate is valid"
OCSP0=$(openssl x509 -in "$W/ocsp.signer" -noout -serial | sed 's/^serial=//')
is "A: 'mica token list' says the 1-day token is active" "$(token_status "$R0" "$T1_ID")" active
scep_ra_ok "$R0" "A: the SCEP RA certificate is valid"

echo "# B: two days on"
set_clock $((R0 + 2 * DAY))
enroll "$T1" b1
is "B: the daemon refuses the 1-day token (expired)" "$CODE" 401
is "B: 'mica token list' (at that time) says it is expired" \
	"$(token_status "$FAKE" "$T1_ID")" expired
enroll "$T10" b10
is "B: the 10-day token enrolls" "$CODE" 201
ocsp_check "$FAKE" "$W/a0.pem" "B: openssl ocsp (at that time) verifies the answer about A's certificate"
check "B: curl --cacert (at that time) accepts the HTTPS certificate" healthz_at "$FAKE"

echo "# C: 100 days on, past the HTTPS certificate's 90 days"
set_clock $((R0 + 100 * DAY))
[ "$TLS0_END" -lt "$FAKE" ] || die "the first HTTPS certificate ends after +100 days"
# The daemon looks every minute (WEB_TICK_SECONDS); a busy machine gets
# twice that and more.
if wait_for "a renewed HTTPS certificate accepted at +100 days" 180 healthz_at "$FAKE"; then
	ok "C: the daemon renewed its HTTPS certificate by itself: curl --cacert (at that time) accepts it"
else
	fail "C: curl --cacert (at +100 days) still refuses the daemon: $(healthz_at "$FAKE" 2>&1 | head -1)"
fi
TLS1=$(served_serial)
[ -n "$TLS1" ] && [ "$TLS1" != "$TLS0" ] && ok "C: a new HTTPS certificate ($TLS1)" ||
	fail "C: the HTTPS certificate is still $TLS0"
END1=$(served_date end)
[ -n "$END1" ] && [ "$END1" -gt $((FAKE + 59 * DAY)) ] &&
	ok "C: it is valid until $(date -u -d "@$END1")" || fail "C: it ends at '${END1:-?}'"
ocsp_check "$FAKE" "$W/a0.pem" "C: openssl ocsp (at that time) verifies the answer about A's certificate"
ocsp_signer_ok "$FAKE" "C: the responder certificate was renewed and is valid at +100 days"
scep_ra_ok "$FAKE" "C: the SCEP RA certificate was renewed and is valid at +100 days"
enroll "$T10" c10
is "C: the daemon refuses the 10-day token (expired)" "$CODE" 401
enroll "$T1" c1
is "C: and still the 1-day token" "$CODE" 401

echo "# D: the clock set back to the real time"
set_clock "$(date +%s)"
if wait_for "an HTTPS certificate valid at the real time" 180 healthz_at now; then
	ok "D: the daemon replaced its HTTPS certificate dated +100 days: curl --cacert accepts it"
else
	fail "D: curl --cacert refuses the daemon: $(healthz_at now 2>&1 | head -1)"
fi
START2=$(served_date start)
[ -n "$START2" ] && [ "$START2" -le "$(date +%s)" ] &&
	ok "D: its notBefore is in the past ($(date -u -d "@$START2"))" ||
	fail "D: its notBefore is '${START2:-?}'"
ocsp_check now "$W/a0.pem" "D: openssl ocsp verifies the answer about A's certificate (not the one dated +100 days)"
ocsp_signer_ok "$(date +%s)" "D: the responder certificate is valid at the real time"
TU=$(sed -n 's/^ *This Update: //p' "$W/ocsp.out" | head -1)
[ -n "$TU" ] && [ "$(date -u -d "$TU" +%s)" -le "$(date +%s)" ] &&
	ok "D: its thisUpdate is not in the future ($TU)" || fail "D: its thisUpdate is '$TU'"
scep_ra_ok "$(date +%s)" "D: the SCEP RA certificate is valid at the real time"
# The responses signed ahead of time at +100 days, about certificates no
# one asked about since, are signed again by the background refresh (they
# waited for their refresh time, 100 days and 12 hours on, served by a
# publication until then, which a relying party refuses: thisUpdate in
# the future).
future_rows() {
	[ "$(sqlite3 "$D/mica.db" "SELECT count(*) FROM ocsp_response WHERE this_update > $(date +%s)")" = 0 ]
}
[ "$(sqlite3 "$D/mica.db" "SELECT count(*) FROM ocsp_response")" -gt 1 ] ||
	fail "D: fewer pre-signed responses than the test needs"
wait_for "no pre-signed response dated after now" 120 future_rows &&
	ok "D: the responses signed at +100 days are signed again" ||
	fail "D: $(sqlite3 "$D/mica.db" "SELECT count(*) FROM ocsp_response WHERE this_update > $(date +%s)") responses dated after now"
"$MICA" -d "$D" publish "$W/pub" >/dev/null 2>&1 || fail "D: mica publish"
bad=0
for f in $(find "$W/pub/ocsp" -type f 2>/dev/null); do
	openssl ocsp -respin "$f" -resp_text -noverify 2>/dev/null |
		sed -n 's/^ *This Update: //p' | while read -r tu; do
			[ "$(date -u -d "$tu" +%s)" -le "$(date +%s)" ] || echo future
		done | grep -q future && bad=$((bad + 1))
done
is "D: mica publish writes no response dated after now" "$bad" 0
enroll "$T10" d10
is "D: the 10-day token, whose days have not passed, enrolls again" "$CODE" 201
is "D: 'mica token list' says it is active" "$(token_status "$(date +%s)" "$T10_ID")" active
is "D: the 1-day token stays active too (its day has not passed)" \
	"$(token_status "$(date +%s)" "$T1_ID")" active

host_stop
is "the daemon stops cleanly" "$HOST_RC" 0
host_sanitizers "$W/out.err"

# E. a CA of two days, its daemon started three days on: no HTTPS
# certificate can be made, and the refusal says what still can be served
# (it read as issuance's "nothing is issued"); with --https none the
# daemon serves its CRL and says at /healthz that the CA has expired.
E=$W/short
host_ca "$E" --days 2
rc=0
timeout 120 env -u MICA_PASSPHRASE LD_PRELOAD="$FTLIB" FAKETIME=+3d "$ASAN_FT" \
	"$MICA" -d "$E" serve --http "127.0.0.1:$HP" --https "127.0.0.1:$SP" \
	>"$W/e.out" 2>"$W/e.err" || rc=$?
is "E: past the CA's end, serve with HTTPS exits 4" "$rc" 4
check "E: ... saying that --https none still serves the CRLs" \
	grep -q "no HTTPS certificate can be made for the daemon.*--https none serves the CRLs" "$W/e.err"
host_serve "$W/e2.out" "$E" "LD_PRELOAD=$FTLIB" FAKETIME=+3d "$ASAN_FT" -- --https none ||
	serve_failed "$W/e2.out"
is "E: with --https none, /crl answers 200" \
	"$(curl -s -o /dev/null -w '%{http_code}' "$H/crl")" 200
is "E: ... and /healthz 503 ca_expired" \
	"$(curl -s -w ' %{http_code}' "$H/healthz" | tr -d '\n' | sed 's/.*"error": *"\([a-z_]*\)".* \([0-9]*\)$/\1 \2/')" \
	"ca_expired 503"
host_stop
finish
