#!/bin/bash
# End-to-end test of `mica serve`: the daemon on free loopback ports,
# driven with curl and judged by OpenSSL. The root fetched over plain HTTP
# from /ca.crt is the only trust anchor: every HTTPS call uses
# --cacert root.pem (never -k), every issued certificate must pass
# `openssl verify`, revocations must show in /crl for `openssl verify
# -crl_check`. Hostile input must get the right status, store nothing and
# leave the daemon serving.
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3 sqlite3

W=$(mktmp)
D=$W/data
LOG=$W/mica.log
serve_ports     # HP, SP, H, S: the same at the restart

# ------------------------------------------------------------ helpers --

start_daemon() { # start_daemon OUTFILE [serve options...]
	local out=$1
	shift
	serve_start "$out" "$D" -- --log "$LOG" --threads 4 "$@" || serve_failed "$out"
}

header() { # header NAME: value of a response header of the last call
	tr -d '\r' < "$W/hdr" | sed -n "s/^$1: //Ip" | tail -1
}

# ids_of ARRAY FIELD: FIELD of each entry of ARRAY in the last call's
# body, space-separated (the serials of a certificate listing).
ids_of() {
	json_get "$W/body" "$1" |
		python3 -c 'import json,sys; print(" ".join(e[sys.argv[1]] for e in json.load(sys.stdin)))' "$2"
}

# walk_pages URL ARRAY FIELD MAX: the admin listing URL (with a query) read
# in pages of one, following next_cursor to its end (at most MAX pages);
# ids_of each page, joined.
walk_pages() {
	local url=$1 cur="" pages=0 out=""
	while :; do
		call GET "$url&limit=1${cur:+&cursor=$cur}" "${ADMH[@]}"
		[ "$CODE" = 200 ] || break
		out="$out $(ids_of "$2" "$3")"
		cur=$(json_get "$W/body" next_cursor)
		pages=$((pages + 1))
		{ [ -z "$cur" ] || [ "$cur" = null ] || [ $pages -gt "$4" ]; } && break
	done
	echo $out
}

# expect DESCRIPTION STATUS [ERROR_CODE]
expect() {
	local d=$1 want=$2 code=${3:-} got
	got=$(json_get "$W/body" error)
	if [ "$CODE" = "$want" ] && { [ -z "$code" ] || [ "$got" = "$code" ]; }; then
		ok "$d ($CODE${code:+ $code})"
	else
		fail "$d: got $CODE ${got}, wanted $want ${code}"
		head -c 400 "$W/body" | sed 's/^/    /'
		echo
	fi
}

# is DESCRIPTION ACTUAL EXPECTED

# mkcsr NAME SUBJECT SAN [ec|rsa1024|rsa2048|key:OTHER]: $W/NAME.csr (PEM),
# $W/NAME.der, $W/NAME.json ({"csr": PEM}) and $W/NAME.key.
mkcsr() {
	local name=$1 subj=$2 san=$3 ks=${4:-ec} k=()
	case $ks in
	ec) k=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/$name.key") ;;
	rsa1024) k=(-newkey rsa:1024 -nodes -keyout "$W/$name.key") ;;
	rsa2048) k=(-newkey rsa:2048 -nodes -keyout "$W/$name.key") ;;
	key:*) k=(-key "$W/${ks#key:}.key") ;;
	esac
	if [ -n "$san" ]; then
		openssl req -new "${k[@]}" -subj "$subj" -addext "subjectAltName=$san" \
			-out "$W/$name.csr" 2>/dev/null || die "openssl req $name"
	else
		openssl req -new "${k[@]}" -subj "$subj" -out "$W/$name.csr" 2>/dev/null ||
			die "openssl req $name"
	fi
	openssl req -in "$W/$name.csr" -outform der -out "$W/$name.der" 2>/dev/null
	python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' \
		"$W/$name.csr" > "$W/$name.json"
}

submit() { # submit NAME [curl options...]: POST the JSON of NAME
	local name=$1
	shift
	call POST "$S/api/v1/requests" -H 'Content-Type: application/json' \
		--data-binary @"$W/$name.json" "$@"
}

save_cert() { # save_cert FILE: the "certificate" of the last reply
	json_get "$W/body" certificate > "$1"
}

verify() { # verify DESCRIPTION CERTFILE
	if openssl verify -CAfile "$W/root.pem" "$2" >"$W/verify.out" 2>&1; then
		ok "$1"
	else
		fail "$1"; sed 's/^/    /' "$W/verify.out"
	fi
}

fetch_crl() {
	curl -s --max-time $((10 * TIME_SCALE)) -o "$W/crl.der" "$H/crl" &&
		openssl crl -inform der -in "$W/crl.der" -out "$W/crl.pem" 2>/dev/null
}

crl_lists() { # crl_lists SERIAL: is SERIAL on the current CRL?
	fetch_crl
	openssl crl -in "$W/crl.pem" -noout -text | tr -d ' ' |
		grep -qi "^SerialNumber:$1\$"
}

# The store without the tokens' last_used_at (the last column of a token
# row): using an admin token is recorded whether the request succeeds or not.
store_dump() { db_dump "$D" | sed '/^INSERT INTO token VALUES/s/,[0-9]*);$/);/'; }
snap() { store_dump > "$W/snap.sql"; }
unchanged() { # unchanged DESCRIPTION: the store is as at the last snap
	store_dump > "$W/snap2.sql"
	if cmp -s "$W/snap.sql" "$W/snap2.sql"; then
		ok "$1: nothing stored"
	else
		fail "$1: the store changed"
		diff "$W/snap.sql" "$W/snap2.sql" | head -5 | sed 's/^/    /'
	fi
}

ADMH=()
admin() { ADMH=(-H "Authorization: Bearer $ADM"); }

# ------------------------------------------------------------ start-up --

echo "# start-up on an empty data directory"
start_daemon "$W/out1" --domain contoso.test --public-url "$H"
FP=$(sed -n 's/^root SHA-256 fingerprint: //p' "$W/out1")
ADM=$(sed -n 's/^admin token: //p' "$W/out1")
admin
[ -n "$FP" ] && ok "prints the root fingerprint" || fail "no fingerprint line"
case $ADM in mica_*) ok "prints a new admin token" ;; *) fail "no admin token" ;; esac
grep -q "will not be shown again" "$W/out1" && ok "says the token is shown once" || fail "no shown-once line"
grep -q "^http: $H " "$W/out1" && ok "prints the HTTP URL" || fail "no HTTP URL"
grep -q "^https: $S " "$W/out1" && ok "prints the HTTPS URL" || fail "no HTTPS URL"
# $H is a loopback URL: every certificate will name it, so it is warned of.
grep -q "^warning: certificates will point to $H for their CRL .*only this machine reaches" "$W/out1" &&
	grep -q "warning: certificates will point to $H" "$LOG" &&
	ok "warns, on its output and in the log, that the public URL is loopback" || fail "no loopback URL warning"

echo "# public files over plain HTTP"
CODE=$(curl -s -D "$W/hdr" -o "$W/root.der" -w '%{http_code}' "$H/ca.crt")
is "/ca.crt answers 200" "$CODE" 200
is "/ca.crt is application/pkix-cert" "$(header Content-Type)" "application/pkix-cert"
is "responses carry nosniff" "$(header X-Content-Type-Options)" "nosniff"
openssl x509 -inform der -in "$W/root.der" -out "$W/root.pem" 2>/dev/null || die "/ca.crt is not DER"
is "the root's fingerprint is the one printed" \
	"$(openssl x509 -in "$W/root.pem" -noout -fingerprint -sha256 | sed 's/.*=//')" "$FP"
curl -s -o "$W/ca.pem" "$H/ca.pem"
cmp -s <(openssl x509 -in "$W/ca.pem" -outform der 2>/dev/null) "$W/root.der" &&
	ok "/ca.pem is the same certificate" || fail "/ca.pem differs from /ca.crt"
CODE=$(curl -s -I -o "$W/head" -w '%{http_code}' "$H/ca.crt")
is "HEAD /ca.crt answers 200" "$CODE" 200
CODE=$(curl -s -D "$W/hdr" -o "$W/crl.der" -w '%{http_code}' "$H/crl")
is "/crl answers 200" "$CODE" 200
is "/crl is application/pkix-crl" "$(header Content-Type)" "application/pkix-crl"
case $(header Cache-Control) in
"public, max-age="[0-9]*) ok "/crl may be cached until nextUpdate ($(header Cache-Control))" ;;
*) fail "/crl Cache-Control: $(header Cache-Control)" ;;
esac
openssl crl -inform der -in "$W/crl.der" -CAfile "$W/root.pem" -noout >"$W/v" 2>&1 &&
	grep -q "verify OK" "$W/v" && ok "the CRL is signed by the root" || fail "CRL signature: $(cat "$W/v")"
# Conditional GET (RFC 9110 13): a cache that holds this CRL revalidates
# with its ETag or Last-Modified and gets 304 without the body.
CRL_ETAG=$(header ETag)
CRL_LM=$(header Last-Modified)
case $CRL_ETAG in '"'*'"') ok "/crl carries an ETag ($CRL_ETAG)" ;; *) fail "/crl ETag: '$CRL_ETAG'" ;; esac
[ -n "$CRL_LM" ] && ok "/crl carries Last-Modified ($CRL_LM)" || fail "/crl without Last-Modified"
cond() { # cond URL [curl options]: "STATUS BYTES"
	local u=$1
	shift
	curl -s -D "$W/hdr" -o "$W/cond.body" -w '%{http_code} %{size_download}' "$@" "$u"
}
is "If-None-Match with its ETag: 304, no body" "$(cond "$H/crl" -H "If-None-Match: $CRL_ETAG")" "304 0"
is "the 304 repeats the ETag" "$(header ETag)" "$CRL_ETAG"
# A cache freshens the response it holds with the 304's fields: a
# Content-Length there must be the CRL's (RFC 9110 8.6), never 0.
is "the 304's Content-Length, if any, is the CRL's" "$(header Content-Length)" "$(wc -c < "$W/crl.der")"
# ... and no body follows it: the next response on the connection starts
# right after the 304's head (curl never reads a body after a 304; a raw
# socket with two pipelined requests does).
PIPE=$(python3 - "$HP" "$CRL_ETAG" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(("GET /crl HTTP/1.1\r\nHost: t\r\nIf-None-Match: %s\r\n\r\n"
           "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % sys.argv[2]).encode())
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
head, _, rest = data.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode(), "|", rest[:15].decode(errors="replace"))
PY
)
is "pipelined after the 304: the next response follows its head at once" "$PIPE" "HTTP/1.1 304 Not Modified | HTTP/1.1 200 OK"
is "If-None-Match in a list, weak: 304" "$(cond "$H/crl" -H "If-None-Match: \"x\", W/$CRL_ETAG")" "304 0"
is "If-None-Match: * : 304" "$(cond "$H/crl" -H "If-None-Match: *")" "304 0"
is "If-None-Match with another tag: 200" "$(cond "$H/crl" -H 'If-None-Match: "crl-0-0"' | cut -d' ' -f1)" 200
# Whole seconds cannot tell two CRLs of one second apart: a date alone
# never gets 304, the ETag does.
is "If-Modified-Since alone: the CRL again (200)" "$(cond "$H/crl" -H "If-Modified-Since: $CRL_LM" | cut -d' ' -f1)" 200
is "If-None-Match decides over If-Modified-Since (RFC 9110 13.2.2)" \
	"$(cond "$H/crl" -H 'If-None-Match: "other"' -H "If-Modified-Since: $CRL_LM" | cut -d' ' -f1)" 200
cond "$H/crl.pem" >/dev/null
PEM_ETAG=$(header ETag)
[ -n "$PEM_ETAG" ] && [ "$PEM_ETAG" != "$CRL_ETAG" ] && ok "/crl.pem has an ETag of its own ($PEM_ETAG)" ||
	fail "/crl.pem ETag '$PEM_ETAG' (DER's $CRL_ETAG)"
is "/crl.pem with the DER's ETag: 200" "$(cond "$H/crl.pem" -H "If-None-Match: $CRL_ETAG" | cut -d' ' -f1)" 200
# The root's files carry an ETag too, so a device or script that fetches
# them on a schedule revalidates without the body (RFC 9110 13.1.2).
cond "$H/ca.crt" >/dev/null
CA_ETAG=$(header ETag)
case $CA_ETAG in '"'[0-9a-f]*'"') ok "/ca.crt carries an ETag ($CA_ETAG)" ;; *) fail "/ca.crt ETag: '$CA_ETAG'" ;; esac
is "/ca.crt with its ETag: 304, no body" "$(cond "$H/ca.crt" -H "If-None-Match: $CA_ETAG")" "304 0"
is "... its Content-Length the root's" "$(header Content-Length)" "$(wc -c < "$W/root.der")"
is "/ca.crt, If-None-Match: * : 304" "$(cond "$H/ca.crt" -H "If-None-Match: *")" "304 0"
is "/ca.crt, HEAD with its ETag: 304" "$(cond "$H/ca.crt" -I -H "If-None-Match: $CA_ETAG" | cut -d' ' -f1)" 304
is "/ca.crt with another tag: 200 and the root" "$(cond "$H/ca.crt" -H 'If-None-Match: "0"')" "200 $(wc -c < "$W/root.der")"
cond "$H/ca.pem" >/dev/null
CAPEM_ETAG=$(header ETag)
[ -n "$CAPEM_ETAG" ] && [ "$CAPEM_ETAG" != "$CA_ETAG" ] && ok "/ca.pem has an ETag of its own" ||
	fail "/ca.pem ETag '$CAPEM_ETAG' (DER's $CA_ETAG)"
is "/ca.pem with its ETag: 304" "$(cond "$H/ca.pem" -H "If-None-Match: $CAPEM_ETAG")" "304 0"
is "/ca.pem with the DER's ETag: 200" "$(cond "$H/ca.pem" -H "If-None-Match: $CA_ETAG" | cut -d' ' -f1)" 200
curl -s -o "$W/crl2.pem" "$H/crl.pem"
openssl crl -in "$W/crl2.pem" -noout 2>/dev/null && ok "/crl.pem is a PEM CRL" || fail "/crl.pem"
CODE=$(curl -s -o "$W/body" -w '%{http_code}' "$H/healthz")
is "/healthz answers 200" "$CODE" 200
is "/healthz says ok" "$(json_get "$W/body" status)" ok

echo "# HTTPS with the root as trust anchor"
call GET "$S/healthz"
expect "GET /healthz over HTTPS with --cacert root.pem" 200
echo | openssl s_client -connect "127.0.0.1:$SP" -CAfile "$W/root.pem" -verify_ip 127.0.0.1 \
	-verify_return_error -showcerts >"$W/sc.out" 2>&1
grep -q "Verify return code: 0 (ok)" "$W/sc.out" && ok "openssl s_client verifies the daemon's certificate" ||
	fail "s_client: $(grep -i verify "$W/sc.out" | head -3)"
sed -n '/BEGIN CERT/,/END CERT/p' "$W/sc.out" | sed '/END CERT/q' > "$W/tls.pem"
openssl x509 -in "$W/tls.pem" -noout -text > "$W/tls.txt" 2>/dev/null
# On the CA's own machine https://localhost works too (curl checks the name).
CODE=$(curl -s --max-time $((30 * TIME_SCALE)) --cacert "$W/root.pem" -o /dev/null -w '%{http_code}' \
	--resolve "localhost:$SP:127.0.0.1" "https://localhost:$SP/healthz")
is "https://localhost:$SP/healthz verifies by name with the root alone" "$CODE" 200
grep -q "URI:$H/crl" "$W/tls.txt" && ok "the daemon's certificate names the CDP" || fail "no CDP in the TLS certificate"
grep -q "CA Issuers - URI:$H/ca.crt" "$W/tls.txt" && ok "the daemon's certificate names the AIA" || fail "no AIA in the TLS certificate"
for v in tls1_2 tls1_3; do
	echo | openssl s_client -connect "127.0.0.1:$SP" -CAfile "$W/root.pem" -$v >"$W/sc.out" 2>&1 &&
		ok "TLS handshake with -$v" || fail "no -$v handshake"
done

echo "# the API over plain HTTP"
call GET "$H/api/v1/status" "${ADMH[@]}"
expect "loopback clients may use the API over HTTP" 200
# A browser on the CA's host that calls the API over HTTP by another name
# was sent there by a page whose name a DNS rebinding pointed at 127.0.0.1.
call GET "$H/api/v1/status" "${ADMH[@]}" -H "Host: rebind.example:$HP" -H 'Sec-Fetch-Site: same-origin'
expect "a browser on loopback calling HTTP by another name is refused" 403 https_required
call GET "$H/api/v1/status" "${ADMH[@]}" -H "Host: rebind.example:$HP" -H "Origin: http://rebind.example:$HP"
expect "... also one that sends Origin alone" 403 https_required
call GET "$H/api/v1/status" "${ADMH[@]}" -H "Host: localhost:$HP" -H 'Sec-Fetch-Site: same-origin'
expect "a browser on loopback calling HTTP as localhost is served" 200
call GET "$H/api/v1/status" "${ADMH[@]}" -H "Host: rebind.example:$HP"
expect "a script on loopback (no browser headers) by any name is served" 200
# A browser without Fetch Metadata says who sent a POST by Origin alone.
for o in 'https://evil.example' 'null' "https://127.0.0.1.evil.example:$SP"; do
	call POST "$S/api/v1/requests" -H "Origin: $o" -H 'Content-Type: text/plain' --data-binary 'x'
	expect "a POST with Origin $o (no Sec-Fetch-Site) is another site's" 403 cross_site
done
call POST "$S/api/v1/requests" -H "Origin: https://127.0.0.1:$SP" -H 'Content-Type: text/plain' --data-binary 'x'
[ "$CODE" != 403 ] && ok "a POST with the CA's own Origin passes on to the CSR check ($CODE $(json_get "$W/body" error))" ||
	fail "the CA's own Origin refused: $(cat "$W/body")"
NONLO=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.' | grep -v '^127\.' | head -1)
if [ -n "$NONLO" ]; then
	call GET "$H/api/v1/status" "${ADMH[@]}" --interface "$NONLO"
	expect "other clients get 403 over HTTP" 403 https_required
	grep -q "$S/api/v1" "$W/body" && ok "the 403 names the HTTPS URL" || fail "403 without the HTTPS URL: $(cat "$W/body")"
	call GET "$H/ca.crt" --interface "$NONLO"
	expect "other clients still get the public files over HTTP" 200
else
	skip "other clients get 403 over HTTP" "no non-loopback address on this machine to test from"
fi

# A page that takes a token sends plain HTTP to HTTPS at the host the
# browser asked for: behind a name (or a listener on 0.0.0.0) the
# listener's own address or the machine's name would not reach it.
echo "# pages with tokens redirect to HTTPS at the host asked for"
call GET "$H/request" -H "Host: ca.contoso.test:$HP"
expect "http: /request by name: 302" 302
is "... to that name, at the HTTPS port" "$(header Location)" "https://ca.contoso.test:$SP/request"
call GET "$H/admin" -H "Host: [::1]:$HP"
is "http: /admin by an IPv6 literal: to that literal" "$(header Location)" "https://[::1]:$SP/admin"
call GET "$H/admin" -H "Host: a(b):$HP"
is "http: /admin by a Host that is no name: to the listener" "$(header Location)" "$S/admin"
# RFC 9112 3.2.2: an absolute-form target's authority, not Host, is the host.
call GET "$H/admin" --request-target "http://ca2.contoso.test:$HP/admin" -H "Host: ca.contoso.test:$HP"
is "http: /admin as an absolute-form target: to its authority, Host ignored" \
	"$(header Location)" "https://ca2.contoso.test:$SP/admin"
call GET "$H/healthz" --request-target "http://user@ca.contoso.test:$HP/healthz"
expect "an absolute-form target with userinfo" 400 bad_request_target
call GET "$H/healthz" --request-target "http:///healthz"
expect "an absolute-form target with an empty authority" 400 bad_request_target

# ---------------------------------------------------------- enrollment --

echo "# enrollment with a token"
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	-d '{"kind":"enroll","names":["mail.contoso.test","www.contoso.test","*.web.contoso.test"],"uses":3,"comment":"e2e"}'
expect "an admin creates an enrollment token" 201
ET=$(json_get "$W/body" token)
ET_ID=$(json_get "$W/body" id)
case $ET in mica_"$ET_ID"_*) ok "the token is returned once, with its id" ;; *) fail "token: $ET" ;; esac
is "... with no warning: its names are under the allowed domains" "$(json_get "$W/body" warning)" ""
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	-d '{"kind":"enroll","names":["mail.contoso.test","www.elsewhere.test"]}'
expect "a token naming a name outside the allowed domains is made" 201
case $(json_get "$W/body" warning) in
	"www.elsewhere.test is not under any of the CA's allowed domains"*) ok "... with a warning naming it" ;;
	*) fail "no warning: $(cat "$W/body")" ;; esac
call DELETE "$S/api/v1/tokens/$(json_get "$W/body" id)" "${ADMH[@]}"
expect "... and revoked" 200

mkcsr other "/CN=other.contoso.test" "DNS:other.contoso.test"
snap
submit other -H "Authorization: Bearer $ET"
expect "a name outside the token's scope is refused" 422 name_not_in_scope
unchanged "out-of-scope request"

mkcsr mail "/CN=mail.contoso.test" "DNS:mail.contoso.test"
submit mail -H "Authorization: Bearer $ET"
expect "a CSR within the token's scope is issued at once" 201
is "status issued" "$(json_get "$W/body" status)" issued
MAIL_SER=$(json_get "$W/body" serial)
MAIL_REQ=$(json_get "$W/body" id)
is "the 201 carries a request id" "$(printf %s "$MAIL_REQ" | grep -cE '^[0-9a-f]{32}$')" 1
is "Location names the request" "$(header Location)" "/api/v1/requests/$MAIL_REQ"
json_get "$W/body" chain.0 > "$W/chain0.pem"
cmp -s <(openssl x509 -in "$W/chain0.pem" -outform der 2>/dev/null) "$W/root.der" &&
	ok "the chain is the root" || fail "chain[0] is not the root"
echo "$(json_get "$W/body" not_before) $(json_get "$W/body" not_after)" |
	grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z [0-9]{4}-' &&
	ok "validity in RFC 3339 UTC" || fail "validity format"
save_cert "$W/mail.pem"
verify "openssl verifies the issued certificate with the root from /ca.crt" "$W/mail.pem"
openssl x509 -in "$W/mail.pem" -noout -text | grep -q "URI:$H/crl" &&
	ok "the certificate names the CDP" || fail "no CDP"

# Raw DER with ?profile=&days=, as certreq sends it.
mkcsr www "/CN=www.contoso.test" "DNS:www.contoso.test"
call POST "$S/api/v1/requests?profile=server&days=30" -H "Authorization: Bearer $ET" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$W/www.der"
expect "a raw DER CSR (application/pkcs10) is issued" 201
WWW_SER=$(json_get "$W/body" serial)
save_cert "$W/www.pem"
verify "openssl verifies the DER-submitted certificate" "$W/www.pem"
DAYS=$(python3 -c 'import sys,datetime as d; f=lambda s: d.datetime.strptime(s,"%Y-%m-%dT%H:%M:%SZ"); print(round((f(sys.argv[2])-f(sys.argv[1])).total_seconds()/86400))' \
	"$(json_get "$W/body" not_before)" "$(json_get "$W/body" not_after)")
is "?days=30 gives 30 days" "$DAYS" 30

mkcsr wild "/CN=a.web.contoso.test" "DNS:a.web.contoso.test"
call POST "$S/api/v1/requests" -H "Authorization: Bearer $ET" \
	-H 'Content-Type: application/x-pem-file' --data-binary @"$W/wild.csr"
expect "a raw PEM CSR under a wildcard scope is issued" 201
save_cert "$W/wild.pem"
verify "openssl verifies the PEM-submitted certificate" "$W/wild.pem"

mkcsr again "/CN=mail.contoso.test" "DNS:mail.contoso.test"
snap
submit again -H "Authorization: Bearer $ET"
expect "a used-up token is refused" 401 bad_token
unchanged "used-up token"

# --------------------------------------------------- manager approval --

echo "# submit without a token -> pending -> approve"
mkcsr pend "/CN=pend.contoso.test" "DNS:pend.contoso.test"
submit pend
expect "without a token the request waits for approval" 202
is "status pending" "$(json_get "$W/body" status)" pending
PEND=$(json_get "$W/body" id)
echo "$PEND" | grep -Eq '^[0-9a-f]{32,}$' && ok "the request id is long and random ($PEND)" || fail "request id: $PEND"
is "Location names the request" "$(header Location)" "/api/v1/requests/$PEND"
[ -n "$(header Retry-After)" ] && ok "202 carries Retry-After" || fail "no Retry-After"
call GET "$S/api/v1/requests/$PEND"
expect "anyone with the id sees the request" 200
is "it is pending" "$(json_get "$W/body" status)" pending
is "the submitter's address is for admins only" "$(json_get "$W/body" client)" ""
call GET "$S/api/v1/requests?status=pending"
expect "listing requests needs a token" 401 missing_token
is "401 without a token carries the challenge alone" "$(header WWW-Authenticate)" 'Bearer realm="mica"'
call GET "$S/api/v1/requests?status=pending" "${ADMH[@]}"
expect "an admin lists pending requests" 200
grep -q "\"$PEND\"" "$W/body" && ok "the pending request is listed" || fail "pending request not listed"
call POST "$S/api/v1/requests/$PEND/approve" "${ADMH[@]}"
expect "an admin approves" 200
is "approved -> issued" "$(json_get "$W/body" status)" issued
call GET "$S/api/v1/requests/$PEND"
is "the request now shows issued" "$(json_get "$W/body" status)" issued
save_cert "$W/pend.pem"
verify "openssl verifies the approved certificate" "$W/pend.pem"
snap
call POST "$S/api/v1/requests/$PEND/approve" "${ADMH[@]}"
expect "approving a decided request" 409 already_decided
PEND_SER=$(json_get "$W/body" serial)
# A deny that lost to the approval learns of the certificate, as a
# second approval does.
call POST "$S/api/v1/requests/$PEND/deny" "${ADMH[@]}"
expect "denying an issued request" 409 already_decided
is "... saying it was issued" "$(json_get "$W/body" status)" issued
is "... with its serial, as the second approval's" "$(json_get "$W/body" serial)" "$PEND_SER"
[ -n "$PEND_SER" ] && ok "... which is set" || fail "no serial in the 409"
unchanged "second approval"

echo "# deny"
mkcsr deny "/CN=deny.contoso.test" "DNS:deny.contoso.test"
submit deny
DENY=$(json_get "$W/body" id)
call POST "$S/api/v1/requests/$DENY/deny" "${ADMH[@]}" -H 'Content-Type: application/json' \
	-d '{"reason":"not one of ours"}'
expect "an admin denies" 200
call GET "$S/api/v1/requests/$DENY"
is "the request shows denied" "$(json_get "$W/body" status)" denied
is "with the reason" "$(json_get "$W/body" reason)" "not one of ours"
snap
call POST "$S/api/v1/requests/$DENY/approve" "${ADMH[@]}"
expect "approving a denied request" 409 already_decided
call POST "$S/api/v1/requests/$DENY/deny" "${ADMH[@]}"
expect "denying twice" 409 already_decided
is "... saying it is denied" "$(json_get "$W/body" status)" denied
is "... and no serial" "$(json_get "$W/body" serial)" ""
unchanged "decisions on a decided request"
# A request that does not exist is 404 not_found whatever is asked of it,
# as the table of errors says (approve and deny said request_not_found).
for act in approve deny; do
	call POST "$S/api/v1/requests/0123456789abcdef0123456789abcdef/$act" "${ADMH[@]}"
	expect "$act of an unknown request" 404 not_found
done

# ---------------------------------------------------------- revocation --

echo "# revocation and the CRL"
call POST "$S/api/v1/certificates/$MAIL_SER/revoke" "${ADMH[@]}" \
	-H 'Content-Type: application/json' -d '{"reason":"keyCompromise"}'
expect "an admin revokes" 200
is "status revoked" "$(json_get "$W/body" status)" revoked
is "reason recorded" "$(json_get "$W/body" revocation_reason)" keyCompromise
is "no other certificate of that key to revoke" "$(json_get "$W/body" also_revoked)" "[]"
crl_lists "$MAIL_SER" && ok "/crl lists the revoked certificate at once" || fail "revoked serial not on /crl"
is "after the revocation, the old CRL's ETag no longer matches: 200" \
	"$(cond "$H/crl" -H "If-None-Match: $CRL_ETAG" | cut -d' ' -f1)" 200
if openssl verify -crl_check -CAfile "$W/root.pem" -CRLfile "$W/crl.pem" "$W/mail.pem" >"$W/v" 2>&1; then
	fail "openssl verify -crl_check accepted a revoked certificate"
else
	grep -q "certificate revoked" "$W/v" && ok "openssl verify -crl_check rejects it" || fail "verify: $(cat "$W/v")"
fi
openssl verify -crl_check -CAfile "$W/root.pem" -CRLfile "$W/crl.pem" "$W/www.pem" >/dev/null 2>&1 &&
	ok "other certificates still pass -crl_check" || fail "-crl_check rejects a good certificate"
snap
call POST "$S/api/v1/certificates/$MAIL_SER/revoke" "${ADMH[@]}"
expect "revoking twice" 409
unchanged "second revocation"

echo "# keyCompromise revokes the key's other certificates"
mkcsr kc1 "/CN=kc1.contoso.test" "DNS:kc1.contoso.test"
submit kc1 "${ADMH[@]}"
expect "a first certificate of a key" 201
KC1=$(json_get "$W/body" serial)
mkcsr kc2 "/CN=kc2.contoso.test" "DNS:kc2.contoso.test" key:kc1
submit kc2 "${ADMH[@]}"
expect "a second certificate of the same key" 201
KC2=$(json_get "$W/body" serial)
save_cert "$W/kc2.pem"
call POST "$S/api/v1/certificates/$KC1/revoke" "${ADMH[@]}" \
	-H 'Content-Type: application/json' -d '{"reason":"keyCompromise"}'
expect "revoke the first for keyCompromise" 200
is "also_revoked names the other" "$(json_get "$W/body" also_revoked)" "[\"$KC2\"]"
call GET "$S/api/v1/certificates/$KC2" "${ADMH[@]}"
is "the other is revoked" "$(json_get "$W/body" status)" revoked
is "for keyCompromise" "$(json_get "$W/body" revocation_reason)" keyCompromise
crl_lists "$KC2" && ok "/crl lists the other at once" || fail "the key's other certificate is not on /crl"
if openssl verify -crl_check -CAfile "$W/root.pem" -CRLfile "$W/crl.pem" "$W/kc2.pem" >"$W/v" 2>&1; then
	fail "openssl verify -crl_check accepted the key's other certificate"
else
	grep -q "certificate revoked" "$W/v" && ok "openssl verify -crl_check rejects the other" || fail "verify: $(cat "$W/v")"
fi

echo "# keyCompromise raises an earlier revocation's reason"
mkcsr up1 "/CN=up1.contoso.test" "DNS:up1.contoso.test"
submit up1 "${ADMH[@]}"
expect "a certificate to supersede" 201
UP1=$(json_get "$W/body" serial)
call POST "$S/api/v1/certificates/$UP1/revoke" "${ADMH[@]}" \
	-H 'Content-Type: application/json' -d '{"reason":"superseded"}'
expect "revoked as superseded" 200
UP1_AT=$(json_get "$W/body" revoked_at)
snap
for r in affiliationChanged certificateHold superseded; do
	call POST "$S/api/v1/certificates/$UP1/revoke" "${ADMH[@]}" \
		-H 'Content-Type: application/json' -d "{\"reason\":\"$r\"}"
	expect "revoking it again as $r" 409 already_revoked
done
unchanged "other revocations of a revoked certificate"
call POST "$S/api/v1/certificates/$UP1/revoke" "${ADMH[@]}" \
	-H 'Content-Type: application/json' -d '{"reason":"keyCompromise"}'
expect "keyCompromise for it: raised" 200
is "... now keyCompromise" "$(json_get "$W/body" revocation_reason)" keyCompromise
is "... raised from superseded" "$(json_get "$W/body" reason_raised_from)" superseded
is "... its revocation date kept" "$(json_get "$W/body" revoked_at)" "$UP1_AT"
fetch_crl
openssl crl -in "$W/crl.pem" -noout -text | tr -d ' ' |
	grep -i -A4 "^SerialNumber:$UP1\$" | grep -q KeyCompromise &&
	ok "/crl gives it Key Compromise at once" || fail "/crl does not say keyCompromise for $UP1"
call POST "$S/api/v1/certificates/$UP1/revoke" "${ADMH[@]}" \
	-H 'Content-Type: application/json' -d '{"reason":"keyCompromise"}'
expect "keyCompromise again" 409 already_revoked

echo "# certificate hold and unrevoke"
mkcsr hold "/CN=hold.contoso.test" "DNS:hold.contoso.test"
submit hold "${ADMH[@]}"
expect "an admin's submission is issued at once" 201
HOLD_SER=$(json_get "$W/body" serial)
save_cert "$W/hold.pem"
call POST "$S/api/v1/certificates/$HOLD_SER/revoke" "${ADMH[@]}" \
	-H 'Content-Type: application/json' -d '{"reason":"certificateHold"}'
expect "put on hold" 200
crl_lists "$HOLD_SER" && ok "/crl lists the held certificate" || fail "held serial not on /crl"
call POST "$S/api/v1/certificates/$HOLD_SER/unrevoke" "${ADMH[@]}"
expect "unrevoke a hold" 200
is "valid again" "$(json_get "$W/body" status)" valid
crl_lists "$HOLD_SER" && fail "/crl still lists the released certificate" || ok "/crl no longer lists it"
openssl verify -crl_check -CAfile "$W/root.pem" -CRLfile "$W/crl.pem" "$W/hold.pem" >/dev/null 2>&1 &&
	ok "openssl verify -crl_check accepts it again" || fail "-crl_check after unrevoke"
snap
call POST "$S/api/v1/certificates/$MAIL_SER/unrevoke" "${ADMH[@]}"
expect "unrevoking a key compromise" 409 not_on_hold
unchanged "unrevoke of a key compromise"

# ------------------------------------------------------------- renewal --

echo "# renewal"
mkcsr www2 "/CN=www.contoso.test" "DNS:www.contoso.test" key:www
call POST "$S/api/v1/certificates/$WWW_SER/renew" -H 'Content-Type: application/json' \
	--data-binary @"$W/www2.json"
expect "renewal with the same key but no fresh proof is refused" 401 proof_required
# The fresh proof, as docs/API.md shows: a nonce in the challengePassword.
call POST "$S/api/v1/certificates/$WWW_SER/renew-challenge"
expect "a renewal challenge, without a token" 200
printf '[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n[dn]\nCN = www.contoso.test\n[attrs]\nchallengePassword = %s\n' \
	"$(json_get "$W/body" challenge)" > "$W/renew.cnf"
openssl req -new -key "$W/www.key" -config "$W/renew.cnf" -out "$W/www2.csr" 2>/dev/null ||
	die "openssl req with a challengePassword"
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' \
	"$W/www2.csr" > "$W/www2.json"
call POST "$S/api/v1/certificates/$WWW_SER/renew" -H 'Content-Type: application/json' \
	--data-binary @"$W/www2.json"
expect "renewal with the same key and a fresh proof needs no token" 201
NEW_SER=$(json_get "$W/body" serial)
[ -n "$NEW_SER" ] && [ "$NEW_SER" != "$WWW_SER" ] && ok "renewal gives a new serial" || fail "renewal serial $NEW_SER"
# "id" names the request an answer is about; a renewal records none, so
# its answer has no "id" (never "id": null), and Location names the new
# certificate.
python3 -c 'import json,sys; sys.exit("id" in json.load(open(sys.argv[1])))' "$W/body" &&
	ok "... its answer has no \"id\" (a renewal is no request)" ||
	fail "the renewal's answer has \"id\": $(json_get "$W/body" id)"
save_cert "$W/www2.pem"
verify "openssl verifies the renewed certificate" "$W/www2.pem"
call GET "$S/api/v1/certificates/$NEW_SER" "${ADMH[@]}"
is "the new certificate records what it renews" "$(json_get "$W/body" renewal_of)" "$WWW_SER"
mkcsr www3 "/CN=www.contoso.test" "DNS:www.contoso.test"
snap
call POST "$S/api/v1/certificates/$WWW_SER/renew" -H 'Content-Type: application/json' \
	--data-binary @"$W/www3.json"
expect "renewal with a new key and no token is refused" 401 token_required
mkcsr mail2 "/CN=mail.contoso.test" "DNS:mail.contoso.test" key:mail
call POST "$S/api/v1/certificates/$MAIL_SER/renew" -H 'Content-Type: application/json' \
	--data-binary @"$W/mail2.json"
expect "renewal of a key-compromised certificate with its key is refused" 422 key_compromised
call POST "$S/api/v1/certificates/0123456789abcdef/renew" -H 'Content-Type: application/json' \
	--data-binary @"$W/mail2.json"
expect "renewal of an unknown serial" 404
unchanged "refused renewals"
# An admin renews a revoked certificate only when it says so ("force"):
# the renewal would undo the revocation. With a new key (the one revoked
# for keyCompromise never renews).
mkcsr mail3 "/CN=mail.contoso.test" "DNS:mail.contoso.test"
snap
call POST "$S/api/v1/certificates/$MAIL_SER/renew" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary @"$W/mail3.json"
expect "an admin's renewal of a revoked certificate, not forced: a conflict" 409 revoked
case $(json_get "$W/body" message) in
*keyCompromise*force*) ok "... saying why it was revoked, and how to force it" ;;
*) fail "... it said: $(json_get "$W/body" message)" ;; esac
call POST "$S/api/v1/certificates/$MAIL_SER/renew?force=maybe" "${ADMH[@]}" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$W/mail3.der"
expect "force=maybe: a bad parameter" 400 bad_parameter
unchanged "unforced renewals of a revoked certificate"

# ----------------------------------------------------------- admin API --

echo "# the admin API over HTTPS"
call GET "$S/api/v1/certificates?status=valid&limit=2" "${ADMH[@]}"
expect "list valid certificates, two per page" 200
is "two on the page" "$(json_get "$W/body" certificates | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2
CUR=$(json_get "$W/body" next_cursor)
[ -n "$CUR" ] && ok "a cursor for the next page" || fail "no next_cursor"
call GET "$S/api/v1/certificates?status=valid&limit=2&cursor=$CUR" "${ADMH[@]}"
expect "the next page" 200
call GET "$S/api/v1/certificates?name=mail.contoso*&status=revoked" "${ADMH[@]}"
expect "search by name prefix" 200
grep -q "$MAIL_SER" "$W/body" && ok "the revoked mail certificate is found" || fail "name search"
call GET "$S/api/v1/certificates?name=MAIL.contoso.TEST&status=revoked" "${ADMH[@]}"
expect "search by exact name, any case" 200
grep -q "$MAIL_SER" "$W/body" && ok "the revoked mail certificate is found by its name" || fail "exact name search"
call GET "$S/api/v1/certificates?name=mail.contoso.test.&status=revoked" "${ADMH[@]}"
expect "search by a fully qualified name (trailing dot)" 200
grep -q "$MAIL_SER" "$W/body" && ok "the trailing dot of a DNS name is not part of it" || fail "FQDN name search"
call GET "$S/api/v1/certificates?name=mail.contoso&status=revoked" "${ADMH[@]}"
expect "a part of a name is not a name" 200
grep -q "$MAIL_SER" "$W/body" && fail "a substring matched" || ok "a substring finds nothing"
call GET "$S/api/v1/certificates?expiring_days=60" "${ADMH[@]}"
expect "certificates expiring within 60 days" 200
# The 30-day certificate was renewed above: nobody has to renew it again,
# so it is not "expiring"; its renewal is, within its own lifetime.
json_get "$W/body" certificates | python3 -c 'import json,sys; sys.exit(0 if any(c["serial"] == sys.argv[1] for c in json.load(sys.stdin)) else 1)' "$WWW_SER" &&
	fail "expiring_days lists a renewed certificate" || ok "the renewed 30-day certificate is not expiring"
call GET "$S/api/v1/certificates?expiring_days=3650&limit=1000" "${ADMH[@]}"
# (The serials listed: the renewal names the renewed in its renewal_of.)
EXP_SERS=" $(ids_of certificates serial) "
case $EXP_SERS in *" $NEW_SER "*) ok "its renewal is, within 3650 days" ;; *) fail "expiring_days lacks the renewal" ;; esac
case $EXP_SERS in *" $WWW_SER "*) fail "expiring_days=3650 lists the renewed certificate" ;;
	*) ok "... and the renewed one is not" ;; esac
# What expires soon is what is still in use: the revoked mail
# certificate only when revoked ones are asked for.
case $EXP_SERS in *" $MAIL_SER "*) fail "expiring_days lists a revoked certificate" ;;
	*) ok "... nor the revoked one" ;; esac
call GET "$S/api/v1/certificates?expiring_days=3650&status=revoked" "${ADMH[@]}"
case " $(ids_of certificates serial) " in *" $MAIL_SER "*) ok "... unless status=revoked asks" ;;
	*) fail "status=revoked&expiring_days lacks the revoked certificate" ;; esac
# (Refused unforced above; forced here, after the listings that count
# the revoked certificate as unrenewed.)
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["force"]=True; print(json.dumps(d))' \
	"$W/mail3.json" > "$W/mail3f.json"
call POST "$S/api/v1/certificates/$MAIL_SER/renew" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary @"$W/mail3f.json"
expect "the admin's renewal of the revoked mail certificate, forced (\"force\": true): renewed" 201
call GET "$S/api/v1/certificates/$WWW_SER" "${ADMH[@]}"
is "the renewed certificate is still valid (status=valid lists it)" "$(json_get "$W/body" status)" valid
is "... and says it is renewed" "$(json_get "$W/body" renewed)" true
call GET "$S/api/v1/certificates/$NEW_SER" "${ADMH[@]}"
is "... and its renewal that it is not" "$(json_get "$W/body" renewed)" false
# Keyset pages in expiry order: each page after the last, no row twice.
call GET "$S/api/v1/certificates?expiring_days=3650" "${ADMH[@]}"
ALLX=$(ids_of certificates serial)
is "expiry-ordered pages of one, joined, are the whole list" \
	"$(walk_pages "$S/api/v1/certificates?expiring_days=3650" certificates serial 100)" "$(echo $ALLX)"
call GET "$S/api/v1/certificates?expiring_days=3650&limit=1" "${ADMH[@]}"
KCUR=$(json_get "$W/body" next_cursor)
case $KCUR in *.*) ok "an expiry-order cursor carries the notAfter" ;; *) fail "expiry cursor: $KCUR" ;; esac
call GET "$S/api/v1/certificates?limit=1&cursor=$KCUR" "${ADMH[@]}"
expect "an expiry-order cursor in the newest-first order" 400 bad_cursor
call GET "$S/api/v1/certificates?expiring_days=30&cursor=5" "${ADMH[@]}"
expect "a newest-first cursor in the expiry order" 400 bad_cursor
for BADC in abc -5 0 99999999999999999999 9223372036854775808 1.-2 .5 5. 1.2.3 %2B5 "$(head -c 60 /dev/zero | tr '\0' 9)"; do
	call GET "$S/api/v1/certificates?cursor=$BADC" "${ADMH[@]}"
	expect "a hostile cursor ($BADC)" 400 bad_parameter
done
call GET "$S/api/v1/certificates?cursor=9223372036854775807" "${ADMH[@]}"
expect "the largest cursor is a first page" 200
# Requests, oldest first, by keyset pages too: pages of one, joined, are
# the whole listing, in its order; only a request cursor goes on.
call GET "$S/api/v1/requests?status=all&limit=1000" "${ADMH[@]}"
expect "every request" 200
ALLR=$(ids_of requests id)
is "one page holds them all: no cursor" "$(json_get "$W/body" next_cursor)" ""
[ "$(echo $ALLR | wc -w)" -ge 3 ] && ok "several requests to page through ($(echo $ALLR | wc -w))" || fail "requests: '$ALLR'"
is "request pages of one, joined, are the whole list" \
	"$(walk_pages "$S/api/v1/requests?status=all" requests id 200)" "$(echo $ALLR)"
call GET "$S/api/v1/requests?limit=1" "${ADMH[@]}"
RCUR=$(json_get "$W/body" next_cursor)
case $RCUR in *.*|"") fail "request cursor: '$RCUR'" ;; *) ok "a request cursor: the row's place ($RCUR)" ;; esac
call GET "$S/api/v1/requests?status=issued&limit=1&cursor=$RCUR" "${ADMH[@]}"
expect "a request cursor in a status listing" 200
call GET "$S/api/v1/requests?cursor=1796000000.5" "${ADMH[@]}"
expect "a certificate listing's expiry cursor in the request listing" 400 bad_cursor
call GET "$S/api/v1/requests?cursor=1.-2" "${ADMH[@]}"
expect "a hostile request cursor" 400 bad_parameter
call GET "$S/api/v1/certificates?name=*" "${ADMH[@]}"
expect "a prefix of nothing" 400 bad_filter
# An email address mica issues may hold most of printable ASCII in its
# local part (RFC 5322 dot-atom): found by it whole, as the CLI finds it.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/atom.key" \
	-subj "/CN=O'Brien" -out "$W/atom.csr" 2>/dev/null || die "openssl req (atom)"
"$MICA" -d "$D" issue --csr "$W/atom.csr" --profile email --name "o'brien+tag@contoso.test" \
	--out "$W/atom.pem" 2>/dev/null || die "mica issue o'brien+tag@contoso.test"
ATOM=$(serial_of "$W/atom.pem")
call GET "$S/api/v1/certificates?name=O%27Brien%2Btag%40contoso.test" "${ADMH[@]}"
expect "?name= an email address with ' and + in it" 200
is "... finds its certificate" "$(json_get "$W/body" certificates.0.serial)" "$ATOM"
call GET "$S/api/v1/certificates?name=o%27brien%20tag%40contoso.test" "${ADMH[@]}"
expect "?name= with a blank in it" 400 bad_parameter
COLONS=$(echo "$NEW_SER" | sed 's/../&:/g; s/:$//' | tr a-f A-F)
call GET "$S/api/v1/certificates/$COLONS" "${ADMH[@]}"
expect "a serial with colons, upper case" 200
is "same certificate" "$(json_get "$W/body" serial)" "$NEW_SER"
call GET "$S/api/v1/tokens" "${ADMH[@]}"
expect "list tokens" 200
if grep -q -e "$ADM" -e "$ET" -e '"token"' -e '"hash"' "$W/body"; then
	fail "the token list shows secrets or hashes"
else
	ok "the token list shows neither secrets nor hashes"
fi
# 'mica token list --json' says what the API says, key for key, in the
# same order, null where it is null ("revoked" in both; last_used_at
# only as present, since the call above used the admin token).
"$MICA" -d "$D" token list --json >"$W/tokens-cli.json" 2>/dev/null
# same_shape API CLI KEY [SKIP]: the objects of the API's answer API (a
# list, or a list under its first key) and of the CLI's CLI, matched by
# KEY: the same ones, each with the same keys in the same order and the
# same values (but the key SKIP's).
same_shape() {
	python3 - "$@" <<'PY'
import json, sys
def objs(path):
    v = json.load(open(path))
    if isinstance(v, dict):
        v = next(iter(v.values()))
    return {o[sys.argv[3]]: o for o in v}
api, cli = objs(sys.argv[1]), objs(sys.argv[2])
skip = sys.argv[4] if len(sys.argv) > 4 else None
assert api and api.keys() == cli.keys(), (sorted(api), sorted(cli))
for i, a in api.items():
    c = cli[i]
    assert list(c) == list(a), (i, list(c), list(a))
    for k in a:
        assert k == skip or c[k] == a[k], (i, k, c[k], a[k])
PY
}
same_shape "$W/body" "$W/tokens-cli.json" id last_used_at &&
	ok "token list --json has the API's keys and values" || fail "token list --json differs from the API"
python3 -c 'import json,sys; sys.exit(not all(t["revoked"] is (t["status"] == "revoked") for t in json.load(open(sys.argv[1]))["tokens"]))' "$W/body" &&
	ok "... \"revoked\" in both, true for a revoked token" || fail "the API's \"revoked\" is wrong"

# The token listing pages as the other listings do: newest first, at most
# `limit` (default 100, at most 1000), next_cursor to go on; ?status=active
# for what still works.
echo "# token listing pages"
PT=()
for i in 1 2 3; do
	call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
		-d "{\"kind\":\"enroll\",\"names\":[\"page$i.contoso.test\"],\"comment\":\"page $i\"}"
	PT+=("$(json_get "$W/body" id)")
done
call DELETE "$S/api/v1/tokens/${PT[1]}" "${ADMH[@]}"
expect "revoke the middle one of three tokens" 200
call DELETE "$S/api/v1/tokens/${PT[1]}" "${ADMH[@]}"
expect "revoke it again: a conflict, as 'mica token revoke' (exit 6)" 409 already_revoked
call DELETE "$S/api/v1/tokens/0123456789abcdef" "${ADMH[@]}"
expect "revoke an unknown token: not found" 404 not_found
call GET "$S/api/v1/tokens?limit=3" "${ADMH[@]}"
expect "list three tokens" 200
is "... the newest first" "$(ids_of tokens id)" "${PT[2]} ${PT[1]} ${PT[0]}"
PCUR=$(json_get "$W/body" next_cursor)
case $PCUR in ''|null|*.*) fail "token cursor: '$PCUR'" ;; *) ok "... with a cursor to go on ($PCUR)" ;; esac
call GET "$S/api/v1/tokens?limit=2" "${ADMH[@]}"
call GET "$S/api/v1/tokens?limit=2&cursor=$(json_get "$W/body" next_cursor)" "${ADMH[@]}"
expect "the next page of two" 200
is "... starts after the page boundary, nothing repeated" "$(ids_of tokens id | cut -d' ' -f1)" "${PT[0]}"
call GET "$S/api/v1/tokens?limit=1000" "${ADMH[@]}"
ALLT=$(ids_of tokens id)
is "token pages of one, joined, are the whole list" \
	"$(walk_pages "$S/api/v1/tokens?status=all" tokens id 500)" "$ALLT"
call GET "$S/api/v1/tokens" "${ADMH[@]}"
is "no limit: the first 100 at most" \
	"$(json_get "$W/body" tokens | python3 -c 'import json,sys; print(len(json.load(sys.stdin)) <= 100)')" True
call GET "$S/api/v1/tokens?status=active&limit=1000" "${ADMH[@]}"
expect "list the active tokens" 200
ACT=$(ids_of tokens id)
is "... only active ones" "$(json_get "$W/body" tokens | python3 -c 'import json,sys; print(sorted(set(t["status"] for t in json.load(sys.stdin))))')" "['active']"
case " $ACT " in *" ${PT[1]} "*) fail "... the revoked one listed" ;; *) ok "... the revoked one left out" ;; esac
case " $ACT " in *" ${PT[2]} ${PT[0]} "*) ok "... the others in order" ;; *) fail "... active: $ACT" ;; esac
is "active pages of one, joined, are the active list" \
	"$(walk_pages "$S/api/v1/tokens?status=active" tokens id 500)" "$ACT"
for BADL in 0 1001 -1 abc 010; do
	call GET "$S/api/v1/tokens?limit=$BADL" "${ADMH[@]}"
	expect "token listing with limit=$BADL" 400 bad_parameter
done
for BADC in abc -5 0 9223372036854775808 1.-2 "$(head -c 60 /dev/zero | tr '\0' 9)"; do
	call GET "$S/api/v1/tokens?cursor=$BADC" "${ADMH[@]}"
	expect "token listing with cursor=$BADC" 400 bad_parameter
done
call GET "$S/api/v1/tokens?cursor=1796000000.5" "${ADMH[@]}"
expect "a certificate listing's expiry cursor in the token listing" 400 bad_cursor
call GET "$S/api/v1/tokens?status=revoked" "${ADMH[@]}"
expect "token listing with an unknown status" 400 bad_parameter
# 1,200 one-use challenges an MDM used up (rows as the store keeps them):
# the active listing does not wade through them, the full one pages
# over 1,000, and the command line pages through all of them.
sqlite3 -cmd '.timeout 30000' "$D/mica.db" "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1200)
	INSERT INTO token (id, hash, kind, names, uses_left, created_at, created_by, last_used_at)
	SELECT printf('mdm%013x', i), zeroblob(32), 0, 'dev' || i || '.contoso.test', 0,
	       strftime('%s', 'now'), 'cli', strftime('%s', 'now') FROM c" ||
	fail "sqlite3: the used-up challenges"
call GET "$S/api/v1/tokens?status=active&limit=1000" "${ADMH[@]}"
is "with 1,200 used-up challenges, the active list is the same" "$(ids_of tokens id)" "$ACT"
call GET "$S/api/v1/tokens?limit=1000" "${ADMH[@]}"
is "the full list: a page of 1,000" "$(json_get "$W/body" tokens | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 1000
NT=$(( 1200 + $(echo $ALLT | wc -w) ))
C1000=$(json_get "$W/body" next_cursor)
call GET "$S/api/v1/tokens?limit=1000&cursor=$C1000" "${ADMH[@]}"
is "... then the rest, next_cursor null" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["tokens"]), d["next_cursor"])' "$W/body")" \
	"$((NT - 1000)) None"
is "... its last the first token made" "$(ids_of tokens id | awk '{print $NF}')" "$(echo $ALLT | awk '{print $NF}')"
"$MICA" -d "$D" token list --json >"$W/tokens-all.json" 2>/dev/null
is "token list --json pages through all $NT, each once" \
	"$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(len(v), len(set(t["id"] for t in v)))' "$W/tokens-all.json")" "$NT $NT"
is "token list: a header and $NT rows" "$("$MICA" -d "$D" token list 2>/dev/null | wc -l)" "$((NT + 1))"
# Certificates and requests too: a script reads one shape from both
# (null kept, never a key left out).
call GET "$S/api/v1/certificates?limit=1000" "${ADMH[@]}"
"$MICA" -d "$D" list --all --json >"$W/certs-cli.json" 2>/dev/null
same_shape "$W/body" "$W/certs-cli.json" serial &&
	ok "list --json has the API's keys and values" || fail "list --json differs from the API"
grep -q '"renewed_by": null' "$W/certs-cli.json" && ok "... with null where there is none" ||
	fail "list --json has no null renewed_by"
call GET "$S/api/v1/certificates/$NEW_SER" "${ADMH[@]}"
echo "[$(cat "$W/body")]" >"$W/cert-api.json"
echo "[$("$MICA" -d "$D" show "$NEW_SER" --json 2>/dev/null)]" >"$W/cert-cli.json"
same_shape "$W/cert-api.json" "$W/cert-cli.json" serial &&
	ok "show --json has the API's keys and values" || fail "show --json differs from the API"
call GET "$S/api/v1/requests?status=all&limit=1000" "${ADMH[@]}"
"$MICA" -d "$D" request list --status all --json >"$W/reqs-cli.json" 2>/dev/null
same_shape "$W/body" "$W/reqs-cli.json" id &&
	ok "request list --json has the API's keys and values" || fail "request list --json differs from the API"
call POST "$S/api/v1/crl" "${ADMH[@]}"
expect "publish a CRL now" 201
N1=$(json_get "$W/body" number)
call POST "$S/api/v1/crl" "${ADMH[@]}"
N2=$(json_get "$W/body" number)
is "CRL numbers increase" "$N2" "$((N1 + 1))"
fetch_crl
openssl crl -in "$W/crl.pem" -noout -text | grep -A1 "CRL Number" | grep -q "^ *$N2\$" &&
	ok "/crl serves the newest CRL" || fail "/crl is not number $N2"
call GET "$S/api/v1/audit?limit=5" "${ADMH[@]}"
expect "read the audit log" 200
is "five rows" "$(json_get "$W/body" audit | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 5
[ -n "$(json_get "$W/body" next_before)" ] && ok "with a cursor" || fail "audit without next_before"
# Every actor the daemon has written so far (its start, its responder,
# its RA, its CRLs, the admin's and the command line's calls) is one
# docs/API.md names, in its spelling there (`cli:<user>`, `daemon`...):
# a script that sorts the trail by actor is told of them all.
call GET "$S/api/v1/audit?limit=10000" "${ADMH[@]}"
json_get "$W/body" audit | python3 -c '
import json, re, sys
form = [("^cli:", "cli:<user>"), ("^admin:", "admin:<token id>"),
        ("^enroll:", "enroll:<token id>"), ("^acme:", "acme:<account>"),
        ("^anon@", "anon@<address>")]
def doc(a):
    for pat, f in form:
        if re.match(pat, a):
            return f
    return a
for a in sorted({doc(e["actor"]) for e in json.load(sys.stdin)}):
    print(a)' >"$W/actors"
unnamed=
while read -r a; do
	grep -qF "\`$a\`" "${MICA_SRCDIR:-$(dirname "$0")/../..}/docs/API.md" || unnamed="$unnamed $a"
done <"$W/actors"
[ -s "$W/actors" ] && [ -z "$unnamed" ] &&
	ok "docs/API.md names every actor of the audit trail: $(tr '\n' ' ' <"$W/actors")" ||
	fail "audit actors docs/API.md does not name:$unnamed"
call GET "$S/api/v1/status" "${ADMH[@]}"
expect "status" 200
is "status names the fingerprint" "$(json_get "$W/body" fingerprint_sha256)" "$FP"
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' -d '{"kind":"admin"}'
expect "create a second admin token" 201
ADM2=$(json_get "$W/body" token)
ADM2_ID=$(json_get "$W/body" id)
call DELETE "$S/api/v1/tokens/$ADM2_ID" "${ADMH[@]}"
expect "delete it" 200
call GET "$S/api/v1/status" -H "Authorization: Bearer $ADM2" --interface 127.0.0.4
expect "a deleted token no longer works" 401 bad_token

# ---------------------------------------------------------------- race --

echo "# a one-use token used by 8 clients at once"
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	-d '{"kind":"enroll","names":["race.contoso.test"],"uses":1}'
RT=$(json_get "$W/body" token)
for i in 1 2 3 4 5 6 7 8; do
	mkcsr "race$i" "/CN=race.contoso.test" "DNS:race.contoso.test"
done
RACERS=()
for i in 1 2 3 4 5 6 7 8; do
	curl -s --max-time $((30 * TIME_SCALE)) --cacert "$W/root.pem" --interface 127.0.0.3 -o /dev/null -w '%{http_code}\n' \
		-H "Authorization: Bearer $RT" -H 'Content-Type: application/json' \
		--data-binary @"$W/race$i.json" "$S/api/v1/requests" > "$W/race$i.code" &
	RACERS+=($!)
done
wait "${RACERS[@]}"
WON=$(cat "$W"/race*.code | grep -c '^201$')
is "exactly one request got a certificate" "$WON" 1
LOST=$(cat "$W"/race*.code | grep -Ec '^(401|403)$')
is "the others were refused" "$LOST" 7
call GET "$S/api/v1/certificates?name=race.contoso.test" "${ADMH[@]}"
is "exactly one certificate stored" "$(json_get "$W/body" certificates | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 1

# ------------------------------------------------------------- hostile --

echo "# hostile input"
# Slow clients: five connections that send half a request and stall.
"$PYTHON3" - "$HP" "$W/slow.ready" "$TIME_SCALE" > "$W/slow.out" 2>&1 <<'PY' &
import socket, sys, time
socks = []
for i in range(5):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    s.settimeout(120 * float(sys.argv[3]))
    socks.append(s)
open(sys.argv[2], "w").write("5\n")
t0 = time.time()
worst = 0
for s in socks:
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    worst = time.time() - t0
print("closed after %.0f s" % worst)
PY
SLOW=$!
on_exit_kill "$SLOW"
wait_for "the 5 slow connections are open" 60 test -s "$W/slow.ready" ||
	fail "the slow clients did not connect: $(cat "$W/slow.out")"
T0=$(date +%s%N)
CODE=$(curl -s -o /dev/null -w '%{http_code}' --max-time $((30 * TIME_SCALE)) "$H/healthz")
T1=$(date +%s%N)
is "another client is served while slow clients hold connections" "$CODE" 200
# Starved, it would wait for a slow connection to time out (tens of
# seconds); 5 s leaves room for a busy machine.
[ $(((T1 - T0) / 1000000)) -lt 5000 ] && ok "... at once ($(((T1 - T0) / 1000000)) ms)" || fail "slow: $(((T1 - T0) / 1000000)) ms"

snap
head -c 102400 /dev/zero | tr '\0' a > "$W/big"
call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary @"$W/big"
expect "a 100 KiB body" 413 body_too_large
call POST "$S/api/v1/requests" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
	--data-binary @"$W/big"
expect "a 100 KiB chunked body" 413 body_too_large
CODE=$(head -c 3000000 /dev/zero | curl -s --max-time $((30 * TIME_SCALE)) --cacert "$W/root.pem" -o /dev/null -w '%{http_code}' \
	-H 'Expect:' -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @- \
	"$S/api/v1/requests")
case $CODE in 413|000) ok "a 3 MB chunked body is cut off ($CODE)" ;; *) fail "3 MB chunked body: $CODE" ;; esac
call POST "$S/api/v1/requests" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$W/pend.csr"
expect "a form-encoded body" 415
call POST "$S/api/v1/requests" -H 'Content-Type: text/html' --data-binary @"$W/pend.csr"
expect "text/html" 415
call POST "$S/api/v1/requests" -H 'Content-Type:' --data-binary @"$W/pend.csr"
expect "no Content-Type" 415
call POST "$S/api/v1/requests" -H 'Content-Type: json' --data-binary @"$W/pend.json"
expect "a malformed Content-Type" 415
call POST "$S/api/v1/requests" -H 'Content-Type: application/json'
expect "an empty body" 400 missing_csr
for body in '{"csr": ' '[1,2]' '"csr"' '{"csr":"x"} trailing' '{"csr":"a","csr":"b"}' "{'csr':'x'}"; do
	call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary "$body"
	expect "malformed JSON: $body" 400 bad_json
done
printf '{"csr":"\xff\xfe"}' > "$W/latin1.json"
call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary @"$W/latin1.json"
expect "JSON that is not UTF-8" 400 bad_json
for body in '{"csr": 42}' '{"csr": ["x"]}' '{"csr": "x", "days": "30"}' '{"csr": "x", "days": 30.5}' \
	'{"csr": "x", "days": 0}' '{"csr": "x", "profile": 7}' '{"csr": "x", "names": "a.contoso.test"}'; do
	call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary "$body"
	expect "wrong JSON types: $body" 400 bad_field
done
call POST "$S/api/v1/requests" -H 'Content-Type: application/json' -d '{"csr":"x","profil":"server"}'
expect "an unknown field" 400 unknown_field
call POST "$S/api/v1/requests" -H 'Content-Type: application/json' -d '{"profile":"server"}'
expect "no csr field" 400 missing_field
call POST "$S/api/v1/requests?profile=server" -H 'Content-Type: application/json' --data-binary @"$W/pend.json"
expect "query parameters beside a JSON body" 400 bad_parameter
call POST "$S/api/v1/requests?evil=1" -H 'Content-Type: application/pkcs10' --data-binary @"$W/pend.der"
expect "an unknown query parameter" 400 unknown_parameter
call POST "$S/api/v1/requests?days=-3" -H 'Content-Type: application/pkcs10' --data-binary @"$W/pend.der"
expect "a negative ?days" 400 bad_parameter
for body in '{"kind":"root"}' '{"kind":"enroll","uses":"1"}' '{"kind":"enroll","uses":0}' \
	'{"kind":"enroll","names":[1]}' '{"kind":"enroll","expires_in":-5}' '{"uses":1}' \
	'{"kind":"admin","names":["a.contoso.test"]}' '{"kind":"enroll","profile":"nope"}' \
	'{"kind":"enroll","names":[]}' '{"kind":"enroll","expires_in":0}' \
	'{"kind":"enroll","expires_in":315360001}' '{"kind":"admin","uses":3}'; do
	call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' --data-binary "$body"
	expect "a bad token request: $body" 400
done
unchanged "oversized, mistyped and malformed bodies"

snap
echo "garbage" > "$W/garbage.csr"
call POST "$S/api/v1/requests" -H 'Content-Type: application/x-pem-file' --data-binary @"$W/garbage.csr"
expect "garbage instead of a CSR" 400
head -c 100 "$W/pend.der" > "$W/trunc.der"
call POST "$S/api/v1/requests" -H 'Content-Type: application/pkcs10' --data-binary @"$W/trunc.der"
expect "a truncated DER CSR" 400
python3 -c 'import sys; d=bytearray(open(sys.argv[1],"rb").read()); d[-5]^=0x55; open(sys.argv[2],"wb").write(d)' \
	"$W/pend.der" "$W/tampered.der"
call POST "$S/api/v1/requests" -H 'Content-Type: application/pkcs10' --data-binary @"$W/tampered.der"
expect "a CSR whose signature does not match" 400
call POST "$S/api/v1/requests" -H 'Content-Type: application/x-pem-file' --data-binary @"$W/pend.key"
expect "a private key sent instead of a CSR" 400 private_key_not_csr
mkcsr weak "/CN=weak.contoso.test" "DNS:weak.contoso.test" rsa1024
submit weak
expect "an RSA-1024 key" 422 weak_key
mkcsr evil "/CN=evil.example" "DNS:evil.example"
submit evil
expect "a name outside the allowed domains" 422 name_not_allowed
mkcsr evil2 "/CN=evilcontoso.test" "DNS:evilcontoso.test"
submit evil2 "${ADMH[@]}"
expect "a look-alike domain, even for an admin" 422 name_not_allowed
unchanged "broken CSRs, weak keys, names outside the domains"

snap
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	-d '{"kind":"enroll","names":["exp.contoso.test"],"expires_in":1}'
XT=$(json_get "$W/body" token)
XT_END=$(date -u -d "$(json_get "$W/body" expires_at)" +%s 2>/dev/null) || XT_END=
[ -n "$XT_END" ] || die "the new token has no expires_at: $(cat "$W/body")"
snap
# The one wait on the clock itself: until the token's expiry has passed.
past() { [ "$(date +%s)" -gt "$1" ]; }
wait_for "the token's expiry ($(json_get "$W/body" expires_at)) has passed" 30 past "$XT_END" ||
	die "the clock did not pass $XT_END"
mkcsr exp "/CN=exp.contoso.test" "DNS:exp.contoso.test"
submit exp -H "Authorization: Bearer $XT" --interface 127.0.0.4
expect "an expired token" 401 bad_token
submit exp -H "Authorization: Bearer mica_0123456789abcdef_$(printf '%064d' 0)" --interface 127.0.0.4
expect "an unknown token" 401 bad_token
is "a refused token is named in WWW-Authenticate (RFC 6750 3.1)" \
	"$(header WWW-Authenticate)" 'Bearer realm="mica", error="invalid_token"'
submit exp -H "Authorization: Bearer ${ADM%?}x" --interface 127.0.0.4
expect "a token with a wrong secret" 401 bad_token
submit exp -H "Authorization: Basic YWRtaW46YWRtaW4=" --interface 127.0.0.4
expect "Basic credentials" 401 bad_token
call GET "$S/api/v1/tokens" -H "Authorization: Bearer $ET" --interface 127.0.0.4
expect "a (used-up) enrollment token on an admin route" 401
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	-d '{"kind":"enroll","uses":5}'
ET5=$(json_get "$W/body" token)
snap
call GET "$S/api/v1/tokens" -H "Authorization: Bearer $ET5"
expect "an enrollment token on an admin route" 403 admin_required
call GET "$S/api/v1/audit" --interface 127.0.0.4
expect "no token on an admin route" 401 missing_token
unchanged "wrong, expired and misplaced tokens"

snap
for p in "/api/v1/../ca.crt" "/%2e%2e/ca.crt" "/api/v1/certificates/..%2f..%2fetc%2fpasswd" \
	"/api/v1/requests/%2E%2E" "/ca.crt%00" "/./crl"; do
	call GET "$S$p" --path-as-is "${ADMH[@]}"
	expect "path traversal: $p" 400 bad_path
done
CODE=$(curl -s --path-as-is -o "$W/body" -w '%{http_code}' "$H/api/../ca.crt")
is "path traversal over plain HTTP" "$CODE" 400
for s in xyz 0xZZ "12%2034" "1$(printf '%040d' 0)" 0x; do
	call GET "$S/api/v1/certificates/$s" "${ADMH[@]}"
	expect "a non-hex serial: $s" 400 bad_serial
done
call POST "$S/api/v1/certificates/nothex/revoke" "${ADMH[@]}"
expect "revoke with a non-hex serial" 400 bad_serial
call POST "$S/api/v1/certificates/$NEW_SER/revoke" "${ADMH[@]}" -H 'Content-Type: application/json' \
	-d '{"reason":"becauseIsaidso"}'
expect "an unknown revocation reason" 400 bad_reason
call GET "$S/api/v1/requests/NOT-AN-ID"
expect "a malformed request id" 400 bad_id
call GET "$S/api/v1/requests/0123456789abcdef0123456789abcdef"
expect "an unknown request id" 404
# A segment too long for any id or serial is the route's 400 too, not
# "no such resource" (after the token, as the handler's would be).
LONG_SEG=$(printf 'a%.0s' $(seq 300))
call GET "$S/api/v1/requests/$LONG_SEG" "${ADMH[@]}"
expect "a request id of 300 bytes" 400 bad_path
call POST "$S/api/v1/certificates/$LONG_SEG/revoke" "${ADMH[@]}"
expect "revoke with a serial of 300 bytes" 400 bad_path
call POST "$S/api/v1/certificates/$LONG_SEG/revoke"
expect "... without a token: 401 first" 401 missing_token
call GET "$H/crl/$LONG_SEG"
expect "a public route's key of 300 bytes" 400 bad_path
call DELETE "$H/ca.crt"
expect "DELETE /ca.crt" 405 method_not_allowed
is "405 says what is allowed" "$(header Allow)" "GET, HEAD"
call PUT "$S/api/v1/requests" "${ADMH[@]}"
expect "PUT /api/v1/requests" 405
is "405 Allow for /api/v1/requests" "$(header Allow)" "POST, GET, HEAD"
call PUT "$H/"
expect "PUT on a page" 405 method_not_allowed
is "405 on a page allows GET and HEAD" "$(header Allow)" "GET, HEAD"
call OPTIONS "$H/admin"
expect "OPTIONS on a page" 405 method_not_allowed
call GET "$H/nope"
expect "an unknown path" 404 not_found
call GET "$S/api/v1/certificates?status=bogus" "${ADMH[@]}"
expect "an unknown status filter" 400 bad_parameter
call GET "$S/api/v1/certificates?limit=0" "${ADMH[@]}"
expect "limit=0" 400 bad_parameter
call GET "$S/api/v1/certificates?limit=abc" "${ADMH[@]}"
expect "limit=abc" 400 bad_parameter
call GET "$S/api/v1/certificates?limit=1&limit=2" "${ADMH[@]}"
expect "a repeated parameter" 400 bad_query
call GET "$S/api/v1/certificates?expiring_days=99999" "${ADMH[@]}"
expect "expiring_days out of range" 400 bad_parameter
# A number has one spelling (docs/API.md): 030 is not read as 30, nor
# +30, a blank, hex or an exponent; the answer names the parameter.
# Every numeric parameter of every route, each through the same parser.
num_refused() { # num_refused WHAT PARAM: the last call refused PARAM
	local msg
	msg=$(json_get "$W/body" message)
	if [ "$CODE" = 400 ] && [ "$(json_get "$W/body" error)" = bad_parameter ] &&
		case $msg in *"\"$2\""*) true ;; *) false ;; esac; then
		ok "$1: 400 bad_parameter naming $2"
	else
		fail "$1: got $CODE $(head -c 200 "$W/body")"
	fi
}
for V in 030 %2B30 %2030 30%20 0x1e 3e1 -0 00; do
	call GET "$S/api/v1/certificates?expiring_days=$V" "${ADMH[@]}"
	num_refused "expiring_days=$V" expiring_days
	call GET "$S/api/v1/certificates?limit=$V" "${ADMH[@]}"
	num_refused "certificates limit=$V" limit
	call GET "$S/api/v1/requests?limit=$V" "${ADMH[@]}"
	num_refused "requests limit=$V" limit
	call GET "$S/api/v1/audit?since=$V" "${ADMH[@]}"
	num_refused "audit since=$V" since
	call GET "$S/api/v1/audit?before=$V" "${ADMH[@]}"
	num_refused "audit before=$V" before
	call GET "$S/api/v1/acme/orders?limit=$V" "${ADMH[@]}"
	num_refused "acme orders limit=$V" limit
	call POST "$S/api/v1/requests?days=$V" -H 'Content-Type: application/pkcs10' \
		--data-binary @"$W/pend.der"
	num_refused "POST requests?days=$V" days
	call POST "$S/api/v1/certificates/$WWW_SER/renew?days=$V" "${ADMH[@]}" \
		-H 'Content-Type: application/pkcs10' --data-binary @"$W/pend.der"
	num_refused "renew?days=$V" days
done
for V in 05 007.5 5.05; do
	call GET "$S/api/v1/certificates?cursor=$V" "${ADMH[@]}"
	expect "a cursor spelled with a leading zero ($V)" 400 bad_parameter
done
call GET "$S/api/v1/audit?since=0&limit=1" "${ADMH[@]}"
expect "since=0, the one spelling of zero" 200
LONG=$(head -c 40000 /dev/zero | tr '\0' a)
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$H/$LONG")
case $CODE in 413|414|431) ok "a 40 kB URL is refused ($CODE)" ;; *) fail "40 kB URL: $CODE" ;; esac
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Junk: $LONG" "$H/healthz")
case $CODE in 413|431) ok "a 40 kB header is refused ($CODE)" ;; *) fail "40 kB header: $CODE" ;; esac
unchanged "traversal, bad serials, methods, parameters, caps"

echo "# too many failed authentications"
for i in $(seq 1 10); do
	call GET "$S/api/v1/status" -H "Authorization: Bearer mica_bad_$i" --interface 127.0.0.2
done
expect "the 10th failure is still a 401" 401 bad_token
call GET "$S/api/v1/status" -H "Authorization: Bearer mica_bad_11" --interface 127.0.0.2
expect "then the client is told to wait" 429 too_many_attempts
[ -n "$(header Retry-After)" ] && ok "429 carries Retry-After ($(header Retry-After) s)" || fail "no Retry-After"
call GET "$S/api/v1/status" "${ADMH[@]}" --interface 127.0.0.2
expect "a good token (another id) is not locked out by those failures" 200
call GET "$S/api/v1/status" "${ADMH[@]}"
expect "other clients are not blocked" 200

# chunked but small: accepted
mkcsr chunk "/CN=chunk.contoso.test" "DNS:chunk.contoso.test"
submit chunk -H 'Transfer-Encoding: chunked'
expect "a small chunked body is accepted" 202

wait "$SLOW"
SLOWT=$(sed -n 's/^closed after \([0-9]*\) s$/\1/p' "$W/slow.out")
if [ -n "$SLOWT" ] && [ "$SLOWT" -le 25 ]; then
	ok "stalled connections are closed by the server ($(cat "$W/slow.out"))"
else
	fail "stalled connections: $(cat "$W/slow.out")"
fi
call GET "$S/healthz"
expect "the daemon is still serving" 200

# ---------------------------------------------------------------- logs --

echo "# logs and signals"
grep -q "127.0.0.1 GET /healthz 200 [0-9]*ms" "$LOG" && ok "one log line per request" || fail "no access log line"
if grep -q -e "$ADM" -e "$ET" -e "$RT" -e "BEGIN CERTIFICATE REQUEST" -e "PRIVATE KEY" -e "profile=server" "$LOG"; then
	fail "the log holds a token, a key, a CSR or a query string"
else
	ok "the log holds no token, key, CSR or query string"
fi
mv "$LOG" "$LOG.1"
kill -HUP "$SERVE_PID"
# A request is logged once the daemon has handled the signal and reopened
# the log: ask until one shows up there.
logged_again() { curl -s -o /dev/null --max-time $((10 * TIME_SCALE)) "$H/healthz"; grep -q "GET /healthz" "$LOG"; }
wait_for "a request logged in the reopened log" 60 logged_again &&
	ok "SIGHUP reopens the log" || fail "no new log after SIGHUP"

tls_serial() { echo | openssl s_client -connect "127.0.0.1:$SP" -CAfile "$W/root.pem" 2>/dev/null | openssl x509 -noout -serial; }
OLD_TLS=$(tls_serial)
kill -USR1 "$SERVE_PID"
tls_renewed() { NEW_TLS=$(tls_serial); [ -n "$NEW_TLS" ] && [ "$NEW_TLS" != "$OLD_TLS" ]; }
wait_for "a new HTTPS certificate after SIGUSR1" 60 tls_renewed &&
	ok "SIGUSR1 renews the HTTPS certificate" || fail "TLS certificate not renewed"
call GET "$S/api/v1/status" "${ADMH[@]}"
expect "the API works with the new certificate" 200

# A second daemon on the same store, on ports of its own: refused before
# it changes anything, naming the daemon that serves the store. (Without
# the lock it would issue itself a TLS certificate, mark the running
# daemon's as renewed, and serve until the timeout stops it.)
echo "# one daemon per store"
snap
P2=$(free_port)
P3=$(free_port)
env -u MICA_PASSPHRASE timeout -k 5 $((60 * TIME_SCALE)) "$MICA" -d "$D" serve \
	--http "127.0.0.1:$P2" --https "127.0.0.1:$P3" --log "$W/second.log" \
	>"$W/second.out" 2>"$W/out5.err"
is "a second daemon on the store: exit 6" "$?" 6
grep -q "^mica: error: another mica serve (process $SERVE_PID) is serving $D: stop it first$" \
	"$W/out5.err" && ok "... naming the daemon that serves it" ||
	fail "stderr: $(cat "$W/out5.err")"
unchanged "a second daemon on the store"
is "... and printed nothing on standard output" "$(wc -c <"$W/second.out")" 0
call GET "$S/api/v1/status" "${ADMH[@]}"
expect "the first daemon serves on" 200
# The same store through another data directory, whose mica.db is a
# symbolic link to it: the same store, so refused as well.
D2=$W/data-link
mkdir -m 700 "$D2" && ln -s "$D/mica.db" "$D2/mica.db"
env -u MICA_PASSPHRASE timeout -k 5 $((60 * TIME_SCALE)) "$MICA" -d "$D2" serve \
	--passphrase-file "$D/passphrase" --http "127.0.0.1:$P2" --https "127.0.0.1:$P3" \
	>"$W/second.out" 2>"$W/out6.err"
is "a daemon on the store through a symlinked mica.db: exit 6" "$?" 6
grep -q "^mica: error: another mica serve (process $SERVE_PID) is serving the store of $D2, .*/mica.db: stop it first$" \
	"$W/out6.err" && ok "... naming the daemon that serves it" ||
	fail "stderr: $(cat "$W/out6.err")"
unchanged "a daemon on the store through a symlinked mica.db"
call GET "$S/api/v1/status" "${ADMH[@]}"
expect "the first daemon serves on" 200

# A CRL published by another process (the CLI) is served from the first
# request that comes a second after the last look: that request looks at
# the store and reads the new CRL (a small one). (It was served the one
# before, the new one only to the next request: a relying party fetching
# once an hour kept, until its nextUpdate, a CRL without the revocation.)
crlnum() { # the served CRL's number, in decimal ("" if none)
	local h
	h=$(curl -s --max-time $((10 * TIME_SCALE)) "$H/crl" | openssl crl -inform DER -noout -crlnumber 2>/dev/null | sed 's/.*=//; s/^0x//')
	case $h in ''|*[!0-9A-Fa-f]*) echo "" ;; *) echo $((16#$h)) ;; esac
}
N_BEFORE=$(crlnum)
for round in 1 2; do
	if ! "$MICA" -d "$D" crl >/dev/null 2>&1; then
		fail "mica crl failed while the daemon runs"
		break
	fi
	# The once-a-second look is a bound, not work to wait for.
	sleep 1.1
	N_AFTER=$(crlnum)
	[ -n "$N_BEFORE" ] && [ -n "$N_AFTER" ] && [ "$N_AFTER" -gt "$N_BEFORE" ] &&
		ok "the first request after 'mica crl' beside the daemon gets its CRL ($round: number $N_BEFORE -> $N_AFTER)" ||
		fail "the first request after 'mica crl' got CRL $N_AFTER (before: $N_BEFORE)"
	N_BEFORE=$N_AFTER
done

# A request in flight when SIGTERM arrives still gets its answer. The
# daemon finishes the requests whose head it has read, so the client sends
# its head with "Expect: 100-continue": the interim 100 proves the daemon
# has the request in hand. The client then says so (inflight.ready) and
# sends the body only once told that SIGTERM was sent (inflight.go).
"$PYTHON3" - "$SP" "$W/root.pem" "$W/inflight" "$TIME_SCALE" > "$W/inflight.code" 2>"$W/inflight.err" <<'PY' &
import os, socket, ssl, sys, time
port, root, base = int(sys.argv[1]), sys.argv[2], sys.argv[3]
scale = float(sys.argv[4])
body = b'{"csr": "' + b'x' * 30000 + b'"}'
ctx = ssl.create_default_context(cafile=root)
ctx.check_hostname = False
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=120 * scale))
s.sendall(b"POST /api/v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body))
buf = b""
def head():
    global buf
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            return None
        buf += d
    h, _, buf = buf.partition(b"\r\n\r\n")
    return h.split(b" ")[1].decode() if h.startswith(b"HTTP/") else "garbage"
first = head()
if first != "100":
    sys.stderr.write("no 100 Continue: %s\n" % first)
    print(first or "none")
    sys.exit(0)
open(base + ".ready", "w").close()
t0 = time.time()
while not os.path.exists(base + ".go") and time.time() - t0 < 120 * scale:
    time.sleep(0.05)
s.sendall(body)
st = head()
while st == "100":
    st = head()
print(st or "none")
PY
INFLIGHT=$!
wait_for "the daemon has the in-flight request in hand (100 Continue)" 60 test -e "$W/inflight.ready" ||
	fail "the in-flight client did not connect: $(cat "$W/inflight.err")"
kill -TERM "$SERVE_PID"
touch "$W/inflight.go"
wait "$INFLIGHT"
is "a request in flight at SIGTERM is answered" "$(cat "$W/inflight.code")" 400
T0=$(date +%s)
serve_wait
is "SIGTERM stops the daemon cleanly" "$SERVE_RC" 0
[ $(($(date +%s) - T0)) -le 15 ] && ok "... within the drain time" || fail "stop took too long"
grep -q "stopped" "$LOG" && ok "the log says so" || fail "no stop line"
curl -s -o /dev/null --max-time $((2 * TIME_SCALE)) "$H/healthz" && fail "still answering after SIGTERM" || ok "no longer listening"

# ------------------------------------------------------------- restart --

echo "# restart on the same data directory"
LOG_AT=$(wc -l <"$LOG")
start_daemon "$W/out2"
grep -q "admin token" "$W/out2" && fail "a new admin token at restart" || ok "no new admin token at restart"
is "same root" "$(sed -n 's/^root SHA-256 fingerprint: //p' "$W/out2")" "$FP"
call GET "$S/api/v1/certificates/$NEW_SER" "${ADMH[@]}"
expect "certificates survive a restart" 200
# The daemon's TLS key is new at every start: its certificate is recorded
# as the renewal of the one the previous start had, which then no longer
# counts as expiring (nobody has to renew it; its key is gone).
TLS_SER=$(openssl s_client -connect "127.0.0.1:$SP" </dev/null 2>/dev/null |
	openssl x509 -noout -serial 2>/dev/null | cut -d= -f2 | tr A-F a-f)
call GET "$S/api/v1/certificates/$TLS_SER" "${ADMH[@]}"
expect "the certificate the restarted daemon serves is on record" 200
PREV_TLS=$(json_get "$W/body" renewal_of)
[ -n "$PREV_TLS" ] && [ "$PREV_TLS" != "$TLS_SER" ] &&
	ok "it renews the certificate of the previous start" || fail "the restarted daemon's certificate renews nothing"
call GET "$S/api/v1/certificates/$PREV_TLS" "${ADMH[@]}"
is "... which names it as its renewal" "$(json_get "$W/body" renewed_by)" "$TLS_SER"
is "... and is still valid (not revoked)" "$(json_get "$W/body" status)" valid
call GET "$S/api/v1/certificates?expiring_days=3650&name=127.0.0.1&limit=1000" "${ADMH[@]}"
EXPIRING=$(ids_of certificates serial)
case " $EXPIRING " in *" $TLS_SER "*) ok "what expires lists the daemon's current certificate" ;;
	*) fail "what expires lacks the daemon's current certificate: '$EXPIRING'" ;; esac
case " $EXPIRING " in *" $PREV_TLS "*) fail "what expires lists the previous start's certificate" ;;
	*) ok "... and not the previous start's" ;; esac
fetch_crl
crl_lists "$MAIL_SER" && ok "so does the revocation" || fail "revocation lost"
serve_stop
is "stops cleanly again" "$SERVE_RC" 0
# A deliberate stop ends the signing service too: not an error to log.
if tail -n +$((LOG_AT + 1)) "$LOG" | grep -q " error: "; then
	fail "a clean start and stop log an error:"
	tail -n +$((LOG_AT + 1)) "$LOG" | grep " error: " | head -3 | sed 's/^/    /'
else
	ok "a clean start and stop log no error"
fi

# Its standard output gone (a pipe whose reader has exited; the daemon
# ignores SIGPIPE): it serves all the same, says in the log what was not
# shown, and a clean stop is still exit 0 (main's check of standard
# output made it 1, "cannot write the output: write error").
echo "# standard output a pipe no one reads"
LOG_AT=$(wc -l <"$LOG")
mkfifo "$W/gone.fifo"
exec 8<>"$W/gone.fifo"        # a reader, so that the writer opens at once
exec 9>"$W/gone.fifo"
exec 8<&-                     # now it has none: a write is EPIPE
"$MICA" -d "$D" serve --http "127.0.0.1:$HP" --https none --log "$LOG" \
	--threads 2 >&9 9>&- 2>"$W/out3.err" &
SERVE_PID=$!
exec 9>&-
on_exit_kill "$SERVE_PID"
healthy() { curl -s -o /dev/null --max-time $((5 * TIME_SCALE)) "$H/healthz"; }
wait_for "the daemon with no standard output serves" 60 healthy &&
	ok "standard output gone: the daemon serves" ||
	fail "standard output gone: the daemon does not serve ($(tail -2 "$W/out3.err"))"
serve_stop
is "standard output gone: a clean stop is exit 0" "$SERVE_RC" 0
is "... and nothing said on stderr about the output" \
	"$(grep -c 'cannot write the output' "$W/out3.err")" 0
tail -n +$((LOG_AT + 1)) "$LOG" | grep -q "standard output could not be written" &&
	ok "... the log says the start-up lines may not have been shown" ||
	fail "no word in the log of the start-up lines not shown"
# take_port PORT: a process that listens on PORT (TAKER) until
# free_port_again. The interpreter itself, not lib.sh's python3 function:
# in the background that would be a subshell, and killing it would leave
# the interpreter holding the port.
take_port() {
	local py=/usr/bin/python3
	[ -x "$py" ] || py=$(type -P python3)
	rm -f "$W/taken"
	"$py" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
open(sys.argv[2], "w").close(); time.sleep(300)' "$1" "$W/taken" &
	TAKER=$!
	on_exit_kill "$TAKER"
	wait_for "a listener holds port $1" 30 taken || die "could not take port $1"
}
taken() { [ -e "$W/taken" ]; }
free_port_again() { kill "$TAKER"; wait "$TAKER" 2>/dev/null; on_exit_forget "$TAKER"; }

# serve_refused DESC RC MESSAGE ARGS...: 'mica serve ARGS' (logging to
# $LOG) exits RC before it serves, saying MESSAGE on stderr.
serve_refused() {
	local d=$1 rc=$2 msg=$3
	shift 3
	"$MICA" -d "$D" serve "$@" --log "$LOG" >/dev/null 2>"$W/refused.err"
	is "$d" "$?" "$rc"
	grep -qF -- "$msg" "$W/refused.err" && ok "... saying so" ||
		fail "stderr: $(cat "$W/refused.err")"
}

# A start that fails (here its port is taken) says why on stderr, and in
# the --log file too; it binds its ports before it opens the store, so
# it has issued nothing, not even an OCSP responder certificate.
echo "# a failed start says why in the log"
take_port "$HP"
LOG_AT=$(wc -l <"$LOG")
snap
serve_refused "port in use: exit 8" 8 "cannot serve HTTP on 127.0.0.1:$HP (address in use)" \
	--http "127.0.0.1:$HP" --https none
tail -n +$((LOG_AT + 1)) "$LOG" |
	grep -q "error: not serving: cannot serve HTTP on 127.0.0.1:$HP (address in use)" &&
	ok "... and in the log" || fail "the log does not say why: $(tail -n +$((LOG_AT + 1)) "$LOG")"
unchanged "port in use (no OCSP responder certificate either)"
free_port_again

# The HTTPS port taken: the same, so a start that cannot serve HTTPS
# issues itself no certificate.
echo "# the HTTPS port in use"
take_port "$SP"
snap
serve_refused "HTTPS port in use: exit 8" 8 "cannot serve HTTPS on 127.0.0.1:$SP (address in use)" \
	--http "127.0.0.1:$HP" --https "127.0.0.1:$SP"
unchanged "HTTPS port in use"
free_port_again

# One port for both: a usage error, said before anything is bound.
snap
serve_refused "--http and --https on one port: a usage error (exit 2)" 2 \
	"cannot listen on the same port ($HP)" --http "127.0.0.1:$HP" --https "127.0.0.1:$HP"
serve_refused "... a wildcard and one address of it too (exit 2)" 2 \
	"cannot listen on the same port ($HP)" --http "0.0.0.0:$HP" --https "127.0.0.1:$HP"
unchanged "one port for both"

# A certificate the daemon issued itself but could not serve (its
# listener did not start: injected here) renews nothing, and is revoked
# (its key is gone); until a new one serves, the daemon still counts on
# the one it serves, and tries again.
echo "# an HTTPS certificate that could not be served"
cert_row() { sqlite3 "$D/mica.db" "SELECT lower(serial) || ' ' || status || ' ' || reason || ' ' || coalesce(renewal_of, '-') FROM certificate ORDER BY id DESC LIMIT 1"; }
tls_rec() { sqlite3 "$D/mica.db" "SELECT lower(coalesce(tls_serial, '')) FROM ca"; }
served() { tls_serial | sed 's/^serial=//' | tr A-F a-f; }
if fault_injection_built; then
	REC=$(tls_rec)
	MICA_FAULT=tls_listener:1 "$MICA" -d "$D" serve --http "127.0.0.1:$HP" \
		--https "127.0.0.1:$SP" --log "$LOG" >/dev/null 2>"$W/out7.err"
	[ "$?" != 0 ] && ok "a start whose HTTPS listener fails stops" ||
		fail "the daemon served without its HTTPS listener"
	read -r ORPHAN OST ORS OREN <<<"$(cert_row)"
	is "... its new certificate revoked (cessationOfOperation), renewing nothing" \
		"$OST $ORS $OREN" "2 5 -"
	is "... and the record still names the certificate served before" "$(tls_rec)" "$REC"
	serve_start "$W/out8" "$D" MICA_FAULT=tls_listener:2 -- --log "$LOG" \
		--threads 4 || serve_failed "$W/out8"
	SERVED=$(served)
	is "the daemon records the certificate it serves" "$(tls_rec)" "$SERVED"
	LOG_AT=$(wc -l <"$LOG")
	kill -USR1 "$SERVE_PID"
	rotate_failed() { tail -n +$((LOG_AT + 1)) "$LOG" | grep -q "cannot renew the HTTPS certificate"; }
	wait_for "the failed renewal logged" 60 rotate_failed &&
		ok "a renewal whose listener fails is logged" || fail "no word of the failed renewal"
	is "... the daemon serves its certificate on" "$(served)" "$SERVED"
	read -r ORPHAN OST ORS OREN <<<"$(cert_row)"
	is "... the one it could not serve is revoked and renews nothing" "$OST $ORS $OREN" "2 5 -"
	is "... and the served one is not marked renewed" \
		"$(sqlite3 "$D/mica.db" "SELECT coalesce(renewed_by, '-') FROM certificate WHERE lower(serial) = '$SERVED'")" "-"
	kill -USR1 "$SERVE_PID"
	OLD_TLS="serial=$(echo "$SERVED" | tr a-f A-F)"
	wait_for "a new HTTPS certificate at the next try" 60 tls_renewed &&
		ok "the next try serves a new certificate" || fail "no new certificate at the next try"
	NOW_SERVED=$(served)
	is "... which the store records" "$(tls_rec)" "$NOW_SERVED"
	is "... as the renewal of the one served before" \
		"$(sqlite3 "$D/mica.db" "SELECT lower(renewed_by) FROM certificate WHERE lower(serial) = '$SERVED'")" "$NOW_SERVED"
	serve_stop
	is "... and it stops cleanly" "$SERVE_RC" 0
else
	skip "an HTTPS certificate that could not be served" "mica built without --enable-fault-injection"
fi

# Two first starts at once on a directory that does not exist yet: one
# makes the directory and the CA; the other finds the lock taken and
# stops at once, before it could create a second CA over the first.
echo "# two first starts at once"
R=$W/race
RACE=()
for i in 1 2; do
	env -u MICA_PASSPHRASE "$MICA" -d "$R" serve \
		--http "127.0.0.1:$(free_port)" --https none --public-url http://ca.test \
		>"$W/race$i.out" 2>"$W/out-race$i.err" &
	RACE[$i]=$!
	on_exit_kill "${RACE[$i]}"
done
one_gone() { ! kill -0 "${RACE[1]}" 2>/dev/null || ! kill -0 "${RACE[2]}" 2>/dev/null; }
wait_for "one of two first starts stops" 60 one_gone
if ! kill -0 "${RACE[1]}" 2>/dev/null; then LOSER=1 WINNER=2; else LOSER=2 WINNER=1; fi
wait "${RACE[$LOSER]}"
is "two first starts: the second exits 6" "$?" 6
on_exit_forget "${RACE[$LOSER]}"
grep -q "^mica: error: another mica serve .*is serving $R: stop it first$" \
	"$W/out-race$LOSER.err" && ok "... because the first holds the store" ||
	fail "stderr: $(cat "$W/out-race$LOSER.err")"
serving() { grep -q "^http: " "$W/race$WINNER.out"; }
wait_for "the first start serves" 60 serving &&
	ok "... while the first serves the CA it created" ||
	fail "the first start does not serve: $(tail -2 "$W/out-race$WINNER.err")"
is "... one CA, created once" "$(grep -c '^created a new CA' "$W/race1.out" "$W/race2.out" | awk -F: '{ n += $2 } END { print n }')" 1
is "... the data directory made private" "$(stat -c %a "$R")" 700
kill "${RACE[$WINNER]}"
wait "${RACE[$WINNER]}"
is "... and stops cleanly" "$?" 0
on_exit_forget "${RACE[$WINNER]}"
# ------------------------------------------------------------ a full disk --
# The daemon on a 16 MiB tmpfs of its own (a mount namespace: root only):
# /healthz says when the disk holding the store is full - every issuance,
# revocation and CRL then fails or soon will - and is ok again once there
# is room; before, it said ok throughout.
echo "# a full disk"
if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
	FD=$W/fulldisk
	mkdir -m 700 "$FD"
	cat > "$W/in-tmpfs" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c 'mount -t tmpfs -o size=16m,mode=0700 tmpfs "\$0" && exec "\$@"' "$FD" "$MICA" "\$@"
EOF
	chmod 755 "$W/in-tmpfs"
	REAL_MICA=$MICA
	MICA=$W/in-tmpfs HP= SP=
	serve_start "$W/out-full" "$FD/ca" -- --domain full.test || serve_failed "$W/out-full"
	MICA=$REAL_MICA
	INNER=/proc/$SERVE_PID/root$FD
	if [ -f "$INNER/ca/mica.db" ] && [ ! -e "$FD/ca" ]; then
		ok "full disk: the CA lives on the daemon's own tmpfs"
	else
		fail "full disk: the store is not on the tmpfs"
	fi
	fhealth() { curl -s -o "$W/full.json" -w '%{http_code}' "$H/healthz"; }
	is "full disk: /healthz ok while there is room" "$(fhealth)" 200
	dd if=/dev/zero of="$INNER/fill" bs=64k 2>/dev/null
	is "full disk: /healthz 503 once the disk is full" "$(fhealth)" 503
	is "... saying disk_full" "$(json_get "$W/full.json" error)" disk_full
	rm -f "$INNER/fill"
	is "full disk: /healthz ok again once there is room" "$(fhealth)" 200
	serve_stop
	is "full disk: the daemon stops cleanly" "$SERVE_RC" 0
else
	skip "/healthz on a full disk" "needs root (a mount namespace with a small tmpfs)"
fi

# ------------------------------ short-lived server certificates --
# An admin who caps the server profile (short-lived certificates) caps
# the daemon's own HTTPS certificate too: it asked for 90 days whatever
# the profile allowed, and a daemon under 'profile set server --max-days
# 1' would not start ("validity must be between 1 and 1 days").
echo "# the server profile capped at one day"
HP= SP=
"$MICA" -d "$W/short" init --name "Short CA" --public-url http://127.0.0.1:9 \
	--domain short.test >/dev/null 2>"$W/short.err" || fail "init: $(tail -1 "$W/short.err")"
"$MICA" -d "$W/short" profile set server --default-days 1 --max-days 1 >/dev/null ||
	fail "profile set server 1 day"
if serve_start "$W/out-short" "$W/short" -- --domain short.test; then
	ok "the daemon starts with the server profile capped at one day"
	"$MICA" -d "$W/short" export-root --out "$W/short-root.pem" >/dev/null 2>&1
	echo | timeout $((30 * TIME_SCALE)) openssl s_client -connect "127.0.0.1:$SP" \
		-CAfile "$W/short-root.pem" 2>/dev/null | openssl x509 -out "$W/short-tls.pem" 2>/dev/null
	# At most a day (and the few minutes' backdating) from now.
	if [ ! -s "$W/short-tls.pem" ]; then
		fail "no HTTPS certificate read from the daemon"
	elif openssl x509 -in "$W/short-tls.pem" -noout -checkend $((25 * 3600)) >/dev/null; then
		fail "its HTTPS certificate outlives the profile's day: $(openssl x509 -in "$W/short-tls.pem" -noout -enddate)"
	else
		ok "... and its HTTPS certificate ends within the day"
	fi
	serve_stop
else
	fail "the daemon does not start with the server profile capped at one day: $(tail -2 "$W/out-short.err")"
fi

# ---------------------------------------- a newer mica upgrades the store --
# The package upgraded under a running daemon and a newer mica's command
# upgraded the store (here: its schema version moved on by hand): the
# daemon can do nothing right any more, and stops (exit 8) so that a
# supervisor restarts it - with the newer mica - instead of answering
# 503 to everything for good.
echo "# the store upgraded by a newer mica"
HP= SP=
serve_start "$W/out-newer" "$W/newer" -- --domain newer.test || serve_failed "$W/out-newer"
sqlite3 "$W/newer/mica.db" "PRAGMA user_version = $(( $(sqlite3 "$W/newer/mica.db" 'PRAGMA user_version') + 1 ))" ||
	fail "sqlite3 could not move the schema version on"
is "/healthz then: 503" "$(curl -s -o "$W/newer.json" -w '%{http_code}' "$H/healthz")" 503
is "... schema_too_new" "$(json_get "$W/newer.json" error)" schema_too_new
stopped_newer() { ! kill -0 "$SERVE_PID" 2>/dev/null; }
wait_for "the daemon to stop" 60 stopped_newer || fail "the daemon went on running on a store it cannot use"
serve_wait
is "... and the daemon stops, exit 8 (for its supervisor to restart it)" "$SERVE_RC" 8
grep -q "a newer mica upgraded the store" "$W/out-newer.err" && ok "... saying why" ||
	fail "... its log: $(tail -3 "$W/out-newer.err")"

# Built with sanitizers, the daemon reports what it caught on stderr.
if grep -q -e "Sanitizer" -e "runtime error" "$W"/out*.err; then
	fail "sanitizer reports"; grep -h -A5 -e "Sanitizer" -e "runtime error" "$W"/out*.err | head -20
else
	ok "nothing on the daemon's stderr from sanitizers"
fi

finish
