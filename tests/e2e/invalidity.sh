#!/bin/bash
# End-to-end: the invalidity date of a revocation (RFC 5280 5.3.2).
#   - mica revoke --invalidity-date: the CRL entry carries invalidityDate
#     with that very time, beside its reason, as openssl crl -text reads
#     it (GnuTLS certtool --crl-info takes the CRL and lists the serial;
#     it prints no entry extensions); an entry without one carries none;
#   - a CA that makes deltas: the delta CRL's entry carries it too;
#   - mica show and --json say it; the audit line names it;
#   - raising superseded to keyCompromise with a date: stored, the
#     revocation date kept, the key's other certificate dated too; a
#     date after the kept revocation date is refused;
#   - refused inputs (garbage, an impossible day, an offset, a future
#     date, certificateHold, --from-crl with it) change nothing: the same
#     CRL number, the same show, exit 2 (malformed) or 4 (refused);
#   - the API: POST .../revoke {"invalidity_date": ...}: 200 and the
#     field in the certificate JSON; 400 / 422 bad_invalidity_date, nothing
#     changed;
#   - OCSP answers carry it (a singleExtension), signed ahead and on
#     demand, as openssl ocsp -resp_text reads them; GnuTLS ocsptool
#     parses them;
#   - mica restore --crl carries an entry's invalidity date into the copy,
#     and gives it to a revocation the copy holds without one.
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/invalidity.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need openssl certtool curl sqlite3 python3 ocsptool

W=$(mktmp)
D=$W/ca
serve_ports
"$MICA" -d "$D" init --name "Invalidity Test Root" --domain example.test --public-url "$H" \
	>/dev/null 2>&1 || die "mica init"
"$MICA" -d "$D" export-root --pem >"$W/root.pem" 2>/dev/null || die "export-root"

# leaf NAME [KEYFROM]: a certificate for NAME.example.test ($W/NAME.pem),
# with a new P-256 key or the key of KEYFROM; its serial on stdout.
leaf() {
	local key=$W/$1.key
	[ -n "${2:-}" ] && key=$W/$2.key
	[ -f "$key" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$key" 2>/dev/null || die "openssl genpkey"
	openssl req -new -key "$key" -subj "/CN=$1.example.test" \
		-addext "subjectAltName=DNS:$1.example.test" -out "$W/$1.csr" 2>/dev/null ||
		die "openssl req"
	"$MICA" -d "$D" issue --csr "$W/$1.csr" --profile server --out "$W/$1.pem" 2>/dev/null ||
		die "mica issue $1"
	serial_of "$W/$1.pem"
}
crl_number() { sqlite3 "$D/mica.db" 'SELECT max(number) FROM crl'; }
# entry_text CRLFILE SERIAL: the lines of openssl's text of SERIAL's entry.
entry_text() {
	openssl crl -inform DER -in "$1" -noout -text 2>/dev/null |
		awk -v s="$(echo "$2" | tr a-f A-F)" '
			/Serial Number:/ { on = ($3 == s) }
			/Signature Algorithm/ { on = 0 }
			on { print }'
}
# The date openssl prints two lines under "Invalidity Date:".
entry_invalidity() { entry_text "$1" "$2" | sed -n '/Invalidity Date/{n;s/^ *//;p}'; }
latest_crl() { stored_crl "$D" "delta_base = 0 ORDER BY number DESC" "$1" || die "stored_crl"; }
# field DIR SERIAL KEY: KEY of mica show --json SERIAL in DIR's store.
field() {
	"$MICA" -d "$1" show "$2" --json >"$W/field.json" 2>/dev/null
	json_get "$W/field.json" "$3"
}
latest_delta() { stored_crl "$D" "delta_base > 0 ORDER BY number DESC" "$1" || die "stored_crl"; }

A=$(leaf a)
B=$(leaf b)
WHEN=2025-06-01T10:00:00Z
WHEN_TXT="Jun  1 10:00:00 2025 GMT"

# --------------------------------------------------------- the CLI --

expect_rc "revoke --reason keyCompromise --invalidity-date $WHEN" 0 \
	"$MICA" -d "$D" revoke "$A" --reason keyCompromise --invalidity-date "$WHEN"
grep -q "invalid since $WHEN" "$TMP/rc.err" && ok "... which it says" ||
	fail "revoke said: $(cat "$TMP/rc.err")"
expect_rc "revoke another with no invalidity date" 0 "$MICA" -d "$D" revoke "$B" --reason superseded
latest_crl "$W/c1.crl"
is "openssl: the entry's Invalidity Date is the time given" "$(entry_invalidity "$W/c1.crl" "$A")" "$WHEN_TXT"
entry_text "$W/c1.crl" "$A" | grep -q "Key Compromise" && ok "... beside its reason, Key Compromise" ||
	fail "no reason beside the invalidity date: $(entry_text "$W/c1.crl" "$A")"
is "an entry without one carries no Invalidity Date" \
	"$(entry_text "$W/c1.crl" "$B" | grep -c 'Invalidity Date')" 0
# The extension's bytes: non-critical, a GeneralizedTime in Zulu without
# fraction (openssl asn1parse shows the OCTET STRING's contents).
python3 - "$W/c1.crl" >"$W/asn1.out" <<'PY' && ok "DER: invalidityDate (2.5.29.24) non-critical, GeneralizedTime 20250601100000Z" || fail "the extension's DER: $(cat "$W/asn1.out")"
import sys
der = open(sys.argv[1], "rb").read()
want = bytes([0x30, 0x18, 0x06, 0x03, 0x55, 0x1d, 0x18, 0x04, 0x11, 0x18, 0x0f]) + b"20250601100000Z"
n = der.count(want)
print("found %d" % n)
sys.exit(0 if n == 1 else 1)
PY
if certtool --crl-info --inder --infile "$W/c1.crl" >"$W/certtool.out" 2>&1 &&
	grep -qi "$A" "$W/certtool.out"; then
	ok "GnuTLS certtool --crl-info reads the CRL and lists the serial"
else
	fail "certtool --crl-info: $(head -3 "$W/certtool.out")"
fi
"$MICA" -d "$D" show "$A" >"$W/show.out" 2>&1
grep -q "^Invalidity date: $WHEN$" "$W/show.out" && ok "mica show: Invalidity date: $WHEN" ||
	fail "mica show: $(cat "$W/show.out")"
"$MICA" -d "$D" show "$A" --json >"$W/show.json" 2>&1
is "mica show --json: invalidity_date" "$(json_get "$W/show.json" invalidity_date)" "$WHEN"
"$MICA" -d "$D" show "$B" --json >"$W/showb.json" 2>&1
is "... null for one revoked without" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("invalidity_date", "absent"))' "$W/showb.json")" None
"$MICA" -d "$D" list --status revoked --json >"$W/list.json" 2>&1
is "mica list --json: the same field" \
	"$(python3 -c 'import json,sys; print([c.get("invalidity_date") for c in json.load(open(sys.argv[1])) if c["serial"] == sys.argv[2]][0])' "$W/list.json" "$A")" "$WHEN"
is "the audit line names it" \
	"$(sqlite3 "$D/mica.db" "SELECT detail FROM audit WHERE action = 'cert.revoke' AND target = '$A'")" \
	"keyCompromise; invalidity date $WHEN"

# ------------------------------------------------ refused, unchanged --

C=$(leaf c)
N0=$(crl_number)
"$MICA" -d "$D" show "$C" >"$W/c-before.out" 2>&1
refused() { # refused DESCRIPTION RC ARGS...: exit RC, nothing changed
	local d=$1 rc=$2
	shift 2
	expect_rc "$d: exit $rc" "$rc" "$MICA" -d "$D" revoke "$C" "$@"
	"$MICA" -d "$D" show "$C" >"$W/c-after.out" 2>&1
	if [ "$(crl_number)" = "$N0" ] && cmp -s "$W/c-before.out" "$W/c-after.out"; then
		ok "... the certificate and the CRL number ($N0) unchanged"
	else
		fail "... changed something: CRL $(crl_number), $(grep Status "$W/c-after.out")"
	fi
}
refused "garbage" 2 --reason keyCompromise --invalidity-date yesterday
refused "an impossible day (2025-02-30)" 2 --reason keyCompromise --invalidity-date 2025-02-30
refused "an offset, not UTC" 2 --reason keyCompromise --invalidity-date 2025-06-01T10:00:00+02:00
refused "a fraction of a second" 2 --reason keyCompromise --invalidity-date 2025-06-01T10:00:00.5Z
refused "a date in the future" 4 --reason keyCompromise \
	--invalidity-date "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
grep -q "in the future" "$TMP/rc.err" && ok "... saying it is in the future" || fail "said: $(cat "$TMP/rc.err")"
refused "with certificateHold" 4 --reason certificateHold --invalidity-date 2025-06-01
grep -q "certificateHold takes no invalidity date" "$TMP/rc.err" && ok "... saying why" ||
	fail "said: $(cat "$TMP/rc.err")"
refused "before 1970" 4 --reason keyCompromise --invalidity-date 1969-12-31
expect_rc "--from-crl with --invalidity-date: a usage error" 2 \
	"$MICA" -d "$D" revoke --from-crl "$W/c1.crl" --invalidity-date 2025-06-01
expect_rc "a plain date is taken (2025-06-01 is its 00:00:00Z)" 0 \
	"$MICA" -d "$D" revoke "$C" --reason cessationOfOperation --invalidity-date 2025-06-01
is "... stored as 2025-06-01T00:00:00Z" "$(field "$D" "$C" invalidity_date)" \
	"2025-06-01T00:00:00Z"

# ------------------------------ raised to keyCompromise, the key's others --

E=$(leaf e)
F=$(leaf f e)    # the same key
"$MICA" -d "$D" revoke "$E" --reason superseded 2>/dev/null || die "revoke e"
# Revoked a day ago, as if: the key leaked an hour ago, after it.
sqlite3 "$D/mica.db" "UPDATE certificate SET revoked_at = revoked_at - 86400 WHERE serial = '$E'" ||
	die "sqlite3: backdating the revocation"
E_AT=$(field "$D" "$E" revoked_at)
N0=$(crl_number)
BODIES=$(ls "$D/mica.db-crls")
expect_rc "raising superseded with a date after the revocation date: refused (exit 4)" 4 \
	"$MICA" -d "$D" revoke "$E" --reason keyCompromise \
	--invalidity-date "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)"
grep -q "was revoked on" "$TMP/rc.err" && ok "... saying when it was revoked" || fail "said: $(cat "$TMP/rc.err")"
is "... no CRL published" "$(crl_number)" "$N0"
# Nor signed ahead of the transaction that refuses it: no body of a CRL
# that was never published left beside the store.
is "... and no CRL body written beside the store" "$(ls "$D/mica.db-crls")" "$BODIES"
is "... still superseded" "$(field "$D" "$E" revocation_reason)" superseded
expect_rc "raising superseded to keyCompromise with --invalidity-date" 0 \
	"$MICA" -d "$D" revoke "$E" --reason keyCompromise --invalidity-date 2025-03-01T08:30:00Z
"$MICA" -d "$D" show "$E" --json >"$W/e.json"
is "... the reason raised" "$(json_get "$W/e.json" revocation_reason)" keyCompromise
is "... the revocation date kept" "$(json_get "$W/e.json" revoked_at)" "$E_AT"
is "... the invalidity date stored" "$(json_get "$W/e.json" invalidity_date)" 2025-03-01T08:30:00Z
is "the key's other certificate: revoked with it, the same date" \
	"$(field "$D" "$F" invalidity_date)" 2025-03-01T08:30:00Z
latest_crl "$W/c2.crl"
is "openssl: the raised entry carries it" "$(entry_invalidity "$W/c2.crl" "$E")" "Mar  1 08:30:00 2025 GMT"
is "... and the other certificate's entry" "$(entry_invalidity "$W/c2.crl" "$F")" "Mar  1 08:30:00 2025 GMT"

# ------------------------------------------------------- delta CRLs --

"$MICA" -d "$D" crl --delta-hours 1 >/dev/null 2>&1 || die "mica crl --delta-hours"
G=$(leaf g)
expect_rc "a CA that makes deltas: revoke with an invalidity date" 0 \
	"$MICA" -d "$D" revoke "$G" --reason affiliationChanged --invalidity-date 2025-09-15T12:00:00Z
grep -q "delta CRL" "$TMP/rc.err" && ok "... published a delta CRL" || fail "revoke said: $(cat "$TMP/rc.err")"
latest_delta "$W/d1.crl"
openssl crl -inform DER -in "$W/d1.crl" -noout -text 2>/dev/null | grep -q "Delta CRL Indicator" ||
	fail "the latest delta has no Delta CRL Indicator"
is "openssl: the delta's entry carries the Invalidity Date" "$(entry_invalidity "$W/d1.crl" "$G")" \
	"Sep 15 12:00:00 2025 GMT"

# ---------------------------------------------------------- the API --

serve_start "$W/serve.out" "$D" -- || serve_failed "$W/serve.out"
ADM=$("$MICA" -d "$D" token create --admin 2>/dev/null) || die "mica token create --admin"
call() { # call SERIAL JSON: status in $CODE, body in $W/body
	CODE=$(curl -s --max-time $((30 * TIME_SCALE)) -o "$W/body" -w '%{http_code}' \
		-H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' \
		--data-binary "$2" "$H/api/v1/certificates/$1/revoke") || true
}
K=$(leaf k)
N1=$(crl_number)
call "$K" '{"reason": "keyCompromise", "invalidity_date": "2025-13-01T00:00:00Z"}'
is "API: a malformed invalidity_date is 400" "$CODE" 400
is "... bad_invalidity_date" "$(json_get "$W/body" error)" bad_invalidity_date
call "$K" "{\"reason\": \"keyCompromise\", \"invalidity_date\": \"$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)\"}"
is "API: a future invalidity_date is 422" "$CODE" 422
is "... bad_invalidity_date" "$(json_get "$W/body" error)" bad_invalidity_date
call "$K" '{"reason": "certificateHold", "invalidity_date": "2025-06-01T10:00:00Z"}'
is "API: with certificateHold, 422" "$CODE" 422
call "$K" '{"reason": "keyCompromise", "invalidity_date": 20250601}'
is "API: a number is 400" "$CODE" 400
is "... nothing published meanwhile" "$(crl_number)" "$N1"
is "... and the certificate still valid" "$(field "$D" "$K" status)" valid
call "$K" '{"reason": "keyCompromise", "invalidity_date": "2025-06-01T10:00:00Z"}'
is "API: revoke with invalidity_date: 200" "$CODE" 200
is "... the certificate JSON says it" "$(json_get "$W/body" invalidity_date)" 2025-06-01T10:00:00Z
CODE=$(curl -s -o "$W/body" -w '%{http_code}' -H "Authorization: Bearer $ADM" \
	"$H/api/v1/certificates/$B") || true
is "API: GET of one revoked without: invalidity_date null" \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("invalidity_date", "absent"))' "$W/body")" None
# A JSON null counts as absent (docs/API.md, Conventions): no date.
L=$(leaf l)
call "$L" '{"reason": "superseded", "invalidity_date": null}'
is "API: invalidity_date null is as absent: 200" "$CODE" 200
is "... and the certificate has none" \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("invalidity_date", "absent"))' "$W/body")" None
# The CA makes deltas since above: the revocation is in the delta.
curl -s -o "$W/served.crl" "$H/delta.crl" || true
is "the served delta CRL carries it" "$(entry_invalidity "$W/served.crl" "$K")" "$WHEN_TXT"
# OCSP says it too (RFC 6960 4.4: the CRL entry extension as a
# singleExtension), signed ahead (no nonce) and on demand (a nonce);
# OpenSSL verifies the response and prints it, GnuTLS reads it.
ocsp_ask() { # ocsp_ask CERT [options]: openssl's text in $W/ocsp.out
	local c=$1
	shift
	openssl ocsp -issuer "$W/root.pem" -cert "$c" -url "$H/ocsp" -CAfile "$W/root.pem" \
		-timeout $((20 * TIME_SCALE)) -resp_text "$@" >"$W/ocsp.out" 2>&1
}
ocsp_invalidity() { sed -n '/Invalidity Date/{n;s/^ *//;p}' "$W/ocsp.out"; }
for how in -no_nonce -nonce; do
	ocsp_ask "$W/k.pem" $how -respout "$W/k.ocsp"
	check "OCSP ($how): revoked, keyCompromise, verified" sh -c \
		"grep -q '^$W/k.pem: revoked' '$W/ocsp.out' && grep -q 'Reason: keyCompromise' '$W/ocsp.out' &&
		 grep -q '^Response verify OK' '$W/ocsp.out'"
	is "OCSP ($how): the invalidity date as a single extension" "$(ocsp_invalidity)" "$WHEN_TXT"
done
check "GnuTLS ocsptool reads the response with it: revoked" sh -c \
	"ocsptool -j -S '$W/k.ocsp' 2>&1 | grep -q 'Certificate Status: revoked'"
ocsp_ask "$W/l.pem" -no_nonce
check "OCSP: one revoked without a date: revoked, verified" sh -c \
	"grep -q '^$W/l.pem: revoked' '$W/ocsp.out' && grep -q '^Response verify OK' '$W/ocsp.out'"
is "... and no invalidity date" "$(ocsp_invalidity)" ""
serve_stop

# ------------------------------------------- carried in by restore --crl --

"$MICA" -d "$D" backup "$W/backup.db" >/dev/null 2>&1 || die "mica backup"
M=$(leaf m)
"$MICA" -d "$D" revoke "$M" --reason privilegeWithdrawn --invalidity-date 2025-11-11T11:11:11Z \
	>/dev/null 2>&1 || die "revoke m"
"$MICA" -d "$D" crl --out "$W/last.crl" >/dev/null 2>&1 || die "mica crl"
if env MICA_PASSPHRASE="$(cat "$D/passphrase")" "$MICA" -d "$W/r" restore "$W/backup.db" \
	--crl "$W/last.crl" >"$W/restore.out" 2>&1; then
	is "restore --crl: the invalidity date carried into the copy" \
		"$(field "$W/r" "$M" invalidity_date)" 2025-11-11T11:11:11Z
else
	fail "mica restore --crl: $(tail -2 "$W/restore.out")"
fi

# A copy that holds the revocation without the date the CRL gives (taken
# before the date was known: emulated by clearing it in a backup): restore
# --crl takes the CRL's date, says so, and audits it.
"$MICA" -d "$D" backup "$W/backup2.db" >/dev/null 2>&1 || die "mica backup 2"
sqlite3 "$W/backup2.db" "UPDATE certificate SET invalid_at = NULL WHERE serial = '$M'" ||
	die "sqlite3 backup2"
if env MICA_PASSPHRASE="$(cat "$D/passphrase")" "$MICA" -d "$W/r2" restore "$W/backup2.db" \
	--crl "$W/last.crl" >"$W/restore2.out" 2>&1; then
	is "restore --crl: a revocation held already is given the CRL's earlier date" \
		"$(field "$W/r2" "$M" invalidity_date)" 2025-11-11T11:11:11Z
	check "... said on stderr" grep -q "earlier invalidity date in the CRLs given" \
		"$W/restore2.out"
	"$MICA" -d "$W/r2" audit --json >"$W/audit2.json" 2>/dev/null
	check "... and audited" grep -q \
		"privilegeWithdrawn; invalidity date 2025-11-11T11:11:11Z (carried in from CRL" \
		"$W/audit2.json"
	stored_crl "$W/r2" "delta_base = 0 ORDER BY number DESC" "$W/r2.crl" ||
		die "stored_crl r2"
	is "... and the CRL restore published carries it" \
		"$(entry_invalidity "$W/r2.crl" "$M")" "$(entry_invalidity "$W/last.crl" "$M")"
else
	fail "mica restore --crl (no date): $(tail -2 "$W/restore2.out")"
fi

finish
