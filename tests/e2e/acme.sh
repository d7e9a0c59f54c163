#!/bin/bash
# End-to-end test of ACME (RFC 8555) in `mica serve`, judged by the real
# clients from Debian - certbot, lego, dehydrated, uacme, acme.sh and
# acme-tiny - each trusting only mica's root (REQUESTS_CA_BUNDLE,
# LEGO_CA_CERTIFICATES, curl --cacert, a system bundle in a mount
# namespace, --ca-bundle, SSL_CERT_FILE), and by OpenSSL. Validation is pointed at loopback with the lab options
# (--acme-hosts, --acme-http-port, --acme-tls-port, --acme-dns,
# --acme-allow-loopback); dns-01 goes through a real DNS server, Debian's
# named, started here on a free loopback port with its own configuration
# and a TSIG key, updated by lego's rfc2136 provider, stopped by PID.
#
# The misbehaviour the real clients never show (a replayed nonce, a JWS of
# another account, a CSR that differs from its order, a second finalize,
# a failed challenge) comes from tests/tools/acme_client.py; each refusal
# must carry the right ACME error and issue nothing.
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3 sqlite3 jq

TOOL=${MICA_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/tools/acme_client.py
W=$(mktmp)
D=$W/data
LOG=$W/mica.log
serve_ports
AP=$(free_port)       # http-01
TP=$(free_port)       # tls-alpn-01
NP=$(free_port)       # named
while [ "$TP" = "$AP" ]; do TP=$(free_port); done
while [ "$NP" = "$AP" ] || [ "$NP" = "$TP" ]; do NP=$(free_port); done
DIRURL=$S/acme/directory

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
ncerts() { sqlite3 "$D/mica.db" 'SELECT count(*) FROM certificate'; }
# webroot_start DIR: python3's http.server answers http-01 on $AP from the
# web root DIR (DIR/.well-known/acme-challenge/, made here), as the web
# server of a host that renews with a client's webroot mode would;
# webroot_stop ends it.
webroot_start() {
	local py=/usr/bin/python3
	[ -x "$py" ] || py=$(command -v python3)
	mkdir -p "$1/.well-known/acme-challenge"
	# Not through lib.sh's python3 function: $! must be the server itself.
	"$py" -m http.server "$AP" --bind 127.0.0.1 --directory "$1" >"$1.log" 2>&1 &
	WK_PID=$!
	on_exit_kill "$WK_PID"
	# Up once it serves a file of this web root: anything answering on
	# the port could be another program's server.
	printf '%s\n' "webroot $$ $RANDOM" >"$1/probe.txt"
	wait_for "the web root answers" 20 webroot_up "$1/probe.txt"
	webroot_serves "$1/probe.txt" ||
		fail "python3 -m http.server did not serve $1 on port $AP: $(tail -3 "$1.log")"
}
webroot_serves() {
	[ "$(curl -s --max-time $((10 * TIME_SCALE)) "http://127.0.0.1:$AP/probe.txt")" = "$(cat "$1")" ]
}
# (Once the server has exited there is nothing to wait for.)
webroot_up() { ! kill -0 "$WK_PID" 2>/dev/null || webroot_serves "$1"; }
webroot_stop() {
	kill "$WK_PID" 2>/dev/null && wait "$WK_PID" 2>/dev/null
	on_exit_forget "$WK_PID"
}
audit_has() { sqlite3 "$D/mica.db" "SELECT count(*) FROM audit WHERE action = '$1'" | grep -qv '^0$'; }

# eab VAR [token options]: an EAB credential; VAR_KID and VAR_HMAC.
eab() {
	local v=$1 out
	shift
	out=$("$MICA" -d "$D" token create --enroll --acme "$@" 2>/dev/null) || die "token create --acme"
	printf -v "${v}_KID" '%s' "$(printf '%s\n' "$out" | sed -n 's/^eab-kid: //p')"
	printf -v "${v}_HMAC" '%s' "$(printf '%s\n' "$out" | sed -n 's/^eab-hmac-key: //p')"
}

# client CMD ARGS...: acme_client.py, its JSON in $W/c.json
client() {
	python3 "$TOOL" "$1" --dir "$DIRURL" --cacert "$W/root.pem" "${@:2}" >"$W/c.json" 2>"$W/c.err"
}
cj() { json_get "$W/c.json" "$1"; }

# early_problem DESCRIPTION STATUS TYPE CURL-ARGS...: a request refused
# before any ACME handler runs (by the dispatcher, or before the body is
# read) is answered as the handlers answer: STATUS, an RFC 7807 problem
# document of urn:ietf:params:acme:error:TYPE with the same "status", a
# fresh Replay-Nonce (RFC 8555 6.5), no-store. Headers in $W/hdr.
early_problem() {
	local d=$1 want=$2 type=$3 code got
	shift 3
	code=$(curl -s --cacert "$W/root.pem" -o "$W/p.json" -D "$W/hdr" -w '%{http_code}' "$@")
	got="$code $(json_get "$W/p.json" type) $(json_get "$W/p.json" status)"
	if [ "$got" = "$want urn:ietf:params:acme:error:$type $want" ] &&
		grep -qi '^Content-Type: application/problem+json' "$W/hdr" &&
		grep -qi '^Replay-Nonce: [A-Za-z0-9_-]\{16,\}' "$W/hdr" &&
		grep -qi '^Cache-Control: no-store' "$W/hdr"; then
		ok "$d"
	else
		fail "$d: got '$got'"; sed 's/^/    /' "$W/hdr" "$W/p.json" | head -20
	fi
}

# expect_problem DESCRIPTION TYPE [FIELD]: the client's JSON names TYPE.
expect_problem() {
	local got
	got=$(cj "${3:-problem}")
	if [ "$got" = "$2" ]; then ok "$1 ($2)"; else fail "$1: got '$got', wanted $2"; sed 's/^/    /' "$W/c.json" "$W/c.err" | head -5; fi
}

cat > "$W/hosts" <<EOF
# the lab: every name validation may meet is this host
127.0.0.1 www.contoso.test mail.contoso.test dh.contoso.test
127.0.0.1 lego-http.contoso.test lego-tls.contoso.test open.contoso.test
127.0.0.1 a1.app.contoso.test a2.app.contoso.test a3.app.contoso.test
127.0.0.1 a4.app.contoso.test a5.app.contoso.test a6.app.contoso.test
127.0.0.1 a7.app.contoso.test a8.app.contoso.test a9.app.contoso.test big.app.contoso.test
EOF

start() { # start OUTFILE [more serve options]
	local out=$1
	shift
	serve_start "$out" "$D" -- --log "$LOG" --domain contoso.test \
		--acme-hosts "$W/hosts" --acme-http-port "$AP" --acme-tls-port "$TP" \
		--acme-dns "127.0.0.1:$NP" --acme-allow-loopback "$@" || serve_failed "$out"
}

start "$W/serve1.out"
serve_facts "$W/serve1.out" "$W"
grep -q "^acme: $S/acme/directory (external account binding required" "$W/serve1.out" &&
	ok "the banner names the ACME directory" || fail "acme banner"

# ---------------------------------------------------------- directory --

CODE=$(curl -s --cacert "$W/root.pem" -o "$W/dir.json" -w '%{http_code}' "$DIRURL")
is "GET /acme/directory" "$CODE" 200
is "the directory requires EAB" "$(json_get "$W/dir.json" meta.externalAccountRequired)" true
is "newOrder is on the same listener" "$(json_get "$W/dir.json" newOrder)" "$S/acme/new-order"
# URLs are built on the Host header: one no client could use is refused.
for h in 'ca.contoso.test:' 'ca.contoso.test:99999' 'ca.contoso.test:0' ':8443' '[::1]:'; do
	CODE=$(curl -s --cacert "$W/root.pem" -o /dev/null -w '%{http_code}' -H "Host: $h" "$DIRURL")
	is "the directory for Host \"$h\": 400" "$CODE" 400
done
CODE=$(curl -s --cacert "$W/root.pem" -o "$W/dir2.json" -w '%{http_code}' -H "Host: ca.contoso.test:65535" "$DIRURL")
is "... and for Host \"ca.contoso.test:65535\" it names that authority" \
	"$CODE $(json_get "$W/dir2.json" newOrder)" "200 https://ca.contoso.test:65535/acme/new-order"
curl -s --cacert "$W/root.pem" -I -o /dev/null -D "$W/hdr" "$S/acme/new-nonce"
grep -qi '^Replay-Nonce: [A-Za-z0-9_-]\{16,\}' "$W/hdr" && grep -q ' 200' "$W/hdr" &&
	ok "HEAD new-nonce: 200 with Replay-Nonce" || fail "HEAD new-nonce"
CODE=$(curl -s --cacert "$W/root.pem" -o /dev/null -w '%{http_code}' "$S/acme/new-nonce")
is "GET new-nonce: 204" "$CODE" 204
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$H/acme/directory")
is "ACME is not served over plain HTTP" "$CODE" 403
CODE=$(curl -s --cacert "$W/root.pem" -o "$W/p.json" -D "$W/hdr" -w '%{http_code}' \
	-H 'Content-Type: application/jose+json' --data-binary '{"protected":"e30","payload":"","signature":""}' \
	"$S/acme/new-account")
grep -qi '^Content-Type: application/problem+json' "$W/hdr" && [ "$CODE" = 400 ] &&
	is "a JWS without alg is a malformed problem document" "$(json_get "$W/p.json" type)" \
		"urn:ietf:params:acme:error:malformed" || fail "problem document ($CODE)"
CODE=$(curl -s --cacert "$W/root.pem" -o "$W/p.json" -D "$W/hdr" -w '%{http_code}' \
	-H 'Content-Type: application/json' --data-binary '{"protected":"e30","payload":"","signature":""}' \
	"$S/acme/new-account")
grep -qi '^Content-Type: application/problem+json' "$W/hdr" &&
	is "a JWS sent as application/json: 415 (RFC 8555 6.2), a malformed problem" \
		"$CODE $(json_get "$W/p.json" type)" "415 urn:ietf:params:acme:error:malformed" ||
	fail "wrong media type: $CODE, not a problem document"
# What the dispatcher and the HTTP layer refuse before a handler runs is
# a problem document too, with a nonce to retry with.
early_problem "an unknown path under /acme/: 404, a malformed problem" 404 malformed \
	-H 'Content-Type: application/jose+json' --data-binary '{}' "$S/acme/unknown-path"
early_problem "GET on a POST-only ACME resource: 405, a malformed problem" 405 malformed \
	"$S/acme/new-order"
grep -qi '^Allow: POST' "$W/hdr" && ok "the 405 problem keeps Allow: POST" ||
	fail "the 405 problem has no Allow"
early_problem "a query string on an ACME URL that takes none: 400, a malformed problem" 400 malformed \
	"$S/acme/directory?x=1"
early_problem "a malformed Content-Type on ACME: 415, a malformed problem" 415 malformed \
	-H 'Content-Type: a/b/c' --data-binary '{}' "$S/acme/new-order"
head -c 70000 /dev/zero | tr '\0' a > "$W/big"    # over WEB_BODY_MAX (64 KiB)
early_problem "a body over 64 KiB to new-order: 413, a malformed problem" 413 malformed \
	-H 'Content-Type: application/jose+json' -H 'Expect:' --data-binary @"$W/big" "$S/acme/new-order"
early_problem "the same refused before the body (Expect: 100-continue): 413, a problem" 413 malformed \
	-H 'Content-Type: application/jose+json' -H 'Expect: 100-continue' --data-binary @"$W/big" \
	"$S/acme/new-order"
early_problem "ACME over plain HTTP: 403, an unauthorized problem" 403 unauthorized \
	-H 'Content-Type: application/jose+json' --data-binary '{}' "$H/acme/new-order"
CODE=$(curl -s --cacert "$W/root.pem" -o "$W/p.json" -D "$W/hdr" -w '%{http_code}' "$S/api/v1/nope")
grep -qi '^Content-Type: application/json' "$W/hdr" && ! grep -qi '^Replay-Nonce:' "$W/hdr" &&
	is "outside /acme/ an error is still mica's JSON error" \
		"$CODE $(json_get "$W/p.json" error)" "404 not_found" ||
	fail "/api/v1/nope: $CODE, not mica's JSON error"
client account --key "$W/noeab.pem"
expect_problem "an account without EAB is refused" externalAccountRequired

# ------------------------------------------------------------ certbot --

if have certbot; then
	eab CB --name www.contoso.test --comment certbot
	CB=(certbot --config-dir "$W/cb/conf" --work-dir "$W/cb/work" --logs-dir "$W/cb/logs"
	    --non-interactive)
	n0=$(ncerts)
	if REQUESTS_CA_BUNDLE=$W/root.pem "${CB[@]}" certonly --server "$DIRURL" \
		--standalone --http-01-port "$AP" --agree-tos --register-unsafely-without-email \
		--eab-kid "$CB_KID" --eab-hmac-key="$CB_HMAC" -d www.contoso.test \
		>"$W/cb1.log" 2>&1; then
		ok "certbot obtains a certificate (http-01, EAB)"
	else
		fail "certbot certonly"; tail -n 5 "$W/cb1.log" | sed 's/^/    /'
	fi
	LIVE=$W/cb/conf/live/www.contoso.test
	check "certbot's certificate verifies against mica's root alone" \
		openssl verify -CAfile "$W/root.pem" "$LIVE/cert.pem"
	openssl x509 -in "$LIVE/cert.pem" -noout -ext subjectAltName 2>/dev/null | grep -q 'DNS:www.contoso.test' &&
		ok "it names www.contoso.test" || fail "SAN of certbot's certificate"
	is "one certificate was issued" "$(ncerts)" "$((n0 + 1))"
	s1=$(openssl x509 -in "$LIVE/cert.pem" -noout -serial | sed 's/serial=//' | tr A-F a-f)
	if REQUESTS_CA_BUNDLE=$W/root.pem "${CB[@]}" renew --force-renewal \
		--no-random-sleep-on-renew >"$W/cb2.log" 2>&1; then
		s2=$(openssl x509 -in "$LIVE/cert.pem" -noout -serial | sed 's/serial=//' | tr A-F a-f)
		[ -n "$s2" ] && [ "$s2" != "$s1" ] && ok "certbot renew --force-renewal: a new certificate" ||
			fail "renewal kept serial $s1"
		# certbot 2.1 sends no "replaces": the account's new certificate
		# for the same names renews the old one, which is then not what
		# expires soon (certbot has renewed it), though still valid.
		is "... recorded as the renewal of the one before" \
			"$(sqlite3 "$D/mica.db" "SELECT renewed_by FROM certificate WHERE serial = '$s1'")" "$s2"
		"$MICA" -d "$D" list --expiring-days 400 --all --json >"$W/cbexp.json" 2>/dev/null
		python3 - "$W/cbexp.json" "$s1" "$s2" <<'PY' && ok "what expires soon: the renewal, not the renewed" ||
import json, sys
s = {c["serial"] for c in json.load(open(sys.argv[1]))}
sys.exit(0 if sys.argv[3] in s and sys.argv[2] not in s else 1)
PY
			fail "what expires soon after certbot's renewal: $(cat "$W/cbexp.json" | head -c 300)"
	else
		fail "certbot renew"; tail -n 5 "$W/cb2.log" | sed 's/^/    /'
	fi
	if REQUESTS_CA_BUNDLE=$W/root.pem "${CB[@]}" revoke --server "$DIRURL" \
		--cert-path "$LIVE/cert.pem" --reason keycompromise --no-delete-after-revoke \
		>"$W/cb3.log" 2>&1; then
		ok "certbot revoke --reason keycompromise"
	else
		fail "certbot revoke"; tail -n 5 "$W/cb3.log" | sed 's/^/    /'
	fi
	curl -s -o "$W/crl.der" "$H/crl"
	openssl crl -inform der -in "$W/crl.der" -noout -text > "$W/crl.txt" 2>&1
	S2U=$(echo "${s2:-x}" | tr a-f A-F)
	grep -q "Serial Number: $S2U" "$W/crl.txt" && grep -q "Key Compromise" "$W/crl.txt" &&
		ok "the revoked certificate is in /crl as keyCompromise" || fail "CRL lacks $S2U"
	openssl crl -inform der -in "$W/crl.der" -out "$W/crl.pem" 2>/dev/null
	if openssl verify -crl_check -CAfile "$W/root.pem" -CRLfile "$W/crl.pem" "$LIVE/cert.pem" >/dev/null 2>&1; then
		fail "OpenSSL still accepts the revoked certificate"
	else
		ok "OpenSSL refuses it with the CRL"
	fi
	# The compromised key is never certified again - by ACME or otherwise
	# (the blocklist in ca_issue, issue 9).
	openssl req -new -key "$LIVE/privkey.pem" -subj /CN=www.contoso.test \
		-addext subjectAltName=DNS:www.contoso.test -out "$W/again.csr" 2>/dev/null
	"$MICA" -d "$D" issue --csr "$W/again.csr" --out "$W/again.crt" >/dev/null 2>"$W/again.err"
	rc=$?
	if [ "$rc" = 4 ] && grep -q compromise "$W/again.err"; then
		ok "mica issue refuses the key ACME revoked as keyCompromise (4)"
	else
		fail "mica issue of the compromised key: exit $rc, $(head -1 "$W/again.err")"
	fi
	n1=$(ncerts)
	eab CB2 --name www.contoso.test
	client issue --key "$W/k-cb2.pem" --eab-kid "$CB2_KID" --eab-hmac="$CB2_HMAC" \
		--name www.contoso.test --http-port "$AP" --csr-key "$LIVE/privkey.pem"
	expect_problem "ACME refuses a CSR for the compromised key" badCSR
	is "nothing issued for it" "$(ncerts)" "$n1"
	# As every other fault of a CSR: the order stays ready, for a CSR of
	# another key (it was made invalid).
	is "... and the order stays ready" \
		"$(sqlite3 "$D/mica.db" "SELECT status FROM acme_order ORDER BY created_at DESC, rowid DESC LIMIT 1")" ready
	audit_has acme.issue && audit_has acme.account.new && audit_has acme.authz.valid &&
		audit_has acme.challenge.start && audit_has acme.order.new &&
		[ "$(sqlite3 "$D/mica.db" "SELECT count(*) FROM audit WHERE action = 'cert.revoke' AND actor LIKE 'acme:%'")" -ge 1 ] &&
		ok "every ACME step is in the audit trail" || fail "ACME audit rows"
else
	skip "certbot obtains, renews and revokes" "certbot is not installed"
fi

# --------------------------------------------------------------- lego --

if have lego; then
	eab LG --comment lego
	LEGO=(lego --server "$DIRURL" --email ops@contoso.test --accept-tos --eab
	      --kid "$LG_KID" --hmac "$LG_HMAC" --path "$W/lego")
	export LEGO_CA_CERTIFICATES=$W/root.pem
	if "${LEGO[@]}" --domains lego-http.contoso.test --http --http.port "127.0.0.1:$AP" run \
		>"$W/lego1.log" 2>&1 &&
		openssl verify -CAfile "$W/root.pem" "$W/lego/certificates/lego-http.contoso.test.crt" >/dev/null 2>&1; then
		ok "lego obtains a certificate with http-01"
	else
		fail "lego http-01"; tail -n 5 "$W/lego1.log" | sed 's/^/    /'
	fi
	if "${LEGO[@]}" --domains lego-tls.contoso.test --tls --tls.port "127.0.0.1:$TP" run \
		>"$W/lego2.log" 2>&1 &&
		openssl verify -CAfile "$W/root.pem" "$W/lego/certificates/lego-tls.contoso.test.crt" >/dev/null 2>&1; then
		ok "lego obtains a certificate with tls-alpn-01"
	else
		fail "lego tls-alpn-01"; tail -n 5 "$W/lego2.log" | sed 's/^/    /'
	fi
	# RFC 8555 7.5.2: deactivating an authorization gives the name up.
	# A renewal reuses the authorization proved before (a copy in the
	# new order); lego deactivates it afterwards - and the renewal
	# after must prove the name again. It did not: another copy of the
	# same proof stayed valid.
	if "${LEGO[@]}" --domains lego-http.contoso.test --http --http.port "127.0.0.1:$AP" renew \
		--days 400 --no-random-sleep --always-deactivate-authorizations true >"$W/lego-d1.log" 2>&1 &&
		grep -q "authorization already valid" "$W/lego-d1.log" && grep -qi "deactivating auth" "$W/lego-d1.log"; then
		ok "lego renews on the authorization proved before, then deactivates it"
	else
		fail "lego renew --always-deactivate-authorizations"; tail -n 5 "$W/lego-d1.log" | sed 's/^/    /'
	fi
	if "${LEGO[@]}" --domains lego-http.contoso.test --http --http.port "127.0.0.1:$AP" renew \
		--days 400 --no-random-sleep >"$W/lego-d2.log" 2>&1 &&
		! grep -q "authorization already valid" "$W/lego-d2.log" && grep -qi "solve HTTP-01" "$W/lego-d2.log"; then
		ok "... and the next renewal proves the name again (http-01)"
	else
		fail "lego renew after deactivation reused a proof"; tail -n 8 "$W/lego-d2.log" | sed 's/^/    /'
	fi
	NAMED=$(command -v named || echo /usr/sbin/named)
	if [ -x "$NAMED" ]; then
		mkdir -p "$W/ns"
		TSIG=$(head -c 32 /dev/urandom | base64)
		cat > "$W/ns/named.conf" <<EOF
options {
	directory "$W/ns";
	listen-on port $NP { 127.0.0.1; };
	listen-on-v6 { none; };
	pid-file "$W/ns/named.pid";
	session-keyfile "$W/ns/session.key";
	managed-keys-directory "$W/ns";
	recursion no;
	allow-query { any; };
	dnssec-validation no;
};
controls { };
key "mica-test" { algorithm hmac-sha256; secret "$TSIG"; };
zone "contoso.test" {
	type primary;
	file "$W/ns/contoso.test.zone";
	allow-update { key "mica-test"; };
};
EOF
		printf '%s\n' '$TTL 60' \
			'@ IN SOA ns.contoso.test. admin.contoso.test. 1 60 60 600 60' \
			'@ IN NS ns.contoso.test.' 'ns IN A 127.0.0.1' > "$W/ns/contoso.test.zone"
		"$NAMED" -g -c "$W/ns/named.conf" >"$W/ns/named.log" 2>&1 &
		NAMED_PID=$!
		on_exit_kill "$NAMED_PID"
		# Answering a query is not enough: named may still refuse an
		# update (SERVFAIL) until it has finished loading every zone.
		if wait_for "named answers" 30 sh -c "grep -q 'all zones loaded' '$W/ns/named.log' && dig +short +time=1 +tries=1 -p $NP @127.0.0.1 ns.contoso.test | grep -q 127.0.0.1"; then
			if RFC2136_NAMESERVER=127.0.0.1:$NP RFC2136_TSIG_KEY=mica-test \
				RFC2136_TSIG_SECRET=$TSIG RFC2136_TSIG_ALGORITHM=hmac-sha256. \
				RFC2136_PROPAGATION_TIMEOUT=$((60 * TIME_SCALE)) RFC2136_POLLING_INTERVAL=1 \
				"${LEGO[@]}" --domains '*.dns.contoso.test' --domains dns.contoso.test \
				--dns rfc2136 --dns.resolvers "127.0.0.1:$NP" --dns.disable-cp run \
				>"$W/lego3.log" 2>&1 &&
				openssl verify -CAfile "$W/root.pem" "$W/lego/certificates/_.dns.contoso.test.crt" >/dev/null 2>&1; then
				ok "lego obtains a wildcard certificate with dns-01 (named, RFC 2136)"
				openssl x509 -in "$W/lego/certificates/_.dns.contoso.test.crt" -noout -ext subjectAltName |
					grep -q 'DNS:\*.dns.contoso.test' && ok "it names *.dns.contoso.test" ||
					fail "wildcard SAN"
			else
				fail "lego dns-01"; tail -n 5 "$W/lego3.log" | sed 's/^/    /'
			fi
		else
			fail "named did not start"; tail -n 5 "$W/ns/named.log" | sed 's/^/    /'
		fi
		kill "$NAMED_PID" 2>/dev/null && wait "$NAMED_PID" 2>/dev/null
		on_exit_forget "$NAMED_PID"
	else
		skip "lego with dns-01" "named (bind9) is not installed"
	fi
	unset LEGO_CA_CERTIFICATES
else
	skip "lego with http-01, tls-alpn-01 and dns-01" "lego is not installed"
fi

# --------------------------------------------------------- dehydrated --

if have dehydrated; then
	eab DH --comment dehydrated
	mkdir -p "$W/dh"
	cat > "$W/dh/config" <<EOF
CA="$DIRURL"
CHALLENGETYPE="http-01"
WELLKNOWN="$W/wk/.well-known/acme-challenge"
BASEDIR="$W/dh"
CONTACT_EMAIL="ops@contoso.test"
EAB_KID="$DH_KID"
EAB_HMAC_KEY="$DH_HMAC"
CURL_OPTS="--cacert $W/root.pem"
EOF
	webroot_start "$W/wk"
	if dehydrated --config "$W/dh/config" --register --accept-terms >"$W/dh1.log" 2>&1 &&
		dehydrated --config "$W/dh/config" -c -d dh.contoso.test >"$W/dh2.log" 2>&1 &&
		openssl verify -CAfile "$W/root.pem" "$W/dh/certs/dh.contoso.test/cert.pem" >/dev/null 2>&1; then
		ok "dehydrated obtains a certificate with http-01"
	else
		fail "dehydrated"; tail -n 5 "$W/dh1.log" "$W/dh2.log" | sed 's/^/    /'
	fi
	webroot_stop
else
	skip "dehydrated with http-01" "dehydrated is not installed"
fi

# -------------------------------------------------------------- uacme --

# uacme (C, libcurl with GnuTLS) has no option for the CA's certificate:
# it trusts the system's bundle only, as on a machine where the admin
# installed mica's root. The test gives it a bundle with the root in a
# mount namespace of its own (root only), changing nothing outside.
# uacme's exit status: 0 issued (or revoked...), 1 not reissued (still
# current), 2 failed.
uacme_run() { # uacme_run LOG ARGS...: uacme in the namespace, its status
	local log=$1
	shift
	# uacme keeps the certificate it replaces as cert-<the second it
	# runs>.pem and gives up, saying nothing, if that name is taken: two
	# runs within one second. The test keeps no backups.
	rm -f "$W/ua/conf/www.contoso.test/cert-"*.pem
	unshare -m sh -c 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"' \
		"$W/ua/bundle.pem" uacme -v -c "$W/ua/conf" -a "$DIRURL" \
		-h "$W/ua/hook" "$@" >"$log" 2>&1
}
ua_serial() { openssl x509 -in "$W/ua/conf/www.contoso.test/cert.pem" -noout -serial 2>/dev/null | sed 's/^serial=//'; }
cert_reason() { sqlite3 "$D/mica.db" "SELECT reason FROM certificate WHERE serial = '$(printf '%032s' "$1" | tr ' ' 0 | tr A-F a-f)'"; }
if ! have uacme; then
	skip "uacme obtains, renews on OCSP, revokes, rolls its key over" "uacme is not installed"
elif [ "$(id -u)" != 0 ] || [ ! -f /etc/ssl/certs/ca-certificates.crt ] ||
	! unshare -m true 2>/dev/null; then
	skip "uacme obtains, renews on OCSP, revokes, rolls its key over" \
		"needs root (a mount namespace) to show uacme mica's root"
else
	eab UA --comment uacme
	mkdir -p "$W/ua"
	cat /etc/ssl/certs/ca-certificates.crt "$W/root.pem" > "$W/ua/bundle.pem"
	# The hook Debian's uacme ships (http-01 into a web root).
	printf '#!/bin/sh\nUACME_CHALLENGE_PATH=%s exec /usr/share/uacme/uacme.sh "$@"\n' \
		"$W/ua/wk/.well-known/acme-challenge" > "$W/ua/hook"
	chmod +x "$W/ua/hook"
	webroot_start "$W/ua/wk"
	UA_CRT=$W/ua/conf/www.contoso.test/cert.pem
	uacme_run "$W/ua/new.log" -y -e "$UA_KID:$UA_HMAC" new ops@contoso.test
	is "uacme creates an account with its EAB" "$?" 0
	uacme_run "$W/ua/issue1.log" issue www.contoso.test mail.contoso.test
	rc=$?
	if [ "$rc" = 0 ] && openssl verify -CAfile "$W/root.pem" "$UA_CRT" >/dev/null 2>&1 &&
		openssl x509 -in "$UA_CRT" -noout -ext subjectAltName |
		grep -q 'DNS:www.contoso.test, DNS:mail.contoso.test'; then
		ok "uacme obtains a certificate for two names with http-01"
	else
		fail "uacme issue: exit $rc"; tail -n 5 "$W/ua/issue1.log" | sed 's/^/    /'
	fi
	UA1=$(ua_serial)
	# Run again, as its cron job does: it asks mica's OCSP responder
	# (from the certificate's AIA) and keeps a good certificate.
	uacme_run "$W/ua/issue2.log" issue www.contoso.test mail.contoso.test
	rc=$?
	if [ "$rc" = 1 ] && grep -q 'OCSP certificate status is GOOD' "$W/ua/issue2.log" &&
		[ "$(ua_serial)" = "$UA1" ]; then
		ok "uacme's next run reads GOOD from mica's OCSP responder and keeps it"
	else
		fail "uacme's second run: exit $rc"; tail -n 5 "$W/ua/issue2.log" | sed 's/^/    /'
	fi
	# An admin revokes it: the next run reads REVOKED and gets a new one.
	expect_rc "mica revoke the uacme certificate" 0 "$MICA" -d "$D" revoke "$UA1" --reason superseded
	uacme_run "$W/ua/issue3.log" issue www.contoso.test mail.contoso.test
	rc=$?
	if [ "$rc" = 0 ] && grep -q 'OCSP certificate status is REVOKED' "$W/ua/issue3.log" &&
		[ -n "$(ua_serial)" ] && [ "$(ua_serial)" != "$UA1" ] &&
		openssl verify -CAfile "$W/root.pem" "$UA_CRT" >/dev/null 2>&1; then
		ok "uacme reads REVOKED from mica's OCSP responder and obtains a new certificate"
	else
		fail "uacme after a revocation: exit $rc"; tail -n 5 "$W/ua/issue3.log" | sed 's/^/    /'
	fi
	# Key rollover (RFC 8555 7.3.5), then an order under the new key.
	uacme_run "$W/ua/newkey.log" newkey
	rc=$?
	if [ "$rc" = 0 ] && grep -q 'account key changed' "$W/ua/newkey.log" &&
		uacme_run "$W/ua/issue4.log" -f issue www.contoso.test &&
		openssl verify -CAfile "$W/root.pem" "$UA_CRT" >/dev/null 2>&1; then
		ok "uacme rolls its account key over and orders with the new one"
	else
		fail "uacme newkey: exit $rc"; tail -n 5 "$W/ua/newkey.log" "$W/ua/issue4.log" | sed 's/^/    /'
	fi
	# Revocation signed by the certificate's own key, keyCompromise (1).
	UA2=$(ua_serial)
	uacme_run "$W/ua/revoke.log" -r 1 revoke "$UA_CRT" "$W/ua/conf/private/www.contoso.test/key.pem"
	rc=$?
	if [ "$rc" = 0 ] && [ "$(cert_reason "$UA2")" = 1 ]; then
		ok "uacme revokes with the certificate's key: recorded as keyCompromise"
	else
		fail "uacme revoke: exit $rc, reason '$(cert_reason "$UA2")'"; tail -n 5 "$W/ua/revoke.log" | sed 's/^/    /'
	fi
	uacme_run "$W/ua/deact.log" deactivate
	is "uacme deactivates its account" "$?" 0
	uacme_run "$W/ua/issue5.log" -f issue mail.contoso.test
	rc=$?
	if [ "$rc" = 2 ] && grep -q 'urn:ietf:params:acme:error:unauthorized' "$W/ua/issue5.log"; then
		ok "a deactivated uacme account is refused (unauthorized)"
	else
		fail "uacme after deactivate: exit $rc"; tail -n 5 "$W/ua/issue5.log" | sed 's/^/    /'
	fi
	webroot_stop
fi

# ------------------------------------------------------------ acme.sh --

# acme.sh (POSIX shell and curl) in a home of its own (no cron job),
# trusting mica's root with --ca-bundle, http-01 through a web root.
if have acme.sh; then
	eab AS --comment acme.sh
	mkdir -p "$W/as/home"
	ASH=(env LE_WORKING_DIR="$W/as/home" acme.sh --home "$W/as/home" --config-home "$W/as/home"
	     --server "$DIRURL" --ca-bundle "$W/root.pem")
	AS_CRT=$W/as/home/www.contoso.test_ecc/www.contoso.test.cer
	webroot_start "$W/as/wk"
	if "${ASH[@]}" --register-account --eab-kid "$AS_KID" --eab-hmac-key "$AS_HMAC" \
		-m ops@contoso.test >"$W/as/reg.log" 2>&1 &&
		"${ASH[@]}" --issue -d www.contoso.test -d mail.contoso.test -w "$W/as/wk" \
		>"$W/as/issue.log" 2>&1 &&
		openssl verify -CAfile "$W/root.pem" "$AS_CRT" >/dev/null 2>&1; then
		ok "acme.sh registers with its EAB and obtains a certificate with http-01"
	else
		fail "acme.sh issue"; tail -n 5 "$W/as/reg.log" "$W/as/issue.log" | sed 's/^/    /'
	fi
	AS1=$(openssl x509 -in "$AS_CRT" -noout -serial 2>/dev/null | sed 's/^serial=//')
	if "${ASH[@]}" --renew -d www.contoso.test --ecc --force >"$W/as/renew.log" 2>&1 &&
		AS2=$(openssl x509 -in "$AS_CRT" -noout -serial 2>/dev/null | sed 's/^serial=//') &&
		[ -n "$AS2" ] && [ "$AS2" != "$AS1" ] &&
		openssl verify -CAfile "$W/root.pem" "$AS_CRT" >/dev/null 2>&1; then
		ok "acme.sh renews it"
	else
		fail "acme.sh renew"; tail -n 5 "$W/as/renew.log" | sed 's/^/    /'
	fi
	if "${ASH[@]}" --revoke -d www.contoso.test --ecc --revoke-reason 4 >"$W/as/revoke.log" 2>&1 &&
		[ "$(cert_reason "${AS2:-none}")" = 4 ]; then
		ok "acme.sh revokes it as superseded (4)"
	else
		fail "acme.sh revoke: reason '$(cert_reason "${AS2:-none}")'"; tail -n 5 "$W/as/revoke.log" | sed 's/^/    /'
	fi
	if "${ASH[@]}" --deactivate-account >"$W/as/deact.log" 2>&1 &&
		! "${ASH[@]}" --issue -d mail.contoso.test -w "$W/as/wk" --force >"$W/as/issue2.log" 2>&1 &&
		grep -q 'deactivated' "$W/as/issue2.log"; then
		ok "acme.sh deactivates its account, which can then order nothing"
	else
		fail "acme.sh deactivate"; tail -n 5 "$W/as/deact.log" "$W/as/issue2.log" | sed 's/^/    /'
	fi
	webroot_stop
else
	skip "acme.sh obtains, renews, revokes" "acme.sh is not installed"
fi

# ---------------------------------------------- refusals, nothing issued --

eab NG --name '*.app.contoso.test' --name www.contoso.test --comment negative
eab OT --comment other
A=(--key "$W/k-ng.pem" --eab-kid "$NG_KID" --eab-hmac="$NG_HMAC")
client account "${A[@]}"
[ -n "$(cj account)" ] && ok "the test client has an account" || fail "test client account"
client account --key "$W/k-ot.pem" --eab-kid "$OT_KID" --eab-hmac="$OT_HMAC"
client account --key "$W/k-ng2.pem" --eab-kid "$NG_KID" --eab-hmac="$NG_HMAC"
expect_problem "an EAB credential binds one account only" unauthorized
n0=$(ncerts)
client order "${A[@]}" --name www.fabrikam.test
expect_problem "a name outside the allowed domains" rejectedIdentifier
client order "${A[@]}" --name mail.contoso.test
expect_problem "a name outside the token's scope" rejectedIdentifier
# A name not in its A-label form (RFC 8555 7.1.4): refused, the detail in
# printable ASCII with any other byte as \xNN, as mica shows names
# everywhere (clients print it to a terminal).
client order "${A[@]}" --name "bücher.app.contoso.test"
expect_problem "a U-label name" rejectedIdentifier
case "$(cj detail)" in
*'b\xc3\xbccher.app.contoso.test'*) ok "... its detail shows the name's other bytes as \\xNN" ;;
*) fail "U-label detail: $(cj detail)" ;;
esac
is "... one name: no subproblems" "$(cj subproblems)" ""
# Several names refused: each, in one answer (RFC 8555 6.7.1), so that
# the client drops them all at once; the names allowed are not listed.
client order "${A[@]}" --name www.fabrikam.test --name a3.app.contoso.test --name mail.contoso.test
expect_problem "names outside the domains and the scope" rejectedIdentifier
is "... each refused name a subproblem with its identifier" "$(cj subproblems)" \
	"dns:www.fabrikam.test:rejectedIdentifier dns:mail.contoso.test:rejectedIdentifier"
case "$(cj subdetails)" in
*www.fabrikam.test*"|"*mail.contoso.test*) ok "... each saying why, naming its name" ;;
*) fail "subproblem details: $(cj subdetails)" ;;
esac
client issue "${A[@]}" --name a1.app.contoso.test --http-port "$AP" --respond wrong
expect_problem "http-01 with the wrong content" incorrectResponse
is "the failed challenge ends the order" "$(cj order_status)" invalid
client issue "${A[@]}" --name big.app.contoso.test --http-port "$AP" --respond big
expect_problem "http-01 with a response over 16 KiB" incorrectResponse
client issue "${A[@]}" --name a2.app.contoso.test --respond none
expect_problem "http-01 with nothing on the port" connection
client issue "${A[@]}" --name a3.app.contoso.test --http-port "$AP" --respond hang
expect_problem "http-01 that never answers (timeout)" connection
client replay-nonce "${A[@]}"
expect_problem "a replayed nonce" badNonce
client foreign "${A[@]}" --other-key "$W/k-ot.pem" --name a4.app.contoso.test
expect_problem "another account cannot read an order (as an unknown one: 404)" malformed read
is "... and is told 404" "$(cj read_status)" 404
expect_problem "a JWS signed by another account's key" malformed forged
client issue "${A[@]}" --name a5.app.contoso.test --csr-name a6.app.contoso.test --http-port "$AP"
expect_problem "a CSR whose names differ from the order" badCSR
is "nothing was issued for any refusal" "$(ncerts)" "$n0"
# The certificate is downloaded again with each Accept below (RFC 8555
# 7.4.2: the PEM chain by default, other formats on request).
ACC=(- application/pkix-cert application/pkcs7-mime text/html
     'application/pkix-cert;q=0, */*'
     'application/pem-certificate-chain;q=0.5, application/pkix-cert'
     '*/*' 'application/*' 'application/pem-certificate-chain;q=0'
     'text/plain, Application/PKCS7-MIME;Q=0.3'
     $'application/pem-certificate-chain;q=0\napplication/pkix-cert')
ACC_ARGS=()
for v in "${ACC[@]}"; do ACC_ARGS+=(--accept "$v"); done
mkdir -p "$W/fmt"
client issue "${A[@]}" --name a7.app.contoso.test --http-port "$AP" --finalize-twice \
	"${ACC_ARGS[@]}" --accept-dir "$W/fmt"
is "the test client's own flow works" "$(cj order_status)" valid
expect_problem "an order finalized twice" orderNotReady second
is "the second finalize issued nothing" "$(ncerts)" "$((n0 + 1))"
is "the certificate comes with its chain (application/pem-certificate-chain)" "$(cj chain_certs)" 2
SERIAL=$(cj serial)
PEM_T="200 application/pem-certificate-chain"
is "the certificate without Accept: the PEM chain" "$(cj accept.0)" "$PEM_T"
is "Accept: application/pkix-cert: the certificate in DER" "$(cj accept.1)" "200 application/pkix-cert"
if openssl x509 -inform DER -in "$W/fmt/1.bin" -noout -serial > "$W/fmt/1.serial" 2>&1 &&
	openssl x509 -in "$W/fmt/0.bin" -outform DER | cmp -s - "$W/fmt/1.bin"; then
	ok "... OpenSSL reads that DER: the leaf of the PEM chain ($(cat "$W/fmt/1.serial"))"
else
	fail "the DER download: $(head -c 200 "$W/fmt/1.serial")"
fi
is "Accept: application/pkcs7-mime: a PKCS#7 certs-only message" "$(cj accept.2)" "200 application/pkcs7-mime; smime-type=certs-only"
# The same certificates as the PEM chain (DER sorts a SET OF: compared
# as sets).
if openssl pkcs7 -inform DER -in "$W/fmt/2.bin" -print_certs -out "$W/fmt/2.pem" 2> "$W/fmt/2.err" &&
	python3 - "$W/fmt/0.bin" "$W/fmt/2.pem" 2>> "$W/fmt/2.err" <<'PY'
import base64, re, sys
load = lambda f: sorted(base64.b64decode(m) for m in re.findall(
    r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", open(f).read(), re.S))
a, b = load(sys.argv[1]), load(sys.argv[2])
if len(a) != 2 or a != b:
    sys.exit("PEM chain: %d certificates, PKCS#7: %d, the same: %s" % (len(a), len(b), a == b))
PY
then
	ok "... OpenSSL reads it: the certificates of the PEM chain"
else
	fail "the PKCS#7 download: $(tail -n 3 "$W/fmt/2.err")"
fi
is "Accept: text/html, naming none of the formats: disregarded, the PEM chain" "$(cj accept.3)" "$PEM_T"
is "Accept: application/pkix-cert;q=0, */*: q=0 excludes DER, the PEM chain" "$(cj accept.4)" "$PEM_T"
is "Accept: the PEM chain at q=0.5, DER at 1: DER" "$(cj accept.5)" "200 application/pkix-cert"
is "Accept: */*: the PEM chain" "$(cj accept.6)" "$PEM_T"
is "Accept: application/*: the PEM chain" "$(cj accept.7)" "$PEM_T"
is "Accept: the PEM chain at q=0 only: 406" "$(cj accept.8)" "406 malformed"
is "Accept: media types in any case, with a q: PKCS#7" "$(cj accept.9)" "200 application/pkcs7-mime; smime-type=certs-only"
# RFC 9110 5.3: the lines of a list field are one list, in order.
is "Accept in two lines, the PEM chain refused in the first: DER" "$(cj accept.10)" "200 application/pkix-cert"
# Another account's objects are answered as unknown ids (same status,
# type and detail), at every URL, whatever the request asks.
client foreign "${A[@]}" --other-key "$W/k-ot.pem" --name a9.app.contoso.test --http-port "$AP"
is "another account's order, authorization, challenge, certificate and list of orders are unknown ids to it" \
	"$(cj indistinct)" yes

# -------------------------------------------------------- ARI, admin --

# RFC 9773: certID = base64url(AKI keyIdentifier) "." base64url(serial).
CERTID=$(python3 - "$D/mica.db" "$SERIAL" <<'PY'
import base64, sqlite3, sys
from cryptography import x509
der = sqlite3.connect(sys.argv[1]).execute(
    "SELECT der FROM certificate WHERE serial = ?", (sys.argv[2].zfill(32),)).fetchone()[0]
c = x509.load_der_x509_certificate(der)
aki = c.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
n = c.serial_number
b = n.to_bytes((n.bit_length() + 8) // 8, "big")
e = lambda v: base64.urlsafe_b64encode(v).rstrip(b"=").decode()
print(e(aki) + "." + e(b))
PY
)
CODE=$(curl -s --cacert "$W/root.pem" -o "$W/ari.json" -D "$W/hdr" -w '%{http_code}' "$S/acme/renewal-info/$CERTID")
is "renewalInfo answers for an ACME certificate" "$CODE" 200
python3 - "$W/ari.json" "$D/mica.db" "$SERIAL" <<'PY' && ok "ARI's window starts at two thirds of the lifetime" || fail "ARI window"
import json, sqlite3, sys, datetime
w = json.load(open(sys.argv[1]))["suggestedWindow"]
nb, na = sqlite3.connect(sys.argv[2]).execute(
    "SELECT not_before, not_after FROM certificate WHERE serial = ?",
    (sys.argv[3].zfill(32),)).fetchone()
t = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
    tzinfo=datetime.timezone.utc).timestamp()
start = nb + (na - nb) * 2 / 3
sys.exit(0 if abs(t(w["start"]) - start) < 86400 and t(w["end"]) > t(w["start"]) else 1)
PY
grep -qi '^Retry-After: [0-9]' "$W/hdr" && ok "renewalInfo says when to ask again" || fail "ARI Retry-After"
# RFC 9773 5: one order replaces a certificate. Of six sent at once, one
# is made and five are alreadyReplaced (each was checked before any was
# recorded); one left unfinalized past its expiry - a client that gave
# up - replaces nothing, and the next may replace the certificate (it
# was alreadyReplaced for good).
client replaces "${A[@]}" --name a7.app.contoso.test --replaces "$CERTID" --conc 6
is "six orders replacing one certificate at once: one made, five alreadyReplaced" \
	"$(cj created) $(cj already_replaced) $(cj other)" "1 5 []"
# No count at all: the client stopped before racing; say why.
[ -n "$(cj created)" ] || sed 's/^/    /' "$W/c.json" "$W/c.err" | tail -n 8
RORD=$(cj orders.0)
sqlite3 "$D/mica.db" "UPDATE acme_order SET expires = strftime('%s', 'now') - 60 WHERE id = '${RORD##*/}'"
client replaces "${A[@]}" --name a7.app.contoso.test --replaces "$CERTID" --conc 1
is "... once that order expired unfinalized, a new order replaces the certificate" \
	"$(cj created) $(cj already_replaced) $(cj other)" "1 0 []"
# No count at all: the client stopped before racing; say why.
[ -n "$(cj created)" ] || sed 's/^/    /' "$W/c.json" "$W/c.err" | tail -n 8

"$MICA" -d "$D" acme accounts > "$W/accts.txt" 2>&1
grep -q "$NG_KID" "$W/accts.txt" && ok "mica acme accounts lists the bound accounts" || fail "acme accounts"
ACCT=$(sqlite3 "$D/mica.db" "SELECT id FROM acme_account WHERE token_id = '$NG_KID'")
CODE=$(curl -s --cacert "$W/root.pem" -o "$W/a.json" -w '%{http_code}' -H "Authorization: Bearer $ADM" \
	"$S/api/v1/acme/accounts")
[ "$CODE" = 200 ] && grep -q "$ACCT" "$W/a.json" && ok "GET /api/v1/acme/accounts" || fail "API accounts ($CODE)"
CODE=$(curl -s --cacert "$W/root.pem" -o "$W/o.json" -w '%{http_code}' -H "Authorization: Bearer $ADM" \
	"$S/api/v1/acme/orders?account=$ACCT")
[ "$CODE" = 200 ] && grep -q '"valid"' "$W/o.json" && ok "GET /api/v1/acme/orders" || fail "API orders ($CODE)"
# api_walk WHAT [QUERY]: the ids of every page of /api/v1/acme/WHAT, one
# entry a page (limit=1), following next_cursor until it is null; the
# number of pages in $W/pages. Nothing (and a failure) if a page is not
# 200 or the walk does not end within 1000 pages.
api_walk() {
	local what=$1 q=${2:+$2&} cursor='' pages=0 code
	while [ "$pages" -lt 1000 ]; do
		pages=$((pages + 1))
		code=$(curl -s --cacert "$W/root.pem" -o "$W/p.json" -w '%{http_code}' \
			-H "Authorization: Bearer $ADM" \
			"$S/api/v1/acme/$what?${q}limit=1${cursor:+&cursor=$cursor}")
		[ "$code" = 200 ] || { fail "GET /api/v1/acme/$what page $pages: $code"; return 1; }
		jq -r ".$what[].id" "$W/p.json"
		cursor=$(jq -r '.next_cursor // empty' "$W/p.json")
		[ -n "$cursor" ] || break
	done
	echo "$pages" > "$W/pages"
}
# Keyset pages: every account and order once, in the order of the whole
# listing, however many pages it takes.
for what in accounts orders; do
	api_walk "$what" > "$W/walk.txt"
	curl -s --cacert "$W/root.pem" -H "Authorization: Bearer $ADM" \
		"$S/api/v1/acme/$what?limit=10000" | jq -r ".$what[].id" > "$W/all.txt"
	is "GET /api/v1/acme/$what?limit=10000 is one page (next_cursor null)" \
		"$(curl -s --cacert "$W/root.pem" -H "Authorization: Bearer $ADM" \
			"$S/api/v1/acme/$what?limit=10000" | jq -c .next_cursor)" null
	n=$(wc -l < "$W/all.txt")
	[ "$n" -ge 2 ] && [ "$(cat "$W/pages")" = "$n" ] && cmp -s "$W/walk.txt" "$W/all.txt" &&
		ok "GET /api/v1/acme/$what by pages of one: all $n, each once, in order ($(cat "$W/pages") pages)" ||
		fail "$what by pages: $(tr '\n' ' ' < "$W/walk.txt") vs $(tr '\n' ' ' < "$W/all.txt")"
done
api_walk orders "account=$ACCT" > "$W/walk.txt"
curl -s --cacert "$W/root.pem" -H "Authorization: Bearer $ADM" \
	"$S/api/v1/acme/orders?account=$ACCT&limit=10000" | jq -r '.orders[].id' > "$W/all.txt"
cmp -s "$W/walk.txt" "$W/all.txt" && [ -s "$W/all.txt" ] &&
	ok "GET /api/v1/acme/orders?account=...: an account's orders by pages too" ||
	fail "an account's orders by pages"
for c in abc 0 -1 012 1.x; do
	CODE=$(curl -s --cacert "$W/root.pem" -o "$W/e.json" -w '%{http_code}' -H "Authorization: Bearer $ADM" \
		"$S/api/v1/acme/accounts?cursor=$c")
	is "GET /api/v1/acme/accounts?cursor=$c: 400 bad_parameter" "$CODE $(jq -r .error "$W/e.json")" "400 bad_parameter"
done
CODE=$(curl -s --cacert "$W/root.pem" -o "$W/e.json" -w '%{http_code}' -H "Authorization: Bearer $ADM" \
	"$S/api/v1/acme/orders?cursor=5.3")
is "GET /api/v1/acme/orders with a certificate listing's expiry cursor: 400 bad_cursor" \
	"$CODE $(jq -r .error "$W/e.json")" "400 bad_cursor"
# The command line's --json is the API's objects, key for key and in
# order (a jq filter written for one reads the other): the contact an
# array, deactivated_at, an order's profile and expires.
"$MICA" -d "$D" acme accounts --json --limit 10000 > "$W/a-cli.json" 2>/dev/null
"$MICA" -d "$D" acme orders --account "$ACCT" --json --limit 10000 > "$W/o-cli.json" 2>/dev/null
jlist() { # jlist FILE [KEY]: the JSON (or its KEY) in one line, keys in order
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps(d[sys.argv[2]] if len(sys.argv) > 2 else d))' "$@"
}
is "mica acme accounts --json: the API's accounts" \
	"$(jlist "$W/a-cli.json")" "$(jlist "$W/a.json" accounts)"
is "mica acme orders --json: the API's orders" \
	"$(jlist "$W/o-cli.json")" "$(jlist "$W/o.json" orders)"
"$MICA" -d "$D" acme orders --limit 1 >/dev/null 2>"$W/o-cut.err"
grep -q "more ACME orders match than the 1 shown" "$W/o-cut.err" &&
	ok "acme orders --limit 1: standard error says more match" || fail "no note: $(cat "$W/o-cut.err")"
# 100 orders open at once per account: one more is rateLimited, told to
# come back when the first of them expires (24 hours: they were all made
# just now), not in seconds.
eab LIM --name '*.app.contoso.test' --comment limit
client fill-orders --key "$W/k-lim.pem" --eab-kid "$LIM_KID" --eab-hmac="$LIM_HMAC" \
	--n 101 --prefix lim --domain app.contoso.test
is "an account makes 100 orders; the 101st is rateLimited (429)" \
	"$(cj made) $(cj problem) $(cj status)" "100 rateLimited 429"
RA=$(cj retry_after)
[ -n "$RA" ] && [ "$RA" -gt $((86400 - 300)) ] && [ "$RA" -le 86400 ] &&
	ok "... Retry-After: when its first open order expires ($RA s)" ||
	fail "open orders' Retry-After: '$RA', wanted about 86400"
sqlite3 "$D/mica.db" "UPDATE acme_order SET expires = strftime('%s', 'now') + 600 WHERE rowid =
	(SELECT min(rowid) FROM acme_order WHERE account_id =
	 (SELECT id FROM acme_account WHERE token_id = '$LIM_KID'))"
client fill-orders --key "$W/k-lim.pem" --n 1 --prefix lim-more --domain app.contoso.test
RA=$(cj retry_after)
[ "$(cj problem)" = rateLimited ] && [ -n "$RA" ] && [ "$RA" -gt 300 ] && [ "$RA" -le 600 ] &&
	ok "... and when the first expires in 10 minutes, Retry-After says so ($RA s)" ||
	fail "open orders' Retry-After after one nears its end: '$(cj problem)' '$RA', wanted about 600"
# EAB credentials through the API: the limits the command line enforces.
NTOK=$(sqlite3 "$D/mica.db" "SELECT count(*) FROM token")
for body in '{"uses":0}' '{"uses":-2}' '{"expires_in":0}' '{"names":[]}'; do
	CODE=$(curl -s --cacert "$W/root.pem" -o "$W/e.json" -w '%{http_code}' -H "Authorization: Bearer $ADM" \
		-H 'Content-Type: application/json' -d "$body" "$S/api/v1/acme/eab")
	is "POST /api/v1/acme/eab $body: 400 bad_field" "$CODE $(json_get "$W/e.json" error)" "400 bad_field"
done
is "and no credential was made" "$(sqlite3 "$D/mica.db" "SELECT count(*) FROM token")" "$NTOK"
LONG=$(python3 -c 'print("\u00e9" * 150)')
CODE=$(curl -s --cacert "$W/root.pem" -o "$W/e.json" -w '%{http_code}' -H "Authorization: Bearer $ADM" \
	-H 'Content-Type: application/json' -d "{\"uses\":2,\"comment\":\"$LONG\"}" "$S/api/v1/acme/eab")
is "a comment of 150 characters (300 bytes) is accepted, as for tokens" "$CODE" 201
# The admin's deactivation takes no body: one it cannot read is refused
# (as every action without a body), and the account stays valid.
CODE=$(curl -s --cacert "$W/root.pem" -o "$W/e.json" -w '%{http_code}' -H "Authorization: Bearer $ADM" \
	-H 'Content-Type: application/json' -d '{"status": "valid"}' "$S/api/v1/acme/accounts/$ACCT/deactivate")
is "POST .../deactivate with an unknown field: 400 unknown_field" "$CODE $(json_get "$W/e.json" error)" "400 unknown_field"
CODE=$(curl -s --cacert "$W/root.pem" -o "$W/e.json" -w '%{http_code}' -H "Authorization: Bearer $ADM" \
	-H 'Content-Type: text/plain' -d 'later' "$S/api/v1/acme/accounts/$ACCT/deactivate")
is "POST .../deactivate with a text body: 415" "$CODE" 415
is "and the account is still valid" "$(sqlite3 "$D/mica.db" "SELECT status FROM acme_account WHERE id = '$ACCT'")" valid
expect_rc "mica acme accounts deactivate" 0 "$MICA" -d "$D" acme accounts deactivate "$ACCT"
client order "${A[@]}" --name a8.app.contoso.test
expect_problem "a deactivated account can do nothing more" unauthorized
is "... told so with 401 (RFC 8555 7.3.6)" "$(cj status)" 401
audit_has acme.account.deactivate && ok "the deactivation is audited" || fail "deactivation audit"
# 'mica audit' keeps its columns for the longest action names: TARGET
# starts where its header does on every row.
"$MICA" -d "$D" audit --all > "$W/audit.txt" 2>/dev/null
col=$(head -1 "$W/audit.txt" | awk '{ print index($0, "TARGET") }')
awk -v c="$col" 'NR > 1 && /acme\.account\.deactivate/ {
	n++; if (substr($0, c - 2, 2) != "  " || substr($0, c, 1) == " ") bad++ }
	END { exit !(n > 0 && bad == 0) }' "$W/audit.txt" &&
	ok "mica audit: acme.account.deactivate keeps the TARGET column" ||
	fail "mica audit columns: $(grep -m1 acme.account.deactivate "$W/audit.txt")"

serve_stop
is "mica serve stops cleanly" "$SERVE_RC" 0

# ----------------------------------------------------------- --acme-open --

start "$W/serve2.out" --acme-open
grep -q "^acme: .*open" "$W/serve2.out" && ok "--acme-open is announced" || fail "open banner"
n0=$(ncerts)
client issue --key "$W/k-open.pem" --name open.contoso.test --http-port "$AP"
is "--acme-open: an account without EAB gets a name it proves" "$(cj order_status)" valid
client order --key "$W/k-open.pem" --name www.fabrikam.test
expect_problem "--acme-open still keeps to the allowed domains" rejectedIdentifier
is "one certificate issued" "$(ncerts)" "$((n0 + 1))"
# acme-tiny speaks no EAB: an open server is where it can be used. It
# trusts what Python's ssl trusts (SSL_CERT_FILE).
if have acme-tiny; then
	mkdir -p "$W/tiny"
	openssl genrsa -out "$W/tiny/account.key" 2048 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$W/tiny/dom.key" -subj /CN=open.contoso.test \
		-addext subjectAltName=DNS:open.contoso.test,DNS:www.contoso.test \
		-out "$W/tiny/dom.csr" 2>/dev/null
	webroot_start "$W/tiny/wk"
	# --disable-check: acme-tiny would fetch the file itself by the
	# names' DNS, which only mica's --acme-hosts knows here.
	if SSL_CERT_FILE=$W/root.pem acme-tiny --account-key "$W/tiny/account.key" \
		--csr "$W/tiny/dom.csr" --acme-dir "$W/tiny/wk/.well-known/acme-challenge" \
		--directory-url "$DIRURL" --contact mailto:ops@contoso.test --disable-check \
		>"$W/tiny/chain.pem" 2>"$W/tiny/log" &&
		openssl verify -CAfile "$W/root.pem" "$W/tiny/chain.pem" >/dev/null 2>&1 &&
		openssl x509 -in "$W/tiny/chain.pem" -noout -ext subjectAltName >"$W/tiny/san" &&
		grep -q 'DNS:open.contoso.test' "$W/tiny/san" &&
		grep -q 'DNS:www.contoso.test' "$W/tiny/san"; then
		ok "acme-tiny registers without EAB and obtains a certificate with http-01"
	else
		fail "acme-tiny"; tail -n 3 "$W/tiny/log" "$W/tiny/san" | sed 's/^/    /'
	fi
	webroot_stop
else
	skip "acme-tiny on an open server" "acme-tiny is not installed"
fi
serve_stop

finish
