#!/bin/bash
# End-to-end: every certificate and CRL mica makes is accepted by three
# independent relying parties - OpenSSL, GnuTLS (certtool) and Python's
# cryptography - for an ec-p256, an rsa-2048 and an ec-p384 CA: the root,
# one certificate of every profile, the empty CRL published at init and a
# CRL listing revocations with different reasons (issue 6, promise 9).
# Also the certificate side of promise 8: a validity crossing 2050 is
# written as GeneralizedTime (faketime to 2045), and a validity past the
# CA's own notAfter is clamped to it, with a note on stderr.
#
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/relying_parties.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

command -v openssl >/dev/null || die "openssl is required"
command -v certtool >/dev/null || die "certtool (gnutls-bin) is required"
command -v sqlite3 >/dev/null || die "sqlite3 is required"
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import cryptography.x509' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || die "python3 with cryptography is required (Debian: python3-cryptography)"

# The passphrase comes from the environment: no file, no prompt. Commands
# unlock the key with PBKDF2 (600k iterations), so keep their count low.
export MICA_PASSPHRASE="relying parties e2e passphrase"

# csr NAME KEYSPEC SUBJ [SAN]: an OpenSSL-made request in $W/NAME.csr.
csr() {
	local name=$1 keyspec=$2 subj=$3 san=${4:-} args=()
	case $keyspec in
	ec-p256) args=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
	ec-p384) args=(-newkey ec -pkeyopt ec_paramgen_curve:P-384) ;;
	rsa-*) args=(-newkey "rsa:${keyspec#rsa-}") ;;
	esac
	[ -n "$san" ] && args+=(-addext "subjectAltName=$san")
	openssl req -new "${args[@]}" -nodes -keyout "$W/$name.key" -subj "$subj" \
		-out "$W/$name.csr" 2>/dev/null || die "openssl req $name"
}


# The CRL a fresh CA published at init (number 1), straight from the store:
# 'mica crl' would publish a new one.
init_crl() { # init_crl DATADIR OUT.der
	stored_crl "$1" "1 ORDER BY number" "$2" && [ -s "$2" ]
}

# ---------------------------------------------------------------- judges --

# Verifications that look at the clock run under "${AT[@]}" (empty: now).
AT=()

# judge_cert LABEL FILE.pem ROOT.pem: OpenSSL and GnuTLS parse and verify.
judge_cert() {
	local l=$1 pem=$2 root=$3 der=${2%.pem}.der
	openssl x509 -in "$pem" -outform DER -out "$der" 2>/dev/null
	if openssl x509 -inform DER -in "$der" -noout -text >"$TMP/o.txt" 2>&1; then
		ok "$l: openssl x509 -text"
	else fail "$l: openssl x509 -text"; sed 's/^/    /' "$TMP/o.txt" | head -5; fi
	if "${AT[@]}" openssl verify -CAfile "$root" "$pem" >"$TMP/o.txt" 2>&1; then
		ok "$l: openssl verify"
	else fail "$l: openssl verify"; sed 's/^/    /' "$TMP/o.txt" | head -5; fi
	if certtool -i --inder --infile "$der" >"$TMP/g.txt" 2>&1; then
		ok "$l: certtool -i"
	else fail "$l: certtool -i"; sed 's/^/    /' "$TMP/g.txt" | tail -5; fi
	if "${AT[@]}" certtool --verify --load-ca-certificate "$root" --infile "$pem" >"$TMP/g.txt" 2>&1 &&
	   grep -q 'Chain verification output: Verified' "$TMP/g.txt"; then
		ok "$l: certtool --verify"
	else fail "$l: certtool --verify"; grep -i 'verif\|error' "$TMP/g.txt" | sed 's/^/    /' | tail -5; fi
	echo "cert	$der	$l" >> "$W/py.list"
}

# judge_crl LABEL FILE.der ROOT.pem SERIALS: OpenSSL and GnuTLS parse and
# verify; SERIALS (space-separated lowercase hex) are what it must list,
# for the Python judge.
judge_crl() {
	local l=$1 der=$2 root=$3 serials=$4 pem=${2%.der}.pem
	openssl crl -inform DER -in "$der" -out "$pem" 2>/dev/null
	if openssl crl -inform DER -in "$der" -noout -text -CAfile "$root" >"$TMP/o.txt" 2>&1 &&
	   grep -q 'verify OK' "$TMP/o.txt"; then
		ok "$l: openssl crl -text, signature verifies"
	else fail "$l: openssl crl"; sed 's/^/    /' "$TMP/o.txt" | head -5; fi
	if certtool --crl-info --inder --infile "$der" >"$TMP/g.txt" 2>&1; then
		ok "$l: certtool --crl-info"
	else fail "$l: certtool --crl-info"; sed 's/^/    /' "$TMP/g.txt" | tail -5; fi
	if "${AT[@]}" certtool --verify-crl --load-ca-certificate "$root" --infile "$pem" >"$TMP/g.txt" 2>&1 &&
	   grep -q 'Verification output: Verified' "$TMP/g.txt"; then
		ok "$l: certtool --verify-crl"
	else fail "$l: certtool --verify-crl"; grep -i 'verif\|error' "$TMP/g.txt" | sed 's/^/    /' | tail -5; fi
	echo "crl	$der	$l	$serials" >> "$W/py.list"
}

# Python's cryptography: every object in $W/py.list, one interpreter.
judge_python() { # judge_python ROOT.der
	"$PY" - "$1" "$W/py.list" >"$TMP/py.out" 2>&1 <<'PY'
import sys
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

def utc(obj, name):
    # cryptography >= 42 has the *_utc properties; Debian 12 has 38.
    v = getattr(obj, name + "_utc", None)
    return v if v is not None else getattr(obj, name)

root = x509.load_der_x509_certificate(open(sys.argv[1], "rb").read())
pub = root.public_key()

def check_sig(cert):
    if isinstance(pub, ec.EllipticCurvePublicKey):
        pub.verify(cert.signature, cert.tbs_certificate_bytes,
                   ec.ECDSA(cert.signature_hash_algorithm))
    elif isinstance(pub, rsa.RSAPublicKey):
        pub.verify(cert.signature, cert.tbs_certificate_bytes,
                   padding.PKCS1v15(), cert.signature_hash_algorithm)
    else:
        raise AssertionError("root key of type %s" % type(pub).__name__)

def exts(obj):
    seen = set()
    for e in obj.extensions:
        assert not isinstance(e.value, x509.UnrecognizedExtension), \
            "extension %s not understood" % e.oid.dotted_string
        assert e.oid not in seen, "extension %s twice" % e.oid.dotted_string
        seen.add(e.oid)
        repr(e.value)
    return seen

E = x509.oid.ExtensionOID
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("\t")
    kind, path, label = f[0], f[1], f[2]
    try:
        der = open(path, "rb").read()
        if kind == "cert":
            c = x509.load_der_x509_certificate(der)
            seen = exts(c)
            c.subject.rfc4514_string(); c.issuer.rfc4514_string()
            assert c.version == x509.Version.v3, "not v3"
            assert 0 < c.serial_number < 2 ** 159, "serial %x" % c.serial_number
            assert utc(c, "not_valid_before") < utc(c, "not_valid_after"), "validity"
            assert c.issuer == root.subject, "issuer is not the root's subject"
            for need in (E.BASIC_CONSTRAINTS, E.KEY_USAGE, E.SUBJECT_KEY_IDENTIFIER):
                assert need in seen, "%s missing" % need._name
            bc = c.extensions.get_extension_for_oid(E.BASIC_CONSTRAINTS)
            if c.subject == root.subject:
                assert bc.value.ca and bc.critical, "root is not CA:TRUE critical"
            else:
                assert not bc.value.ca, "leaf with CA:TRUE"
                assert E.SUBJECT_ALTERNATIVE_NAME in seen, "SAN missing"
                aki = c.extensions.get_extension_for_oid(E.AUTHORITY_KEY_IDENTIFIER).value
                ski = root.extensions.get_extension_for_oid(E.SUBJECT_KEY_IDENTIFIER).value
                assert aki.key_identifier == ski.digest, "AKI is not the root's SKI"
            check_sig(c)
            print("ok - %s: cryptography parses every extension, signature verifies" % label)
        else:
            want = set(f[3].split()) if len(f) > 3 else set()
            crl = x509.load_der_x509_crl(der)
            seen = exts(crl)
            assert E.CRL_NUMBER in seen and E.AUTHORITY_KEY_IDENTIFIER in seen, "CRL number/AKI"
            assert crl.issuer == root.subject, "issuer"
            assert utc(crl, "last_update") < utc(crl, "next_update"), "update times"
            got = set()
            for r in crl:
                got.add("%x" % r.serial_number)
                utc(r, "revocation_date")
                for e in r.extensions:
                    assert isinstance(e.value, x509.CRLReason), "entry extension %s" % e.oid.dotted_string
                    assert e.value.reason != x509.ReasonFlags.unspecified, "reason unspecified written"
            norm = {s.lstrip("0") for s in want}
            assert got == norm, "lists %s, expected %s" % (sorted(got), sorted(norm))
            assert crl.is_signature_valid(pub), "signature does not verify"
            print("ok - %s: cryptography parses it, %d entries, signature verifies" % (label, len(got)))
    except Exception as e:
        print("not ok - %s: cryptography: %s: %s" % (label, type(e).__name__, e))
PY
	local st=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) fail "${line#not ok - }" ;;
		*) echo "    $line" ;;
		esac
	done < "$TMP/py.out"
	[ "$st" -eq 0 ] || fail "python judge exited $st"
}

# ------------------------------------------------------ one CA, all kinds --

run_ca() {
	local KT=$1 prof serials s r
	W=$(mktmp)
	D=$W/data
	: > "$W/py.list"
	echo "# CA key type $KT"
	if ! "$MICA" -d "$D" init --name "Relying Party Root $KT" --org "Contoso Ltd" \
		--domain contoso.test --public-url http://ca.contoso.test:8080 --key "$KT" \
		>"$W/init.out" 2>&1; then
		fail "$KT: init"; sed 's/^/    /' "$W/init.out"; return
	fi
	"$MICA" -d "$D" export-root --pem --out "$W/root.pem" 2>/dev/null
	"$MICA" -d "$D" export-root --der --out "$W/root.der" 2>/dev/null
	judge_cert "$KT root" "$W/root.pem" "$W/root.pem"
	if init_crl "$D" "$W/crl-init.der"; then
		judge_crl "$KT empty CRL from init" "$W/crl-init.der" "$W/root.pem" ""
	else
		fail "$KT: no CRL published at init"
	fi

	# One certificate per profile; subject keys of every accepted kind.
	csr server "$KT" /CN=mail.contoso.test \
		"DNS:mail.contoso.test,DNS:*.web.contoso.test,IP:10.0.0.25,IP:2001:db8::25"
	csr client ec-p256 /CN=alice "email:alice@contoso.test,DNS:phone.contoso.test"
	csr email rsa-2048 "/CN=Alice Example" "email:alice@contoso.test"
	csr ipsec ec-p384 /CN=vpn.contoso.test "DNS:vpn.contoso.test,IP:10.0.0.1,email:vpn@contoso.test"
	csr codesign rsa-2048 /CN=build.contoso.test "DNS:build.contoso.test"
	for prof in server client email ipsec codesign; do
		if "$MICA" -d "$D" issue --csr "$W/$prof.csr" --profile "$prof" --out "$W/$prof.pem" 2>"$W/$prof.err"; then
			judge_cert "$KT $prof" "$W/$prof.pem" "$W/root.pem"
		else
			fail "$KT $prof: issue: $(cat "$W/$prof.err")"
		fi
	done

	# Revocations with different reasons (certificateHold stays listed;
	# unspecified is listed without a reasonCode), then a CRL.
	serials=""
	for s in "client keyCompromise" "email affiliationChanged" "ipsec cessationOfOperation" \
		 "codesign certificateHold" "server unspecified"; do
		set -- $s
		[ -f "$W/$1.pem" ] || continue
		if "$MICA" -d "$D" revoke "$(serial_of "$W/$1.pem")" --reason "$2" >/dev/null 2>"$W/rev.err"; then
			serials="$serials $(serial_of "$W/$1.pem")"
		else
			fail "$KT: revoke $1 ($2): $(cat "$W/rev.err")"
		fi
	done
	if "$MICA" -d "$D" crl --out "$W/crl-revoked.der" 2>"$W/crl.err"; then
		judge_crl "$KT CRL with revocations" "$W/crl-revoked.der" "$W/root.pem" "$serials"
		openssl crl -inform DER -in "$W/crl-revoked.der" -noout -text > "$W/crl.txt" 2>/dev/null
		for r in "Key Compromise" "Affiliation Changed" "Cessation Of Operation" "Certificate Hold"; do
			grep -q "$r" "$W/crl.txt" || fail "$KT: CRL lacks reason $r"
		done
	else
		fail "$KT: crl: $(cat "$W/crl.err")"
	fi
	judge_python "$W/root.der"
}

run_ca ec-p256
run_ca rsa-2048
run_ca ec-p384

# ------------------------------------------------- promise 8: time edges --

echo "# validity crossing 2050 (faketime: 2045-06-01)"
W=$(mktmp)
D=$W/data
: > "$W/py.list"
if ! command -v faketime >/dev/null; then
	fail "faketime is required for the 2050 test (Debian: faketime)"
else
	# libfaketime is LD_PRELOADed: an ASan-built mica must not insist on
	# coming first in the library list.
	at2045() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		faketime '2045-06-01 12:00:00' "$@"; }
	csr far ec-p256 /CN=far.contoso.test "DNS:far.contoso.test"
	if at2045 "$MICA" -d "$D" init --name "Far Future Root" --domain contoso.test \
		--public-url http://ca.contoso.test --days 20000 >"$W/init.out" 2>&1 &&
	   at2045 "$MICA" -d "$D" profile set server --default-days 3650 --max-days 3650 >/dev/null 2>&1 &&
	   at2045 "$MICA" -d "$D" issue --csr "$W/far.csr" --days 3650 --out "$W/far.pem" 2>"$W/far.err"; then
		ok "2045: CA for 20000 days and a 3650-day certificate issued"
		"$MICA" -d "$D" export-root --pem --out "$W/root.pem" 2>/dev/null
		"$MICA" -d "$D" export-root --der --out "$W/root.der" 2>/dev/null
		openssl x509 -in "$W/far.pem" -outform DER -out "$W/far.der"
		: > "$W/py.list"
		# The leaf's validity: the first two times in the DER.
		openssl asn1parse -inform DER -in "$W/far.der" | grep -E 'UTCTIME|GENERALIZEDTIME' | head -2 > "$W/times"
		sed -n 1p "$W/times" | grep -q 'UTCTIME *:45' && ok "notBefore in 2045 is a UTCTime" \
			|| { fail "notBefore encoding"; cat "$W/times"; }
		sed -n 2p "$W/times" | grep -q 'GENERALIZEDTIME *:2055' && ok "notAfter in 2055 is a GeneralizedTime" \
			|| { fail "notAfter encoding"; cat "$W/times"; }
		openssl asn1parse -inform DER -in "$W/root.der" | grep -E 'UTCTIME|GENERALIZEDTIME' | head -2 > "$W/rtimes"
		sed -n 2p "$W/rtimes" | grep -q 'GENERALIZEDTIME *:21' && ok "root notAfter in 2100 is a GeneralizedTime" \
			|| { fail "root notAfter encoding"; cat "$W/rtimes"; }
		"$PY" - "$W/far.der" "$W/root.der" <<'PY' && ok "cryptography reads notBefore 2045 and notAfter 2055 (root 2100)" || fail "cryptography reads the wrong years"
import sys
from cryptography import x509
c = x509.load_der_x509_certificate(open(sys.argv[1], "rb").read())
r = x509.load_der_x509_certificate(open(sys.argv[2], "rb").read())
nb = getattr(c, "not_valid_before_utc", None) or c.not_valid_before
na = getattr(c, "not_valid_after_utc", None) or c.not_valid_after
ra = getattr(r, "not_valid_after_utc", None) or r.not_valid_after
assert (nb.year, na.year, ra.year) == (2045, 2055, 2100), (nb, na, ra)
PY
		at2045b() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
			faketime '2045-06-02 12:00:00' "$@"; }
		# A CRL whose nextUpdate crosses 2050 (CRL period 7 days).
		at2049() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
			faketime '2049-12-30 12:00:00' "$@"; }
		if at2049 "$MICA" -d "$D" crl --out "$W/crl-2050.der" 2>"$W/crl.err"; then
			openssl asn1parse -inform DER -in "$W/crl-2050.der" | grep -E 'UTCTIME|GENERALIZEDTIME' | head -2 > "$W/ctimes"
			sed -n 1p "$W/ctimes" | grep -q 'UTCTIME *:491230' && sed -n 2p "$W/ctimes" | grep -q 'GENERALIZEDTIME *:20500106' \
				&& ok "CRL of 2049-12-30: thisUpdate UTCTime, nextUpdate 2050 GeneralizedTime" \
				|| { fail "CRL time encodings across 2050"; cat "$W/ctimes"; }
		else
			fail "CRL under faketime 2049: $(cat "$W/crl.err")"
		fi
		# The three relying parties, at a time when everything is valid.
		AT=(at2045b)
		judge_cert "2045 root (until 2100)" "$W/root.pem" "$W/root.pem"
		judge_cert "2045 leaf (until 2055)" "$W/far.pem" "$W/root.pem"
		# (a day later: the CRL must not look issued in the future)
		at2049b() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
			faketime '2049-12-31 12:00:00' "$@"; }
		AT=(at2049b)
		[ -f "$W/crl-2050.der" ] && judge_crl "CRL across 2050" "$W/crl-2050.der" "$W/root.pem" ""
		AT=()
		judge_python "$W/root.der"
	else
		fail "2045: init/profile/issue under faketime"; sed 's/^/    /' "$W/init.out" "$W/far.err" 2>/dev/null | head -5
	fi
fi

echo "# validity clamped to the CA's notAfter"
W=$(mktmp)
D=$W/data
csr short ec-p256 /CN=short.contoso.test "DNS:short.contoso.test"
if "$MICA" -d "$D" init --name "Short Lived Root" --domain contoso.test \
	--public-url http://ca.contoso.test --days 30 >/dev/null 2>&1 &&
   "$MICA" -d "$D" issue --csr "$W/short.csr" --days 365 --out "$W/short.pem" 2>"$W/short.err"; then
	ok "a 365-day certificate under a 30-day CA is issued"
	"$MICA" -d "$D" export-root --pem --out "$W/root.pem" 2>/dev/null
	ca_end=$(openssl x509 -in "$W/root.pem" -noout -enddate | cut -d= -f2)
	leaf_end=$(openssl x509 -in "$W/short.pem" -noout -enddate | cut -d= -f2)
	[ -n "$ca_end" ] && [ "$ca_end" = "$leaf_end" ] && ok "its notAfter is the CA's ($ca_end)" \
		|| fail "notAfter $leaf_end, the CA's is $ca_end"
	grep -qiE '^note: .*(clamp|shorten)' "$W/short.err" && ok "mica issue says so: $(grep -i '^note' "$W/short.err")" \
		|| { fail "no clamping note on stderr"; sed 's/^/    /' "$W/short.err"; }
	openssl verify -CAfile "$W/root.pem" "$W/short.pem" >/dev/null 2>&1 && ok "the clamped certificate verifies" \
		|| fail "the clamped certificate does not verify"
	"$MICA" -d "$D" issue --csr "$W/short.csr" --days 7 --out "$W/week.pem" 2>"$W/week.err"
	grep -qi 'note:' "$W/week.err" && fail "a 7-day certificate is reported clamped" || ok "no note when nothing is clamped"
else
	fail "short-lived CA: $(cat "$W/short.err" 2>/dev/null)"
fi

finish
