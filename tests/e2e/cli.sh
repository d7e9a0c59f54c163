#!/bin/bash
# End-to-end test of the mica command line, judged by independent relying
# parties (OpenSSL, GnuTLS certtool, curl), for an ec-p256 and an rsa-2048
# CA: every profile, revocation and CRLs, renewal, a real TLS handshake,
# and refused input that must leave the database unchanged.
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

command -v openssl >/dev/null || die "openssl is required"
command -v certtool >/dev/null || die "certtool (gnutls-bin) is required"

csr() { # csr NAME KEYSPEC SUBJ [SAN] [extra openssl args...]
	local name=$1 keyspec=$2 subj=$3 san=${4:-}
	shift 4 2>/dev/null || shift $#
	local args=()
	case $keyspec in
	ec-p256) args=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
	ec-p384) args=(-newkey ec -pkeyopt ec_paramgen_curve:P-384) ;;
	ec-p521) args=(-newkey ec -pkeyopt ec_paramgen_curve:P-521) ;;
	rsa-*) args=(-newkey "rsa:${keyspec#rsa-}") ;;
	ed25519) args=(-newkey ed25519) ;;
	esac
	[ -n "$san" ] && args+=(-addext "subjectAltName=$san")
	openssl req -new "${args[@]}" -nodes -keyout "$W/$name.key" -subj "$subj" \
		-out "$W/$name.csr" "$@" 2>/dev/null || die "openssl req $name"
}

# Refused input: exit code WANT, one line on stderr, database unchanged.
refused() {
	local d=$1 want=$2; shift 2
	db_dump "$D" > "$TMP/before.sql"
	"$@" >"$TMP/ref.out" 2>"$TMP/ref.err"
	local got=$?
	db_dump "$D" > "$TMP/after.sql"
	if [ "$got" != "$want" ]; then
		fail "$d: exit $got, wanted $want"; sed 's/^/    /' "$TMP/ref.err" | head -3
	elif [ "$(wc -l < "$TMP/ref.err")" -ne 1 ]; then
		fail "$d: stderr is not one line"; sed 's/^/    /' "$TMP/ref.err"
	elif ! cmp -s "$TMP/before.sql" "$TMP/after.sql"; then
		fail "$d: database changed"; diff "$TMP/before.sql" "$TMP/after.sql" | head -5
	else
		ok "$d (exit $want: $(cat "$TMP/ref.err"))"
	fi
}

run_ca() {
	KT=$1
	W=$(mktmp)
	D=$W/data
	echo "# CA key type $KT"
	if [ "$KT" = ec-p256 ]; then
		unset MICA_PASSPHRASE
		check "$KT: init generates a passphrase file" \
			"$MICA" -d "$D" init --name "Contoso Root CA $KT" --org Contoso \
			--domain contoso.test --domain 10.in-addr.test \
			--public-url http://ca.contoso.test:8080 --key "$KT"
		[ "$(stat -c %a "$D/passphrase")" = 600 ] && ok "$KT: passphrase file is 0600" || fail "$KT: passphrase file mode"
	else
		export MICA_PASSPHRASE="correct horse battery staple $KT"
		check "$KT: init with MICA_PASSPHRASE" \
			"$MICA" -d "$D" init --name "Contoso Root CA $KT" \
			--domain contoso.test --public-url http://ca.contoso.test:8080 --key "$KT"
		[ ! -e "$D/passphrase" ] && ok "$KT: no passphrase file written" || fail "$KT: passphrase file written"
	fi
	[ "$(stat -c %a "$D/mica.db")" = 600 ] && ok "$KT: database is 0600" || fail "$KT: database mode $(stat -c %a "$D/mica.db")"
	[ "$(sqlite3 "$D/mica.db" 'PRAGMA journal_mode')" = wal ] && ok "$KT: database in WAL mode" || fail "$KT: not WAL"
	expect_rc "$KT: init refuses to overwrite" 6 "$MICA" -d "$D" init --name X --public-url http://x.test

	"$MICA" -d "$D" export-root --pem > "$W/root.pem"
	"$MICA" -d "$D" export-root --der --out "$W/root.der"
	openssl x509 -in "$W/root.pem" -outform DER | cmp -s - "$W/root.der" && ok "$KT: DER and PEM roots agree" || fail "$KT: DER/PEM differ"
	openssl x509 -in "$W/root.pem" -noout -text > "$W/root.txt"
	grep -A1 'Basic Constraints: critical' "$W/root.txt" | grep -q 'CA:TRUE' && ok "$KT: root CA:TRUE critical" || fail "$KT: root basicConstraints"
	grep -A1 'Key Usage: critical' "$W/root.txt" | grep -q 'Certificate Sign, CRL Sign' && ok "$KT: root keyCertSign+cRLSign critical" || fail "$KT: root keyUsage"
	grep -q 'Subject Key Identifier' "$W/root.txt" && ok "$KT: root has SKI" || fail "$KT: root SKI"
	openssl verify -CAfile "$W/root.pem" "$W/root.pem" >/dev/null 2>&1 && ok "$KT: root self-verifies" || fail "$KT: root verify"

	# Every profile, judged by OpenSSL and GnuTLS.
	csr srv "$KT" /CN=mail.contoso.test "DNS:mail.contoso.test,DNS:autodiscover.contoso.test,IP:10.0.0.25"
	csr cli ec-p256 /CN=alice "email:alice@contoso.test,DNS:phone.contoso.test"
	csr eml rsa-2048 /CN=alice "email:alice@contoso.test"
	csr ike ec-p384 /CN=vpn.contoso.test "DNS:vpn.contoso.test"
	csr cod ec-p256 /CN=build.contoso.test "DNS:build.contoso.test"
	for p in "server srv sslserver TLS Web Server Authentication" \
		 "client cli sslclient TLS Web Client Authentication" \
		 "email eml smimesign E-mail Protection" \
		 "ipsec ike any ipsec Internet Key Exchange" \
		 "codesign cod any Code Signing"; do
		set -- $p
		prof=$1 f=$2 purpose=$3; shift 3; eku="$*"
		if "$MICA" -d "$D" issue --csr "$W/$f.csr" --profile "$prof" --out "$W/$f.pem" 2>"$W/$f.err"; then
			ok "$KT/$prof: issued"
		else
			fail "$KT/$prof: issue failed: $(cat "$W/$f.err")"; continue
		fi
		if [ "$purpose" = any ]; then pa=(); else pa=(-purpose "$purpose"); fi
		openssl verify -CAfile "$W/root.pem" "${pa[@]}" "$W/$f.pem" >/dev/null 2>&1 \
			&& ok "$KT/$prof: openssl verify${pa:+ -purpose $purpose}" || fail "$KT/$prof: openssl verify"
		certtool --verify --load-ca-certificate "$W/root.pem" --infile "$W/$f.pem" > "$W/$f.gnutls" 2>&1 \
			&& grep -q 'Chain verification output: Verified' "$W/$f.gnutls" \
			&& ok "$KT/$prof: certtool --verify" || { fail "$KT/$prof: certtool --verify"; tail -3 "$W/$f.gnutls"; }
		openssl x509 -in "$W/$f.pem" -noout -text > "$W/$f.txt"
		grep -q "$eku" "$W/$f.txt" && ok "$KT/$prof: EKU $eku" || fail "$KT/$prof: EKU $eku missing"
		grep -A1 'Basic Constraints: critical' "$W/$f.txt" | grep -q 'CA:FALSE' && ok "$KT/$prof: CA:FALSE critical" || fail "$KT/$prof: basicConstraints"
		grep -A1 'CRL Distribution Points' "$W/$f.txt" >/dev/null && grep -q 'URI:http://ca.contoso.test:8080/crl' "$W/$f.txt" && ok "$KT/$prof: CDP" || fail "$KT/$prof: CDP"
		grep -q 'CA Issuers - URI:http://ca.contoso.test:8080/ca.crt' "$W/$f.txt" && ok "$KT/$prof: AIA caIssuers" || fail "$KT/$prof: AIA"
		grep -q 'Authority Key Identifier' "$W/$f.txt" && grep -q 'Subject Key Identifier' "$W/$f.txt" && ok "$KT/$prof: AKI+SKI" || fail "$KT/$prof: AKI/SKI"
		serial=$(openssl x509 -in "$W/$f.pem" -noout -serial | cut -d= -f2 | sed 's/^0x//')
		[ ${#serial} -ge 30 ] && ok "$KT/$prof: serial has $((${#serial} * 4)) bits" || fail "$KT/$prof: serial $serial too short"
	done
	grep -q 'DNS:mail.contoso.test, DNS:autodiscover.contoso.test, IP Address:10.0.0.25' "$W/srv.txt" && ok "$KT: server SAN carries DNS and IP names" || fail "$KT: server SAN"
	grep -q 'email:alice@contoso.test' "$W/eml.txt" && ok "$KT: email SAN" || fail "$KT: email SAN"
	if [ "$KT" = rsa-2048 ]; then
		grep -q 'Digital Signature, Key Encipherment' "$W/srv.txt" && ok "$KT: RSA server keyUsage" || fail "$KT: RSA server keyUsage"
	else
		grep -A1 'Key Usage: critical' "$W/srv.txt" | grep -q 'Digital Signature' && ok "$KT: EC server keyUsage" || fail "$KT: EC server keyUsage"
	fi

	# The profile decides, not the CSR.
	csr evil ec-p256 /CN=www.contoso.test "DNS:www.contoso.test" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
	"$MICA" -d "$D" issue --csr "$W/evil.csr" --out "$W/evil.pem" 2>/dev/null
	openssl x509 -in "$W/evil.pem" -noout -text > "$W/evil.txt"
	grep -q 'CA:FALSE' "$W/evil.txt" && ! grep -q 'Certificate Sign' "$W/evil.txt" && ok "$KT: CSR asking CA:TRUE and keyCertSign gets the profile's" || fail "$KT: CSR extensions copied"

	# Input formats: NEW CERTIFICATE REQUEST, bare base64 with CRLF, DER.
	csr fmt ec-p256 /CN=web.contoso.test "DNS:web.contoso.test"
	sed 's/CERTIFICATE REQUEST/NEW CERTIFICATE REQUEST/' "$W/fmt.csr" > "$W/fmt-new.csr"
	grep -v -- ----- "$W/fmt.csr" | sed 's/$/\r/' > "$W/fmt.b64"
	openssl req -in "$W/fmt.csr" -outform DER -out "$W/fmt.der"
	for f in fmt-new.csr fmt.b64 fmt.der; do
		check "$KT: accepts $f" "$MICA" -d "$D" issue --csr "$W/$f" --out "$W/$f.pem"
	done
	"$MICA" -d "$D" issue --csr - --name other.contoso.test < "$W/fmt.csr" > "$W/named.pem" 2>/dev/null
	openssl x509 -in "$W/named.pem" -noout -ext subjectAltName 2>/dev/null | grep -q 'DNS:other.contoso.test' && ok "$KT: --name overrides the CSR's names" || fail "$KT: --name"

	# Validity: profile maximum and clamping.
	expect_rc "$KT: days above the profile maximum refused" 4 "$MICA" -d "$D" issue --csr "$W/fmt.csr" --days 399
	check "$KT: days at the profile maximum accepted" "$MICA" -d "$D" issue --csr "$W/fmt.csr" --days 398 --out "$W/max.pem"

	# Revocation and the CRL, judged by OpenSSL.
	rserial=$(openssl x509 -in "$W/cli.pem" -noout -serial | cut -d= -f2 | sed 's/^0x//')
	# Two more certificates of cli's key, one put on hold: keyCompromise
	# revokes them with it (the key is compromised whichever names it).
	openssl req -new -key "$W/cli.key" -subj /CN=alice2 -addext "subjectAltName=DNS:phone2.contoso.test" -out "$W/cli2.csr" 2>/dev/null
	openssl req -new -key "$W/cli.key" -subj /CN=alice3 -addext "subjectAltName=DNS:phone3.contoso.test" -out "$W/cli3.csr" 2>/dev/null
	check "$KT: a second certificate of the same key" "$MICA" -d "$D" issue --csr "$W/cli2.csr" --profile client --out "$W/cli2.pem"
	check "$KT: a third, put on hold" "$MICA" -d "$D" issue --csr "$W/cli3.csr" --profile client --out "$W/cli3.pem"
	r2serial=$(openssl x509 -in "$W/cli2.pem" -noout -serial | cut -d= -f2 | sed 's/^0x//')
	r3serial=$(openssl x509 -in "$W/cli3.pem" -noout -serial | cut -d= -f2 | sed 's/^0x//')
	expect_rc "$KT: cACompromise for an end entity's certificate is refused (4)" 4 \
		"$MICA" -d "$D" revoke "$r3serial" --reason cACompromise
	grep -q "use keyCompromise" "$TMP/rc.err" && ok "$KT: ... pointing to keyCompromise" ||
		fail "$KT: cACompromise said: $(cat "$TMP/rc.err")"
	expect_rc "$KT: aACompromise is refused (4)" 4 "$MICA" -d "$D" revoke "$r3serial" --reason aACompromise
	check "$KT: hold the third" "$MICA" -d "$D" revoke "$r3serial" --reason certificateHold
	check "$KT: revoke keyCompromise" "$MICA" -d "$D" revoke "$rserial" --reason keyCompromise
	# Which CRL it published, by its number (this CA makes no deltas).
	is "$KT: ... saying which CRL it published" "$(tail -1 "$TMP/check.out")" \
		"revoked $rserial (keyCompromise); CRL $(sqlite3 "$D/mica.db" 'SELECT max(number) FROM crl') published"
	"$MICA" -d "$D" show "$r2serial" --json > "$W/r2.json" 2>/dev/null
	"$MICA" -d "$D" show "$r3serial" --json > "$W/r3.json" 2>/dev/null
	for f in r2 r3; do
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["status"]=="revoked" and d["revocation_reason"]=="keyCompromise" else 1)' "$W/$f.json" \
			&& ok "$KT: the key's other certificate $f is revoked for keyCompromise" || fail "$KT: $f not revoked with the key: $(cat "$W/$f.json")"
	done
	"$MICA" -d "$D" audit --json 2>/dev/null | grep -qi "\"$r2serial\"" && ok "$KT: the audit log names the other certificate" || fail "$KT: audit of the other certificate"
	expect_rc "$KT: revoking twice is a conflict" 6 "$MICA" -d "$D" revoke "$rserial" --reason keyCompromise
	check "$KT: crl --pem" "$MICA" -d "$D" crl --pem --out "$W/crl.pem"
	openssl crl -in "$W/crl.pem" -noout -text -CAfile "$W/root.pem" > "$W/crl.txt" 2>&1
	grep -q 'verify OK' "$W/crl.txt" && ok "$KT: CRL signature verifies" || fail "$KT: CRL verify"
	grep -q 'Key Compromise' "$W/crl.txt" && ok "$KT: CRL shows the reason" || fail "$KT: CRL reason"
	grep -q 'X509v3 CRL Number' "$W/crl.txt" && ok "$KT: CRL has a CRL number" || fail "$KT: CRL number"
	grep -q 'Version 2' "$W/crl.txt" && ok "$KT: CRL is v2" || fail "$KT: CRL version"
	grep -qi "$rserial" "$W/crl.txt" && ok "$KT: CRL lists the revoked serial" || fail "$KT: CRL serial"
	if openssl verify -crl_check -CAfile "$W/root.pem" -CRLfile "$W/crl.pem" "$W/cli.pem" >/dev/null 2>&1; then
		fail "$KT: revoked certificate still verifies with -crl_check"
	else ok "$KT: openssl -crl_check rejects the revoked certificate"; fi
	for f in cli2 cli3; do
		openssl verify -crl_check -CAfile "$W/root.pem" -CRLfile "$W/crl.pem" "$W/$f.pem" > "$W/$f.v" 2>&1
		grep -q 'certificate revoked' "$W/$f.v" && ok "$KT: openssl -crl_check rejects $f (same key)" || fail "$KT: $f (same key) not revoked in the CRL: $(cat "$W/$f.v")"
	done
	[ "$(grep -c 'Key Compromise' "$W/crl.txt")" -ge 3 ] && ok "$KT: the CRL gives all three keyCompromise" || fail "$KT: CRL reasons of the key's certificates"
	openssl verify -crl_check -CAfile "$W/root.pem" -CRLfile "$W/crl.pem" "$W/srv.pem" >/dev/null 2>&1 && ok "$KT: -crl_check accepts the others" || fail "$KT: -crl_check others"
	n1=$(openssl crl -in "$W/crl.pem" -noout -crlnumber | cut -d= -f2 | sed 's/^0x//')
	"$MICA" -d "$D" crl --out "$W/crl2.der" 2>/dev/null
	n2=$(openssl crl -inform DER -in "$W/crl2.der" -noout -crlnumber | cut -d= -f2 | sed 's/^0x//')
	[ $((16#$n2)) -gt $((16#$n1)) ] && ok "$KT: CRL number increases ($n1 -> $n2)" || fail "$KT: CRL number $n1 -> $n2"

	# Hold and release.
	hserial=$(openssl x509 -in "$W/cod.pem" -noout -serial | cut -d= -f2 | sed 's/^0x//')
	check "$KT: revoke certificateHold" "$MICA" -d "$D" revoke "$hserial" --reason certificateHold
	expect_rc "$KT: unrevoke a keyCompromise is a conflict" 6 "$MICA" -d "$D" unrevoke "$rserial"
	check "$KT: unrevoke the hold" "$MICA" -d "$D" unrevoke "$hserial"
	# It names the CRL that says so, as revoke does: the store's newest.
	unum=$(sed -n "s/^released $hserial from hold; CRL \([0-9]*\) published\$/\1/p" "$TMP/check.out")
	is "$KT: ... naming the CRL it published" "${unum:-none}" \
		"$(sqlite3 "$D/mica.db" 'SELECT max(number) FROM crl WHERE delta_base = 0')"
	refused "$KT: renewing a key-compromised certificate with its old key" 4 "$MICA" -d "$D" renew "$rserial"
	refused "$KT: ... even with --force" 4 "$MICA" -d "$D" renew "$rserial" --force
	csr kcnew ec-p256 /CN=kcnew "DNS:phone.contoso.test"
	refused "$KT: renewing it with a new key, not forced: a conflict" 6 "$MICA" -d "$D" renew "$rserial" --csr "$W/kcnew.csr"
	expect_rc "$KT: ... forced: renewed with the new key" 0 "$MICA" -d "$D" renew "$rserial" --csr "$W/kcnew.csr" --force --out "$W/kcnew.pem"
	grep -q "^warning: renewing certificate $rserial, revoked on .* (keyCompromise), as --force asked" "$TMP/rc.err" &&
		ok "$KT: ... saying what it renewed" || fail "$KT: ... stderr: $(cat "$TMP/rc.err")"
	"$MICA" -d "$D" crl --pem > "$W/crl3.pem" 2>/dev/null
	openssl verify -crl_check -CAfile "$W/root.pem" -CRLfile "$W/crl3.pem" "$W/cod.pem" >/dev/null 2>&1 && ok "$KT: released certificate verifies again" || fail "$KT: unrevoke not reflected in CRL"
	# A CRL just published is valid for a relying party whose clock runs
	# two minutes behind (OpenSSL allows no leeway for thisUpdate).
	openssl verify -attime "$(($(date +%s) - 120))" -crl_check -CAfile "$W/root.pem" -CRLfile "$W/crl3.pem" \
		"$W/cod.pem" > "$W/crl3.v" 2>&1 && ok "$KT: ... and for a client whose clock is two minutes behind" ||
		fail "$KT: a fresh CRL at a clock two minutes behind: $(tail -2 "$W/crl3.v" | tr '\n' ' ')"

	# Renewal: same key, new key, supersede.
	sserial=$(openssl x509 -in "$W/srv.pem" -noout -serial | cut -d= -f2 | sed 's/^0x//')
	check "$KT: renew reusing the key" "$MICA" -d "$D" renew "$sserial" --out "$W/srv2.pem"
	[ "$(openssl x509 -in "$W/srv2.pem" -noout -pubkey)" = "$(openssl x509 -in "$W/srv.pem" -noout -pubkey)" ] && ok "$KT: renewal keeps the key" || fail "$KT: renewal key"
	[ "$(openssl x509 -in "$W/srv2.pem" -noout -ext subjectAltName)" = "$(openssl x509 -in "$W/srv.pem" -noout -ext subjectAltName)" ] && ok "$KT: renewal keeps the names" || fail "$KT: renewal names"
	nserial=$(openssl x509 -in "$W/srv2.pem" -noout -serial | cut -d= -f2 | sed 's/^0x//')
	"$MICA" -d "$D" show "$sserial" | grep -qi "Renewed by:  $nserial" && ok "$KT: old links to the renewal" || fail "$KT: renewed_by link"
	"$MICA" -d "$D" show "$nserial" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["renewal_of"].lower()==sys.argv[1].lower() else 1)' "$sserial" && ok "$KT: renewal links to the old" || fail "$KT: renewal_of link"
	csr srvnew "$KT" /CN=mail.contoso.test "DNS:mail.contoso.test"
	check "$KT: renew with a new key and --supersede" "$MICA" -d "$D" renew "$nserial" --csr "$W/srvnew.csr" --supersede --out "$W/srv3.pem"
	"$MICA" -d "$D" show "$nserial" --json | grep -q '"revocation_reason": "superseded"' && ok "$KT: superseded certificate revoked" || fail "$KT: supersede"
	"$MICA" -d "$D" crl --pem > "$W/crl4.pem" 2>/dev/null
	openssl crl -in "$W/crl4.pem" -noout -text | grep -q Superseded && ok "$KT: CRL says superseded" || fail "$KT: CRL superseded"
	# srv was renewed by srv2, itself revoked as superseded by srv3: srv
	# is renewed through it, and nobody has to renew it.
	renewed_of() { "$MICA" -d "$D" show "$1" --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["renewed"]))'; }
	is "$KT: renewed through a superseded renewal" "$(renewed_of "$sserial")" true
	is "$KT: ... as is that renewal" "$(renewed_of "$nserial")" true
	"$MICA" -d "$D" list --expiring-days 3650 --json | grep -qi "\"$sserial\"" &&
		fail "$KT: --expiring-days lists a certificate renewed through a chain" ||
		ok "$KT: ... and --expiring-days leaves it out"

	# Listing.
	"$MICA" -d "$D" list --json > "$W/list.json"
	python3 - "$W/list.json" <<'PY' && ok "$KT: list --json is valid JSON with statuses" || fail "$KT: list --json"
import json, sys
rows = json.load(open(sys.argv[1]))
st = {r["status"] for r in rows}
assert "valid" in st and "revoked" in st, st
assert all(r["serial"] and r["names"] for r in rows)
PY
	nrev=$("$MICA" -d "$D" list --status revoked --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	# cli's (keyCompromise) with its key's two others, and the superseded.
	[ "$nrev" = 4 ] && ok "$KT: list --status revoked" || fail "$KT: list --status revoked gave $nrev"
	"$MICA" -d "$D" list --expiring-days 400 --json | python3 -c 'import json,sys; r=json.load(sys.stdin); sys.exit(0 if r and all(x["status"]=="valid" for x in r) else 1)' && ok "$KT: list --expiring-days" || fail "$KT: list --expiring-days"
	"$MICA" -d "$D" audit | grep -q 'cert.revoke' && ok "$KT: audit records revocations" || fail "$KT: audit"
	# A renewal revoked with nothing after it: the certificate it renewed
	# is to renew again, and 'show' says the renewal is gone.
	check "$KT: renew srv3 once more" "$MICA" -d "$D" renew \
		"$(openssl x509 -in "$W/srv3.pem" -noout -serial | cut -d= -f2 | sed 's/^0x//')" --out "$W/srv4.pem"
	s4serial=$(openssl x509 -in "$W/srv4.pem" -noout -serial | cut -d= -f2 | sed 's/^0x//')
	check "$KT: revoke that renewal" "$MICA" -d "$D" revoke "$s4serial" --reason cessationOfOperation
	s3serial=$(openssl x509 -in "$W/srv3.pem" -noout -serial | cut -d= -f2 | sed 's/^0x//')
	is "$KT: a renewal revoked: not renewed" "$(renewed_of "$s3serial")" false
	"$MICA" -d "$D" show "$s3serial" | grep -qi "^Renewed by:  $s4serial (no longer valid)$" &&
		ok "$KT: ... and show says the renewal is no longer valid" ||
		fail "$KT: show: $("$MICA" -d "$D" show "$s3serial" | grep 'Renewed by')"
	"$MICA" -d "$D" list --expiring-days 3650 --json | grep -qi "\"$s3serial\"" &&
		ok "$KT: ... and it is expiring again" || fail "$KT: --expiring-days lacks it"

	# A real TLS handshake: s_server with an issued certificate, curl trusting the root.
	cat "$W/srv3.pem" > "$W/chain.pem"
	# (Ready once it prints ACCEPT, not once something answers on the
	# port: that could be another program's server.)
	s_server_start "$W/s_server.out" -cert "$W/srv3.pem" -key "$W/srvnew.key" -www ||
		fail "$KT: openssl s_server did not start: $(head -3 "$W/s_server.out")"
	port=$S_SERVER_PORT
	if curl -sS --cacert "$W/root.pem" --resolve "mail.contoso.test:$port:127.0.0.1" "https://mail.contoso.test:$port/" -o /dev/null 2>"$W/curl.err"; then
		ok "$KT: curl completes a TLS handshake with s_server"
	else fail "$KT: TLS handshake: $(cat "$W/curl.err")"; fi
	s_server_stop

	# RSASSA-PSS requests (what certreq makes with AlternateSignatureAlgorithm):
	# OpenSSL's default salt (as long as it can be) with SHA-256, and SHA-512
	# with a 64-octet salt; the certificates judged by OpenSSL and certtool.
	for v in "sha256 max" "sha512 64"; do
		read -r ph psalt <<< "$v"
		openssl req -new -newkey rsa:2048 -nodes -keyout "$W/pss-$ph.key" -subj "/CN=pss-$ph.contoso.test" \
			-addext "subjectAltName=DNS:pss-$ph.contoso.test" -sigopt rsa_padding_mode:pss \
			-sigopt "rsa_pss_saltlen:$psalt" -sigopt "rsa_mgf1_md:$ph" -"$ph" -out "$W/pss-$ph.csr" 2>/dev/null ||
			die "openssl req (PSS, $ph)"
		openssl req -in "$W/pss-$ph.csr" -noout -text | grep -q "Signature Algorithm: rsassaPss" || die "pss-$ph.csr is not PSS"
		check "$KT: a CSR signed with RSASSA-PSS ($ph, salt $psalt)" \
			"$MICA" -d "$D" issue --csr "$W/pss-$ph.csr" --out "$W/pss-$ph.pem"
		openssl verify -x509_strict -CAfile "$W/root.pem" "$W/pss-$ph.pem" >/dev/null 2>&1 &&
			ok "$KT: ... openssl verifies its certificate" || fail "$KT: openssl verify pss-$ph.pem"
		certtool --verify --load-ca-certificate "$W/root.pem" --infile "$W/pss-$ph.pem" 2>&1 | grep -q "Chain verification output: Verified" &&
			ok "$KT: ... and certtool" || fail "$KT: certtool verify pss-$ph.pem"
	done
	openssl req -in "$W/pss-sha256.csr" -outform DER -out "$W/pss.der" 2>/dev/null || die "openssl req -outform DER"
	python3 -c "import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[-10] ^= 0x55
open(sys.argv[2], 'wb').write(b)" "$W/pss.der" "$W/pss-broken.der" || die "python3"
	refused "$KT: RSASSA-PSS CSR with a broken signature" 3 "$MICA" -d "$D" issue --csr "$W/pss-broken.der"
	openssl req -new -key "$W/pss-sha256.key" -subj /CN=pss1.contoso.test -sigopt rsa_padding_mode:pss \
		-sha1 -out "$W/pss-sha1.csr" 2>/dev/null || die "openssl req (PSS, SHA-1)"
	refused "$KT: RSASSA-PSS CSR over SHA-1 (the PSS defaults), by policy" 4 "$MICA" -d "$D" issue --csr "$W/pss-sha1.csr"

	# Refused input: distinct exit code, one line, database unchanged.
	# (A byte of the signature flipped, not overwritten: a byte that
	# already held the value written would break nothing, 1 run in 256.)
	python3 -c "import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[-10] ^= 0x55
open(sys.argv[2], 'wb').write(b)" "$W/fmt.der" "$W/broken.der" || die "python3"
	refused "$KT: CSR with a broken signature" 3 "$MICA" -d "$D" issue --csr "$W/broken.der"
	csr weak rsa-1024 /CN=weak.contoso.test "DNS:weak.contoso.test"
	refused "$KT: RSA-1024 key" 4 "$MICA" -d "$D" issue --csr "$W/weak.csr"
	csr p521 ec-p521 /CN=p521.contoso.test "DNS:p521.contoso.test"
	refused "$KT: unsupported curve P-521" 4 "$MICA" -d "$D" issue --csr "$W/p521.csr"
	csr out ec-p256 /CN=www.fabrikam.test "DNS:www.fabrikam.test"
	refused "$KT: name outside the allowed domains" 4 "$MICA" -d "$D" issue --csr "$W/out.csr"
	csr evil2 ec-p256 /CN=evilcontoso.test "DNS:evilcontoso.test"
	refused "$KT: evilcontoso.test is not under contoso.test" 4 "$MICA" -d "$D" issue --csr "$W/evil2.csr"
	# A CN meant as a host name but not a valid one, and no SAN: the
	# error says what is wrong with the CN, not only that nothing is named.
	csr uscore ec-p256 /CN=bad_name.contoso.test
	refused "$KT: a CN with an underscore and no SAN" 4 "$MICA" -d "$D" issue --csr "$W/uscore.csr"
	grep -qF 'its CN is not a valid host name (invalid name "bad_name.contoso.test": underscores' "$TMP/ref.err" &&
		ok "$KT: ... saying why the CN is no name" || fail "$KT: message: $(cat "$TMP/ref.err")"
	csr zone ec-p256 "/CN=fe80::1%eth0"
	refused "$KT: a CN that is an address with a zone, and no SAN" 4 "$MICA" -d "$D" issue --csr "$W/zone.csr"
	grep -qF 'its CN is not a valid IP address (invalid name "fe80::1%eth0": not an IPv4 or IPv6 address)' "$TMP/ref.err" &&
		ok "$KT: ... saying the CN is no address" || fail "$KT: message: $(cat "$TMP/ref.err")"
	# Names no relying party should meet, refused with the label named: a
	# label RFC 5890 reserves, and A-labels IDNA2008 disallows (a snowman;
	# "a" and U+2488, drawn "a1." to fake a dot; a lone zero width
	# joiner; a combining mark first). A real IDN is issued.
	for v in 'ab--cd|the label "ab--cd" has "--" in its third and fourth places' \
		 'xn--n3h|the label "xn--n3h" holds U+2603, a symbol' \
		 'xn--a-ecp|the label "xn--a-ecp" holds U+2488, a symbol' \
		 'xn--1ug|the label "xn--1ug" holds U+200D, a zero width joiner' \
		 'xn--3hb|the label "xn--3hb" begins with U+065B, a combining mark'; do
		lab=${v%%|*}
		csr "idn-$lab" ec-p256 "/CN=$lab.contoso.test" "DNS:$lab.contoso.test"
		refused "$KT: a CSR naming $lab.contoso.test" 4 "$MICA" -d "$D" issue --csr "$W/idn-$lab.csr"
		grep -qF "invalid name \"$lab.contoso.test\": ${v#*|}" "$TMP/ref.err" &&
			ok "$KT: ... saying which label and why" || fail "$KT: message: $(cat "$TMP/ref.err")"
	done
	csr idn ec-p256 /CN=xn--bcher-kva.contoso.test "DNS:xn--bcher-kva.contoso.test,DNS:xn--r8jz45g.contoso.test"
	check "$KT: a CSR naming IDNs (xn--bcher-kva, xn--r8jz45g) is issued" \
		"$MICA" -d "$D" issue --csr "$W/idn.csr" --out "$W/idn.pem"
	openssl x509 -in "$W/idn.pem" -noout -ext subjectAltName 2>/dev/null |
		grep -qF 'DNS:xn--bcher-kva.contoso.test, DNS:xn--r8jz45g.contoso.test' &&
		ok "$KT: ... with both names" || fail "$KT: IDN SAN: $(openssl x509 -in "$W/idn.pem" -noout -ext subjectAltName 2>&1)"
	head -c 600 /dev/urandom > "$W/garbage"
	refused "$KT: garbage file" 3 "$MICA" -d "$D" issue --csr "$W/garbage"
	refused "$KT: private key passed as a CSR" 3 "$MICA" -d "$D" issue --csr "$W/srv.key"
	keyline=$(sed -n 2p "$W/srv.key")
	grep -qF "$keyline" "$TMP/ref.err" "$TMP/ref.out" && fail "$KT: the private key was echoed" || ok "$KT: the private key is never echoed"
	sqlite3 "$D/mica.db" .dump | grep -qF "${keyline:0:40}" && fail "$KT: private key stored" || ok "$KT: private key not stored"
	refused "$KT: unknown serial" 5 "$MICA" -d "$D" revoke 0123456789abcdef --reason keyCompromise
	refused "$KT: non-hex serial" 3 "$MICA" -d "$D" revoke zz:top
	refused "$KT: unknown profile" 3 "$MICA" -d "$D" issue --csr "$W/fmt.csr" --profile nosuch
	refused "$KT: email name in a server certificate" 4 "$MICA" -d "$D" issue --csr "$W/eml.csr" --profile server
	printf 'wrong passphrase\n' > "$W/wrongpass"; chmod 600 "$W/wrongpass"
	refused "$KT: wrong passphrase" 7 "$MICA" -d "$D" issue --csr "$W/fmt.csr" --passphrase-file "$W/wrongpass"
	chmod 644 "$W/wrongpass"
	refused "$KT: world-readable passphrase file" 9 "$MICA" -d "$D" issue --csr "$W/fmt.csr" --passphrase-file "$W/wrongpass"
	grep -qF "run chmod 600 $W/wrongpass" "$TMP/ref.err" &&
		ok "$KT: ... naming the file in the chmod to run" || fail "$KT: message: $(cat "$TMP/ref.err")"
	refused "$KT: a missing passphrase file" 3 "$MICA" -d "$D" issue --csr "$W/fmt.csr" --passphrase-file "$W/nosuchpass"
	grep -qF "$W/nosuchpass" "$TMP/ref.err" && ok "$KT: ... naming it" || fail "$KT: message: $(cat "$TMP/ref.err")"
	chmod 640 "$D/mica.db"
	refused "$KT: a database readable by the group" 9 "$MICA" -d "$D" list
	grep -qF "run chmod 600 $D/mica.db" "$TMP/ref.err" &&
		ok "$KT: ... naming the file in the chmod to run" || fail "$KT: message: $(cat "$TMP/ref.err")"
	chmod 600 "$D/mica.db"
	refused "$KT: usage error" 2 "$MICA" -d "$D" issue --bogus

	# Backup and restore keep the root, certificates and CRL numbering.
	check "$KT: backup" "$MICA" -d "$D" backup "$W/backup.db"
	[ "$(stat -c %a "$W/backup.db")" = 600 ] && ok "$KT: backup is 0600" || fail "$KT: backup mode"
	check "$KT: restore into an empty directory" "$MICA" -d "$W/restored" restore "$W/backup.db"
	[ -f "$D/passphrase" ] && cp "$D/passphrase" "$W/restored/passphrase"
	"$MICA" -d "$W/restored" export-root --der | cmp -s - "$W/root.der" && ok "$KT: restored CA serves the same root" || fail "$KT: restored root differs"
	[ "$("$MICA" -d "$W/restored" list --json --limit 1000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = \
	  "$("$MICA" -d "$D" list --json --limit 1000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" ] && ok "$KT: restored CA knows every certificate" || fail "$KT: restored list"
	"$MICA" -d "$W/restored" crl --out "$W/crl5.der" 2>/dev/null
	n5=$(openssl crl -inform DER -in "$W/crl5.der" -noout -crlnumber | cut -d= -f2 | sed 's/^0x//')
	n4=$(openssl crl -in "$W/crl4.pem" -noout -crlnumber | cut -d= -f2 | sed 's/^0x//')
	[ $((16#$n5)) -gt $((16#$n4)) ] && ok "$KT: restored CA continues CRL numbering" || fail "$KT: CRL numbering after restore"
	openssl crl -inform DER -in "$W/crl5.der" -noout -text | grep -qi "$rserial" && ok "$KT: restored CA keeps revocations" || fail "$KT: revocations after restore"
	expect_rc "$KT: restore refuses a directory with a CA" 6 "$MICA" -d "$D" restore "$W/backup.db"

	# Passphrase change: the new one works, the old one no longer does.
	printf 'a brand new passphrase for %s\n' "$KT" > "$W/newpass"; chmod 600 "$W/newpass"
	if [ -f "$D/passphrase" ]; then cp "$D/passphrase" "$W/oldpass"; else printf '%s\n' "$MICA_PASSPHRASE" > "$W/oldpass"; fi
	chmod 600 "$W/oldpass"
	check "$KT: passphrase change" "$MICA" -d "$D" passphrase --passphrase-file "$W/oldpass" --new-file "$W/newpass"
	check "$KT: the new passphrase unlocks" "$MICA" -d "$D" crl --passphrase-file "$W/newpass"
	refused "$KT: the old passphrase no longer unlocks" 7 "$MICA" -d "$D" crl --passphrase-file "$W/oldpass"
}

run_ca ec-p256
run_ca rsa-2048

# Help and usage.
"$MICA" --help | grep -q 'Usage: mica' && ok "mica --help" || fail "mica --help"
for c in init issue renew revoke unrevoke crl list show export-root request token profile domain audit backup restore passphrase serve; do
	"$MICA" "$c" --help 2>/dev/null | grep -q "Usage: mica" && ok "mica $c --help" || fail "mica $c --help"
done
expect_rc "unknown command exits 2" 2 "$MICA" frobnicate
is "... with one line naming it" "$(cat "$TMP/rc.err")" "mica: unknown command 'frobnicate' (see 'mica --help')"
expect_rc "'mica help' of an unknown command exits 2 too" 2 "$MICA" help frobnicate
is "... with one line naming it" "$(cat "$TMP/rc.err")" "mica help: unknown command 'frobnicate' (see 'mica --help')"
expect_rc "no CA: exit 5" 5 "$MICA" -d "$TMP/none" list
# A refused init changes nothing: no empty data directory is left behind
# (one the user made stays).
printf 'short\n' > "$TMP/short.pass"; chmod 600 "$TMP/short.pass"
expect_rc "init with a short passphrase: exit 4" 4 "$MICA" -d "$TMP/refused" init --name R \
	--public-url http://ca.contoso.test --passphrase-file "$TMP/short.pass"
[ ! -e "$TMP/refused" ] && ok "... and leaves no data directory behind" || fail "init left $TMP/refused behind"
expect_rc "init with a missing passphrase file: exit 3" 3 "$MICA" -d "$TMP/refused" init --name R \
	--public-url http://ca.contoso.test --passphrase-file "$TMP/no-such-pass"
[ ! -e "$TMP/refused" ] && ok "... and leaves no data directory behind" || fail "init left $TMP/refused behind"
mkdir -m 700 "$TMP/premade"
expect_rc "init refused in a directory made beforehand" 4 "$MICA" -d "$TMP/premade" init --name R \
	--public-url http://ca.contoso.test --passphrase-file "$TMP/short.pass"
[ -d "$TMP/premade" ] && ok "... keeps that directory" || fail "init removed a directory it did not make"
# A public URL a client would rewrite ("/../y" is fetched as "/y", RFC
# 3986 5.2.4) or that has no plain host would put unreachable CDP and AIA
# URLs into every certificate: refused (it was taken).
for u in 'http://ca.contoso.test/../pki' 'http://ca.contoso.test/./pki' 'http://ca.contoso.test//pki' \
	'http://admin@ca.contoso.test' 'http://ca.contoso.test/pki?x=1' 'http://:8080' \
	'http://ca.contoso.test:' 'http://ca.contoso.test:99999' 'http://[::1' 'http://ca.contoso.test/%2E%2e/pki'; do
	expect_rc "init --public-url $u: exit 2" 2 "$MICA" -d "$TMP/refused" init --name R --public-url "$u"
done
[ ! -e "$TMP/refused" ] && ok "... and leaves no data directory behind" || fail "init left $TMP/refused behind"
# Accepted but warned of, since every certificate names it for the CA's
# life: an address only this machine reaches, and https://.
for u in http://127.0.0.1:8080 'http://[::1]' http://localhost. https://ca.contoso.test; do
	rm -rf "$TMP/warned"
	"$MICA" -d "$TMP/warned" init --name R --public-url "$u" >/dev/null 2>"$TMP/warned.err"
	case $u in https*) want="relying parties expect http://" ;; *) want="an address only this machine reaches" ;; esac
	grep -qF "warning: certificates will point to $u for" "$TMP/warned.err" && grep -qF "$want" "$TMP/warned.err" &&
		[ -f "$TMP/warned/mica.db" ] && ok "init --public-url $u: made, with a warning" ||
		fail "init --public-url $u: $(cat "$TMP/warned.err")"
done
rm -rf "$TMP/warned"
"$MICA" -d "$TMP/warned" init --name R --public-url http://127.ca.contoso.test >/dev/null 2>"$TMP/warned.err"
[ ! -s "$TMP/warned.err" ] && ok "init --public-url of a name: no warning" || fail "init warned: $(cat "$TMP/warned.err")"
# A data directory whose name holds an escape sequence: init's lines show
# it as \xNN, never as it is to the terminal.
ESCDIR="$TMP/esc"$'\x1b'"]0;pwned"$'\x07'"dir"
env -u MICA_PASSPHRASE "$MICA" -d "$ESCDIR" init --name R --public-url http://ca.contoso.test \
	>"$TMP/esc.out" 2>&1 || fail "init in $ESCDIR: $(cat -v "$TMP/esc.out")"
if LC_ALL=C grep -q $'[\x1b\x07]' "$TMP/esc.out"; then
	fail "init printed the directory's escape as it is: $(cat -v "$TMP/esc.out")"
else
	ok "init shows a data directory's escape sequence as \\xNN"
fi
grep -qF 'esc\x1b]0;pwned\x07dir/passphrase (mode 0600)' "$TMP/esc.out" &&
	ok "... in the passphrase line too" || fail "init: $(cat -v "$TMP/esc.out")"

# A TLS server profile longer than Apple's platforms take (825 days) is
# set, with a warning; at 825 none.
expect_rc "profile set server --max-days 826: made" 0 "$MICA" -d "$TMP/warned" profile set server --default-days 365 --max-days 826
grep -q "^warning: iOS, iPadOS and macOS refuse a TLS server certificate valid more than 825 days" "$TMP/rc.err" &&
	ok "... with a warning that Apple's devices refuse it" || fail "profile set 826: $(cat "$TMP/rc.err")"
expect_rc "profile set server --max-days 825: made" 0 "$MICA" -d "$TMP/warned" profile set server --default-days 365 --max-days 825
[ ! -s "$TMP/rc.err" ] && ok "... without a warning" || fail "profile set 825 warned: $(cat "$TMP/rc.err")"
expect_rc "profile set email --max-days 3650: made" 0 "$MICA" -d "$TMP/warned" profile set email --default-days 365 --max-days 3650
[ ! -s "$TMP/rc.err" ] && ok "... without a warning (no serverAuth)" || fail "profile set email warned: $(cat "$TMP/rc.err")"
# Outlook's old S/MIME request (and openssl req's prompts): the address
# only as the subject's emailAddress. It is the certificate's name, in the
# subjectAltName (RFC 5280 4.1.2.6), and the certificate signs mail.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/smime.key" \
	-subj "/CN=Alice/emailAddress=Alice@Contoso.TEST" -out "$TMP/smime.csr" 2>/dev/null || die "openssl req smime"
expect_rc "an S/MIME CSR with its address only in the subject: issued" 0 \
	"$MICA" -d "$TMP/warned" issue --profile email --csr "$TMP/smime.csr" --out "$TMP/smime.pem"
openssl x509 -in "$TMP/smime.pem" -noout -ext subjectAltName 2>/dev/null | grep -qx " *email:Alice@contoso.test" &&
	ok "... its address in the subjectAltName, the domain lowercased" ||
	fail "smime SAN: $(openssl x509 -in "$TMP/smime.pem" -noout -ext subjectAltName 2>&1)"
"$MICA" -d "$TMP/warned" export-root --pem --out "$TMP/warned-root.pem" 2>/dev/null || die "export-root warned"
printf 'Subject: test\r\n\r\nsigned\r\n' > "$TMP/smime.msg"
if openssl cms -sign -in "$TMP/smime.msg" -signer "$TMP/smime.pem" -inkey "$TMP/smime.key" \
	-out "$TMP/smime.eml" 2>"$TMP/cms.err" &&
   openssl cms -verify -in "$TMP/smime.eml" -CAfile "$TMP/warned-root.pem" -purpose smimesign \
	-out /dev/null 2>>"$TMP/cms.err"; then
	ok "... and openssl cms signs with it, verified for S/MIME"
else
	fail "smime cms: $(cat "$TMP/cms.err")"
fi
# A subject with no address and a CN that is no name: refused, saying
# where names go.
openssl req -new -key "$TMP/smime.key" -subj "/CN=Alice/O=Contoso" -out "$TMP/noname.csr" 2>/dev/null ||
	die "openssl req noname"
expect_rc "a CSR naming nothing: exit 4" 4 \
	"$MICA" -d "$TMP/warned" issue --profile email --csr "$TMP/noname.csr"
grep -q "add a subjectAltName with .*e-mail addresses.*else the subject's emailAddress" "$TMP/rc.err" &&
	ok "... saying where the names go" || fail "noname message: $(cat "$TMP/rc.err")"
# An emailAddress that is no address, where it would be the name: said so.
openssl req -new -key "$TMP/smime.key" -subj "/CN=Alice/emailAddress=alice.contoso.test" \
	-out "$TMP/badmail.csr" 2>/dev/null || die "openssl req badmail"
expect_rc "a subject emailAddress that is no address: exit 4" 4 \
	"$MICA" -d "$TMP/warned" issue --profile email --csr "$TMP/badmail.csr"
grep -q "subject has an emailAddress that is no valid e-mail address" "$TMP/rc.err" &&
	ok "... said of the subject's emailAddress" || fail "badmail message: $(cat "$TMP/rc.err")"
# ... but the CSR itself is sound: an admin's names issue it.
expect_rc "... issued with an admin's --name all the same" 0 \
	"$MICA" -d "$TMP/warned" issue --profile email --csr "$TMP/badmail.csr" --name alice@contoso.test

# The data directory before or after the command.
echo "# -d DIR before or after the command"
W=$(mktmp)
D=$W/data
export MICA_PASSPHRASE="data dir placement"
csr dd ec-p256 /CN=dd.contoso.test "DNS:dd.contoso.test"
check "init -d DIR (after the command)" \
	"$MICA" init -d "$D" --name "Placement CA" --domain contoso.test --public-url http://ca.contoso.test
[ -f "$D/mica.db" ] && ok "... creates the CA in DIR" || fail "no CA in $D"
grep -q "No allowed domains" "$TMP/check.out" && fail "... yet says it has no allowed domains" ||
	ok "... and, with --domain, says nothing of domains"
grep -q "schema migration" "$TMP/check.out" && fail "... yet lists the migrations of a new store" ||
	ok "... and lists no schema migrations for a store it just made"
"$MICA" -d "$W/nodom" init --name "No Domain CA" --public-url http://ca.contoso.test >"$W/nodom.out" 2>&1
grep -q "No allowed domains (--domain).*" "$W/nodom.out" && grep -q "domain add DOMAIN" "$W/nodom.out" &&
	ok "init without --domain says what that means and how to add one" || fail "init without --domain: $(cat "$W/nodom.out")"
check "issue -d DIR --csr ... (after the command)" "$MICA" issue -d "$D" --csr "$W/dd.csr" --out "$W/dd1.pem"
check "issue --csr ... -d DIR (at the end)" "$MICA" issue --csr "$W/dd.csr" --out "$W/dd2.pem" -d "$D"
check "issue --data-dir DIR" "$MICA" issue --data-dir "$D" --csr "$W/dd.csr" --out "$W/dd3.pem"
check "issue --data-dir=DIR" "$MICA" issue --data-dir="$D" --csr "$W/dd.csr" --out "$W/dd4.pem"
is "the four certificates are in that CA" \
	"$("$MICA" list -d "$D" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 4
# One data directory: two (before and after the command, or twice on one
# side) are a usage error, not "the last one wins" on some other CA.
expect_rc "-d before and -d after the command: a usage error" 2 "$MICA" -d "$TMP/none" list -d "$D"
grep -qF "list: -d/--data-dir given twice" "$TMP/rc.err" && ok "... saying -d was given twice" ||
	fail "... it said: $(cat "$TMP/rc.err")"
expect_rc "-d twice before the command: a usage error" 2 "$MICA" -d "$D" --data-dir="$D" list
grep -qF "mica: -d/--data-dir given twice" "$TMP/rc.err" && ok "... saying so" ||
	fail "... it said: $(cat "$TMP/rc.err")"
expect_rc "-d twice after the command: a usage error" 2 "$MICA" list -d "$D" --data-dir "$D"
# A listing cut by --limit says so on stderr, and only then.
"$MICA" -d "$D" list --limit 3 >/dev/null 2>"$W/cut.err"
grep -q "more certificates match than the 3 shown" "$W/cut.err" &&
	ok "list --limit 3 of 4: stderr says more match" || fail "list --limit 3 of 4: stderr '$(cat "$W/cut.err")'"
"$MICA" -d "$D" list --limit 4 --json >/dev/null 2>"$W/whole.err"
[ ! -s "$W/whole.err" ] && ok "list --limit 4 of 4: no note" || fail "list --limit 4 of 4: stderr '$(cat "$W/whole.err")'"
is "list --status all (as the API's status=all) lists the four" \
	"$("$MICA" list -d "$D" --status all --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 4
# An empty --name is a mistake (an unset shell variable), not "no filter".
"$MICA" -d "$D" list --name "" >"$W/noname.out" 2>"$W/noname.err"; rc=$?
[ "$rc" = 2 ] && [ ! -s "$W/noname.out" ] && grep -q -- "--name needs a name" "$W/noname.err" &&
	ok "list --name '': exit 2, nothing listed" || fail "list --name '': rc $rc, stderr '$(cat "$W/noname.err")'"
expect_rc "-d without a directory after the command exits 2" 2 "$MICA" list -d
expect_rc "--data-dir= without a directory exits 2" 2 "$MICA" list --data-dir=
expect_rc "an operand after -- is not taken as the data directory" 2 "$MICA" list -- -d "$D"

# The key's PBKDF2 iteration count. A test build (--enable-test-kdf, as
# scripts/test makes) honours MICA_TEST_INSECURE_KDF_ITER, which lib.sh
# sets; without it, and in any other build, keys are sealed and opened
# only with at least 600,000 iterations.
echo "# PBKDF2 iterations of the sealed key"
iter_of() { sqlite3 "$1/mica.db" 'SELECT key_iter FROM ca'; }
W=$(mktmp)
env -u MICA_TEST_INSECURE_KDF_ITER "$MICA" -d "$W/real" init --name "Real KDF" \
	--domain contoso.test --public-url http://ca.contoso.test >/dev/null 2>&1
is "without MICA_TEST_INSECURE_KDF_ITER the key is sealed with 600,000 iterations" "$(iter_of "$W/real")" 600000
check "... and opens without it" env -u MICA_TEST_INSECURE_KDF_ITER "$MICA" -d "$W/real" crl
if "$MICA" --version | grep -q "test build"; then
	MICA_TEST_INSECURE_KDF_ITER=1000 "$MICA" -d "$W/fast" init --name "Fast KDF" \
		--domain contoso.test --public-url http://ca.contoso.test >/dev/null 2>&1
	is "test build: MICA_TEST_INSECURE_KDF_ITER=1000 seals with 1,000" "$(iter_of "$W/fast")" 1000
	check "... which opens with the variable set" env MICA_TEST_INSECURE_KDF_ITER=1000 "$MICA" -d "$W/fast" crl
	expect_rc "... and is refused without it, as a production build refuses it" 3 \
		env -u MICA_TEST_INSECURE_KDF_ITER "$MICA" -d "$W/fast" crl
	grep -q "iteration count" "$TMP/rc.err" && ok "... saying why: $(cat "$TMP/rc.err")" ||
		fail "no reason given: $(cat "$TMP/rc.err")"
	expect_rc "test build: a count below 1,000 is refused" 3 \
		env MICA_TEST_INSECURE_KDF_ITER=999 "$MICA" -d "$W/low" init --name Low \
		--domain contoso.test --public-url http://ca.contoso.test
	expect_rc "test build: a count that is not a number is refused" 3 \
		env MICA_TEST_INSECURE_KDF_ITER=fast "$MICA" -d "$W/real" crl
else
	MICA_TEST_INSECURE_KDF_ITER=1000 "$MICA" -d "$W/fast" init --name "Fast KDF" \
		--domain contoso.test --public-url http://ca.contoso.test >/dev/null 2>&1
	is "production build: MICA_TEST_INSECURE_KDF_ITER is ignored (600,000)" "$(iter_of "$W/fast")" 600000
fi

# ------------------------------------------------------------- --out ---
# --out writes where a shell redirection would: into a FIFO or device, to
# the file a symlink names (the link stays), never over a directory; a
# path that cannot be written is refused before anything is issued, and
# certificates and CRLs are readable by others (0644) whatever the umask.
O=$W/outca
MICA_PASSPHRASE="correct horse battery staple out" "$MICA" -d "$O" init --name "Out Test" \
	--domain contoso.test --public-url http://ca.contoso.test >/dev/null 2>&1 || die "init $O"
csr outc ec-p256 /CN=out.contoso.test "DNS:out.contoso.test"
ncerts() { sqlite3 "$O/mica.db" 'SELECT count(*) FROM certificate'; }
om() { MICA_PASSPHRASE="correct horse battery staple out" "$MICA" -d "$O" "$@"; }
N0=$(ncerts)
mkdir -p "$W/outdir"
expect_rc "--out a directory: a usage error (2)" 2 om issue --csr "$W/outc.csr" --out "$W/outdir"
expect_rc "--out in a missing folder: a usage error (2)" 2 om issue --csr "$W/outc.csr" --out "$W/nope/x.pem"
ln -s "$W/nothing-here/x.pem" "$W/dangling.pem"
expect_rc "--out a symlink to nothing: a usage error (2)" 2 om issue --csr "$W/outc.csr" --out "$W/dangling.pem"
is "and nothing was issued for them" "$(ncerts)" "$N0"
mkfifo "$W/out.fifo"
timeout $((30 * TIME_SCALE)) cat "$W/out.fifo" > "$W/from-fifo.pem" &
FIFO_READER=$!
on_exit_kill "$FIFO_READER"
om export-root --pem --out "$W/out.fifo" 2>/dev/null || fail "export-root into a FIFO"
wait "$FIFO_READER"
on_exit_forget "$FIFO_READER"
check "--out a FIFO: written into it, and it is still a FIFO" \
	sh -c "[ -p '$W/out.fifo' ] && openssl x509 -in '$W/from-fifo.pem' -noout"
: > "$W/real.pem"
ln -s "$W/real.pem" "$W/link.pem"
om export-root --pem --out "$W/link.pem" 2>/dev/null || fail "export-root through a symlink"
check "--out a symlink: the file it names is written, the link kept" \
	sh -c "[ -L '$W/link.pem' ] && openssl x509 -in '$W/real.pem' -noout"
# --out (and --csr-out, --log) never replaces the --passphrase-file given,
# by any name: a certificate written over the only copy of the passphrase
# (off the machine, as the README advises) loses the CA key for good.
PF=$W/ext-pass
printf 'correct horse battery staple out\n' > "$PF"
chmod 600 "$PF"
ln "$PF" "$W/ext-pass-hard"
ln -s "$PF" "$W/ext-pass-soft"
N0=$(ncerts)
for o in "$PF" "$W/ext-pass-hard" "$W/ext-pass-soft"; do
	expect_rc "issue --out the --passphrase-file (${o##*/}): a usage error (2)" 2 \
		"$MICA" -d "$O" issue --csr "$W/outc.csr" --passphrase-file "$PF" --out "$o"
done
grep -q "is one of the CA's own files" "$TMP/rc.err" && ok "... saying so" ||
	fail "--out the passphrase file said: $(cat "$TMP/rc.err")"
expect_rc "crl --out the --passphrase-file: a usage error (2)" 2 \
	"$MICA" -d "$O" crl --passphrase-file "$PF" --out "$PF"
is "... nothing issued, the passphrase file intact" "$(ncerts) $(cat "$PF")" "$N0 correct horse battery staple out"
expect_rc "init --subordinate --csr-out its --passphrase-file: a usage error (2)" 2 \
	"$MICA" -d "$W/sub-pf" init --subordinate --name "PF Issuing" --domain contoso.test \
	--public-url http://ca.contoso.test --passphrase-file "$PF" --csr-out "$PF"
is "... no CA made, the passphrase file intact" "$([ -e "$W/sub-pf/mica.db" ] && echo made) $(cat "$PF")" \
	" correct horse battery staple out"
om issue --csr "$W/outc.csr" --out "$W/out.pem" 2>/dev/null || fail "issue --out"
is "a certificate written by --out is 0644 (the umask is for the store)" "$(stat -c %a "$W/out.pem")" 644
NCRL=$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM crl')
expect_rc "mica crl --key 5 on a CA of one key: not found (5)" 5 om crl --key 5 --out "$W/k5.crl"
is "and no CRL was published for it" "$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM crl')" "$NCRL"
om crl --key 0 --out "$W/k0.crl" 2>/dev/null || fail "mica crl --key 0"
check "mica crl --key 0: the current key's CRL" openssl crl -inform der -in "$W/k0.crl" -noout
# Arguments that would be ignored, or flags that contradict each other,
# are usage errors (2) that change nothing.
NTOK=$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM token')
expect_rc "token create --enroll --admin: a usage error" 2 om token create --enroll --admin
expect_rc "token create --admin --enroll: a usage error" 2 om token create --admin --enroll
expect_rc "token create with a stray argument: a usage error" 2 om token create --admin junk
expect_rc "token list with a stray argument: a usage error" 2 om token list x
# An option of another subcommand is said, not ignored.
expect_rc "token list --uses 5: a usage error" 2 om token list --uses 5
grep -q "are for 'token create'" "$TMP/rc.err" && ok "... naming the subcommand they are for" ||
	fail "... it said: $(cat "$TMP/rc.err")"
expect_rc "token revoke ID --comment x: a usage error" 2 om token revoke 0123456789abcdef --comment x
expect_rc "token create --enroll --json: a usage error" 2 om token create --enroll --json
expect_rc "export-root --der --pem: a usage error (not the last one winning)" 2 om export-root --der --pem
# DER to a terminal (a pty from script(1)): refused, as curl does, before
# anything is done; redirected or with --out, written.
N0=$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM crl')
for cmd in "export-root --der" "export-chain --p7b" "crl --out -" "export-root --der --out /dev/stdout" \
	"export-root --der --out /dev/tty"; do
	script -qec "env MICA_PASSPHRASE='correct horse battery staple out' '$MICA' -d '$O' $cmd" \
		/dev/null >"$W/tty.out" 2>&1
	rc=$?
	if [ $rc = 2 ] && grep -q "the output is binary (DER): not written to a terminal" "$W/tty.out"; then
		ok "$cmd to a terminal: exit 2, saying why"
	else
		fail "$cmd to a terminal: exit $rc: $(head -c 300 "$W/tty.out" | cat -v)"
	fi
done
is "... and no CRL was published by the refused 'crl'" "$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM crl')" "$N0"
om export-root --der > "$W/root-pipe.der" 2>/dev/null &&
	openssl x509 -inform der -in "$W/root-pipe.der" -noout 2>/dev/null &&
	ok "export-root --der to a file: written" || fail "export-root --der redirected"
expect_rc "show SERIAL --pem --json: a usage error" 2 om show 01 --pem --json
expect_rc "request deny ID --status issued: a usage error" 2 om request deny 0123456789abcdef --status issued
expect_rc "request list --reason x: a usage error" 2 om request list --reason x
expect_rc "request show ID --out FILE: a usage error" 2 om request show 0123456789abcdef --out "$W/never.pem"
[ ! -e "$W/never.pem" ] && ok "... writing nothing" || fail "request show wrote --out"
is "no token was made by them" "$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM token')" "$NTOK"
expect_rc "token create --expires 3651d (over ten years): a usage error" 2 om token create --enroll --expires 3651d
expect_rc "token create --expires 3650d: ten years is the most, and allowed" 0 om token create --enroll --expires 3650d
expect_rc "token create --expires 0d: a usage error" 2 om token create --enroll --expires 0d
grep -q "from 1 second to 10 years" "$TMP/rc.err" && ok "... saying the bounds" || fail "... it said: $(cat "$TMP/rc.err")"
# The message says what was made ("--expires 7" is seven seconds, --uses
# defaults to one), in the terms of 'token list --json'.
om token create --enroll --uses 5 --expires 7d >/dev/null 2>"$W/tok.err" || fail "token create --uses 5 --expires 7d"
TID=$(sed -n 's/^created an enrollment token \([0-9a-f]*\) .*/\1/p' "$W/tok.err")
TEXP=$(om token list --json 2>/dev/null | python3 -c 'import json,sys; print([t["expires_at"] for t in json.load(sys.stdin) if t["id"] == sys.argv[1]][0])' "$TID")
grep -qxF "created an enrollment token $TID (5 uses, until $TEXP); it is shown only this once" "$W/tok.err" &&
	ok "token create says how many uses and until when" || fail "token create said: $(cat "$W/tok.err") (expires_at '$TEXP')"
om token create --enroll --expires 7 >/dev/null 2>"$W/tok.err"
grep -q "^created an enrollment token [0-9a-f]* (1 use, until " "$W/tok.err" &&
	ok "... one use by default, and the expiry of '--expires 7' is shown" || fail "token create said: $(cat "$W/tok.err")"
om token create --admin >/dev/null 2>"$W/tok.err"
grep -q "^created an admin token [0-9a-f]* (no expiry); it is shown only this once$" "$W/tok.err" &&
	ok "... an admin token: no expiry" || fail "token create --admin said: $(cat "$W/tok.err")"
# --json lists as the API does: name lists as arrays, a token's status in
# the API's words.
om token create --enroll --name a.contoso.test --name '*.b.contoso.test' >/dev/null 2>"$W/tok.err" || fail "token create --name"
grep -q "^warning:" "$W/tok.err" && fail "a token within the domains warns: $(cat "$W/tok.err")" ||
	ok "token create within the allowed domains: no warning"
om token create --enroll --name c.contoso.test --name 10.1.2.3 --name '*.b.elsewhere.test' >/dev/null 2>"$W/tok.err"
is "token create naming a name outside the allowed domains: made (exit 0)" "$?" 0
grep -q "^warning: \*\.b\.elsewhere\.test is not under any of the CA's allowed domains" "$W/tok.err" &&
	ok "... with a warning naming it" || fail "no warning: $(cat "$W/tok.err")"
om token create --enroll --acme --name x.elsewhere.test >/dev/null 2>"$W/tok.err"
grep -q "^warning: x\.elsewhere\.test is not under" "$W/tok.err" &&
	ok "... an ACME credential too" || fail "no warning for --acme: $(cat "$W/tok.err")"
TID=$(om token list --json 2>/dev/null | python3 -c 'import json,sys; print([t["id"] for t in json.load(sys.stdin) if "a.contoso.test" in str(t["names"])][0])')
# Ids are taken in either case, as serials are ('request show' too).
om token revoke "$(echo "$TID" | tr a-f A-F)" 2>"$W/trev.err" || fail "token revoke of the id in capitals"
grep -q "^revoked token $TID\$" "$W/trev.err" && ok "token revoke of the id in capitals: revoked, named as written" ||
	fail "token revoke said: $(cat "$W/trev.err")"
is "token list --json: names an array, status as the API says it" \
	"$(om token list --json 2>/dev/null | python3 -c 'import json,sys; t=[t for t in json.load(sys.stdin) if t["id"] == sys.argv[1]][0]; print(t["names"], t.get("status"))' "$TID")" \
	"['a.contoso.test', '*.b.contoso.test'] revoked"
NAUD=$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM audit')
expect_rc "token revoke of a revoked token: a conflict (exit 6), as --help says" 6 om token revoke "$TID"
grep -q "^mica: error: token $TID is already revoked\$" "$TMP/rc.err" && ok "... saying it is already revoked" ||
	fail "token revoke again said: $(cat "$TMP/rc.err")"
is "... and audits nothing" "$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM audit')" "$NAUD"
expect_rc "token revoke of an unknown id: not found (exit 5)" 5 om token revoke 0123456789abcdef
grep -q "^mica: error: no such token\$" "$TMP/rc.err" && ok "... saying there is no such token" ||
	fail "token revoke of an unknown id said: $(cat "$TMP/rc.err")"
expect_rc "token revoke of no id: malformed (exit 3)" 3 om token revoke ''
expect_rc "token revoke of a non-hexadecimal id: malformed (exit 3)" 3 om token revoke GG
check "... and says what an id looks like" grep -q "malformed token id" "$TMP/rc.err"
is "request list --json: names an array" \
	"$(om request list --status all --json 2>/dev/null | python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r) > 0 and all(isinstance(x["names"], list) and x["names"] for x in r))')" \
	True
# ... and what was decided, as the API's admin listing: the serial an
# approval issued, who decided, why a request was denied.
om request list --status all --json >"$W/reqs.json" 2>/dev/null
sqlite3 -json "$O/mica.db" 'SELECT id, serial, decided_by, deny_reason FROM request' >"$W/reqs.sql.json"
python3 - "$W/reqs.json" "$W/reqs.sql.json" <<'PY' && ok "request list --json: serial, decided_by and reason as the store has them" || fail "request list --json lacks the decision: $(head -c 300 "$W/reqs.json")"
import json, sys
got = {r["id"]: r for r in json.load(open(sys.argv[1]))}
rows = json.load(open(sys.argv[2]))
assert got and len(rows) == len(got)
for row in rows:
    r = got[row["id"]]
    assert r["serial"] == (row["serial"] or None), r
    assert r["decided_by"] == row["decided_by"], r
    assert "decided_at" in r and "client" in r, r
    if r["status"] == "denied":
        assert r["reason"] == (row["deny_reason"] or None), r
PY
# A request id that cannot be one is malformed input (the API's 400
# bad_id), not "no such request".
for sub in show approve deny; do
	expect_rc "request $sub of a malformed id: exit 3" 3 om request "$sub" zz
done
expect_rc "request show of an id in capitals: an id still (unknown: exit 5)" 5 om request show 0123456789ABCDEF0123456789ABCDEF
expect_rc "request show of an id that is not hexadecimal: exit 3" 3 om request show 0123456789abcdefg
expect_rc "request show of an unknown id: exit 5" 5 om request show 0123456789abcdef0123456789abcdef
# An approval whose answer was lost (killed after its commit) is run
# again: a conflict (6) that names the certificate's serial and how to
# print it, and with --json the request with its serial.
csr pend ec-p256 /CN=pend.contoso.test "DNS:pend.contoso.test"
openssl req -in "$W/pend.csr" -outform der -out "$W/pend.der" 2>/dev/null || die "pend.der"
RID=$(printf '%032x' 0x5eed)
# pending_request ID: a request ID for pend.contoso.test ($W/pend.der)
# waiting in $O's store, as one submitted without a token would.
pending_request() {
	python3 - "$O/mica.db" "$W/pend.der" "$1" <<'PY' || die "a pending request $1 in $O"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
with db:
    db.execute("INSERT INTO request (id, status, profile, csr_der, names, subject, "
               "client, submitted_at) VALUES (?, 0, 'server', ?, 'pend.contoso.test', "
               "'CN=pend.contoso.test', '192.0.2.9', ?)",
               (sys.argv[3], open(sys.argv[2], "rb").read(), int(time.time())))
PY
}
pending_request "$RID"
# What an approver weighs beside the names: the validity and the key.
expect_rc "request show: exit 0" 0 om request show "$RID"
grep -q "^Validity:   [0-9]* days (the server profile's default now)$" "$TMP/rc.out" &&
	grep -q "^Key:        EC P-256$" "$TMP/rc.out" && ok "... shows the validity and the key" ||
	fail "request show: $(cat "$TMP/rc.out")"
expect_rc "request approve --json --out: exit 0" 0 om request approve "$RID" --json --out "$W/pend.pem"
APS=$(sqlite3 "$O/mica.db" "SELECT serial FROM request WHERE id = '$RID'")
is "... --json: the request, issued, with its serial" \
	"$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["id"], r["status"], r["serial"], "certificate" in r)' <"$TMP/rc.out")" \
	"$RID issued $APS False"
check "... the certificate in --out, which openssl verifies" openssl verify \
	-CAfile <(om export-root --pem 2>/dev/null) "$W/pend.pem"
N1=$(ncerts)
expect_rc "request approve of it again: exit 6" 6 om request approve "$RID" --out "$W/pend2.pem"
grep -q "request $RID was already issued: certificate $APS; 'mica show $APS --pem' prints it" \
	"$TMP/rc.err" && ok "... naming its serial and how to print it" ||
	fail "... it said: $(cat "$TMP/rc.err")"
is "... issuing nothing" "$(ncerts)" "$N1"
[ ! -e "$W/pend2.pem" ] && ok "... and writing no --out" || fail "$W/pend2.pem was written"
expect_rc "... with --json: exit 6" 6 om request approve "$RID" --json
is "... printing the request with its serial" \
	"$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["status"], r["serial"])' <"$TMP/rc.out")" \
	"issued $APS"
cmp -s <(om show "$APS" --pem 2>/dev/null) "$W/pend.pem" &&
	ok "... and 'mica show SERIAL --pem' prints the certificate" ||
	fail "mica show $APS --pem is not the certificate approved"
# show --json and deny --json print the request as list --json does.
expect_rc "request show --json of the id in capitals: exit 0" 0 om request show "$(echo "$RID" | tr a-f A-F)" --json
is "... the same request" "$(json_get "$TMP/rc.out" id)" "$RID"
expect_rc "request show --json: exit 0" 0 om request show "$RID" --json
is "... the request with its serial" \
	"$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["id"], r["status"], r["serial"])' <"$TMP/rc.out")" \
	"$RID issued $APS"
expect_rc "request show --json of an unknown id: exit 5" 5 om request show 0123456789abcdef0123456789abcdef --json
[ ! -s "$TMP/rc.out" ] && ok "... printing nothing" || fail "... printed: $(cat "$TMP/rc.out")"
DID=$(printf '%032x' 0xde11)
pending_request "$DID"
expect_rc "request deny --json: exit 0" 0 om request deny "$DID" --reason "not ours" --json
is "... the request, denied, with its reason" \
	"$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["id"], r["status"], r["reason"], r["serial"])' <"$TMP/rc.out")" \
	"$DID denied not ours None"
DAYS0=$(sqlite3 "$O/mica.db" "SELECT group_concat(profile || default_days, ',') FROM profile_days")
expect_rc "profile set with two profiles: a usage error" 2 om profile set server client --default-days 10 --max-days 20
is "and no profile changed" "$(sqlite3 "$O/mica.db" "SELECT group_concat(profile || default_days, ',') FROM profile_days")" "$DAYS0"
expect_rc "profile list with a stray argument: a usage error" 2 om profile list x
expect_rc "--limit ' 10' (a blank before the number): a usage error" 2 om list --limit " 10"
expect_rc "--limit +10: a usage error" 2 om list --limit +10
expect_rc "--limit 10: fine" 0 om list --limit 10
expect_rc "'mica -d DIR -- list': '--' ends the options" 0 "$MICA" -d "$O" -- list
expect_rc "'mica -- -d DIR list': after '--' an option is no command" 2 "$MICA" -- -d "$O" list
for since in 2026-02-30 2025-02-29 2026-12-01T24:00:00Z 2026-13-01; do
	expect_rc "audit --since $since (no such day or time): a usage error" 2 om audit --since "$since"
done
expect_rc "audit --since 2024-02-29 (a leap day): fine" 0 om audit --since 2024-02-29
NAUD=$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM audit')
om audit --limit $((NAUD - 1)) >/dev/null 2>"$W/aud.err"
grep -q "more entries match than the $((NAUD - 1)) shown" "$W/aud.err" &&
	ok "audit --limit one short of the trail: stderr says more match" || fail "audit cut: stderr '$(cat "$W/aud.err")'"
om audit --limit "$NAUD" --json >/dev/null 2>"$W/aud.err"
[ ! -s "$W/aud.err" ] && ok "audit --limit the whole trail: no note" || fail "audit whole: stderr '$(cat "$W/aud.err")'"
expect_rc "audit --since 2026-12-01T23:59:59Z: fine" 0 om audit --since 2026-12-01T23:59:59Z

# A listing that matches nothing: nothing on standard output (no header
# either: a pipe reads no line), exit 0; a note on standard error only
# when standard output is a terminal; --json prints [].
# on_tty COMMAND...: run COMMAND with standard output on a terminal; prints
# its exit status, then what it wrote to the terminal, then to stderr.
on_tty() {
	python3 - "$@" <<'PY'
import os, subprocess, sys
m, s = os.openpty()
r = subprocess.run(sys.argv[1:], stdout=s, stderr=subprocess.PIPE)
os.close(s)
out = b""
try:
    while True:
        b = os.read(m, 4096)
        if not b:
            break
        out += b
except OSError:
    pass
print(r.returncode, repr(out.decode()), repr(r.stderr.decode()))
PY
}
E=$W/empty
"$MICA" -d "$E" init --name "Empty CA" --domain contoso.test --public-url http://127.0.0.1:1 \
	>/dev/null 2>&1 || die "init $E"
for l in "list:certificates match" "list --status revoked:certificates match" \
	"request list:requests pending" "request list --status all:requests match" \
	"token list:tokens" "audit --since 2099-01-01:audit entries match" \
	"acme accounts:ACME accounts" "acme orders:ACME orders"; do
	args=${l%%:*} what=${l#*:}
	# shellcheck disable=SC2086
	expect_rc "$args, matching nothing: exit 0" 0 "$MICA" -d "$E" $args
	[ ! -s "$TMP/rc.out" ] && [ ! -s "$TMP/rc.err" ] && ok "... printing nothing into a pipe" ||
		fail "... printed '$(cat "$TMP/rc.out")', '$(cat "$TMP/rc.err")'"
	# shellcheck disable=SC2086
	is "... on a terminal, 'no $what' on stderr" "$(on_tty "$MICA" -d "$E" $args)" \
		"0 '' 'no $what\\n'"
	# shellcheck disable=SC2086
	is "... --json: []" "$("$MICA" -d "$E" $args --json 2>/dev/null | tr -d ' \n')" "[]"
done
om audit --limit 1 >"$W/aud1.out" 2>/dev/null
is "audit: a header over its rows, as every listing" "$(head -1 "$W/aud1.out" | tr -s ' ')" "TIME ACTOR ACTION TARGET DETAIL"

# The audit trail names the operating-system user who acted at the
# command line ("cli:USER"), and who ran sudo; a name from the
# environment is escaped, never written as it is.
echo "# the command line's audit actor"
# newest_actor: the actor of the newest audit entry of $O, from --json.
newest_actor() { om audit --limit 1 --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["actor"])'; }
om crl --out "$W/act.crl" 2>/dev/null || fail "crl for the actor"
is "audit --json: a CRL published by '$(id -un)' is by $CLI_ACTOR" "$(newest_actor)" "$CLI_ACTOR"
om audit --limit 1 2>/dev/null | grep -q "  $CLI_ACTOR  *crl.publish" &&
	ok "... and 'mica audit' shows it" || fail "... 'mica audit' shows: $(om audit --limit 1 2>&1)"
is "the CA's creation (ca.init) is by $CLI_ACTOR too" \
	"$(sqlite3 "$O/mica.db" "SELECT actor FROM audit WHERE action = 'ca.init'")" "$CLI_ACTOR"
SUDO_USER=alice om crl --out "$W/act.crl" 2>/dev/null || fail "crl with SUDO_USER"
is "run through sudo by alice: '$CLI_ACTOR (sudo alice)'" "$(newest_actor)" "$CLI_ACTOR (sudo alice)"
SUDO_USER=$'a"\e\a) (sudo b' om crl --out "$W/act.crl" 2>/dev/null || fail "crl with a hostile SUDO_USER"
is "a SUDO_USER with a quote, controls and a forged '(sudo bob)': escaped" "$(newest_actor)" \
	"$CLI_ACTOR (sudo a\\x22\\x1B\\x07\\x29\\x20\\x28sudo\\x20b)"
SUDO_USER=$(printf 'u%.0s' $(seq 100)) om crl --out "$W/act.crl" 2>/dev/null || fail "crl with a long SUDO_USER"
is "a SUDO_USER of 100 bytes: cut to 40, '...' at its end" "$(newest_actor)" \
	"$CLI_ACTOR (sudo $(printf 'u%.0s' $(seq 37))...)"

# Listings longer than one read of the store (1,000 certificates or
# requests, 10,000 audit entries a read): --all and a large --limit page
# through the store, every row once, in order, and a cut says so. The
# rows are written straight into a store of its own (issuing thousands
# would take minutes): revoked certificates (no DER, as a certificate
# revoked while it was signed), denied requests and audit entries.
MANY=$W/many
MICA_PASSPHRASE="many rows of the store" "$MICA" -d "$MANY" init --name "Many Test" \
	--domain contoso.test --public-url http://ca.contoso.test >/dev/null 2>&1 || die "init $MANY"
mm() { MICA_PASSPHRASE="many rows of the store" "$MICA" -d "$MANY" "$@"; }
NMANY=2345 NREQ=2100 NAUDX=10050
python3 - "$MANY/mica.db" "$NMANY" "$NREQ" "$NAUDX" <<'PY' || die "filling $MANY"
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
nc, nr, na = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
now = int(time.time())
with db:
    for i in range(nc):
        serial = "7f%030x" % i
        db.execute("INSERT INTO certificate (serial, profile, subject, names, "
                   "not_before, not_after, spki_sha256, status, revoked_at, "
                   "reason, created_at) VALUES (?, 'server', ?, ?, ?, ?, ?, 2, ?, 4, ?)",
                   (serial, "CN=m%d.contoso.test" % i, "m%d.contoso.test" % i,
                    now - 86400, now + 86400 * (1 + i % 300), os.urandom(32),
                    now - 60, now - 86400 + i))
        db.execute("INSERT INTO cert_name (serial, name) VALUES (?, ?)",
                   (serial, "m%d.contoso.test" % i))
    # Submission times with ties (every third shares one); the listing
    # is in the order recorded.
    for i in range(nr):
        db.execute("INSERT INTO request (id, status, profile, csr_der, names, "
                   "client, submitted_at, decided_at, decided_by, deny_reason) "
                   "VALUES (?, 2, 'server', x'3000', ?, '192.0.2.1', ?, ?, 'cli', 'no')",
                   ("%032x" % (0xabc000 + i), "m%d.contoso.test" % i,
                    now - 100000 + i // 3, now - 50))
    for i in range(na):
        db.execute("INSERT INTO audit (at, actor, action, target, detail) "
                   "VALUES (?, 'cli', 'test.row', ?, 'filler')", (now - 3600, str(i)))
PY
NAUDM=$(sqlite3 "$MANY/mica.db" 'SELECT count(*) FROM audit')
mm list --all --status revoked --json >"$W/many.json" 2>"$W/many.err"
python3 - "$W/many.json" "$NMANY" <<'PY' && ok "list --all: all $NMANY revoked certificates, once each, newest first" || fail "list --all over pages"
import json, sys
v = json.load(open(sys.argv[1]))
s = [c["serial"] for c in v]
want = ["7f%030x" % i for i in reversed(range(int(sys.argv[2])))]
sys.exit(0 if s == want else 1)
PY
[ ! -s "$W/many.err" ] && ok "... with nothing on stderr" || fail "list --all stderr: $(cat "$W/many.err")"
is "list --all (text): a heading and a line each" "$(mm list --all --status revoked | wc -l)" $((NMANY + 1))
is "list --expiring-days --all (another order, several pages)" \
	"$(mm list --all --status revoked --expiring-days 3650 --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(len(v), len({c["serial"] for c in v}), [c["not_after"] for c in v] == sorted(c["not_after"] for c in v))')" \
	"$NMANY $NMANY True"
mm list --status revoked --limit 1500 --json 2>"$W/many.err" | python3 -c 'import json,sys; sys.exit(len(json.load(sys.stdin)) != 1500)' &&
	ok "list --limit 1500 (two reads): 1500" || fail "list --limit 1500"
grep -q "more certificates match than the 1500 shown" "$W/many.err" && ok "... and stderr says more match" ||
	fail "list --limit 1500 stderr: $(cat "$W/many.err")"
mm list --status revoked --limit "$NMANY" >/dev/null 2>"$W/many.err"
[ ! -s "$W/many.err" ] && ok "list --limit of exactly all of them: no note" || fail "list --limit $NMANY: $(cat "$W/many.err")"
expect_rc "list --all --limit: a usage error" 2 mm list --all --limit 5
mm request list --status denied --json >"$W/manyr.json" 2>"$W/many.err"
python3 - "$W/manyr.json" "$NREQ" <<'PY' && ok "request list: all $NREQ denied requests, oldest first, once each" || fail "request list over pages"
import json, sys
v = json.load(open(sys.argv[1]))
want = ["%032x" % (0xabc000 + i) for i in range(int(sys.argv[2]))]
sys.exit(0 if [r["id"] for r in v] == want else 1)
PY
mm request list --status all --limit 1001 2>"$W/many.err" | tail -n 1 | grep -q "^$(printf '%032x' $((0xabc000 + 1000)))" &&
	ok "request list --limit 1001: the 1001st is the last line" || fail "request list --limit 1001"
grep -q "more requests match than the 1001 shown" "$W/many.err" && ok "... and stderr says more match" ||
	fail "request list --limit stderr: $(cat "$W/many.err")"
mm audit --all --json >"$W/manya.json" 2>"$W/many.err"
python3 - "$W/manya.json" "$NAUDM" <<'PY' && ok "audit --all: all $NAUDM entries (two reads), newest first, once each" || fail "audit --all over pages"
import json, sys
ids = [a["id"] for a in json.load(open(sys.argv[1]))]
sys.exit(0 if len(ids) == int(sys.argv[2]) and ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids) else 1)
PY
[ ! -s "$W/many.err" ] && ok "... with nothing on stderr" || fail "audit --all stderr: $(cat "$W/many.err")"
mm audit --limit 10001 2>"$W/many.err" | wc -l | grep -qx 10002 && ok "audit --limit 10001: a header and 10001 lines" || fail "audit --limit 10001"
grep -q "more entries match than the 10001 shown" "$W/many.err" && ok "... and stderr says more match" ||
	fail "audit --limit 10001 stderr: $(cat "$W/many.err")"
mm audit --limit "$NAUDM" >/dev/null 2>"$W/many.err"
[ ! -s "$W/many.err" ] && ok "audit --limit of exactly the whole trail: no note" || fail "audit --limit $NAUDM: $(cat "$W/many.err")"
expect_rc "backup '': a usage error" 2 om backup ""
expect_rc "backup -: a usage error" 2 om backup -
grep -q "a backup is a database file, not standard output" "$TMP/rc.err" &&
	ok "... saying that a backup cannot go to standard output" ||
	fail "backup - said: $(cat "$TMP/rc.err")"
expect_rc "restore '': a usage error" 2 "$MICA" -d "$W/restore-empty" restore ""
expect_rc "restore -: a usage error" 2 "$MICA" -d "$W/restore-empty" restore -
grep -q "a backup is a database file, not standard input" "$TMP/rc.err" &&
	ok "... saying that a backup is not read from standard input" ||
	fail "restore - said: $(cat "$TMP/rc.err")"
[ ! -e "$W/restore-empty" ] && ok "... which made no directory" || fail "restore '' made $W/restore-empty"
(cd "$W" && om backup -- -dash.db 2>/dev/null) && [ -s "$W/-dash.db" ] && ok "backup -- -dash.db: a name beginning with '-' after '--'" || fail "backup -- -dash.db"
(cd "$W" && MICA_PASSPHRASE="correct horse battery staple out" "$MICA" -d "$W/r-dash" restore -- -dash.db 2>/dev/null) && [ -s "$W/r-dash/mica.db" ] && ok "restore -- -dash.db" || fail "restore -- -dash.db"
# A backup under a name of the CA's own would be written, said so, then
# lost: the store's next open deletes a mica.db-journal that is no
# journal, the CRLs' sweep a mica.db-crls/N.crl. Refused as --out is.
NEXTCRL=$(( $(sqlite3 "$O/mica.db" "SELECT max(number) FROM crl") + 1 ))
for own in "mica.db-crls/$NEXTCRL.crl" mica.db-journal mica.db-wal mica.db; do
	before=$(ls -A "$O" "$O/mica.db-crls" | md5sum)
	expect_rc "backup DIR/$own (a name of the CA's own): a usage error (2)" 2 om backup "$O/$own"
	grep -q "is one of the CA's own files" "$TMP/rc.err" && ok "... saying so" ||
		fail "backup DIR/$own said: $(cat "$TMP/rc.err")"
	is "... and writing nothing there" "$(ls -A "$O" "$O/mica.db-crls" | md5sum)" "$before"
done
expect_rc "backup -dash.db (an option): a usage error" 2 om backup -dash.db
grep -q "unknown option '-dash.db'.*after '--'" "$TMP/rc.err" && ok "... naming the option and pointing to '--'" ||
	fail "backup -dash.db said: $(cat "$TMP/rc.err")"
expect_rc "restore -dash.db (an option): a usage error" 2 "$MICA" -d "$W/r-dash2" restore -dash.db
grep -q "unknown option '-d'.*after '--'" "$TMP/rc.err" && ok "... naming the option and pointing to '--'" ||
	fail "restore -dash.db said: $(cat "$TMP/rc.err")"
expect_rc "restore --passphrase-file with no value: a usage error" 2 "$MICA" -d "$W/r-dash2" restore --passphrase-file
grep -q "needs a value" "$TMP/rc.err" && ok "... saying it needs a value" ||
	fail "restore --passphrase-file said: $(cat "$TMP/rc.err")"
expect_rc "restore of a backup that does not exist: exit 3, as --help says" 3 \
	"$MICA" -d "$W/r-none" restore "$W/no-such-backup.db"
grep -qF "cannot read the backup $W/no-such-backup.db" "$TMP/rc.err" && ok "... naming the backup" ||
	fail "restore of a missing backup said: $(cat "$TMP/rc.err")"
[ ! -e "$W/r-none" ] && ok "... and making no directory" || fail "restore of a missing backup made $W/r-none"

# An option getopt refuses is named as given, whichever of the three ways
# it fails: an unknown letter (even inside a cluster, where getopt stops
# before moving past the argument: the message once named the command or
# the argument before), an unknown long option (never its =value, which
# may be a secret), a known one without its value (by its long name).
# A usage error (2), one line on stderr, naming nothing else.
echo "# getopt errors name the option at fault"
# usage_says DESCRIPTION TEXT COMMAND...: exit 2, stderr one line with TEXT.
usage_says() {
	local d=$1 want=$2; shift 2
	"$@" >"$TMP/use.out" 2>"$TMP/use.err"
	local got=$?
	if [ "$got" != 2 ]; then
		fail "$d: exit $got, wanted 2"; sed 's/^/    /' "$TMP/use.err" | head -3
	elif [ "$(wc -l < "$TMP/use.err")" -ne 1 ]; then
		fail "$d: stderr is not one line"; sed 's/^/    /' "$TMP/use.err"
	elif ! grep -qF -- "$want" "$TMP/use.err"; then
		fail "$d: said '$(cat "$TMP/use.err")', wanted '$want'"
	else
		ok "$d (exit 2: $(cat "$TMP/use.err"))"
	fi
}
usage_says "list -jx: the unknown letter of a cluster, not the command" \
	"list: unknown option '-j' (see" om list -jx
grep -qF "'list'" "$TMP/use.err" && fail "... named 'list'" || ok "... and not 'list'"
usage_says "request shwo: an unknown subcommand, said so" \
	"request: unknown subcommand 'shwo' (list, show, approve, deny) (see" om request shwo
usage_says "request shwo ID --reason x: the subcommand first, not --reason" \
	"request: unknown subcommand 'shwo'" om request shwo 0123456789abcdef --reason x
usage_says "show -zz SERIAL: the letter, not 'show'" \
	"show: unknown option '-z' (see" om show -zz 01
usage_says "issue --csr FILE -qz: the letter, not FILE" \
	"issue: unknown option '-q' (see" om issue --csr "$W/outc.csr" -qz
grep -qF "outc.csr" "$TMP/use.err" && fail "... named the CSR file" || ok "... and not the CSR file"
usage_says "crl -x: an unknown short option alone" \
	"crl: unknown option '-x' (see" om crl -x
usage_says "list --tokens=hunter2: an unknown long option, named" \
	"list: unknown option '--tokens' (see" om list --tokens=hunter2
grep -qF hunter2 "$TMP/use.err" && fail "... echoing its value" || ok "... without its value"
# --token is list's own since it lists what a token issued: a value that
# is no token id (a token's secret, perhaps) is refused, never repeated.
usage_says "list --token=hunter2: no token id" \
	"list: --token takes a token's id" om list --token=hunter2
grep -qF hunter2 "$TMP/use.err" && fail "... echoing its value" || ok "... without its value"
usage_says "--passphrase-file=hunter2 crl: a command's option before the command, named" \
	"mica: unknown option '--passphrase-file' before the command: only -d DIR goes there" \
	om --passphrase-file=hunter2 crl
grep -qF hunter2 "$TMP/use.err" && fail "... echoing its value" || ok "... without its value"
usage_says "serve --bogus=hunter2: the same in serve" \
	"serve: unknown option '--bogus' (see" om serve --bogus=hunter2
grep -qF hunter2 "$TMP/use.err" && fail "... echoing its value" || ok "... without its value"
usage_says "domain add --bogus=hunter2 (parsed by hand): the same" \
	"domain: unknown option '--bogus' (see" om domain add --bogus=hunter2 x.contoso.test
grep -qF hunter2 "$TMP/use.err" && fail "... echoing its value" || ok "... without its value"
# '--' ends the options there too, as getopt's do for every other command.
expect_rc "domain add -- DOMAIN: '--' ends the options (parsed by hand too)" 0 \
	om domain add -- dashdash.contoso.test
is "... and the domain is allowed" "$(om domain list | grep -c '^dashdash.contoso.test$')" 1
expect_rc "domain -- remove DOMAIN" 0 om domain -- remove dashdash.contoso.test
usage_says "domain -- --help: after '--', an operand" \
	"domain: unknown subcommand '--help'" om domain -- --help
usage_says "restore --bogus=hunter2: named, and where a FILE beginning with '-' goes" \
	"restore: unknown option '--bogus' (a FILE beginning with '-' goes after '--')" \
	"$MICA" -d "$W/r-bogus" restore --bogus=hunter2
grep -qF hunter2 "$TMP/use.err" && fail "... echoing its value" || ok "... without its value"
[ ! -e "$W/r-bogus" ] && ok "... having made no directory" || fail "restore --bogus made $W/r-bogus"
usage_says "issue --csr F --days: a missing value, by the long name" \
	"issue: --days needs a value (see" om issue --csr "$W/outc.csr" --days
usage_says "list --limit: the same in list" "list: --limit needs a value (see" om list --limit
# A number out of range is told the range, not "must be a positive number".
usage_says "list --expiring-days 99999: the range" \
	"list: --expiring-days must be a number of days, 1 to 36500 (see" om list --expiring-days 99999
usage_says "issue --days 40000: the range" \
	"issue: --days must be a number of days, 1 to 36500 (see" om issue --csr "$W/outc.csr" --days 40000
usage_says "renew --days 0: the range" \
	"renew: --days must be a number of days, 1 to 36500 (see" om renew 01 --days 0
# One spelling per number, as the API's query parameters: a leading zero
# (octal to some tools), a sign, a blank, hex or an exponent is refused,
# never read as 30.
N0=$(ncerts)
for V in 030 +30 " 30" "30 " 0x1e 3e1 -0; do
	usage_says "issue --days '$V': refused" \
		"issue: --days must be a number of days, 1 to 36500 (see" om issue --csr "$W/outc.csr" --days "$V"
done
is "and nothing was issued for them" "$(ncerts)" "$N0"
usage_says "list --limit 010: refused" "list: --limit" om list --limit 010
usage_says "list --expiring-days 030: refused" \
	"list: --expiring-days must be a number of days, 1 to 36500 (see" om list --expiring-days 030
usage_says "list --name --limit -lx: the letter, not the value that looks like an option" \
	"list: unknown option '-l' (see" om list --name --limit -lx
usage_says "list --lim (an abbreviation): by the full name" "list: --limit needs a value (see" om list --lim
usage_says "revoke SERIAL --reason: the same in revoke" \
	"revoke: --reason needs a value (see" om revoke 01 --reason
usage_says "token create --name: the same in token" \
	"token: --name needs a value (see" om token create --enroll --name
usage_says "serve --threads: the same in serve" "serve: --threads needs a value (see" om serve --threads
usage_says "export-root -o: a short option's missing value, with its long name" \
	"export-root: -o (--out) needs a value (see" om export-root -o
usage_says "list --json=yes: a value given to an option that takes none" \
	"list: --json takes no value (see" om list --json=yes
grep -qF yes "$TMP/use.err" && fail "... echoing it" || ok "... not echoing it"
usage_says "serve --p: an abbreviation of several, with what it could be" \
	"serve: ambiguous option '--p': --public-url, --passphrase-file, --publish (see" om serve --p

# An option given twice is a usage error (2), naming it, before anything is
# done: '--profile server --profile client' once issued a client
# certificate, the last one winning. The repeatable options (--name,
# --domain, --chain, --permit, --from-crl, --crl, --trusted-proxy) stay so.
echo "# an option given twice"
db_dump "$O" > "$W/twice-before.sql"
N0=$(ncerts)
NTOK=$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM token')
csr twice2 ec-p256 /CN=twice2.contoso.test "DNS:twice2.contoso.test"
tw0=$(openssl x509 -in "$W/out.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
usage_says "issue --profile server --profile client" \
	"issue: --profile given twice (see" om issue --csr "$W/outc.csr" --profile server --profile client
usage_says "issue --csr A --csr B" \
	"issue: --csr given twice (see" om issue --csr "$W/outc.csr" --csr "$W/twice2.csr"
usage_says "issue -o A --out B: the short and the long form are one option" \
	"issue: -o (--out) given twice (see" om issue --csr "$W/outc.csr" -o "$W/tw1.pem" --out "$W/tw2.pem"
usage_says "issue --days=30 --days 40" \
	"issue: --days given twice (see" om issue --csr "$W/outc.csr" --days=30 --days 40
usage_says "issue --der --der: a flag too" \
	"issue: --der given twice (see" om issue --csr "$W/outc.csr" --der --der --out "$W/tw3.der"
usage_says "renew SERIAL --csr A --csr B" \
	"renew: --csr given twice (see" om renew "$tw0" --csr "$W/outc.csr" --csr "$W/twice2.csr"
usage_says "revoke SERIAL --reason a --reason b" \
	"revoke: --reason given twice (see" om revoke "$tw0" --reason keyCompromise --reason superseded
usage_says "token create --uses 1 --uses 5" \
	"token: --uses given twice (see" om token create --enroll --uses 1 --uses 5
usage_says "token create --profile server --profile client" \
	"token: --profile given twice (see" om token create --enroll --profile server --profile client
usage_says "crl --delta-hours 1 --delta-hours 2" \
	"crl: --delta-hours given twice (see" om crl --delta-hours 1 --delta-hours 2
usage_says "list --name a --name b (one filter)" \
	"list: --name given twice (see" om list --name a.contoso.test --name b.contoso.test
usage_says "audit --since 1d --since 2d" "audit: --since given twice (see" om audit --since 1d --since 2d
usage_says "profile set --max-days twice" \
	"profile: --max-days given twice (see" om profile set server --max-days 100 --max-days 200
usage_says "domain add --passphrase-file twice (parsed by hand)" \
	"domain: --passphrase-file given twice (see" om domain add tw.contoso.test --passphrase-file a --passphrase-file=b
usage_says "passphrase --new-file twice" \
	"passphrase: --new-file given twice (see" om passphrase --new-file a --new-file b
usage_says "sign-ca --days twice" "sign-ca: --days given twice (see" om sign-ca --csr x --days 1 --days 2
usage_says "serve --http twice" "serve: --http given twice (see" om serve --http 127.0.0.1:1 --http 127.0.0.1:2
usage_says "serve --log twice" "serve: --log given twice (see" om serve --log "$W/l1" --log "$W/l2"
[ ! -e "$W/l1" ] && [ ! -e "$W/l2" ] && ok "... and opened neither log" || fail "serve --log twice made a log"
usage_says "init --name twice" "init: --name given twice (see" "$MICA" -d "$W/twice-init" init --name A --name B
[ ! -e "$W/twice-init" ] && ok "... and made no data directory" || fail "init --name twice made $W/twice-init"
[ ! -e "$W/tw1.pem" ] && [ ! -e "$W/tw2.pem" ] && [ ! -e "$W/tw3.der" ] && ok "no --out file was written" ||
	fail "an --out file was written"
is "no certificate was issued for them" "$(ncerts)" "$N0"
is "no token was made for them" "$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM token')" "$NTOK"
db_dump "$O" > "$W/twice-after.sql"
cmp -s "$W/twice-before.sql" "$W/twice-after.sql" && ok "the store is as it was" ||
	{ fail "the store changed"; diff "$W/twice-before.sql" "$W/twice-after.sql" | head -5; }
# ... and the repeatable ones still accumulate.
expect_rc "issue --name A --name B: --name is repeatable" 0 \
	om issue --csr "$W/twice2.csr" --name twice2.contoso.test --name twice3.contoso.test --out "$W/tw4.pem"
openssl x509 -in "$W/tw4.pem" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:twice2.contoso.test, DNS:twice3.contoso.test" &&
	ok "... the certificate names both" || fail "... names: $(openssl x509 -in "$W/tw4.pem" -noout -ext subjectAltName 2>&1)"
expect_rc "token create --name A --name B: repeatable" 0 \
	om token create --enroll --name a.contoso.test --name b.contoso.test

# A name in Unicode is refused, quoted as given (not hidden behind a
# placeholder), and told to be given as A-labels.
D=$O refused "issue --name münchen.contoso.test: malformed (3)" 3 om issue --csr "$W/outc.csr" --name münchen.contoso.test
grep -qF 'invalid name "münchen.contoso.test": an international name is given as A-labels ("xn--"' "$TMP/ref.err" &&
	ok "... quoting the name and saying to give A-labels" || fail "... it said: $(cat "$TMP/ref.err")"
D=$O refused "issue --name with ESC and U+202E: malformed (3)" 3 om issue --csr "$W/outc.csr" --name "$(printf 'a\e[2J\xe2\x80\xaeb.contoso.test')"
grep -qF 'invalid name "a\\x1B[2J\\xE2\\x80\\xAEb.contoso.test"' "$TMP/ref.err" &&
	ok "... those escaped (the engine's \\xNN, its backslash doubled on the terminal)" || fail "... it said: $(cat "$TMP/ref.err")"

# Renewing a revoked certificate would undo the revocation: refused (a
# conflict, 6) naming when and why it was revoked, unless --force; forced,
# a warning says what was renewed and the audit records it.
echo "# renewing a revoked certificate"
csr pw ec-p256 /CN=pw.contoso.test "DNS:pw.contoso.test"
om issue --csr "$W/pw.csr" --out "$W/pw.pem" 2>/dev/null || fail "issue pw"
pw=$(serial_of "$W/pw.pem")
om revoke "$pw" --reason privilegeWithdrawn 2>/dev/null || fail "revoke pw"
D=$O refused "renew of a certificate revoked as privilegeWithdrawn: a conflict without --force" 6 om renew "$pw"
grep -q "^mica: error: certificate $pw was revoked on [0-9-]* [0-9:]* UTC (privilegeWithdrawn): renewing it would undo that; --force renews it all the same" "$TMP/ref.err" &&
	ok "... naming the date, the reason and --force" || fail "... it said: $(cat "$TMP/ref.err")"
D=$O refused "... and with --supersede too" 6 om renew "$pw" --supersede
N0=$(ncerts)
expect_rc "renew --force: renewed all the same" 0 om renew "$pw" --force --out "$W/pw2.pem"
grep -q "^warning: renewing certificate $pw, revoked on [0-9T:-]*Z (privilegeWithdrawn), as --force asked\$" "$TMP/rc.err" &&
	ok "... with a warning naming the date and the reason" || fail "... stderr: $(cat "$TMP/rc.err")"
is "... one certificate more" "$(ncerts)" "$((N0 + 1))"
sqlite3 "$O/mica.db" "SELECT detail FROM audit WHERE action = 'cert.renew' AND target = '$(serial_of "$W/pw2.pem")'" |
	grep -q "forced: $pw was revoked on .* (privilegeWithdrawn)" && ok "... and the audit trail says it was forced" ||
	fail "... audit: $(sqlite3 "$O/mica.db" "SELECT detail FROM audit WHERE action = 'cert.renew' ORDER BY id DESC LIMIT 1")"
expect_rc "renew --force --supersede of one revoked for good: a conflict, nothing to supersede" 6 \
	om renew "$pw" --force --supersede

# A store of schema 15 whose key was revoked for keyCompromise when that
# revoked only the one certificate: the other certificate of the key is
# revoked the first time mica opens the store with the CA key, in a CRL.
csr up1 ec-p256 /CN=up1.contoso.test "DNS:up1.contoso.test"
openssl req -new -key "$W/up1.key" -subj /CN=up2.contoso.test -addext "subjectAltName=DNS:up2.contoso.test" -out "$W/up2.csr" 2>/dev/null
om issue --csr "$W/up1.csr" --out "$W/up1.pem" 2>/dev/null || fail "issue up1"
om issue --csr "$W/up2.csr" --out "$W/up2.pem" 2>/dev/null || fail "issue up2"
up1=$(openssl x509 -in "$W/up1.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
up2=$(openssl x509 -in "$W/up2.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
sqlite3 "$O/mica.db" "UPDATE certificate SET status = 2, reason = 1, revoked_at = strftime('%s','now') WHERE serial = '$up1';
	INSERT INTO compromised_key (spki_sha256, serial, added_at) SELECT spki_sha256, serial, revoked_at FROM certificate WHERE serial = '$up1';
	DROP INDEX certificate_by_spki; DROP TABLE key_siblings_todo; DROP INDEX request_by_status_row;
	ALTER TABLE ca DROP COLUMN tls_serial; DROP INDEX acme_order_processing;
	DROP INDEX certificate_by_token; DROP TRIGGER ocsp_response_forget_invalid;
	DROP INDEX certificate_crl; DROP INDEX certificate_crl_by_key;
	CREATE INDEX certificate_revoked ON certificate (serial, not_after, revoked_at, reason, status)
		WHERE status = 2;
	CREATE INDEX certificate_revoked_by_key
		ON certificate (key_idx, serial, not_after, revoked_at, reason, status) WHERE status = 2;
	ALTER TABLE certificate DROP COLUMN invalid_at;
	ALTER TABLE certificate DROP COLUMN token_id; ALTER TABLE ca DROP COLUMN restored_at;
	ALTER TABLE ca DROP COLUMN crl_floor; DROP INDEX token_usable;
	ALTER TABLE ca DROP COLUMN restored_floor; DROP INDEX scep_tx_by_serial;
	PRAGMA user_version = 15" || die "sqlite3: an old store"
is "in the old store the key's other certificate is valid" \
	"$(sqlite3 "$O/mica.db" "SELECT status FROM certificate WHERE serial = '$up2'")" 1
# The package upgraded while the old daemon still runs: a command of the
# new mica must not upgrade the store under it (that daemon would then
# answer 503 to everything, and go on running). flock(1) holds the
# daemon's lock as a running 'mica serve' does.
if command -v flock >/dev/null; then
	flock -x "$O/serve.lock" "$MICA" -d "$O" crl --pem --out "$W/up-held.crl" >"$W/held.out" 2>"$W/held.err"
	is "a command of a newer mica on the store of a running older daemon: exit 6" "$?" 6
	grep -q "runs on .* with an older store schema than this mica's: restart it" "$W/held.err" &&
		ok "... saying to restart the daemon with this mica" || fail "... it said: $(cat "$W/held.err")"
	is "... and the store is not upgraded" "$(sqlite3 "$O/mica.db" 'PRAGMA user_version')" 15
	# A backup then is still possible: the store copied at its schema.
	audits=$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM audit')
	flock -x "$O/serve.lock" "$MICA" -d "$O" backup "$W/up-held.db" >"$W/held.out" 2>"$W/held.err"
	is "mica backup on the store of a running older daemon: exit 0" "$?" 0
	grep -q "backup written to $W/up-held.db (schema version 15, kept by the older 'mica serve'" "$W/held.err" &&
		ok "... saying which schema it copied" || fail "... it said: $(cat "$W/held.err")"
	is "... the copy keeps schema 15" "$(sqlite3 "$W/up-held.db" 'PRAGMA user_version')" 15
	is "... the store is neither upgraded nor written" \
		"$(sqlite3 "$O/mica.db" 'PRAGMA user_version; SELECT count(*) FROM audit' | tr '\n' ' ')" "15 $audits "
	is "... and the copy has the store's certificates" \
		"$(sqlite3 "$W/up-held.db" 'SELECT count(*) FROM certificate')" \
		"$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM certificate')"
	flock -x "$O/serve.lock" "$MICA" -d "$O" backup "$W/up-held.db" >"$W/held.out" 2>"$W/held.err"
	is "... which a second backup to the same name does not overwrite (exit 6)" "$?" 6
else
	skip "a command on the store of a running older daemon" "flock(1) is not installed"
fi
# A daemon from before serve.lock takes none, but has the store open, as
# every SQLite connection in WAL mode does (a shared lock on its -shm
# file): a Python sqlite3 connection stands in for it.
"$PYTHON3" - "$O/mica.db" "$W/holder" <<'PY' &
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1])
c.execute("SELECT count(*) FROM certificate").fetchone()
open(sys.argv[2] + ".ready", "w").close()
while not os.path.exists(sys.argv[2] + ".go"):
    time.sleep(0.05)
PY
HOLDER=$!
on_exit_kill "$HOLDER"
wait_for "the store held open" 30 test -e "$W/holder.ready" || die "python3 holder"
"$MICA" -d "$O" crl --pem --out "$W/up-open.crl" >"$W/held.out" 2>"$W/held.err"
is "a command of a newer mica on a store another process has open: exit 6" "$?" 6
grep -q "is open in another process (process $HOLDER)" "$W/held.err" &&
	ok "... naming the process" || fail "... it said: $(cat "$W/held.err")"
is "... and the store is not upgraded" "$(sqlite3 "$O/mica.db" 'PRAGMA user_version')" 15
"$MICA" -d "$O" backup "$W/up-open.db" >"$W/held.out" 2>"$W/held.err"
is "... mica backup copies it at its schema (exit 0)" "$?:$(sqlite3 "$W/up-open.db" 'PRAGMA user_version')" "0:15"
touch "$W/holder.go"
wait "$HOLDER" 2>/dev/null
on_exit_forget "$HOLDER"
check "mica crl on the old store (upgrades it, has the key)" om crl --pem --out "$W/up.crl"
grep -q "applied schema migration 016" "$TMP/check.out" && ok "... logging the migration it applied" ||
	fail "the upgrade did not log its migration: $(head -3 "$TMP/check.out")"
is "... which revoked the key's other certificate" \
	"$("$MICA" -d "$O" show "$up2" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d.get("revocation_reason"))')" "revoked keyCompromise"
openssl verify -crl_check -CAfile <(om export-root --pem 2>/dev/null) -CRLfile "$W/up.crl" "$W/up2.pem" > "$W/up2.v" 2>&1
grep -q 'certificate revoked' "$W/up2.v" && ok "... and openssl verify -crl_check finds it on the CRL" || fail "up2 not on the CRL: $(cat "$W/up2.v")"
is "... once: nothing left to do" "$(sqlite3 "$O/mica.db" 'SELECT count(*) FROM key_siblings_todo')" 0
om audit 2>/dev/null | grep -q "the key of $up1, revoked before" && ok "... recorded in the audit log" || fail "no audit line for the sweep"
expect_rc "--csr naming a folder: malformed input (3), not 'empty'" 3 om issue --csr "$W/outdir"
python3 - "$W/nul.csr" <<'PY' || die "python3 cryptography"
import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
k = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a\x00b.contoso.test")])
san = x509.SubjectAlternativeName([x509.DNSName("ab.contoso.test")])
csr = x509.CertificateSigningRequestBuilder().subject_name(name).add_extension(san, False)
open(sys.argv[1], "wb").write(csr.sign(k, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
PY
om issue --csr "$W/nul.csr" 2>"$W/nul.err"
is "a CN with a NUL byte: malformed (3), and said so" \
	"$? $(grep -c 'not text (a NUL byte' "$W/nul.err")" "3 1"

# Stored text that is not UTF-8 (a store edited by hand): --json still
# lists the record, its text marked, never leaves it out; an output that
# cannot be written (a full disk) is a failure, not exit 0.
echo "# stored text that is not UTF-8; an output that cannot be written"
ut=$(om list --json --limit 1 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["serial"])')
nall=$(om list --json --limit 1000 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
sqlite3 "$O/mica.db" "UPDATE certificate SET subject = CAST(X'434e3d636166e9' AS TEXT),
	names = CAST(X'636166e92e636f6e746f736f2e74657374' AS TEXT) WHERE serial = '$ut'" ||
	die "sqlite3: text that is not UTF-8"
is "list --json: every certificate still listed" \
	"$(om list --json --limit 1000 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" "$nall"
is "show --json: the text marked, the record whole" \
	"$(om show "$ut" --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["subject"], d["names"][0], d["serial"] == sys.argv[1], "certificate" in d)' "$ut")" \
	"CN=caf? caf?.contoso.test True True"
if [ -w /dev/full ]; then
	om list --json > /dev/full 2>"$W/full.err"
	is "list --json > /dev/full: exit 1, said on stderr" \
		"$? $(grep -c 'cannot write the output: No space left' "$W/full.err")" "1 1"
	om show "$ut" --pem > /dev/full 2>/dev/null
	is "show --pem > /dev/full: exit 1" "$?" 1
	om export-root > /dev/full 2>"$W/full.err"
	is "export-root (DER) > /dev/full: exit 1, one line with the cause" \
		"$? $(wc -l < "$W/full.err") $(grep -c 'No space left' "$W/full.err")" "1 1 1"
	"$MICA" --help > /dev/full 2>/dev/null
	is "mica --help > /dev/full: exit 1" "$?" 1
else
	skip "the write failures" "no writable /dev/full"
fi

# An offline root kept on write-protected media: no -shm can be made beside
# its store, yet the commands that only read work (the store is read
# immutable there); those that write say the store is read-only; a -wal
# holding changes an immutable read would miss is refused.
echo "# a store on read-only media"
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	nob() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$MICA" -d "$RO" "$@"; }
	RO=$W/ro/ca
	mkdir -m 755 "$W/ro"
	chmod o+x "$TMP" "$W"
	om backup "$W/ro.db" 2> /dev/null || die "backup for the read-only store"
	MICA_PASSPHRASE="correct horse battery staple out" "$MICA" -d "$RO" restore "$W/ro.db" \
		> /dev/null 2>&1 || die "restore for the read-only store"
	rm -f "$RO/mica.db-wal" "$RO/mica.db-shm"
	RO_FILES=$(ls -A "$RO" | tr '\n' ' ')
	mkdir -m 700 "$W/ro/out"
	chown -R 65534:65534 "$RO" "$W/ro/out"
	find "$RO" -type f -exec chmod 400 {} +
	find "$RO" -type d -exec chmod 500 {} +
	is "read-only: mica list --json lists every certificate" \
		"$(nob list --json --limit 1000 2>"$W/ro.err" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)" \
		"$(om list --json --limit 1000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
	nob export-root --der 2>/dev/null | cmp -s - <(om export-root --der 2>/dev/null) &&
		ok "read-only: export-root gives the root" || fail "read-only export-root: $(cat "$W/ro.err")"
	nob audit 2>/dev/null | grep -q "ca.restore" && ok "read-only: audit reads the log" ||
		fail "read-only audit"
	RSER=$(om list --json --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["serial"])')
	nob show "$RSER" > /dev/null 2>&1 && ok "read-only: show SERIAL" || fail "read-only show $RSER"
	expect_rc "read-only: mica crl says the store is read-only (exit 8)" 8 nob crl --out "$W/ro/out/ro.crl"
	grep -q "read-only" "$TMP/rc.err" && ok "... saying so" || fail "read-only crl said: $(cat "$TMP/rc.err")"
	is "read-only: nothing was made beside the store" "$(ls -A "$RO" | tr '\n' ' ')" "$RO_FILES"
	chmod 700 "$RO"
	# A -shm left behind with no -wal: nothing has the store open.
	head -c 32768 /dev/zero > "$RO/mica.db-shm"
	chown 65534:65534 "$RO/mica.db-shm"
	chmod 400 "$RO/mica.db-shm"
	chmod 500 "$RO"
	nob list > /dev/null 2>"$W/ro-shm.err" && ok "read-only with a leftover -shm and no -wal: list works" ||
		fail "read-only with a leftover -shm: $(cat "$W/ro-shm.err")"
	chmod 700 "$RO"
	rm -f "$RO/mica.db-shm"
	printf 'not yet checkpointed' > "$RO/mica.db-wal"
	chown 65534:65534 "$RO/mica.db-wal"
	chmod 600 "$RO/mica.db-wal"
	chmod 500 "$RO"
	expect_rc "read-only with a non-empty -wal beside it: refused (exit 8)" 8 nob list
	grep -q "holds changes not yet in the store" "$TMP/rc.err" && ok "... saying why" ||
		fail "read-only with a -wal said: $(cat "$TMP/rc.err")"
	# A mica.db that links to the store: SQLite keeps the -wal and -shm
	# beside the real file, so that is where they are looked for; the
	# link's directory having none proves nothing.
	LNK=$W/ro/lnk
	mkdir -m 700 "$LNK"
	ln -s "$RO/mica.db" "$LNK/mica.db"
	chown -h 65534:65534 "$LNK/mica.db"
	chown 65534:65534 "$LNK"
	chmod 500 "$LNK"
	expect_rc "read-only through a link to a store with a non-empty -wal: refused (exit 8)" 8 \
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "$MICA" -d "$LNK" list
	grep -qF "$(realpath "$RO")/mica.db-wal" "$TMP/rc.err" && ok "... naming the store's own -wal" ||
		fail "read-only through a link said: $(cat "$TMP/rc.err")"
	chmod 700 "$RO" "$LNK"
else
	skip "a store on read-only media" "needs root and setpriv"
fi

echo "# a damaged store: one line on stderr, saying what SQLite found"
BAD=$W/damaged
mkdir -m 700 "$BAD"
om backup "$BAD/copy.db" > /dev/null
MICA_PASSPHRASE="correct horse battery staple out" "$MICA" -d "$BAD/d" restore "$BAD/copy.db" > /dev/null 2>&1
# The certificate table's first page overwritten: the schema still reads.
page=$(sqlite3 "$BAD/d/mica.db" "SELECT rootpage FROM sqlite_master WHERE name = 'certificate'")
psize=$(sqlite3 "$BAD/d/mica.db" "PRAGMA page_size")
head -c "$psize" /dev/zero | tr '\0' '\377' |
	dd of="$BAD/d/mica.db" bs="$psize" seek=$((page - 1)) conv=notrunc status=none
"$MICA" -d "$BAD/d" list > /dev/null 2> "$BAD/err"
rc=$?
is "mica list on a damaged store: exit 1" "$rc" 1
is "... one line on stderr" "$(wc -l < "$BAD/err")" 1
grep -q "^mica: error: the certificate store is damaged (database disk image is malformed)$" "$BAD/err" &&
	ok "... naming the damage" || fail "damaged store said: $(cat "$BAD/err")"

echo "# a store that is there but cannot be reached is not 'no CA'"
UNR=$W/unreach
mkdir -m 700 "$UNR"
ln -s "$UNR/nothing" "$UNR/mica.db"
expect_rc "a mica.db that links to nothing: exit 8" 8 "$MICA" -d "$UNR" list
grep -q "mica.db is a symbolic link to nothing" "$TMP/rc.err" && ok "... saying so" ||
	fail "a dangling mica.db said: $(cat "$TMP/rc.err")"
: > "$UNR/file"
expect_rc "-d naming a file: exit 8" 8 "$MICA" -d "$UNR/file" list
grep -q "is not a directory" "$TMP/rc.err" && ok "... saying so, not 'run mica init'" ||
	fail "-d FILE said: $(cat "$TMP/rc.err")"
# Another program's SQLite file as mica.db (-d mistyped): refused,
# untouched, and named, so that the admin sees which folder was taken.
FOR=$W/foreigndb
mkdir -m 700 "$FOR"
sqlite3 "$FOR/mica.db" "CREATE TABLE mydata (x); INSERT INTO mydata VALUES (42);"
chmod 600 "$FOR/mica.db"
expect_rc "another program's database as mica.db: list exits 8" 8 "$MICA" -d "$FOR" list
grep -q "$FOR/mica.db is not a mica database" "$TMP/rc.err" && ok "... naming the file" ||
	fail "a foreign mica.db said: $(cat "$TMP/rc.err")"
expect_rc "... crl exits 8" 8 "$MICA" -d "$FOR" crl
is "... and it is left as it was" "$(sqlite3 "$FOR/mica.db" "PRAGMA user_version; SELECT x FROM mydata" | tr '\n' ' ')" "0 42 "
# init there says what the file is, not that the folder holds a CA.
FOR2=$W/foreigndb2
mkdir -m 700 "$FOR2"
sqlite3 "$FOR2/mica.db" "PRAGMA application_id = 1886418291; CREATE TABLE mydata (x);"
chmod 600 "$FOR2/mica.db"
expect_rc "init over another program's SQLite file as mica.db: exit 6" 6 \
	env MICA_PASSPHRASE="correct horse battery staple f2" "$MICA" -d "$FOR2" init \
	--name "Foreign" --public-url http://ca.contoso.test
grep -qF "$FOR2/mica.db is not a mica database (another program's SQLite file); refusing to overwrite it" "$TMP/rc.err" &&
	ok "... saying what the file is" || fail "init over a foreign mica.db said: $(cat "$TMP/rc.err")"
printf 'name,serial\nweb,1\n' > "$FOR2/mica.db"
expect_rc "init over a text file as mica.db: exit 6" 6 \
	env MICA_PASSPHRASE="correct horse battery staple f2" "$MICA" -d "$FOR2" init \
	--name "Foreign" --public-url http://ca.contoso.test
grep -qF "$FOR2/mica.db is not a mica database (not an SQLite file at all)" "$TMP/rc.err" &&
	ok "... saying so" || fail "init over a text mica.db said: $(cat "$TMP/rc.err")"
is "... and it is left as it was" "$(cat "$FOR2/mica.db")" "$(printf 'name,serial\nweb,1')"
# init --subordinate --csr-out -: standard output is the request alone,
# as a pipe to openssl or a file for certreq wants it; what init says
# goes to standard error.
MICA_PASSPHRASE="correct horse battery staple out" "$MICA" -d "$W/sub-stdout" init \
	--subordinate --name "Stdout Issuing" --domain contoso.test \
	--public-url http://ca.contoso.test --csr-out - >"$W/sub-stdout.csr" 2>"$W/sub-stdout.err"
is "init --subordinate --csr-out -: exit 0" "$?" 0
is "... standard output holds the PEM request and nothing else" \
	"$(grep -cv -e '^-----[A-Z ]*-----$' -e '^[A-Za-z0-9+/=]*$' "$W/sub-stdout.csr")" 0
check "... a request openssl reads" openssl req -in "$W/sub-stdout.csr" -noout -verify
grep -q 'Created CA "Stdout Issuing"' "$W/sub-stdout.err" && ok "... what init says on standard error" ||
	fail "init --csr-out - said on stderr: $(cat "$W/sub-stdout.err")"
# An empty mica.db (an init killed before its schema): refused, untouched.
EMP=$W/emptydb
mkdir -m 700 "$EMP"
: > "$EMP/mica.db"
chmod 600 "$EMP/mica.db"
expect_rc "an empty mica.db: crl exits 8" 8 "$MICA" -d "$EMP" crl
grep -q "is an empty database, not a mica store" "$TMP/rc.err" && ok "... saying so" ||
	fail "an empty mica.db said: $(cat "$TMP/rc.err")"
is "... and leaves it empty, with nothing beside it" "$(stat -c %s "$EMP/mica.db") $(ls -A "$EMP" | tr '\n' ' ')" "0 mica.db "
MICA_PASSPHRASE="correct horse battery staple out" expect_rc "... init on it: a conflict (6)" 6 \
	"$MICA" -d "$EMP" init --name "Empty" --public-url http://ca.contoso.test
grep -q "mica.db is an empty file, not a CA (an interrupted 'mica init'?): remove it first" "$TMP/rc.err" &&
	ok "... saying to remove the empty file, not that a CA is there" ||
	fail "init on an empty mica.db said: $(cat "$TMP/rc.err")"
rm "$EMP/mica.db"
MICA_PASSPHRASE="correct horse battery staple out" expect_rc "... removed, init makes the CA" 0 \
	"$MICA" -d "$EMP" init --name "Empty" --public-url http://ca.contoso.test
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	# Another user's data directory (the daemon's, 0700): the store is
	# there, this user cannot reach it.
	expect_rc "another user's data directory: exit 8" 8 \
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "$MICA" -d "$O" list
	grep -q "Permission denied" "$TMP/rc.err" && ! grep -q "mica init" "$TMP/rc.err" &&
		ok "... saying permission is denied, not to run 'mica init'" ||
		fail "another user's store said: $(cat "$TMP/rc.err")"
else
	skip "another user's data directory" "needs root and setpriv"
fi

echo "# a full disk: each command says what is full, in one line"
# In a private mount namespace: the tmpfs goes with it, whatever happens.
FULL=$W/full
mkdir -m 700 "$FULL" "$FULL/mnt"
om backup "$FULL/copy.db" > /dev/null 2>&1 || die "backup for the full-disk checks"
if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
	unshare -m --propagation private env MICA="$MICA" FULL="$FULL" O="$O" bash -c '
		mount -t tmpfs -o size=1m,mode=0700 tmpfs "$FULL/mnt" || exit 99
		export MICA_PASSPHRASE="correct horse battery staple out"
		"$MICA" -d "$FULL/mnt/s" restore "$FULL/copy.db" > /dev/null 2>&1 || exit 98
		dd if=/dev/zero of="$FULL/mnt/fill" bs=4k 2>/dev/null
		run() { n=$1; shift; "$MICA" "$@" > /dev/null 2>"$FULL/$n.err"; echo $? > "$FULL/$n.rc"; }
		run list -d "$FULL/mnt/s" list
		run crl -d "$O" crl --out "$FULL/mnt/c.crl"
		run backup -d "$O" backup "$FULL/mnt/b.db"
		run restore -d "$FULL/mnt/r" restore "$FULL/copy.db"
		run publish -d "$O" publish "$FULL/mnt/pub"
		ls -A "$FULL/mnt" | tr "\n" " " > "$FULL/left"
	'
	rc=$?
	case $rc in
	0)
		# full_is NAME WHAT RC MESSAGE: NAME's exit and its one line.
		full_is() {
			is "$2 on a full disk: exit $3, one line on stderr" \
				"$(cat "$FULL/$1.rc") $(wc -l < "$FULL/$1.err")" "$3 1"
			grep -qF -- "$4" "$FULL/$1.err" && ok "... saying \"$4\"" ||
				fail "$2 on a full disk said: $(cat "$FULL/$1.err")"
		}
		full_is list "list on a store" 8 "the disk holding the certificate store is full"
		full_is crl "crl --out FILE" 1 "cannot write $FULL/mnt/c.crl: No space left on device"
		full_is backup "backup FILE" 8 "cannot write $FULL/mnt/b.db: the disk is full"
		full_is restore "restore into DIR" 8 "cannot write $FULL/mnt/r/mica.db.partial: the disk is full"
		full_is publish "publish OUTDIR" 1 "No space left on device"
		is "... and nothing is left of what failed" "$(cat "$FULL/left")" "fill s "
		;;
	*) fail "the full-disk set-up failed (exit $rc)" ;;
	esac
else
	skip "a full disk" "needs root and unshare -m"
fi

finish
