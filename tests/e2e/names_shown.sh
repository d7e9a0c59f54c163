#!/bin/bash
# End-to-end: names read from other parties' certificates and CRLs, as
# mica shows and keeps them.
#   - a CA whose request's CN is a BMPString (UCS-2, what openssl req
#     writes under string_mask=pkix for a name past ASCII), a
#     UniversalString (UCS-4) or a TeletexString (read as Latin-1, as
#     OpenSSL reads it) is signed by sign-ca and shown by its text -
#     "CN=Sub é Café" - by list (and --json), show, the audit trail, and
#     held so, as well-formed UTF-8, in the store's subject column.
#
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/names_shown.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need openssl python3 jq sqlite3 od
python3 -c 'import cryptography.x509' 2>/dev/null ||
	die "python3 with cryptography is required (Debian: python3-cryptography)"

export MICA_PASSPHRASE="names shown e2e passphrase"
W=$(mktmp)
cd "$W" || die "cd"
m() { "$MICA" "$@"; }

# ------------------------------------- 1. a subject of every string type --

m -d R init --root-only --name "Names Root" >/dev/null 2>&1 || die "init R"
# BMPString: openssl req's string_mask=pkix for a name past ASCII.
printf '[req]\ndistinguished_name=dn\nstring_mask=pkix\nprompt=no\nutf8=yes\n[dn]\nCN=BMP \303\251 Caf\303\251\n' > bmp.cnf
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout bmp.key \
	-config bmp.cnf -addext basicConstraints=critical,CA:TRUE -out bmp.csr 2>/dev/null ||
	die "openssl req (BMPString)"
openssl asn1parse -in bmp.csr | grep -q BMPSTRING || die "openssl made no BMPString"
# TeletexString: Latin-1 octets (string_mask MASK:0x4, T61 alone).
printf '[req]\ndistinguished_name=dn\nstring_mask=MASK:0x4\nprompt=no\nutf8=yes\n[dn]\nCN=T61 \303\251 Caf\303\251\n' > t61.cnf
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout t61.key \
	-config t61.cnf -addext basicConstraints=critical,CA:TRUE -out t61.csr 2>/dev/null ||
	die "openssl req (TeletexString)"
openssl asn1parse -in t61.csr | grep -q T61STRING || die "openssl made no TeletexString"
# UniversalString: openssl req makes none; Python's cryptography does.
python3 - <<'EOF' || die "python3: UniversalString request"
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
k = ec.generate_private_key(ec.SECP256R1())
n = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "UCS \u00e9 Caf\u00e9",
                                  _type=_ASN1Type.UniversalString)])
r = (x509.CertificateSigningRequestBuilder().subject_name(n)
     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
     .sign(k, hashes.SHA256()))
open("ucs.csr", "wb").write(r.public_bytes(serialization.Encoding.PEM))
EOF
for t in bmp:BMP t61:T61 ucs:UCS; do
	f=${t%%:*} cn="${t#*:} é Café"
	expect_rc "sign-ca: a CN as a ${t#*:} string" 0 \
		m -d R sign-ca --csr "$f.csr" --out "$f.crt" --permit example.test
	s=$(serial_of "$f.crt")
	is "... list --json: its subject's text" \
		"$(m -d R list --json | jq -r --arg s "$s" '.[] | select(.serial == $s) | .subject')" "CN=$cn"
	is "... show: its subject's text" \
		"$(m -d R show "$s" | sed -n 's/^Subject: *//p')" "CN=$cn"
	is "... the audit trail: its subject's text" \
		"$(m -d R audit --json | jq -r --arg s "$s" '.[] | select(.target == $s and .action == "ca.sign") | .detail' |
			grep -o "CN=[^,]*")" "CN=$cn"
	is "... the store's subject column: UTF-8" \
		"$(sqlite3 R/mica.db "SELECT hex(subject) FROM certificate WHERE serial = '$s'")" \
		"$(printf 'CN=%s' "$cn" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
done
# A subject of RFC 5280's longest values in Cyrillic: the audit detail is
# cut at a whole character, says so, and keeps its other facts (it was cut
# inside a character, and the JSON then showed every letter as '?').
python3 - <<'EOF' || die "python3: a long Cyrillic request"
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
k = ec.generate_private_key(ec.SECP256R1())
n = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "\u0416" * 64),
               x509.NameAttribute(NameOID.COMMON_NAME, "\u0426" * 64)])
r = (x509.CertificateSigningRequestBuilder().subject_name(n)
     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
     .sign(k, hashes.SHA256()))
open("cyr.csr", "wb").write(r.public_bytes(serialization.Encoding.PEM))
EOF
expect_rc "sign-ca: 64 Cyrillic letters in O and in CN" 0 \
	m -d R sign-ca --csr cyr.csr --out cyr.crt --permit example.test
s=$(serial_of cyr.crt)
cyr_detail=$(m -d R audit --json | jq -r --arg s "$s" '.[] | select(.target == $s and .action == "ca.sign") | .detail')
check "... its audit detail is cut after whole letters, and says so" \
	python3 -c 'import sys; d = sys.argv[1]; sys.exit(not (d.startswith("CA certificate for CN=" + "\u0426" * 64 + ", O=\u0416") and "?" not in d and "\u0416..., path length 0" in d))' "$cyr_detail"
check "... and ends with the date it runs to" \
	python3 -c 'import re, sys; sys.exit(not re.search(r", until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", sys.argv[1]))' "$cyr_detail"

# OpenSSL, which relying parties use, reads the same text.
openssl x509 -in bmp.crt -noout -subject -nameopt utf8,sep_comma_plus | grep -q "CN=BMP é Café" &&
	ok "OpenSSL reads the BMPString as the same text" || fail "openssl: $(openssl x509 -in bmp.crt -noout -subject -nameopt utf8)"

# ---------------------------------------------- 2. names made to fool --

# raw DESC FILE: pass if FILE holds none of the bytes of U+202E, U+202C,
# U+009B or ESC (what would turn a line around or act on a terminal).
raw() {
	if LC_ALL=C grep -qF -e $'\xe2\x80\xae' -e $'\xe2\x80\xac' -e $'\xc2\x9b' \
		-e $'\x1b' "$2"; then
		fail "$1: $(cat -v "$2" | head -5)"
	else
		ok "$1"
	fi
}
# The names escaped as a message shows them (the engine's \xNN, its
# backslash doubled on the terminal), and as the store and JSON hold them.
EVIL_SHOWN='CN=Evil \\xe2\\x80\\xaetoor lanretxe\\xe2\\x80\\xac Root \\xc2\\x9b2J'
EVIL_TEXT='CN=Evil \xe2\x80\xaetoor lanretxe\xe2\x80\xac Root \xc2\x9b2J'
BIDI_SHOWN='CN=Contoso \\xe2\\x80\\xaetoor lanretxe\\xe2\\x80\\xac Root'

m -d I init --subordinate --name "Contoso Issuing CA" --domain contoso.test \
	--public-url http://ca.contoso.test --csr-out issuing.csr >/dev/null 2>&1 || die "init I"
python3 - <<'PY' || die "python3: the hostile root and CRL"
import datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
now = datetime.datetime.now(datetime.timezone.utc)
day = datetime.timedelta(days=1)
def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
def pem(c):
    return c.public_bytes(serialization.Encoding.PEM)
# Another organisation's root, ending in 20 days: its name is in the
# notes and warnings of what it cuts short.
rk = ec.generate_private_key(ec.SECP256R1())
rn = name("Evil \u202etoor lanretxe\u202c Root \u009b2J")
ski = x509.SubjectKeyIdentifier.from_public_key(rk.public_key())
root = (x509.CertificateBuilder().subject_name(rn).issuer_name(rn)
        .public_key(rk.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - day).not_valid_after(now + 20 * day)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.KeyUsage(False, False, False, False, False,
                                     True, True, False, False), True)
        .add_extension(ski, False)
        .sign(rk, hashes.SHA256()))
open("evil-root.pem", "wb").write(pem(root))
# The issuing CA's request signed by it, with the request's extensions.
csr = x509.load_pem_x509_csr(open("issuing.csr", "rb").read())
b = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(rn)
     .public_key(csr.public_key()).serial_number(x509.random_serial_number())
     .not_valid_before(now - day).not_valid_after(now + 700 * day)
     .add_extension(x509.AuthorityKeyIdentifier
                    .from_issuer_subject_key_identifier(ski), False)
     .add_extension(x509.SubjectKeyIdentifier
                    .from_public_key(csr.public_key()), False))
for e in csr.extensions:
    b = b.add_extension(e.value, e.critical)
open("evil-issuing.pem", "wb").write(pem(b.sign(rk, hashes.SHA256())))
# A CRL of no CA here, its issuer's name turned around.
ck = ec.generate_private_key(ec.SECP256R1())
crl = (x509.CertificateRevocationListBuilder()
       .issuer_name(name("Contoso \u202etoor lanretxe\u202c Root"))
       .last_update(now - day).next_update(now + 7 * day)
       .add_extension(x509.CRLNumber(1), False)
       .sign(ck, hashes.SHA256()))
open("bidi.crl", "wb").write(crl.public_bytes(serialization.Encoding.DER))
PY

expect_rc "install-ca under a root whose CN holds U+202E and U+009B" 0 \
	m -d I install-ca --cert evil-issuing.pem --chain evil-root.pem
raw "... its notes hold neither as it is" "$TMP/rc.err"
check "... the note names the root escaped" \
	grep -qF "note: the certificate of $EVIL_SHOWN, above this CA, ends on" "$TMP/rc.err"
m -d I audit > audit.txt 2>&1 || fail "audit"
raw "the audit trail shows neither" audit.txt
check "... naming the root escaped" grep -qF "chain of 2 to $EVIL_SHOWN" audit.txt
m -d I audit --json > audit.json 2>&1 || fail "audit --json"
raw "... its JSON holds neither" audit.json
is "... its JSON holds the text the store holds" \
	"$(jq -r '.[] | select(.action == "ca.install") | .detail' audit.json | sed 's/.* to //')" "$EVIL_TEXT"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout web.key \
	-subj /CN=www.contoso.test -addext subjectAltName=DNS:www.contoso.test \
	-out web.csr 2>/dev/null || die "openssl req web"
expect_rc "issue under it" 0 m -d I issue --csr web.csr --out web.crt
raw "... its note (the validity cut) holds neither" "$TMP/rc.err"
check "... naming the root escaped" \
	grep -qF "the CA certificate of $EVIL_SHOWN, above this CA" "$TMP/rc.err"
expect_rc "list" 0 m -d I list
raw "... its warning (the root ends in 20 days) holds neither" "$TMP/rc.err"
check "... naming the root escaped" \
	grep -qF "warning: the CA certificate of $EVIL_SHOWN, above this CA, expires on" "$TMP/rc.err"

expect_rc "import-crl of a CRL whose issuer turns around: refused (3)" 3 m -d I import-crl bidi.crl
raw "... its error holds no U+202E" "$TMP/rc.err"
check "... naming the issuer escaped" \
	grep -qF "the CRL of $BIDI_SHOWN is not signed by a CA of this CA's chain" "$TMP/rc.err"
expect_rc "revoke --from-crl of it: refused (3)" 3 m -d R revoke --from-crl bidi.crl
raw "... its error holds no U+202E" "$TMP/rc.err"
check "... naming the issuer escaped" grep -qF "is a CRL of $BIDI_SHOWN, not of this CA" "$TMP/rc.err"

# Its subject would go as it is into a certificate of this root: held to
# what a CA's request is held to, refused.
n_before=$(sqlite3 R/mica.db "SELECT count(*) FROM certificate")
expect_rc "sign-ca --cross of that root: refused (3)" 3 m -d R sign-ca --cross \
	--cert evil-root.pem --out cross.crt --crl-url http://r.test/root.crl \
	--aia-url http://r.test/root.crt
raw "... its error holds neither" "$TMP/rc.err"
check "... saying why" grep -qF "the root to cross-sign: a value of its subject" "$TMP/rc.err"
check "... nothing written" test ! -e cross.crt
is "... nothing recorded" "$(sqlite3 R/mica.db "SELECT count(*) FROM certificate")" "$n_before"

finish
