#!/bin/bash
# The holes of issue 9 (a hostile review of `mica serve`) and issue 11
# item 2, each closed and checked here against a daemon on loopback:
#   - TLS: HSTS on HTTPS only; TLS 1.2 offers AEAD suites only (a CBC suite
#     is refused), TLS 1.1 is refused;
# Every check below failed against the daemon before its fix.
SRC=${MICA_SRCDIR:-$(dirname "$0")/../..}
. "$SRC/tests/e2e/lib.sh"

need curl openssl python3

T0=$(date +%s)
W=$(mktmp)
D=$W/data
LOG=$W/mica.log
serve_start "$W/out" "$D" -- --domain contoso.test --log "$LOG" || serve_failed "$W/out"
serve_facts "$W/out" "$W"

# ----------------------------------------------------------------- TLS --

echo "# TLS: HSTS on HTTPS only, AEAD suites only"
curl -sS --max-time 10 -I --cacert "$W/root.pem" "$S/healthz" | tr -d '\r' > "$W/hdr.https"
curl -sS --max-time 10 -I "$H/healthz" | tr -d '\r' > "$W/hdr.http"
hsts=$(sed -n 's/^strict-transport-security: //Ip' "$W/hdr.https")
case $hsts in
max-age=*) age=${hsts#max-age=}; age=${age%%;*}
	[ "$age" -ge 15552000 ] 2>/dev/null && ok "HTTPS answers carry Strict-Transport-Security: $hsts" ||
		fail "HSTS max-age too short: $hsts" ;;
*) fail "no Strict-Transport-Security over HTTPS"; sed 's/^/    /' "$W/hdr.https" ;;
esac
grep -qi '^strict-transport-security:' "$W/hdr.http" &&
	fail "Strict-Transport-Security sent over plain HTTP" || ok "no Strict-Transport-Security over plain HTTP"

# handshake [s_client options]: 0 if a TLS handshake completed.
handshake() {
	echo | timeout 20 openssl s_client -connect "127.0.0.1:$SP" -CAfile "$W/root.pem" \
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

# ---------------------------------------------------------------- end --

serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0
grep -q -e "Sanitizer" -e "runtime error" "$W/out.err" &&
	fail "sanitizer reports on the daemon's stderr" || ok "nothing from sanitizers on the daemon's stderr"
echo "# http_hardening.sh took $(($(date +%s) - T0)) s"
finish
