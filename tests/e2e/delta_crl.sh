#!/bin/bash
# End-to-end: delta CRLs (issue 15, item 3; RFC 5280 5.2.4). A CA turns
# them on ('mica crl --delta-hours 1'); then
#   - its complete CRL names the deltas (Freshest CRL, URL/delta.crl) and
#     a delta carries a critical Delta CRL Indicator with the complete
#     CRL's number, in the same number series, as openssl crl -text and
#     GnuTLS certtool --crl-info read them;
#   - a certificate revoked after the complete CRL was published: openssl
#     verify -crl_check accepts it with the complete CRL alone, and
#     rejects it (revoked) with -use_deltas and the delta; another one is
#     accepted with both;
#   - GnuTLS certtool --verify: the complete CRL alone accepts the
#     certificate revoked since, the delta rejects it (GnuTLS reads a
#     delta as a CRL of its own), the other certificate passes;
#   - NSS (certutil, crlutil): imports the complete CRL; refuses the delta
#     (SEC_ERROR_CRL_UNKNOWN_CRITICAL_EXTENSION: NSS has no delta CRLs)
#     and keeps the complete one; the next complete CRL, imported, makes
#     certutil -V say revoked, the other certificate still valid. A
#     client that cannot read deltas learns at the next complete CRL, as
#     the README says (skipped, counted, without NSS's tools);
#   - mica revoke publishes a delta, not a complete CRL;
#   - mica serve answers /crl (the complete CRL) and /delta.crl (the
#     latest delta) with the stored bytes, and publishes a delta at start
#     when the complete CRL is newer than the last delta;
#   - mica publish writes it as delta.crl;
#   - turning deltas off drops the Freshest CRL from the next complete CRL
#     and publishes a last delta on it, valid as long as the complete
#     CRLs that named one; once that has expired /delta.crl is 404
#     (libfaketime; skipped, counted, without it), and mica publish
#     removes the delta.crl it wrote before.
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
crl_num() { openssl crl -in "$1" -noout -crlnumber | sed 's/^crlNumber=0x//'; }
n_complete() { sqlite3 "$D/mica.db" 'SELECT count(*) FROM crl WHERE delta_base = 0'; }

"$MICA" -d "$D" crl --delta-hours 1 --pem --out "$W/base.pem" 2>"$W/crl.err" ||
	die "mica crl --delta-hours: $(cat "$W/crl.err")"
openssl crl -in "$W/base.pem" -noout -text >"$W/base.txt" 2>&1
if grep -q "X509v3 Freshest CRL" "$W/base.txt" && grep -q "URI:$H/delta.crl" "$W/base.txt"; then
	ok "the complete CRL names its deltas: Freshest CRL $H/delta.crl"
else fail "no Freshest CRL in the complete CRL"; fi
check "the complete CRL has no Delta CRL Indicator" sh -c "! grep -q 'Delta CRL Indicator' '$W/base.txt'"
is "turning deltas on publishes one delta on the complete CRL, not two alike" \
	"$(sqlite3 "$D/mica.db" 'SELECT count(*) FROM crl WHERE delta_base > 0')" 1

C0=$(n_complete)
"$MICA" -d "$D" revoke "$(serial_of "$W/b.pem")" --reason keyCompromise >/dev/null 2>"$W/rev.err" || die "revoke"
is "mica revoke publishes a delta, not a complete CRL" "$(n_complete)" "$C0"
is "... and says so, with its number and the complete CRL's" "$(cat "$W/rev.err")" \
	"revoked $(serial_of "$W/b.pem") (keyCompromise); delta CRL $(sqlite3 "$D/mica.db" 'SELECT max(number) FROM crl') published (on complete CRL $(sqlite3 "$D/mica.db" 'SELECT max(number) FROM crl WHERE delta_base = 0'))"
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
certtool --crl-info --infile "$W/base.pem" >"$W/gt-base.txt" 2>&1
check "GnuTLS certtool reads the complete CRL: Freshest CRL (2.5.29.46), not critical" \
	grep -q "extension 2.5.29.46 (not critical)" "$W/gt-base.txt"
certtool --crl-info --infile "$W/delta.pem" >"$W/gt-delta.txt" 2>&1
check "GnuTLS certtool reads the delta: Delta CRL Indicator (2.5.29.27) critical, the complete CRL's number" \
	sh -c "grep -A2 'extension 2.5.29.27 (critical)' '$W/gt-delta.txt' | grep -qi 'Hexdump: 0201$(printf '%02x' "$((16#$BASE_NUM))")'"
check "GnuTLS certtool reads the delta: the certificate revoked since" \
	grep -qi "Serial Number (hex): $(serial_of "$W/b.pem")" "$W/gt-delta.txt"
gt_verify() { # gt_verify CRL CERT: certtool's verdict
	certtool --verify --load-ca-certificate "$W/root.pem" --load-crl "$1" --infile "$2" 2>&1 |
		sed -n 's/^Chain verification output: //p'
}
case $(gt_verify "$W/base.pem" "$W/b.pem") in
"Verified."*) ok "GnuTLS certtool --verify, complete CRL alone: the certificate revoked since passes" ;;
*) fail "GnuTLS certtool --verify with the complete CRL: $(gt_verify "$W/base.pem" "$W/b.pem")" ;;
esac
case $(gt_verify "$W/delta.pem" "$W/b.pem") in
*"is revoked"*) ok "GnuTLS certtool --verify with the delta: revoked" ;;
*) fail "GnuTLS certtool --verify with the delta: $(gt_verify "$W/delta.pem" "$W/b.pem")" ;;
esac
case $(gt_verify "$W/delta.pem" "$W/a.pem") in
"Verified."*) ok "GnuTLS certtool --verify with the delta: the other certificate passes" ;;
*) fail "GnuTLS certtool --verify, other certificate: $(gt_verify "$W/delta.pem" "$W/a.pem")" ;;
esac

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

# A complete CRL newer than the delta (it lists b). NSS imports a CRL only
# if its thisUpdate is later than the one it holds, to the second: on a
# fast machine all of the above fits in the second the base CRL was made
# in (its thisUpdate is five minutes before it), so wait for the clock to
# pass it (a condition, not a fixed pause).
BASE_EPOCH=$(date -d "$(openssl crl -in "$W/base.pem" -noout -lastupdate | cut -d= -f2)" +%s) ||
	die "the complete CRL's thisUpdate"
wait_for "the second after the complete CRL was made" 5 \
	sh -c "[ \$(date +%s) -gt $((BASE_EPOCH + 300)) ]" || die "the clock did not pass the CRL's making"
"$MICA" -d "$D" crl --pem --out "$W/full2.pem" >/dev/null 2>&1 || die "mica crl"

# ---------------------------------------------------------------- NSS ---

if command -v certutil >/dev/null && command -v crlutil >/dev/null; then
	NDB=sql:$W/nssdb
	mkdir -p "$W/nssdb"
	certutil -N -d "$NDB" --empty-password >/dev/null 2>&1 || die "certutil -N"
	certutil -A -d "$NDB" -n root -t "C,," -i "$W/root.pem" || die "certutil -A root"
	certutil -A -d "$NDB" -n a -t ",," -i "$W/a.pem" || die "certutil -A a"
	certutil -A -d "$NDB" -n b -t ",," -i "$W/b.pem" || die "certutil -A b"
	for c in base delta full2; do
		openssl crl -in "$W/$c.pem" -outform der -out "$W/$c.der" || die "openssl crl -outform der"
	done
	check "NSS crlutil -I imports the complete CRL" crlutil -I -d "$NDB" -i "$W/base.der" -B
	check "NSS certutil -V, complete CRL: the certificate revoked since is valid (the CRL cannot know)" \
		sh -c "certutil -V -d '$NDB' -n b -u V | grep -q 'certificate is valid'"
	crlutil -I -d "$NDB" -i "$W/delta.der" >"$W/nss-delta.out" 2>&1
	NRC=$?
	if [ "$NRC" != 0 ] && grep -q "SEC_ERROR_CRL_UNKNOWN_CRITICAL_EXTENSION" "$W/nss-delta.out"; then
		ok "NSS crlutil refuses the delta: its critical Delta CRL Indicator is unknown to NSS"
	else fail "NSS and the delta CRL: exit $NRC, $(tr '\n' ' ' <"$W/nss-delta.out")"; fi
	check "NSS keeps the complete CRL (one CRL listed)" \
		sh -c "[ \$(crlutil -L -d '$NDB' | grep -c '^root ') = 1 ]"
	check "NSS crlutil -I imports the next complete CRL" crlutil -I -d "$NDB" -i "$W/full2.der" -B
	check "NSS certutil -V, next complete CRL: revoked" \
		sh -c "certutil -V -d '$NDB' -n b -u V 2>&1 | grep -q 'has been revoked'"
	check "NSS certutil -V, next complete CRL: the other certificate is valid" \
		sh -c "certutil -V -d '$NDB' -n a -u V | grep -q 'certificate is valid'"
else
	skip "NSS reads the complete and delta CRLs" "certutil/crlutil missing (Debian: libnss3-tools)"
fi

serve_start "$W/serve.out" "$D" -- || serve_failed "$W/serve.out"
curl -s -o "$W/srv-base.der" --max-time $((20 * TIME_SCALE)) "$H/crl"
curl -s -D "$W/dh" -o "$W/srv-delta.der" --max-time $((20 * TIME_SCALE)) "$H/delta.crl"
stored_crl "$D" "delta_base > 0 ORDER BY number DESC" "$W/db-delta.der"
check "GET /delta.crl: the latest delta, as stored" cmp -s "$W/srv-delta.der" "$W/db-delta.der"
check "GET /delta.crl: application/pkix-crl" grep -qi '^Content-Type: application/pkix-crl' "$W/dh"
SB=$(openssl crl -inform der -in "$W/srv-base.der" -noout -crlnumber | sed 's/^crlNumber=0x//')
SD=$(openssl crl -inform der -in "$W/srv-delta.der" -noout -text | grep -A1 'Delta CRL Indicator' | tail -1 | tr -d ' ')
is "the daemon published, at start, a delta completing the newest complete CRL" "$SD" "$((16#$SB))"
check "the served complete CRL, published after the revocation, revokes b" sh -c "
	openssl crl -inform der -in '$W/srv-base.der' -out '$W/sb.pem' &&
	! openssl verify -crl_check -CAfile '$W/root.pem' -CRLfile '$W/sb.pem' '$W/b.pem' >/dev/null 2>&1"
# The served delta lists nothing (b was revoked before the complete CRL it
# completes). Without -extended_crl, OpenSSL 3.0 scores a delta like a
# complete CRL and takes the newer of the two, so b would pass: the
# README's command has -extended_crl, and with it the pair revokes b.
openssl crl -inform der -in "$W/srv-delta.der" -out "$W/sd.pem" 2>/dev/null
if openssl verify -crl_check -extended_crl -use_deltas -CAfile "$W/root.pem" -CRLfile "$W/sb.pem" \
	-CRLfile "$W/sd.pem" "$W/b.pem" >"$W/v2.out" 2>&1; then
	fail "openssl verify -extended_crl -use_deltas, served complete CRL + its empty delta: b passes"
elif grep -q "certificate revoked" "$W/v2.out"; then
	ok "openssl verify -extended_crl -use_deltas (the README's), served complete CRL + its empty delta: b revoked"
else fail "openssl verify -extended_crl -use_deltas: $(tr '\n' ' ' <"$W/v2.out")"; fi
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0

"$MICA" -d "$D" publish "$W/pub" 2>/dev/null || die "mica publish"
check "mica publish writes the latest delta as delta.crl" cmp -s "$W/pub/delta.crl" "$W/db-delta.der"

# ------------------------------------------------- release from hold ---

# A release from hold publishes a complete CRL that no longer lists the
# certificate; the delta served beside it must complete that one, not the
# older complete CRL whose delta still lists the hold (RFC 5280 5.2.4: a
# delta and its base make the complete CRL as of the delta's time).
A_SER=$(serial_of "$W/a.pem")
"$MICA" -d "$D" revoke "$A_SER" --reason certificateHold >/dev/null 2>&1 || die "hold"
stored_crl "$D" "delta_base > 0 ORDER BY number DESC" "$W/hold-delta.der" || die "the hold's delta"
check "a hold publishes a delta that lists the certificate" \
	sh -c "openssl crl -inform der -in '$W/hold-delta.der' -noout -text | grep -qi 'Serial Number: $A_SER'"
"$MICA" -d "$D" unrevoke "$A_SER" >/dev/null 2>&1 || die "unrevoke"
stored_crl "$D" "delta_base = 0 ORDER BY number DESC" "$W/rel-base.der" || die "the release's complete CRL"
stored_crl "$D" "delta_base > 0 ORDER BY number DESC" "$W/rel-delta.der" || die "the newest delta"
RB=$(openssl crl -inform der -in "$W/rel-base.der" -noout -crlnumber | sed 's/^crlNumber=0x//')
RD=$(openssl crl -inform der -in "$W/rel-delta.der" -noout -text | grep -A1 'Delta CRL Indicator' | tail -1 | tr -d ' ')
is "after the release, the newest delta completes the new complete CRL" "$RD" "$((16#$RB))"
check "and lists the released certificate no more" \
	sh -c "! openssl crl -inform der -in '$W/rel-delta.der' -noout -text | grep -qi 'Serial Number: $A_SER'"
openssl crl -inform der -in "$W/rel-base.der" -out "$W/rel-base.pem" 2>/dev/null
openssl crl -inform der -in "$W/rel-delta.der" -out "$W/rel-delta.pem" 2>/dev/null
check "openssl verify -use_deltas, the new complete CRL and its delta: the released certificate passes" \
	openssl verify -crl_check -extended_crl -use_deltas -CAfile "$W/root.pem" -CRLfile "$W/rel-base.pem" \
	-CRLfile "$W/rel-delta.pem" "$W/a.pem"
C1=$(n_complete)
"$MICA" -d "$D" crl >/dev/null 2>&1 || die "mica crl"
stored_crl "$D" "delta_base = 0 ORDER BY number DESC" "$W/c3.der" || die "complete"
stored_crl "$D" "delta_base > 0 ORDER BY number DESC" "$W/d3.der" || die "delta"
is "mica crl: a complete CRL, and a delta on it" \
	"$(($(n_complete) - C1)) $(openssl crl -inform der -in "$W/d3.der" -noout -text | grep -A1 'Delta CRL Indicator' | tail -1 | tr -d ' ')" \
	"1 $((16#$(openssl crl -inform der -in "$W/c3.der" -noout -crlnumber | sed 's/^crlNumber=0x//')))"

# --delta beside --delta-hours writes the delta (it wrote the complete CRL
# while saying "published delta CRL").
"$MICA" -d "$D" crl --delta-hours 2 --delta --pem --out "$W/dh.pem" 2>/dev/null || die "--delta-hours 2 --delta"
check "crl --delta-hours 2 --delta --out: the file is the delta" sh -c \
	"openssl crl -in '$W/dh.pem' -noout -text | grep -q 'Delta CRL Indicator'"
expect_rc "crl --delta-hours 0 --delta: a usage error (2)" 2 "$MICA" -d "$D" crl --delta-hours 0 --delta

stored_crl "$D" "delta_base = 0 ORDER BY number DESC" "$W/on-base.der" || die "the last complete CRL with deltas"
# An older complete CRL that a relying party may hold longer than a CRL
# period from now (published under a clock that was ahead): the last
# delta outlives it too.
HELD=$(($(date +%s) + 30 * 86400))
sqlite3 "$D/mica.db" "UPDATE crl SET next_update = $HELD WHERE number =
	(SELECT min(number) FROM crl WHERE delta_base = 0)" || die "sqlite3: an older CRL held longer"
"$MICA" -d "$D" crl --delta-hours 0 --pem --out "$W/off.pem" 2>/dev/null || die "--delta-hours 0"
check "deltas off: the next complete CRL names none" sh -c \
	"! openssl crl -in '$W/off.pem' -noout -text | grep -q 'Freshest CRL'"
expect_rc "deltas off: mica crl --delta is a conflict (6)" 6 "$MICA" -d "$D" crl --delta

# The complete CRLs published before name URL/delta.crl, and relying
# parties keep them until their nextUpdate, a CRL period away. The delta
# they fetch meanwhile is a last one on the complete CRL that turned them
# off: its base tells them theirs is outdated (no revocation made after
# the switch is left out of a delta that still completes theirs), and it
# is valid as long as they are (not the old period, then expired, 503).
stored_crl "$D" "delta_base > 0 ORDER BY number DESC" "$W/last-delta.der" || die "the last delta"
OFFN=$((16#$(crl_num "$W/off.pem")))
LD=$(openssl crl -inform der -in "$W/last-delta.der" -noout -text | grep -A1 'Delta CRL Indicator' | tail -1 | tr -d ' ')
is "deltas off: the last delta completes the complete CRL that turned them off" "$LD" "$OFFN"
LDN=$(date -d "$(openssl crl -inform der -in "$W/last-delta.der" -noout -nextupdate | cut -d= -f2)" +%s)
OBN=$(date -d "$(openssl crl -inform der -in "$W/on-base.der" -noout -nextupdate | cut -d= -f2)" +%s)
check "deltas off: the last delta is valid as long as the complete CRLs that named it" test "$LDN" -ge "$OBN"
check "... even one held longer than a CRL period from now" test "$LDN" -ge "$HELD"
openssl crl -inform der -in "$W/on-base.der" -out "$W/on-base.pem" 2>/dev/null
openssl crl -inform der -in "$W/last-delta.der" -out "$W/last-delta.pem" 2>/dev/null
check "openssl crl -verify: the last delta is signed by the CA" \
	sh -c "openssl crl -in '$W/last-delta.pem' -CAfile '$W/root.pem' -noout 2>&1 | grep -q 'verify OK'"
FTLIB=$(faketime_lib)
# A sanitizer build insists on its runtime coming first; libfaketime only
# wraps time calls, so the order does not matter here.
FT_ASAN="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
if [ -n "$FTLIB" ]; then
	# Once even the last delta has expired, nobody needs a delta: 404,
	# as for a CA that never published any (not 503 crl_expired and an
	# error logged at every request).
	serve_start "$W/serve-late.out" "$D" "LD_PRELOAD=$FTLIB" FAKETIME=+32d \
		FAKETIME_DONT_FAKE_MONOTONIC=1 "$FT_ASAN" -- || serve_failed "$W/serve-late.out"
	is "deltas off, the last one expired: GET /delta.crl is 404" \
		"$(curl -s -o /dev/null -w '%{http_code}' --max-time $((20 * TIME_SCALE)) "$H/delta.crl")" 404
	check "... and the complete CRL is served" \
		sh -c "curl -fsS --max-time $((20 * TIME_SCALE)) '$H/crl' | openssl crl -inform der -noout"
	serve_stop
	# mica publish removes the delta.crl it wrote before, which a web
	# server would go on serving, expired.
	check "deltas off: mica publish wrote delta.crl before" test -s "$W/pub/delta.crl"
	env LD_PRELOAD="$FTLIB" FAKETIME=+32d FAKETIME_DONT_FAKE_MONOTONIC=1 "$FT_ASAN" \
		"$MICA" -d "$D" publish "$W/pub" >/dev/null 2>"$W/pub-late.err" ||
		fail "mica publish, the last delta expired: $(tail -1 "$W/pub-late.err")"
	check "... and removes it once the last delta has expired" test ! -e "$W/pub/delta.crl"
	check "... keeping the complete CRL" sh -c "openssl crl -inform der -in '$W/pub/crl' -noout"
else
	skip "deltas off, the last one expired: GET /delta.crl is 404" "libfaketime missing"
	skip "deltas off: mica publish removes delta.crl once the last one expired" "libfaketime missing"
fi
finish
