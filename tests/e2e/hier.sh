#!/bin/bash
# End-to-end: a CA hierarchy (issue 12), judged by relying parties that
# were not written here, each trusting the root alone: OpenSSL (verify
# -x509_strict with the chain untrusted), GnuTLS (certtool --verify and
# --verify-chain), NSS (certutil -V and vfychain, the root alone trusted
# in the database), Python's cryptography (tests/tools/pyverify.py: its
# path validator where it has one, else its primitives) and headless
# Chromium loading a site served by openssl s_server with leaf + chain.
#
# The ceremony: an offline root; an issuing CA from a CSR, signed by the
# root and installed; issuance through the daemon, which serves the chain
# (/ca.crt, /root.crt, /ca-chain.pem, /ca.p7b) and the root's imported
# CRL (/root.crl); name constraints that refuse what a stolen issuing key
# signs for another name, or for an IP address outside the ranges the
# root permits (every address when none: 0.0.0.0/0 and ::/0 excluded);
# revocation of a leaf and of the issuing CA;
# rollover of the issuing CA to a new key (both CRLs served); an RSA
# issuing CA's key revoked for keyCompromise refused under another public
# exponent; a new root cross-signed by the old (with no CRL or issuer
# URL to name, signed with a warning, as an issuing CA's is); an issuing
# CA under a root made by plain openssl (openssl ca -extensions v3_ca, a
# subjectKeyIdentifier of its own, the certificate delivered as a .p7b);
# roots made by GnuTLS's certtool that sign with RSASSA-PSS (an RSA-PSS
# key, an RSA key) and one with Ed25519, named as unsupported; leaves cut
# to a root that ends before the issuing CA; an issuing CA revoked by its
# root's CRL (or the intermediate above it), which then issues nothing
# until a rollover; a single-tier store of schema 4 that keeps working
# after the migration.
#
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/hier.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need openssl certtool certutil vfychain crlutil sqlite3 curl
SRC=${MICA_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ROGUE=${MICA_BUILDDIR:-$(dirname "$MICA")}/tests/tools/rogue_leaf
[ -x "$ROGUE" ] || die "tests/tools/rogue_leaf is not built (make check builds it)"
PYV="$SRC/tests/tools/pyverify.py"
python3 -c 'import cryptography.x509' 2>/dev/null ||
	die "python3 with cryptography is required (Debian: python3-cryptography)"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)

export MICA_PASSPHRASE="hier e2e passphrase"
W=$(mktmp)
cd "$W" || die "cd"

m() { "$MICA" "$@"; }
der_of() { openssl x509 -in "$1" -outform der -out "$2" 2>/dev/null; }
ski_of() { openssl x509 -in "$1" -noout -ext subjectKeyIdentifier | sed -n '2{s/[ :]//g;p}'; }
aki_of() { openssl x509 -in "$1" -noout -ext authorityKeyIdentifier | sed -n '2{s/[ :]//g;s/^keyid//;p}'; }
# fingerprints PEM: the SHA-256 fingerprints of its certificates, sorted.
fingerprints() {
	local d
	d=$(mktemp -d "$W/fp.XXXXXX")
	awk -v d="$d" '/BEGIN CERT/{n++} n{print > (d "/c." n)}' "$1"
	for f in "$d"/c.*; do openssl x509 -in "$f" -noout -fingerprint -sha256; done | sort
}
# csr NAME DNS: an EC P-256 server request in NAME.csr (key NAME.key).
csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
		-out "$1.csr" 2>/dev/null || die "openssl req $1"
}
# crls_pem OUT CRL...: the CRLs (DER or PEM) as one PEM file.
crls_pem() {
	local out=$1 f
	shift
	: > "$out"
	for f in "$@"; do
		if head -c 10 "$f" | grep -q -- '-----'; then cat "$f" >> "$out"
		else openssl crl -inform der -in "$f" >> "$out" 2>/dev/null; fi
	done
}

# ------------------------------------------------------------- judges --
#
# judge LABEL WANT ROOT LEAF CHAIN [CRL...]: each relying party, with ROOT
# alone trusted, CHAIN (PEM, untrusted) and the CRLs, must accept LEAF
# (WANT ok) or refuse it (WANT refuse).
judge() {
	local l=$1 want=$2 root=$3 leaf=$4 chain=$5 n got d
	shift 5
	local crls=("$@") oargs=() gargs=()
	d=$(mktemp -d "$W/j.XXXXXX")
	if [ ${#crls[@]} -gt 0 ]; then
		crls_pem "$d/crls.pem" "${crls[@]}"
		oargs=(-crl_check_all -CRLfile "$d/crls.pem")
		gargs=(--load-crl "$d/crls.pem")
	fi
	# OpenSSL
	if openssl verify -x509_strict -purpose sslserver -CAfile "$root" \
		-untrusted "$chain" "${oargs[@]}" "$leaf" >"$d/o" 2>&1; then got=ok; else got=refuse; fi
	is "$l: openssl verify -x509_strict ($(tail -1 "$d/o" | cut -c1-60))" "$got" "$want"
	# GnuTLS
	cat "$leaf" "$chain" > "$d/full.pem"
	if certtool --verify --load-ca-certificate "$root" "${gargs[@]}" \
		--infile "$d/full.pem" >"$d/g" 2>&1 &&
		grep -q 'Chain verification output: Verified' "$d/g"; then got=ok; else got=refuse; fi
	is "$l: certtool --verify ($(grep -m1 'verification output' "$d/g" | cut -c1-70))" "$got" "$want"
	if [ ${#crls[@]} -eq 0 ]; then
		# --verify-chain: the chain ends with the self-signed root.
		cat "$leaf" "$chain" "$root" > "$d/chain-root.pem"
		if certtool --verify-chain --infile "$d/chain-root.pem" >"$d/g2" 2>&1 &&
			grep -q 'Chain verification output: Verified' "$d/g2"; then got=ok; else got=refuse; fi
		is "$l: certtool --verify-chain" "$got" "$want"
	fi
	# NSS: a database where the root alone is trusted.
	mkdir -p "$d/nss"
	certutil -N -d "sql:$d/nss" --empty-password >/dev/null 2>&1
	certutil -A -d "sql:$d/nss" -n root -t C,, -i "$root" >/dev/null 2>&1
	awk -v d="$d" '/BEGIN CERT/{n++} n{print > (d "/chain." n ".pem")}' "$chain"
	n=0
	for f in "$d"/chain.*.pem; do
		[ -s "$f" ] || continue
		n=$((n + 1))
		certutil -A -d "sql:$d/nss" -n "ca$n" -t ,, -i "$f" >/dev/null 2>&1
		der_of "$f" "$d/ca$n.der"
	done
	certutil -A -d "sql:$d/nss" -n leaf -t ,, -i "$leaf" >/dev/null 2>&1
	for f in "${crls[@]}"; do
		if head -c 10 "$f" | grep -q -- '-----'; then
			openssl crl -in "$f" -outform der -out "$d/crl.der" 2>/dev/null
		else cp "$f" "$d/crl.der"; fi
		crlutil -I -d "sql:$d/nss" -i "$d/crl.der" -B >/dev/null 2>&1
	done
	if certutil -V -d "sql:$d/nss" -n leaf -u V >"$d/n" 2>&1 && grep -q 'certificate is valid' "$d/n"; then
		got=ok; else got=refuse; fi
	is "$l: NSS certutil -V ($(cut -c1-60 "$d/n" | head -1))" "$got" "$want"
	if [ ${#crls[@]} -eq 0 ]; then
		der_of "$leaf" "$d/leaf.der"
		if vfychain -d "sql:$d/nss" -pp -u 1 "$d/leaf.der" "$d"/ca*.der >"$d/v" 2>&1 &&
			grep -q 'Chain is good' "$d/v"; then got=ok; else got=refuse; fi
		is "$l: NSS vfychain -pp" "$got" "$want"
	fi
	# Python's cryptography
	if python3 "$PYV" "$root" "$leaf" "$chain" "${crls[@]}" >"$d/p" 2>&1; then got=ok; else got=refuse; fi
	is "$l: python cryptography ($(head -1 "$d/p" | cut -c1-60))" "$got" "$want"
}

# chromium_judge LABEL WANT ROOT CERT KEY CHAIN HOST: headless Chromium,
# whose NSS database trusts ROOT alone, loads https://HOST/ from openssl
# s_server serving CERT with CHAIN on loopback.
chromium_judge() {
	local l=$1 want=$2 root=$3 cert=$4 key=$5 chain=$6 host=$7 home got
	if [ -z "$CHROMIUM" ]; then skip "$l: Chromium" "chromium is not installed"; return; fi
	home=$(mktemp -d "$W/chr.XXXXXX")
	mkdir -p "$home/.pki/nssdb"
	certutil -N -d "sql:$home/.pki/nssdb" --empty-password >/dev/null 2>&1
	certutil -A -d "sql:$home/.pki/nssdb" -n root -t C,, -i "$root" >/dev/null 2>&1
	s_server_start "$home/s_server.log" -www -cert "$cert" -key "$key" -cert_chain "$chain" ||
		{ fail "$l: s_server did not start: $(head -3 "$home/s_server.log")"; return; }
	HOME=$home timeout $((60 * TIME_SCALE)) "$CHROMIUM" --headless=new --no-sandbox \
		--disable-gpu --no-first-run --user-data-dir="$home/ud" \
		--host-resolver-rules="MAP $host 127.0.0.1" \
		--dump-dom "https://$host:$S_SERVER_PORT/" >"$home/dom" 2>"$home/err"
	s_server_stop
	# s_server -www's page repeats its command line.
	if grep -q 's_server -accept .* -www' "$home/dom"; then got=ok; else got=refuse; fi
	is "$l: headless Chromium $([ "$want" = ok ] && echo loads || echo refuses) https://$host/" "$got" "$want"
}

# ca_cnf DIR CERT KEY NUMBER: an openssl ca of CERT and KEY (paths, or
# names under $dir, the configuration's DIR) in DIR (its database, next
# serial and CRL number NUMBER), DIR/ca.cnf ending in its section, for the
# caller to add to.
ca_cnf() {
	local d=$1 cert=$2 key=$3 number=$4
	mkdir -p "$d/newcerts"
	: > "$d/index.txt"
	echo "$number" > "$d/serial"
	echo "$number" > "$d/crlnumber"
	cat > "$d/ca.cnf" <<EOF
[ ca ]
default_ca = ca_default
[ ca_default ]
dir = $W/$d
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $cert
private_key = $key
default_md = sha256
default_crl_days = 30
EOF
}

# org_root DIR SERIAL SUBJECT DAYS KEYOPT...: an organisation's own root
# made with plain openssl in DIR (root.pem, root.key) and an 'openssl ca'
# configuration for it, DIR/ca.cnf, serials and CRL numbers from SERIAL;
# the caller appends its [ v3_... ] sections.
org_root() {
	local d=$1 serial=$2 subj=$3 days=$4
	shift 4
	mkdir -p "$d"
	openssl req -x509 -newkey "$@" -nodes -keyout "$d/root.key" -subj "$subj" -days "$days" \
		-addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$d/root.pem" 2>/dev/null || die "openssl root ($d)"
	# Named by the configuration's dir (openssl expands it): a copy of
	# ca.cnf with another dir signs with that dir's root.pem and key.
	ca_cnf "$d" '$dir/root.pem' '$dir/root.key' "$serial"
	cat >> "$d/ca.cnf" <<EOF
default_days = 730
policy = policy_anything
copy_extensions = copy
unique_subject = no
[ policy_anything ]
organizationName = optional
commonName = supplied
EOF
}

# --------------------------------------------------- 1. the offline root --

expect_rc "init --root-only" 0 m -d R init --name "Contoso Root CA" --root-only
m -d R export-root --out root.pem
openssl x509 -in root.pem -noout -text > root.txt
grep -q 'CA:TRUE' root.txt && ok "the offline root is a self-signed CA" || fail "root is not a CA"
m -d R crl --pem 2>/dev/null | openssl crl -noout -text 2>/dev/null | grep -q 'Next Update' &&
	ok "the root publishes its CRL" || fail "root crl"
NU=$(m -d R crl --pem 2>/dev/null | openssl crl -noout -nextupdate | cut -d= -f2)
DAYS=$(( ($(date -d "$NU" +%s) - $(date +%s)) / 86400 ))
[ "$DAYS" -ge 170 ] && ok "its CRL lasts about six months ($DAYS days)" || fail "root CRL nextUpdate in $DAYS days"
serve_ports
expect_rc "serve refuses an offline root (6)" 6 "$MICA" -d R serve --http "127.0.0.1:$HP" --https none
grep -q 'offline root' "$TMP/rc.err" && ok "... saying so" || fail "no reason given"
csr web www.contoso.test
expect_rc "an offline root issues no leaf (6)" 6 m -d R issue --csr web.csr
expect_rc "init --root-only takes no --domain (2)" 2 m -d R2x init --name X --root-only --domain contoso.test

# ------------------------------------------ 2. an issuing CA from a CSR --

expect_rc "init --subordinate" 0 m -d I init --subordinate --name "Contoso Issuing CA 1" \
	--domain contoso.test --public-url "$H" --csr-out issuing.csr
openssl req -in issuing.csr -noout -verify >/dev/null 2>&1 && ok "its request verifies" || fail "CSR signature"
openssl req -in issuing.csr -noout -text > issuing.csr.txt
grep -q 'CA:TRUE, pathlen:0' issuing.csr.txt && ok "it asks for a CA certificate, path length 0" || fail "CSR basicConstraints"
grep -q 'DNS:contoso.test' issuing.csr.txt && ok "it asks for its domains as name constraints" || fail "CSR nameConstraints"
grep -q "URI:$H/root.crl" issuing.csr.txt && ok "it asks for the root's CRL at its own URL" || fail "CSR CDP"
expect_rc "it awaits its certificate: no issuance (6)" 6 m -d I issue --csr web.csr
expect_rc "... and no serve (6)" 6 "$MICA" -d I serve --http "127.0.0.1:$HP" --https none
grep -q 'awaits its certificate' "$TMP/rc.err" && ok "... saying so" || fail "no reason given"
expect_rc "a CA awaiting its certificate signs no CA (6)" 6 m -d I sign-ca --csr issuing.csr --out x.crt

# ---------------------------------------------------- 3. sign-ca, install --

expect_rc "sign-ca on the root" 0 m -d R sign-ca --csr issuing.csr --out issuing.crt
openssl x509 -in issuing.crt -noout -text > issuing.txt
grep -A1 'Basic Constraints: critical' issuing.txt | grep -q 'CA:TRUE, pathlen:0' &&
	ok "CA:TRUE, pathlen:0, critical" || fail "basicConstraints"
grep -q 'Name Constraints: critical' issuing.txt && grep -A3 'Permitted' issuing.txt | grep -q 'DNS:contoso.test' &&
	ok "critical name constraints: permitted DNS contoso.test" || fail "nameConstraints"
grep -q "URI:$H/root.crl" issuing.txt && ok "its CDP is the root's CRL at /root.crl" || fail "CDP"
# The issuing CA's URL is an address: it asks for that one (its daemon's
# certificate names it), and sign-ca copies it and excludes all of IPv6.
grep -A8 'Name Constraints' issuing.csr.txt | grep -q 'IP:127.0.0.1/255.255.255.255' &&
	ok "the request asks for its URL's address as a range of one" || fail "CSR IP range"
grep -A4 'Permitted' issuing.txt | grep -q 'IP:127.0.0.1/255.255.255.255' &&
	ok "sign-ca copies the requested range" || fail "IP range not copied"
is "... and excludes every IPv6 address, no IPv4 one" \
	"$(sed -n '/Excluded:/,/X509v3 Subject Key/p' issuing.txt | grep -c 'IP:')/$(grep -c 'IP:0:0:0:0:0:0:0:0/0:0:0:0:0:0:0:0' issuing.txt)" 1/1
is "its AKI is the root's SKI" "$(aki_of issuing.crt)" "$(ski_of root.pem)"
openssl verify -x509_strict -CAfile root.pem issuing.crt >/dev/null 2>&1 &&
	ok "openssl verifies it against the root" || fail "issuing CA does not verify"
expect_rc "mica renew of a CA certificate is refused, pointing to sign-ca (6)" 6 \
	m -d R renew "$(serial_of issuing.crt)"
grep -q "sign-ca" "$TMP/rc.err" && ok "... and says to use sign-ca" || fail "renew of a CA: $(cat "$TMP/rc.err")"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout plain.key \
	-subj "/CN=Plain Sub CA" -out plain.csr 2>/dev/null
expect_rc "sign-ca refuses a request without name constraints and no --permit (4)" 4 \
	m -d R sign-ca --csr plain.csr --out plain.crt
expect_rc "... and signs it with --permit" 0 m -d R sign-ca --csr plain.csr --out plain.crt --permit example.test
# A CA named as the root in other capitals, spacing or string type would
# be self-issued to relying parties, which then let it sign CAs despite
# its pathlen:0 (OpenSSL and NSS do). PrintableString: string_mask.
printf '[req]\ndistinguished_name=dn\nstring_mask=nombstr\n[dn]\n' > nombstr.cnf
for same in "/CN=Contoso Root CA" "/CN=CONTOSO ROOT CA" "/CN=Contoso  Root CA"; do
	openssl req -new -key plain.key -config nombstr.cnf -subj "$same" -out same.csr 2>/dev/null
	expect_rc "sign-ca refuses a CA named '${same#/CN=}' under 'Contoso Root CA' (3)" 3 \
		m -d R sign-ca --csr same.csr --out same.crt --permit example.test
done
grep -q "relying parties take CN=Contoso  Root CA for this CA's name" "$TMP/rc.err" &&
	ok "... saying relying parties take it for the root's name" || fail "same name: $(cat "$TMP/rc.err")"
[ ! -e same.crt ] && ok "... and writes no certificate" || fail "same.crt written"
# sign-ca copies the subject as it is: a value with blanks around it (zlint
# warns) or a control character is refused, as in any free text.
openssl req -new -key plain.key -subj "/CN= Spacey CA /O=Contoso" -out spacey.csr 2>/dev/null
expect_rc "sign-ca refuses a subject value with blanks around it (3)" 3 \
	m -d R sign-ca --csr spacey.csr --out spacey.crt --permit example.test
grep -q "a value of its subject: the value begins or ends with white space" "$TMP/rc.err" &&
	ok "... saying so" || fail "spacey subject: $(cat "$TMP/rc.err")"
printf '[req]\ndistinguished_name=dn\nstring_mask=MASK:0x800\n[dn]\n' > bmp.cnf
openssl req -new -key plain.key -config bmp.cnf -subj "/CN= Spacey BMP CA/O=Contoso" -out spacebmp.csr 2>/dev/null
openssl asn1parse -in spacebmp.csr | grep -q BMPSTRING || fail "openssl made no BMPString subject"
expect_rc "... a BMPString value with blanks around it too (3)" 3 \
	m -d R sign-ca --csr spacebmp.csr --out spacebmp.crt --permit example.test
openssl req -new -key plain.key -subj "/CN=Spaced  Inside CA/O=Contoso" -out inside.csr 2>/dev/null
expect_rc "... but signs one with spaces inside a value" 0 \
	m -d R sign-ca --csr inside.csr --out inside.crt --permit example.test

expect_rc "install-ca needs --chain the first time (2)" 2 m -d I install-ca --cert issuing.crt
expect_rc "install-ca refuses a certificate for another key (3)" 3 m -d I install-ca --cert plain.crt --chain root.pem
m -d R2 init --name "Other Root" --root-only >/dev/null
m -d R2 export-root --out other-root.pem
expect_rc "install-ca refuses a chain to another root (3)" 3 m -d I install-ca --cert issuing.crt --chain other-root.pem
grep -q 'chain' "$TMP/rc.err" && ok "... naming the missing link" || fail "no reason"
expect_rc "install-ca refuses a root that is not a CA's chain (3)" 3 m -d I install-ca --cert root.pem --chain root.pem
# The root's CRL, taken for its certificate (root.crl beside root.crt):
# named as what it is, DER or PEM.
m -d R crl --out root-arl.crl >/dev/null 2>&1
m -d R crl --pem --out root-arl.pem >/dev/null 2>&1
expect_rc "install-ca refuses a CRL given as the chain (3)" 3 m -d I install-ca --cert issuing.crt --chain root-arl.crl
grep -q 'this is a CRL, not a certificate' "$TMP/rc.err" && ok "... saying it is a CRL" ||
	fail "CRL as chain: $(cat "$TMP/rc.err")"
expect_rc "... a PEM CRL too (3)" 3 m -d I install-ca --cert issuing.crt --chain root-arl.pem
grep -q 'the file holds a CRL, not a certificate' "$TMP/rc.err" && ok "... saying so" ||
	fail "PEM CRL as chain: $(cat "$TMP/rc.err")"
expect_rc "install-ca with the chain" 0 m -d I install-ca --cert issuing.crt --chain root.pem
check "... the first certificate: no restart to ask for" sh -c "! grep -q restart '$TMP/rc.err'"
# The command line's own plain lines, no log line (time, level) among them.
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T|(^| )(info|debug):' "$TMP/rc.err" &&
	fail "... it wrote a log line: $(cat "$TMP/rc.err")" || ok "... in plain lines, no log line among them"
is "... saying once what it installed" "$(grep -c '^installed the CA certificate' "$TMP/rc.err")" 1
is "... naming the certificate's subject" "$(grep '^installed the CA certificate' "$TMP/rc.err")" \
	'installed the CA certificate of "CN=Contoso Issuing CA 1"'
n_audit=$(sqlite3 I/mica.db 'SELECT count(*) FROM audit')
expect_rc "install-ca of the installed certificate again: a conflict (6)" 6 \
	m -d I install-ca --cert issuing.crt --chain root.pem
check "... saying so" grep -q "is the one installed already" "$TMP/rc.err"
is "... and no renewal in the audit trail" "$(sqlite3 I/mica.db 'SELECT count(*) FROM audit')" "$n_audit"
m -d I export-root --out i-root.pem
cmp -s i-root.pem root.pem && ok "export-root gives the root" || fail "export-root"
m -d I export-chain --out chain.pem
is "export-chain: the issuing CA and the root" "$(grep -c 'BEGIN CERT' chain.pem)" 2
cmp -s <(openssl x509 -in chain.pem) <(openssl x509 -in issuing.crt) && ok "... the issuing CA first" || fail "chain order"
m -d I export-chain --p7b --out chain.p7b
openssl pkcs7 -inform der -in chain.p7b -print_certs -noout > p7.txt 2>&1 &&
	[ "$(grep -c '^subject=' p7.txt)" = 2 ] && ok "openssl pkcs7 -print_certs reads export-chain --p7b" || fail "p7b (openssl)"

# ----------------------------------------------------------- 4. serving --

ADM=$(m -d I token create --admin --comment "hier test") || die "admin token"
ENR=$(m -d I token create --enroll --uses -1 --comment "hier test") || die "enroll token"
serve_start "$W/serve.out" I MICA_PASSPHRASE="$MICA_PASSPHRASE" -- || serve_failed "$W/serve.out"
grep -q '^issuing CA: Contoso Issuing CA 1' "$W/serve.out" && ok "serve says it is an issuing CA" || fail "banner"
# The banner names what the daemon's own certificate has (OpenSSL reads
# it): under a root, "localhost" is outside the name constraints and left out.
TLS_SAN=$(echo | openssl s_client -connect "127.0.0.1:$SP" 2>/dev/null |
	openssl x509 -noout -ext subjectAltName 2>/dev/null |
	sed -n '2{s/DNS://g;s/IP Address://g;s/^ *//;p}')
BANNER_NAMES=$(sed -n 's/^https: .*; certificate for \(.*\))$/\1/p' "$W/serve.out")
is "the banner names the TLS certificate's names" "$BANNER_NAMES" "$TLS_SAN"
fetch() { # fetch PATH OUT: body to OUT, "code type" on stdout
	curl -s -o "$2" -w '%{http_code} %{content_type}' "$H$1"
}
is "/ca.crt is the issuing CA (DER)" "$(fetch /ca.crt ca.der)" "200 application/pkix-cert"
cmp -s ca.der <(openssl x509 -in issuing.crt -outform der) && ok "... byte for byte" || fail "/ca.crt is not the issuing CA"
is "/root.crt is the root" "$(fetch /root.crt r.der)" "200 application/pkix-cert"
cmp -s r.der <(openssl x509 -in root.pem -outform der) && ok "... byte for byte" || fail "/root.crt"
is "/root.pem" "$(fetch /root.pem r.pem)" "200 application/x-pem-file"
is "/ca-chain.pem" "$(fetch /ca-chain.pem served-chain.pem)" "200 application/x-pem-file"
cmp -s served-chain.pem chain.pem && ok "... the chain" || fail "/ca-chain.pem"
is "/ca.p7b is PKCS#7 certs-only" "$(fetch /ca.p7b served.p7b)" "200 application/x-pkcs7-certificates"
openssl pkcs7 -inform der -in served.p7b -print_certs -out p7-certs.pem 2>/dev/null &&
	[ "$(grep -c 'BEGIN CERT' p7-certs.pem)" = 2 ] && ok "openssl pkcs7 -print_certs: 2 certificates" || fail "p7b (openssl)"
certtool --p7-info --inder --infile served.p7b > p7g.txt 2>&1 &&
	grep -q 'Number of certificates: 2' p7g.txt && ok "certtool --p7-info: 2 certificates" || fail "p7b (GnuTLS)"
is "/ca.p7b holds the issuing CA and the root" "$(fingerprints p7-certs.pem)" "$(fingerprints chain.pem)"
etag_of() { # etag_of PATH: the ETag a GET of PATH carries
	curl -s -o /dev/null -D - "$H$1" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p'
}
for f in /root.crt /root.pem /ca-chain.pem /ca.p7b /ca/0.crt; do
	T=$(etag_of "$f")
	CODE=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -H "If-None-Match: $T" "$H$f")
	[ -n "$T" ] && [ "$CODE" = "304 0" ] && ok "$f: an ETag, and 304 with it" ||
		fail "$f: ETag '$T', with it: $CODE"
done
CHAIN_ETAG=$(etag_of /ca-chain.pem)
P7B_ETAG=$(etag_of /ca.p7b)
is "/root.crl before any import: 404" "$(fetch /root.crl x | cut -d' ' -f1)" 404
CODE=$(curl -s -o /dev/null -w '%{http_code}' --cacert root.pem "$S/healthz")
is "HTTPS with the root alone: the daemon sends its chain" "$CODE" 200

# Issuance through the API.
jq_csr() { python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' "$1"; }
issue_api() { # issue_api NAME DNS: NAME.pem and NAME.json
	csr "$1" "$2"
	jq_csr "$1.csr" | curl -s -o "$1.json" -w '%{http_code}' --cacert root.pem \
		-H "Authorization: Bearer $ENR" -H 'Content-Type: application/json' \
		--data-binary @- "$S/api/v1/requests"
	json_get "$1.json" certificate > "$1.pem"
}
is "the daemon issues www.contoso.test (201)" "$(issue_api web www.contoso.test)" 201
python3 - web.json > web.chain.txt <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(len(r["chain"]))
for c in r["chain"]:
    sys.stdout.write(c)
PY
is "the answer's chain: the issuing CA and the root" "$(head -1 web.chain.txt)" 2
tail -n +2 web.chain.txt > web.chain.pem
cmp -s web.chain.pem chain.pem && ok "... as /ca-chain.pem" || fail "JSON chain differs"
openssl x509 -in web.pem -noout -text > web.txt
grep -q "CA Issuers - URI:$H/ca.crt" web.txt && ok "the leaf names the issuing CA in caIssuers" || fail "AIA"
grep -q "URI:$H/crl" web.txt && ok "... and its CRL in the CDP" || fail "CDP"
is "the leaf's AKI is the issuing CA's SKI" "$(aki_of web.pem)" "$(ski_of issuing.crt)"
issuing_only() { openssl x509 -in issuing.crt; }
issuing_only > issuing.pem
judge "leaf under the issuing CA" ok root.pem web.pem issuing.pem
chromium_judge "leaf + chain" ok root.pem web.pem web.key issuing.pem www.contoso.test
chromium_judge "leaf without the root trusted" refuse other-root.pem web.pem web.key issuing.pem www.contoso.test

# ------------------------------------------------ 5. name constraints --

"$ROGUE" I www.fabrikam.test rogue.pem rogue.key 2>"$W/rogue.err" ||
	{ cat "$W/rogue.err" >&2; die "rogue_leaf"; }
openssl verify -CAfile root.pem -untrusted issuing.pem -no_check_time rogue.pem >/dev/null 2>&1
openssl x509 -in rogue.pem -noout -text | grep -q 'DNS:www.fabrikam.test' &&
	ok "the issuing key signs www.fabrikam.test behind mica's back" || fail "rogue leaf"
judge "a stolen issuing key's www.fabrikam.test" refuse root.pem rogue.pem issuing.pem
chromium_judge "www.fabrikam.test from the stolen key" refuse root.pem rogue.pem rogue.key issuing.pem www.fabrikam.test
"$ROGUE" I in.contoso.test inside.pem inside.key 2>/dev/null || die "rogue_leaf (inside)"
judge "the same helper's in.contoso.test (control)" ok root.pem inside.pem issuing.pem
m -d I domain add fabrikam.test >/dev/null 2>"$W/dadd.err" || fail "domain add fabrikam.test"
grep -q "warning: fabrikam.test is outside the name constraints of this CA's certificate" "$W/dadd.err" &&
	ok "domain add outside the name constraints: added, with a warning" || fail "domain add said: $(cat "$W/dadd.err")"
m -d I domain add mail.contoso.test 2>"$W/dadd.err" >/dev/null || fail "domain add mail.contoso.test"
check "... and none for a domain inside them" test ! -s "$W/dadd.err"
m -d I domain remove mail.contoso.test >/dev/null
csr fab www.fabrikam.test
expect_rc "mica itself refuses a name outside its name constraints (4)" 4 m -d I issue --csr fab.csr
grep -q 'name constraints' "$TMP/rc.err" && ok "... saying why" || fail "no reason"
m -d I domain remove fabrikam.test >/dev/null
# An ipsec certificate (serverAuth among its purposes) named by an email
# address alone: GnuTLS and NSS check a CN against the dNSName subtrees,
# and refused CN=alice@contoso.test; the address goes in the SAN alone.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ipsec-mail.key \
	-subj "/CN=alice@contoso.test" -addext "subjectAltName=email:alice@contoso.test" \
	-out ipsec-mail.csr 2>/dev/null
if m -d I issue --csr ipsec-mail.csr --profile ipsec --out ipsec-mail.pem >/dev/null 2>"$W/ipsec.err"; then
	is "an ipsec certificate for an email address under constraints: empty subject" \
		"$(openssl x509 -in ipsec-mail.pem -noout -subject -nameopt RFC2253)" "subject="
	openssl x509 -in ipsec-mail.pem -noout -text | grep -A1 'Subject Alternative Name' | grep -q critical &&
		ok "... and a critical SAN (RFC 5280 4.2.1.6)" || fail "the SAN is not critical"
	judge "an ipsec certificate for alice@contoso.test" ok root.pem ipsec-mail.pem issuing.pem
else
	fail "mica issue --profile ipsec for alice@contoso.test: $(cat "$W/ipsec.err")"
fi

# ------------------------------ 5b. IP addresses under name constraints --
#
# CA/Browser Forum BR 7.1.2.10.8: an address family the root permits no
# range of is excluded whole (0.0.0.0/0, ::/0); without that a stolen
# issuing key could certify any address.

# ip_csr NAME ADDR: a server request for the address ADDR alone.
ip_csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -subj "/O=Contoso" -addext "subjectAltName=IP:$2" \
		-out "$1.csr" 2>/dev/null || die "openssl req $1"
}
# sub_ca DIR NAME CSR: an issuing CA awaiting its certificate (its URL a
# DNS name: it asks for no address).
sub_ca() {
	m -d "$1" init --subordinate --name "$2" --domain contoso.test \
		--public-url "http://$1.contoso.test" --csr-out "$3" >/dev/null 2>&1 ||
		die "init --subordinate $2"
}

# An issuing CA whose URL is an address needs a permitted subtree for
# it: with the most domains (32) there is none left, and the address
# would be excluded with every other; refused, nothing made.
doms=()
for i in $(seq 32); do doms+=(--domain "d$i.contoso.test"); done
expect_rc "init --subordinate with 32 domains and an IP address URL: exit 2" 2 \
	m -d N32 init --subordinate --name "Contoso 32 CA" "${doms[@]}" \
	--public-url http://192.0.2.7:8080 --csr-out n32.csr
grep -q "at most 31 domains with an IP address URL" "$TMP/rc.err" &&
	ok "... saying at most 31 domains" || fail "... it said: $(cat "$TMP/rc.err")"
[ ! -e N32 ] && [ ! -e n32.csr ] && ok "... making nothing" || fail "... left N32 or n32.csr"
expect_rc "... 31 domains: exit 0" 0 \
	m -d N31 init --subordinate --name "Contoso 31 CA" "${doms[@]:0:62}" \
	--public-url http://192.0.2.7:8080 --csr-out n31.csr
openssl req -in n31.csr -noout -text 2>/dev/null | grep -q 'IP:192.0.2.7/255.255.255.255' &&
	ok "... asking for its address" || fail "n31.csr does not ask for 192.0.2.7/32"

sub_ca NI "Contoso No-IP CA" noip.csr
expect_rc "sign-ca --permit contoso.test (no address range)" 0 \
	m -d R sign-ca --csr noip.csr --out noip.crt --permit contoso.test
openssl x509 -in noip.crt -noout -text > noip.txt
sed -n '/Excluded:/,/X509v3 Subject Key/p' noip.txt > noip.ex
check "openssl x509 -text: IPv4 excluded whole (0.0.0.0/0)" grep -q 'IP:0.0.0.0/0.0.0.0' noip.ex
check "... and IPv6 (::/0)" grep -q 'IP:0:0:0:0:0:0:0:0/0:0:0:0:0:0:0:0' noip.ex
certtool -i --infile noip.crt > noip.gtxt 2>&1
sed -n '/Excluded:/,/Subject Key/p' noip.gtxt > noip.gex
check "certtool -i: Excluded IPAddress 0.0.0.0/0" grep -q 'IPAddress: 0.0.0.0/0$' noip.gex
check "... and IPAddress ::/0" grep -q 'IPAddress: ::/0$' noip.gex
expect_rc "install-ca of it" 0 m -d NI install-ca --cert noip.crt --chain root.pem
openssl x509 -in noip.crt > noip.pem
"$ROGUE" NI 10.1.2.3 rogue-ip.pem rogue-ip.key 2>"$W/rogue.err" ||
	{ cat "$W/rogue.err" >&2; die "rogue_leaf (10.1.2.3)"; }
openssl x509 -in rogue-ip.pem -noout -ext subjectAltName | grep -q 'IP Address:10.1.2.3' &&
	ok "its key signs a leaf for 10.1.2.3 behind mica's back" || fail "rogue IP leaf"
if openssl verify -x509_strict -purpose sslserver -CAfile root.pem -untrusted noip.pem \
	rogue-ip.pem >rogue-ip.v 2>&1; then fail "openssl verify accepts the stolen key's 10.1.2.3"
else check "openssl verify refuses it: excluded subtree violation" grep -q 'excluded subtree violation' rogue-ip.v; fi
judge "a stolen key's 10.1.2.3, no range permitted" refuse root.pem rogue-ip.pem noip.pem
ip_csr ip1 10.1.2.3
expect_rc "mica refuses to issue 10.1.2.3 under it (4)" 4 m -d NI issue --csr ip1.csr --out x.pem
check "... outside the name constraints, it says" grep -q "10.1.2.3 is outside this CA certificate's name constraints" "$TMP/rc.err"
is "... and records nothing" "$(sqlite3 NI/mica.db 'SELECT count(*) FROM certificate')" 0

sub_ca RI "Contoso Ranged CA" ranged.csr
expect_rc "sign-ca refuses --permit 10.0.0.1/8: a bit set after the prefix (2)" 2 \
	m -d R sign-ca --csr ranged.csr --out x.crt --permit contoso.test --permit 10.0.0.1/8
check "... naming the range meant" grep -q 'the range is 10.0.0.0/8' "$TMP/rc.err"
expect_rc "... --permit 10.0.0.0/33 (2)" 2 \
	m -d R sign-ca --csr ranged.csr --out x.crt --permit contoso.test --permit 10.0.0.0/33
expect_rc "... --permit 2001:db8::/129 (2)" 2 \
	m -d R sign-ca --csr ranged.csr --out x.crt --permit contoso.test --permit 2001:db8::/129
expect_rc "... an address without its prefix length (2)" 2 \
	m -d R sign-ca --csr ranged.csr --out x.crt --permit contoso.test --permit 192.0.2.7
check "... saying to give it as /32" grep -q '192.0.2.7/32' "$TMP/rc.err"
expect_rc "... a range without a domain: DNS names would be open (2)" 2 \
	m -d R sign-ca --csr ranged.csr --out x.crt --permit 10.0.0.0/8
is "... and nothing is recorded for them" "$(m -d R list 2>/dev/null | grep -c 'Contoso Ranged CA')" 0
expect_rc "sign-ca --permit contoso.test --permit 10.0.0.0/8" 0 \
	m -d R sign-ca --csr ranged.csr --out ranged.crt --permit contoso.test --permit 10.0.0.0/8
openssl x509 -in ranged.crt -noout -text > ranged.txt
check "openssl x509 -text: permitted IP:10.0.0.0/255.0.0.0" sh -c \
	"sed -n '/Permitted:/,/Excluded:/p' ranged.txt | grep -q 'IP:10.0.0.0/255.0.0.0'"
is "... excluded: IPv6 alone" "$(sed -n '/Excluded:/,/X509v3 Subject Key/p' ranged.txt | grep 'IP:' | tr -d ' ')" \
	"IP:0:0:0:0:0:0:0:0/0:0:0:0:0:0:0:0"
certtool -i --infile ranged.crt > ranged.gtxt 2>&1
check "certtool -i: Permitted IPAddress 10.0.0.0/8" grep -q 'IPAddress: 10.0.0.0/8$' ranged.gtxt
check "... Excluded IPAddress ::/0" grep -q 'IPAddress: ::/0$' ranged.gtxt
expect_rc "install-ca of it" 0 m -d RI install-ca --cert ranged.crt --chain root.pem
openssl x509 -in ranged.crt > ranged.pem
expect_rc "mica issues 10.1.2.3 under it" 0 m -d RI issue --csr ip1.csr --out ip-in.pem
openssl x509 -in ip-in.pem -noout -ext subjectAltName | grep -q 'IP Address:10.1.2.3' &&
	ok "... with the address in its subjectAltName" || fail "no IP SAN"
if openssl verify -x509_strict -purpose sslserver -CAfile root.pem -untrusted ranged.pem \
	ip-in.pem >ip-in.v 2>&1; then ok "openssl verify accepts it"
else fail "openssl verify refuses 10.1.2.3 under 10.0.0.0/8: $(tail -1 ip-in.v)"; fi
judge "10.1.2.3 under 10.0.0.0/8" ok root.pem ip-in.pem ranged.pem
ip_csr ip2 192.0.2.1
expect_rc "mica refuses 192.0.2.1 under it (4)" 4 m -d RI issue --csr ip2.csr --out x.pem
check "... outside the name constraints, it says" grep -q "192.0.2.1 is outside this CA certificate's name constraints" "$TMP/rc.err"
"$ROGUE" RI 192.0.2.1 rogue-ip2.pem rogue-ip2.key 2>/dev/null || die "rogue_leaf (192.0.2.1)"
if openssl verify -x509_strict -purpose sslserver -CAfile root.pem -untrusted ranged.pem \
	rogue-ip2.pem >rogue-ip2.v 2>&1; then fail "openssl verify accepts the stolen key's 192.0.2.1"
else check "openssl verify refuses the stolen key's 192.0.2.1: permitted subtree violation" \
	grep -q 'permitted subtree violation' rogue-ip2.v; fi
# GnuTLS judges an IPv6 address by IPv6 subtrees only: without ::/0
# excluded it would take this one.
"$ROGUE" RI 2001:db8::1 rogue-ip6.pem rogue-ip6.key 2>/dev/null || die "rogue_leaf (2001:db8::1)"
judge "a stolen key's 2001:db8::1 under 10.0.0.0/8" refuse root.pem rogue-ip6.pem ranged.pem

# Another CA's request (openssl req) that asks for ranges: copied when
# they are ranges, refused when a mask is not a prefix.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout oreq.key \
	-subj "/CN=Requested Ranges CA" -addext "basicConstraints=critical,CA:true,pathlen:0" \
	-addext "nameConstraints=critical,permitted;DNS:example.test,permitted;IP:192.0.2.0/255.255.255.0,permitted;IP:2001:db8::/ffff:ffff::" \
	-out oreq.csr 2>/dev/null || die "openssl req (ranges)"
expect_rc "sign-ca copies another request's ranges" 0 m -d R sign-ca --csr oreq.csr --out oreq.crt
openssl x509 -in oreq.crt -noout -text > oreq.txt
check "... 192.0.2.0/24 and 2001:db8::/32, no exclusion" sh -c \
	"grep -q 'IP:192.0.2.0/255.255.255.0' oreq.txt && grep -q 'IP:2001:DB8:0:0:0:0:0:0/FFFF:FFFF:0:0:0:0:0:0' oreq.txt && ! grep -q Excluded oreq.txt"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout oreq2.key \
	-subj "/CN=Holed Ranges CA" -addext "basicConstraints=critical,CA:true,pathlen:0" \
	-addext "nameConstraints=critical,permitted;DNS:example.test,permitted;IP:10.0.0.0/255.0.255.0" \
	-out oreq2.csr 2>/dev/null || die "openssl req (holed)"
expect_rc "sign-ca refuses a requested mask that is not a prefix (3)" 3 m -d R sign-ca --csr oreq2.csr --out x.crt
check "... saying so" grep -q 'not an address range' "$TMP/rc.err"

# -------------------------------------------------- 6. revoking a leaf --

is "a second leaf (201)" "$(issue_api app app.contoso.test)" 201
is "a third, kept to the end (201)" "$(issue_api keep keep.contoso.test)" 201
SER=$(serial_of web.pem)
CODE=$(curl -s -o /dev/null -w '%{http_code}' --cacert root.pem -H "Authorization: Bearer $ADM" \
	-H 'Content-Type: application/json' -d '{"reason":"keyCompromise"}' "$S/api/v1/certificates/$SER/revoke")
is "revoke the first leaf (200)" "$CODE" 200
fetch /crl icrl.der >/dev/null
openssl crl -inform der -in icrl.der -noout -text | grep -qi "$SER" &&
	ok "/crl lists it" || fail "/crl does not list it"
openssl crl -inform der -in icrl.der -noout -CAfile chain.pem 2>&1 | grep -q 'verify OK' &&
	ok "/crl is signed by the issuing CA" || fail "/crl signature"
m -d R crl --out arl.der
expect_rc "import-crl: the root's CRL" 0 m -d I import-crl arl.der
expect_rc "... not twice (6)" 6 m -d I import-crl arl.der
expect_rc "... nor a CRL of no CA of the chain (3)" 3 m -d I import-crl icrl.der
m -d R2 crl --out other.crl
expect_rc "... nor another root's (3)" 3 m -d I import-crl other.crl
is "/root.crl serves it" "$(fetch /root.crl served-arl.der)" "200 application/pkix-crl"
cmp -s served-arl.der arl.der && ok "... byte for byte" || fail "/root.crl differs"
judge "the revoked leaf, with both CRLs" refuse root.pem web.pem issuing.pem icrl.der served-arl.der
judge "the other leaf, with both CRLs" ok root.pem app.pem issuing.pem icrl.der served-arl.der
serve_stop

# ----------------------------------------- 7. rollover to a new key --

expect_rc "renew-ca --new-key" 0 m -d I renew-ca --new-key --csr-out next.csr
expect_rc "asked again, the same request" 0 m -d I renew-ca --new-key --csr-out next2.csr
cmp -s next.csr next2.csr && ok "... byte for byte" || fail "a second renewal request differs"
# Asked again with another --key or --path-len, it wrote the pending
# request all the same, for the key type and path length asked first.
expect_rc "... asked for another key type: refused (6)" 6 m -d I renew-ca --new-key --key rsa-2048 --csr-out next3.csr
check "... saying the pending request is for an ec-p256 key" grep -q "request is for an ec-p256 key" "$TMP/rc.err"
expect_rc "... asked for another path length: refused (6)" 6 m -d I renew-ca --new-key --path-len 1 --csr-out next3.csr
check "... saying which it asks for" grep -q "asks for path length 0" "$TMP/rc.err"
[ ! -e next3.csr ] && ok "... writing no request" || fail "renew-ca wrote next3.csr"
expect_rc "... asked with the same ones: the same request" 0 m -d I renew-ca --new-key --key ec-p256 --path-len 0 --csr-out next4.csr
cmp -s next.csr next4.csr && ok "... byte for byte" || fail "the request asked with its own options differs"
expect_rc "renew-ca on a root (6)" 6 m -d R renew-ca --csr-out x.csr
expect_rc "sign the next certificate" 0 m -d R sign-ca --csr next.csr --out next.crt
openssl x509 -in next.crt -outform der -out next.der
expect_rc "install-ca the next one, DER (the chain kept)" 0 m -d I install-ca --cert next.der
check "... and says a running daemon signs with it once restarted" grep -q "restart 'mica serve' to sign with it" "$TMP/rc.err"
openssl x509 -in next.crt > next.pem
serve_start "$W/serve2.out" I MICA_PASSPHRASE="$MICA_PASSPHRASE" -- || serve_failed "$W/serve2.out"
fetch /ca.crt ca2.der >/dev/null
cmp -s ca2.der <(openssl x509 -in next.crt -outform der) && ok "/ca.crt is the new issuing CA" || fail "/ca.crt after rollover"
is "/ca/0.crt: the old one" "$(fetch /ca/0.crt ca0.der)" "200 application/pkix-cert"
cmp -s ca0.der <(openssl x509 -in issuing.crt -outform der) && ok "... byte for byte" || fail "/ca/0.crt"
is "/ca/1.crt: the new one" "$(fetch /ca/1.crt ca1.der)" "200 application/pkix-cert"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $CHAIN_ETAG" "$H/ca-chain.pem")
is "/ca-chain.pem with the old chain's ETag: 200 (the new chain)" "$CODE" 200
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $P7B_ETAG" "$H/ca.p7b")
is "/ca.p7b with the old one's ETag: 200" "$CODE" 200
is "a leaf from the new key (201)" "$(issue_api new new.contoso.test)" 201
is "... signed by the new CA certificate" "$(aki_of new.pem)" "$(ski_of next.crt)"
openssl x509 -in new.pem -noout -text | grep -q "URI:$H/crl/1" && ok "... naming its key's CRL, /crl/1" || fail "CDP of key 1"
openssl x509 -in new.pem -noout -text | grep -q "CA Issuers - URI:$H/ca/1.crt" && ok "... and CA certificate, /ca/1.crt" || fail "AIA of key 1"
SER2=$(serial_of app.pem)
m -d I revoke "$SER2" --reason superseded >/dev/null 2>revoke-old.err || fail "revoke an old leaf"
# The CLI published the old key's CRL in the store; the daemon reloads its
# cached copy from there at most once a second.
crl0_lists() {
	fetch /crl crl0.der >/dev/null &&
		openssl crl -inform der -in crl0.der -noout -text | grep -qi "$SER2"
}
wait_for "the daemon serves the old key's CRL the CLI published" 60 crl0_lists ||
	fail "the daemon never served the CRL revoking $SER2"
is "/crl: the old key's CRL" "$(fetch /crl crl0.der)" "200 application/pkix-crl"
is "/crl/1: the new key's CRL" "$(fetch /crl/1 crl1.der)" "200 application/pkix-crl"
openssl crl -inform der -in crl0.der -noout -CAfile chain.pem 2>&1 | grep -q 'verify OK' &&
	ok "the old key signs its CRL" || fail "old key CRL signature"
openssl crl -inform der -in crl0.der -noout -text | grep -qi "$SER2" && ok "... listing what it issued" || fail "old CRL misses the revoked leaf"
# The CRL 'mica revoke' says it published is that one, not the new key's
# published beside it (the numbers are one series for both keys).
N0=$(openssl crl -inform der -in crl0.der -noout -crlnumber | sed -n 's/^crlNumber=//p')
is "mica revoke names the old key's CRL, which lists the leaf" "$(tail -1 revoke-old.err)" \
	"revoked $SER2 (superseded); CRL $((N0)) published"
openssl crl -inform der -in crl1.der -noout -text | grep -qi "$SER2" && fail "the new CRL lists an old leaf" || ok "the new key's CRL lists only its own"
# Each with the CRLs its certificates name (GnuTLS keeps one CRL per
# issuer name, and both keys' CRLs name the same CA).
judge "a leaf of the new key" ok root.pem new.pem next.pem crl1.der served-arl.der
judge "an old leaf revoked after the rollover" refuse root.pem app.pem issuing.pem crl0.der served-arl.der
# A static web server gets each key's files from 'mica publish': the
# bytes the daemon serves at /crl/N and /ca/N.crt, under keys/N/.
expect_rc "mica publish after the rollover" 0 m -d I publish pubr
for f in "keys/0/crl crl0.der" "keys/1/crl crl1.der" "keys/0/ca.crt ca0.der" "keys/1/ca.crt ca1.der"; do
	set -- $f
	cmp -s "pubr/$1" "$2" && ok "... $1: what the daemon serves" || fail "... $1 differs from the daemon's"
done
serve_stop

# --------------------------- 8. revoking the issuing CA at the root --

judge "a leaf of the old key, before the root revokes it" ok root.pem keep.pem issuing.pem crl0.der served-arl.der
ISER=$(serial_of issuing.crt)
expect_rc "the root revokes the old issuing CA (cACompromise)" 0 m -d R revoke "$ISER" --reason cACompromise
m -d R crl --out arl2.der
openssl crl -inform der -in arl2.der -noout -text | grep -qi "$ISER" && ok "the root's CRL lists it" || fail "ARL"
# cACompromise condemns the key, as the issuing CA itself judges it
# (key_compromised): the root never certifies it again.
expect_rc "... and never signs that key again (4)" 4 m -d R sign-ca --csr issuing.csr --out never.crt
grep -q "never certified again" "$TMP/rc.err" && ok "... saying so" || fail "sign-ca said: $(cat "$TMP/rc.err")"
[ ! -e never.crt ] && ok "... writing nothing" || fail "sign-ca wrote never.crt"
# Both ARLs in one PEM file, the older first: which one was meant? Refused
# (3), not the first taken and refused as not newer (6).
{ openssl crl -inform der -in arl.der; openssl crl -inform der -in arl2.der; } > arl12.pem
expect_rc "import-crl refuses a file of two PEM CRLs (3)" 3 m -d I import-crl arl12.pem
grep -q "more than one PEM block" "$TMP/rc.err" && ok "... saying so" || fail "two PEM CRLs: $(cat "$TMP/rc.err")"
# '-' reads standard input, as --csr - does (it was refused as "needs
# exactly one FILE"); "--" goes before a FILE beginning with '-'.
expect_rc "import-crl -: the newer ARL from standard input" 0 m -d I import-crl - < arl2.der
grep -q "imported the CRL from standard input" "$TMP/rc.err" && ok "... said so" ||
	fail "import-crl -: $(cat "$TMP/rc.err")"
grep -q "revokes this CA's own certificate" "$TMP/rc.err" && fail "wrongly warned: the current certificate is not revoked" ||
	ok "no warning: the current certificate is another"
cp arl2.der ./-arl2.der
expect_rc "import-crl -- -FILE: the same CRL, not newer (6)" 6 m -d I import-crl -- -arl2.der
expect_rc "import-crl --bogus: a usage error (2)" 2 m -d I import-crl --bogus arl2.der
grep -q "unknown option '--bogus'" "$TMP/rc.err" && ok "... naming the option" ||
	fail "import-crl --bogus: $(cat "$TMP/rc.err")"
rm -f ./-arl2.der
# After "--", '-' is the file named '-' (as --help says), not standard input.
cp arl2.der ./-
expect_rc "import-crl -- -: the file named '-', the same CRL, not newer (6)" 6 \
	m -d I import-crl -- - < /dev/null
rm -f ./-
judge "a leaf of the revoked issuing CA" refuse root.pem keep.pem issuing.pem crl0.der arl2.der
judge "a leaf of the new issuing certificate" ok root.pem new.pem next.pem crl1.der arl2.der

# An RSA CA key revoked for keyCompromise is never certified again, under
# any public exponent: its modulus goes on the list too. Its certificate
# carries critical name constraints (which mbedTLS cannot parse): the
# modulus must be read all the same. Python makes the two keys (the same
# p and q, exponents 65537 and 65539), OpenSSL the requests.
python3 - <<'PY' || die "making two RSA keys of one modulus"
import math
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
n = k.private_numbers()
p, q, e2 = n.p, n.q, 65539
d2 = pow(e2, -1, (p - 1) * (q - 1) // math.gcd(p - 1, q - 1))
k2 = rsa.RSAPrivateNumbers(p, q, d2, d2 % (p - 1), d2 % (q - 1), pow(q, -1, p),
                           rsa.RSAPublicNumbers(e2, n.public_numbers.n)).private_key()
for name, key in (("kc1.key", k), ("kc2.key", k2)):
    open(name, "wb").write(key.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
PY
for i in 1 2; do
	openssl req -new -key kc$i.key -subj "/CN=Contoso RSA Issuing CA $i" \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" -out kc$i.csr 2>/dev/null ||
		die "openssl req kc$i"
done
expect_rc "the root signs an RSA issuing CA (name constraints)" 0 \
	m -d R sign-ca --csr kc1.csr --permit contoso.test --out kc1.crt
# openssl's request asks for no CRL and R has no public URL: signed, and
# said loudly, the same as for a cross-certificate (section 9).
grep -q "^warning: the CA certificate names no CRL distribution point and no caIssuers URL: relying parties that check revocation cannot check it" "$TMP/rc.err" &&
	ok "... warning that it names no CRL and no caIssuers URL" ||
	fail "no warning for a CA certificate without a CDP: $(cat "$TMP/rc.err")"
openssl x509 -in kc1.crt -noout -text | grep -q "CRL Distribution Points" &&
	fail "kc1.crt has a CDP after all" || ok "... as openssl reads it: no CDP"
expect_rc "... and revokes it for keyCompromise" 0 \
	m -d R revoke "$(serial_of kc1.crt)" --reason keyCompromise
expect_rc "the same modulus with exponent 65539 is never certified (4)" 4 \
	m -d R sign-ca --csr kc2.csr --permit contoso.test --out kc2.crt

# ------------------------------------------- 9. a new root, cross-signed --

m -d RG2 init --name "Contoso Root CA G2" --root-only >/dev/null
m -d RG2 export-root --out root-g2.pem
expect_rc "the old root cross-signs the new one" 0 m -d R sign-ca --cross --cert root-g2.pem --out cross.crt
grep -q '^note: CDP ' "$TMP/rc.err" && ! grep -q "the request's" "$TMP/rc.err" &&
	ok "... its note on the CDP names no request (a cross-certificate has none)" ||
	fail "cross-certificate CDP note: $(cat "$TMP/rc.err")"
# Each URL's note names its own option: caIssuers comes from --aia-url.
grep -q "caIssuers none (no --aia-url, and this root has no public URL)" "$TMP/rc.err" &&
	ok "... its note on caIssuers names --aia-url, the option that gives it" ||
	fail "cross-certificate caIssuers note: $(cat "$TMP/rc.err")"
# R has no public URL and no --crl-url was given: relying parties that
# check revocation cannot check this certificate, which sign-ca says.
grep -q "^warning: the cross-certificate names no CRL distribution point and no caIssuers URL: relying parties that check revocation cannot check it, and revoking it reaches none of them; sign it again with --crl-url URL and --aia-url URL" "$TMP/rc.err" &&
	ok "... and warns that it names no CRL and no caIssuers URL" ||
	fail "no warning for a cross-certificate without a CDP: $(cat "$TMP/rc.err")"
openssl x509 -in cross.crt -noout -text > cross.txt
grep -q "CRL Distribution Points\|CA Issuers" cross.txt &&
	fail "cross.crt names a CRL or issuer after all" || ok "... as openssl reads it: no CDP, no caIssuers"
# Another root's own limits bind what it issues only for devices that
# trust it directly: a cross-certificate keeps its pathLenConstraint, and
# one of a root with name constraints is refused without --permit (the
# cross-certificate dropped both, so devices trusting R accepted names
# that root excluded for itself).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout xnc.key \
	-subj "/CN=Partner NC Root" -days 3650 -addext "basicConstraints=critical,CA:true,pathlen:0" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-addext "nameConstraints=critical,permitted;DNS:partner.test" -out xnc.pem 2>/dev/null ||
	die "openssl: a partner root with constraints"
# A URL nobody fetches from is not signed into a CA certificate for its
# life; nothing is recorded.
count_json() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
n_before=$(m -d R list --json | count_json)
expect_rc "sign-ca --crl-url file:///etc/passwd: a usage error (2)" 2 \
	m -d R sign-ca --cross --cert xnc.pem --permit partner.test --crl-url file:///etc/passwd \
	--aia-url "$H/old-root.crt" --out xnc-file.crt
check "... saying which URLs it takes" grep -q "must be http://, https:// or ldap:// URLs" "$TMP/rc.err"
expect_rc "sign-ca --aia-url javascript:alert(1): a usage error (2)" 2 \
	m -d R sign-ca --cross --cert xnc.pem --permit partner.test --crl-url "$H/old-root.crl" \
	--aia-url "javascript:alert(1)" --out xnc-file.crt
check "... writing nothing and recording nothing" sh -c \
	"test ! -e xnc-file.crt && test \"\$('$MICA' -d R list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')\" = '$n_before'"
expect_rc "cross-signing a root with name constraints of its own, no --permit: refused (4)" 4 \
	m -d R sign-ca --cross --cert xnc.pem --crl-url "$H/old-root.crl" --aia-url "$H/old-root.crt" --out xnc-cross.crt
check "... saying to give --permit" grep -q "name constraints of its own" "$TMP/rc.err"
expect_rc "... with --permit partner.test: signed" 0 m -d R sign-ca --cross --cert xnc.pem --permit partner.test \
	--crl-url "$H/old-root.crl" --aia-url "$H/old-root.crt" --out xnc-cross.crt
openssl x509 -in xnc-cross.crt -noout -text > xnc-cross.txt
grep -q "DNS:partner.test" xnc-cross.txt && grep -q "CA:TRUE, pathlen:0" xnc-cross.txt &&
	ok "... keeping the root's pathlen:0, with the constraints given" || fail "xnc-cross.crt: $(grep -A1 'Basic Constraints' xnc-cross.txt)"
expect_rc "... with --permit beyond the root's own (other.test): refused (4)" 4 \
	m -d R sign-ca --cross --cert xnc.pem --permit partner.test --permit other.test \
	--crl-url "$H/old-root.crl" --aia-url "$H/old-root.crt" --out xnc-wide.crt
check "... saying it goes beyond the root's constraints" grep -q "goes beyond the name constraints" "$TMP/rc.err"
# Its other limits the same: a root for TLS servers only, one that
# constrains policies, one that may not sign CRLs. A cross-certificate
# without them let devices trusting R accept a client certificate that
# root refuses for itself (openssl verify -purpose sslclient, below).
xroot() { # xroot NAME EXT...: a partner root with these extensions
	local n=$1 a=()
	shift
	for e in "$@"; do a+=(-addext "$e"); done
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$n.key" \
		-subj "/CN=Partner $n Root" -days 3650 -addext "basicConstraints=critical,CA:true" \
		"${a[@]}" -out "$n.pem" 2>/dev/null || die "openssl: partner root $n"
}
xroot xeku "keyUsage=critical,keyCertSign,cRLSign" "extendedKeyUsage=serverAuth"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout xcli.key -subj /CN=alice \
	-out xcli.csr 2>/dev/null
openssl x509 -req -in xcli.csr -CA xeku.pem -CAkey xeku.key -CAcreateserial -days 30 \
	-extfile <(printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n') \
	-out xcli.pem 2>/dev/null
openssl verify -purpose sslclient -CAfile xeku.pem xcli.pem >xcli.v 2>&1 &&
	fail "the TLS-server-only root accepted a client certificate itself" ||
	ok "a TLS-server-only partner root refuses a client certificate itself (openssl verify)"
xroot xpol "keyUsage=critical,keyCertSign,cRLSign" "policyConstraints=critical,requireExplicitPolicy:0"
xroot xinh "keyUsage=critical,keyCertSign,cRLSign" "inhibitAnyPolicy=critical,0"
xroot xcrl "keyUsage=critical,keyCertSign"
for x in xeku:extendedKeyUsage xpol:policyConstraints xinh:inhibitAnyPolicy xcrl:cRLSign; do
	n=${x%%:*}
	expect_rc "cross-signing a root with $n's limit (${x#*:}): refused (4)" 4 \
		m -d R sign-ca --cross --cert "$n.pem" --crl-url "$H/old-root.crl" \
		--aia-url "$H/old-root.crt" --out "$n-cross.crt"
	check "... saying what the cross-certificate cannot carry" grep -q "cross-certificate from mica" "$TMP/rc.err"
	[ ! -e "$n-cross.crt" ] && ok "... nothing written" || fail "$n-cross.crt written"
done
# One without digitalSignature: the cross-certificate leaves it out too.
xroot xnods "keyUsage=critical,keyCertSign,cRLSign"
expect_rc "cross-signing a root without digitalSignature: signed" 0 \
	m -d R sign-ca --cross --cert xnods.pem --crl-url "$H/old-root.crl" --aia-url "$H/old-root.crt" \
	--out xnods-cross.crt
is "... its keyUsage as the root's: Certificate Sign, CRL Sign" \
	"$(openssl x509 -in xnods-cross.crt -noout -ext keyUsage 2>/dev/null | tail -1 | sed 's/^ *//')" \
	"Certificate Sign, CRL Sign"
# A root that excludes a name under what it permits: the cross-certificate
# cannot carry the exclusion, and devices trusting R would accept
# secret.partner.test through it (openssl verify shows the other root
# refuses such a leaf itself).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout xex.key \
	-subj "/CN=Partner Excluding Root" -days 3650 -addext "basicConstraints=critical,CA:true,pathlen:0" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-addext "nameConstraints=critical,permitted;DNS:partner.test,excluded;DNS:secret.partner.test" \
	-out xex.pem 2>/dev/null || die "openssl: a partner root with an exclusion"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout xleaf.key \
	-subj "/CN=db.secret.partner.test" -addext "subjectAltName=DNS:db.secret.partner.test" -out xleaf.csr 2>/dev/null
openssl x509 -req -in xleaf.csr -CA xex.pem -CAkey xex.key -CAcreateserial -days 30 \
	-extfile <(printf 'subjectAltName=DNS:db.secret.partner.test\n') -out xleaf.pem 2>/dev/null
openssl verify -CAfile xex.pem xleaf.pem > xleaf.v 2>&1 && fail "the partner root's own exclusion did not hold" ||
	grep -q "excluded" xleaf.v && ok "the partner root excludes db.secret.partner.test itself (openssl verify)" ||
	fail "openssl verify said: $(cat xleaf.v)"
expect_rc "... so cross-signing it with --permit partner.test is refused (4)" 4 \
	m -d R sign-ca --cross --cert xex.pem --permit partner.test \
	--crl-url "$H/old-root.crl" --aia-url "$H/old-root.crt" --out xex-cross.crt
check "... saying the exclusion cannot be carried" grep -q "excludes secret.partner.test from what it certifies" "$TMP/rc.err"
[ ! -e xex-cross.crt ] && ok "... no certificate written" || fail "xex-cross.crt written"
# Two permitted ranges that hold the ends of a --permit range leave a gap
# the cross-certificate would open; one mailbox permitted is narrower than
# the domain's mailboxes mica permits with --permit DOMAIN.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout xip.key \
	-subj "/CN=Partner Ranges Root" -days 3650 -addext "basicConstraints=critical,CA:true,pathlen:0" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-addext "nameConstraints=critical,permitted;DNS:partner.test,permitted;IP:10.0.0.0/255.255.255.0,permitted;IP:10.0.3.0/255.255.255.0" \
	-out xip.pem 2>/dev/null || die "openssl: a partner root with ranges"
expect_rc "cross-signing --permit 10.0.0.0/22 over two /24 with a gap: refused (4)" 4 \
	m -d R sign-ca --cross --cert xip.pem --permit partner.test --permit 10.0.0.0/22 \
	--crl-url "$H/old-root.crl" --aia-url "$H/old-root.crt" --out xip-cross.crt
check "... saying it goes beyond" grep -q "10.0.0.0/22 goes beyond the name constraints" "$TMP/rc.err"
expect_rc "... --permit 10.0.3.0/24, one of them: signed" 0 \
	m -d R sign-ca --cross --cert xip.pem --permit partner.test --permit 10.0.3.0/24 \
	--crl-url "$H/old-root.crl" --aia-url "$H/old-root.crt" --out xip-cross.crt
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout xmb.key \
	-subj "/CN=Partner Mailbox Root" -days 3650 -addext "basicConstraints=critical,CA:true,pathlen:0" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-addext "nameConstraints=critical,permitted;DNS:partner.test,permitted;email:alice@partner.test" \
	-out xmb.pem 2>/dev/null || die "openssl: a partner root with one mailbox"
expect_rc "... --permit partner.test where only one mailbox is permitted: refused (4)" 4 \
	m -d R sign-ca --cross --cert xmb.pem --permit partner.test \
	--crl-url "$H/old-root.crl" --aia-url "$H/old-root.crt" --out xmb-cross.crt
check "... saying partner.test goes beyond" grep -q "partner.test goes beyond the name constraints" "$TMP/rc.err"
[ ! -e xmb-cross.crt ] && ok "... no certificate written" || fail "xmb-cross.crt written"
# Its advice followed: the URLs are named and nothing is said; with the
# CRL alone, the missing caIssuers is.
expect_rc "cross-signing with --crl-url and --aia-url" 0 m -d R sign-ca --cross --cert root-g2.pem \
	--crl-url "$H/old-root.crl" --aia-url "$H/old-root.crt" --out cross-urls.crt
grep -q '^warning:' "$TMP/rc.err" && fail "warned with both URLs: $(cat "$TMP/rc.err")" ||
	ok "... no warning"
openssl x509 -in cross-urls.crt -noout -text > cross-urls.txt
grep -q "URI:$H/old-root.crl" cross-urls.txt && grep -q "CA Issuers - URI:$H/old-root.crt" cross-urls.txt &&
	ok "... and openssl reads the CDP and caIssuers given" || fail "cross-urls.crt: URLs missing"
expect_rc "cross-signing with --crl-url alone" 0 m -d R sign-ca --cross --cert root-g2.pem \
	--crl-url "$H/old-root.crl" --out cross-crl.crt
grep -q "^warning: the cross-certificate names no caIssuers URL" "$TMP/rc.err" &&
	! grep -q "no CRL distribution point" "$TMP/rc.err" &&
	ok "... warns of the missing caIssuers alone" || fail "--crl-url alone: $(cat "$TMP/rc.err")"
is "the cross-certificate keeps the new root's key identifier" "$(ski_of cross.crt)" "$(ski_of root-g2.pem)"
grep -q 'Issuer: CN = Contoso Root CA$' cross.txt && ok "... issued by the old root" || fail "cross issuer"
m -d I3 init --subordinate --name "Contoso Issuing CA 3" --domain contoso.test --public-url "$H" \
	--csr-out i3.csr >/dev/null || fail "init I3"
m -d RG2 sign-ca --csr i3.csr --out i3.crt >/dev/null 2>&1 || fail "sign I3"
expect_rc "install under the new root, with the cross-certificate" 0 \
	m -d I3 install-ca --cert i3.crt --chain root-g2.pem --chain cross.crt
m -d I3 export-chain --out chain3.pem
is "its chain: issuing, cross-certificate, new root" "$(grep -c 'BEGIN CERT' chain3.pem)" 3
csr g3 g3.contoso.test
m -d I3 issue --csr g3.csr --out g3.pem >/dev/null 2>&1 || fail "issue under I3"
openssl x509 -in i3.crt > i3.pem
openssl x509 -in cross.crt > cross.pem
cat i3.pem cross.pem > i3-cross.pem
judge "a device with only the new root" ok root-g2.pem g3.pem i3.pem
judge "a device with only the old root (cross-certificate)" ok root.pem g3.pem i3-cross.pem
# What mica hands out (export-chain, /ca-chain.pem, ACME, issue --chain)
# holds the new root's self-signed certificate too: after the
# cross-certificate, or OpenSSL with only the old root stops at it
# ("self-signed certificate in certificate chain"). (NSS's certutil -V,
# which does not backtrack, picks between the two by date: not judged.)
is "the chain handed out: issuing, cross-certificate, then the new root" \
	"$(openssl crl2pkcs7 -nocrl -certfile chain3.pem | openssl pkcs7 -print_certs -noout |
		sed -n 's/^issuer=//p' | tr '\n' '|')" \
	"CN = Contoso Root CA G2|CN = Contoso Root CA|CN = Contoso Root CA G2|"
for r in root.pem root-g2.pem; do
	check "openssl verify -x509_strict, only $r trusted, the chain mica hands out" \
		openssl verify -x509_strict -purpose sslserver -CAfile "$r" -untrusted chain3.pem g3.pem
	cat g3.pem chain3.pem > g3-full.pem
	check "certtool --verify, only $r trusted, the chain mica hands out" \
		sh -c "certtool --verify --load-ca-certificate '$r' --infile g3-full.pem 2>&1 |
			grep -q 'Chain verification output: Verified'"
done

# -------------------------- 10. under a root made by plain openssl --

org_root ent 1000 "/O=Fabrikam/CN=Fabrikam Enterprise Root" 3650 rsa:3072
cat >> ent/ca.cnf <<EOF
[ v3_ca ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = 01:02:03:04:05:06:07:08:09:0a:0b:0c
authorityKeyIdentifier = keyid:always
EOF
m -d E init --subordinate --name "Fabrikam Issuing CA" --org Fabrikam --domain fabrikam.test \
	--public-url "$H" --key rsa-2048 --csr-out e.csr >/dev/null || fail "init E"
openssl ca -batch -config ent/ca.cnf -extensions v3_ca -in e.csr -out e.crt -notext >ent/ca.log 2>&1 &&
	ok "openssl ca -extensions v3_ca signs mica's request" || { fail "openssl ca"; sed 's/^/    /' ent/ca.log | tail -5; }
grep -q 'DNS:fabrikam.test' <(openssl x509 -in e.crt -noout -text) &&
	ok "... copying its name constraints (copy_extensions)" || fail "openssl ca dropped the name constraints"
# The same request signed on a clock three hours ahead: relying parties
# refuse the leaves of a CA not yet valid; install-ca took it (up to a
# day ahead), and its daemon would have issued them.
openssl ca -batch -config ent/ca.cnf -extensions v3_ca -in e.csr -out e-ahead.crt -notext \
	-startdate "$(date -u -d '+3 hours' +%y%m%d%H%M%SZ)" >ent/ca-ahead.log 2>&1 || die "openssl ca -startdate"
expect_rc "install-ca refuses a CA certificate valid only from three hours on (3)" 3 \
	m -d E install-ca --cert e-ahead.crt --chain ent/root.pem
grep -Eq "is not valid until .* \((2 h 5[0-9]|3 h 0) min from now\)" "$TMP/rc.err" &&
	ok "... saying until when" || fail "... it said: $(cat "$TMP/rc.err")"
openssl crl2pkcs7 -nocrl -certfile e.crt -certfile ent/root.pem -outform DER -out e.p7b 2>/dev/null
expect_rc "install-ca from a .p7b, chained to the openssl root" 0 m -d E install-ca --cert e.p7b --chain ent/root.pem
# The root copied the request's CDP and AIA: /root.crl and /root.crt are
# its own CRL and certificate, nothing to say (10c: an intermediate).
check "... and, the root's CDP and AIA at this CA's /root.crl, /root.crt, no note of them" \
	sh -c "! grep -q 'is not the root' '$TMP/rc.err'"
# What relying parties will refuse, said by install-ca (not refused: the
# organisation's root is what it is): an issuing CA whose
# extendedKeyUsage leaves out serverAuth (OpenSSL: "unsuitable
# certificate purpose" for every server certificate under it), and a
# root of RSA-1024 (OpenSSL's default security level: "CA certificate
# key too weak").
cat >> ent/ca.cnf <<EOF
[ v3_ca_client ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid:always
EOF
m -d K init --subordinate --name "Fabrikam Client CA" --domain fabrikam.test \
	--public-url "$H" --csr-out k.csr >/dev/null || fail "init K"
openssl ca -batch -config ent/ca.cnf -extensions v3_ca_client -in k.csr -out k.crt -notext >ent/k.log 2>&1 ||
	die "openssl ca -extensions v3_ca_client"
expect_rc "install-ca: a CA whose extendedKeyUsage is clientAuth alone is installed" 0 \
	m -d K install-ca --cert k.crt --chain ent/root.pem
grep -q "^note: .*CN=Fabrikam Client CA.* has an extendedKeyUsage without serverAuth" "$TMP/rc.err" &&
	ok "... with a note that server certificates under it are refused" ||
	fail "... it said: $(cat "$TMP/rc.err")"
grep -q "without clientAuth" "$TMP/rc.err" && fail "... and wrongly of clientAuth" ||
	ok "... and none of clientAuth, which it allows"
check "... and that S/MIME and code-signing certificates under it are refused" \
	sh -c "grep -q 'without emailProtection' '$TMP/rc.err' && grep -q 'without codeSigning' '$TMP/rc.err'"
csr kleaf web.fabrikam.test
m -d K issue --csr kleaf.csr --out kleaf.pem >/dev/null 2>&1 || fail "issue under K"
openssl verify -purpose sslserver -CAfile ent/root.pem -untrusted k.crt kleaf.pem > k.verify 2>&1 &&
	fail "openssl verify took a server certificate under a clientAuth CA" ||
	ok "... as openssl verify -purpose sslserver does ($(grep -o 'unsuitable certificate purpose' k.verify | head -1))"
# Renewed with the same key, its new certificate signed with another key
# identifier (a CA that draws it at random on renewal): the leaves issued
# before name the old one as their authorityKeyIdentifier, and would
# chain no more (openssl: "unable to get local issuer certificate").
# Refused; signed with the same one, installed.
m -d K renew-ca --csr-out k2.csr >/dev/null 2>&1 || fail "renew-ca K (same key)"
cat >> ent/ca.cnf <<EOF
[ v3_ca_client_rand ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
extendedKeyUsage = clientAuth
subjectKeyIdentifier = 0a:0b:0c:0d:0e:0f:10:11:12:13:14:15:16:17:18:19:1a:1b:1c:1d
authorityKeyIdentifier = keyid:always
EOF
openssl ca -batch -config ent/ca.cnf -extensions v3_ca_client_rand -in k2.csr -out k2-rand.crt \
	-notext >ent/k2.log 2>&1 || die "openssl ca -extensions v3_ca_client_rand"
expect_rc "install-ca of the same key's certificate with another subjectKeyIdentifier: refused (3)" 3 \
	m -d K install-ca --cert k2-rand.crt
check "... saying the leaves name the old one" grep -q "not the current one's: certificates already issued name it as their authorityKeyIdentifier" "$TMP/rc.err"
m -d K export-chain --out k-chain.pem 2>/dev/null
check "... and the chain served is still the one the leaves chain to" \
	openssl verify -CAfile ent/root.pem -untrusted k-chain.pem kleaf.pem
openssl ca -batch -config ent/ca.cnf -extensions v3_ca_client -in k2.csr -out k2.crt \
	-notext >ent/k2.log 2>&1 || die "openssl ca -extensions v3_ca_client (renewal)"
expect_rc "... signed with the same key identifier: installed" 0 m -d K install-ca --cert k2.crt
m -d K export-chain --out k-chain2.pem 2>/dev/null
check "... and the old leaf chains to the new certificate" \
	openssl verify -CAfile ent/root.pem -untrusted k-chain2.pem kleaf.pem
# What else relying parties refuse, said by install-ca: a CA certificate
# without subjectKeyIdentifier or authorityKeyIdentifier, with a
# basicConstraints not marked critical (OpenSSL's -x509_strict: errors
# 86, 85, 89), one that may not sign CRLs (-crl_check_all refuses what
# is under it), and name constraints that leave out the public URL's
# host (the daemon's HTTPS certificate could not name it).
cat >> ent/ca.cnf <<EOF
[ v3_ca_lax ]
basicConstraints = CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = none
authorityKeyIdentifier = none
nameConstraints = critical, permitted;DNS:fabrikam.test, excluded;IP:0.0.0.0/0.0.0.0
EOF
m -d LX init --subordinate --name "Fabrikam Lax CA" --domain fabrikam.test \
	--public-url "$H" --csr-out lx.csr >/dev/null || fail "init LX"
openssl ca -batch -config ent/ca.cnf -extensions v3_ca_lax -in lx.csr -out lx.crt -notext \
	>ent/lx.log 2>&1 || die "openssl ca -extensions v3_ca_lax"
expect_rc "install-ca of a CA certificate -x509_strict refuses: installed" 0 \
	m -d LX install-ca --cert lx.crt --chain ent/root.pem
for n in "has no subjectKeyIdentifier" "has no authorityKeyIdentifier" \
	"has a basicConstraints not marked critical" \
	"the public URL's host, 127.0.0.1, is outside the certificate's name constraints"; do
	check "... noting that it $n" grep -q "$n" "$TMP/rc.err"
done
# Its daemon cannot start, and says why: the constraints, not the domains.
expect_rc "... its daemon cannot name itself: mica serve exits 4" 4 \
	m -d LX serve --http "127.0.0.1:$(free_port)" --https "127.0.0.1:$(free_port)"
check "... saying its names are outside the name constraints" \
	grep -q "none of the daemon's names is allowed (some are outside the name constraints" "$TMP/rc.err"
csr lxleaf web.fabrikam.test
m -d LX issue --csr lxleaf.csr --out lxleaf.pem >/dev/null 2>&1 || fail "issue under LX"
openssl verify -x509_strict -CAfile ent/root.pem -untrusted lx.crt lxleaf.pem >lx.verify 2>&1 &&
	fail "openssl verify -x509_strict took the chain" ||
	ok "... as openssl verify -x509_strict refuses it ($(grep -o 'error [0-9]*' lx.verify | head -1))"
# A CRL of the root's name whose authorityKeyIdentifier names another key:
# said so, not "not signed by a CA of this CA's chain".
python3 - ent/root.pem ent/root.key ent-akix.crl <<'PY' || die "python: a CRL with another AKI"
import sys, datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
root = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
key = serialization.load_pem_private_key(open(sys.argv[2], "rb").read(), None)
now = datetime.datetime.utcnow()
crl = (x509.CertificateRevocationListBuilder().issuer_name(root.subject)
       .last_update(now - datetime.timedelta(minutes=5))
       .next_update(now + datetime.timedelta(days=30))
       .add_extension(x509.CRLNumber(77), critical=False)
       .add_extension(x509.AuthorityKeyIdentifier(b"\x01" * 20, None, None), critical=False)
       .sign(key, hashes.SHA256()))
open(sys.argv[3], "wb").write(crl.public_bytes(serialization.Encoding.DER))
PY
expect_rc "import-crl of the root's name with another key identifier: refused (3)" 3 \
	m -d LX import-crl ent-akix.crl
check "... saying it names another key" grep -q "names another key of it" "$TMP/rc.err"
# A root that may not sign CRLs: its CRL can never be imported, and
# relying parties that check revocation refuse what is under it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout nocrl.key \
	-subj "/CN=Fabrikam No-CRL Root" -days 3650 -addext "basicConstraints=critical,CA:true" \
	-addext "keyUsage=critical,keyCertSign" -out nocrl.pem 2>/dev/null || die "openssl: a root without cRLSign"
m -d NC0 init --subordinate --name "Fabrikam Under No-CRL CA" --domain fabrikam.test \
	--public-url "$H" --csr-out nc0.csr >/dev/null || fail "init NC0"
openssl x509 -req -in nc0.csr -CA nocrl.pem -CAkey nocrl.key -CAcreateserial -days 1000 \
	-extfile <(printf 'basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n') \
	-out nc0.crt 2>/dev/null || die "openssl x509 -req (nc0)"
expect_rc "install-ca under a root that may not sign CRLs: installed" 0 \
	m -d NC0 install-ca --cert nc0.crt --chain nocrl.pem
check "... noting that it may not sign CRLs" grep -q "Fabrikam No-CRL Root.* may not sign CRLs" "$TMP/rc.err"
# A root that allows no CA below it: refused, naming it and its limit.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pl0.key \
	-subj "/CN=Fabrikam Leaf-only Root" -days 3650 -addext "basicConstraints=critical,CA:true,pathlen:0" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" -out pl0.pem 2>/dev/null || die "openssl: a pathlen:0 root"
openssl x509 -req -in nc0.csr -CA pl0.pem -CAkey pl0.key -CAcreateserial -days 1000 \
	-extfile <(printf 'basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n') \
	-out pl0-sub.crt 2>/dev/null || die "openssl x509 -req (pl0)"
expect_rc "install-ca under a root whose pathLenConstraint is 0: refused (3)" 3 \
	m -d NC0 install-ca --cert pl0-sub.crt --chain pl0.pem
check "... naming that root and its limit" \
	grep -q "CN=Fabrikam Leaf-only Root allows 0 CA(s) below it (pathLenConstraint), and the path puts 1 there" "$TMP/rc.err"
# An issuer name written otherwise than the issuer's certificate has it
# (a PrintableString for its UTF8String): said so, not "no certificate
# given" for a root that was given.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout enc.key \
	-subj "/CN=Fabrikam Encoded Root" -days 3650 -addext "basicConstraints=critical,CA:true" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" -out enc.pem 2>/dev/null || die "openssl: enc root"
python3 - nc0.csr enc.pem enc.key enc-sub.crt <<'PY' || die "python: a sub certificate with a re-encoded issuer"
import sys, datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.x509.name import _ASN1Type
from cryptography.hazmat.primitives import hashes, serialization
csr = x509.load_pem_x509_csr(open(sys.argv[1], "rb").read())
root = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
key = serialization.load_pem_private_key(open(sys.argv[3], "rb").read(), None)
issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fabrikam Encoded Root",
                                       _ASN1Type.PrintableString)])
now = datetime.datetime.utcnow()
c = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(issuer)
     .public_key(csr.public_key()).serial_number(x509.random_serial_number())
     .not_valid_before(now - datetime.timedelta(minutes=5))
     .not_valid_after(now + datetime.timedelta(days=300))
     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
     .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
     .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key()), critical=False)
     .sign(key, hashes.SHA256()))
open(sys.argv[4], "wb").write(c.public_bytes(serialization.Encoding.PEM))
PY
expect_rc "install-ca of a certificate whose issuer name is re-encoded: refused (3)" 3 \
	m -d NC0 install-ca --cert enc-sub.crt --chain enc.pem
check "... saying the name is written otherwise" grep -q "is that of a certificate given, written otherwise" "$TMP/rc.err"
mkdir -p weak/newcerts
: > weak/index.txt
echo 1000 > weak/serial
openssl req -x509 -newkey rsa:1024 -nodes -keyout weak/root.key -subj "/CN=Fabrikam Legacy Root" \
	-days 3650 -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out weak/root.pem 2>/dev/null || die "openssl req rsa:1024"
sed -e "s|$W/ent|$W/weak|" ent/ca.cnf > weak/ca.cnf
m -d L init --subordinate --name "Fabrikam Legacy Issuing CA" --domain fabrikam.test \
	--public-url "$H" --csr-out l.csr >/dev/null || fail "init L"
openssl ca -batch -config weak/ca.cnf -extensions v3_ca -in l.csr -out l.crt -notext >weak/ca.log 2>&1 ||
	die "openssl ca under the RSA-1024 root"
expect_rc "install-ca: a CA under an RSA-1024 root is installed" 0 \
	m -d L install-ca --cert l.crt --chain weak/root.pem
grep -q "^note: .*CN=Fabrikam Legacy Root has a key of 1024 bits" "$TMP/rc.err" &&
	ok "... with a note that relying parties refuse everything under it" ||
	fail "... it said: $(cat "$TMP/rc.err")"
csr ent www.fabrikam.test
m -d E issue --csr ent.csr --out ent.pem >/dev/null 2>&1 || fail "issue under E"
is "the leaf's AKI is the openssl-made SKI, not mica's hash" "$(aki_of ent.pem)" "0102030405060708090A0B0C"
openssl x509 -in e.crt > e.pem
judge "a leaf under an openssl root" ok ent/root.pem ent.pem e.pem
openssl ca -batch -config ent/ca.cnf -gencrl -out ent/root.crl >/dev/null 2>&1 || die "openssl ca -gencrl"
expect_rc "import-crl: the openssl root's CRL (PEM)" 0 m -d E import-crl ent/root.crl
# What /root.crl must not become (RFC 5280 5.2, 5.2.4, 5.2.5): a delta
# (served alone it hides what its base revoked), a CRL of narrowed scope,
# one with an unknown critical extension, one with a number mica cannot
# compare. Each was taken before; each is now refused, and the CRL held
# stays.
cat >> ent/ca.cnf <<EOF
[ crl_delta ]
authorityKeyIdentifier = keyid:always
2.5.29.27 = critical,DER:02:02:10:00
[ crl_unknown ]
authorityKeyIdentifier = keyid:always
1.2.3.4.5 = critical,DER:05:00
[ crl_useronly ]
authorityKeyIdentifier = keyid:always
issuingDistributionPoint = critical,@idp_user
[ idp_user ]
fullname = URI:$H/root.crl
onlyuser = TRUE
[ crl_plain ]
authorityKeyIdentifier = keyid:always
[ crl_elsewhere ]
authorityKeyIdentifier = keyid:always
issuingDistributionPoint = critical,@idp_elsewhere
[ idp_elsewhere ]
fullname = URI:http://pki.elsewhere.test/root.crl
[ crl_here ]
authorityKeyIdentifier = keyid:always
issuingDistributionPoint = critical,@idp_here
[ idp_here ]
fullname = URI:$H/root.crl
EOF
held=$(sqlite3 E/mica.db "SELECT number FROM root_crl ORDER BY number DESC LIMIT 1")
for x in delta:"a delta CRL" unknown:"an unknown critical extension" useronly:"user certificates only"; do
	openssl ca -batch -config ent/ca.cnf -gencrl -crlexts "crl_${x%%:*}" -out "ent/${x%%:*}.crl" \
		>/dev/null 2>&1 || die "openssl ca -gencrl -crlexts crl_${x%%:*}"
	expect_rc "import-crl refuses ${x#*:} (3)" 3 m -d E import-crl "ent/${x%%:*}.crl"
done
echo 0100000000000000000001 > ent/crlnumber
openssl ca -batch -config ent/ca.cnf -gencrl -crlexts crl_plain -out ent/big.crl >/dev/null 2>&1 ||
	die "openssl ca -gencrl (a number of 81 bits)"
expect_rc "import-crl refuses a CRL number over 63 bits (3)" 3 m -d E import-crl ent/big.crl
# A root whose clock runs two hours ahead: its CRL's thisUpdate is then
# in the future, and OpenSSL refuses it ("CRL is not yet valid") - with
# it, under -crl_check_all, every certificate below the root - until
# then. It was taken (up to 24 h ahead) and served at once.
if command -v faketime >/dev/null; then
	echo 7F > ent/crlnumber
	faketime -f '+2h' openssl ca -batch -config ent/ca.cnf -gencrl -crlexts crl_plain \
		-out ent/ahead.crl >/dev/null 2>&1 || die "openssl ca -gencrl under faketime"
	openssl crl -in ent/ahead.crl -noout -lastupdate > ent/ahead.tu 2>&1
	expect_rc "import-crl refuses a CRL made on a clock two hours ahead (3) [$(cat ent/ahead.tu)]" 3 \
		m -d E import-crl ent/ahead.crl
	grep -Eq "not valid until .* \((1 h 5[0-9]|2 h 0) min from now\)" "$TMP/rc.err" &&
		ok "... saying until when" || fail "... it said: $(cat "$TMP/rc.err")"
else
	skip "import-crl of a CRL from a clock ahead" "faketime is not installed"
fi
is "... and the CRL held is still the one imported" \
	"$(sqlite3 E/mica.db "SELECT number FROM root_crl ORDER BY number DESC LIMIT 1")" "$held"
# An issuingDistributionPoint that names another place than the CDP of
# E's certificate: OpenSSL then takes the CRL not for E's certificate
# ("different CRL scope" at depth 1 under -crl_check_all), so /root.crl
# would break every path. One naming the CDP (as Windows CAs write by
# default) is the root's CRL for E's certificate. (OpenSSL then still
# finds it of another scope for the root itself, at depth 2, which has
# no CDP: its own matter, whatever mica serves.)
echo 2000 > ent/crlnumber
openssl ca -batch -config ent/ca.cnf -gencrl -crlexts crl_elsewhere -out ent/elsewhere.crl >/dev/null 2>&1 ||
	die "openssl ca -gencrl -crlexts crl_elsewhere"
m -d E crl --pem --out ent/e-own.pem >/dev/null 2>&1 || die "mica crl (E)"
openssl crl -in ent/elsewhere.crl -out ent/elsewhere.pem 2>/dev/null
cat ent/elsewhere.pem ent/e-own.pem > ent/crls-elsewhere.pem
openssl verify -crl_check_all -CAfile ent/root.pem -untrusted e.pem -CRLfile ent/crls-elsewhere.pem \
	ent.pem > ent/elsewhere.verify 2>&1
grep -q "^error 44 at 1 depth lookup: different CRL scope" ent/elsewhere.verify &&
	ok "openssl verify -crl_check_all takes a root CRL for another place not for E's certificate (depth 1)" ||
	fail "openssl verify with a root CRL for another place: $(cat ent/elsewhere.verify)"
expect_rc "import-crl refuses a CRL whose issuingDistributionPoint names another place (3)" 3 \
	m -d E import-crl ent/elsewhere.crl
grep -q "names no place the certificate of .*Fabrikam Issuing CA" "$TMP/rc.err" &&
	ok "... saying which certificate's CDP it misses" || fail "... it said: $(cat "$TMP/rc.err")"
openssl ca -batch -config ent/ca.cnf -gencrl -crlexts crl_here -out ent/here.crl >/dev/null 2>&1 ||
	die "openssl ca -gencrl -crlexts crl_here"
expect_rc "import-crl takes one whose issuingDistributionPoint is E's CDP" 0 m -d E import-crl ent/here.crl
openssl crl -in ent/here.crl -out ent/here.pem 2>/dev/null
cat ent/here.pem ent/e-own.pem > ent/crls-here.pem
openssl verify -crl_check_all -CAfile ent/root.pem -untrusted e.pem -CRLfile ent/crls-here.pem \
	ent.pem > ent/here.verify 2>&1
if grep -q "^error .* at [01] depth" ent/here.verify; then
	fail "openssl verify with the root CRL for E's CDP: $(cat ent/here.verify)"
else
	ok "... which openssl verify -crl_check_all takes for E's certificate and its leaf"
fi

# The constraints of the CAs above add up (RFC 5280 6.1.4 (g), (o)): a
# root that permits only other.test makes every fabrikam.test leaf fail
# in relying parties, so install-ca says so and issuance refuses; a CA
# above with an unknown critical extension fails every path, so
# install-ca refuses it. (Both were taken silently.)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ent/ncroot.key \
	-subj "/CN=Fabrikam NC Root" -days 3650 -addext "basicConstraints=critical,CA:true" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-addext "nameConstraints=critical,permitted;DNS:other.test" -out ent/ncroot.pem 2>/dev/null ||
	die "openssl: a root with name constraints"
printf '%s\n' "basicConstraints=critical,CA:true,pathlen:0" "keyUsage=critical,keyCertSign,cRLSign" \
	"subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" > ent/sub.ext
# sub_by DIR NAME ISSUER [DAYS]: a subordinate mica in DIR named NAME,
# its request (dir.csr: DIR in lower case) signed by the openssl CA
# ISSUER.pem and ISSUER.key with ent/sub.ext into dir.crt, for DAYS
# (300).
sub_by() {
	local f=${1,,}
	m -d "$1" init --subordinate --name "$2" --domain fabrikam.test \
		--public-url "$H" --csr-out "$f.csr" >/dev/null || fail "init $1"
	openssl x509 -req -in "$f.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial \
		-days "${4:-300}" -extfile ent/sub.ext -out "$f.crt" 2>/dev/null ||
		die "openssl x509 -req ($1)"
}
sub_by E2 "Fabrikam NC Issuing" ent/ncroot 365
m -d E2 install-ca --cert e2.crt --chain ent/ncroot.pem >/dev/null 2>"$W/e2.err"
is "install-ca under a root that permits only other.test: installed" "$?" 0
grep -q "fabrikam.test is outside the name constraints of CN=Fabrikam NC Root, above this CA" "$W/e2.err" &&
	ok "... saying the allowed domain is outside the root's constraints" || fail "install-ca said: $(cat "$W/e2.err")"
csr e2leaf www.fabrikam.test
expect_rc "... and issuance for www.fabrikam.test is refused (4)" 4 m -d E2 issue --csr e2leaf.csr
check "... naming the constraints above" grep -q "outside the name constraints of a CA certificate above" "$TMP/rc.err"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ent/odd.key \
	-subj "/CN=Fabrikam Odd Intermediate" -out ent/odd.csr 2>/dev/null || die "openssl req (odd)"
printf '%s\n' "basicConstraints=critical,CA:true" "keyUsage=critical,keyCertSign,cRLSign" \
	"subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" "1.2.3.4.5=critical,DER:05:00" > ent/odd.ext
openssl x509 -req -in ent/odd.csr -CA ent/root.pem -CAkey ent/root.key -CAcreateserial -days 365 \
	-extfile ent/odd.ext -out ent/odd.pem 2>/dev/null || die "openssl x509 -req (odd)"
sub_by E3 "Fabrikam Odd Issuing" ent/odd
expect_rc "install-ca under an intermediate with an unknown critical extension: refused (3)" 3 \
	m -d E3 install-ca --cert e3.crt --chain ent/odd.pem --chain ent/root.pem
check "... saying which CA" grep -q "Fabrikam Odd Intermediate) has a critical extension" "$TMP/rc.err"
# A "cross-certificate" given beside the chain (the root's name and key)
# is kept and handed out only if it is a CA certificate valid now (and
# signed by its issuer when that is given): one issued by another CA as
# CA:FALSE was kept and served ahead of the root.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ent/evil.key \
	-subj "/CN=Evil Root" -days 365 -addext "basicConstraints=critical,CA:true" \
	-addext "keyUsage=critical,keyCertSign" -out ent/evil.pem 2>/dev/null || die "openssl: evil root"
openssl req -new -key ent/root.key -subj "/O=Fabrikam/CN=Fabrikam Enterprise Root" 2>/dev/null |
	openssl x509 -req -CA ent/evil.pem -CAkey ent/evil.key -CAcreateserial -days 30 \
		-extfile <(printf 'basicConstraints=critical,CA:false\n') -out ent/bogus-cross.pem 2>/dev/null ||
	die "openssl: a bogus cross-certificate"
sub_by E4 "Fabrikam Issuing 4" ent/root
m -d E4 install-ca --cert e4.crt --chain ent/root.pem --chain ent/bogus-cross.pem >/dev/null 2>"$W/e4.err"
is "install-ca with a bogus cross-certificate beside the chain: installed" "$?" 0
grep -q "left out" "$W/e4.err" && ok "... saying a certificate given was left out" || fail "install-ca said: $(cat "$W/e4.err")"
is "... and export-chain hands out the CA and the root alone" "$(m -d E4 export-chain | grep -c 'BEGIN CERTIFICATE')" 2

# ------------------- 10c. what install-ca judges of an organisation's path --
# A CA above that requires an explicit policy (RFC 5280 4.2.1.11,
# 6.1.4 (i)) by mica's leaves, which carry no certificatePolicies: every
# leaf is refused (OpenSSL -policy_check error 43 "no explicit policy",
# NSS vfychain -pp, Chromium), so install-ca refuses it (it installed it
# silently). requireExplicitPolicy SkipCerts counts the certificates below
# the CA, self-issued ones not: under an intermediate, mica's certificate
# and its leaf make 2, so 2 takes effect at the leaf and 3 does not.
# Judged on stand-ins made by openssl (a CA and a leaf without policies
# where mica's would be), since mica issues nothing under a refused one.
printf '%s\n' "basicConstraints=critical,CA:true,pathlen:0" "keyUsage=critical,keyCertSign,cRLSign" \
	"subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" > ent/standin.ext
printf '%s\n' "basicConstraints=critical,CA:false" "keyUsage=critical,digitalSignature" \
	"extendedKeyUsage=serverAuth" "subjectAltName=DNS:www.fabrikam.test" "authorityKeyIdentifier=keyid" \
	> ent/standin-leaf.ext
# pol_int NAME SKIP CRIT: ent/NAME.pem, an intermediate of the enterprise
# root with a policy and policyConstraints (CRIT "critical," or "").
pol_int() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "ent/$1.key" \
		-subj "/CN=Fabrikam $1" -out "ent/$1.csr" 2>/dev/null || die "openssl req ($1)"
	printf '%s\n' "basicConstraints=critical,CA:true,pathlen:1" "keyUsage=critical,keyCertSign,cRLSign" \
		"subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" \
		"certificatePolicies=1.3.6.1.4.1.99999.2.1" "policyConstraints=$3requireExplicitPolicy:$2" \
		> "ent/$1.ext"
	openssl x509 -req -in "ent/$1.csr" -CA ent/root.pem -CAkey ent/root.key -CAcreateserial -days 365 \
		-extfile "ent/$1.ext" -out "ent/$1.pem" 2>/dev/null || die "openssl x509 -req ($1)"
}
# standin ISSUER-PEM ISSUER-KEY OUT: OUT.ca.pem (a CA where mica's would be)
# and OUT.leaf.pem under it, neither with a policy.
standin() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$3.ca.key" \
		-subj "/CN=Stand-in Issuing" -out "$3.ca.csr" 2>/dev/null &&
	openssl x509 -req -in "$3.ca.csr" -CA "$1" -CAkey "$2" -CAcreateserial -days 200 \
		-extfile ent/standin.ext -out "$3.ca.pem" 2>/dev/null &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$3.leaf.key" \
		-subj "/CN=www.fabrikam.test" -out "$3.leaf.csr" 2>/dev/null &&
	openssl x509 -req -in "$3.leaf.csr" -CA "$3.ca.pem" -CAkey "$3.ca.key" -CAcreateserial -days 100 \
		-extfile ent/standin-leaf.ext -out "$3.leaf.pem" 2>/dev/null || die "openssl: stand-ins under $1"
}
pol_int "Policy Int 2" 2 "critical,"
pol_int "Policy Int 3" 3 ""
standin "ent/Policy Int 2.pem" "ent/Policy Int 2.key" ent/pol2
cat ent/pol2.ca.pem "ent/Policy Int 2.pem" > ent/pol2.chain.pem
openssl verify -policy_check -CAfile ent/root.pem -untrusted ent/pol2.chain.pem ent/pol2.leaf.pem \
	> ent/pol2.verify 2>&1
check "openssl verify -policy_check refuses a leaf without policy 2 below requireExplicitPolicy:2" \
	grep -q "no explicit policy" ent/pol2.verify
mkdir -p ent/polnss
certutil -N -d sql:ent/polnss --empty-password >/dev/null 2>&1
certutil -A -d sql:ent/polnss -n root -t C,, -i ent/root.pem >/dev/null 2>&1
der_of ent/pol2.leaf.pem ent/pol2.leaf.der
der_of ent/pol2.ca.pem ent/pol2.ca.der
der_of "ent/Policy Int 2.pem" ent/pol2.int.der
vfychain -d sql:ent/polnss -pp -u 1 ent/pol2.leaf.der ent/pol2.ca.der ent/pol2.int.der > ent/pol2.vfy 2>&1
check "... and so does NSS vfychain -pp" grep -q "Chain is bad" ent/pol2.vfy
sub_by E5 "Fabrikam Policy Issuing" "ent/Policy Int 2"
expect_rc "install-ca under an intermediate with requireExplicitPolicy:2: refused (3)" 3 \
	m -d E5 install-ca --cert e5.crt --chain "ent/Policy Int 2.pem" --chain ent/root.pem
check "... naming the CA, the extension and why" grep -q \
	"CN=Fabrikam Policy Int 2) requires a certificate policy of this CA's leaves (policyConstraints requireExplicitPolicy 2), and mica's carry no certificatePolicies" \
	"$TMP/rc.err"
expect_rc "... and the CA still awaits its certificate (6)" 6 m -d E5 issue --csr ent.csr --out /dev/null
sub_by E6 "Fabrikam Policy Issuing 3" "ent/Policy Int 3"
expect_rc "install-ca under requireExplicitPolicy:3, which a leaf does not reach: installed" 0 \
	m -d E6 install-ca --cert e6.crt --chain "ent/Policy Int 3.pem" --chain ent/root.pem
check "... without a note" sh -c "! grep -q '^note:' '$TMP/rc.err'"
csr e6leaf www.fabrikam.test
m -d E6 issue --csr e6leaf.csr --out e6leaf.pem >/dev/null 2>&1 || fail "issue under E6"
openssl x509 -in e6.crt > e6.pem
cat e6.pem "ent/Policy Int 3.pem" > e6.chain.pem
checkv "... and openssl verify -policy_check takes its leaf" \
	openssl verify -policy_check -x509_strict -CAfile ent/root.pem -untrusted e6.chain.pem e6leaf.pem
judge "a leaf under requireExplicitPolicy:3" ok ent/root.pem e6leaf.pem e6.chain.pem
# Marked critical, as RFC 5280 asks, policyConstraints is an unknown
# critical extension to GnuTLS (3.7), which refuses the path whatever it
# says; OpenSSL and NSS process it. Said, not refused.
pol_int "Policy Int 5" 5 "critical,"
sub_by E12 "Fabrikam Policy Issuing 5" "ent/Policy Int 5"
expect_rc "install-ca under a critical requireExplicitPolicy:5: installed" 0 \
	m -d E12 install-ca --cert e12.crt --chain "ent/Policy Int 5.pem" --chain ent/root.pem
check "... noting that GnuTLS refuses it" grep -q \
	"^note: .*CN=Fabrikam Policy Int 5 has a critical policyConstraints, which GnuTLS does not process" "$TMP/rc.err"
m -d E12 issue --csr e6leaf.csr --out e12leaf.pem >/dev/null 2>&1 || fail "issue under E12"
openssl x509 -in e12.crt | cat e12leaf.pem - "ent/Policy Int 5.pem" > e12.full.pem
certtool --verify --load-ca-certificate ent/root.pem --infile e12.full.pem > e12.gverify 2>&1
check "... as certtool --verify does" grep -q "unknown critical extension" e12.gverify
checkv "... while openssl verify -policy_check takes the leaf" openssl verify -policy_check -x509_strict \
	-CAfile ent/root.pem -untrusted <(openssl x509 -in e12.crt; cat "ent/Policy Int 5.pem") e12leaf.pem
# The root's own: Chromium and GnuTLS process a trust anchor's extensions.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ent/polroot.key \
	-subj "/CN=Fabrikam Policy Root" -days 3650 -addext "basicConstraints=critical,CA:true" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" -addext "certificatePolicies=1.3.6.1.4.1.99999.2.1" \
	-addext "policyConstraints=critical,requireExplicitPolicy:0" -out ent/polroot.pem 2>/dev/null ||
	die "openssl: a root that requires an explicit policy"
standin ent/polroot.pem ent/polroot.key ent/polr
chromium_judge "a leaf without policy under a root with requireExplicitPolicy:0" refuse ent/polroot.pem \
	ent/polr.leaf.pem ent/polr.leaf.key ent/polr.ca.pem www.fabrikam.test
sub_by E7 "Fabrikam Policy Issuing R" ent/polroot
expect_rc "install-ca under a root with requireExplicitPolicy:0: refused (3)" 3 \
	m -d E7 install-ca --cert e7.crt --chain ent/polroot.pem
check "... naming the root" grep -q "CN=Fabrikam Policy Root) requires a certificate policy" "$TMP/rc.err"

# An earlier issuance of the intermediate (same name and key), expired,
# given before the current one: relying parties build past it (openssl
# verify -untrusted takes the bundle); install-ca took the first and
# refused the chain as expired.
cat >> ent/ca.cnf <<EOF
[ v3_int ]
basicConstraints = critical, CA:true, pathlen:1
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ent/int.key \
	-subj "/O=Fabrikam/CN=Fabrikam Intermediate" -out ent/int.csr 2>/dev/null || die "openssl req (int)"
openssl ca -batch -config ent/ca.cnf -extensions v3_int -in ent/int.csr -out ent/int-expired.pem -notext \
	-startdate 200101000000Z -enddate 210101000000Z >ent/int.log 2>&1 || die "openssl ca (expired int)"
openssl ca -batch -config ent/ca.cnf -extensions v3_int -in ent/int.csr -out ent/int.pem -notext \
	-days 365 >>ent/int.log 2>&1 || die "openssl ca (int)"
sub_by E8 "Fabrikam Issuing 8" ent/int
cat ent/int-expired.pem ent/int.pem ent/root.pem > ent/b.pem
checkv "openssl verify -untrusted takes the bundle with the expired copy first" \
	openssl verify -CAfile ent/root.pem -untrusted ent/b.pem e8.crt
expect_rc "install-ca with the expired copy alone: refused (3)" 3 \
	m -d E8 install-ca --cert e8.crt --chain ent/int-expired.pem --chain ent/root.pem
check "... as expired" grep -q "Fabrikam Intermediate, O=Fabrikam) has expired" "$TMP/rc.err"
expect_rc "install-ca with the expired copy before the valid one: installed" 0 \
	m -d E8 install-ca --cert e8.crt --chain ent/b.pem
check "... saying the certificate left out" grep -q "left out" "$TMP/rc.err"
m -d E8 export-chain > e8.chain.pem 2>/dev/null
is "... and the chain handed out holds the valid copy" "$(fingerprints e8.chain.pem | grep -c \
	"$(openssl x509 -in ent/int.pem -noout -fingerprint -sha256)")" 1

# Several DER files with --chain (AD CS hands out root.cer and the
# intermediate's .cer), and DER, .p7b and PEM in a mix: refused (2) as
# "only as PEM" though --help says DER and .p7b.
# Three tiers: an intermediate that copies the request's extensions
# (openssl ca, copy_extensions = copy) names mica's own /root.crl and
# /root.crt - the root's - as its own CRL and certificate: relying parties
# checking revocation find no CRL for the intermediate's certificate
# there, and AIA chasing fetches the root. Said by install-ca.
der_of ent/int.pem ent/int.der
der_of ent/root.pem ent/root.der
mkdir -p entint/newcerts
: > entint/index.txt
echo 3000 > entint/serial
cp ent/int.pem entint/root.pem
cp ent/int.key entint/root.key
sed -e "s|$W/ent\$|$W/entint|" ent/ca.cnf > entint/ca.cnf
m -d E9 init --subordinate --name "Fabrikam Issuing 9" --domain fabrikam.test \
	--public-url "$H" --csr-out e9.csr >/dev/null || fail "init E9"
openssl ca -batch -config entint/ca.cnf -extensions v3_ca -in e9.csr -out e9.crt -notext >entint/ca.log 2>&1 ||
	die "openssl ca (the intermediate, copy_extensions)"
openssl x509 -in e9.crt -noout -text | grep -q "URI:$H/root.crl" ||
	fail "openssl ca did not copy the request's CDP"
expect_rc "install-ca --chain int.der --chain root.der (two DER files)" 0 \
	m -d E9 install-ca --cert e9.crt --chain ent/int.der --chain ent/root.der
is "... the chain handed out: the intermediate and the root" "$(m -d E9 export-chain | grep -c 'BEGIN CERTIFICATE')" 3
check "... noting that the intermediate's CRL and certificate are not at this CA's /root.crl, /root.crt" grep -q \
	"^note: .*the issuer, CN=Fabrikam Intermediate, O=Fabrikam, is not the root, yet the certificate names this CA's /root.crl and /root.crt" \
	"$TMP/rc.err"
m -d E10 init --subordinate --name "Fabrikam Issuing 10" --domain fabrikam.test \
	--public-url "$H" --csr-out e10.csr >/dev/null || fail "init E10"
# The README's advice: copy_extensions = copy still, the intermediate's
# own CDP and AIA in the -extensions section (they replace the copies).
cat >> entint/ca.cnf <<EOF
[ v3_ca_own ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:http://pki.fabrikam.test/int.crl
authorityInfoAccess = caIssuers;URI:http://pki.fabrikam.test/int.crt
EOF
openssl ca -batch -config entint/ca.cnf -extensions v3_ca_own -in e10.csr -out e10.crt -notext \
	>entint/ca10.log 2>&1 || die "openssl ca -extensions v3_ca_own (E10)"
openssl x509 -in e10.crt -noout -text > e10.txt
check "openssl ca writes the intermediate's CDP and AIA over the request's" sh -c \
	"grep -q 'URI:http://pki.fabrikam.test/int.crl' e10.txt && ! grep -q '$H/root.cr' e10.txt"
openssl crl2pkcs7 -nocrl -certfile ent/int.pem -outform DER -out ent/int.p7b 2>/dev/null
expect_rc "install-ca --chain int.p7b --chain root.der --chain root.pem (a mix)" 0 \
	m -d E10 install-ca --cert e10.crt --chain ent/int.p7b --chain ent/root.der --chain ent/root.pem
check "... and an intermediate that names its own CRL and certificate: no note" \
	sh -c "! grep -q 'is not the root' '$TMP/rc.err'"

# A CA certificate without keyUsage (RFC 5280 4.2.1.3 asks for it):
# openssl verify -x509_strict refuses every certificate under it. Said.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ent/noku.key \
	-subj "/CN=Fabrikam NoKU Root" -days 3650 -addext "basicConstraints=critical,CA:true" \
	-out ent/noku.pem 2>/dev/null || die "openssl: a root without keyUsage"
openssl x509 -in ent/noku.pem -noout -ext keyUsage 2>/dev/null | grep -q . &&
	die "openssl req wrote a keyUsage"
sub_by E11 "Fabrikam Issuing 11" ent/noku
expect_rc "install-ca under a root without keyUsage: installed" 0 \
	m -d E11 install-ca --cert e11.crt --chain ent/noku.pem
check "... with a note that -x509_strict refuses it" grep -q \
	"^note: .*CN=Fabrikam NoKU Root has no keyUsage: OpenSSL's verify -x509_strict refuses" "$TMP/rc.err"
csr e11leaf www.fabrikam.test
m -d E11 issue --csr e11leaf.csr --out e11leaf.pem >/dev/null 2>&1 || fail "issue under E11"
openssl x509 -in e11.crt > e11.pem
openssl verify -x509_strict -CAfile ent/noku.pem -untrusted e11.pem e11leaf.pem > e11.verify 2>&1 &&
	fail "openssl verify -x509_strict took a leaf under a root without keyUsage" ||
	ok "... as openssl verify -x509_strict does ($(grep -m1 -o 'error [0-9]* at [0-9] depth lookup: .*' e11.verify))"

# ------------- 10b. under roots that sign with RSASSA-PSS, or Ed25519 --
# AD CS with AlternateSignatureAlgorithm=1, and any CA with an RSA-PSS
# key (RFC 4055), signs with RSASSA-PSS: install-ca and import-crl verify
# those signatures. Made here by GnuTLS's certtool, judged by OpenSSL,
# GnuTLS and NSS. A root whose algorithm mica cannot verify (Ed25519) is
# named as such, not reported as a missing certificate.

# gt_root DIR CN KEYGEN-ARGS...: a self-signed certtool root in DIR.
gt_root() {
	local d=$1 cn=$2
	shift 2
	mkdir -p "$d"
	certtool --generate-privkey "$@" --outfile "$d/root.key" >/dev/null 2>&1 &&
		printf 'cn = "%s"\nca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 3650\n' \
			"$cn" > "$d/root.tmpl" &&
		certtool --generate-self-signed --load-privkey "$d/root.key" \
			--template "$d/root.tmpl" --outfile "$d/root.pem" >/dev/null 2>&1 ||
		die "certtool root $cn"
}
# gt_sign DIR CSR OUT [ARGS...]: DIR's root signs the issuing CA's request.
gt_sign() {
	local d=$1 req=$2 out=$3
	shift 3
	printf 'ca\ncert_signing_key\ncrl_signing_key\npath_len = 0\nexpiration_days = 730\nhonor_crq_extensions\n' \
		> "$d/sub.tmpl"
	certtool --generate-certificate --load-request "$req" --load-ca-certificate "$d/root.pem" \
		--load-ca-privkey "$d/root.key" --template "$d/sub.tmpl" "$@" --outfile "$out" \
		>"$d/sign.log" 2>&1
}
# flip_last DER OUT: the same DER with its last octet (in the signature)
# changed.
flip_last() {
	python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 1; open(sys.argv[2], "wb").write(b)' "$1" "$2"
}

gt_root pss "Northwind PSS Root" --key-type rsa-pss --bits 2048
openssl x509 -in pss/root.pem -noout -text | grep -q 'Public Key Algorithm: rsassaPss' ||
	die "certtool made no RSA-PSS key"
m -d P init --subordinate --name "Northwind Issuing CA" --domain northwind.test \
	--public-url "$H" --csr-out p.csr >/dev/null || fail "init P"
gt_sign pss p.csr p.crt && ok "certtool (an RSA-PSS root) signs mica's request" ||
	{ fail "certtool signs"; tail -3 pss/sign.log | sed 's/^/    /'; }
openssl x509 -in p.crt -noout -text | grep -q 'Signature Algorithm: rsassaPss' ||
	fail "the issuing CA's certificate is not RSASSA-PSS-signed"
der_of p.crt p.der
flip_last p.der p-bad.der
m -d P install-ca --cert p-bad.der --chain pss/root.pem >/dev/null 2>p-bad.err
is "install-ca refuses a PSS signature that does not verify (3)" "$?" 3
grep -q 'does not verify' p-bad.err && ok "... saying the signature does not verify" ||
	fail "tampered PSS: $(cat p-bad.err)"
expect_rc "install-ca verifies the RSASSA-PSS chain" 0 m -d P install-ca --cert p.crt --chain pss/root.pem
check "... noting that Chromium refuses a chain with an RSASSA-PSS key" grep -q \
	"^note: .*CN=Northwind PSS Root has an RSASSA-PSS key (not rsaEncryption): Chromium refuses" "$TMP/rc.err"
csr pss www.northwind.test
m -d P issue --csr pss.csr --out pss-leaf.pem >/dev/null 2>&1 || fail "issue under P"
openssl x509 -in p.crt > p.pem
openssl verify -x509_strict -purpose sslserver -CAfile pss/root.pem -untrusted p.pem pss-leaf.pem >/dev/null 2>&1 &&
	ok "a leaf under the PSS root: openssl verify -x509_strict" || fail "PSS chain: openssl verify"
cat pss-leaf.pem p.pem > pss-full.pem
certtool --verify --load-ca-certificate pss/root.pem --infile pss-full.pem 2>&1 |
	grep -q 'Chain verification output: Verified' &&
	ok "a leaf under the PSS root: certtool --verify" || fail "PSS chain: certtool --verify"
mkdir -p pss/nss
certutil -N -d sql:pss/nss --empty-password >/dev/null 2>&1
certutil -A -d sql:pss/nss -n root -t C,, -i pss/root.pem >/dev/null 2>&1
der_of pss-leaf.pem pss-leaf.der
vfychain -d sql:pss/nss -pp -u 1 pss-leaf.der p.der 2>&1 | grep -q 'Chain is good' &&
	ok "a leaf under the PSS root: NSS vfychain" || fail "PSS chain: vfychain"
# What install-ca's note says: Chromium knows no id-RSASSA-PSS key.
chromium_judge "a leaf under the RSA-PSS-key root" refuse pss/root.pem pss-leaf.pem pss.key p.pem www.northwind.test
printf 'crl_next_update = 30\ncrl_number = 7\n' > pss/crl.tmpl
certtool --generate-crl --load-ca-privkey pss/root.key --load-ca-certificate pss/root.pem \
	--template pss/crl.tmpl --outfile pss/root.crl >/dev/null 2>&1 || die "certtool --generate-crl"
openssl crl -in pss/root.crl -outform der -out pss/root-crl.der 2>/dev/null
flip_last pss/root-crl.der pss/bad-crl.der
expect_rc "import-crl refuses the PSS root's CRL with a bad signature (3)" 3 m -d P import-crl pss/bad-crl.der
expect_rc "import-crl: the PSS root's CRL (RSASSA-PSS)" 0 m -d P import-crl pss/root.crl

# An RSA key signing with PSS (certtool --sign-params), SHA-512.
gt_root psig "Northwind PSS-signing Root" --key-type rsa --bits 2048
m -d P2 init --subordinate --name "Northwind Issuing CA 2" --domain northwind.test \
	--public-url "$H" --csr-out p2.csr >/dev/null || fail "init P2"
gt_sign psig p2.csr p2.crt --sign-params RSA-PSS --hash sha512 ||
	{ fail "certtool --sign-params RSA-PSS"; tail -3 psig/sign.log | sed 's/^/    /'; }
expect_rc "install-ca: an RSA root's RSASSA-PSS signature (SHA-512)" 0 \
	m -d P2 install-ca --cert p2.crt --chain psig/root.pem
check "... with no note of an RSASSA-PSS key: an RSA key signing with PSS is fine" \
	sh -c "! grep -q 'RSASSA-PSS key' '$TMP/rc.err'"

gt_root ed "Northwind Ed25519 Root" --key-type ed25519
m -d P3 init --subordinate --name "Northwind Issuing CA 3" --domain northwind.test \
	--public-url "$H" --csr-out p3.csr >/dev/null || fail "init P3"
gt_sign ed p3.csr p3.crt || fail "certtool (Ed25519) signs"
m -d P3 install-ca --cert p3.crt --chain ed/root.pem >/dev/null 2>p3.err
is "install-ca under an Ed25519 root: refused (3)" "$?" 3
grep -q 'Northwind Ed25519 Root.*signature algorithm mica does not verify' p3.err &&
	ok "... naming the root and the algorithm, not a missing certificate" ||
	fail "Ed25519 root: $(cat p3.err)"
expect_rc "... and the CA still awaits its certificate (6)" 6 m -d P3 issue --csr pss.csr --out /dev/null

# ------------- 10c. a root that ends first, a CA revoked at the root --
# Another organisation's root (openssl ca) that ends in 60 days certifies
# mica for two years, as openssl ca and AD CS do (sign-ca would cut it):
# relying parties refuse a leaf once the root has expired ("certificate
# has expired" at depth 2), so leaves end with the root, said at
# install-ca and at issuance. Then the root revokes mica's certificate
# (openssl ca -revoke -crl_reason cACompromise): relying parties refuse
# every leaf (error 23 at depth 1), so mica issues nothing more - CLI and
# API refused ("ca_revoked", exit 6 / 409), /healthz 503, the daemon says
# so at start and serves its CRLs still - until a rollover. In three
# tiers (root, intermediate, mica) the root's CRL revoking the
# intermediate does the same.

org_root org 2000 "/O=Tailspin/CN=Tailspin Root" 60 ec -pkeyopt ec_paramgen_curve:P-256
cat >> org/ca.cnf <<EOF
[ v3_ca ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_inter ]
basicConstraints = critical, CA:true, pathlen:1
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
ROOT_END=$(date -d "$(openssl x509 -in org/root.pem -noout -enddate | cut -d= -f2)" +%s)
m -d V init --subordinate --name "Tailspin Issuing CA" --domain tailspin.test \
	--public-url "$H" --csr-out v.csr >/dev/null || fail "init V"
openssl ca -batch -config org/ca.cnf -extensions v3_ca -in v.csr -out v.crt -notext >org/v.log 2>&1 ||
	die "openssl ca (V)"
openssl x509 -in v.crt > v.pem
expect_rc "install-ca under a root that ends before the CA certificate" 0 \
	m -d V install-ca --cert v.crt --chain org/root.pem
grep -q "^note: .*the certificate of .*Tailspin Root.*, above this CA, ends on .*before this CA's certificate" "$TMP/rc.err" &&
	ok "... noting that the root ends first and leaves are cut to it" || fail "... it said: $(cat "$TMP/rc.err")"
csr vleaf www.tailspin.test
expect_rc "issue for 300 days under it" 0 m -d V issue --csr vleaf.csr --days 300 --out vleaf.pem
grep -q "^note: validity was shortened to end with the CA certificate of .*Tailspin Root.*, above this CA" "$TMP/rc.err" &&
	ok "... said to end with the root" || fail "... it said: $(cat "$TMP/rc.err")"
LEAF_END=$(date -d "$(openssl x509 -in vleaf.pem -noout -enddate | cut -d= -f2)" +%s)
is "... the leaf ends with the root, not in 300 days" "$LEAF_END" "$ROOT_END"
openssl verify -x509_strict -attime $((LEAF_END - 3600)) -CAfile org/root.pem -untrusted v.pem vleaf.pem \
	> vleaf.verify 2>&1 && ok "openssl verify -attime an hour before the leaf's end: OK" ||
	fail "openssl verify before the leaf's end: $(cat vleaf.verify)"
VENR=$(m -d V token create --enroll --uses -1 --comment "hier test") || die "enroll token (V)"
issue_v() { # issue_v NAME DNS: NAME.json; the HTTP code on stdout
	csr "$1" "$2"
	jq_csr "$1.csr" | curl -s -o "$1.json" -w '%{http_code}' --cacert org/root.pem \
		-H "Authorization: Bearer $VENR" -H 'Content-Type: application/json' \
		--data-binary @- "$S/api/v1/requests"
}
serve_start "$W/serve-v.out" V MICA_PASSPHRASE="$MICA_PASSPHRASE" -- || serve_failed "$W/serve-v.out"
is "/healthz before the revocation: 200" "$(curl -s -o /dev/null -w '%{http_code}' "$H/healthz")" 200
is "the daemon issues (201)" "$(issue_v vapi1 api1.tailspin.test)" 201

openssl ca -batch -config org/ca.cnf -revoke v.crt -crl_reason cACompromise >org/revoke.log 2>&1 ||
	die "openssl ca -revoke (V)"
openssl ca -batch -config org/ca.cnf -gencrl -out org/root2.crl >/dev/null 2>&1 || die "openssl ca -gencrl"
expect_rc "import-crl: the root's CRL revoking this CA" 0 m -d V import-crl org/root2.crl
grep -q "^warning: this CRL revokes this CA's own certificate: .*issues nothing more.*renew-ca --new-key" "$TMP/rc.err" &&
	ok "... saying it is revoked, issues nothing more, and what to do" || fail "... it said: $(cat "$TMP/rc.err")"
expect_rc "mica issue is refused (6)" 6 m -d V issue --csr vleaf.csr --out /dev/null
check "... saying the root's CRL revokes this CA's certificate" \
	grep -q "the root's CRL revokes this CA's certificate" "$TMP/rc.err"
m -d V crl --pem --out v-crl.pem >/dev/null 2>&1 || die "mica crl (V)"
openssl crl -in org/root2.crl > v-crls.pem 2>/dev/null
cat v-crl.pem >> v-crls.pem
openssl verify -crl_check_all -CAfile org/root.pem -untrusted v.pem -CRLfile v-crls.pem vleaf.pem \
	> vleaf.revoked 2>&1
grep -q "^error 23 at 1 depth lookup: certificate revoked" vleaf.revoked &&
	ok "openssl verify -crl_check_all refuses its leaves (error 23 at depth 1)" ||
	fail "openssl verify with the root's CRL: $(cat vleaf.revoked)"
health_revoked() {
	[ "$(curl -s -o "$W/v.health" -w '%{http_code}' "$H/healthz")" = 503 ] &&
		[ "$(json_get "$W/v.health" error)" = ca_revoked ]
}
wait_for "the running daemon finds the imported CRL (/healthz 503 ca_revoked)" 10 health_revoked &&
	ok "the running daemon: /healthz 503 ca_revoked" || fail "/healthz: $(cat "$W/v.health")"
is "... and the API refuses issuance (409)" "$(issue_v vapi2 api2.tailspin.test)" 409
is "... ca_revoked" "$(json_get vapi2.json error)" ca_revoked
is "... still serving the root's CRL" "$(fetch /root.crl v-root.crl)" "200 application/pkix-crl"
is "... and its own" "$(fetch /crl v-own.crl)" "200 application/pkix-crl"
serve_stop
serve_start "$W/serve-v2.out" V MICA_PASSPHRASE="$MICA_PASSPHRASE" -- || serve_failed "$W/serve-v2.out"
grep -q "revokes this CA's certificate.*issuing nothing, serving the CRLs" "$W/serve-v2.out.err" &&
	ok "serve starts under a revoked CA certificate, logging an error" || fail "serve start: $(cat "$W/serve-v2.out.err")"
is "... /healthz 503 at once" "$(curl -s -o /dev/null -w '%{http_code}' "$H/healthz")" 503
serve_stop

# Revoked as cACompromise: its key is never certified again - not asked
# for by renew-ca, not installed when the root signs it anyway.
expect_rc "renew-ca with the same key: refused (6)" 6 m -d V renew-ca --csr-out vsame.csr
check "... key_compromised, saying whose CRL and why" \
	grep -q "the root's CRL revokes this CA's certificate (cACompromise): its key is not certified again.*--new-key" "$TMP/rc.err"
[ ! -e vsame.csr ] && ok "... writing no request" || fail "renew-ca wrote vsame.csr"
openssl ca -batch -config org/ca.cnf -extensions v3_ca -in v.csr -out vsame.crt -notext >org/vsame.log 2>&1 ||
	die "openssl ca (V, the same key again)"
expect_rc "install-ca of a new certificate for the compromised key: refused (6)" 6 \
	m -d V install-ca --cert vsame.crt
check "... saying to install one for a new key" grep -q "install one for a new key" "$TMP/rc.err"
expect_rc "... issuance still refused" 6 m -d V issue --csr vleaf.csr --out /dev/null
# The root's next CRL leaves the entry out (as a CA does once the
# certificate has expired, RFC 5280 3.3): the key is no less exposed.
cp org/index.txt org/index.keep
VSER=$(openssl x509 -in v.crt -noout -serial | cut -d= -f2)
awk -v s="$VSER" 'BEGIN { FS = OFS = "\t" } $4 == s { $1 = "V"; $3 = "" } { print }' \
	org/index.keep > org/index.txt
openssl ca -batch -config org/ca.cnf -gencrl -out org/root2b.crl >/dev/null 2>&1 || die "openssl ca -gencrl"
cp org/index.keep org/index.txt
expect_rc "import-crl: a newer root CRL without this CA's entry" 0 m -d V import-crl org/root2b.crl
expect_rc "... renew-ca with the same key: still refused (6)" 6 m -d V renew-ca --csr-out vsame.csr
check "... key_compromised" grep -q "(cACompromise): its key is not certified again" "$TMP/rc.err"
expect_rc "... install-ca of a certificate for the compromised key: still refused (6)" 6 \
	m -d V install-ca --cert vsame.crt
expect_rc "renew-ca --new-key" 0 m -d V renew-ca --new-key --csr-out v2.csr
openssl ca -batch -config org/ca.cnf -extensions v3_ca -in v2.csr -out v2.crt -notext >org/v2.log 2>&1 ||
	die "openssl ca (V, rollover)"
expect_rc "install-ca of the new certificate" 0 m -d V install-ca --cert v2.crt
expect_rc "... lifts it: mica issue" 0 m -d V issue --csr vleaf.csr --out vleaf2.pem
serve_start "$W/serve-v3.out" V MICA_PASSPHRASE="$MICA_PASSPHRASE" -- || serve_failed "$W/serve-v3.out"
is "... /healthz 200 again" "$(curl -s -o /dev/null -w '%{http_code}' "$H/healthz")" 200
serve_stop

# Three tiers: the root revokes the intermediate above mica.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout org/inter.key \
	-subj "/O=Tailspin/CN=Tailspin Intermediate" -out org/inter.csr 2>/dev/null || die "openssl req (inter)"
openssl ca -batch -config org/ca.cnf -extensions v3_inter -days 365 -in org/inter.csr \
	-out org/inter.crt -notext >org/inter.log 2>&1 || die "openssl ca (intermediate)"
openssl x509 -in org/inter.crt > org/inter.pem
m -d T init --subordinate --name "Tailspin Issuing CA 3" --domain tailspin.test \
	--public-url "$H" --csr-out t.csr >/dev/null || fail "init T"
openssl x509 -req -in t.csr -CA org/inter.pem -CAkey org/inter.key -CAcreateserial -days 30 \
	-extfile ent/sub.ext -out t.crt 2>/dev/null || die "openssl x509 -req (T)"
expect_rc "install-ca under an intermediate" 0 m -d T install-ca --cert t.crt --chain org/inter.pem --chain org/root.pem
expect_rc "... issues" 0 m -d T issue --csr vleaf.csr --out tleaf.pem
openssl ca -batch -config org/ca.cnf -revoke org/inter.crt -crl_reason cACompromise >>org/revoke.log 2>&1 ||
	die "openssl ca -revoke (intermediate)"
openssl ca -batch -config org/ca.cnf -gencrl -out org/root3.crl >/dev/null 2>&1 || die "openssl ca -gencrl"
openssl verify -crl_check -CAfile org/root.pem -CRLfile org/root3.crl org/inter.pem 2>&1 |
	grep -q "certificate revoked" && ok "openssl verify: the root's CRL revokes the intermediate" ||
	fail "openssl verify of the intermediate"
expect_rc "import-crl: the root's CRL revoking the intermediate above this CA" 0 m -d T import-crl org/root3.crl
grep -q "^warning: this CRL revokes the certificate of .*Tailspin Intermediate.*, above this CA" "$TMP/rc.err" &&
	ok "... saying so" || fail "... it said: $(cat "$TMP/rc.err")"
expect_rc "... and mica issue is refused (6)" 6 m -d T issue --csr vleaf.csr --out /dev/null
check "... naming the intermediate" grep -q "Tailspin Intermediate.*above this CA" "$TMP/rc.err"
# The intermediate's own CRL revoking mica's certificate: relying parties
# check it (its CDP), so mica imports it as it does the root's and issues
# nothing - before, import-crl refused any CRL but the root's.
ca_cnf oint "$W/org/inter.pem" "$W/org/inter.key" 1000
cat >> oint/ca.cnf <<EOF
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF
openssl ca -batch -config oint/ca.cnf -revoke t.crt -crl_reason keyCompromise >oint/revoke.log 2>&1 ||
	die "openssl ca -revoke (T, by the intermediate)"
openssl ca -batch -config oint/ca.cnf -gencrl -out oint/inter.crl >/dev/null 2>&1 || die "openssl ca -gencrl (intermediate)"
openssl x509 -in t.crt > t.pem
openssl verify -crl_check -CAfile org/root.pem -untrusted org/inter.pem -CRLfile oint/inter.crl t.pem 2>&1 |
	grep -q "certificate revoked" && ok "openssl verify: the intermediate's CRL revokes mica's certificate" ||
	fail "openssl verify of mica's certificate with the intermediate's CRL"
expect_rc "import-crl: the intermediate's CRL revoking this CA" 0 m -d T import-crl oint/inter.crl
grep -q "^warning: this CRL revokes this CA's own certificate" "$TMP/rc.err" &&
	ok "... saying it revokes this CA's own certificate" || fail "... it said: $(cat "$TMP/rc.err")"
expect_rc "... mica issue is refused (6)" 6 m -d T issue --csr vleaf.csr --out /dev/null
check "... by the intermediate's CRL, this CA's own certificate" \
	grep -q "the CRL of .*Tailspin Intermediate.* revokes this CA's certificate" "$TMP/rc.err"
expect_rc "import-crl of the same CRL again: not newer (6)" 6 m -d T import-crl oint/inter.crl

# --------------------------- 10d. renew-ca and the allowed domains --

# A request asks for each allowed domain as a permitted subtree, and a CA
# certificate has at most 32: a domain under another adds nothing (the
# other's subtree holds it) and is left out; more than 32 others are
# refused. renew-ca asked silently for the first 32 in order, and the next
# certificate stopped permitting the others.
sub_ca dom "Contoso Domains CA" dom.csr
m -d R sign-ca --csr dom.csr --out dom.crt >/dev/null 2>&1 || die "sign-ca DOM"
m -d dom install-ca --cert dom.crt --chain root.pem >/dev/null 2>&1 || die "install-ca DOM"
for i in $(seq 1 31); do
	m -d dom domain add "d$i.contoso.test" >/dev/null 2>&1 || die "domain add d$i.contoso.test"
	m -d dom domain add "a$i.test" >/dev/null 2>&1 || die "domain add a$i.test"
done
expect_rc "renew-ca of a CA allowing 63 domains, 31 under another" 0 m -d dom renew-ca --csr-out dom2.csr
openssl req -in dom2.csr -noout -text > dom2.txt
is "... asks for the 32 under no other" "$(grep -c '^ *DNS:' dom2.txt)" 32
check "... a31.test among them" grep -q 'DNS:a31.test$' dom2.txt
check "... d1.contoso.test left out: contoso.test holds it" sh -c "! grep -q 'DNS:d1.contoso.test' dom2.txt"
m -d dom domain add a32.test >/dev/null 2>&1 || die "domain add a32.test"
expect_rc "... with 33 under no other: refused (4)" 4 m -d dom renew-ca --csr-out dom3.csr
check "... saying how many fit" grep -q "allows 33 domains .*permit at most 32" "$TMP/rc.err"
[ ! -e dom3.csr ] && ok "... writing no request" || fail "renew-ca wrote dom3.csr"

# ----------------------------- 10e. the root's CRL near its nextUpdate --

# /root.crl, the CDP of the issuing CA's certificate, is renewed only by an
# import: past its nextUpdate relying parties that check revocation refuse
# everything under the CA, which went on saying "ok" with no warning
# before. The root's ARL lasts 180 days: warned of 30 days ahead.
m -d R crl --out arl-dom.crl >/dev/null 2>&1 || die "crl on R"
expect_rc "import-crl of a fresh root CRL" 0 m -d dom import-crl arl-dom.crl
check "... no warning" sh -c "! grep -q 'warning' '$TMP/rc.err'"
FTLIB=$(faketime_lib)
FT_ASAN="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
if [ -n "$FTLIB" ]; then
	ft() { local off=$1; shift; env LD_PRELOAD="$FTLIB" FAKETIME="$off" \
		FAKETIME_DONT_FAKE_MONOTONIC=1 "$FT_ASAN" "$MICA" "$@"; }
	# The root's clock two hours ahead, then right: its next CRL has a
	# higher number and an earlier thisUpdate (a step back of more than
	# an hour is dated now). Newer by its number, taken, and said: a
	# relying party that goes by the date keeps the other.
	ft +2h -d R crl --out arl-ahead.crl >/dev/null 2>&1 || die "crl on R, 2 h ahead"
	ft +2h -d dom import-crl arl-ahead.crl >/dev/null 2>&1 || die "import-crl, 2 h ahead"
	m -d R crl --out arl-back.crl >/dev/null 2>&1 || die "crl on R, clock set right"
	expect_rc "import-crl of a higher-numbered root CRL dated before the one held: taken" 0 \
		m -d dom import-crl arl-back.crl
	check "... saying its date is before the CRL it replaces" \
		grep -q "^warning: CRL [0-9]* is dated .*, before CRL [0-9]* which it replaces" "$TMP/rc.err"
	ft +100d -d dom list >/dev/null 2>ft.err
	check "100 days on: mica list warns of nothing" sh -c "! grep -q \"root's CRL\" ft.err"
	ft +160d -d dom list >/dev/null 2>ft.err
	check "160 days on: mica list warns that the root's CRL expires" \
		grep -q "^warning: the root's CRL served at /root.crl expires on .*(in [0-9]* days).*mica import-crl" ft.err
	ft +181d -d dom list >/dev/null 2>ft.err
	check "181 days on: ... that it has expired" grep -q "^warning: the root's CRL served at /root.crl .*expired on" ft.err
	# A certificate that names another CRL distribution point (the root's
	# own, as AD CS or openssl ca write it): the copy imported only to
	# learn of a revocation is fetched by nobody, and nothing is said.
	sub_ca odp "Contoso Own-CDP CA" odp.csr
	m -d R sign-ca --csr odp.csr --crl-url http://pki.contoso.test/root.crl --out odp.crt >/dev/null 2>&1 ||
		die "sign-ca ODP"
	m -d odp install-ca --cert odp.crt --chain root.pem >/dev/null 2>&1 || die "install-ca ODP"
	m -d odp import-crl arl-dom.crl >/dev/null 2>&1 || die "import-crl ODP"
	ft +181d -d odp list >/dev/null 2>ft.err
	check "another CDP: 181 days on, no warning of /root.crl" sh -c "! grep -q \"root's CRL\" ft.err"
	HP=$(free_port); SP=$(free_port); serve_ports
	serve_start "$W/serve-rcrl.out" dom "LD_PRELOAD=$FTLIB" FAKETIME=+160d \
		FAKETIME_DONT_FAKE_MONOTONIC=1 "$FT_ASAN" MICA_PASSPHRASE="$MICA_PASSPHRASE" -- ||
		serve_failed "$W/serve-rcrl.out"
	curl -s --max-time $((20 * TIME_SCALE)) "$H/healthz" > hz.json
	check "... /healthz ok, with the warning" python3 -c 'import json,sys
d = json.load(open("hz.json"))
sys.exit(not (d["status"] == "ok" and "/root.crl expires on" in d["warning"]))'
	check "... and the log" grep -q "warning: the root's CRL served at /root.crl expires" "$W/serve-rcrl.out.err"
	serve_stop
	serve_start "$W/serve-rcrl2.out" dom "LD_PRELOAD=$FTLIB" FAKETIME=+181d \
		FAKETIME_DONT_FAKE_MONOTONIC=1 "$FT_ASAN" MICA_PASSPHRASE="$MICA_PASSPHRASE" -- ||
		serve_failed "$W/serve-rcrl2.out"
	is "181 days on: /healthz 503 root_crl_expired" \
		"$(curl -s -o hz.json -w '%{http_code}' --max-time $((20 * TIME_SCALE)) "$H/healthz") $(python3 -c 'import json; print(json.load(open("hz.json"))["error"])')" \
		"503 root_crl_expired"
	serve_stop
	# A CRL that both revokes this CA and is dated before the one held
	# (the root's clock was ahead, then set right, and it revoked this
	# CA meanwhile): taken, and both are said.
	ft +2h -d R crl --out arl-odp-ahead.crl >/dev/null 2>&1 || die "crl on R, 2 h ahead (ODP)"
	ft +2h -d odp import-crl arl-odp-ahead.crl >/dev/null 2>&1 || die "import-crl ODP, 2 h ahead"
	m -d R revoke "$(serial_of odp.crt)" --reason superseded >/dev/null 2>&1 || die "revoke ODP on R"
	m -d R crl --out arl-odp-both.crl >/dev/null 2>&1 || die "crl on R (ODP revoked)"
	expect_rc "import-crl of a CRL revoking this CA and dated back: taken" 0 \
		m -d odp import-crl arl-odp-both.crl
	check "... saying it revokes this CA" \
		grep -q "^warning: this CRL revokes this CA's own certificate" "$TMP/rc.err"
	check "... and that its date is before the CRL it replaces" \
		grep -q "CRL [0-9]* is dated .*, before CRL [0-9]* which it replaces" "$TMP/rc.err"
else
	skip "the root's CRL near its nextUpdate warned of" "libfaketime missing"
fi

# --------------------------- 11. a single-tier store of schema 4 --

m -d S init --name "Contoso Single Root" --domain contoso.test --public-url "http://127.0.0.1:$HP" >/dev/null ||
	die "init S"
csr s1 s1.contoso.test
m -d S issue --csr s1.csr --out s1.pem >/dev/null 2>&1 || die "issue S"
m -d S revoke "$(serial_of s1.pem)" >/dev/null 2>&1
mkdir -m 700 OLD
for f in 001_init 002_drop_setting 003_security 004_domains_mac; do
	cat "$SRC/schema/$f.sql"
done | sqlite3 OLD/mica.db
sqlite3 OLD/mica.db <<EOF || die "building a schema 4 store"
ATTACH 'S/mica.db' AS s;
INSERT INTO ca SELECT id, name, public_url, key_type, cert_der, key_salt, key_iter,
	key_nonce, key_ct, crl_days, created_at, domains_mac FROM s.ca;
INSERT INTO ca_domain SELECT * FROM s.ca_domain;
INSERT INTO certificate SELECT id, serial, profile, subject, names, request_id, not_before,
	not_after, der, spki_sha256, status, revoked_at, reason, renewal_of, renewed_by, created_at
	FROM s.certificate;
INSERT INTO cert_name SELECT * FROM s.cert_name;
INSERT INTO crl SELECT number, this_update, next_update, body FROM
	(SELECT *, coalesce(der, readfile('S/mica.db-crls/' || number || '.crl')) AS body
	 FROM s.crl) WHERE body IS NOT NULL;
INSERT INTO audit SELECT * FROM s.audit;
PRAGMA user_version = 4;
PRAGMA application_id = 1835623265;
EOF
chmod 600 OLD/mica.db
is "a store of schema 4" "$(sqlite3 OLD/mica.db 'PRAGMA user_version')" 4
expect_rc "a read-only command asks for the upgrade first (8)" 8 m -d OLD export-root
csr s2 s2.contoso.test
expect_rc "the first command that writes migrates it, and issues" 0 m -d OLD issue --csr s2.csr --out s2.pem
m -d OLD export-root --out old-root.pem
cmp -s old-root.pem <(m -d S export-root) && ok "the same root" || fail "migrated root differs"
# The current schema is what a new store has (5, the hierarchy's, or
# later), the newest migration; the old store is migrated up to it.
NEWEST=$(ls "$SRC/schema" | sed -n 's/^0*\([0-9][0-9]*\)_.*\.sql$/\1/p' | sort -n | tail -1)
is "a new store has the newest schema ($NEWEST)" "$(sqlite3 S/mica.db 'PRAGMA user_version')" "$NEWEST"
is "migrated to the newest schema ($NEWEST)" "$(sqlite3 OLD/mica.db 'PRAGMA user_version')" "$NEWEST"
is "... an active CA with key 0" "$(sqlite3 OLD/mica.db 'SELECT state, key_idx FROM ca')" "0|0"
m -d OLD list --json > old-list.json
is "... every certificate" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' old-list.json)" 2
expect_rc "... publishes its CRL, numbering on" 0 m -d OLD crl --out old.crl
LAST=$(sqlite3 S/mica.db 'SELECT max(number) FROM crl')
NOW=$(openssl crl -inform der -in old.crl -noout -crlnumber | cut -d= -f2)
NOW=${NOW#0x}   # OpenSSL 3 writes crlNumber=0x03
[ $((16#$NOW)) -gt "$LAST" ] && ok "... above the last one ($LAST -> $((16#$NOW)))" || fail "CRL number did not increase"
openssl crl -inform der -in old.crl -noout -text | grep -qi "$(serial_of s1.pem)" &&
	ok "... still listing the revocation" || fail "revocation lost in the migration"
openssl verify -x509_strict -CAfile old-root.pem s2.pem >/dev/null 2>&1 &&
	ok "single tier: openssl -x509_strict verifies the new leaf" || fail "single tier verify"
HP=$(free_port); SP=$(free_port); serve_ports
serve_start "$W/serve3.out" OLD MICA_PASSPHRASE="$MICA_PASSPHRASE" -- || serve_failed "$W/serve3.out"
grep -q '^root CA: Contoso Single Root' "$W/serve3.out" && ok "the migrated single-tier CA serves" || fail "banner"
cmp -s <(curl -s "$H/ca.crt") <(openssl x509 -in old-root.pem -outform der) &&
	ok "/ca.crt is still the root" || fail "/ca.crt changed"
cmp -s <(curl -s "$H/root.crt") <(openssl x509 -in old-root.pem -outform der) &&
	ok "/root.crt is the root too" || fail "/root.crt"
serve_stop

finish
