#!/bin/bash
# End-to-end: who signs OCSP responses (issue 15), judged by `openssl
# ocsp` and GnuTLS `ocsptool`, each trusting the root alone:
#   A. `mica serve --ocsp-signer ca`: responses about the CA's
#      certificates are signed by the CA key itself (responderID its key
#      hash, no certificate in the response), pre-signed so (by_ca rows),
#      good then revoked; started again without the option (the default,
#      the delegated responder) the pre-signed rows are signed again by
#      the responder, whose certificate the responses carry;
#   B. after a rollover of an issuing CA (mica renew-ca --new-key), a
#      request whose CertID names the retired CA certificate is answered
#      (not unauthorized) for a certificate issued before the rollover,
#      signed by that retired key: good, pre-signed and published, then
#      revoked after `mica revoke`; a certificate of the new key is
#      answered by the delegated responder the new key certified;
#   C. a CA within 36 hours of its end (no responder certificate can
#      outlast a day's response by half a day): the CA key signs, in the
#      daemon and 'mica ocsp-sign', where it answered tryLater before.
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/ocsp_signer.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl sqlite3 ocsptool

W=$(mktmp)
cd "$W" || die "cd"
m() { "$MICA" "$@"; }
ski_of() { openssl x509 -in "$1" -noout -ext subjectKeyIdentifier | sed -n '2{s/[ :]//g;p}' | tr 'A-F' 'a-f'; }
csr() { # csr NAME DNS: NAME.key, NAME.csr
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
		-out "$1.csr" 2>/dev/null || die "openssl req $1"
}
issue() { # issue DIR NAME DNS: NAME.pem issued on the command line
	csr "$2" "$3"
	m -d "$1" issue --csr "$2.csr" --profile server --out "$2.pem" 2>"$W/issue.err" ||
		{ cat "$W/issue.err" >&2; die "mica issue $2"; }
}
# ask ISSUER CERT ROOT [openssl ocsp options]: openssl ocsp's output in ask.out
ask() {
	local is=$1 c=$2 root=$3
	shift 3
	openssl ocsp -issuer "$is" -cert "$c" -url "$H/ocsp" -CAfile "$root" \
		-timeout 20 "$@" >ask.out 2>&1
}
status_of() { sed -n "s|^$1: ||p" ask.out | head -1; }
verified() { grep -q "^Response verify OK" ask.out; }
# gt ISSUER CERT: ocsptool's verdict, "good" / "revoked" / "failed". The
# response is verified against the issuer (gnutls_ocsp_resp_verify_direct:
# signed by the issuer, or by a responder it certified). With --load-trust
# ocsptool looks for the signer among the response's certificates only,
# and one the CA key signed carries none (RFC 6960 4.2.2.2 needs none).
gt() {
	if ocsptool --ask --load-issuer "$1" --load-cert "$2" \
		>gt.out 2>&1 && grep -q "Verifying OCSP Response: Success" gt.out; then
		sed -n 's/.*Certificate Status: \([a-z]*\).*/\1/p' gt.out | head -1
	else
		echo failed
	fi
}
rows() { sqlite3 "$1/mica.db" "$2"; }

# ------------------------------------------- A. signed by the CA key --

D=$W/a
expect_rc "--ocsp-signer wants delegated or ca (2)" 2 m -d "$D" serve --ocsp-signer nobody
serve_start "$W/a.out" "$D" -- --domain example.test --ocsp-signer ca || serve_failed "$W/a.out"
serve_facts "$W/a.out" "$W"
ROOT=$W/root.pem
issue "$D" srv srv.example.test
S=$(serial_of srv.pem)

ask "$ROOT" srv.pem "$ROOT"
is "ca mode, openssl ocsp (nonce): good" "$(status_of srv.pem)" good
check "ca mode: the response verifies against the root" verified
ask "$ROOT" srv.pem "$ROOT" -no_nonce -resp_text
is "ca mode, -no_nonce: good" "$(status_of srv.pem)" good
check "ca mode, -no_nonce: verifies" verified
RID=$(sed -n 's/^ *Responder Id: //p' ask.out | tr -d ' :' | tr 'A-F' 'a-f')
is "ca mode: the responderID is the CA key's hash" "$RID" "$(ski_of "$ROOT")"
if grep -q "mica OCSP responder" ask.out || grep -q "^ *Certificate:" ask.out; then
	fail "ca mode: the response carries a certificate"
else ok "ca mode: no certificate in the response"; fi
is "ca mode: GnuTLS ocsptool --ask agrees (good, verified)" "$(gt "$ROOT" srv.pem)" good
# What the CA key signed on demand is kept (it was refused by the store,
# a warning each time, and every request signed anew).
check "ca mode: every response signed on demand was stored" \
	sh -c "! grep -q 'could not store a response' '$W/a.out.err'"
wait_for "a pre-signed response by the CA key" 60 sh -c \
	"[ \$(sqlite3 '$D/mica.db' \"SELECT count(*) FROM ocsp_response WHERE serial = '$S' AND by_ca = 1 AND responder IS NULL\") = 1 ]" &&
	ok "ca mode: the response is pre-signed by the CA key (by_ca)" ||
	fail "ca mode: no pre-signed by_ca row for $S"
is "ca mode: no row signed by a responder is left for it" \
	"$(rows "$D" "SELECT count(*) FROM ocsp_response WHERE serial = '$S' AND by_ca = 0")" 0
m -d "$D" revoke "$S" --reason keyCompromise >/dev/null 2>&1 || fail "mica revoke"
ask "$ROOT" srv.pem "$ROOT" -no_nonce
is "ca mode: revoked after mica revoke" "$(status_of srv.pem)" revoked
check "ca mode: the revoked response verifies" verified
grep -q "Reason: keyCompromise" ask.out && ok "ca mode: ... with its reason" || fail "ca mode: reason"
is "ca mode: ocsptool says revoked" "$(gt "$ROOT" srv.pem)" revoked
issue "$D" two two.example.test
S2=$(serial_of two.pem)
wait_for "two's response pre-signed by the CA key" 90 sh -c \
	"[ \$(sqlite3 '$D/mica.db' \"SELECT count(*) FROM ocsp_response WHERE serial = '$S2' AND by_ca = 1\") = 1 ]" ||
	fail "no by_ca row for $S2"
serve_stop

# The default again: what the CA key signed is signed again by the
# delegated responder, served and stored that way.
serve_start "$W/a2.out" "$D" -- || serve_failed "$W/a2.out"
ask "$ROOT" two.pem "$ROOT" -no_nonce -resp_text
is "delegated again: good" "$(status_of two.pem)" good
check "delegated again: verifies" verified
grep -q "mica OCSP responder" ask.out && ok "delegated again: the responder certificate is in the response" ||
	fail "delegated again: no responder certificate"
wait_for "the CA key's rows signed again by the responder" 90 sh -c \
	"[ \$(sqlite3 '$D/mica.db' \"SELECT count(*) FROM ocsp_response WHERE by_ca = 1\") = 0 ] &&
	 [ \$(sqlite3 '$D/mica.db' \"SELECT count(*) FROM ocsp_response WHERE serial = '$S2' AND responder IS NOT NULL\") = 1 ]" &&
	ok "mode changed: every pre-signed response is the responder's now" ||
	fail "rows by the CA key left: $(rows "$D" "SELECT count(*) FROM ocsp_response WHERE by_ca = 1")"
is "delegated again: ocsptool agrees" "$(gt "$ROOT" two.pem)" good
serve_stop

# ------------------------------------ B. a retired key after rollover --

export MICA_PASSPHRASE="ocsp signer e2e passphrase"
serve_ports
m -d R init --name "Test Root CA" --root-only >/dev/null 2>&1 || die "init root"
m -d R export-root --out root.pem || die "export-root"
m -d I init --subordinate --name "Test Issuing CA" --domain contoso.test \
	--public-url "$H" --csr-out issuing.csr >/dev/null 2>&1 || die "init --subordinate"
m -d R sign-ca --csr issuing.csr --out issuing.crt >/dev/null 2>&1 || die "sign-ca"
m -d I install-ca --cert issuing.crt --chain root.pem >/dev/null 2>&1 || die "install-ca"
openssl x509 -in issuing.crt -out issuing.pem
issue I old old.contoso.test
OLD=$(serial_of old.pem)
m -d I renew-ca --new-key --csr-out next.csr >/dev/null 2>&1 || die "renew-ca --new-key"
m -d R sign-ca --csr next.csr --out next.crt >/dev/null 2>&1 || die "sign-ca next"
m -d I install-ca --cert next.crt >/dev/null 2>&1 || die "install-ca next"
openssl x509 -in next.crt -out next.pem
serve_start "$W/b.out" I MICA_PASSPHRASE="$MICA_PASSPHRASE" -- --publish "$W/pub" ||
	serve_failed "$W/b.out"
issue I new new.contoso.test
NEW=$(serial_of new.pem)

ask issuing.pem old.pem root.pem
is "retired key: an old certificate is good (not unauthorized)" "$(status_of old.pem)" good
check "retired key: the response verifies up to the root" verified
ask issuing.pem old.pem root.pem -no_nonce -resp_text
RID=$(sed -n 's/^ *Responder Id: //p' ask.out | tr -d ' :' | tr 'A-F' 'a-f')
is "retired key: signed by the retired CA key (responderID)" "$RID" "$(ski_of issuing.pem)"
is "retired key: ocsptool agrees (good, verified)" "$(gt issuing.pem old.pem)" good
ask next.pem new.pem root.pem -no_nonce -resp_text
is "new key: a new certificate is good" "$(status_of new.pem)" good
check "new key: verifies" verified
grep -q "mica OCSP responder" ask.out && ok "new key: by the delegated responder" || fail "new key: no responder certificate"
is "new key: ocsptool agrees" "$(gt next.pem new.pem)" good
ask next.pem old.pem root.pem -no_nonce
is "an old certificate asked of the new CA certificate: unknown" "$(status_of old.pem)" unknown

wait_for "the old certificate's response pre-signed" 90 sh -c \
	"[ \$(sqlite3 I/mica.db \"SELECT count(*) FROM ocsp_response WHERE serial = '$OLD' AND by_ca = 1\") = 1 ]" &&
	ok "retired key: the old certificate's response is pre-signed" || fail "no pre-signed row for $OLD"
openssl ocsp -issuer issuing.pem -cert old.pem -no_nonce -reqout oldreq.der >/dev/null 2>&1 || die "reqout"
PUBF=$W/pub/ocsp/$(base64 -w0 oldreq.der | tr -s '/')
wait_for "the old certificate's response published" 90 test -s "$PUBF" &&
	ok "retired key: the publication directory holds its response" || fail "not published: $PUBF"
openssl ocsp -respin "$PUBF" -issuer issuing.pem -cert old.pem -CAfile root.pem >ask.out 2>&1
is "retired key: the published response says good" "$(status_of old.pem)" good
check "retired key: the published response verifies" verified

m -d I revoke "$OLD" --reason superseded >/dev/null 2>&1 || fail "mica revoke old"
ask issuing.pem old.pem root.pem
is "retired key: revoked after mica revoke" "$(status_of old.pem)" revoked
check "retired key: the revoked response verifies" verified
grep -q "Reason: superseded" ask.out && ok "retired key: ... with its reason" || fail "retired key: reason"
is "retired key: ocsptool says revoked" "$(gt issuing.pem old.pem)" revoked
pub_revoked() {
	openssl ocsp -respin "$PUBF" -issuer issuing.pem -cert old.pem -CAfile root.pem >pub.out 2>&1 &&
		grep -q "^$W/old.pem: revoked\|^old.pem: revoked" pub.out
}
wait_for "the revoked response published" 90 pub_revoked &&
	ok "retired key: the publication says revoked" || fail "publication still not revoked"
ask next.pem new.pem root.pem -no_nonce
is "new key: still good" "$(status_of new.pem)" good
serve_stop

# One pass on the command line: what the daemon left is fresh, so nothing
# is due; --ocsp-signer ca makes the current key's rows due again.
expect_rc "mica ocsp-sign: a bad --ocsp-signer (2)" 2 m -d I ocsp-sign --ocsp-signer x
expect_rc "mica ocsp-sign: one pass" 0 m -d I ocsp-sign
grep -q "^0 OCSP response(s) signed ahead of time" "$TMP/rc.err" &&
	ok "mica ocsp-sign: nothing was due" || fail "mica ocsp-sign: $(cat "$TMP/rc.err")"
expect_rc "mica ocsp-sign --ocsp-signer ca" 0 m -d I ocsp-sign --ocsp-signer ca
is "... every row of the new key is the CA key's now" \
	"$(rows I "SELECT count(*) FROM ocsp_response AS o JOIN certificate AS c ON c.serial = o.serial WHERE c.key_idx = 1 AND o.by_ca = 0")" 0

# ------------------------ C. the CA's last hours, delegated by default --

# A delegated responder certificate must outlast the responses it signs
# (a day) by twelve hours and ends with the CA: a CA within 36 hours of
# its end can certify none, and was answered tryLater until it expired.
# Now the CA key signs, as with --ocsp-signer ca, without being told.
serve_stop
unset HP SP
serve_ports
m -d E init --name "Short Lived CA" --domain example.test --days 1 \
	--public-url "$H" >/dev/null 2>&1 || die "init --days 1"
issue E end end.example.test
E_S=$(serial_of end.pem)
expect_rc "mica ocsp-sign: the CA's last hours, on the command line" 0 m -d E ocsp-sign
is "... pre-signs by the CA key (by_ca), as nothing else can" \
	"$(rows E "SELECT count(*) FROM ocsp_response WHERE serial = '$E_S' AND by_ca = 1 AND responder IS NULL")" 1
serve_start "$W/e.out" E MICA_PASSPHRASE="$MICA_PASSPHRASE" -- || serve_failed "$W/e.out"
m -d E export-root --out e-root.pem || die "export-root E"
ask e-root.pem end.pem e-root.pem
is "last hours, openssl ocsp (nonce): good, not tryLater" "$(status_of end.pem)" good
check "last hours: the response verifies against the root" verified
ask e-root.pem end.pem e-root.pem -no_nonce -resp_text
is "last hours, -no_nonce: good" "$(status_of end.pem)" good
check "last hours, -no_nonce: verifies" verified
RID=$(sed -n 's/^ *Responder Id: //p' ask.out | tr -d ' :' | tr 'A-F' 'a-f')
is "last hours: signed by the CA key (responderID)" "$RID" "$(ski_of e-root.pem)"
if grep -q "mica OCSP responder" ask.out; then
	fail "last hours: a responder certificate in the response"
else ok "last hours: no responder certificate in the response"; fi
is "last hours: ocsptool agrees (good, verified)" "$(gt e-root.pem end.pem)" good
m -d E revoke "$E_S" --reason keyCompromise >/dev/null 2>&1 || fail "mica revoke (E)"
ask e-root.pem end.pem e-root.pem -no_nonce
is "last hours: revoked after mica revoke" "$(status_of end.pem)" revoked
check "last hours: the revoked response verifies" verified
is "last hours: no responder certificate was made" \
	"$(rows E "SELECT count(*) FROM ocsp_responder")" 0
grep -q "too soon for an OCSP responder" "$W/e.out.err" &&
	fail "last hours: the daemon still tries a responder certificate: $(grep -m1 'too soon' "$W/e.out.err")" ||
	ok "last hours: the daemon does not try a responder certificate"
serve_stop
finish
