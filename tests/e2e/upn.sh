#!/bin/bash
# End-to-end: a Microsoft User Principal Name (the subjectAltName otherName
# 1.3.6.1.4.1.311.20.2.3 that NPS and VPN servers map to an AD account) in
# a client certificate, judged by tools that are not mica:
#   - a CSR from OpenSSL's -addext "otherName:...;UTF8:..." is issued under
#     the client profile; OpenSSL shows "othername: UPN::alice@contoso.test",
#     GnuTLS's certtool "User Principal Name: alice@contoso.test", both
#     verify it for TLS client authentication, and OpenSSL's s_server takes
#     it as a client certificate;
#   - an admin's --name upn:... is issued; the server profile and a domain
#     outside the allowed ones are refused (exit 4, the message naming the
#     profile, kind and name); a malformed UPN is a usage error (exit 3);
#   - mica list --name, show and show --json name it "upn:..."; renew keeps it;
#   - under an issuing CA with nameConstraints, the UPN goes in the SAN
#     alone (critical, empty subject) and OpenSSL and GnuTLS verify the
#     chain; a UPN outside the constraints is refused;
#   - over the API, an enrollment token scoped to one UPN gets it, with
#     "names": ["upn:..."], and is refused another; a token without
#     --name gets no UPN at all.
# A missing certtool makes its checks SKIP.
#
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/upn.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need openssl python3 curl

export MICA_PASSPHRASE="upn e2e passphrase"
W=$(mktmp)
D=$W/ca
UPN_OID=1.3.6.1.4.1.311.20.2.3

have() { command -v "$1" >/dev/null 2>&1; }

# csr NAME SAN: a P-256 key ($W/NAME.key) and request ($W/NAME.csr).
csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$W/$1.key" -subj "/CN=$1" -addext "subjectAltName=$2" \
		-out "$W/$1.csr" 2>/dev/null || die "openssl req $1"
}

"$MICA" -d "$D" init --name "UPN Test CA" --domain contoso.test \
	--public-url http://ca.contoso.test >/dev/null 2>"$W/init.err" ||
	die "init: $(cat "$W/init.err")"
"$MICA" -d "$D" export-root --out "$W/root.pem" 2>/dev/null || die "export-root"

echo "# a CSR with a UPN, issued under the client profile"
csr alice "otherName:$UPN_OID;UTF8:alice@contoso.test"
check "issue --profile client with a UPN CSR" \
	"$MICA" -d "$D" issue --csr "$W/alice.csr" --profile client --out "$W/alice.crt"
openssl x509 -in "$W/alice.crt" -noout -text > "$W/alice.txt" 2>&1
grep -q "othername: UPN::alice@contoso.test$" "$W/alice.txt" &&
	ok "OpenSSL shows othername: UPN::alice@contoso.test" ||
	fail "OpenSSL's text: $(grep -A1 'Alternative Name' "$W/alice.txt")"
is "... and nothing else in the SAN" \
	"$(openssl x509 -in "$W/alice.crt" -noout -ext subjectAltName 2>/dev/null | sed -n '2s/^ *//p')" \
	"othername: UPN::alice@contoso.test"
is "... the subject CN the UPN without its prefix" \
	"$(openssl x509 -in "$W/alice.crt" -noout -subject -nameopt RFC2253 2>/dev/null)" \
	"subject=CN=alice@contoso.test"
# The otherName's own bytes: [0] { OID, [0] { UTF8String } }, as AD CS.
openssl x509 -in "$W/alice.crt" -outform DER -out "$W/alice.der" 2>/dev/null
python3 - "$W/alice.der" > "$W/der.out" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
want = bytes.fromhex("a022060a2b060104018237140203a0140c12") + b"alice@contoso.test"
print("found" if want in d else "missing")
PY
is "... the otherName as [0] { OID, [0] EXPLICIT UTF8String }" "$(cat "$W/der.out")" found
check "openssl verify -purpose sslclient" \
	openssl verify -purpose sslclient -CAfile "$W/root.pem" "$W/alice.crt"
if have certtool; then
	certtool -i --infile "$W/alice.crt" > "$W/certtool.txt" 2>&1
	grep -q "User Principal Name: alice@contoso.test" "$W/certtool.txt" &&
		ok "GnuTLS certtool shows User Principal Name: alice@contoso.test" ||
		fail "certtool: $(grep -A2 'Subject Alternative' "$W/certtool.txt")"
	certtool --verify --load-ca-certificate "$W/root.pem" --infile "$W/alice.crt" \
		--verify-purpose 1.3.6.1.5.5.7.3.2 > "$W/cv.txt" 2>&1 &&
		grep -q "Verified" "$W/cv.txt" &&
		ok "certtool verifies it for clientAuth" || fail "certtool --verify: $(tail -3 "$W/cv.txt")"
else
	skip "GnuTLS certtool shows the UPN" "certtool is not installed (Debian: gnutls-bin)"
	skip "certtool verifies it for clientAuth" "certtool is not installed (Debian: gnutls-bin)"
fi

echo "# a TLS handshake with client authentication"
csr tls "DNS:tls.contoso.test"
"$MICA" -d "$D" issue --csr "$W/tls.csr" --profile server --out "$W/tls.crt" 2>/dev/null ||
	die "issue the server certificate"
# s_server -www demands a client certificate of this CA (the handshake
# fails without one that verifies) and shows the one it got.
if s_server_start "$W/s.out" -www -cert "$W/tls.crt" -key "$W/tls.key" \
	-CAfile "$W/root.pem" -Verify 1 -verify_return_error; then
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout $((30 * TIME_SCALE)) openssl s_client \
		-connect "127.0.0.1:$S_SERVER_PORT" -servername tls.contoso.test \
		-cert "$W/alice.crt" -key "$W/alice.key" -CAfile "$W/root.pem" \
		-verify_return_error -quiet > "$W/page" 2>"$W/s_client.err"
	python3 - "$W/page" "$W/alice.crt" > "$W/seen.out" <<'PY'
import sys
page, crt = open(sys.argv[1], errors="replace").read(), open(sys.argv[2]).read()
body = lambda t: "".join(t.split("-----BEGIN CERTIFICATE-----")[1].split("-----END")[0].split())
seen = page.split("Client certificate", 1)
print("same" if len(seen) == 2 and "BEGIN CERTIFICATE" in seen[1] and body(seen[1]) == body(crt) else "other")
PY
	is "s_server -Verify 1 takes it as a client certificate (s_client gets in)" "$(cat "$W/seen.out")" same
	[ "$(cat "$W/seen.out")" = same ] || sed 's/^/    /' "$W/s_client.err" "$W/s.out" | tail -8
	s_server_stop
else
	fail "s_server did not start"
fi

echo "# names given by an admin, and refusals"
csr bob "DNS:bob-pc.contoso.test"
check "issue --name upn:bob@contoso.test --profile client" \
	"$MICA" -d "$D" issue --csr "$W/bob.csr" --name upn:bob@contoso.test \
	--name UPN:Bob.Smith@Contoso.TEST --profile client --out "$W/bob.crt"
is "... both UPNs written, canonical" \
	"$(openssl x509 -in "$W/bob.crt" -noout -ext subjectAltName 2>/dev/null | sed -n '2s/^ *//p')" \
	"othername: UPN::bob@contoso.test, othername: UPN::Bob.Smith@contoso.test"
expect_rc "--profile server with a UPN: exit 4" 4 \
	"$MICA" -d "$D" issue --csr "$W/alice.csr" --profile server --out "$W/x.crt"
grep -q 'the server profile does not allow upn names ("upn:alice@contoso.test")' "$TMP/rc.err" &&
	ok "... the message names the profile, the kind and the name" || fail "server: $(cat "$TMP/rc.err")"
expect_rc "--profile email with a UPN: exit 4" 4 \
	"$MICA" -d "$D" issue --csr "$W/alice.csr" --profile email --out "$W/x.crt"
csr eve "otherName:$UPN_OID;UTF8:eve@fabrikam.test"
expect_rc "a UPN outside the allowed domains: exit 4" 4 \
	"$MICA" -d "$D" issue --csr "$W/eve.csr" --profile client --out "$W/x.crt"
grep -q "upn:eve@fabrikam.test is not under any of the CA's allowed domains" "$TMP/rc.err" &&
	ok "... said so" || fail "outside: $(cat "$TMP/rc.err")"
expect_rc "--name upn:CONTOSO\\\\bob@contoso.test: exit 3" 3 \
	"$MICA" -d "$D" issue --csr "$W/bob.csr" --name 'upn:CONTOSO\bob@contoso.test' \
	--profile client --out "$W/x.crt"
csr plus "otherName:$UPN_OID;UTF8:bo+b@contoso.test"
expect_rc "a CSR whose UPN holds '+' (Windows refuses it): exit 4" 4 \
	"$MICA" -d "$D" issue --csr "$W/plus.csr" --profile client --out "$W/x.crt"
csr other "otherName:1.3.6.1.4.1.311.20.2.4;UTF8:alice@contoso.test"
expect_rc "a CSR with another otherName: exit 4" 4 \
	"$MICA" -d "$D" issue --csr "$W/other.csr" --profile client --out "$W/x.crt"
grep -q "otherName other than a Windows UPN" "$TMP/rc.err" &&
	ok "... unsupported_name, said so" || fail "other otherName: $(cat "$TMP/rc.err")"
[ ! -e "$W/x.crt" ] && ok "... and nothing was written" || fail "a refused issue wrote $W/x.crt"

echo "# list, show, renew"
SER=$(serial_of "$W/alice.crt")
"$MICA" -d "$D" list --name upn:alice@contoso.test --json > "$W/l.json" 2>"$W/l.err" ||
	fail "list --name: $(cat "$W/l.err")"
is "list --name upn:alice@contoso.test finds it" "$(json_get "$W/l.json" 0.serial)" "$SER"
is "... one certificate" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$W/l.json")" 1
"$MICA" -d "$D" list --name UPN:Alice@Contoso.test --json > "$W/l.json" 2>/dev/null
is "... in any case, as names are searched" "$(json_get "$W/l.json" 0.serial)" "$SER"
"$MICA" -d "$D" list --name alice@contoso.test --json > "$W/l.json" 2>/dev/null
is "... the email of the same text is another name" "$(json_get "$W/l.json" 0.serial)" ""
"$MICA" -d "$D" show "$SER" > "$W/show.txt" 2>&1
grep -q "^Names: *upn:alice@contoso.test$" "$W/show.txt" && ok "show: Names: upn:alice@contoso.test" ||
	fail "show: $(cat "$W/show.txt")"
"$MICA" -d "$D" show "$SER" --json > "$W/show.json" 2>/dev/null
is "show --json: \"names\": [\"upn:alice@contoso.test\"]" "$(json_get "$W/show.json" names)" '["upn:alice@contoso.test"]'
check "renew keeps the UPN" "$MICA" -d "$D" renew "$SER" --out "$W/renewed.crt"
is "... in the renewed certificate" \
	"$(openssl x509 -in "$W/renewed.crt" -noout -ext subjectAltName 2>/dev/null | sed -n '2s/^ *//p')" \
	"othername: UPN::alice@contoso.test"
check "... which verifies for sslclient" \
	openssl verify -purpose sslclient -CAfile "$W/root.pem" "$W/renewed.crt"

echo "# under an issuing CA with nameConstraints"
R=$W/root
I=$W/issuing
"$MICA" -d "$R" init --name "UPN Test Root" --root-only >/dev/null 2>&1 || die "init root"
"$MICA" -d "$I" init --subordinate --name "UPN Issuing CA" --domain contoso.test \
	--public-url http://ca.contoso.test --csr-out "$W/i.csr" >/dev/null 2>&1 || die "init sub"
"$MICA" -d "$R" sign-ca --csr "$W/i.csr" --out "$W/i.crt" >/dev/null 2>&1 || die "sign-ca"
"$MICA" -d "$R" export-root --out "$W/r.pem" 2>/dev/null || die "export-root"
"$MICA" -d "$I" install-ca --cert "$W/i.crt" --chain "$W/r.pem" >/dev/null 2>&1 || die "install-ca"
openssl x509 -in "$W/i.crt" -noout -ext nameConstraints 2>/dev/null | grep -q "DNS:contoso.test" ||
	die "the issuing CA has no nameConstraints"
check "issue a UPN under it" \
	"$MICA" -d "$I" issue --csr "$W/alice.csr" --profile client --out "$W/nc.crt"
is "... the subject empty (relying parties read a CN as a host name)" \
	"$(openssl x509 -in "$W/nc.crt" -noout -subject 2>/dev/null)" "subject="
openssl x509 -in "$W/nc.crt" -noout -ext subjectAltName 2>/dev/null > "$W/ncsan.txt"
grep -q "Subject Alternative Name: critical" "$W/ncsan.txt" && grep -q "othername: UPN::alice@contoso.test" "$W/ncsan.txt" &&
	ok "... the UPN in a critical SAN" || fail "SAN under NC: $(cat "$W/ncsan.txt")"
check "... openssl verify -purpose sslclient through the constrained CA" \
	openssl verify -purpose sslclient -CAfile "$W/r.pem" -untrusted "$W/i.crt" "$W/nc.crt"
if have certtool; then
	cat "$W/nc.crt" "$W/i.crt" > "$W/ncchain.pem"
	certtool --verify --load-ca-certificate "$W/r.pem" --infile "$W/ncchain.pem" > "$W/ncv.txt" 2>&1 &&
		grep -q "Verified" "$W/ncv.txt" &&
		ok "... certtool verifies the chain" || fail "certtool under NC: $(tail -3 "$W/ncv.txt")"
else
	skip "... certtool verifies the chain" "certtool is not installed (Debian: gnutls-bin)"
fi
expect_rc "... a UPN outside its domain: exit 4" 4 \
	"$MICA" -d "$I" issue --csr "$W/eve.csr" --profile client --out "$W/x.crt"

echo "# over the API, with an enrollment token scoped to one UPN"
A=$W/api
unset MICA_PASSPHRASE   # the first start writes A/passphrase
serve_start "$W/serve.out" "$A" -- --domain contoso.test || serve_failed "$W/serve.out"
mkdir -p "$W/api-root"
serve_facts "$W/serve.out" "$W/api-root"    # its root: $W/api-root/root.pem
"$MICA" -d "$A" token create --enroll --profile client --name upn:carol@contoso.test \
	--uses 5 > "$W/tok.out" 2>"$W/tok.err" || die "token create: $(cat "$W/tok.err")"
TOK=$(head -1 "$W/tok.out")
submit() { # submit NAME: POST $W/NAME.csr with $TOK; status in $CODE
	python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "client"}))' \
		"$W/$1.csr" > "$W/$1.json"
	CODE=$(curl -s --max-time $((30 * TIME_SCALE)) --cacert "$W/api-root/root.pem" -o "$W/$1.out" \
		-w '%{http_code}' -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
		--data-binary @"$W/$1.json" "$S/api/v1/requests") || true
}
csr carol "otherName:$UPN_OID;UTF8:carol@contoso.test"
submit carol
is "POST /api/v1/requests with the token's UPN: 201" "$CODE" 201
json_get "$W/carol.out" certificate > "$W/carol.crt"
CODE=$(curl -s --max-time $((30 * TIME_SCALE)) --cacert "$W/api-root/root.pem" -o "$W/carol.get" \
	-w '%{http_code}' -H "Authorization: Bearer $ADM" \
	"$S/api/v1/certificates/$(json_get "$W/carol.out" serial)") || true
is "... GET /api/v1/certificates/SERIAL: 200" "$CODE" 200
is "... \"names\": [\"upn:carol@contoso.test\"]" "$(json_get "$W/carol.get" names)" '["upn:carol@contoso.test"]'

is "... the certificate carries it" \
	"$(openssl x509 -in "$W/carol.crt" -noout -ext subjectAltName 2>/dev/null | sed -n '2s/^ *//p')" \
	"othername: UPN::carol@contoso.test"
csr dave "otherName:$UPN_OID;UTF8:dave@contoso.test"
submit dave
is "... another UPN: 422" "$CODE" 422
is "... name_not_in_scope" "$(json_get "$W/dave.out" error)" name_not_in_scope
csr carolmail "email:carol@contoso.test"
submit carolmail
is "... the email of the same text is not in the scope either" "$(json_get "$W/carolmail.out" error)" name_not_in_scope
# A token without --name covers any name in the domains, but no UPN: it
# would be any account (an administrator's too).
"$MICA" -d "$A" token create --enroll --profile client --uses 5 > "$W/tok2.out" 2>"$W/tok2.err" ||
	die "token create: $(cat "$W/tok2.err")"
TOK=$(head -1 "$W/tok2.out")
csr admin "otherName:$UPN_OID;UTF8:administrator@contoso.test"
submit admin
is "a token without --name, a UPN in the domains: 422" "$CODE" 422
is "... name_not_allowed" "$(json_get "$W/admin.out" error)" name_not_allowed
csr pc "DNS:pc1.contoso.test"
submit pc
is "... while a DNS name in the domains: 201" "$CODE" 201
serve_stop

finish
