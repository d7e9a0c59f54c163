#!/bin/bash
# End-to-end: one certificate handed out with its chain, as the servers
# that install it want it - 'mica show SERIAL --chain' (PEM: nginx,
# Apache, Postfix) and '--p7b' (PKCS#7 certs-only: Windows' certreq
# -accept, IIS, Exchange), GET /api/v1/certificates/{serial}/chain.pem
# and chain.p7b (admin), GET /api/v1/requests/{id}/certificate.pem and
# certificate.p7b (the request id alone) - judged by tools that were not
# written here: openssl pkcs7 -print_certs and GnuTLS certtool --p7-info
# read the .p7b, and openssl verify accepts the leaf with nothing but the
# bundle's own certificates above it and the root trusted. Under a
# two-tier hierarchy set up as hier.sh does (offline root, issuing CA),
# and after a rollover of the issuing CA to a new key, where a
# certificate of the old key must come with the old CA certificate.
#
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/chain_export.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need openssl certtool curl python3

export MICA_PASSPHRASE="chain export e2e passphrase"
W=$(mktmp)
cd "$W" || die "cd"

m() { "$MICA" "$@"; }
# csr NAME DNS: an EC P-256 server request in NAME.csr (key NAME.key).
csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
		-out "$1.csr" 2>/dev/null || die "openssl req ($2)"
}
# split PEM PREFIX: each certificate of PEM into PREFIX.1, PREFIX.2, ...
split() {
	rm -f "$2".*
	awk -v p="$2" '/BEGIN CERT/{n++} n{print > (p "." n)}' "$1"
}
# subjects PEM: the subjects of its certificates, one a line, in order.
subjects() {
	local f
	split "$1" "$W/subj"
	for f in $(ls "$W"/subj.* 2>/dev/null | sort -t. -k2 -n); do
		openssl x509 -in "$f" -noout -subject -nameopt RFC2253
	done
}
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null; }
# verify_bundle WHAT ROOT BUNDLE: the bundle's first certificate is the
# leaf; openssl verify accepts it trusting ROOT alone, with only the
# bundle's other certificates (the root among them is no anchor: only
# -CAfile is) as the untrusted ones.
verify_bundle() {
	split "$3" "$W/vb"
	cat "$W"/vb.* | awk 'f{print} /END CERT/{f=1}' > "$W/vb-rest.pem"
	if openssl verify -x509_strict -purpose sslserver -CAfile "$2" \
		-untrusted "$W/vb-rest.pem" "$W/vb.1" >"$W/verify.out" 2>&1; then
		ok "$1: openssl verify accepts it with the bundle's certificates"
	else
		fail "$1: openssl verify: $(tr '\n' ' ' < "$W/verify.out")"
	fi
}
# p7_pem P7B OUT: the certificates of the DER .p7b, PEM (openssl).
p7_pem() { openssl pkcs7 -inform DER -in "$1" -print_certs -out "$2" 2>"$W/p7.err"; }
# leaf_first PEM SUBJECT OUT: PEM's certificates with the one whose
# subject is SUBJECT first (a .p7b's SET OF comes in DER order).
leaf_first() {
	local f
	split "$1" "$W/lf"
	: > "$3"
	for f in "$W"/lf.*; do
		[ "$(openssl x509 -in "$f" -noout -subject -nameopt RFC2253)" = "subject=$2" ] && cat "$f" >> "$3"
	done
	for f in "$W"/lf.*; do
		[ "$(openssl x509 -in "$f" -noout -subject -nameopt RFC2253)" = "subject=$2" ] || cat "$f" >> "$3"
	done
}

# ------------------------------------------------ 1. the hierarchy --

serve_ports
expect_rc "init --root-only" 0 m -d R init --name "Chain Root CA" --root-only
m -d R export-root --out root.pem || die "export-root"
expect_rc "init --subordinate" 0 m -d I init --subordinate --name "Chain Issuing CA 1" \
	--domain contoso.test --public-url "$H" --csr-out issuing.csr
expect_rc "sign-ca on the root" 0 m -d R sign-ca --csr issuing.csr --out issuing.crt
expect_rc "install-ca" 0 m -d I install-ca --cert issuing.crt --chain root.pem
openssl x509 -in issuing.crt -out issuing.pem || die "issuing.pem"
ROOT_S="subject=CN=Chain Root CA"
ISS_S="subject=CN=Chain Issuing CA 1"

# ----------------------------------------------------- 2. the CLI --

csr web www.contoso.test
expect_rc "issue www.contoso.test" 0 m -d I issue --csr web.csr --out web.pem
SER=$(serial_of web.pem)
expect_rc "show --chain" 0 m -d I show "$SER" --chain
cp "$TMP/rc.out" web.chain.pem
is "--chain: the leaf, the issuing CA, the root, in that order" "$(subjects web.chain.pem | tr '\n' '|')" \
	"subject=CN=www.contoso.test|$ISS_S|$ROOT_S|"
split web.chain.pem c
cmp -s c.1 web.pem && ok "... the leaf as issued" || fail "the first certificate is not the leaf"
[ "$(fp c.2)" = "$(fp issuing.pem)" ] && ok "... the issuing CA as installed" || fail "second is not the issuing CA"
[ "$(fp c.3)" = "$(fp root.pem)" ] && ok "... the root as the root exported it" || fail "third is not the root"
verify_bundle "--chain" root.pem web.chain.pem
m -d I export-chain --out ca-chain.pem
cmp -s <(cat c.2 c.3) ca-chain.pem && ok "... its chain is export-chain's (/ca-chain.pem)" ||
	fail "--chain's chain differs from export-chain"

m -d I show "$SER" --p7b > web.p7b || fail "show --p7b"
p7_pem web.p7b web.p7.pem && ok "openssl pkcs7 -inform DER -print_certs reads --p7b" ||
	fail "openssl pkcs7: $(cat "$W/p7.err")"
is "... exactly the leaf, the issuing CA and the root" "$(subjects web.p7.pem | sort | tr '\n' '|')" \
	"$(printf '%s\n' "subject=CN=www.contoso.test" "$ISS_S" "$ROOT_S" | sort | tr '\n' '|')"
certtool --p7-info --inder --infile web.p7b > p7g.txt 2>&1 &&
	grep -q 'Number of certificates: 3' p7g.txt && ok "GnuTLS certtool --p7-info: 3 certificates" ||
	fail "certtool --p7-info: $(head -3 p7g.txt)"
leaf_first web.p7.pem "CN=www.contoso.test" web.p7.sorted.pem
verify_bundle "--p7b" root.pem web.p7.sorted.pem
m -d I show "$SER" --der > web.der
python3 - web.p7.pem web.der <<'PY' && ok "... holding the leaf's DER as issued" || fail "the .p7b's leaf differs"
import base64, re, sys
pems = re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", open(sys.argv[1]).read(), re.S)
ders = [base64.b64decode("".join(p.split())) for p in pems]
sys.exit(0 if open(sys.argv[2], "rb").read() in ders else 1)
PY

# The JSON has the chain beside the certificate, as a request's answer.
m -d I show "$SER" --json > web.json
python3 - web.json web.chain.pem <<'PY' && ok "show --json: \"chain\" is the issuing CA and the root" || fail "show --json chain"
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if j["certificate"] + "".join(j["chain"]) == open(sys.argv[2]).read() and len(j["chain"]) == 2 else 1)
PY

expect_rc "--chain with --p7b: a usage error (2)" 2 m -d I show "$SER" --chain --p7b
grep -q -- "--pem, --der, --json, --chain and --p7b do not go together" "$TMP/rc.err" &&
	ok "... saying they do not go together" || fail "conflict message: $(cat "$TMP/rc.err")"
expect_rc "--p7b with --pem (2)" 2 m -d I show "$SER" --p7b --pem
expect_rc "--json with --chain (2)" 2 m -d I show "$SER" --json --chain
expect_rc "--der with --p7b (2)" 2 m -d I show "$SER" --der --p7b
expect_rc "--p7b twice (2)" 2 m -d I show "$SER" --p7b --p7b
expect_rc "an unknown serial (5)" 5 m -d I show 0123456789abcdef --p7b
[ ! -s "$TMP/rc.out" ] && ok "... writing nothing" || fail "show of an unknown serial wrote something"
expect_rc "a malformed serial (3)" 3 m -d I show nothex --chain
m -d I show --help | grep -q -- "--p7b" && ok "show --help names --p7b" || fail "show --help"

# A single tier: the root alone above the leaf.
serve_ports
expect_rc "a single-tier CA" 0 m -d T init --name "Chain Single CA" --domain contoso.test --public-url "$H"
m -d T export-root --out t-root.pem
expect_rc "... issues" 0 m -d T issue --csr web.csr --out t-web.pem
m -d T show "$(serial_of t-web.pem)" --chain > t-web.chain.pem
is "a single tier's --chain: the leaf and the root" "$(subjects t-web.chain.pem | tr '\n' '|')" \
	"subject=CN=www.contoso.test|subject=CN=Chain Single CA|"
verify_bundle "single tier --chain" t-root.pem t-web.chain.pem

# ----------------------------------------------------- 3. the API --

ADM=$(m -d I token create --admin --comment "chain test") || die "admin token"
ENR=$(m -d I token create --enroll --uses -1 --comment "chain test") || die "enroll token"
serve_start "$W/serve.out" I MICA_PASSPHRASE="$MICA_PASSPHRASE" -- || serve_failed "$W/serve.out"
# get URL OUT [curl options]: the status; the headers in $W/h.
get() {
	local u=$1 o=$2
	shift 2
	curl -s --cacert root.pem -D "$W/h" -o "$o" -w '%{http_code}' "$@" "$u"
}
hdr() { tr -d '\r' < "$W/h" | sed -n "s/^$1: //Ip" | head -1; }
# head URL [curl options]: a HEAD's status and the body octets it got.
head_of() {
	local u=$1
	shift
	curl -s --cacert root.pem -I -D "$W/h" -o /dev/null -w '%{http_code} %{size_download}' "$@" "$u"
}
jerr() { json_get "$1" error; }
A=(-H "Authorization: Bearer $ADM")
C="$S/api/v1/certificates"

is "GET chain.pem (admin)" "$(get "$C/$SER/chain.pem" api.chain.pem "${A[@]}")" 200
is "... application/pem-certificate-chain" "$(hdr Content-Type)" "application/pem-certificate-chain"
cmp -s api.chain.pem web.chain.pem && ok "... what show --chain prints" || fail "chain.pem differs from show --chain"
verify_bundle "chain.pem" root.pem api.chain.pem
is "... not kept by caches" "$(hdr Cache-Control)" "no-store"
is "... named by the serial" "$(hdr Content-Disposition)" "attachment; filename=\"$SER.pem\""
is "GET chain.p7b (admin)" "$(get "$C/$SER/chain.p7b" api.p7b "${A[@]}")" 200
is "... application/x-pkcs7-certificates, as /ca.p7b" "$(hdr Content-Type)" "application/x-pkcs7-certificates"
cmp -s api.p7b web.p7b && ok "... what show --p7b writes" || fail "chain.p7b differs from show --p7b"
certtool --p7-info --inder --infile api.p7b 2>&1 | grep -q 'Number of certificates: 3' &&
	ok "... GnuTLS reads it: 3 certificates" || fail "certtool on chain.p7b"
is "... named by the serial" "$(hdr Content-Disposition)" "attachment; filename=\"$SER.p7b\""
ETAG=$(hdr ETag)
LEN=$(hdr Content-Length)
[ -n "$ETAG" ] && ok "... with an ETag" || fail "chain.p7b has no ETag"
is "... If-None-Match with it: 304" "$(get "$C/$SER/chain.p7b" x "${A[@]}" -H "If-None-Match: $ETAG")" 304
is "HEAD chain.p7b: 200, no body" "$(head_of "$C/$SER/chain.p7b" "${A[@]}")" "200 0"
is "... the GET's length and ETag" "$(hdr Content-Length) $(hdr ETag)" "$LEN $ETAG"
is "HEAD chain.pem: 200, no body" "$(head_of "$C/$SER/chain.pem" "${A[@]}")" "200 0"
COLONS=$(echo "$SER" | tr 'a-f' 'A-F' | sed 's/../&:/g;s/:$//')
is "a serial with colons, upper case ($COLONS)" "$(get "$C/$COLONS/chain.p7b" colons.p7b "${A[@]}")" 200
cmp -s colons.p7b web.p7b && ok "... the same file" || fail "colons serial gave another file"
is "the certificate's JSON (admin)" "$(get "$C/$SER" api.json "${A[@]}")" 200
python3 - api.json web.json <<'PY' && ok "... has \"chain\", as show --json" || fail "API JSON chain"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
sys.exit(0 if a["chain"] == b["chain"] and len(a["chain"]) == 2 else 1)
PY

is "chain.p7b without a token: 401" "$(get "$C/$SER/chain.p7b" e.json)" 401
is "... missing_token" "$(jerr e.json)" missing_token
is "chain.pem with an enrollment token: 403" "$(get "$C/$SER/chain.pem" e.json -H "Authorization: Bearer $ENR")" 403
is "an unknown serial: 404" "$(get "$C/0123456789abcdef/chain.p7b" e.json "${A[@]}")" 404
is "... not_found" "$(jerr e.json)" not_found
for s in nothex 0xZZ; do
	is "a malformed serial ($s): 400" "$(get "$C/$s/chain.pem" e.json "${A[@]}")" 400
	is "... bad_serial" "$(jerr e.json)" bad_serial
done
is "POST chain.p7b: 405" "$(get "$C/$SER/chain.p7b" e.json "${A[@]}" -X POST)" 405
is "... Allow: GET, HEAD" "$(hdr Allow)" "GET, HEAD"

# By request id: an enrollee who has the id and nothing else.
R="$S/api/v1/requests"
csr mail mail.contoso.test
is "submit with the enrollment token (201)" "$(get "$R" mail.json -H "Authorization: Bearer $ENR" \
	-H 'Content-Type: application/pkcs10' --data-binary @mail.csr)" 201
MID=$(json_get mail.json id)
MSER=$(json_get mail.json serial)
is "certificate.p7b by request id, no token" "$(get "$R/$MID/certificate.p7b" mail.p7b)" 200
is "... application/x-pkcs7-certificates" "$(hdr Content-Type)" "application/x-pkcs7-certificates"
m -d I show "$MSER" --p7b > mail.cli.p7b
cmp -s mail.p7b mail.cli.p7b && ok "... what show --p7b writes for its serial" || fail "request p7b differs"
p7_pem mail.p7b mail.p7.pem
is "... openssl reads the leaf, the issuing CA and the root" "$(subjects mail.p7.pem | sort | tr '\n' '|')" \
	"$(printf '%s\n' "subject=CN=mail.contoso.test" "$ISS_S" "$ROOT_S" | sort | tr '\n' '|')"
leaf_first mail.p7.pem "CN=mail.contoso.test" mail.sorted.pem
verify_bundle "certificate.p7b" root.pem mail.sorted.pem
is "certificate.pem by request id, no token" "$(get "$R/$MID/certificate.pem" mail.chain.pem)" 200
is "... application/pem-certificate-chain" "$(hdr Content-Type)" "application/pem-certificate-chain"
python3 - mail.json mail.chain.pem <<'PY' && ok "... the answer's certificate and chain, concatenated" || fail "certificate.pem differs from the JSON"
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if j["certificate"] + "".join(j["chain"]) == open(sys.argv[2]).read() else 1)
PY
verify_bundle "certificate.pem" root.pem mail.chain.pem
is "HEAD certificate.pem: 200, no body" "$(head_of "$R/$MID/certificate.pem")" "200 0"

csr wait wait.contoso.test
is "a request without a token waits (202)" "$(get "$R" wait.json \
	-H 'Content-Type: application/pkcs10' --data-binary @wait.csr)" 202
WID=$(json_get wait.json id)
is "its certificate.p7b while pending: 409" "$(get "$R/$WID/certificate.p7b" e.json)" 409
is "... request_pending" "$(jerr e.json)" request_pending
is "... with its status, as the poll says" "$(json_get e.json status)" pending
is "... and Retry-After, as the poll has" "$(hdr Retry-After)" 60
is "its certificate.pem while pending: 409" "$(get "$R/$WID/certificate.pem" e.json)" 409
is "deny it" "$(get "$R/$WID/deny" /dev/null "${A[@]}" -X POST)" 200
is "its certificate.pem once denied: 409" "$(get "$R/$WID/certificate.pem" e.json)" 409
is "... request_denied, status denied" "$(jerr e.json)/$(json_get e.json status)" request_denied/denied
is "an unknown request id: 404" "$(get "$R/0123456789abcdef0123456789abcdef/certificate.p7b" e.json)" 404
is "a malformed request id: 400" "$(get "$R/NOT-AN-ID/certificate.pem" e.json)" 400
is "... bad_id" "$(jerr e.json)" bad_id
serve_stop

# ------------------------------------- 4. after a rollover to a new key --

expect_rc "renew-ca --new-key" 0 m -d I renew-ca --new-key --csr-out next.csr
expect_rc "the root signs the next CA certificate" 0 m -d R sign-ca --csr next.csr --out next.crt
expect_rc "install-ca it" 0 m -d I install-ca --cert next.crt
openssl x509 -in next.crt -out next.pem
csr new new.contoso.test
expect_rc "a leaf of the new key" 0 m -d I issue --csr new.csr --out new.pem
m -d I show "$(serial_of new.pem)" --chain > new.chain.pem
split new.chain.pem n
[ "$(fp n.2)" = "$(fp next.pem)" ] && ok "its --chain has the new CA certificate" || fail "new leaf's chain"
verify_bundle "the new key's leaf, --chain" root.pem new.chain.pem
m -d I show "$SER" --chain > old.chain.pem
split old.chain.pem o
[ "$(fp o.2)" = "$(fp issuing.pem)" ] && ok "the old key's leaf: --chain has the old CA certificate" ||
	fail "old leaf's chain names $(openssl x509 -in o.2 -noout -serial)"
verify_bundle "the old key's leaf, --chain" root.pem old.chain.pem
# The control: the new CA certificate (same name, another key) does not
# make the old leaf chain, so the check above is not vacuous.
if openssl verify -x509_strict -CAfile root.pem -untrusted next.pem web.pem >/dev/null 2>&1; then
	fail "the old leaf verifies with the new CA certificate: the test proves nothing"
else
	ok "(control: the new CA certificate does not verify the old leaf)"
fi
m -d I show "$SER" --p7b > old.p7b
p7_pem old.p7b old.p7.pem
fps() { split "$1" "$W/fp"; for f in "$W"/fp.*; do fp "$f"; done | sort; }
is "its --p7b: the leaf, the old CA certificate, the root" "$(fps old.p7.pem)" \
	"$(cat web.pem issuing.pem root.pem > want.pem; fps want.pem)"
leaf_first old.p7.pem "CN=www.contoso.test" old.sorted.pem
verify_bundle "the old key's leaf, --p7b" root.pem old.sorted.pem

serve_start "$W/serve2.out" I MICA_PASSPHRASE="$MICA_PASSPHRASE" -- || serve_failed "$W/serve2.out"
is "the daemon after the rollover: the old leaf's chain.p7b" "$(get "$C/$SER/chain.p7b" api-old.p7b "${A[@]}")" 200
cmp -s api-old.p7b old.p7b && ok "... with the old CA certificate, as show --p7b" || fail "API old chain differs"
is "... the old key's request, by id" "$(get "$R/$MID/certificate.pem" mail-old.pem)" 200
split mail-old.pem mo
[ "$(fp mo.2)" = "$(fp issuing.pem)" ] && ok "... with the old CA certificate" || fail "request's chain after rollover"
verify_bundle "the old key's request after the rollover" root.pem mail-old.pem
[ "$ETAG" != "" ] && is "... chain.p7b's ETag unchanged (same bytes)" \
	"$(get "$C/$SER/chain.p7b" x "${A[@]}" -H "If-None-Match: $ETAG")" 304
serve_stop

finish
