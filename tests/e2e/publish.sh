#!/bin/bash
# End-to-end: publication to a directory (issue 15, item 4). A daemon runs
# with --publish PUB; Debian's nginx serves PUB with the configuration the
# README documents (static files, /ocsp/ by path, misses and POST to
# mica). Checked:
#   - nginx answers /ca.crt, /root.crt, /crl and GET /ocsp/{base64} with
#     the same bytes as the daemon, the OCSP answer from the published
#     file (not proxied), good as openssl reads it;
#   - openssl ocsp -url pointed at nginx (POST) gets its answer through
#     the fallback to mica;
#   - after mica revoke, the published file stops saying good: it is
#     removed or rewritten within a pass, and nginx then answers revoked;
#   - nginx merges slashes in the path (%2F%2F too): a request with a
#     '//' in its base64 gets the file mica writes under the merged name;
#   - `mica publish DIR2` from the command line writes the same files,
#     atomically (no temporary file left), and a second run rewrites none.
# Skipped as a whole (counted) when nginx is not installed.
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/publish.sh
SRC=${MICA_SRCDIR:-$(dirname "$0")/../..}
. "$SRC/tests/e2e/lib.sh"

need curl openssl python3 sqlite3
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || skip_all "nginx is not installed (Debian: nginx-light)"

W=$(mktmp)
D=$W/ca
PUB=$W/pub
serve_start "$W/serve.out" "$D" -- --domain example.test --publish "$PUB" ||
	serve_failed "$W/serve.out"
serve_facts "$W/serve.out" "$W"
ROOT=$W/root.pem

urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/srv.key" \
	-subj /CN=srv.example.test -addext "subjectAltName=DNS:srv.example.test" \
	-out "$W/srv.csr" 2>/dev/null || die "openssl req"
# A certificate whose request can be a file name (the rare base64 ending
# in '/' is left to the daemon) and has a '/' (used below); issue again
# until one does.
for try in $(seq 1 64); do
	"$MICA" -d "$D" issue --csr "$W/srv.csr" --profile server --out "$W/srv.pem" 2>/dev/null ||
		die "mica issue"
	openssl ocsp -issuer "$ROOT" -cert "$W/srv.pem" -no_nonce -reqout "$W/req.der" >/dev/null 2>&1 ||
		die "openssl ocsp -reqout"
	B64=$(base64 -w0 "$W/req.der")
	case $B64 in */) continue ;; */*) break ;; esac
done
case $B64 in */) die "sixty-four requests in a row ending in '/'" ;; esac
S=$(serial_of "$W/srv.pem")
FILE=$PUB/ocsp/$(printf '%s' "$B64" | tr -s /)

# The daemon pre-signs, then publishes after its pass (every 30 s).
wait_for "the published response" 90 test -s "$FILE" &&
	ok "the daemon published the certificate's OCSP response at ocsp/<base64 request>" ||
	fail "no published response at $FILE"
for f in ca.crt ca.pem root.crt root.pem ca-chain.pem ca.p7b crl crl.pem; do
	[ -s "$PUB/$f" ] || { fail "$f not published"; continue; }
done
ok "ca.crt, ca.pem, root.crt, root.pem, ca-chain.pem, ca.p7b, crl, crl.pem published"

# ------------------------------------------------ nginx, as documented --

NP=$(free_port)
mkdir -p "$W/ngx"
USER_LINE=
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
cat >"$W/ngx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $W/ngx/nginx.pid;
error_log $W/ngx/error.log;
$USER_LINE
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $W/ngx/body;
    proxy_temp_path $W/ngx/proxy;
    fastcgi_temp_path $W/ngx/fcgi;
    uwsgi_temp_path $W/ngx/uwsgi;
    scgi_temp_path $W/ngx/scgi;
$(sed -n '/^    # -- begin mica publication --/,/^    # -- end mica publication --/p' "$SRC/README" |
	sed "s|/var/www/mica|$PUB|; s|http://127.0.0.1:8080|$H|; s|listen 80;|listen 127.0.0.1:$NP;|")
}
EOF
grep -q "try_files" "$W/ngx/nginx.conf" || die "the README's nginx example was not found"
"$NGINX" -c "$W/ngx/nginx.conf" >"$W/ngx/out" 2>&1 &
NPID=$!
on_exit_kill "$NPID"
N=http://127.0.0.1:$NP
wait_for "nginx" 30 curl -s -o /dev/null "$N/ca.crt" || { cat "$W/ngx/error.log" >&2; die "nginx did not start"; }

same() { # same PATH: nginx and the daemon answer the same bytes
	curl -s -o "$W/n.out" --max-time $((20 * TIME_SCALE)) "$N$1" && curl -s -o "$W/d.out" --max-time $((20 * TIME_SCALE)) "$H$1" &&
		[ -s "$W/n.out" ] && cmp -s "$W/n.out" "$W/d.out"
}
for p in /ca.crt /root.crt /crl; do
	check "nginx serves $p: the daemon's bytes" same "$p"
done
ctype=$(curl -s -o /dev/null -w '%{content_type}' "$N/crl")
is "nginx: /crl is application/pkix-crl" "$ctype" application/pkix-crl
# The README's configuration gives each file the daemon's media type (it
# once sent /ca.p7b as application/pkcs7-mime).
for p in /ca.crt /ca.pem /root.crt /root.pem /ca-chain.pem /ca.p7b /crl /crl.pem; do
	is "nginx $p: the daemon's Content-Type" "$(curl -s -o /dev/null -w '%{content_type}' "$N$p")" \
		"$(curl -s -o /dev/null -w '%{content_type}' "$H$p")"
done
# A key's own files (after a rollover, keys/N/): by path when published,
# else from mica.
for p in /crl/0 /ca/0.crt; do
	check "nginx $p without keys/0/: the daemon's bytes" same "$p"
done
mkdir -p "$PUB/keys/7" && cp "$PUB/crl" "$PUB/keys/7/crl" && cp "$PUB/ca.crt" "$PUB/keys/7/ca.crt" ||
	die "a key's files by hand"
check "nginx /crl/7: keys/7/crl" sh -c "curl -s -o '$W/k.out' '$N/crl/7' && cmp -s '$W/k.out' '$PUB/keys/7/crl'"
is "... as application/pkix-crl" "$(curl -s -o /dev/null -w '%{content_type}' "$N/crl/7")" application/pkix-crl
check "nginx /ca/7.crt: keys/7/ca.crt" sh -c "curl -s -o '$W/k.out' '$N/ca/7.crt' && cmp -s '$W/k.out' '$PUB/keys/7/ca.crt'"
is "... as application/pkix-cert" "$(curl -s -o /dev/null -w '%{content_type}' "$N/ca/7.crt")" application/pkix-cert
rm -rf "$PUB/keys"

GET=/ocsp/$(urlenc "$B64")
check "nginx GET /ocsp/{base64}: the daemon's bytes" same "$GET"
check "nginx GET /ocsp/{base64}: answered from the published file" cmp -s "$W/n.out" "$FILE"
ctype=$(curl -s -o /dev/null -w '%{content_type}' "$N$GET")
is "nginx: application/ocsp-response" "$ctype" application/ocsp-response
openssl ocsp -respin "$W/n.out" -issuer "$ROOT" -cert "$W/srv.pem" -CAfile "$ROOT" >"$W/o.out" 2>&1
check "nginx's answer: good, verified by openssl" grep -q "srv.pem: good" "$W/o.out"
openssl ocsp -issuer "$ROOT" -cert "$W/srv.pem" -url "$N/ocsp" -CAfile "$ROOT" -timeout $((20 * TIME_SCALE)) >"$W/o.out" 2>&1
check "openssl ocsp POSTed to nginx: good (through the fallback to mica)" grep -q "srv.pem: good" "$W/o.out"
# A request whose base64 has '//' (about one certificate in two hundred,
# or all of a CA whose issuer hashes encode with it) is published under
# the name with the slashes merged (test_ocsp); nginx finds it there
# because it merges them in the path, %2F%2F included: the same request
# with one '/' doubled gets the same file.
case $B64 in
*/*)
	DBL=$(printf '%s' "$B64" | sed 's|/|//|')
	curl -s -D "$W/dbl.h" -o "$W/dbl.out" --max-time $((20 * TIME_SCALE)) "$N/ocsp/$(urlenc "$DBL")"
	# nginx's own ETag ("mtime-size" in hex), not mica's: from the file.
	check "nginx GET /ocsp/{base64 with a '/' doubled}: the file of the merged name, served by nginx" \
		sh -c "cmp -s '$W/dbl.out' '$FILE' && grep -qiE '^ETag: \"[0-9a-f]+-[0-9a-f]+\"' '$W/dbl.h'"
	;;
*) skip "nginx merges '//' in an OCSP request's path" "no '/' in sixty-four requests" ;;
esac

# ----------------------------------------------------------- revocation --

"$MICA" -d "$D" revoke "$S" --reason keyCompromise >/dev/null 2>&1 || die "mica revoke"
gone_or_revoked() {
	[ -e "$FILE" ] || return 0
	openssl ocsp -respin "$FILE" -issuer "$ROOT" -cert "$W/srv.pem" -CAfile "$ROOT" 2>/dev/null |
		grep -q "srv.pem: revoked"
}
wait_for "the published good response to go" 90 gone_or_revoked &&
	ok "after mica revoke the published file no longer says good" ||
	fail "the published file still says good"
curl -s -o "$W/n.out" --max-time $((20 * TIME_SCALE)) "$N$GET"
openssl ocsp -respin "$W/n.out" -issuer "$ROOT" -cert "$W/srv.pem" -CAfile "$ROOT" >"$W/o.out" 2>&1
check "nginx then answers revoked" grep -q "srv.pem: revoked" "$W/o.out"

# ------------------------------------------------------- mica publish ---

"$MICA" -d "$D" publish "$W/pub2" 2>"$W/p.err"
is "mica publish DIR: exit 0" "$?" 0
check "mica publish: the same certificate files as the daemon's" \
	sh -c "cmp -s '$PUB/ca.crt' '$W/pub2/ca.crt' && cmp -s '$PUB/root.pem' '$W/pub2/root.pem' && cmp -s '$PUB/ca-chain.pem' '$W/pub2/ca-chain.pem'"
check "mica publish: the revoked certificate's response, as stored" \
	sh -c "openssl ocsp -respin '$W/pub2/ocsp/$B64' -issuer '$ROOT' -cert '$W/srv.pem' -CAfile '$ROOT' 2>/dev/null | grep -q 'srv.pem: revoked'"
is "mica publish: no temporary file left" "$(find "$W/pub2" -name '.publish.*' | wc -l)" 0
is "mica publish: the folders it makes are 0755, the files 0644 (for the web server)" \
	"$(stat -c %a "$W/pub2" "$W/pub2/ocsp" "$W/pub2/ca.crt" | tr '\n' ' ')" "755 755 644 "
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod o+x "$TMP" "$W"   # this script's own folders, to reach pub2
	check "another user (uid 65534) reads what mica publish wrote" \
		setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		cat "$W/pub2/ca.crt" "$W/pub2/ocsp/$B64"
else
	skip "another user reads what mica publish wrote" "needs root and setpriv"
fi
: > "$W/not-a-dir"
expect_rc "mica publish FILE (not a directory): a usage error, exit 2" 2 "$MICA" -d "$D" publish "$W/not-a-dir"
grep -q "not-a-dir is not a directory" "$TMP/rc.err" && ok "... saying so" ||
	fail "mica publish FILE said: $(cat "$TMP/rc.err")"
# What is published is served by a web server: never beside the store and
# the passphrase (the data directory, a folder in it, through a symlink).
ln -s "$D" "$W/datalink"
for out in "$D" "$D/" "$D/mica.db-crls" "$D/www" "$W/datalink/www" "$(dirname "$D")"; do
	expect_rc "mica publish into $out (the data directory or in it): exit 2" 2 \
		"$MICA" -d "$D" publish "$out"
	grep -q "the CA's data directory, inside it or above it" "$TMP/rc.err" && ok "... saying why" ||
		fail "publish $out said: $(cat "$TMP/rc.err")"
done
[ ! -e "$D/www" ] && [ ! -e "$D/crl" ] && [ ! -e "$D/mica.db-crls/crl" ] &&
	ok "... and wrote nothing there" || fail "publish wrote into the data directory"
# A folder beside it whose name begins with the data directory's is
# neither in it nor above it: published.
expect_rc "mica publish into $D-www (a sibling, the same prefix): published" 0 \
	"$MICA" -d "$D" publish "$D-www"
# (Bounded: a daemon that took it would run until killed.)
expect_rc "mica serve --publish into the data directory: exit 2" 2 \
	timeout $((20 * TIME_SCALE)) "$MICA" -d "$D" serve --publish "$D/www" --http 127.0.0.1:1 --https none
check "... saying why" grep -q "is the CA's data directory, inside it or above it" "$TMP/rc.err"
"$MICA" -d "$D" publish "$W/pub2" 2>"$W/p.err"
check "a second mica publish rewrites nothing" grep -q "0 file(s) written; OCSP responses: 0 written" "$W/p.err"

kill "$NPID" 2>/dev/null
wait "$NPID" 2>/dev/null
on_exit_forget "$NPID"
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0

# With the daemon stopped, nothing changes the store between these runs.
"$MICA" -d "$D" publish "$W/pub2" 2>"$W/p.err"
SEQ=$(sed -n 's/.*up to change \([0-9]*\)$/\1/p' "$W/p.err")
"$MICA" -d "$D" publish --since "$SEQ" "$W/pub2" 2>"$W/p.err"
check "mica publish --since N (the number printed): looks at nothing new" \
	grep -q "0 certificate(s) looked at, up to change $SEQ\$" "$W/p.err"
# A number past the store's last change (a store restored from an older
# backup) is a full run, and the number reached is the store's: echoed,
# it would make every later --since skip the changes up to it.
"$MICA" -d "$D" publish --since $((SEQ + 1000)) "$W/pub2" 2>"$W/p.err"
is "mica publish --since past the store's last change: exit 0" "$?" 0
check "... says so" grep -q "note: --since $((SEQ + 1000)) is past this store's last change" "$W/p.err"
check "... looks at every certificate and reports the store's own number" \
	sh -c "grep -q '[1-9][0-9]* certificate(s) looked at, up to change $SEQ\$' '$W/p.err'"
finish
