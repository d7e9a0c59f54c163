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
# OpenSSL, which relying parties use, reads the same text.
openssl x509 -in bmp.crt -noout -subject -nameopt utf8,sep_comma_plus | grep -q "CN=BMP é Café" &&
	ok "OpenSSL reads the BMPString as the same text" || fail "openssl: $(openssl x509 -in bmp.crt -noout -subject -nameopt utf8)"

finish
