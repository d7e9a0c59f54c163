#!/bin/bash
# End-to-end: ZLint, an X.509 linter written by others (Debian's zlint),
# judges every kind of certificate and CRL mica makes:
#   - roots from 'mica init' (ec-p256, ec-p384, rsa-2048, rsa-3072) and an
#     offline root (--root-only);
#   - issuing CAs signed by it (init --subordinate, sign-ca, install-ca):
#     one with the name constraints of its --domain, one with a --permit
#     address range; the rollover certificate of 'renew-ca --new-key' and
#     of 'renew-ca' with the same key; a new root cross-signed by the old
#     one (sign-ca --cross);
#   - leaves of every profile (server, client, email, ipsec, codesign)
#     with P-256, P-384, RSA 2048 and RSA 3072 keys and every kind of name
#     mica certifies (DNS, wildcard, IPv4, IPv6, email, UPN), from a root and
#     from an issuing CA; mica refuses Ed25519 keys and URI names, so none
#     is linted;
#   - what 'mica serve' makes for itself: its root, its HTTPS certificate
#     (from openssl s_client), the OCSP responder's certificate (from an
#     OCSP response) and the SCEP RA certificate (GetCACert), with no
#     exclusion of its own: its Certificate Request Agent EKU tells ZLint
#     it is no TLS server's (without an EKU, the TLS server lints fire);
#   - complete CRLs (empty, with revocations, the offline root's) and a
#     delta CRL: ZLint 3.6.2's command line lints a PEM "X509 CRL" (not
#     DER, which it takes for a certificate).
# Policy: no lint may end in warn, error or fatal, except the CA/Browser
# Forum and root-program lints excluded by name below, each with why a
# private CA does not follow it. RFC 5280 and RFC 3279 lints are never
# excluded (the script refuses such an exclusion), and an excluded name
# must be one of ZLint's, so that a misspelt exclusion cannot hide a
# finding. A certificate made by openssl that breaks RFC 5280 4.2.1.12
# must be flagged, so that a linter that judges nothing fails the test.
#
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/zlint.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

command -v zlint >/dev/null || skip_all "zlint is not installed (Debian: zlint)"
need openssl curl python3

export MICA_PASSPHRASE="zlint e2e passphrase"
W=$(mktmp)
cd "$W" || die "cd"
: > lint.list

# Lints a private CA legitimately does not follow: NAME<TAB>LABELS<TAB>why,
# LABELS a shell pattern of the labels (below) it is excluded for.
cat > exclude.tsv <<'EXCL'
e_ca_country_name_missing	*	BR 7.1.2.1: a private CA names itself as its owner likes; C is optional in RFC 5280
e_ca_organization_name_missing	*	BR 7.1.2.1: O is optional for a private CA (mica init --org sets it)
e_sub_ca_certificate_policies_missing	*	BR 7.1.2.10.5: there is no CA/Browser Forum policy OID for a private CA to assert
e_sub_cert_certificate_policies_missing	*	BR 7.1.2.3: no CA/Browser Forum policy OID for a private CA to assert
e_sub_cert_cert_policy_empty	*	BR 7.1.2.3: as above
e_dnsname_not_valid_tld	*	BR 3.2.2.4: private names (.test, .internal, .lan) are what a private CA certifies
e_ext_san_contains_reserved_ip	*	BR 7.1.4.2.1: so are private addresses (10/8, 2001:db8::/32, 127.0.0.1)
e_ext_nc_intersects_reserved_ip	*	BR 7.1.2.10.8: an issuing CA for a private network is permitted private ranges
w_sub_cert_aia_contains_internal_names	*	BR 7.1.2.10.3: the CA's URL is an internal name on a private network
w_ext_subject_key_identifier_not_recommended_subscriber	*	BR 7.1.2.7.6: RFC 5280 4.2.1.2 says SHOULD; private path building uses it
w_subject_common_name_included	*	BR 7.1.2.7.1: Windows, older clients and admins read the CN; RFC 5280 allows it
e_ext_san_rfc822_name_present	*ipsec*	BR 7.1.4.2.1: ipsec certifies email identities (IKE ID_RFC822_ADDR) beside serverAuth
e_cab_crl_has_valid_reason_code	*CRL*	BR 7.2.2: mica offers certificateHold (README, mica revoke), which the BRs drop
EXCL

# ------------------------------------------------------------ helpers --

# add LABEL FILE: lint FILE (a PEM certificate or CRL) with the others.
add() { printf '%s\t%s\n' "$1" "$2" >> lint.list; }

# key_args SPEC: openssl req options for a new key of SPEC.
key_args() {
	case $1 in
	ec-p256) echo "-newkey ec -pkeyopt ec_paramgen_curve:P-256" ;;
	ec-p384) echo "-newkey ec -pkeyopt ec_paramgen_curve:P-384" ;;
	rsa-*) echo "-newkey rsa:${1#rsa-}" ;;
	ed25519) echo "-newkey ed25519" ;;
	esac
}
# csr NAME KEYSPEC SUBJ SAN: an OpenSSL request in NAME.csr (key NAME.key).
csr() {
	# shellcheck disable=SC2046 # key_args is several words on purpose
	openssl req -new $(key_args "$2") -nodes -keyout "$1.key" -subj "$3" \
		-addext "subjectAltName=$4" -out "$1.csr" 2>/dev/null || die "openssl req $1"
}
# issue DIR NAME PROFILE KEYSPEC SUBJ SAN: a certificate NAME.pem from DIR
# (linted as "DIR PROFILE KEYSPEC").
issue() {
	local d=$1 n=$2 p=$3 k=$4
	csr "$n" "$k" "$5" "$6"
	if "$MICA" -d "$d" issue --csr "$n.csr" --profile "$p" --out "$n.pem" 2>"$n.err"; then
		add "$d $p leaf ($k)" "$n.pem"
	else
		fail "$d: issue $p ($k): $(cat "$n.err")"
	fi
}
# leaves DIR DOMAIN [IPS]: one leaf of every profile from DIR, the keys
# taking turns, with every kind of name the profile takes; IPS (",IP:...")
# are the addresses a server and an ipsec peer get (none under a CA whose
# name constraints exclude them).
leaves() {
	local d=$1 dom=$2 ips=${3:-}
	issue "$d" "$d-srv-p256" server ec-p256 "/CN=www.$dom" "DNS:www.$dom,DNS:*.web.$dom$ips"
	issue "$d" "$d-srv-p384" server ec-p384 "/CN=mail.$dom" "DNS:mail.$dom"
	issue "$d" "$d-srv-rsa2048" server rsa-2048 "/CN=rsa.$dom" "DNS:rsa.$dom$ips"
	issue "$d" "$d-srv-rsa3072" server rsa-3072 "/CN=big.$dom" "DNS:big.$dom"
	issue "$d" "$d-cli-p256" client ec-p256 /CN=alice "email:alice@$dom,DNS:phone.$dom"
	issue "$d" "$d-cli-rsa" client rsa-2048 /CN=bob "email:bob@$dom"
	# a Windows UPN first (the CN its address), as NPS and VPNs read it
	issue "$d" "$d-cli-upn" client ec-p256 /CN=carol \
		"otherName:1.3.6.1.4.1.311.20.2.3;UTF8:carol@$dom,email:carol@$dom"
	issue "$d" "$d-mail-p384" email ec-p384 "/CN=Alice Example" "email:alice@$dom"
	issue "$d" "$d-mail-rsa" email rsa-3072 "/CN=Bob Example" "email:bob@$dom"
	issue "$d" "$d-ipsec-p256" ipsec ec-p256 "/CN=vpn.$dom" "DNS:vpn.$dom,email:vpn@$dom$ips"
	issue "$d" "$d-ipsec-rsa" ipsec rsa-2048 "/CN=gw.$dom" "DNS:gw.$dom"
	# An email address first: no CN of it beside serverAuth.
	issue "$d" "$d-ipsec-mail" ipsec ec-p256 "/CN=alice" "email:alice@$dom,DNS:alice.$dom"
	issue "$d" "$d-code-rsa" codesign rsa-3072 "/CN=build.$dom" "DNS:build.$dom"
	issue "$d" "$d-code-p256" codesign ec-p256 "/CN=Release Signing" "email:release@$dom"
}
# split PEM PREFIX: each certificate of PEM in PREFIX1.pem, PREFIX2.pem...
split_pem() { awk -v p="$2" '/BEGIN CERT/{n++; f=p n ".pem"} f{print > f} /END CERT/{f=""}' "$1"; }

# ------------------------------------------- single-tier roots, leaves --

for kt in ec-p256 ec-p384 rsa-2048 rsa-3072; do
	if "$MICA" -d "$kt" init --name "Zlint Root $kt" --org "Contoso Ltd" \
		--domain contoso.test --public-url http://ca.contoso.test:8080 --key "$kt" \
		>"$kt.init" 2>&1; then
		"$MICA" -d "$kt" export-root --out "$kt-root.pem" 2>/dev/null
		add "$kt root" "$kt-root.pem"
		leaves "$kt" contoso.test ",IP:10.0.0.25,IP:2001:db8::25"
	else
		fail "init --key $kt: $(tail -1 "$kt.init")"
	fi
done
# (Ed25519 and URI names: refused, so there is nothing of theirs to lint.)
csr ed ed25519 /CN=ed.contoso.test DNS:ed.contoso.test
expect_rc "mica refuses an Ed25519 key (4)" 4 "$MICA" -d ec-p256 issue --csr ed.csr
csr uri ec-p256 /CN=uri.contoso.test "DNS:uri.contoso.test,URI:https://uri.contoso.test/"
expect_rc "mica refuses a URI name (4)" 4 "$MICA" -d ec-p256 issue --csr uri.csr

# CRLs of the ec-p256 and rsa-2048 CAs: revocations with reasons, and a
# delta CRL on top of a complete one.
for kt in ec-p256 rsa-2048; do
	"$MICA" -d "$kt" crl --pem --out "$kt-crl0.pem" 2>/dev/null &&
		add "$kt complete CRL (empty)" "$kt-crl0.pem" || fail "$kt: crl"
	[ -f "$kt-cli-p256.pem" ] && "$MICA" -d "$kt" revoke "$(serial_of "$kt-cli-p256.pem")" \
		--reason keyCompromise >/dev/null 2>&1
	[ -f "$kt-mail-rsa.pem" ] && "$MICA" -d "$kt" revoke "$(serial_of "$kt-mail-rsa.pem")" \
		--reason certificateHold >/dev/null 2>&1
	if "$MICA" -d "$kt" crl --delta-hours 1 --pem --out "$kt-crl.pem" 2>"$kt.crl.err"; then
		add "$kt complete CRL (2 revoked, deltas on)" "$kt-crl.pem"
	else fail "$kt: crl --delta-hours 1: $(cat "$kt.crl.err")"; fi
	[ -f "$kt-srv-p384.pem" ] && "$MICA" -d "$kt" revoke "$(serial_of "$kt-srv-p384.pem")" \
		--reason superseded >/dev/null 2>&1
	if "$MICA" -d "$kt" crl --delta --pem --out "$kt-delta.pem" 2>"$kt.crl.err"; then
		add "$kt delta CRL" "$kt-delta.pem"
	else fail "$kt: crl --delta: $(cat "$kt.crl.err")"; fi
done

# ------------------------------------------------ two tiers, rollover --

"$MICA" -d R init --name "Zlint Offline Root" --org "Contoso Ltd" --root-only --key ec-p384 \
	--public-url http://pki.contoso.test >/dev/null 2>&1 || die "init --root-only"
"$MICA" -d R export-root --out R-root.pem 2>/dev/null
add "offline root (ec-p384)" R-root.pem
"$MICA" -d R crl --pem --out R-crl.pem 2>/dev/null && add "offline root's CRL" R-crl.pem ||
	fail "offline root: crl"

# sub DIR KEY [sign-ca options]: an issuing CA under R, installed.
sub() {
	local d=$1 k=$2
	shift 2
	"$MICA" -d "$d" init --subordinate --name "Zlint Issuing CA $d" --org "Contoso Ltd" \
		--domain contoso.test --domain fabrikam.test --public-url http://ca.contoso.test:8080 \
		--key "$k" --csr-out "$d.csr" >"$d.init" 2>&1 || { fail "$d: init --subordinate"; return 1; }
	"$MICA" -d R sign-ca --csr "$d.csr" --out "$d-ca.pem" "$@" >"$d.sign" 2>&1 ||
		{ fail "$d: sign-ca $*: $(tail -1 "$d.sign")"; return 1; }
	"$MICA" -d "$d" install-ca --cert "$d-ca.pem" --chain R-root.pem >"$d.inst" 2>&1 ||
		{ fail "$d: install-ca: $(tail -1 "$d.inst")"; return 1; }
	ok "$d: issuing CA ($k${*:+ $*}) signed and installed"
}
if sub I1 ec-p256; then
	add "issuing CA (--domain constraints)" I1-ca.pem
	leaves I1 contoso.test
	"$MICA" -d I1 crl --pem --out I1-crl.pem 2>/dev/null && add "issuing CA's CRL" I1-crl.pem ||
		fail "I1: crl"
	# Rollover: a new key, then the same key again.
	if "$MICA" -d I1 renew-ca --new-key --csr-out I1-next.csr >/dev/null 2>&1 &&
	   "$MICA" -d R sign-ca --csr I1-next.csr --out I1-next.pem >/dev/null 2>&1 &&
	   "$MICA" -d I1 install-ca --cert I1-next.pem >/dev/null 2>&1; then
		add "rollover CA certificate (renew-ca --new-key)" I1-next.pem
		issue I1 I1-after server ec-p256 /CN=after.contoso.test DNS:after.contoso.test
		"$MICA" -d I1 crl --pem --out I1-crl2.pem 2>/dev/null && add "CRL after rollover" I1-crl2.pem
	else fail "I1: renew-ca --new-key, sign-ca, install-ca"; fi
	if "$MICA" -d I1 renew-ca --csr-out I1-same.csr >/dev/null 2>&1 &&
	   "$MICA" -d R sign-ca --csr I1-same.csr --out I1-same.pem >/dev/null 2>&1; then
		add "renewed CA certificate (renew-ca, same key)" I1-same.pem
	else fail "I1: renew-ca (same key), sign-ca"; fi
fi
if sub I2 rsa-3072 --permit contoso.test --permit 10.0.0.0/8 --permit 2001:db8::/32; then
	add "issuing CA (--permit with address ranges)" I2-ca.pem
	issue I2 I2-srv server ec-p256 /CN=ip.contoso.test \
		"DNS:ip.contoso.test,IP:10.1.2.3,IP:2001:db8::7"
	issue I2 I2-ipsec ipsec rsa-2048 /CN=vpn.contoso.test "DNS:vpn.contoso.test,IP:10.9.9.9"
fi
# A new root, cross-signed by the old one. (R has a --public-url: with
# none, and no request to take URLs from, the cross-certificate names no
# CRL and no issuer, which ZLint's BR lints flag.)
if "$MICA" -d G2 init --name "Zlint Root G2" --org "Contoso Ltd" --root-only >/dev/null 2>&1 &&
   "$MICA" -d G2 export-root --out G2-root.pem 2>/dev/null &&
   "$MICA" -d R sign-ca --cross --cert G2-root.pem --out cross.pem >/dev/null 2>"cross.err"; then
	add "root G2" G2-root.pem
	add "cross-certificate (sign-ca --cross)" cross.pem
else fail "cross-signing: $(cat cross.err 2>/dev/null)"; fi
# The root's CRL with a CA certificate on it (the one renew-ca replaced).
if [ -f I1-same.pem ] &&
   "$MICA" -d R revoke "$(serial_of I1-same.pem)" --reason superseded >/dev/null 2>&1 &&
   "$MICA" -d R crl --pem --out R-crl2.pem 2>/dev/null; then
	add "offline root's CRL (a CA certificate revoked)" R-crl2.pem
else fail "offline root: revoke a CA certificate, crl"; fi

# ------------------------------------ what the daemon makes for itself --

D=$W/srv
serve_start "$W/serve.out" "$D" -- --domain contoso.test || serve_failed "$W/serve.out"
serve_facts "$W/serve.out" "$W"
add "root made by serve's first start (no --org)" root.pem
echo | openssl s_client -connect "127.0.0.1:$SP" -showcerts 2>/dev/null |
	awk '/BEGIN CERT/{f=1} f{print} /END CERT/{exit}' > tls.pem
if openssl x509 -in tls.pem -noout 2>/dev/null; then add "daemon's HTTPS certificate" tls.pem
else fail "no certificate from openssl s_client"; fi
csr ocspleaf ec-p256 /CN=o.contoso.test DNS:o.contoso.test
# (the daemon made its CA with a passphrase of its own, in $D/passphrase)
env -u MICA_PASSPHRASE "$MICA" -d "$D" issue --csr ocspleaf.csr --out ocspleaf.pem \
	2>ocspleaf.err || fail "issue for OCSP: $(cat ocspleaf.err)"
openssl ocsp -issuer root.pem -cert ocspleaf.pem -url "$H/ocsp" -no_nonce -noverify \
	-respout ocsp.der -timeout $((20 * TIME_SCALE)) >/dev/null 2>&1
openssl ocsp -respin ocsp.der -resp_text -noverify 2>/dev/null > ocsp.txt
split_pem ocsp.txt ocsp-cert
if [ -s ocsp-cert1.pem ]; then add "OCSP responder certificate" ocsp-cert1.pem
else fail "no responder certificate in the OCSP response"; fi
if curl -fsS -o scep.p7 "$H/scep?operation=GetCACert" &&
   openssl pkcs7 -inform der -in scep.p7 -print_certs -out scep.pem 2>/dev/null; then
	split_pem scep.pem scep-cert
	for f in scep-cert*.pem; do
		openssl x509 -in "$f" -noout -subject | grep -q 'SCEP RA' && add "SCEP RA certificate" "$f"
	done
	grep -q 'SCEP RA' lint.list || fail "no RA certificate in GetCACert"
else fail "SCEP GetCACert"; fi
serve_stop

# --------------------------------------------------------------- judge --

# A leaf (made by openssl) that breaks RFC 5280 4.2.1.12 as mica's RSA
# client certificates did (keyEncipherment with clientAuth alone): the
# linter must flag it, or it judges nothing.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout bca.key \
	-subj /CN=badca -days 30 -out bca.pem 2>/dev/null || die "openssl req -x509"
csr bad rsa-2048 /CN=bad.contoso.test DNS:bad.contoso.test
printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature,keyEncipherment \
	extendedKeyUsage=clientAuth subjectAltName=DNS:bad.contoso.test authorityKeyIdentifier=keyid > bad.ext
openssl x509 -req -in bad.csr -CA bca.pem -CAkey bca.key -CAcreateserial -days 30 \
	-extfile bad.ext -out bad.pem 2>/dev/null || die "openssl x509 -req"

tap_run python3 - exclude.tsv lint.list bad.pem <<'PY'
import fnmatch, json, subprocess, sys

lints = {}
for line in subprocess.run(["zlint", "-list-lints-json"], capture_output=True,
                           text=True, check=True).stdout.splitlines():
    d = json.loads(line)
    lints[d["name"]] = d["source"]
excl = {}
bad_excl = []
for line in open(sys.argv[1]):
    name, where, why = line.rstrip("\n").split("\t", 2)
    if name not in lints:
        bad_excl.append("%s is not a lint of this zlint" % name)
    elif lints[name] in ("RFC5280", "RFC3279"):
        bad_excl.append("%s is an %s lint: those are never excluded" % (name, lints[name]))
    excl[name] = where
if bad_excl:
    print("not ok - exclusions: " + "; ".join(bad_excl))
else:
    print("ok - %d exclusions, every one a lint of zlint's and none from RFC 5280/3279" % len(excl))

used = set()

def excluded(name, label):
    if name in excl and fnmatch.fnmatchcase(label, excl[name]):
        used.add(name)
        return True
    return False

def findings(path, label):
    r = subprocess.run(["zlint", path], capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        return None, r.stderr.strip()[-200:]
    res = json.loads(r.stdout)
    got = sorted("%s=%s%s" % (n, v["result"], " (%s)" % v["details"] if v.get("details") else "")
                 for n, v in res.items()
                 if v["result"] in ("warn", "error", "fatal") and not excluded(n, label))
    return got, len(res)

for line in open(sys.argv[2]):
    label, path = line.rstrip("\n").split("\t")
    got, n = findings(path, label)
    if got is None:
        print("not ok - %s: zlint could not read it: %s" % (label, n))
    elif got:
        print("not ok - %s: %s" % (label, "; ".join(got)))
    else:
        print("ok - %s: %d lints, no warning or error" % (label, n))

unused = sorted(set(excl) - used)
if unused:
    print("# exclusions nothing needed this time: " + ", ".join(unused))
got, n = findings(sys.argv[3], "openssl leaf")
if got and any(g.startswith("e_key_usage_and_extended_key_usage_inconsistent=error") for g in got):
    print("ok - zlint flags openssl's certificate with keyEncipherment for clientAuth")
else:
    print("not ok - zlint did not flag keyEncipherment for clientAuth: %s" % got)
PY

finish
