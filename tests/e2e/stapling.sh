#!/bin/bash
# End-to-end: OCSP stapling by nginx (issue 15), the way a mail or web
# server in front of mica's clients does it. A daemon on loopback ports
# issues a leaf; Debian's nginx serves TLS with it and
#     ssl_stapling on;
#     ssl_stapling_responder http://127.0.0.1:PORT/ocsp;
#     ssl_stapling_verify on;
# Checked:
#   - nginx fetches mica's response and staples it: `openssl s_client
#     -status` sees a successful OCSP response, good, verified (nginx
#     staples only what verifies against ssl_trusted_certificate, and
#     s_client verifies the chain to mica's root);
#   - after `mica revoke` and a reload of nginx (which drops the stapled
#     response it keeps until the next refresh), nginx fetches mica's
#     revoked response and, as it does with any status but good, logs it
#     and staples nothing: clients no longer see a stapled "good".
#     (openssl s_server staples a revoked response: tests/e2e/ocsp.sh.)
# nginx staples after its first fetch, which a handshake starts: every
# check polls handshakes with a deadline (lib.sh wait_for).
# Skipped as a whole (counted) when nginx is not installed.
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/stapling.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3 pgrep
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || skip_all "nginx is not installed (Debian: nginx-light)"

W=$(mktmp)
D=$W/ca
serve_start "$W/serve.out" "$D" -- --domain example.test || serve_failed "$W/serve.out"
serve_facts "$W/serve.out" "$W"
ROOT=$W/root.pem

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/www.key" \
	-subj /CN=www.example.test -addext "subjectAltName=DNS:www.example.test" \
	-out "$W/www.csr" 2>/dev/null || die "openssl req"
"$MICA" -d "$D" issue --csr "$W/www.csr" --profile server --out "$W/www.pem" 2>"$W/issue.err" ||
	{ cat "$W/issue.err" >&2; die "mica issue"; }
SERIAL=$(openssl x509 -in "$W/www.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
# nginx sends the leaf and, for stapling, needs its issuer: the chain file.
cat "$W/www.pem" "$ROOT" >"$W/www-chain.pem"

NP=$(free_port)
mkdir -p "$W/ngx"
USER_LINE=
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
cat >"$W/ngx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $W/ngx/nginx.pid;
error_log $W/ngx/error.log info;
$USER_LINE
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $W/ngx/body;
    proxy_temp_path $W/ngx/proxy;
    fastcgi_temp_path $W/ngx/fcgi;
    uwsgi_temp_path $W/ngx/uwsgi;
    scgi_temp_path $W/ngx/scgi;
    server {
        listen 127.0.0.1:$NP ssl;
        server_name www.example.test;
        ssl_certificate $W/www-chain.pem;
        ssl_certificate_key $W/www.key;
        ssl_stapling on;
        ssl_stapling_verify on;
        ssl_stapling_responder $H/ocsp;
        ssl_trusted_certificate $ROOT;
        location / { return 200 "stapled\n"; }
    }
}
EOF
"$NGINX" -t -c "$W/ngx/nginx.conf" >"$W/ngx/t.out" 2>&1 ||
	{ cat "$W/ngx/t.out" >&2; die "nginx refuses the configuration"; }
"$NGINX" -c "$W/ngx/nginx.conf" >"$W/ngx/out" 2>&1 &
NPID=$!
on_exit_kill "$NPID"

# staple: one handshake with s_client -status; output in $W/staple.out.
staple() {
	openssl s_client -connect "127.0.0.1:$NP" -servername www.example.test -status \
		-CAfile "$ROOT" -verify_return_error </dev/null >"$W/staple.out" 2>&1
}
# stapled STATUS: a handshake whose stapled response is successful and
# says STATUS for the leaf, the chain verified.
stapled() {
	staple &&
		grep -q "OCSP Response Status: successful" "$W/staple.out" &&
		grep -q "Cert Status: $1" "$W/staple.out" &&
		grep -q "Verify return code: 0 (ok)" "$W/staple.out"
}

wait_for "nginx listening" 30 sh -c "openssl s_client -connect 127.0.0.1:$NP </dev/null" ||
	{ cat "$W/ngx/error.log" >&2; die "nginx did not start"; }
if wait_for "a stapled good response" 60 stapled good; then
	ok "nginx ssl_stapling: s_client -status sees mica's response, good, chain verified"
else
	fail "nginx staples no good response"
	grep -i "ocsp\|status" "$W/staple.out" | head -5 | sed 's/^/    /'
	grep -i ocsp "$W/ngx/error.log" | tail -5 | sed 's/^/    /'
fi
# (The daemon logs a request once it has completed, after its answer left.)
check "nginx fetched it from mica (GET /ocsp/{base64}, in the daemon's log)" \
	wait_for "GET /ocsp/ in the daemon's log" 10 grep -q "GET /ocsp/" "$W/serve.out.err"

"$MICA" -d "$D" revoke "$SERIAL" --reason cessationOfOperation >/dev/null 2>&1 || die "mica revoke"
# nginx keeps a stapled response until its refresh (up to an hour): a
# reload drops it, as an operator's would after a revocation. nginx
# staples good responses only: of a revoked one it logs the status and
# staples nothing (openssl s_server staples it; tests/e2e/ocsp.sh).
# Under load the old worker, its good response stapled, may still accept
# handshakes for a while after the reload: wait until it has exited.
OLDW=$(pgrep -P "$NPID" | tr '\n' ' ')
kill -HUP "$NPID" 2>/dev/null
gone() { for p in $OLDW; do ! kill -0 "$p" 2>/dev/null || return 1; done; }
wait_for "nginx's old worker to exit after the reload" 60 gone ||
	die "nginx's old worker ($OLDW) did not exit after the reload"
nginx_read_revoked() {
	staple >/dev/null 2>&1
	grep -q 'certificate status "revoked" in the OCSP response' "$W/ngx/error.log"
}
if wait_for "nginx to fetch the revoked response" 60 nginx_read_revoked; then
	ok "after mica revoke and an nginx reload, nginx reads mica's response as revoked"
else
	fail "nginx did not see the revocation"
	grep -i ocsp "$W/ngx/error.log" | tail -5 | sed 's/^/    /'
fi
staple
check "... and staples no good response any more" \
	sh -c "grep -q 'OCSP response: no response sent' '$W/staple.out' && ! grep -q 'Cert Status: good' '$W/staple.out'"

kill "$NPID" 2>/dev/null
wait "$NPID" 2>/dev/null
on_exit_forget "$NPID"
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0
finish
