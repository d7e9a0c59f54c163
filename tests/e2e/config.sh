#!/bin/bash
# End-to-end: 'mica config' changes the public URL and the CRL period after
# the CA was made. The CA is the quick set-up's: a first 'mica serve'
# that defaulted its URL to its loopback --http address. Checked, with
# OpenSSL as the judge:
#   - bad input is refused with the documented exit status (malformed URL
#     3, usage 2) and changes nothing (config show, audit);
#   - the change is audited with its old and new value;
#   - the running daemon, not restarted, signs its next CRL with the new
#     period (it reads it from the store) but keeps issuing with the old
#     URL, and the command says to restart it;
#   - the command line issues with the new URL at once (CDP, AIA
#     caIssuers and OCSP) and its CRLs have the new period; a certificate
#     issued before keeps the old URL;
#   - restarted, the daemon issues with the new URL, reports it, and its
#     HTTPS certificate names the new host;
#   - an offline root given no URL at init takes one later, which sign-ca
#     then names by default, and its next ARL has the new period; a CA
#     awaiting its certificate refuses a new URL (exit 6: its request
#     was made with the old one) but takes a new period.
#
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/config.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3

unset MICA_PASSPHRASE   # the first start writes DIR/passphrase
W=$(mktmp)
D=$W/data
serve_ports
OLD=http://127.0.0.1:$HP
NEW=http://ca.contoso.test:$HP/pki

csr() { # csr NAME: $W/NAME.csr for NAME.contoso.test, and its JSON
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$W/$1.key" -subj "/CN=$1.contoso.test" \
		-addext "subjectAltName=DNS:$1.contoso.test" -out "$W/$1.csr" 2>/dev/null ||
		die "openssl req"
	python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "profile": "server"}))' \
		"$W/$1.csr" > "$W/$1.json"
}

api_issue() { # api_issue NAME: the daemon issues NAME, into $W/NAME.crt
	csr "$1"
	call POST "$S/api/v1/requests" -H "Authorization: Bearer $ADM" \
		-H 'Content-Type: application/json' --data-binary @"$W/$1.json"
	[ "$CODE" = 201 ] || [ "$CODE" = 200 ] || { fail "the daemon issues $1 ($CODE: $(cat "$W/body"))"; return 1; }
	json_get "$W/body" certificate > "$W/$1.crt"
}

# urls CERT: its CRL distribution point, CA Issuers and OCSP URLs, one line.
urls() {
	openssl x509 -in "$1" -noout -text |
		sed -n 's/^ *\(URI:\|CA Issuers - URI:\|OCSP - URI:\)//p' | tr '\n' ' ' | sed 's/ $//'
}

# period FILE [der]: nextUpdate - lastUpdate of the CRL in FILE, in seconds.
period() {
	local l n
	l=$(openssl crl -inform "${2:-pem}" -in "$1" -noout -lastupdate | cut -d= -f2)
	n=$(openssl crl -inform "${2:-pem}" -in "$1" -noout -nextupdate | cut -d= -f2)
	echo $(( $(date -u -d "$n" +%s) - $(date -u -d "$l" +%s) ))
}

# ------------------------------------------------- the quick set-up --

serve_start "$W/serve1.out" "$D" -- --domain contoso.test || serve_failed "$W/serve1.out"
serve_facts "$W/serve1.out" "$W"
grep -qF "an address only this machine reaches" "$W/serve1.out.err" "$W/serve1.out" &&
	ok "the first start warns of its loopback URL" || fail "no warning of the loopback URL"
is "config show: the URL the first start took" "$("$MICA" -d "$D" config show | sed -n 's/^public-url  //p')" "$OLD"
"$MICA" -d "$D" config show --json > "$W/show.json"
is "config show --json: the CRL period init's default" "$(json_get "$W/show.json" crl_days)" 7
api_issue before || true
is "a certificate issued before names the old URL" "$(urls "$W/before.crt")" "$OLD/crl $OLD/ocsp $OLD/ca.crt"

# ------------------------------------------------------- bad input --

show0=$("$MICA" -d "$D" config show)
expect_rc "a trailing slash is malformed input" 3 "$MICA" -d "$D" config set --public-url "$NEW/"
grep -qF "without a trailing slash" "$TMP/rc.err" && ok "... and says what a URL must be" || fail "no reason given: $(cat "$TMP/rc.err")"
expect_rc "a URL with user@ is malformed input" 3 "$MICA" -d "$D" config set --public-url "http://u@ca.contoso.test"
expect_rc "a '..' segment is malformed input" 3 "$MICA" -d "$D" config set --public-url "http://ca.contoso.test/a/.." --crl-days 3
expect_rc "an ftp:// URL is malformed input" 3 "$MICA" -d "$D" config set --public-url "ftp://ca.contoso.test"
expect_rc "--crl-days 0 is a usage error" 2 "$MICA" -d "$D" config set --crl-days 0
expect_rc "--crl-days 366 is a usage error" 2 "$MICA" -d "$D" config set --crl-days 366
expect_rc "--crl-days abc is a usage error" 2 "$MICA" -d "$D" config set --crl-days abc
expect_rc "set with nothing to set is a usage error" 2 "$MICA" -d "$D" config set
expect_rc "--public-url twice is a usage error" 2 "$MICA" -d "$D" config set --public-url "$NEW" --public-url "$NEW"
expect_rc "an unknown subcommand is a usage error" 2 "$MICA" -d "$D" config get
expect_rc "show takes no --crl-days" 2 "$MICA" -d "$D" config show --crl-days 3
is "refused changes changed nothing" "$("$MICA" -d "$D" config show)" "$show0"
is "... and left no audit row" "$("$MICA" -d "$D" audit | grep -c 'ca\.public_url\|ca\.crl_days')" 0

# ------------------------------------------- the change, daemon running --

if "$MICA" -d "$D" config set --public-url "$NEW" --crl-days 3 >"$W/set.out" 2>"$W/set.err"; then
	ok "config set --public-url --crl-days"
else
	fail "config set: $(cat "$W/set.err")"
fi
grep -qF "public-url  $NEW (was $OLD)" "$W/set.out" && ok "... says the URL it had" || fail "set output: $(cat "$W/set.out")"
grep -qF "crl-days    3 (was 7)" "$W/set.out" && ok "... says the period it had" || fail "set output: $(cat "$W/set.out")"
grep -qF "keep naming $OLD" "$W/set.err" && ok "... says the old URL must keep serving" || fail "set notes: $(cat "$W/set.err")"
grep -qF "(process $SERVE_PID) goes on naming the old URL until it is restarted" "$W/set.err" &&
	ok "... names the running daemon to restart" || fail "no restart note: $(cat "$W/set.err")"
"$MICA" -d "$D" audit > "$W/audit"
grep -q "ca\.public_url  *-  *$OLD -> $NEW\$" "$W/audit" && ok "audited: the old and the new URL" || fail "audit: $(head -4 "$W/audit")"
grep -q "ca\.crl_days  *-  *7 -> 3 days\$" "$W/audit" && ok "audited: the old and the new period" || fail "audit: $(head -4 "$W/audit")"
"$MICA" -d "$D" config set --crl-days 3 > "$W/again.out" 2>&1
is "the same value again is said unchanged" "$(cat "$W/again.out")" "crl-days    3 (unchanged)"
is "... and not audited again" "$(grep -c 'ca\.crl_days' <("$MICA" -d "$D" audit))" 1

# The daemon, not restarted: its next CRL has the new period...
call POST "$S/api/v1/crl" -H "Authorization: Bearer $ADM"
is "the daemon publishes a CRL" "$CODE" 201
crl_3_days() { curl -sf -o "$W/d.crl" "$H/crl" && [ "$(period "$W/d.crl" der)" = $((3 * 86400)) ]; }
if wait_for "/crl valid 3 days" 10 crl_3_days; then
	ok "the running daemon's next CRL is valid the new 3 days"
else
	fail "the daemon's CRL: $(period "$W/d.crl" der) s"
fi
# ... while it issues with the URL it read at its start.
api_issue during || true
is "the daemon not restarted still names the old URL" "$(urls "$W/during.crt")" "$OLD/crl $OLD/ocsp $OLD/ca.crt"

# The command line, at once: the new URL and period.
csr cli
if "$MICA" -d "$D" issue --csr "$W/cli.csr" --profile server --out "$W/cli.crt" >/dev/null 2>"$W/issue.err"; then
	is "mica issue names the new CRL, OCSP and CA certificate URLs" "$(urls "$W/cli.crt")" "$NEW/crl $NEW/ocsp $NEW/ca.crt"
else
	fail "mica issue: $(cat "$W/issue.err")"
fi
if "$MICA" -d "$D" crl --out "$W/c.crl" --pem >/dev/null 2>"$W/crl.err"; then
	is "mica crl: nextUpdate 3 days after lastUpdate" "$(period "$W/c.crl")" $((3 * 86400))
else
	fail "mica crl: $(cat "$W/crl.err")"
fi
is "the certificate issued before still names the old URL" "$(urls "$W/before.crt")" "$OLD/crl $OLD/ocsp $OLD/ca.crt"
check "... and still verifies against the root and the CRL now served" \
	openssl verify -crl_check -CAfile "$W/root.pem" -CRLfile "$W/c.crl" "$W/before.crt"

# ------------------------------------------------- the daemon restarted --

serve_stop
serve_start "$W/serve2.out" "$D" -- --domain contoso.test || serve_failed "$W/serve2.out"
api_issue after || true
is "restarted, the daemon names the new URL" "$(urls "$W/after.crt")" "$NEW/crl $NEW/ocsp $NEW/ca.crt"
check "... in a certificate that verifies" openssl verify -CAfile "$W/root.pem" "$W/after.crt"
call GET "$S/api/v1/status" -H "Authorization: Bearer $ADM"
is "/api/v1/status reports the new URL" "$(json_get "$W/body" public_url)" "$NEW"
echo | openssl s_client -connect "127.0.0.1:$SP" -CAfile "$W/root.pem" 2>/dev/null |
	openssl x509 -noout -ext subjectAltName > "$W/san" 2>/dev/null
grep -qF "DNS:ca.contoso.test" "$W/san" && ok "its HTTPS certificate names the new host" ||
	fail "HTTPS certificate names: $(tr '\n' ' ' < "$W/san")"
"$MICA" -d "$D" config set --public-url "$NEW" > "$W/same.out" 2>"$W/same.err"
is "setting the URL it has is said unchanged" "$(cat "$W/same.out")" "public-url  $NEW (unchanged)"
is "... with no restart note" "$(cat "$W/same.err")" ""
serve_stop

# ----------------------------------------- an offline root, a sub-CA --

# An offline root given no URL at init: one set later is what sign-ca
# names by default (URL/root.crl, URL/root.crt), and its ARL follows the
# new period.
R=$W/root
I=$W/issuing
export MICA_PASSPHRASE="config e2e offline root passphrase"
"$MICA" -d "$R" init --root-only --name "Config Offline Root" >/dev/null 2>&1 || die "init --root-only"
is "an offline root shows no URL" "$("$MICA" -d "$R" config show | sed -n 's/^public-url  //p')" \
	"(none: an offline root publishing by hand)"
expect_rc "an offline root takes a URL and a period later" 0 \
	"$MICA" -d "$R" config set --public-url http://pki.contoso.test --crl-days 90
"$MICA" -d "$R" crl --out "$W/arl.pem" --pem >/dev/null 2>&1 || fail "mica crl on the offline root"
is "its next ARL is valid the new 90 days" "$(period "$W/arl.pem")" $((90 * 86400))
"$MICA" -d "$I" init --subordinate --name "Config Issuing CA" --domain contoso.test \
	--public-url http://ca.contoso.test --csr-out "$W/issuing.csr" >/dev/null 2>&1 || die "init --subordinate"
expect_rc "a CA awaiting its certificate keeps the URL its request was made with (6)" 6 \
	"$MICA" -d "$I" config set --public-url http://ca2.contoso.test
expect_rc "... but takes a new CRL period" 0 "$MICA" -d "$I" config set --crl-days 2
if "$MICA" -d "$R" sign-ca --csr "$W/issuing.csr" --out "$W/issuing.crt" >/dev/null 2>"$W/sign.err"; then
	is "sign-ca names the offline root's new URL by default" "$(urls "$W/issuing.crt")" \
		"http://pki.contoso.test/root.crl http://pki.contoso.test/root.crt"
else
	fail "sign-ca: $(cat "$W/sign.err")"
fi
unset MICA_PASSPHRASE

finish
