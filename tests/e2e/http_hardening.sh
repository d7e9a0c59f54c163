#!/bin/bash
# The holes of issue 9 (a hostile review of `mica serve`) and issue 11
# item 2, each closed and checked here against a daemon on loopback:
#   - TLS: HSTS on HTTPS only; TLS 1.2 offers AEAD suites only (a CBC suite
#     is refused), TLS 1.1 is refused;
#   - request framing: two Content-Length lines, Content-Length with
#     Transfer-Encoding, two Host lines, a transfer coding other than
#     chunked, white space before a field's colon, two Authorization,
#     Origin or Sec-Fetch-Site lines, a Host port that is empty, 0 or
#     past 65535: 400, then the connection is closed (nothing smuggled
#     after it is answered);
#   - the access log holds no token secret in any spelling (percent-
#     encoded, upper case, in an id's place): it names routes, not paths;
#   - the pages that take a token (/request, /admin) are not served over
#     plain HTTP: they redirect to HTTPS;
#   - failed authentications lock out a token id from one client address,
#     not the address: strangers' failures never lock out a valid token;
#     behind --trusted-proxy the client is the rightmost untrusted
#     X-Forwarded-For address (and only then);
#   - slow clients from many addresses cannot lock others out (issue 9
#     item 4): 10 loopback addresses x 64 TLS connections, each sending
#     one header byte every 4 s and reconnecting when dropped; meanwhile
#     every new HTTPS client is served within 2 s. A request head must be
#     complete within 10 s, a body must come at 1 KiB/s after 10 s, and a
#     client twice as fast is served;
#   - the log shows text from outside (here a data directory's name)
#     with C0 and C1 controls, DEL and bytes of no UTF-8 character as
#     \xNN, printable UTF-8 as it is: the log stays one line per event,
#     valid UTF-8, and inert in a terminal;
#   - early replies arrive (issue 11 item 2): a body over the limit gets
#     its 413, and a large body with a bad token its 401, 20 times in a
#     row each, over HTTP and HTTPS, from curl and from Python's
#     http.client, never a reset;
# Every check below failed against the daemon before its fix.
SRC=${MICA_SRCDIR:-$(dirname "$0")/../..}
. "$SRC/tests/e2e/lib.sh"

need curl openssl python3
# The interpreter itself ($PYTHON3): $! of a tool in the background must be
# the process that holds its connections.
TOOL="$PYTHON3 $SRC/tests/tools/http_hardening.py"

T0=$(date +%s)
W=$(mktmp)
D=$W/data
LOG=$W/mica.log
serve_start "$W/out" "$D" -- --domain contoso.test --log "$LOG" || serve_failed "$W/out"
serve_facts "$W/out" "$W"

# ----------------------------------------------------------------- TLS --

echo "# TLS: HSTS on HTTPS only (on port 443 only), AEAD suites only"
curl -sS --max-time $((10 * TIME_SCALE)) -I --cacert "$W/root.pem" "$S/healthz" | tr -d '\r' > "$W/hdr.https"
curl -sS --max-time $((10 * TIME_SCALE)) -I "$H/healthz" | tr -d '\r' > "$W/hdr.http"
# HSTS covers every port of the host name, and a browser keeps the port
# when it upgrades (RFC 6797 8.3): from HTTPS on another port than 443, it
# would send http://HOST:$HP/ca.crt to https://HOST:$HP/, where only plain
# HTTP listens, and the root page and files would fail there for a year.
# Sent on port 443 only (with plain HTTP on 80 or off): checked at the end.
grep -qi '^strict-transport-security:' "$W/hdr.https" &&
	fail "Strict-Transport-Security from HTTPS on port $SP, beside plain HTTP on $HP" ||
	ok "no Strict-Transport-Security from HTTPS on port $SP (it would upgrade http://HOST:$HP/ to https://HOST:$HP/)"
grep -qi '^strict-transport-security:' "$W/hdr.http" &&
	fail "Strict-Transport-Security sent over plain HTTP" || ok "no Strict-Transport-Security over plain HTTP"

# handshake [s_client options]: 0 if a TLS handshake completed.
handshake() {
	echo | timeout $((20 * TIME_SCALE)) openssl s_client -connect "127.0.0.1:$SP" -CAfile "$W/root.pem" \
		"$@" >"$W/sc.out" 2>&1
	grep -q '^New, TLSv1\.[0-3], Cipher is [A-Z]' "$W/sc.out"
}
for c in ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA ECDHE-ECDSA-AES128-SHA256 \
	ECDHE-ECDSA-AES256-SHA384 AES128-SHA AES128-GCM-SHA256; do
	handshake -tls1_2 -cipher "$c" && fail "TLS 1.2 with $c was accepted" ||
		ok "TLS 1.2 with $c is refused"
done
for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305; do
	handshake -tls1_2 -cipher "$c" && ok "TLS 1.2 with $c works" ||
		{ fail "TLS 1.2 with $c failed"; tail -3 "$W/sc.out" | sed 's/^/    /'; }
done
handshake -tls1_3 && ok "TLS 1.3 works ($(sed -n 's/^New, TLSv1.3, Cipher is //p' "$W/sc.out"))" ||
	fail "TLS 1.3 failed"
handshake -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' && fail "TLS 1.1 was accepted" || ok "TLS 1.1 is refused"

# ------------------------------------------------------------- framing --

echo "# ambiguous framing: 400, then the connection closes"
SMUGGLE='GET /crl HTTP/1.1\r\nHost: x\r\n\r\n'
# framing DESCRIPTION REQUEST: exactly one answer, 400, then closed.
framing() {
	local what=$1 req=$2 l port tls got
	for l in http https; do
		if [ $l = http ]; then port=$HP tls=; else port=$SP tls=--tls; fi
		$TOOL raw --port "$port" $tls --data "$req" > "$W/raw.json" 2>&1
		got="$(json_get "$W/raw.json" statuses) $(json_get "$W/raw.json" after) $(json_get "$W/raw.json" left_over)"
		case $got in
		'[400] closed 0' | '[400] reset 0') ok "$l: $what: 400, then closed" ;;
		*) fail "$l: $what: $(cat "$W/raw.json") (wanted one 400, then closed)" ;;
		esac
	done
}
framing "two different Content-Length lines" \
	"POST /api/v1/requests HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: 2\\r\\nContent-Length: 32\\r\\n\\r\\n{}$SMUGGLE"
framing "two equal Content-Length lines" \
	"POST /api/v1/requests HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: 2\\r\\nContent-Length: 2\\r\\n\\r\\n{}"
framing "Content-Length with Transfer-Encoding: chunked" \
	"POST /api/v1/requests HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: 7\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n2\\r\\n{}\\r\\n0\\r\\n\\r\\n$SMUGGLE"
framing "two Host lines" \
	"GET /healthz HTTP/1.1\\r\\nHost: a.contoso.test\\r\\nHost: b.contoso.test\\r\\n\\r\\n$SMUGGLE"
framing "a Host that is no host (a blank in it; RFC 9112 3.2)" \
	"GET /healthz HTTP/1.1\\r\\nHost: a b\\r\\n\\r\\n$SMUGGLE"
framing "a Host with a path in it" \
	"GET /healthz HTTP/1.1\\r\\nHost: a.contoso.test/x\\r\\n\\r\\n$SMUGGLE"
# RFC 9112 3.2: "MUST respond with a 400" (libmicrohttpd 0.9.75's own
# answer sent its head twice), and a target has no blank in it.
framing "an HTTP/1.1 request without Host" \
	"GET /healthz HTTP/1.1\\r\\n\\r\\n$SMUGGLE"
framing "a blank in the request target" \
	"GET /healthz x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n$SMUGGLE"
framing "a control character in the request target" \
	"GET /healthz\\x01x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n$SMUGGLE"
# RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
framing "Transfer-Encoding in an HTTP/1.0 request" \
	"POST /ocsp HTTP/1.0\\r\\nConnection: keep-alive\\r\\nContent-Type: application/ocsp-request\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\nGET /crl HTTP/1.0\\r\\n\\r\\n"
# RFC 9112 5.2: libmicrohttpd joins a folded line to the field's name
# ("Content-Length41"), where a proxy that unfolds reads a length, and the
# body would be a second request.
framing "a folded Content-Length" \
	"POST /api/v1/requests HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length:\\r\\n 30\\r\\n\\r\\n$SMUGGLE"
framing "a folded Transfer-Encoding" \
	"POST /api/v1/requests HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nTransfer-Encoding:\\r\\n chunked\\r\\n\\r\\n2\\r\\n{}\\r\\n0\\r\\n\\r\\n$SMUGGLE"
framing "a bare CR in a field value (RFC 9110 5.5)" \
	"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-A: a\\rb\\r\\n\\r\\n$SMUGGLE"
# libmicrohttpd reads the method and the target up to a NUL too.
framing "a NUL in the request target" \
	"GET /healthz\\x00x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n$SMUGGLE"
framing "a NUL in the query" \
	"GET /healthz?a\\x00b HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n$SMUGGLE"
framing "a NUL in the method" \
	"G\\x00ET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n$SMUGGLE"
# RFC 9110 9.1: a method is a token; libmicrohttpd takes any octets up to
# the first blank, and mica answered 405 and kept the connection open.
framing "a method that is not a token (G@T)" "G@T /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n$SMUGGLE"
framing "a method with an escape character in it" "G\\x1bT /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n$SMUGGLE"
# RFC 9110 5.5: no NUL in a field value. libmicrohttpd 0.9.75 hands the
# value out cut at the NUL: mica would read "Bearer mica_x" where a proxy
# read the whole line.
framing "a NUL in a field value" \
	"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-A: a\\x00b\\r\\n\\r\\n$SMUGGLE"
framing "a NUL in Authorization, after the token" \
	"GET /api/v1/status HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer mica_x\\x00junk\\r\\n\\r\\n$SMUGGLE"
framing "a NUL in Content-Type (the last field)" \
	"POST /ocsp HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 0\\r\\nContent-Type: application/ocsp-request\\x00x\\r\\n\\r\\n$SMUGGLE"
framing "a NUL ending a value (before CR LF)" \
	"GET /healthz HTTP/1.1\\r\\nHost: x\\x00\\r\\nX-A: b\\r\\n\\r\\n$SMUGGLE"
framing "a NUL in the last value, lines ending in bare LF" \
	"GET /healthz HTTP/1.1\\nHost: x\\nX-A: a\\x00b\\n\\n$SMUGGLE"
# A head with no field at all (HTTP/1.0): a line that starts with a NUL
# ends it there for libmicrohttpd, the field behind the NUL unread.
framing "a NUL hiding a field line, in a head with no field" \
	"GET /healthz HTTP/1.0\\r\\n\\x00X-A: b\\r\\n\\r\\n$SMUGGLE"
framing "a NUL hiding a field line, in a head with no field, bare LFs" \
	"GET /healthz HTTP/1.0\\n\\x00X-A: b\\n\\n$SMUGGLE"
# RFC 9112 5.2: a folded line (obs-fold) is refused, as a proxy may unfold
# it into the value, where libmicrohttpd joins it to the name.
framing "a field line folded onto the next" \
	"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-A: a\\r\\n b\\r\\n\\r\\n$SMUGGLE"
# A LF alone ends a line (RFC 9112 2.2 lets a recipient take it so): what
# follows it in a value is a line of its own, here one without a colon.
framing "a bare LF in a field value" \
	"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-A: a\\nb\\r\\n\\r\\n$SMUGGLE"
framing "two Content-Type lines" \
	"POST /ocsp HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/ocsp-request\\r\\nContent-Type: text/plain\\r\\nContent-Length: 0\\r\\n\\r\\n$SMUGGLE"
framing "Transfer-Encoding: gzip, chunked" \
	"POST /api/v1/requests HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nTransfer-Encoding: gzip, chunked\\r\\n\\r\\n2\\r\\n{}\\r\\n0\\r\\n\\r\\n"
framing "two Transfer-Encoding lines" \
	"POST /api/v1/requests HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nTransfer-Encoding: chunked\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n2\\r\\n{}\\r\\n0\\r\\n\\r\\n"
# RFC 9112 5.1: libmicrohttpd keeps "Content-Length " as another field, a
# proxy may read it as the length: the body would be a second request.
framing "white space before the colon (Content-Length :)" \
	"POST /ocsp HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/ocsp-request\\r\\nContent-Length : 32\\r\\n\\r\\n$SMUGGLE"
framing "white space before the colon (Transfer-Encoding :)" \
	"POST /api/v1/requests HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nTransfer-Encoding : chunked\\r\\n\\r\\n2\\r\\n{}\\r\\n0\\r\\n\\r\\n$SMUGGLE"
framing "two Authorization lines" \
	"GET /api/v1/status HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer a\\r\\nAuthorization: Bearer b\\r\\n\\r\\n$SMUGGLE"
# The cross-site check reads the first Origin / Sec-Fetch-Site line, a
# proxy may read the last: two of either are refused.
framing "two Origin lines" \
	"GET /api/v1/status HTTP/1.1\\r\\nHost: x\\r\\nOrigin: http://x\\r\\nOrigin: https://evil.test\\r\\n\\r\\n$SMUGGLE"
framing "two Sec-Fetch-Site lines" \
	"GET /api/v1/status HTTP/1.1\\r\\nHost: x\\r\\nSec-Fetch-Site: same-origin\\r\\nSec-Fetch-Site: cross-site\\r\\n\\r\\n$SMUGGLE"
# A Host whose port no client connected to (empty, 0, past 65535): no
# redirect or URL is built on it.
for port in "" 0 99999; do
	framing "a Host with port '$port'" \
		"GET /healthz HTTP/1.1\\r\\nHost: x:$port\\r\\n\\r\\n$SMUGGLE"
done
# The honest forms still work, and keep the connection.
$TOOL raw --port "$HP" --wait 2 \
	--data "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" > "$W/raw.json"
is "two pipelined GETs are both answered" "$(json_get "$W/raw.json" statuses)" "[200, 200]"
$TOOL raw --port "$HP" --wait 5 --data "GET /healthz HTTP/1.0\\r\\n\\r\\n" > "$W/raw.json"
is "an HTTP/1.0 GET without Host is answered" \
	"$(json_get "$W/raw.json" statuses) $(json_get "$W/raw.json" after)" "[200] closed"
$TOOL raw --port "$HP" --wait 2 \
	--data "POST /api/v1/requests HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n2\\r\\n{}\\r\\n0\\r\\n\\r\\n" > "$W/raw.json"
is "a chunked body alone is read (400 for the missing CSR, not for the framing)" \
	"$(json_get "$W/raw.json" statuses) $(json_get "$W/raw.json" after)" "[400] open"
# RFC 9110 9.3.7, RFC 9112 3.2.4: "OPTIONS *" asks about the server as a
# whole: 200, the methods it takes in Allow, no content. "*" is the target
# of OPTIONS only; OPTIONS of a path is that path's 405 and its Allow.
for l in http https; do
	if [ $l = http ]; then base=$H; else base=$S; fi
	CODE=$(curl -s --max-time $((10 * TIME_SCALE)) --cacert "$W/root.pem" -D "$W/hdr" -o "$W/body" \
		-w '%{http_code}' -X OPTIONS --request-target '*' "$base")
	allow=$(tr -d '\r' < "$W/hdr" | sed -n 's/^allow: //Ip')
	clen=$(tr -d '\r' < "$W/hdr" | sed -n 's/^content-length: //Ip')
	if [ "$CODE" = 200 ] && [ "$allow" = "GET, HEAD, POST, DELETE, OPTIONS" ] &&
		[ "$clen" = 0 ] && [ ! -s "$W/body" ]; then
		ok "$l: OPTIONS * is 200, Allow: $allow, no content"
	else
		fail "$l: OPTIONS *: $CODE, Allow '$allow', Content-Length '$clen', $(wc -c < "$W/body") bytes"
	fi
	CODE=$(curl -s --max-time $((10 * TIME_SCALE)) --cacert "$W/root.pem" -o "$W/body" -w '%{http_code}' \
		--request-target '*' "$base")
	is "$l: GET * is 400 bad_request_target" "$CODE $(json_get "$W/body" error)" "400 bad_request_target"
	CODE=$(curl -s --max-time $((10 * TIME_SCALE)) --cacert "$W/root.pem" -D "$W/hdr" -o /dev/null \
		-w '%{http_code}' -X OPTIONS "$base/healthz")
	is "$l: OPTIONS /healthz is still 405 with the path's Allow" \
		"$CODE $(tr -d '\r' < "$W/hdr" | sed -n 's/^allow: //Ip')" "405 GET, HEAD"
done
$TOOL raw --port "$HP" --wait 2 --data "OPTIONS * HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET * HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nOPTIONS *?x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" > "$W/raw.json"
is "OPTIONS *, GET *, OPTIONS *?x, GET /healthz on one connection: 200, 400, 400, 200" \
	"$(json_get "$W/raw.json" statuses) $(json_get "$W/raw.json" after)" "[200, 400, 400, 200] open"
# RFC 9112 3.2.4: OPTIONS with an absolute-form target whose path is empty
# is the asterisk form a proxy forwards as "OPTIONS *": the server as a
# whole (it was "OPTIONS /", 405 with the page's Allow); with a path it
# is that path's, and with a query only it is 400, as "OPTIONS *?x" is.
$TOOL raw --port "$HP" --wait 2 --data "OPTIONS http://127.0.0.1:$HP HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nOPTIONS http://127.0.0.1:$HP/ HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nOPTIONS http://x?y HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET http://x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" > "$W/raw.json"
is "OPTIONS http://HOST, OPTIONS http://HOST/, OPTIONS http://x?y, GET http://x: 200, 405, 400, 200" \
	"$(json_get "$W/raw.json" statuses) $(json_get "$W/raw.json" after)" "[200, 405, 400, 200] open"
curl -s --max-time $((10 * TIME_SCALE)) -D "$W/hdr" -o /dev/null -X OPTIONS --request-target "http://127.0.0.1:$HP" "$H/"
is "OPTIONS http://HOST: the server's Allow" "$(tr -d '\r' < "$W/hdr" | sed -n 's/^allow: //Ip')" \
	"GET, HEAD, POST, DELETE, OPTIONS"
# RFC 9112 3.2.2: a server must accept the absolute form of the target.
$TOOL raw --port "$HP" --wait 2 \
	--data "GET http://127.0.0.1:$HP/healthz HTTP/1.1\\r\\nHost: 127.0.0.1:$HP\\r\\n\\r\\nGET /healthz HTTP/1.1\\r\\nHost: [::1]:80\\r\\n\\r\\n" > "$W/raw.json"
is "an absolute-form target is served by its path; an IPv6 literal is a Host" \
	"$(json_get "$W/raw.json" statuses)" "[200, 200]"
# Blanks after a field value are not part of it (RFC 9110 5.5): a Host
# with them is that host, and ACME builds its URLs without them.
$TOOL raw --port "$HP" --wait 2 \
	--data "GET /healthz HTTP/1.1\\r\\nHost: 127.0.0.1:$HP \\t\\r\\n\\r\\n" > "$W/raw.json"
is "a Host with blanks after it is answered" "$(json_get "$W/raw.json" statuses)" "[200]"
CODE=$(curl -s --max-time $((10 * TIME_SCALE)) --cacert "$W/root.pem" -o "$W/body" -w '%{http_code}' \
	-H "Host: 127.0.0.1:$SP  " "$S/acme/directory")
is "ACME: a Host with blanks after it: 200" "$CODE" 200
is "... its URLs name the host without them" "$(json_get "$W/body" newNonce)" "https://127.0.0.1:$SP/acme/new-nonce"
# ACME builds its URLs on the Host: one that is there but cannot make a
# URL (port 0, past 65535) is named as such, not as missing.
for h in 127.0.0.1:0 127.0.0.1:65536; do
	CODE=$(curl -s --max-time $((10 * TIME_SCALE)) --cacert "$W/root.pem" -o "$W/body" -w '%{http_code}' \
		-H "Host: $h" "$S/acme/directory")
	case $CODE:$(json_get "$W/body" detail) in
	400:*"port from 1 to 65535"*) ok "ACME: Host $h is 400, saying what a Host must be" ;;
	*) fail "ACME: Host $h: $CODE $(json_get "$W/body" detail)" ;;
	esac
done

# --------------------------------------------------- pages with tokens --

echo "# /request and /admin take tokens: HTTPS only"
for p in /request /admin; do
	CODE=$(curl -s --max-time $((10 * TIME_SCALE)) -o "$W/body" -D "$W/hdr" -w '%{http_code}' "$H$p")
	loc=$(tr -d '\r' < "$W/hdr" | sed -n 's/^location: //Ip')
	if [ "$CODE" = 302 ] && [ "$loc" = "$S$p" ]; then
		ok "http: GET $p redirects to $loc"
	else
		fail "http: GET $p: $CODE (Location '$loc'), wanted 302 to $S$p"
	fi
	grep -q -e 'id="token"' -e 'id="admin-token"' -e '<form' "$W/body" &&
		fail "http: $p: the page (with its token field) was sent" ||
		ok "http: $p: no page and no token field over plain HTTP"
	CODE=$(curl -s --max-time $((10 * TIME_SCALE)) --cacert "$W/root.pem" -o "$W/body" -w '%{http_code}' "$S$p")
	is "https: GET $p is the page" "$CODE" 200
done
CODE=$(curl -s --max-time $((10 * TIME_SCALE)) --cacert "$W/root.pem" -o "$W/body" -w '%{http_code}' "$S/request")
grep -q 'id="token"' "$W/body" && ok "https: /request has its token field" || fail "https: /request lost its token field"
CODE=$(curl -s --max-time $((10 * TIME_SCALE)) -o "$W/body" -w '%{http_code}' "$H/request.js")
grep -q 'isSecureContext' "$W/body" && ok "request.js takes no token outside a secure context" ||
	fail "request.js does not check for a secure context"

# --------------------------------------------------------- access log --

echo "# the access log names routes, never a token pasted into a URL"
SECRET=${ADM##*_}
TOKID=${ADM#mica_}
TOKID=${TOKID%%_*}
ENC=$(python3 -c 'import sys; print("".join("%%%02x" % ord(c) for c in sys.argv[1]))' "$SECRET")
UP=$(echo "$ADM" | tr a-z A-Z)
n=0
for p in "/%6dica_${TOKID}_$SECRET" "/$UP" "/%256dica_${TOKID}_$SECRET" \
	"/api/v1/requests/$SECRET" "/api/v1/requests/$ENC" "/api/v1/certificates/$SECRET" \
	"/api/v1/tokens/$ADM" "/ca.crt/$SECRET" "/$SECRET/../healthz"; do
	curl -s -o /dev/null --max-time $((10 * TIME_SCALE)) --path-as-is "$H$p"
	curl -s -o /dev/null --max-time $((10 * TIME_SCALE)) --path-as-is --cacert "$W/root.pem" "$S$p"
	n=$((n + 2))
done
# Wait for the last line (written when the request completes).
logged_all() { [ "$(grep -c -e ' (other path) ' -e '{id} ' -e '{serial} ' "$LOG")" -ge "$n" ]; }
wait_for "the log lines of $n requests" 10 logged_all || :
python3 - "$LOG" "$SECRET" > "$W/leaks" <<'PY2'
import sys, urllib.parse
secret = sys.argv[2].lower()
for line in open(sys.argv[1], encoding='latin-1'):
    s = line
    for _ in range(4):          # %256d -> %6d -> m
        s = urllib.parse.unquote(s)
    if secret in s.lower() or secret[:16] in s.lower():
        print(line.rstrip())
PY2
if [ -s "$W/leaks" ]; then
	fail "the token secret reached the log"; sed 's/^/    /' "$W/leaks" | head -5
else
	ok "no spelling of the token secret reached the log ($n requests)"
fi
grep -q "GET /api/v1/requests/{id} 4[0-9][0-9] " "$LOG" && ok "a request id is logged as the route's pattern" ||
	fail "no '/api/v1/requests/{id}' line in the log"
grep -q "GET (other path) 404" "$LOG" && ok "an unknown path is logged as (other path)" ||
	fail "no '(other path)' line in the log"

# -------------------------------------------------------- slow clients --

echo "# deadlines: the request head within 10 s, the body at 1 KiB/s after 10 s"
$TOOL deadline --port "$HP" > "$W/dl.http" 2>&1 &
DL=$!
on_exit_kill "$DL"
$TOOL deadline --port "$SP" --tls > "$W/dl.https" 2>&1
wait "$DL"
on_exit_forget "$DL"
# Dropped at the 10 s deadline, seen within 4 s of it (times the scale).
in_window() {
	python3 -c 'import sys; sys.exit(0 if 9 <= float(sys.argv[1]) <= 10 + 4 * float(sys.argv[2]) else 1)' \
		"${1:-99999}" "$TIME_SCALE"
}
for l in http https; do
	h=$(json_get "$W/dl.$l" head)
	b=$(json_get "$W/dl.$l" body)
	in_window "$h" &&
		ok "$l: a head trickled a byte a second is dropped after $h s" ||
		fail "$l: a head trickled a byte a second: $(cat "$W/dl.$l")"
	in_window "$b" &&
		ok "$l: a body trickled a byte a second is dropped after $b s" ||
		fail "$l: a body trickled a byte a second: $(cat "$W/dl.$l")"
	case $(json_get "$W/dl.$l" okbody) in
	"HTTP/1.1 400"*) ok "$l: a 30 KiB body at 2 KiB/s is read to the end and answered ($(json_get "$W/dl.$l" okbody_seconds) s)" ;;
	*) fail "$l: a 30 KiB body at 2 KiB/s: $(cat "$W/dl.$l")" ;;
	esac
done

echo "# 640 TLS connections trickling from 10 addresses; new clients are served"
rm -f "$W/stop" "$W/ready"
$TOOL trickle --port "$SP" --tls --addrs 127.0.0.11-20 --per 64 --every 4 \
	--ready "$W/ready" --stop "$W/stop" --max 90 > "$W/trickle.json" 2>&1 &
TRICKLE=$!
on_exit_kill "$TRICKLE"
attack_ready() { [ -s "$W/ready" ] || ! kill -0 "$TRICKLE" 2>/dev/null; }
wait_for "the attackers' connections" 60 attack_ready || :
[ -s "$W/ready" ] && ok "the attack is on: $(cat "$W/ready") connections" ||
	fail "the attackers could not connect: $(cat "$W/trickle.json")"
# Probe for 25 s, past two rounds of head deadlines: every new HTTPS (and
# HTTP) client must be served within 2 s (times MICA_TEST_TIME_SCALE).
LIMIT_MS=$((2000 * TIME_SCALE))
slowest=0 bad=0 n=0
T1=$(date +%s)
while [ $(($(date +%s) - T1)) -lt 25 ]; do
	for u in "$S" "$H"; do
		r=$(curl -s -o /dev/null --max-time $((10 * TIME_SCALE)) --cacert "$W/root.pem" \
			-w '%{http_code} %{time_total}' "$u/healthz")
		ms=$(awk -v t="${r#* }" 'BEGIN { printf "%d", t * 1000 }')
		n=$((n + 1))
		[ "$ms" -gt "$slowest" ] && slowest=$ms
		if [ "${r%% *}" != 200 ] || [ "$ms" -gt "$LIMIT_MS" ]; then
			bad=$((bad + 1))
			echo "    $u/healthz: ${r%% *} after $ms ms"
		fi
	done
	sleep 0.2
done
if [ -n "${MICA_VALGRIND:-}" ]; then
	# valgrind runs the daemon's threads one at a time, each TLS
	# handshake many times slower: a latency bound means nothing there.
	skip "new clients served within $LIMIT_MS ms during the attack ($bad of $n slower)" \
		"latency is not measured under valgrind"
else
	[ "$bad" = 0 ] && [ "$n" -ge 10 ] && ok "$n new clients during the attack, all served within $LIMIT_MS ms (slowest $slowest ms)" ||
		fail "$bad of $n new clients were not served within $LIMIT_MS ms during the attack (10 probes at least)"
fi
touch "$W/stop"
wait "$TRICKLE"
on_exit_forget "$TRICKLE"
dropped=$(json_get "$W/trickle.json" dropped)
[ "${dropped:-0}" -gt 0 ] && ok "the daemon dropped $dropped slow connections ($(cat "$W/trickle.json"))" ||
	fail "no slow connection was dropped: $(cat "$W/trickle.json")"
grep -q "dropped slow connections" "$LOG" && ok "and said so in the log" || fail "no 'dropped slow connections' in the log"

# ------------------------------------------------------- early replies --

echo "# early replies are received, not reset (20 times each)"
head -c $((100 * 1024 - 2)) /dev/zero | tr '\0' ' ' | sed 's/^/{/;s/$/}/' > "$W/big.json"
head -c $((60 * 1024 - 2)) /dev/zero | tr '\0' ' ' | sed 's/^/{/;s/$/}/' > "$W/60k.json"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' > "$W/2m.json"
# curl_n N URL [curl options]: the statuses of N POSTs, counted ("20x413");
# "@TOKEN@" in an option becomes a bearer token with a new id each time
# (failures with one id would add up to 429).
curl_n() {
	local n=$1 u=$2 i a args
	shift 2
	for i in $(seq 1 "$n"); do
		args=()
		for a in "$@"; do
			args+=("${a//@TOKEN@/mica_$(printf '%08x%08x' $RANDOM $i)_$(printf 'f%.0s' $(seq 64))}")
		done
		curl -s --max-time $((30 * TIME_SCALE)) --cacert "$W/root.pem" -o /dev/null -w '%{http_code}\n' \
			-H 'Content-Type: application/json' "${args[@]}" "$u" 2>/dev/null
	done | sort | uniq -c | awk '{printf "%s%sx%s", (NR > 1 ? " " : ""), $1, $2}'
}
for l in http https; do
	if [ $l = http ]; then base=$H port=$HP tls=; else base=$S port=$SP tls=--tls; fi
	is "$l: curl, a 100 KiB body: always 413" \
		"$(curl_n 20 "$base/api/v1/requests" --data-binary @"$W/big.json")" "20x413"
	is "$l: curl (Expect: 100-continue), a 2 MiB body: always 413" \
		"$(curl_n 20 "$base/api/v1/requests" --data-binary @"$W/2m.json")" "20x413"
	# A chunked body past 1 MiB: 413 while curl is still sending (it
	# stops then), not "Send failure: Connection reset by peer".
	is "$l: curl, a 2 MiB chunked body: always 413" \
		"$(curl_n 5 "$base/api/v1/requests" --data-binary @"$W/2m.json" -H 'Transfer-Encoding: chunked')" "5x413"
	is "$l: curl, a 60 KiB body with a bad token: always 401" \
		"$(curl_n 20 "$base/api/v1/requests" --data-binary @"$W/60k.json" \
			-H "Authorization: Bearer @TOKEN@")" "20x401"
	$TOOL early --port "$port" $tls --cacert "$W/root.pem" --size $((100 * 1024)) > "$W/early.json"
	is "$l: Python http.client, a 100 KiB body: always 413" "$(cat "$W/early.json")" '{"413": 20}'
	$TOOL early --port "$port" $tls --cacert "$W/root.pem" --size $((60 * 1024)) \
		--token random > "$W/early.json"
	is "$l: Python http.client, a 60 KiB body with bad tokens: always 401" \
		"$(cat "$W/early.json")" '{"401": 20}'
done

echo "# a declared body over 64 KiB: 413 on the head alone, never 100 Continue"
# RFC 9110 10.1.1: a server that will refuse the body answers with the
# final status instead of "100 Continue". libmicrohttpd sends 100 itself
# unless the first call of the handler queued an answer: mica's 413 must
# come then, on every route that takes a body, with Connection: close and
# the route's usual error body; the body is never sent here, so a reset
# or a wait for it shows as a failure.
for l in http https; do
	if [ $l = http ]; then port=$HP tls=; else port=$SP tls=--tls; fi
	for route in "/api/v1/requests application/json body_too_large" \
		"/acme/new-order application/jose+json urn:ietf:params:acme:error:malformed" \
		"/scep?operation=PKIOperation application/x-pki-message body_too_large" \
		"/ocsp application/ocsp-request body_too_large"; do
		read -r rpath rctype rerr <<< "$route"
		for how in "--expect --length 102400" "--expect --length 10485760" "--length 10485760"; do
			got=$($TOOL expect --port "$port" $tls --path "$rpath" --ctype "$rctype" $how \
				--wait $((10 * TIME_SCALE)))
			want="{\"after\": \"closed\", \"body_sent\": 0, \"connection\": \"close\", \"error\": \"$rerr\", \"interim\": [], \"status\": 413}"
			is "$l: POST $rpath ${how//--/}: 413 at once, no 100, closed" "$got" "$want"
		done
	done
	# A chunked body cannot be judged before it comes: 100, then 413
	# once it is over (libmicrohttpd takes no answer while a body is
	# still coming: MHD_queue_response).
	got=$($TOOL expect --port "$port" $tls --chunked 102400 --expect --wait $((10 * TIME_SCALE)))
	is "$l: a chunked body of 100 KiB after Expect: 100, then 413 and closed" "$got" \
		'{"after": "closed", "body_sent": 106496, "connection": "close", "error": "body_too_large", "interim": [100], "status": 413}'
	# One still coming past 1 MiB gets its 413 then, written by mica
	# itself, and the connection is closed after up to 1 MiB more: it
	# was cut off with a reset, and the client saw no answer.
	got=$($TOOL expect --port "$port" $tls --chunked 1572864 --expect --wait $((10 * TIME_SCALE)))
	is "$l: a chunked body of 1.5 MiB: 100, then 413 and closed, never a reset" "$got" \
		'{"after": "closed", "body_sent": 1572864, "connection": "close", "error": "body_too_large", "interim": [100], "status": 413}'
	# That answer, written by mica, has no content for HEAD (RFC 9110
	# 9.3.2), as libmicrohttpd's have none.
	got=$($TOOL expect --port "$port" $tls --method HEAD --chunked 1572864 --expect --wait $((10 * TIME_SCALE)))
	is "$l: HEAD with a chunked body of 1.5 MiB: 413 without content" "$got" \
		'{"after": "closed", "body_sent": 1572864, "connection": "close", "error": "no content", "interim": [100], "status": 413}'
	# RFC 9110 10.1.1: a server MUST ignore "Expect: 100-continue" in an
	# HTTP/1.0 request; such a client sends its body without waiting, so
	# its 413 comes after the body (up to 1 MiB), as without Expect. It
	# was answered on the head and closed under the body being sent.
	got=$($TOOL expect --port "$port" $tls --http10 --expect --length 921600 --send-body \
		--wait $((10 * TIME_SCALE)))
	is "$l: HTTP/1.0 with Expect, a 900 KiB body sent at once: all of it read, then 413" "$got" \
		'{"after": "closed", "body_sent": 921600, "connection": "close", "error": "body_too_large", "interim": [], "status": 413}'
done

# ------------------------------------------------------------ lockout --

echo "# failed authentications lock out a token id, not the address"
# status URL [curl options]: the HTTP status of GET URL.
status() {
	local u=$1
	shift
	curl -s --max-time $((15 * TIME_SCALE)) -o "$W/body" -w '%{http_code}' --cacert "$W/root.pem" "$@" "$u"
}
BOGUS="mica_00000000deadbeef_$(printf '0%.0s' $(seq 64))"
for i in $(seq 1 10); do status "$S/api/v1/status" -H "Authorization: Bearer $BOGUS" >/dev/null; done
is "10 failures with one token id: that id gets 429" \
	"$(status "$S/api/v1/status" -H "Authorization: Bearer $BOGUS")" 429
is "a valid token from the same address is still accepted" \
	"$(status "$S/api/v1/status" -H "Authorization: Bearer $ADM")" 200
WRONG="${ADM%_*}_$(printf '1%.0s' $(seq 64))"
for i in $(seq 1 10); do status "$S/api/v1/status" -H "Authorization: Bearer $WRONG" >/dev/null; done
is "10 guesses at the admin token's secret from one address: 429 for that token there" \
	"$(status "$S/api/v1/status" -H "Authorization: Bearer $ADM")" 429
is "the same token from another address is not locked out" \
	"$(status "$S/api/v1/status" -H "Authorization: Bearer $ADM" --interface 127.0.0.3)" 200

# Requests whose arguments overflow libmicrohttpd's memory for the
# connection (a query of 24,000 '&'): it drops them without saying so.
# They must not stay counted in flight (the stop below would wait for
# them) nor keep their memory (ASan and valgrind runs would see it).
python3 - "$HP" "$TIME_SCALE" <<'PY' || fail "the overflowing requests could not be sent"
import socket, sys
conns = []
for i in range(20):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /healthz?" + b"&" * 24000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    conns.append(s)
for s in conns:
    s.settimeout(60 * float(sys.argv[2]))
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
PY
is "and the daemon still answers" "$(curl -s --max-time $((15 * TIME_SCALE)) -o /dev/null -w '%{http_code}' "$H/healthz")" 200

# ---------------------------------------------------------------- end --

serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0
grep -q "in flight" "$LOG" && fail "the stop waited for requests in flight: $(grep "in flight" "$LOG")" ||
	ok "no request was left in flight at the stop"

# ----------------------------------------------------- trusted proxies --

echo "# behind --trusted-proxy 127.0.0.1: the client is in X-Forwarded-For"
expect_rc "a prefix with host bits set is refused" 2 \
	"$MICA" -d "$W/none" serve --trusted-proxy 10.1.2.3/8
[ ! -e "$W/none" ] && ok "and nothing was created" || fail "$W/none was created"
D2=$W/data2
LOG2=$W/mica2.log
HP= SP=
serve_start "$W/out2" "$D2" -- --domain contoso.test --log "$LOG2" \
	--trusted-proxy 127.0.0.1 --trusted-proxy 10.0.0.0/8 --api-over-http || serve_failed "$W/out2"
serve_facts "$W/out2" "$W"
# via CLIENT [curl options]: GET /api/v1/status over HTTP, as the proxy
# would forward it for CLIENT.
via() {
	local c=$1
	shift
	curl -s --max-time $((15 * TIME_SCALE)) -o "$W/body" -w '%{http_code}' -H "X-Forwarded-For: $c" "$@" "$H/api/v1/status"
}
WRONG="${ADM%_*}_$(printf '2%.0s' $(seq 64))"
for i in $(seq 1 10); do via 203.0.113.5 -H "Authorization: Bearer $WRONG" >/dev/null; done
is "10 guesses from 203.0.113.5 (through the proxy): 429 for that client" \
	"$(via 203.0.113.5 -H "Authorization: Bearer $ADM")" 429
is "another client through the same proxy is not locked out" \
	"$(via 198.51.100.7 -H "Authorization: Bearer $ADM")" 200
is "the rightmost untrusted hop is the client (10.0.0.0/8 is a proxy too)" \
	"$(via "203.0.113.5, 198.51.100.8, 10.1.2.3" -H "Authorization: Bearer $ADM")" 200
is "an address left of it is only a claim" \
	"$(via "198.51.100.9, 203.0.113.5" -H "Authorization: Bearer $ADM")" 429
# Who the log says it was.
via 203.0.113.77 -H "Authorization: Bearer nonsense" >/dev/null
via 203.0.113.78 --interface 127.0.0.2 -H "Authorization: Bearer nonsense" >/dev/null
# Each line is written when its request completes, after the answer has
# left, on whichever thread served it: wait for both, not just the last.
logged_both() {
	grep -q "203.0.113.77 GET /api/v1/status" "$LOG2" &&
		grep -q "127.0.0.2 GET /api/v1/status" "$LOG2"
}
wait_for "the log lines of both requests" 10 logged_both || :
grep -q "203.0.113.77 GET /api/v1/status 401" "$LOG2" && ok "the log names the forwarded client" ||
	fail "the log does not name 203.0.113.77"
grep -q "127.0.0.2 GET /api/v1/status 401" "$LOG2" && ! grep -q "203.0.113.78" "$LOG2" &&
	ok "X-Forwarded-For from an untrusted peer (127.0.0.2) is ignored" ||
	fail "X-Forwarded-For from 127.0.0.2 was believed"
# A submission through the proxy records the forwarded client.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/p.key" \
	-subj /CN=www.contoso.test -addext subjectAltName=DNS:www.contoso.test \
	-out "$W/p.csr" 2>/dev/null || die "openssl req"
CODE=$(curl -s --max-time $((15 * TIME_SCALE)) -o "$W/body" -w '%{http_code}' -H "X-Forwarded-For: 203.0.113.99" \
	-H 'Content-Type: application/x-pem-file' --data-binary @"$W/p.csr" "$H/api/v1/requests")
RID=$(json_get "$W/body" id)
is "a request without a token through the proxy waits (202)" "$CODE" 202
curl -s --max-time $((15 * TIME_SCALE)) -o "$W/body" --cacert "$W/root.pem" -H "Authorization: Bearer $ADM" \
	"$S/api/v1/requests/$RID"
is "the stored request names the forwarded client" "$(json_get "$W/body" client)" 203.0.113.99
CODE=$(curl -s --max-time $((15 * TIME_SCALE)) -o "$W/body" -w '%{http_code}' "$H/request")
is "with --api-over-http (a TLS proxy in front) /request is served over HTTP" "$CODE" 200
serve_stop
is "the second daemon stops cleanly" "$SERVE_RC" 0

# ------------------------------------------------- HSTS on 80 and 443 --

echo "# HSTS where every URL it upgrades reaches HTTPS: HTTP on 80, HTTPS on 443"
HA=127.0.0.77
if python3 -c 'import socket, sys
for p in (80, 443):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], p)); s.close()' "$HA" 2>/dev/null; then
	HP= SP=
	# The second daemon's store: $W/root.pem is its root now.
	SERVE_HEALTHZ=0 serve_start "$W/out3" "$D2" -- --http "$HA:80" --https "$HA:443" ||
		serve_failed "$W/out3"
	wait_for "https://$HA/healthz" 30 curl -s -o /dev/null --max-time $((5 * TIME_SCALE)) --cacert "$W/root.pem" \
		"https://$HA/healthz" || :
	curl -sS --max-time $((10 * TIME_SCALE)) -I --cacert "$W/root.pem" "https://$HA/healthz" | tr -d '\r' > "$W/hdr.443"
	curl -sS --max-time $((10 * TIME_SCALE)) -I "http://$HA/healthz" | tr -d '\r' > "$W/hdr.80"
	hsts=$(sed -n 's/^strict-transport-security: //Ip' "$W/hdr.443")
	case $hsts in
	max-age=*) age=${hsts#max-age=}; age=${age%%;*}
		[ "$age" -ge 15552000 ] 2>/dev/null && ok "HTTPS on 443 carries Strict-Transport-Security: $hsts" ||
			fail "HSTS max-age too short: $hsts" ;;
	*) fail "no Strict-Transport-Security from HTTPS on 443"; sed 's/^/    /' "$W/hdr.443" ;;
	esac
	grep -qi '^strict-transport-security:' "$W/hdr.80" &&
		fail "Strict-Transport-Security sent over plain HTTP on 80" ||
		ok "no Strict-Transport-Security over plain HTTP on 80"
	serve_stop
	is "the daemon on 80 and 443 stops cleanly" "$SERVE_RC" 0
else
	skip "HSTS from HTTPS on 443" "cannot listen on $HA:80 and $HA:443 (not root, or taken)"
fi

# ------------------------------------------- outside text in the log --

echo "# the log shows outside text with controls, C1 and bytes of no character as \\xNN"
# A data directory named to retitle a terminal (OSC ... BEL), with C1 CSI
# (U+009B, which some terminals take for ESC [), a byte of no UTF-8
# character and Greek, which is kept as it is.
D4=$W/$'ca-\e]0;owned\a-\xc2\x9b'$'31m-\xff-'"Ελλάδα"
LOG4=$W/mica4.log
HP= SP=
serve_start "$W/out4" "$D4" -- --domain contoso.test --log "$LOG4" || serve_failed "$W/out4"
curl -s -o /dev/null --max-time 10 -A $'\xc2\x9b''2J'$'\xff\e[31m' \
	-H $'X-Note: \xc2\x85' "$H/healthz/"$'%C2%9B%FF'
serve_stop
is "the daemon with that data directory stops cleanly" "$SERVE_RC" 0
grep -qF "created a new CA in $W/ca-\\x1b]0;owned\\x07-\\xc2\\x9b31m-\\xff-Ελλάδα" "$LOG4" &&
	ok "the log names the data directory with its ESC, BEL, C1 and stray byte as \\xNN, Greek kept" ||
	{ fail "the data directory is not shown escaped in the log"; grep "created" "$LOG4" | od -c | head -8; }
LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$LOG4" &&
	fail "a control character reached the log" || ok "no control character reached the log"
python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$LOG4" 2>/dev/null &&
	ok "the log is well-formed UTF-8" || fail "the log is not UTF-8"
LC_ALL=C grep -q $'\xc2[\x80-\x9f]' "$LOG4" &&
	fail "a C1 control reached the log" || ok "no C1 control reached the log"

grep -q -e "Sanitizer" -e "runtime error" "$W/out.err" "$W/out2.err" "$W/out4.err" &&
	fail "sanitizer reports on the daemons' stderr" || ok "nothing from sanitizers on the daemons' stderr"
echo "# http_hardening.sh took $(($(date +%s) - T0)) s"
finish
