#!/bin/bash
# End-to-end: the OCSP responder (issue 15, items 1 and 2) judged by
# independent clients. A daemon on loopback ports serves a fresh CA; its
# certificates name $H/ocsp in their AIA. Then:
#   - `openssl ocsp` (with a nonce, and -no_nonce) says good and verifies
#     the response against the root; GET /ocsp/{base64} (url-encoded, and
#     with raw '/') answers the same, with Cache-Control max-age, ETag,
#     Last-Modified and Expires; GnuTLS `ocsptool --ask` and NSS
#     `vfychain -m ocsp` (fresh information required) agree;
#   - SHA-384 and SHA-512 CertIDs (`openssl ocsp -sha384/-sha512`, with
#     and without a nonce) are good, verified, and answered with the
#     client's own CertID (openssl matches it exactly; GnuTLS ocsptool,
#     which can only send SHA-1, reads the hash from the response);
#   - GET forms some clients send: base64 without its '=' padding,
#     /ocsp//{base64} (an AIA URL ending in '/'), '+' arriving as %20,
#     all answered as the plain GET, checked by `openssl ocsp -respin`;
#   - the daemon signs responses ahead of time (ocsp_response rows) and
#     recorded its delegated responder certificate (OCSPSigning,
#     ocsp-nocheck, a few days) before using it;
#   - after `mica revoke --reason keyCompromise` every way of asking says
#     revoked with that reason and the revocation time, at once (the
#     pre-signed "good" is gone), SHA-384 and SHA-512 CertIDs too;
#   - a certificate revoked as superseded, its key found compromised later:
#     `mica revoke --reason keyCompromise` raises the reason (other
#     re-revocations stay exit 6), and openssl ocsp and openssl crl say
#     keyCompromise at the first revocation time, for it and for the key's
#     other certificates (valid, or revoked as cessationOfOperation); a new
#     CSR for the key is refused;
#   - a serial never issued is unknown, and so are zero and a 21-octet
#     one; a query added to a GET is ignored; a certificate of another CA is
#     unauthorized;
#   - hostile input gets a clean OCSP error status (malformedRequest)
#     with 200: garbage, a truncated request, an oversized one, version 2,
#     unknown hash algorithms (MD5, a made-up OID), a thousand CertIDs, an
#     over-long nonce, a GET that is not base64, a signed request
#     (`openssl ocsp -signer`, answered) whose optionalSignature is made
#     junk (not a Signature, no BIT STRING, a wrong tag, trailing data);
#     a body over the daemon's
#     64 KiB cap (three thousand CertIDs) is 413, a wrong Content-Type 415;
#     the daemon lives on;
#   - stapling: `openssl s_server -status_url` fetches mica's response
#     and `openssl s_client -status` verifies it, good, then revoked;
#   - two tiers (an offline root, an issuing CA): good then revoked,
#     the response verified up to the root.
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/ocsp.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3 sqlite3 ocsptool

W=$(mktmp)
D=$W/ca
serve_start "$W/serve.out" "$D" -- --domain example.test || serve_failed "$W/serve.out"
serve_facts "$W/serve.out" "$W"
ROOT=$W/root.pem
CLI_PASS=$D/passphrase

issue() { # issue NAME: key, CSR and certificate $W/NAME.{key,csr,pem}
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$W/$1.key" -subj "/CN=$1.example.test" \
		-addext "subjectAltName=DNS:$1.example.test" -out "$W/$1.csr" 2>/dev/null ||
		die "openssl req"
	"$MICA" -d "$D" issue --csr "$W/$1.csr" --profile server --out "$W/$1.pem" \
		2>"$W/issue.err" || { cat "$W/issue.err" >&2; die "mica issue"; }
}
# ask CERT [openssl ocsp options]: output of openssl ocsp in $W/ask.out
ask() {
	local c=$1
	shift
	openssl ocsp -issuer "$ROOT" -cert "$c" -url "$H/ocsp" -CAfile "$ROOT" \
		-timeout 20 "$@" >"$W/ask.out" 2>&1
}
# ask_md MD CERT [openssl ocsp options]: ask with CertIDs of digest MD
# (sha384...; openssl wants it before -cert)
ask_md() {
	local md=$1 c=$2
	shift 2
	openssl ocsp -issuer "$ROOT" "-$md" -cert "$c" -url "$H/ocsp" -CAfile "$ROOT" \
		-timeout 20 "$@" >"$W/ask.out" 2>&1
}
# status_of OUT CERT: the status openssl printed for CERT ("good" ...)
status_of() { sed -n "s|^$2: ||p" "$1" | head -1; }
# post FILE: POST FILE as an OCSP request; body in $W/resp.der, the HTTP
# status in HTTP_CODE.
post() {
	HTTP_CODE=$(curl -s -o "$W/resp.der" -w '%{http_code}' --max-time $((20 * TIME_SCALE)) \
		-H 'Content-Type: application/ocsp-request' --data-binary @"$1" "$H/ocsp")
}
# resp_status FILE: the OCSPResponseStatus of a DER response.
resp_status() {
	python3 - "$1" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
# SEQUENCE { ENUMERATED status, ... }: the status octet follows 0a 01.
i = d.find(b'\x0a\x01')
print(d[i + 2] if d[:1] == b'\x30' and 0 < i < 6 else 'none')
PY
}
urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# ------------------------------------------------------------ good -------

issue srv
S=$(serial_of "$W/srv.pem")
AIA=$(openssl x509 -in "$W/srv.pem" -noout -ext authorityInfoAccess 2>/dev/null)
case $AIA in
*"OCSP - URI:$H/ocsp"*) ok "the certificate names $H/ocsp in its AIA" ;;
*) fail "no OCSP URL in the AIA: $AIA" ;;
esac

ask "$W/srv.pem"
is "openssl ocsp (nonce): good" "$(status_of "$W/ask.out" "$W/srv.pem")" good
check "openssl ocsp (nonce): the response verifies against the root" grep -q "^Response verify OK" "$W/ask.out"
ask "$W/srv.pem" -no_nonce
is "openssl ocsp -no_nonce: good" "$(status_of "$W/ask.out" "$W/srv.pem")" good
check "openssl ocsp -no_nonce: the response verifies" grep -q "^Response verify OK" "$W/ask.out"

# The responder certificate, as OpenSSL reads it from a response.
ask "$W/srv.pem" -no_nonce -resp_text
if grep -q "OCSP Signing" "$W/ask.out" && grep -q "OCSP No Check" "$W/ask.out" &&
	grep -q "Subject: CN *= *mica OCSP responder" "$W/ask.out"; then
	ok "responses carry a delegated responder certificate: OCSPSigning, ocsp-nocheck"
else
	fail "the responder certificate is not a delegated OCSP signer"; grep -A3 "Extended Key" "$W/ask.out" | sed 's/^/    /'
fi
nb=$(sed -n 's/^ *Not Before: //p' "$W/ask.out" | head -1)
na=$(sed -n 's/^ *Not After : //p' "$W/ask.out" | head -1)
life=$(( ($(date -u -d "$na" +%s) - $(date -u -d "$nb" +%s)) / 3600 ))
if [ "$life" -gt 0 ] && [ "$life" -le 96 ]; then ok "the responder certificate lives $life hours (at most 4 days)"
else fail "the responder certificate lives $life hours"; fi
check "the responder certificate was recorded (ocsp_responder) and audited" \
	sh -c "[ \$(sqlite3 '$D/mica.db' 'SELECT count(*) FROM ocsp_responder') -ge 1 ] &&
	       [ \$(sqlite3 '$D/mica.db' \"SELECT count(*) FROM audit WHERE action = 'ocsp.responder'\") -ge 1 ]"

# GET, url-encoded as RFC 6960 A.1 says, and with raw '/' as some send.
openssl ocsp -issuer "$ROOT" -cert "$W/srv.pem" -no_nonce -reqout "$W/req.der" >/dev/null 2>&1 ||
	die "openssl ocsp -reqout"
B64=$(base64 -w0 "$W/req.der")
code=$(curl -s -D "$W/get.h" -o "$W/get.der" -w '%{http_code}' --max-time $((20 * TIME_SCALE)) "$H/ocsp/$(urlenc "$B64")")
is "GET /ocsp/{base64}: 200" "$code" 200
openssl ocsp -respin "$W/get.der" -issuer "$ROOT" -cert "$W/srv.pem" -CAfile "$ROOT" >"$W/get.out" 2>&1
is "GET /ocsp/{base64}: good, as openssl reads it" "$(status_of "$W/get.out" "$W/srv.pem")" good
check "GET: Content-Type application/ocsp-response" grep -qi '^Content-Type: application/ocsp-response' "$W/get.h"
maxage=$(sed -n 's/^Cache-Control: public, max-age=\([0-9]*\).*/\1/ip' "$W/get.h" | tr -d '\r')
if [ -n "$maxage" ] && [ "$maxage" -gt 0 ] && [ "$maxage" -le 86400 ]; then
	ok "GET: Cache-Control max-age=$maxage (no later than nextUpdate)"
else fail "GET: Cache-Control: $(grep -i '^Cache-Control' "$W/get.h")"; fi
check "GET: ETag, Last-Modified and Expires (RFC 5019 6.2)" \
	sh -c "grep -qi '^ETag: \"' '$W/get.h' && grep -qi '^Last-Modified: ' '$W/get.h' && grep -qi '^Expires: ' '$W/get.h'"
OETAG=$(sed -n 's/^ETag: //Ip' "$W/get.h" | tr -d '\r')
is "GET again with If-None-Match: its ETag: 304, no body (RFC 9110 13.1.2)" \
	"$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time $((20 * TIME_SCALE)) \
		-H "If-None-Match: $OETAG" "$H/ocsp/$(urlenc "$B64")")" "304 0"
code=$(curl -s -o "$W/get2.der" -w '%{http_code}' --max-time $((20 * TIME_SCALE)) "$H/ocsp/$B64")
if [ "$code" = 200 ] && cmp -s "$W/get.der" "$W/get2.der"; then ok "GET with raw base64 ('/' and '+' unencoded): the same response"
else fail "GET with raw base64: $code"; fi
# A query a cache or proxy added is ignored, as a web server ignores it
# on a file: the client still gets an OCSP response, not an API error.
code=$(curl -s -D "$W/getq.h" -o "$W/getq.der" -w '%{http_code}' --max-time $((20 * TIME_SCALE)) \
	"$H/ocsp/$(urlenc "$B64")?nocache=1&x=%zz")
openssl ocsp -respin "$W/getq.der" -issuer "$ROOT" -cert "$W/srv.pem" -CAfile "$ROOT" >"$W/getq.out" 2>&1
if [ "$code" = 200 ] && grep -qi '^Content-Type: application/ocsp-response' "$W/getq.h" &&
	[ "$(status_of "$W/getq.out" "$W/srv.pem")" = good ]; then
	ok "GET /ocsp/{base64}?query: the query ignored, good"
else fail "GET with a query: $code $(head -c 200 "$W/getq.der")"; fi

# SHA-384 and SHA-512 CertIDs. openssl finds the status only under the
# CertID it sent (OCSP_resp_find_status compares the hash algorithm
# too): "good" means the response echoed the client's CertID.
for md in sha384 sha512; do
	ask_md $md "$W/srv.pem"
	is "openssl ocsp -$md (nonce): good" "$(status_of "$W/ask.out" "$W/srv.pem")" good
	check "openssl ocsp -$md (nonce): the response verifies" grep -q "^Response verify OK" "$W/ask.out"
	ask_md $md "$W/srv.pem" -no_nonce -resp_text
	is "openssl ocsp -$md -no_nonce: good" "$(status_of "$W/ask.out" "$W/srv.pem")" good
	check "openssl ocsp -$md -no_nonce: verifies, its CertID's hash is $md (not the pre-signed SHA-1 one)" \
		sh -c "grep -q '^Response verify OK' '$W/ask.out' && grep -q 'Hash Algorithm: $md' '$W/ask.out' &&
		       ! grep -q 'Hash Algorithm: sha1' '$W/ask.out'"
done
# The GET forms some clients send, for SHA-1 (the pre-signed answer) and
# SHA-384/SHA-512 CertIDs, each checked by openssl with the same digest.
unpadded=0 plus=0
for md in sha1 sha384 sha512; do
	openssl ocsp -issuer "$ROOT" -$md -cert "$W/srv.pem" -no_nonce -reqout "$W/req-$md.der" \
		>/dev/null 2>&1 || die "openssl ocsp -$md -reqout"
	b64=$(base64 -w0 "$W/req-$md.der")
	bare=${b64%%=*}
	[ "$bare" != "$b64" ] && unpadded=$((unpadded + 1))
	forms="$b64 $bare /$b64 /$bare"
	case $b64 in *+*) forms="$forms ${b64//+/%20}"; plus=$((plus + 1)) ;; esac
	for f in $forms; do
		code=$(curl -s -o "$W/getf.der" -w '%{http_code}' --max-time $((20 * TIME_SCALE)) "$H/ocsp/$f")
		openssl ocsp -respin "$W/getf.der" -issuer "$ROOT" -$md -cert "$W/srv.pem" \
			-CAfile "$ROOT" >"$W/getf.out" 2>&1
		if [ "$code" = 200 ] && [ "$(status_of "$W/getf.out" "$W/srv.pem")" = good ] &&
			grep -q "^Response verify OK" "$W/getf.out"; then :
		else fail "GET /ocsp/$f ($md): $code"; sed 's/^/    /' "$W/getf.out" | head -3; continue 2; fi
	done
	ok "GET ($md): padded, unpadded, /ocsp//{base64}$(case $b64 in *+*) echo ", '+' as %20" ;; esac): good, verified"
done
check "the GET forms included base64 that had padding to drop ($unpadded of 3)" test "$unpadded" -ge 1
if [ "$plus" -ge 1 ]; then ok "the GET forms included base64 with '+' ($plus of 3)"
else skip "a GET with '+' as %20" "no request's base64 had a '+'"; fi
# GnuTLS can only ask with SHA-1 (ocsptool has no digest option), but
# reads a response: the SHA-384 one names its CertID's hash so.
curl -s -o "$W/get384.der" --max-time $((20 * TIME_SCALE)) "$H/ocsp/$(base64 -w0 "$W/req-sha384.der")"
ocsptool -j -S "$W/get384.der" >"$W/gt384.out" 2>&1
check "GnuTLS ocsptool reads the SHA-384 response: its CertID is SHA384" grep -q "Hash Algorithm: SHA384" "$W/gt384.out"
# /ocsp/ and /ocsp// name no request.
for p in / //; do
	code=$(curl -s -o "$W/resp.der" -w '%{http_code}' --max-time $((20 * TIME_SCALE)) "$H/ocsp$p")
	is "GET /ocsp$p: 200 malformedRequest" "$code $(resp_status "$W/resp.der")" "200 1"
done

is "GET /crl?query and /ca.crt?download=1: served (a file's query is ignored)" \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time $((20 * TIME_SCALE)) "$H/crl?v=2") $(curl -s -o /dev/null -w '%{http_code}' --max-time $((20 * TIME_SCALE)) "$H/ca.crt?download=1")" "200 200"

if ocsptool --ask --load-issuer "$ROOT" --load-cert "$W/srv.pem" --load-trust "$ROOT" \
	>"$W/gt.out" 2>&1 &&
	grep -q "Certificate Status: good" "$W/gt.out" && grep -q "Verifying OCSP Response: Success" "$W/gt.out"; then
	ok "GnuTLS ocsptool --ask: good, response verified"
else fail "GnuTLS ocsptool --ask"; sed 's/^/    /' "$W/gt.out" | tail -8; fi

# NSS (Firefox's library): vfychain with the root alone trusted, leaf
# revocation by OCSP only, requireFreshInfo (no answer from the responder
# named in the AIA fails the chain).
nss_ocsp() { # nss_ocsp CERT.pem: vfychain's verdict in $W/nss.out
	openssl x509 -in "$1" -outform der -out "$W/nss-leaf.der" 2>/dev/null
	vfychain -d "sql:$W/nss" -pp -u 1 -g leaf -m ocsp -s requireFreshInfo \
		"$W/nss-leaf.der" >"$W/nss.out" 2>&1
}
if command -v vfychain >/dev/null && command -v certutil >/dev/null; then
	mkdir -p "$W/nss"
	certutil -N -d "sql:$W/nss" --empty-password >/dev/null 2>&1
	certutil -A -d "sql:$W/nss" -n root -t C,, -i "$ROOT" >/dev/null 2>&1
	nss_ocsp "$W/srv.pem"
	check "NSS vfychain, OCSP required fresh: the chain is good" grep -q 'Chain is good' "$W/nss.out"
else
	skip "NSS vfychain asks mica's OCSP responder" "libnss3-tools is not installed"
fi

# Pre-signed: the daemon's background refresh keeps a response per
# certificate (this one, and the daemon's own TLS certificate).
wait_for "pre-signed responses" 60 sh -c \
	"[ \$(sqlite3 '$D/mica.db' \"SELECT count(*) FROM ocsp_response WHERE serial = '$S'\") = 1 ]" &&
	ok "the daemon signed the certificate's response ahead of time" ||
	fail "no pre-signed response for $S"
# Kept without the responder certificate (schema 009), which is added
# back when served (and published).
LEN=$(sqlite3 "$D/mica.db" "SELECT length(der) FROM ocsp_response WHERE serial = '$S' AND responder IN (SELECT serial FROM ocsp_responder)")
check "the store keeps the response without the responder certificate ($LEN octets)" \
	test "${LEN:-0}" -gt 100 -a "${LEN:-0}" -lt 400
curl -s -o "$W/get3.der" --max-time $((20 * TIME_SCALE)) "$H/ocsp/$(urlenc "$B64")"
openssl ocsp -respin "$W/get3.der" -issuer "$ROOT" -cert "$W/srv.pem" -CAfile "$ROOT" -resp_text >"$W/get3.out" 2>&1
check "the pre-signed answer is whole: the responder certificate in it, verified" \
	sh -c "grep -q 'srv.pem: good' '$W/get3.out' && grep -q 'OCSP Signing' '$W/get3.out' && grep -q 'Response verify OK' '$W/get3.out'"

# ----------------------------------------------------------- revoked -----

# A twin: another certificate of srv's key, good until srv's key is
# revoked for keyCompromise, then revoked with it.
openssl req -new -key "$W/srv.key" -subj /CN=twin.example.test \
	-addext "subjectAltName=DNS:twin.example.test" -out "$W/twin.csr" 2>/dev/null || die "openssl req"
"$MICA" -d "$D" issue --csr "$W/twin.csr" --profile server --out "$W/twin.pem" 2>"$W/issue.err" ||
	die "mica issue: $(cat "$W/issue.err")"
ask "$W/twin.pem" -no_nonce
is "openssl ocsp: the twin of the same key is good" "$(status_of "$W/ask.out" "$W/twin.pem")" good
T0=$(date -u +%s)
"$MICA" -d "$D" revoke "$S" --reason keyCompromise >/dev/null 2>"$W/rev.err" || die "mica revoke: $(cat "$W/rev.err")"
T1=$(date -u +%s)
check "mica revoke names the twin it revoked too" grep -qi "revoked $(serial_of "$W/twin.pem") too (keyCompromise" "$W/rev.err"
for how in nonce no_nonce; do
	if [ $how = nonce ]; then ask "$W/twin.pem"; else ask "$W/twin.pem" -no_nonce; fi
	is "openssl ocsp ($how): the twin is revoked with the key" "$(status_of "$W/ask.out" "$W/twin.pem")" revoked
	check "openssl ocsp ($how): the twin's reason is keyCompromise" grep -q "Reason: keyCompromise" "$W/ask.out"
done
check "the revocation dropped the pre-signed good response" \
	sh -c "[ \$(sqlite3 '$D/mica.db' \"SELECT count(*) FROM ocsp_response WHERE serial = '$S' AND status = 1\") = 0 ]"
for how in nonce no_nonce; do
	if [ $how = nonce ]; then ask "$W/srv.pem"; else ask "$W/srv.pem" -no_nonce; fi
	is "openssl ocsp ($how) after mica revoke: revoked" "$(status_of "$W/ask.out" "$W/srv.pem")" revoked
	check "openssl ocsp ($how): reason keyCompromise" grep -q "Reason: keyCompromise" "$W/ask.out"
	rt=$(sed -n 's/^[[:space:]]*Revocation Time: //p' "$W/ask.out")
	rts=$(date -u -d "$rt" +%s 2>/dev/null || echo 0)
	if [ "$rts" -ge "$((T0 - 1))" ] && [ "$rts" -le "$((T1 + 1))" ]; then
		ok "openssl ocsp ($how): the revocation time is when mica revoked it"
	else fail "openssl ocsp ($how): revocation time '$rt' not in [$T0, $T1]"; fi
	check "openssl ocsp ($how): the response verifies" grep -q "^Response verify OK" "$W/ask.out"
done
curl -s -o "$W/get.der" --max-time $((20 * TIME_SCALE)) "$H/ocsp/$(urlenc "$B64")"
openssl ocsp -respin "$W/get.der" -issuer "$ROOT" -cert "$W/srv.pem" -CAfile "$ROOT" >"$W/get.out" 2>&1
is "GET after mica revoke: revoked" "$(status_of "$W/get.out" "$W/srv.pem")" revoked
for md in sha384 sha512; do
	ask_md $md "$W/srv.pem" -no_nonce
	is "openssl ocsp -$md after mica revoke: revoked" "$(status_of "$W/ask.out" "$W/srv.pem")" revoked
	check "openssl ocsp -$md: reason keyCompromise, verified" \
		sh -c "grep -q 'Reason: keyCompromise' '$W/ask.out' && grep -q '^Response verify OK' '$W/ask.out'"
	bare=$(base64 -w0 "$W/req-$md.der")
	curl -s -o "$W/getf.der" --max-time $((20 * TIME_SCALE)) "$H/ocsp//${bare%%=*}"
	openssl ocsp -respin "$W/getf.der" -issuer "$ROOT" -$md -cert "$W/srv.pem" -CAfile "$ROOT" >"$W/getf.out" 2>&1
	is "GET /ocsp//{unpadded $md base64} after mica revoke: revoked" "$(status_of "$W/getf.out" "$W/srv.pem")" revoked
done
if [ -d "$W/nss" ]; then
	nss_ocsp "$W/srv.pem"
	check "NSS vfychain after mica revoke: refused as revoked (SEC_ERROR_REVOKED_CERTIFICATE)" \
		sh -c "grep -q 'Chain is bad' '$W/nss.out' && grep -q -- '-8180' '$W/nss.out'"
fi
if ocsptool --ask --load-issuer "$ROOT" --load-cert "$W/srv.pem" --load-trust "$ROOT" \
	>"$W/gt.out" 2>&1; [ -s "$W/gt.out" ] &&
	grep -q "Certificate Status: revoked" "$W/gt.out" && grep -q "Verifying OCSP Response: Success" "$W/gt.out"; then
	ok "GnuTLS ocsptool --ask: revoked, response verified"
else fail "GnuTLS ocsptool --ask after revoke"; sed 's/^/    /' "$W/gt.out" | tail -8; fi

# ------------------------------------------ raised to keyCompromise -----

# A certificate revoked as superseded whose key is found compromised later:
# 'mica revoke --reason keyCompromise' raises its reason (RFC 5280 5.3.1,
# CA/B Forum BR 7.2.2), keeps its revocation date, and takes the key's
# others with it (one valid, one revoked as cessationOfOperation). Judged
# by openssl crl and openssl ocsp; the key is refused for a new
# certificate.
issue up
US=$(serial_of "$W/up.pem")
for t in up2 up3; do
	openssl req -new -key "$W/up.key" -subj "/CN=$t.example.test" \
		-addext "subjectAltName=DNS:$t.example.test" -out "$W/$t.csr" 2>/dev/null || die "openssl req"
	"$MICA" -d "$D" issue --csr "$W/$t.csr" --profile server --out "$W/$t.pem" 2>"$W/issue.err" ||
		die "mica issue: $(cat "$W/issue.err")"
done
"$MICA" -d "$D" revoke "$US" --reason superseded 2>/dev/null || die "mica revoke superseded"
"$MICA" -d "$D" revoke "$(serial_of "$W/up3.pem")" --reason cessationOfOperation 2>/dev/null ||
	die "mica revoke cessationOfOperation"
ask "$W/up.pem" -no_nonce
check "openssl ocsp: the superseded one is revoked, as superseded" \
	sh -c "grep -q '^$W/up.pem: revoked' '$W/ask.out' && grep -q 'Reason: superseded' '$W/ask.out'"
RT0=$(sed -n 's/^[[:space:]]*Revocation Time: //p' "$W/ask.out")
for r in superseded affiliationChanged certificateHold unspecified; do
	expect_rc "revoking the superseded one again as $r: a conflict (exit 6)" 6 \
		"$MICA" -d "$D" revoke "$US" --reason "$r"
done
check "mica revoke --reason keyCompromise raises the superseded one" \
	"$MICA" -d "$D" revoke "$US" --reason keyCompromise
cp "$TMP/check.out" "$W/up-rev.err"
check "... saying it raised the reason and kept the date" \
	grep -q "^revoked $US (reason raised from superseded to keyCompromise, revocation date kept); CRL [0-9]* published\$" "$W/up-rev.err"
check "... naming the key's valid other certificate" \
	grep -q "^revoked $(serial_of "$W/up2.pem") too (keyCompromise" "$W/up-rev.err"
check "... and the one revoked as cessationOfOperation" \
	grep -q "^revoked $(serial_of "$W/up3.pem") too (keyCompromise" "$W/up-rev.err"
check "the audit says from what it was raised" \
	sh -c "'$MICA' -d '$D' audit --json | grep -q 'keyCompromise (raised from superseded)'"
for how in nonce no_nonce; do
	if [ $how = nonce ]; then ask "$W/up.pem"; else ask "$W/up.pem" -no_nonce; fi
	is "openssl ocsp ($how) after the raise: revoked" "$(status_of "$W/ask.out" "$W/up.pem")" revoked
	check "openssl ocsp ($how): reason keyCompromise, verified" \
		sh -c "grep -q 'Reason: keyCompromise' '$W/ask.out' && grep -q '^Response verify OK' '$W/ask.out'"
	is "openssl ocsp ($how): the revocation time is still the first" \
		"$(sed -n 's/^[[:space:]]*Revocation Time: //p' "$W/ask.out")" "$RT0"
done
for t in up2 up3; do
	ask "$W/$t.pem" -no_nonce
	check "openssl ocsp: the key's other certificate $t is revoked for keyCompromise" \
		sh -c "grep -q '^$W/$t.pem: revoked' '$W/ask.out' && grep -q 'Reason: keyCompromise' '$W/ask.out'"
done
"$MICA" -d "$D" crl --pem --out "$W/up-crl.pem" 2>/dev/null || die "mica crl"
openssl crl -in "$W/up-crl.pem" -noout -text -CAfile "$ROOT" >"$W/up-crl.txt" 2>&1
check "openssl crl: the CRL verifies" grep -q 'verify OK' "$W/up-crl.txt"
# The entry of a serial in openssl crl -text: its lines up to the next.
crl_entry() {
	awk -v s="$(echo "$1" | tr a-f A-F)" '
		/Serial Number:/ { on = (toupper($3) == s) }
		on { print }' "$W/up-crl.txt"
}
for t in up up2 up3; do
	crl_entry "$(serial_of "$W/$t.pem")" >"$W/up-entry-$t.txt"
	check "openssl crl: $t is listed as Key Compromise" grep -q 'Key Compromise' "$W/up-entry-$t.txt"
done
is "openssl crl: the raised entry keeps its revocation date" \
	"$(date -u -d "$(crl_entry "$US" | sed -n 's/^[[:space:]]*Revocation Date: //p')" +%s)" \
	"$(date -u -d "$RT0" +%s)"
expect_rc "keyCompromise again: a conflict (exit 6)" 6 "$MICA" -d "$D" revoke "$US" --reason keyCompromise
openssl req -new -key "$W/up.key" -subj /CN=upnew.example.test \
	-addext "subjectAltName=DNS:upnew.example.test" -out "$W/upnew.csr" 2>/dev/null || die "openssl req"
expect_rc "a new CSR for the compromised key is refused (exit 4)" 4 \
	"$MICA" -d "$D" issue --csr "$W/upnew.csr" --profile server --out "$W/upnew.pem"
check "... as a compromised key" grep -q "revoked for key compromise" "$TMP/rc.err"

# ----------------------------------------------- unknown, unauthorized ---

openssl ocsp -issuer "$ROOT" -serial 0x1234567890abcdef -url "$H/ocsp" -CAfile "$ROOT" \
	-timeout 20 >"$W/unk.out" 2>&1
if grep -q "^0x1234567890ABCDEF: unknown\|: unknown$" "$W/unk.out"; then ok "a serial never issued: unknown"
else fail "a serial never issued"; sed 's/^/    /' "$W/unk.out" | head -5; fi
# Serials no certificate can have are INTEGERs all the same: unknown,
# not malformedRequest (RFC 6960 4.1.1, RFC 5280 4.1.2.2).
for ser in 0 0x112233445566778899aabbccddeeff00112233; do
	openssl ocsp -issuer "$ROOT" -serial "$ser" -url "$H/ocsp" -CAfile "$ROOT" \
		-timeout 20 >"$W/unk0.out" 2>&1
	if grep -q ": unknown$" "$W/unk0.out" && grep -q "^Response verify OK" "$W/unk0.out"; then
		ok "serial $ser: unknown, response verified"
	else fail "serial $ser"; sed 's/^/    /' "$W/unk0.out" | head -5; fi
done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=Other -keyout "$W/other.key" -out "$W/other.pem" 2>/dev/null || die "other CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=x \
	-keyout "$W/ox.key" 2>/dev/null | openssl x509 -req -CA "$W/other.pem" -CAkey "$W/other.key" \
	-days 1 -out "$W/ox.pem" 2>/dev/null || die "other leaf"
openssl ocsp -issuer "$W/other.pem" -cert "$W/ox.pem" -url "$H/ocsp" -timeout $((20 * TIME_SCALE)) >"$W/oth.out" 2>&1
if grep -qi "Responder Error: unauthorized (6)" "$W/oth.out"; then ok "another CA's certificate: unauthorized"
else fail "another CA's certificate"; sed 's/^/    /' "$W/oth.out" | head -5; fi

# ----------------------------------------------------------- hostile -----

hostile() { # hostile WHAT FILE: POSTed, a 200 malformedRequest
	post "$2"
	if [ "$HTTP_CODE" = 200 ] && [ "$(resp_status "$W/resp.der")" = 1 ]; then
		ok "hostile: $1 -> malformedRequest"
	else fail "hostile: $1 -> HTTP $HTTP_CODE, status $(resp_status "$W/resp.der")"; fi
}
printf 'GET / HTTP/1.0\r\n\r\n' >"$W/h1"; hostile "garbage" "$W/h1"
head -c 20 "$W/req.der" >"$W/h2"; hostile "a truncated request" "$W/h2"
# The DER the hand-made requests below are built with.
cat >"$W/derlib.py" <<'PY'
def tlv(tag, body):
    n = len(body)
    if n < 0x80: l = bytes([n])
    elif n < 0x100: l = bytes([0x81, n])
    elif n < 0x10000: l = bytes([0x82, n >> 8, n & 0xff])
    else: l = bytes([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff])
    return bytes([tag]) + l + body
def parse(d):   # -> (tag, body, rest)
    t, n, i = d[0], d[1], 2
    if n & 0x80:
        k = n & 0x7f; n = int.from_bytes(d[2:2 + k], 'big'); i = 2 + k
    return t, d[i:i + n], d[i + n:]
PY
python3 - "$W" <<'PY'
import sys
w = sys.argv[1]
sys.path.insert(0, w)
from derlib import tlv, parse
req = open(w + '/req.der', 'rb').read()
_, tbsreq, _ = parse(req)                    # OCSPRequest
_, tbs, _ = parse(tbsreq)                    # TBSRequest
_, reqlist, _ = parse(tbs)                   # requestList
_, one, _ = parse(reqlist)                   # Request
one = tlv(0x30, one)
# version 2 ([0] EXPLICIT INTEGER 1)
open(w + '/h3', 'wb').write(tlv(0x30, tlv(0x30, tlv(0xa0, b'\x02\x01\x01') + tlv(0x30, one))))
# a thousand CertIDs (with one-octet serials, so that the request fits in
# the 64 KiB any body may have), and three thousand (which does not)
_, certid, _ = parse(one)
_, cid, _ = parse(certid)
# without its serial: the first three elements (hashAlgorithm and the
# two hashes), walked as DER - a search for the INTEGER tag could stop
# inside the random serial
rest, small = cid, b''
for _ in range(3):
    t, body, rest = parse(rest)
    small += tlv(t, body)
small = tlv(0x30, tlv(0x30, small + b'\x02\x01\x05'))
open(w + '/h4', 'wb').write(tlv(0x30, tlv(0x30, tlv(0x30, small * 1000))))
open(w + '/h4b', 'wb').write(tlv(0x30, tlv(0x30, tlv(0x30, one * 3000))))
# oversized: 10 KB of padding in a requestorName
open(w + '/h5', 'wb').write(tlv(0x30, tlv(0x30, tlv(0xa1, tlv(0x82, b'a' * 10000)) + tlv(0x30, one))))
# a 129-octet nonce (RFC 9654: 1..128), and one of 128 (echoed)
for name, n in (('h6', 129), ('n128', 128)):
    nonce = tlv(0x30, tlv(0x06, bytes.fromhex('2b0601050507300102')) + tlv(0x04, tlv(0x04, b'n' * n)))
    open(w + '/' + name, 'wb').write(tlv(0x30, tlv(0x30, tlv(0x30, one) + tlv(0xa2, tlv(0x30, nonce)))))
PY
hostile "version 2" "$W/h3"
hostile "a thousand CertIDs" "$W/h4"
post "$W/h4b"
is "three thousand CertIDs (over 64 KiB): 413 before anything is parsed" "$HTTP_CODE" 413
hostile "an oversized request (10 KB)" "$W/h5"
hostile "a 129-octet nonce" "$W/h6"
post "$W/n128"
if [ "$HTTP_CODE" = 200 ] && [ "$(resp_status "$W/resp.der")" = 0 ] &&
	od -An -v -tx1 "$W/resp.der" | tr -d ' \n' | grep -q "048180$(printf '6e%.0s' $(seq 128))"; then
	ok "a 128-octet nonce (RFC 9654) is answered and echoed"
else
	fail "a 128-octet nonce: HTTP $HTTP_CODE, status $(resp_status "$W/resp.der")"
fi
# Hash algorithms mica does not know. (openssl wants the digest before
# -cert; after it, it writes no request at all.)
openssl ocsp -issuer "$ROOT" -md5 -cert "$W/srv.pem" -no_nonce -reqout "$W/h7" >/dev/null 2>&1 ||
	die "openssl ocsp -md5 -reqout"
check "openssl wrote an MD5 CertID" sh -c "openssl ocsp -reqin '$W/h7' -req_text | grep -q 'Hash Algorithm: md5'"
hostile "an unknown hash algorithm (MD5 CertID)" "$W/h7"
# id-sha512 2.16.840.1.101.3.4.2.3 made 2.16.840.1.101.3.4.2.99 (no
# such algorithm), lengths unchanged.
python3 - "$W/req-sha512.der" "$W/h8" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
oid = bytes.fromhex('0609608648016503040203')
assert d.count(oid) == 1
open(sys.argv[2], 'wb').write(d.replace(oid, oid[:-1] + b'\x63'))
PY
hostile "an unknown hash algorithm (a made-up OID, SHA-512-long hashes)" "$W/h8"
# A signed request ('openssl ocsp -signer', its certificate in it): the
# signature is not checked, the request is answered. Its optionalSignature
# [0] made junk in ways that keep the request's own DER whole is
# malformedRequest (RFC 6960 4.1.1: a Signature).
issue signer
openssl ocsp -issuer "$ROOT" -cert "$W/signer.pem" -signer "$W/signer.pem" -signkey "$W/signer.key" \
	-no_nonce -reqout "$W/sreq.der" >/dev/null 2>&1 || die "openssl ocsp -signer -reqout"
check "openssl wrote a signed request with its certificate" sh -c \
	"openssl ocsp -reqin '$W/sreq.der' -req_text | grep -q 'Signature Algorithm: ecdsa-with-SHA256' &&
	 openssl ocsp -reqin '$W/sreq.der' -req_text | grep -q 'Subject: CN *= *signer.example.test'"
ask "$W/signer.pem" -signer "$W/signer.pem" -signkey "$W/signer.key"
is "openssl ocsp -signer (nonce): good" "$(status_of "$W/ask.out" "$W/signer.pem")" good
check "openssl ocsp -signer: the response verifies" grep -q "^Response verify OK" "$W/ask.out"
python3 - "$W" <<'PY'
import sys
w = sys.argv[1]
sys.path.insert(0, w)
from derlib import tlv, parse
req = open(w + '/sreq.der', 'rb').read()
_, outer, _ = parse(req)                     # OCSPRequest
t, tbs, rest = parse(outer)                  # TBSRequest
tbs = tlv(t, tbs)
t0, sig0, _ = parse(rest)                    # [0] EXPLICIT
assert t0 == 0xa0
_, sig, _ = parse(sig0)                      # Signature
_, alg, rest = parse(sig)                    # AlgorithmIdentifier
alg = tlv(0x30, alg)
tb, bits, certs = parse(rest)                # BIT STRING, certs [0]
assert tb == 0x03 and certs[:1] == b'\xa0'
def req_with(in0):
    return tlv(0x30, tbs + tlv(0xa0, in0))
junk = {
    'sj1': req_with(tlv(0x04, sig)),                                   # not a SEQUENCE
    'sj2': req_with(tlv(0x30, sig) + b'\x05\x00'),                     # trailing in [0]
    'sj3': req_with(tlv(0x30, alg + tlv(0x04, bits) + certs)),         # no BIT STRING
    'sj4': req_with(tlv(0x30, tlv(0x30, b'\x02\x01\x01') + tlv(0x03, bits) + certs)),  # no OID
    'sj5': req_with(tlv(0x30, alg + tlv(0x03, bits) + b'\xa1' + certs[1:])),  # certs [1]
    'sj6': req_with(tlv(0x30, alg + tlv(0x03, bits) + certs + b'\x05\x00')),  # trailing
}
for name, d in junk.items():
    open(w + '/' + name, 'wb').write(d)
PY
hostile "a signed request's [0] holding an OCTET STRING, not a Signature" "$W/sj1"
hostile "a signed request with data after its Signature in [0]" "$W/sj2"
hostile "a signed request whose signature is an OCTET STRING, not a BIT STRING" "$W/sj3"
hostile "a signed request whose AlgorithmIdentifier has no OID" "$W/sj4"
hostile "a signed request with its certs as [1]" "$W/sj5"
hostile "a signed request with data after its certs" "$W/sj6"
code=$(curl -s -o "$W/resp.der" -w '%{http_code}' --max-time $((20 * TIME_SCALE)) "$H/ocsp/%%%")
if [ "$code" = 200 ] && [ "$(resp_status "$W/resp.der")" = 1 ]; then ok "GET with a broken escape: malformedRequest"
else fail "GET with a broken escape: $code"; fi
code=$(curl -s -o "$W/resp.der" -w '%{http_code}' --max-time $((20 * TIME_SCALE)) "$H/ocsp/bm90IGEgcmVxdWVzdA==")
if [ "$code" = 200 ] && [ "$(resp_status "$W/resp.der")" = 1 ]; then ok "GET of base64 that is no request: malformedRequest"
else fail "GET of base64 that is no request: $code"; fi
code=$(curl -s -o "$W/resp.der" -w '%{http_code}' --max-time $((20 * TIME_SCALE)) "$H/ocsp/")
if [ "$code" = 200 ] && [ "$(resp_status "$W/resp.der")" = 1 ]; then ok "GET with nothing after /ocsp/: malformedRequest"
else fail "GET /ocsp/: $code"; fi
code=$(curl -s -o "$W/resp.der" -w '%{http_code}' --max-time $((20 * TIME_SCALE)) "$H/ocsp/$(head -c 1500 /dev/zero | tr '\0' 'A')")
if [ "$code" = 200 ] && [ "$(resp_status "$W/resp.der")" = 1 ]; then ok "GET with 1500 octets of base64: malformedRequest"
else fail "GET with a long tail: $code"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time $((20 * TIME_SCALE)) -H 'Content-Type: text/plain' \
	--data-binary @"$W/req.der" "$H/ocsp")
is "POST with a wrong Content-Type: 415" "$code" 415
# A GET's bound is 1 KiB of base64 once decoded, however it was encoded: a
# request for four certificates with every character percent-encoded
# (some 1.2 KB as sent) is answered, one answer for each.
for n in g1 g2 g3; do issue $n; done
openssl ocsp -issuer "$ROOT" -cert "$W/srv.pem" -cert "$W/g1.pem" -cert "$W/g2.pem" \
	-cert "$W/g3.pem" -no_nonce -reqout "$W/req4.der" >/dev/null 2>&1 || die "openssl ocsp -reqout"
ENC4=$(python3 -c 'import base64, sys; print("".join("%%%02X" % c for c in base64.b64encode(open(sys.argv[1], "rb").read())))' "$W/req4.der")
code=$(curl -s -o "$W/resp4.der" -w '%{http_code}' --max-time $((20 * TIME_SCALE)) "$H/ocsp/$ENC4")
openssl ocsp -respin "$W/resp4.der" -resp_text -noverify >"$W/resp4.txt" 2>&1
is "GET of four CertIDs, all percent-encoded (${#ENC4} octets as sent): four answers" \
	"$code $(resp_status "$W/resp4.der") $(grep -c 'Cert Status: ' "$W/resp4.txt")" "200 0 4"
# The GET's path by another method is 405, however long its tail.
code=$(curl -s -o /dev/null -D "$W/post-tail.h" -w '%{http_code}' --max-time $((20 * TIME_SCALE)) \
	-H 'Content-Type: application/ocsp-request' --data-binary @"$W/req.der" "$H/ocsp/$ENC4")
is "POST to /ocsp/{base64}: 405, Allow: GET, HEAD" \
	"$code $(tr -d '\r' <"$W/post-tail.h" | sed -n 's/^[Aa]llow: //p')" "405 GET, HEAD"
check "the daemon lives on after the hostile requests" curl -fs -o /dev/null --max-time $((10 * TIME_SCALE)) "$H/healthz"

# ---------------------------------------------------------- stapling -----

issue tls
staple() { # staple: s_client -status output in $W/staple.out
	openssl s_client -connect "127.0.0.1:$S_SERVER_PORT" -servername tls.example.test -status \
		-CAfile "$ROOT" -verify_return_error </dev/null >"$W/staple.out" 2>&1
}
# Ready once it prints ACCEPT: a probe connection would be one of its four.
if s_server_start "$W/s_server.out" -cert "$W/tls.pem" -key "$W/tls.key" \
	-CAfile "$ROOT" -status_url "$H/ocsp" -www -naccept 4; then
	staple
	if grep -q "OCSP Response Status: successful" "$W/staple.out" &&
		grep -q "Cert Status: good" "$W/staple.out"; then
		ok "stapling: s_server -status_url staples mica's response, s_client -status reads good"
	else fail "stapling (good)"; grep -i "ocsp\|status" "$W/staple.out" | head -5 | sed 's/^/    /'; fi
	"$MICA" -d "$D" revoke "$(serial_of "$W/tls.pem")" --reason superseded >/dev/null 2>&1
	staple
	if grep -q "Cert Status: revoked" "$W/staple.out" &&
		grep -q "Revocation Reason: superseded" "$W/staple.out"; then
		ok "stapling: after mica revoke the stapled response says revoked (superseded)"
	else fail "stapling (revoked)"; grep -i "status\|reason" "$W/staple.out" | head -5 | sed 's/^/    /'; fi
else
	fail "openssl s_server did not start"
fi
s_server_stop

serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0

# ---------------------------------------------------------- two tiers ----
# An offline root and an issuing CA: the responder certificate is issued
# by the issuing CA, and clients chain it to the root they trust.

unset HP SP
serve_ports
"$MICA" -d "$W/R" init --name "OCSP Test Root" --root-only >/dev/null 2>&1 || die "init --root-only"
"$MICA" -d "$W/R" export-root --out "$W/r-root.pem" 2>/dev/null || die "export-root"
"$MICA" -d "$W/I" init --subordinate --name "OCSP Test Issuing CA" --domain example.test \
	--public-url "$H" --csr-out "$W/i.csr" >/dev/null 2>&1 || die "init --subordinate"
"$MICA" -d "$W/R" sign-ca --csr "$W/i.csr" --out "$W/i.crt" >/dev/null 2>&1 || die "sign-ca"
"$MICA" -d "$W/I" install-ca --cert "$W/i.crt" --chain "$W/r-root.pem" >/dev/null 2>&1 || die "install-ca"
openssl x509 -in "$W/i.crt" -out "$W/i.pem" 2>/dev/null ||
	openssl x509 -inform der -in "$W/i.crt" -out "$W/i.pem" 2>/dev/null || die "issuing CA certificate"
serve_start "$W/serve2.out" "$W/I" -- || serve_failed "$W/serve2.out"
D=$W/I
ROOT=$W/i.pem   # the issuer, for ask's -issuer; trust is the root's
issue leaf2
ask2() { openssl ocsp -issuer "$W/i.pem" -cert "$W/leaf2.pem" -url "$H/ocsp" \
	-CAfile "$W/r-root.pem" -verify_other "$W/i.pem" -timeout $((20 * TIME_SCALE)) "$@" >"$W/ask.out" 2>&1; }
ask2
is "two tiers: openssl ocsp says good" "$(status_of "$W/ask.out" "$W/leaf2.pem")" good
check "two tiers: the response verifies up to the offline root" grep -q "^Response verify OK" "$W/ask.out"
"$MICA" -d "$D" revoke "$(serial_of "$W/leaf2.pem")" --reason affiliationChanged >/dev/null 2>&1 || die "revoke"
ask2 -no_nonce
is "two tiers: after mica revoke, revoked" "$(status_of "$W/ask.out" "$W/leaf2.pem")" revoked
check "two tiers: reason affiliationChanged" grep -q "Reason: affiliationChanged" "$W/ask.out"
serve_stop
is "the issuing CA's daemon stops cleanly" "$SERVE_RC" 0
finish
