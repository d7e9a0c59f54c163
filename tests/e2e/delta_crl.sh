#!/bin/bash
# End-to-end: delta CRLs (issue 15, item 3; RFC 5280 5.2.4). A CA turns
# them on ('mica crl --delta-hours 1'); then
#   - its complete CRL names the deltas (Freshest CRL, URL/delta.crl) and
#     a delta carries a critical Delta CRL Indicator with the complete
#     CRL's number, in the same number series, as openssl crl -text and
#     GnuTLS certtool read them;
#   - a certificate revoked after the complete CRL was published: openssl
#     verify -crl_check accepts it with the complete CRL alone, and
#     rejects it (revoked) with -use_deltas and the delta; another one is
#     accepted with both;
#   - mica revoke publishes a delta, not a complete CRL;
#   - mica serve answers /crl (the complete CRL) and /delta.crl (the
#     latest delta) with the stored bytes, and publishes a delta at start
#     when the complete CRL is newer than the last delta;
#   - mica publish writes it as delta.crl;
#   - turning deltas off drops the Freshest CRL from the next complete CRL.
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/delta_crl.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need openssl certtool curl sqlite3

W=$(mktmp)
D=$W/ca
serve_ports
"$MICA" -d "$D" init --name "Delta Test Root" --domain example.test --public-url "$H" \
	>/dev/null 2>&1 || die "mica init"
"$MICA" -d "$D" export-root --pem >"$W/root.pem" 2>/dev/null || die "export-root"
for n in a b; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/$n.key" \
		-subj "/CN=$n.example.test" -addext "subjectAltName=DNS:$n.example.test" \
		-out "$W/$n.csr" 2>/dev/null || die "openssl req"
	"$MICA" -d "$D" issue --csr "$W/$n.csr" --profile server --out "$W/$n.pem" 2>/dev/null ||
		die "mica issue"
done
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
crl_num() { openssl crl -in "$1" -noout -crlnumber | sed 's/^crlNumber=0x//'; }
n_complete() { sqlite3 "$D/mica.db" 'SELECT count(*) FROM crl WHERE delta_base = 0'; }

"$MICA" -d "$D" crl --delta-hours 1 --pem --out "$W/base.pem" 2>"$W/crl.err" ||
	die "mica crl --delta-hours: $(cat "$W/crl.err")"
openssl crl -in "$W/base.pem" -noout -text >"$W/base.txt" 2>&1
if grep -q "X509v3 Freshest CRL" "$W/base.txt" && grep -q "URI:$H/delta.crl" "$W/base.txt"; then
	ok "the complete CRL names its deltas: Freshest CRL $H/delta.crl"
else fail "no Freshest CRL in the complete CRL"; fi
check "the complete CRL has no Delta CRL Indicator" sh -c "! grep -q 'Delta CRL Indicator' '$W/base.txt'"

C0=$(n_complete)
"$MICA" -d "$D" revoke "$(serial_of "$W/b.pem")" --reason keyCompromise >/dev/null 2>&1 || die "revoke"
is "mica revoke publishes a delta, not a complete CRL" "$(n_complete)" "$C0"
"$MICA" -d "$D" crl --delta --pem --out "$W/delta.pem" 2>/dev/null || die "mica crl --delta"
openssl crl -in "$W/delta.pem" -noout -text >"$W/delta.txt" 2>&1
BASE_NUM=$(crl_num "$W/base.pem")
if grep -q "X509v3 Delta CRL Indicator: critical" "$W/delta.txt" &&
	[ "$(grep -A1 'Delta CRL Indicator' "$W/delta.txt" | tail -1 | tr -d ' ')" = "$((16#$BASE_NUM))" ]; then
	ok "the delta carries a critical Delta CRL Indicator: the complete CRL's number ($((16#$BASE_NUM)))"
else fail "Delta CRL Indicator"; grep -A1 "Delta" "$W/delta.txt" | sed 's/^/    /'; fi
DELTA_NUM=$(crl_num "$W/delta.pem")
if [ "$((16#$DELTA_NUM))" -gt "$((16#$BASE_NUM))" ]; then
	ok "one number series: the delta's cRLNumber ($((16#$DELTA_NUM))) follows the complete CRL's"
else fail "delta number $DELTA_NUM not above $BASE_NUM"; fi
check "the delta lists the certificate revoked since" grep -qi "Serial Number: $(serial_of "$W/b.pem")" "$W/delta.txt"
check "openssl crl: the delta's signature verifies" openssl crl -in "$W/delta.pem" -CAfile "$W/root.pem" -noout
check "GnuTLS certtool reads the complete CRL" certtool --crl-info --infile "$W/base.pem"
check "GnuTLS certtool reads the delta CRL" certtool --crl-info --infile "$W/delta.pem"

check "openssl verify, complete CRL alone: the certificate revoked since passes (the complete CRL cannot know)" \
	openssl verify -crl_check -CAfile "$W/root.pem" -CRLfile "$W/base.pem" "$W/b.pem"
if openssl verify -crl_check -use_deltas -CAfile "$W/root.pem" -CRLfile "$W/base.pem" \
	-CRLfile "$W/delta.pem" "$W/b.pem" >"$W/v.out" 2>&1; then
	fail "openssl verify -use_deltas accepted a certificate the delta revokes"
elif grep -q "certificate revoked" "$W/v.out"; then
	ok "openssl verify -crl_check -use_deltas, complete + delta: revoked"
else fail "openssl verify -use_deltas: $(tr '\n' ' ' <"$W/v.out")"; fi
check "openssl verify -use_deltas, complete + delta: the other certificate passes" \
	openssl verify -crl_check -use_deltas -CAfile "$W/root.pem" -CRLfile "$W/base.pem" \
	-CRLfile "$W/delta.pem" "$W/a.pem"

# ------------------------------------------------------------ served ----

"$MICA" -d "$D" crl >/dev/null 2>&1 || die "mica crl"   # a complete CRL newer than the delta
serve_start "$W/serve.out" "$D" -- || serve_failed "$W/serve.out"
curl -s -o "$W/srv-base.der" --max-time 20 "$H/crl"
curl -s -D "$W/dh" -o "$W/srv-delta.der" --max-time 20 "$H/delta.crl"
sqlite3 "$D/mica.db" "SELECT writefile('$W/db-delta.der', der) FROM crl WHERE delta_base > 0 ORDER BY number DESC LIMIT 1" >/dev/null
check "GET /delta.crl: the latest delta, as stored" cmp -s "$W/srv-delta.der" "$W/db-delta.der"
check "GET /delta.crl: application/pkix-crl" grep -qi '^Content-Type: application/pkix-crl' "$W/dh"
SB=$(openssl crl -inform der -in "$W/srv-base.der" -noout -crlnumber | sed 's/^crlNumber=0x//')
SD=$(openssl crl -inform der -in "$W/srv-delta.der" -noout -text | grep -A1 'Delta CRL Indicator' | tail -1 | tr -d ' ')
is "the daemon published, at start, a delta completing the newest complete CRL" "$SD" "$((16#$SB))"
# (Not with -use_deltas and the served delta: that delta lists nothing,
# since b was revoked before the complete CRL it completes, and OpenSSL
# 3.0 may take the newer of the two for the complete CRL.)
check "the served complete CRL, published after the revocation, revokes b" sh -c "
	openssl crl -inform der -in '$W/srv-base.der' -out '$W/sb.pem' &&
	! openssl verify -crl_check -CAfile '$W/root.pem' -CRLfile '$W/sb.pem' '$W/b.pem' >/dev/null 2>&1"
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0

"$MICA" -d "$D" publish "$W/pub" 2>/dev/null || die "mica publish"
check "mica publish writes the latest delta as delta.crl" cmp -s "$W/pub/delta.crl" "$W/db-delta.der"

"$MICA" -d "$D" crl --delta-hours 0 --pem --out "$W/off.pem" 2>/dev/null || die "--delta-hours 0"
check "deltas off: the next complete CRL names none" sh -c \
	"! openssl crl -in '$W/off.pem' -noout -text | grep -q 'Freshest CRL'"
expect_rc "deltas off: mica crl --delta is a conflict (6)" 6 "$MICA" -d "$D" crl --delta
finish
