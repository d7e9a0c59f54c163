#!/bin/bash
# End-to-end: a revoked code-signing certificate stays on the CRL once it
# has expired; any other leaves it (RFC 5280 3.3). A timestamped
# Authenticode signature is checked against the CRL long after the
# certificate that made it expired (CA/Browser Forum Code Signing BR
# 4.10.1 keeps such entries; so does AD CS): were the entry to go, a key
# stolen and revoked would sign "valid" timestamped code for ever.
# Checked with OpenSSL as the judge, mica run three days ahead under
# libfaketime (the certificates last one day):
#   - the CRL made then lists the revoked code-signing certificate and not
#     the revoked server certificate, both expired;
#   - openssl verify at a time within the code-signing certificate's life
#     (-attime: when the code was signed) with that CRL finds it revoked;
#   - a keyCompromise of a code-signing key then revokes the key's other,
#     expired, code-signing certificate too, and the next CRL lists it;
#     an expired server certificate of the same key is left as it is.
# Without libfaketime the script reports a skip.
#
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/codesign_crl.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need openssl

FTLIB=$(faketime_lib)
if [ -z "$FTLIB" ]; then
	skip "a code-signing certificate on the CRL after it expired" "libfaketime is not installed (scripts/setup test installs it)"
	finish
fi

W=$(mktmp)
D=$W/ca
export MICA_PASSPHRASE="codesign crl"
"$MICA" -d "$D" init --name "Code Signing Test Root" --domain example.test \
	--public-url http://ca.example.test >/dev/null 2>&1 || die "mica init"
"$MICA" -d "$D" export-root --pem >"$W/root.pem" 2>/dev/null || die "export-root"

# leaf NAME PROFILE KEY: a one-day certificate for NAME.example.test of
# PROFILE with the key $W/KEY.key (made if missing); its serial on stdout.
leaf() {
	[ -f "$W/$3.key" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$W/$3.key" 2>/dev/null || die "openssl genpkey"
	openssl req -new -key "$W/$3.key" -subj "/CN=$1.example.test" \
		-addext "subjectAltName=DNS:$1.example.test" -out "$W/$1.csr" 2>/dev/null ||
		die "openssl req"
	"$MICA" -d "$D" issue --csr "$W/$1.csr" --profile "$2" --days 1 --out "$W/$1.pem" \
		2>/dev/null || die "mica issue $1"
	serial_of "$W/$1.pem"
}
# ahead COMMAND...: run mica three days ahead.
ahead() {
	env LD_PRELOAD="$FTLIB" FAKETIME="+3d" FAKETIME_DONT_FAKE_MONOTONIC=1 \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$MICA" "$@"
}
# listed CRL SERIAL: is SERIAL an entry of the PEM CRL?
listed() {
	openssl crl -in "$1" -noout -text 2>/dev/null | sed -n 's/^ *Serial Number: //p' |
		tr 'A-F' 'a-f' | grep -qx "$2"
}

SIGN=$(leaf build codesign k1)
WEB=$(leaf www server k2)
SIGNED_AT=$(date -u -d '+1 hour' +%s)   # within both certificates' day
"$MICA" -d "$D" revoke "$SIGN" --reason keyCompromise >/dev/null 2>&1 || fail "revoke the code-signing certificate"
"$MICA" -d "$D" revoke "$WEB" --reason keyCompromise >/dev/null 2>&1 || fail "revoke the server certificate"
"$MICA" -d "$D" crl --pem --out "$W/now.pem" >/dev/null 2>&1 || die "mica crl"
listed "$W/now.pem" "$SIGN" && listed "$W/now.pem" "$WEB" &&
	ok "before they expire, the CRL lists both" || fail "CRL now: $(openssl crl -in "$W/now.pem" -noout -text 2>&1 | head -30)"

echo "# three days on: both expired"
ahead -d "$D" crl --pem --out "$W/later.pem" >/dev/null 2>"$W/later.err" || die "mica crl ahead: $(cat "$W/later.err")"
listed "$W/later.pem" "$SIGN" &&
	ok "the revoked code-signing certificate is still on the CRL" ||
	fail "code signing left the CRL: $(openssl crl -in "$W/later.pem" -noout -text 2>&1 | head -30)"
listed "$W/later.pem" "$WEB" &&
	fail "the expired server certificate is still on the CRL" ||
	ok "the expired server certificate has left it"
openssl crl -in "$W/later.pem" -noout -verify -CAfile "$W/root.pem" 2>/dev/null &&
	ok "... a CRL signed by the root" || fail "the later CRL does not verify"
# What Authenticode does with a timestamp: the certificate at the time the
# code was signed, against the CRL of now.
openssl verify -attime "$SIGNED_AT" -crl_check -CAfile "$W/root.pem" -CRLfile "$W/later.pem" \
	"$W/build.pem" >"$W/v.out" 2>&1
grep -q "certificate revoked" "$W/v.out" &&
	ok "openssl verify at the signing time finds it revoked" ||
	fail "openssl verify -attime: $(cat "$W/v.out")"

echo "# a key found compromised after its certificates expired"
OLD=$(leaf tool-old codesign k3)
WEBOLD=$(leaf tool-web server k3)
# A certificate for the same key, valid three days on (8 days).
openssl req -new -key "$W/k3.key" -subj "/CN=tool.example.test" \
	-addext "subjectAltName=DNS:tool.example.test" -out "$W/tool.csr" 2>/dev/null || die "openssl req"
ahead -d "$D" issue --csr "$W/tool.csr" --profile codesign --days 8 --out "$W/tool.pem" \
	>/dev/null 2>&1 || die "issue tool ahead"
NEW=$(serial_of "$W/tool.pem")
ahead -d "$D" revoke "$NEW" --reason keyCompromise >/dev/null 2>"$W/rv.err" || fail "revoke tool: $(cat "$W/rv.err")"
grep -q "$OLD" "$W/rv.err" && ok "keyCompromise names the key's expired code-signing certificate" ||
	fail "revoke said: $(cat "$W/rv.err")"
ahead -d "$D" show "$OLD" --json >"$W/old.json" 2>/dev/null
is "... which is revoked too" "$(json_get "$W/old.json" status)" revoked
is "... for keyCompromise" "$(json_get "$W/old.json" revocation_reason)" keyCompromise
ahead -d "$D" show "$WEBOLD" --json >"$W/webold.json" 2>/dev/null
is "the key's expired server certificate is left as it was" "$(json_get "$W/webold.json" revoked_at)" ""
ahead -d "$D" crl --pem --out "$W/last.pem" >/dev/null 2>&1 || die "mica crl ahead"
listed "$W/last.pem" "$OLD" && listed "$W/last.pem" "$NEW" && listed "$W/last.pem" "$SIGN" &&
	ok "the next CRL lists the key's code-signing certificates, expired or not" ||
	fail "last CRL: $(openssl crl -in "$W/last.pem" -noout -text 2>&1 | head -40)"
listed "$W/last.pem" "$WEBOLD" && fail "... and the server certificate" || ok "... and not the server certificate"
unset MICA_PASSPHRASE

finish
