#!/bin/bash
# End-to-end: SCEP (RFC 8894, issue 14) judged by the real clients from
# Debian - micromdm's scepclient (package scep) and certmonger - against
# `mica serve` on loopback, with tests/tools/scep_msg.py for the messages
# they cannot be made to send. Then:
#   - GetCACaps advertises POSTPKIOperation, SHA-256, AES, Renewal and
#     SCEPStandard; GetCACert is the RA certificate (RSA, keyEncipherment,
#     the Certificate Request Agent EKU alone, so that openssl refuses it
#     for TLS and S/MIME; issued by the root, recorded) and the root, as
#     x-x509-ca-ra-cert;
#     the NDES path /certsrv/mscep/mscep.dll answers the same, in any case;
#   - against an EC P-256 CA, through the RA: scepclient enrolls with an
#     enrollment token as challengePassword; openssl verifies the
#     certificate against the root; the token's scope holds (a one-use
#     token enrolls once; a name outside the token is refused);
#   - a wrong challenge gets FAILURE, no certificate, nothing stored; so
#     does one that is no printable ASCII (a token with a line end);
#   - without a challenge: PENDING, a pending request, `mica request
#     approve`, and the waiting scepclient gets its certificate; CertPoll
#     answers the same;
#   - RenewalReq signed with the issued certificate renews it, no token;
#   - a replayed PKCSReq returns the same certificate, never a second one;
#     the same transactionID with another CSR is refused;
#   - a key revoked for keyCompromise is never certified again by SCEP;
#   - GetCRL answers the CRL of the issuing key (openssl verifies it with
#     the root; it lists the revoked certificate), badCertId otherwise;
#   - `mica scep mobileconfig` writes an iPhone profile (root, SCEP payload,
#     a one-use token as challenge) whose challenge enrolls once; the same
#     from /admin's POST /api/v1/scep/mobileconfig: admin only, bad input a
#     4xx that stores nothing, a plist download whose challenge enrolls;
#   - certmonger: scep-submit -c and -C, and `getcert request` with a SCEP
#     CA (GET PKIOperation) enrolls; told to sign with SHA-384, it gets
#     and reads a FAILURE badAlg (CA_REJECTED, "Unrecognized or
#     unsupported algorithm");
#   - against an RSA CA: scepclient (which encrypts to every certificate
#     GetCACert gives) enrolls;
#   - a restart keeps the RA key (sealed in the store) and its certificate,
#     also after `mica passphrase` (which re-seals it with the CA keys; the
#     old passphrase stops working): a CertPoll encrypted before the
#     restart still decrypts;
#   - a digest (SHA-384, MD5), signature algorithm (RSASSA-PSS), key
#     transport (RSAES-OAEP) or content cipher (CAST5, AES-OFB) mica does
#     not support: a CertRep FAILURE badAlg signed by the RA with
#     SHA-256, the transactionID and the senderNonce as recipientNonce
#     (openssl cms -verify and -cmsout -print), nothing stored or spent;
#     unreadable attributes stay 400 bad_scep;
#   - in the CA's last month the RA certificate ends with the CA, and a
#     restart keeps it rather than certify another (libfaketime);
#   - hostile input: truncated and mutated messages, garbage, another
#     recipient, MD5, a CertRep-sized body over the cap, bad base64: a
#     SCEP FAILURE or a 4xx, nothing stored, the daemon lives on.
#   - an issuing CA under an offline root (name constraints) keeps its RA
#     certificate across a restart too;
#   - GetNextCACert, for an issuing CA under an offline root: 404 and not
#     in GetCACaps without a rollover (also once renew-ca --new-key has
#     begun one); after install-ca of the next certificate under the
#     running daemon, offered and answered (x-x509-next-ca-cert, also at
#     the NDES path): openssl cms -verify and scep_msg.py (cryptography)
#     verify the RA's signature, the RA is GetCACert's, the content is the
#     next certificate alone, as 'mica export-chain' gives it; after the
#     restart it is GetCACert's CA and GetNextCACert is 404 again.
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/scep.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3 sqlite3 scepclient

SRC=${MICA_SRCDIR:-$(dirname "$0")/../..}
TOOL="python3 $SRC/tests/tools/scep_msg.py"
SCEP_SUBMIT=
for f in /usr/lib/certmonger/scep-submit /usr/libexec/certmonger/scep-submit; do
	[ -x "$f" ] && SCEP_SUBMIT=$f && break
done

W=$(mktmp)
D=$W/ca
serve_start "$W/serve.out" "$D" -- --domain example.test || serve_failed "$W/serve.out"
serve_facts "$W/serve.out" "$W"
ROOT=$W/root.pem

count() { sqlite3 "$D/mica.db" "$1"; }
# scep_post FILE: POST FILE as a PKIOperation; reply in $W/reply.der,
# the HTTP status in HTTP_CODE.
scep_post() {
	HTTP_CODE=$(curl -s -o "$W/reply.der" -w '%{http_code}' --max-time $((30 * TIME_SCALE)) \
		-H 'Content-Type: application/x-pki-message' --data-binary "@$1" \
		"${2:-$H/scep}?operation=PKIOperation")
}
# reply KEY [OUT]: the status line of $W/reply.der, read with KEY's client
reply() {
	$TOOL reply "$W/reply.der" --ra "$W/ra.pem" --key "$1" ${2:+--out "$2"} 2>"$W/reply.err"
}
token() { # token [token create options]: a fresh enrollment token
	"$MICA" -d "$D" token create --enroll "$@" 2>/dev/null | grep -o 'mica_[0-9a-f_]*' | head -1
}
scep() { # scep DIR [scepclient options]: run scepclient with key DIR/k.pem
	local dir=$1
	shift
	mkdir -p "$dir"
	timeout $((120 * TIME_SCALE)) scepclient -server-url "$H/scep" -private-key "$dir/k.pem" \
		-ca-fingerprint "$RA_FP" "$@" >"$dir/log" 2>&1
}

# ---- GetCACaps, GetCACert, the NDES alias ----------------------------------
curl -fsS -o "$W/caps" "$H/scep?operation=GetCACaps" || die "GetCACaps"
for c in POSTPKIOperation SHA-256 AES Renewal SCEPStandard; do
	check "GetCACaps says $c" grep -qx "$c" "$W/caps"
done
CT=$(curl -fsS -o "$W/cacert.p7" -w '%{content_type}' "$H/scep?operation=GetCACert") || die "GetCACert"
is "GetCACert is application/x-x509-ca-ra-cert" "$CT" application/x-x509-ca-ra-cert
openssl pkcs7 -inform der -in "$W/cacert.p7" -print_certs -out "$W/cacert.pem" 2>/dev/null || die "GetCACert is not PKCS#7"
is "GetCACert holds the RA and the root" "$(grep -c 'BEGIN CERT' "$W/cacert.pem")" 2
awk -v out="$W/c" '/BEGIN/{n++} {print > (out n ".pem")}' "$W/cacert.pem"
for f in "$W/c1.pem" "$W/c2.pem"; do
	if openssl x509 -in "$f" -noout -subject | grep -q 'mica SCEP RA'; then cp "$f" "$W/ra.pem"; fi
done
[ -s "$W/ra.pem" ] || die "no RA certificate in GetCACert"
check "the RA certificate verifies against the root" openssl verify -CAfile "$ROOT" "$W/ra.pem"
openssl x509 -in "$W/ra.pem" -noout -text >"$W/ra.txt"
check "the RA key is RSA" grep -q 'rsaEncryption' "$W/ra.txt"
check "the RA may encrypt keys and sign, nothing more" grep -qx ' *Digital Signature, Key Encipherment' "$W/ra.txt"
check "the RA is no CA" grep -q 'CA:FALSE' "$W/ra.txt"
# Its one purpose is Microsoft's Certificate Request Agent, as NDES gives
# its RA: without an EKU, relying parties would take the RA's key for
# any purpose, a TLS client's or server's included.
is "the RA's extendedKeyUsage is Certificate Request Agent alone" \
	"$(openssl x509 -in "$W/ra.pem" -noout -ext extendedKeyUsage | sed -n '2p' | tr -d ' ')" \
	1.3.6.1.4.1.311.20.2.1
for purpose in sslclient sslserver smimesign; do
	openssl verify -purpose "$purpose" -CAfile "$ROOT" "$W/ra.pem" >"$W/ra.verify" 2>&1
	grep -q 'unsuitable certificate purpose' "$W/ra.verify" &&
		ok "openssl refuses the RA certificate as $purpose" ||
		fail "the RA certificate passes as $purpose: $(cat "$W/ra.verify")"
done
RA_SERIAL=$(openssl x509 -in "$W/ra.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
is "the RA certificate was recorded before it was sent" \
	"$(count "SELECT count(*) FROM scep_ra WHERE serial = '$RA_SERIAL'")" 1
RA_FP=$(openssl x509 -in "$W/ra.pem" -outform der | sha256sum | cut -d' ' -f1)
# The README's way to the RA's fingerprint, the RA checked against the
# root first.
openssl pkcs7 -inform der -in "$W/cacert.p7" -print_certs -out "$W/readme-cacert.pem" 2>/dev/null
awk '/^subject=/ { ra = /SCEP RA/ } ra && /BEGIN/, /END/' "$W/readme-cacert.pem" > "$W/readme-ra.pem"
check "the README's check of the RA against the root passes" \
	openssl verify -CAfile "$ROOT" -untrusted "$W/readme-cacert.pem" "$W/readme-ra.pem"
is "the README's command picks the RA's fingerprint" \
	"$(openssl x509 -in "$W/readme-ra.pem" -outform der | sha256sum | cut -d' ' -f1)" "$RA_FP"
# IIS matches NDES's path in any case, and device profiles keep what the
# admin typed (Microsoft writes /CertSrv/mscep/mscep.dll as often).
for alias in /certsrv/mscep/mscep.dll /CertSrv/mscep/mscep.dll /CERTSRV/MSCEP/MSCEP.DLL \
	/cgi-bin/pkiclient.exe /scep/ /scep/pkiclient.exe; do
	curl -fsS -o "$W/caps2" "$H$alias?operation=GetCACaps"
	check "$alias answers GetCACaps as /scep" cmp -s "$W/caps" "$W/caps2"
	curl -fsS -o "$W/cacert2.p7" "$H$alias?operation=GetCACert"
	check "$alias answers GetCACert as /scep" cmp -s "$W/cacert.p7" "$W/cacert2.p7"
done
check "GetCACaps over HTTPS too" curl -fsS --cacert "$ROOT" -o /dev/null "$S/scep?operation=GetCACaps"
HC=$(curl -s -o /dev/null -w '%{http_code}' "$H/scep?operation=Nonsense")
is "an unknown operation is 400" "$HC" 400
HC=$(curl -s -o /dev/null -w '%{http_code}' "$H/scep")
is "no operation is 400" "$HC" 400
# An empty operation names none: the answer says which there are, as for
# no parameter at all (it said "unknown SCEP operation").
curl -s -o "$W/noop.json" "$H/scep?operation="
is "an empty operation gets the list of operations" "$(json_get "$W/noop.json" message)" \
	"$(curl -s "$H/scep" | python3 -c 'import json,sys; print(json.load(sys.stdin)["message"])')"

# ---- scepclient with a token, against the EC CA through the RA -----------
TOK=$(token --profile client --name dev1.example.test --uses 1)
[ -n "$TOK" ] || die "token create"
scep "$W/c1" -challenge "$TOK" -cn dev1.example.test
check "scepclient enrolls with a token as challenge" test -s "$W/c1/client.pem"
check "its certificate verifies against the root (openssl)" openssl verify -CAfile "$ROOT" "$W/c1/client.pem"
openssl x509 -in "$W/c1/client.pem" -noout -text >"$W/c1.txt" 2>/dev/null
check "it names dev1.example.test (the CN, as policy allows)" grep -q 'DNS:dev1.example.test' "$W/c1.txt"
check "it is a client certificate (the token's profile)" grep -q 'TLS Web Client Authentication' "$W/c1.txt"
check "the subject comes from policy, not the CSR (no O=scep-client)" \
	sh -c "! grep -q 'scep-client' '$W/c1.txt'"
NCERT=$(count "SELECT count(*) FROM certificate")
scep "$W/c1b" -challenge "$TOK" -cn dev1.example.test
check "the one-use token enrolls once: FAILURE the second time" grep -q 'failInfo: badRequest' "$W/c1b/log"
check "and no certificate" test ! -e "$W/c1b/client.pem"
TOK2=$(token --profile client --name dev2.example.test --uses 5)
scep "$W/c2" -challenge "$TOK2" -cn evil.example.test
check "a name outside the token's scope is refused" grep -q 'failInfo: badRequest' "$W/c2/log"
check "and gets no certificate" test ! -e "$W/c2/client.pem"

# ---- a wrong challenge: nothing stored -------------------------------------
db_dump "$D" >"$W/before.sql"
scep "$W/c3" -challenge "mica_0123456789abcdef_$(printf '%064d' 0)" -cn dev3.example.test
check "a wrong challenge gets FAILURE" grep -q 'failInfo: badRequest' "$W/c3/log"
check "and no certificate" test ! -e "$W/c3/client.pem"
db_dump "$D" >"$W/after.sql"
check "a refused enrollment stores nothing" cmp -s "$W/before.sql" "$W/after.sql"
# A challenge that is no printable ASCII - a token with the line end it
# was pasted with, accented letters - is as wrong as any other: FAILURE,
# nothing stored (it was taken for none: PENDING, and a request left for
# an admin while scepclient polled).
TOK3=$(token --profile client --name '*.example.test' --uses 5)
db_dump "$D" >"$W/before2.sql"
scep "$W/c3n" -challenge "$TOK3
" -cn dev3n.example.test
check "a token with a line end after it is a wrong challenge: FAILURE" grep -q 'failInfo: badRequest' "$W/c3n/log"
scep "$W/c3u" -challenge "pässwörd" -cn dev3u.example.test
check "an accented challenge: FAILURE" grep -q 'failInfo: badRequest' "$W/c3u/log"
check "and no certificate for them" test ! -e "$W/c3n/client.pem" -a ! -e "$W/c3u/client.pem"
db_dump "$D" >"$W/after2.sql"
check "... and nothing stored for them (no pending request)" cmp -s "$W/before2.sql" "$W/after2.sql"
# (An admin token's use is noted, to the minute, whatever it was used for.)
scep "$W/c3b" -challenge "$ADM" -cn dev3.example.test
check "an admin token is no challenge" grep -q 'failInfo: badRequest' "$W/c3b/log"
is "no certificate was issued for them" "$(count "SELECT count(*) FROM certificate")" "$NCERT"

# ---- pending, approved, polled ---------------------------------------------
mkdir -p "$W/c4"
timeout $((150 * TIME_SCALE)) scepclient -server-url "$H/scep" -private-key "$W/c4/k.pem" \
	-ca-fingerprint "$RA_FP" -cn dev4.example.test >"$W/c4/log" 2>&1 &
C4=$!
on_exit_kill "$C4"
pending_id() { "$MICA" -d "$D" request list 2>/dev/null | awk '$2 == "pending" && $NF == "dev4.example.test" { print $1 }'; }
has_pending() { [ -n "$(pending_id)" ]; }
wait_for "the pending request" 60 has_pending ||
	{ "$MICA" -d "$D" request list >&2; die "no pending request"; }
# The request is stored before its reply leaves, and scepclient logs the
# reply once it has read it: wait for that line.
check "without a challenge the client is told PENDING" \
	wait_for "PENDING in scepclient's log" 30 grep -q 'PENDING' "$W/c4/log"
"$MICA" -d "$D" request approve "$(pending_id)" >/dev/null 2>&1 || fail "mica request approve"
# The client's exit, not client.pem appearing: the file exists (not empty)
# while scepclient is still writing it, and a part of a PEM fails to verify.
c4_done() { ! kill -0 "$C4" 2>/dev/null; }
wait_for "scepclient's certificate after approval" 100 c4_done ||
	sed 's/^/    /' "$W/c4/log" | tail -3
check "after 'mica request approve' the waiting client gets its certificate" \
	openssl verify -CAfile "$ROOT" "$W/c4/client.pem"
kill "$C4" 2>/dev/null
wait "$C4" 2>/dev/null
on_exit_forget "$C4"

# CertPoll (GetCertInitial), from the test client, same flow.
$TOOL make "$W/p1.der" --ra "$W/ra.pem" --key "$W/p.key" --cn dev5.example.test --tid tid-p5 || die "scep_msg make"
scep_post "$W/p1.der"
is "PKCSReq without challenge: PENDING" "$(reply "$W/p.key")" "status=3 failinfo= tid=tid-p5"
$TOOL make "$W/p2.der" --ra "$W/ra.pem" --key "$W/p.key" --cn dev5.example.test --type certpoll --tid tid-p5
scep_post "$W/p2.der"
is "CertPoll while pending: PENDING" "$(reply "$W/p.key")" "status=3 failinfo= tid=tid-p5"
ID=$("$MICA" -d "$D" request list 2>/dev/null | awk '$2 == "pending" && $NF == "dev5.example.test" { print $1 }')
"$MICA" -d "$D" request approve "$ID" >/dev/null 2>&1 || fail "approve dev5"
scep_post "$W/p2.der"
is "CertPoll after approval: SUCCESS" "$(reply "$W/p.key" "$W/p5.pem")" "status=0 failinfo= tid=tid-p5"
check "with the approved certificate" openssl verify -CAfile "$ROOT" "$W/p5.pem"
$TOOL make "$W/p3.der" --ra "$W/ra.pem" --key "$W/q.key" --cn dev5.example.test --type certpoll --tid tid-p5
scep_post "$W/p3.der"
is "another key polling that transaction learns nothing (badCertId)" "$(reply "$W/q.key")" \
	"status=2 failinfo=4 tid=tid-p5"
# Revoked after the approval, before the device polled: not handed
# out, as a certificate issued at once and then revoked is not.
$TOOL make "$W/p6.der" --ra "$W/ra.pem" --key "$W/p.key" --cn dev6.example.test --tid tid-p6 || die "scep_msg make"
scep_post "$W/p6.der"
is "PKCSReq without challenge (dev6): PENDING" "$(reply "$W/p.key")" "status=3 failinfo= tid=tid-p6"
ID=$("$MICA" -d "$D" request list 2>/dev/null | awk '$2 == "pending" && $NF == "dev6.example.test" { print $1 }')
"$MICA" -d "$D" request approve "$ID" >/dev/null 2>&1 || fail "approve dev6"
SER6=$("$MICA" -d "$D" list 2>/dev/null | awk '$NF == "dev6.example.test" { print $1 }')
"$MICA" -d "$D" revoke "$SER6" --reason superseded >/dev/null 2>&1 || fail "revoke dev6 ($SER6)"
$TOOL make "$W/p7.der" --ra "$W/ra.pem" --key "$W/p.key" --cn dev6.example.test --type certpoll --tid tid-p6
scep_post "$W/p7.der"
is "CertPoll after the approved certificate was revoked: FAILURE badRequest" \
	"$(reply "$W/p.key")" "status=2 failinfo=2 tid=tid-p6"

# ---- the cap on requests waiting from one client ---------------------------
# PKCSReqs without a challenge wait for an admin; past 20 from one address
# the next is HTTP 429 with Retry-After (no CertRep, nothing stored), so a
# device tries again later instead of giving up on a FAILURE.
cap_code= cap_n=0
for i in $(seq 1 25); do
	$TOOL make "$W/cap.der" --ra "$W/ra.pem" --key "$W/p.key" --cn "cap$i.example.test" --tid "tid-cap$i" ||
		die "scep_msg make (cap)"
	curl -s -D "$W/cap.hdr" -o "$W/reply.der" -w '%{http_code}' -H 'Content-Type: application/x-pki-message' \
		--data-binary "@$W/cap.der" "$H/scep?operation=PKIOperation" > "$W/cap.code"
	cap_code=$(cat "$W/cap.code")
	[ "$cap_code" = 200 ] || break
	cap_n=$i
done
is "past the cap on waiting requests: HTTP 429" "$cap_code" 429
check "... with Retry-After" grep -qi '^Retry-After: [0-9]' "$W/cap.hdr"
check "... naming the cap" grep -q 'too_many_pending' "$W/reply.der"
is "... and nothing stored for it" \
	"$("$MICA" -d "$D" request list 2>/dev/null | awk -v n="cap$((cap_n + 1)).example.test" '$NF == n' | wc -l)" 0
for id in $("$MICA" -d "$D" request list 2>/dev/null | awk '$2 == "pending" { print $1 }'); do
	"$MICA" -d "$D" request deny "$id" >/dev/null 2>&1 || fail "deny $id"
done
$TOOL make "$W/cap.der" --ra "$W/ra.pem" --key "$W/p.key" --cn capz.example.test --tid tid-capz
scep_post "$W/cap.der"
is "once they are decided, a PKCSReq waits again: PENDING" "$(reply "$W/p.key")" "status=3 failinfo= tid=tid-capz"
"$MICA" -d "$D" request deny "$("$MICA" -d "$D" request list 2>/dev/null | awk '$2 == "pending" && $NF == "capz.example.test" { print $1 }')" \
	>/dev/null 2>&1 || fail "deny capz"

# ---- renewal ---------------------------------------------------------------
OLD=$(openssl x509 -in "$W/c1/client.pem" -noout -serial | cut -d= -f2)
timeout $((120 * TIME_SCALE)) scepclient -server-url "$H/scep" -private-key "$W/c1/k.pem" \
	-certificate "$W/c1/client.pem" -ca-fingerprint "$RA_FP" -cn dev1.example.test >"$W/c1/renew.log" 2>&1
NEW=$(openssl x509 -in "$W/c1/client.pem" -noout -serial | cut -d= -f2)
check "RenewalReq signed with the certificate renews it without a token" \
	sh -c "[ '$OLD' != '$NEW' ] && openssl verify -CAfile '$ROOT' '$W/c1/client.pem' >/dev/null"
is "the renewal is recorded as one" \
	"$(count "SELECT count(*) FROM certificate WHERE renewal_of = lower('$OLD')")" 1

# certmonger renews with a PKCSReq (not RenewalReq) signed with its current
# certificate, its CSR carrying the challenge of its first enrollment, spent
# by then (the SCEP drafts' re-enrollment; NDES takes it as a renewal):
# renewed as a RenewalReq is. A valid token as challenge is a new
# enrollment in its scope instead; a revoked signer renews nothing.
OLD=$(openssl x509 -in "$W/c1/client.pem" -noout -serial | cut -d= -f2)
$TOOL make "$W/rn.der" --ra "$W/ra.pem" --key "$W/c1/k.pem" --signer "$W/c1/client.pem" \
	--cn dev1.example.test --challenge "$TOK" || die "scep_msg make"
scep_post "$W/rn.der"
is "PKCSReq signed with the current certificate, spent challenge: renewed" \
	"$(reply "$W/c1/k.pem" "$W/rn.pem" | cut -d' ' -f1-2)" "status=0 failinfo="
is "... recorded as a renewal of it" \
	"$(count "SELECT count(*) FROM certificate WHERE renewal_of = lower('$OLD')")" 1
check "... which verifies against the root" openssl verify -CAfile "$ROOT" "$W/rn.pem"
check "... for the same name" sh -c "openssl x509 -in '$W/rn.pem' -noout -ext subjectAltName | grep -q 'DNS:dev1.example.test'"
$TOOL make "$W/rn.der" --ra "$W/ra.pem" --key "$W/c1/k.pem" --signer "$W/rn.pem" \
	--cn dev1.example.test || die "scep_msg make"
scep_post "$W/rn.der"
is "PKCSReq signed with the current certificate, no challenge: renewed, not PENDING" \
	"$(reply "$W/c1/k.pem" "$W/rn2.pem" | cut -d' ' -f1-2)" "status=0 failinfo="
TOKN=$(token --profile client --name dev1b.example.test --uses 1)
$TOOL make "$W/rn.der" --ra "$W/ra.pem" --key "$W/c1/k.pem" --signer "$W/rn.pem" \
	--cn dev1b.example.test --challenge "$TOKN" || die "scep_msg make"
scep_post "$W/rn.der"
reply "$W/c1/k.pem" "$W/rn3.pem" >/dev/null
check "... with a valid token: a new certificate in the token's scope" \
	sh -c "openssl x509 -in '$W/rn3.pem' -noout -ext subjectAltName | grep -q 'DNS:dev1b.example.test'"
"$MICA" -d "$D" revoke "$(openssl x509 -in "$W/rn2.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')" \
	>/dev/null 2>&1 || fail "revoke"
# (a CSR of its own - the name in capitals, the same name: the very CSR
# renewed above, asked again by its key, gets the certificate it got,
# below)
$TOOL make "$W/rn.der" --ra "$W/ra.pem" --key "$W/c1/k.pem" --signer "$W/rn2.pem" \
	--cn DEV1.example.test --challenge "$TOK" || die "scep_msg make"
scep_post "$W/rn.der"
is "PKCSReq signed with a revoked certificate, spent challenge: FAILURE badRequest" \
	"$(reply "$W/c1/k.pem" | cut -d' ' -f1-2)" "status=2 failinfo=2"
N=$(count "SELECT count(*) FROM certificate")
$TOOL make "$W/rn.der" --ra "$W/ra.pem" --key "$W/c1/k.pem" --signer "$W/rn2.pem" \
	--cn dev1.example.test --challenge "$TOK" || die "scep_msg make"
scep_post "$W/rn.der"
is "the CSR renewed before, again by its key: SUCCESS" \
	"$(reply "$W/c1/k.pem" "$W/rn4.pem" | cut -d' ' -f1-2)" "status=0 failinfo="
check "... with the certificate it got then" cmp -s "$W/rn.pem" "$W/rn4.pem"
is "... and no new one" "$(count "SELECT count(*) FROM certificate")" "$N"
# A renewal issues the renewed certificate's names, whatever the CSR
# asks: a CSR of a new key for other names is no renewal. Signed by a
# current certificate, a PKCSReq for other names is an enrollment (no
# challenge: for an admin to approve); a RenewalReq is refused - or
# anyone's CSR, wrapped by the holder of a certificate, would bind that
# certificate's names to the CSR's key.
N=$(count "SELECT count(*) FROM certificate")
$TOOL make "$W/nk.der" --ra "$W/ra.pem" --key "$W/c1/k.pem" --signer "$W/rn3.pem" \
	--csr-key "$W/nk.pem" --cn devnew.example.test || die "scep_msg make"
scep_post "$W/nk.der"
is "PKCSReq signed with a current certificate, a new key for other names: PENDING" \
	"$(reply "$W/c1/k.pem" | cut -d' ' -f1)" "status=3"
$TOOL make "$W/nk.der" --ra "$W/ra.pem" --key "$W/c1/k.pem" --signer "$W/rn3.pem" \
	--csr-key "$W/nk.pem" --cn devnew.example.test --type renewalreq || die "scep_msg make"
scep_post "$W/nk.der"
is "RenewalReq with a new key for other names: FAILURE badRequest" \
	"$(reply "$W/c1/k.pem" | cut -d' ' -f1-2)" "status=2 failinfo=2"
is "... and nothing issued for either" "$(count "SELECT count(*) FROM certificate")" "$N"
$TOOL make "$W/nk.der" --ra "$W/ra.pem" --key "$W/c1/k.pem" --signer "$W/rn3.pem" \
	--csr-key "$W/nk.pem" --cn dev1b.example.test --type renewalreq || die "scep_msg make"
scep_post "$W/nk.der"
is "RenewalReq with a new key for the certificate's name: renewed" \
	"$(reply "$W/c1/k.pem" "$W/nk-cert.pem" | cut -d' ' -f1-2)" "status=0 failinfo="
check "... the new certificate certifies the new key" sh -c \
	"[ \"\$(openssl x509 -in '$W/nk-cert.pem' -noout -pubkey)\" = \"\$(openssl pkey -in '$W/nk.pem' -pubout)\" ]"
# The same for the certificate's own key: a CSR for other names, or for
# more, is no renewal (it was renewed with the old names and told
# SUCCESS, the device believing it had the names it asked for).
N=$(count "SELECT count(*) FROM certificate")
$TOOL make "$W/sk.der" --ra "$W/ra.pem" --key "$W/nk.pem" --signer "$W/nk-cert.pem" \
	--cn devother.example.test --type renewalreq || die "scep_msg make"
scep_post "$W/sk.der"
is "RenewalReq with the same key for another name: FAILURE badRequest" \
	"$(reply "$W/nk.pem" | cut -d' ' -f1-2)" "status=2 failinfo=2"
$TOOL make "$W/sk.der" --ra "$W/ra.pem" --key "$W/nk.pem" --signer "$W/nk-cert.pem" \
	--cn dev1b.example.test --san dev1b.example.test --san devmore.example.test \
	--type renewalreq || die "scep_msg make"
scep_post "$W/sk.der"
is "RenewalReq with the same key for its name and one more: FAILURE badRequest" \
	"$(reply "$W/nk.pem" | cut -d' ' -f1-2)" "status=2 failinfo=2"
$TOOL make "$W/sk.der" --ra "$W/ra.pem" --key "$W/nk.pem" --signer "$W/nk-cert.pem" \
	--cn devother.example.test || die "scep_msg make"
scep_post "$W/sk.der"
is "PKCSReq with the same key for another name, no challenge: PENDING (for an admin)" \
	"$(reply "$W/nk.pem" | cut -d' ' -f1)" "status=3"
is "... and nothing issued" "$(count "SELECT count(*) FROM certificate")" "$N"
$TOOL make "$W/sk.der" --ra "$W/ra.pem" --key "$W/nk.pem" --signer "$W/nk-cert.pem" \
	--cn dev1b.example.test --type renewalreq || die "scep_msg make"
scep_post "$W/sk.der"
is "RenewalReq with the same key for the certificate's name: renewed" \
	"$(reply "$W/nk.pem" "$W/sk-cert.pem" | cut -d' ' -f1-2)" "status=0 failinfo="
check "... for that name" sh -c "openssl x509 -in '$W/sk-cert.pem' -noout -ext subjectAltName | grep -q 'DNS:dev1b.example.test'"
# A RenewalReq not signed with a current certificate of this CA (its own
# self-signed one: a device whose certificate lapsed) is an enrollment
# with a valid challenge, and refused without one (never pending).
$TOOL make "$W/rs.der" --ra "$W/ra.pem" --key "$W/rs.key" --cn devlapsed.example.test \
	--type renewalreq || die "scep_msg make"
scep_post "$W/rs.der"
is "RenewalReq signed with a self-signed certificate, no challenge: FAILURE badRequest" \
	"$(reply "$W/rs.key" | cut -d' ' -f1-2)" "status=2 failinfo=2"
TOKL=$(token --profile client --uses 1)
$TOOL make "$W/rs.der" --ra "$W/ra.pem" --key "$W/rs.key" --cn devlapsed.example.test \
	--challenge "$TOKL" --type renewalreq --tid tid-rs || die "scep_msg make"
scep_post "$W/rs.der"
is "... with a valid challenge: enrolled" "$(reply "$W/rs.key" "$W/rs.pem")" "status=0 failinfo= tid=tid-rs"
check "... for its name" sh -c "openssl x509 -in '$W/rs.pem' -noout -ext subjectAltName | grep -q 'DNS:devlapsed.example.test'"

# ---- a signer's key the server will not use -------------------------------
# Anyone may send a certificate: verifying with an RSA key of 8192 bits
# and an exponent as long costs half a second of CPU, so the signer's key
# gets a CSR key's check (2048 to 4096 bits, an exponent of at most
# 2^31 - 1) first, and anything else is FAILURE badAlg, nothing spent.
# cpu_ticks PID: the user and system time of PID so far, in clock ticks.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
TOKF=$(token --uses 1)
N=$(count "SELECT count(*) FROM certificate")
for fk in 8192:8190 4096:300 1024:17; do
	$TOOL make "$W/f.der" --ra "$W/ra.pem" --key "$W/f.key" --cn devf.example.test \
		--challenge "$TOKF" --tid tid-f --fake-signer "$fk" || die "scep_msg make"
	scep_post "$W/f.der"
	is "a signer's RSA key of $fk bits (modulus:exponent): FAILURE badAlg" \
		"$HTTP_CODE $(reply "$W/f.key")" "200 status=2 failinfo=0 tid=tid-f"
done
$TOOL make "$W/f.der" --ra "$W/ra.pem" --key "$W/f.key" --cn devf.example.test \
	--challenge "$TOKF" --tid tid-f --fake-signer 8192:8190 || die "scep_msg make"
T0=$(cpu_ticks "$SERVE_PID")
for i in 1 2 3 4 5 6 7 8 9 10; do scep_post "$W/f.der"; done
T1=$(cpu_ticks "$SERVE_PID")
HZ=$(getconf CLK_TCK)
# Verifying would cost some 5 s of CPU for the ten; refusing, a few ms.
[ $((T1 - T0)) -lt $((2 * HZ * TIME_SCALE)) ] &&
	ok "ten such messages cost the daemon $(((T1 - T0) * 1000 / HZ)) ms of CPU" ||
	fail "ten such messages cost the daemon $(((T1 - T0) * 1000 / HZ)) ms of CPU (2 s at most)"
is "... and issued nothing" "$(count "SELECT count(*) FROM certificate")" "$N"
is "... nor spent the challenge" \
	"$(count "SELECT uses_left FROM token WHERE id = '$(echo "$TOKF" | cut -d_ -f2)'")" 1

# ---- an algorithm mica does not support: a signed FAILURE badAlg -----------
# RFC 8894 3.2.1.4.5: a message read whole - its signed attributes and its
# envelope - whose digest, signature algorithm, key transport or content
# cipher mica does not support is answered a CertRep FAILURE badAlg, not
# an HTTP error no SCEP client reads: signed by the RA with SHA-256 (which
# every SCEPStandard client checks, whatever digest it sent), with the
# request's transactionID and its senderNonce as recipientNonce. Nothing
# is decrypted, stored or spent. OpenSSL judges the answer.
# certrep_attrs FILE: "digest NAME" (the SignerInfo's), then each signed
# attribute of the CertRep FILE as "OID VALUE" (an OCTET STRING in hex),
# as openssl cms -cmsout -print shows them.
certrep_attrs() {
	openssl cms -cmsout -print -inform DER -in "$1" | awk '
		function flush() { if (oid != "") print oid, val; oid = "" }
		/^ *digestAlgorithm: *$/ { dg = 1; next }
		dg && /^ *algorithm: / { print "digest", $2; dg = 0; next }
		/^ *signedAttrs:/ { in_attrs = 1; next }
		!in_attrs { next }
		/^ *signatureAlgorithm:/ { flush(); in_attrs = 0; next }
		/^ *object: / { flush(); oid = $NF; gsub(/[()]/, "", oid); val = ""; next }
		/PRINTABLESTRING:/ { sub(/.*PRINTABLESTRING:/, ""); val = $0; next }
		/^ *OBJECT:/ { val = $NF; gsub(/[()]/, "", val); next }
		/^ *[0-9a-f][0-9a-f][0-9a-f][0-9a-f] - / {
			s = $0; sub(/^ *[0-9a-f]+ - /, "", s)
			while (match(s, /^[0-9a-f][0-9a-f][ -]/)) {
				val = val substr(s, 1, 2); s = substr(s, 4)
			}
			next
		}'
}
# attr OID: its value in $W/a.attrs
attr() { awk -v k="$1" '$1 == k { print $2 }' "$W/a.attrs"; }
TOKA=$(token --uses 1)
N=$(count "SELECT count(*) FROM certificate")
db_dump "$D" >"$W/alg-before.sql"
n=0
for alg in "--digest sha384" "--digest md5" "--sig-alg pss" "--key-alg oaep" \
	"--cipher cast5" "--cipher aes128-ofb"; do
	n=$((n + 1))
	# $alg is an option and its value: split on purpose
	# shellcheck disable=SC2086
	$TOOL make "$W/a.der" --ra "$W/ra.pem" --key "$W/a.key" --cn deva.example.test \
		--challenge "$TOKA" --tid "tid-alg-$n" --nonce-out "$W/a.nonce" $alg ||
		die "scep_msg make $alg"
	scep_post "$W/a.der"
	rm -f "$W/a.signer.pem"
	openssl cms -verify -inform DER -in "$W/reply.der" -noverify -binary \
		-out /dev/null -signer "$W/a.signer.pem" 2>"$W/a.verify"
	is "$alg: 200, a CertRep the RA signed (openssl cms -verify)" \
		"$HTTP_CODE $(openssl x509 -in "$W/a.signer.pem" -noout -fingerprint -sha256 2>/dev/null)" \
		"200 $(openssl x509 -in "$W/ra.pem" -noout -fingerprint -sha256)"
	certrep_attrs "$W/reply.der" >"$W/a.attrs"
	# messageType, pkiStatus, failInfo, transactionID, recipientNonce
	is "... CertRep FAILURE badAlg, its transactionID, recipientNonce = its senderNonce, SHA-256" \
		"$(attr 2.16.840.1.113733.1.9.2) $(attr 2.16.840.1.113733.1.9.3) $(attr 2.16.840.1.113733.1.9.4) $(attr 2.16.840.1.113733.1.9.7) $(attr 2.16.840.1.113733.1.9.6) $(attr digest)" \
		"3 2 0 tid-alg-$n $(cat "$W/a.nonce") sha256"
done
# badAlg needs the attributes it answers with: with an unsupported digest
# and a messageType that cannot be read, the message cannot be read at all.
$TOOL make "$W/a.der" --ra "$W/ra.pem" --key "$W/a.key" --cn deva.example.test \
	--challenge "$TOKA" --digest sha384 --message-type 019 || die "scep_msg make"
scep_post "$W/a.der"
is "an unsupported digest and an unreadable messageType: 400 bad_scep" \
	"$HTTP_CODE $(json_get "$W/reply.der" error 2>/dev/null)" "400 bad_scep"
db_dump "$D" >"$W/alg-after.sql"
cmp -s "$W/alg-before.sql" "$W/alg-after.sql" ||
	diff "$W/alg-before.sql" "$W/alg-after.sql" | head -8 | cut -c1-300 >&2
check "... none of them stored anything or spent the challenge" cmp -s "$W/alg-before.sql" "$W/alg-after.sql"
$TOOL make "$W/a.der" --ra "$W/ra.pem" --key "$W/a.key" --cn deva.example.test \
	--challenge "$TOKA" --tid tid-alg-ok || die "scep_msg make"
scep_post "$W/a.der"
is "and the same client with SHA-256 and AES enrolls with that challenge" \
	"$(reply "$W/a.key")" "status=0 failinfo= tid=tid-alg-ok"

# ---- replay ----------------------------------------------------------------
TOK3=$(token --profile client --uses 1)
$TOOL make "$W/r1.der" --ra "$W/ra.pem" --key "$W/r.key" --cn dev6.example.test --challenge "$TOK3" --tid tid-r6
scep_post "$W/r1.der"
is "a PKCSReq with a token: SUCCESS" "$(reply "$W/r.key" "$W/r6.pem")" "status=0 failinfo= tid=tid-r6"
N=$(count "SELECT count(*) FROM certificate")
scep_post "$W/r1.der"
is "the same message again: SUCCESS" "$(reply "$W/r.key" "$W/r6b.pem")" "status=0 failinfo= tid=tid-r6"
check "with the same certificate" cmp -s "$W/r6.pem" "$W/r6b.pem"
is "and no second certificate" "$(count "SELECT count(*) FROM certificate")" "$N"
$TOOL make "$W/r2.der" --ra "$W/ra.pem" --key "$W/r.key" --cn dev7.example.test --challenge "$TOK3" --tid tid-r6
scep_post "$W/r2.der"
is "the same transactionID with another CSR: FAILURE badRequest" "$(reply "$W/r.key")" \
	"status=2 failinfo=2 tid=tid-r6"

# ---- one message, four times at once ---------------------------------------
# A client resending on its timeout (or a replay) while the first copy is
# still being enrolled: one certificate, one use of the challenge, and the
# same answer for every copy.
TOK5=$(token --profile client --uses 10)
$TOOL make "$W/race.der" --ra "$W/ra.pem" --key "$W/race.key" --cn dev8.example.test \
	--challenge "$TOK5" --tid tid-race || die "scep_msg make"
N=$(count "SELECT count(*) FROM certificate")
U=$(count "SELECT sum(uses_left) FROM token WHERE uses_left > 0")
# Four connections made first, then the four copies sent together.
python3 - "$H" "$W/race.der" "$W/race" "$TIME_SCALE" <<'EOF' || fail "the four copies were not all answered"
import http.client, sys, threading, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
scale = float(sys.argv[4])
body = open(sys.argv[2], "rb").read()
go = threading.Barrier(4)
def post(i):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60 * scale)
    c.connect()
    go.wait()
    c.request("POST", "/scep?operation=PKIOperation", body=body,
              headers={"Content-Type": "application/x-pki-message"})
    with open("%s%d.reply" % (sys.argv[3], i), "wb") as f:
        f.write(c.getresponse().read())
ts = [threading.Thread(target=post, args=(i,)) for i in range(1, 5)]
for t in ts:
    t.start()
for t in ts:
    t.join()
EOF
GOT=""
for i in 1 2 3 4; do
	cp "$W/race$i.reply" "$W/reply.der"
	GOT="$GOT$(reply "$W/race.key" "$W/race$i.pem");"
done
is "four copies of one PKCSReq at once: four SUCCESS" "$GOT" \
	"status=0 failinfo= tid=tid-race;status=0 failinfo= tid=tid-race;status=0 failinfo= tid=tid-race;status=0 failinfo= tid=tid-race;"
check "all with the same certificate" sh -c "cmp -s '$W/race1.pem' '$W/race2.pem' &&
	cmp -s '$W/race1.pem' '$W/race3.pem' && cmp -s '$W/race1.pem' '$W/race4.pem'"
is "one certificate issued for them" "$(count "SELECT count(*) FROM certificate")" "$((N + 1))"
is "one use of the challenge" "$(count "SELECT sum(uses_left) FROM token WHERE uses_left > 0")" "$((U - 1))"

# ---- a message signed again by someone else --------------------------------
# The CSR (and its challenge) travel encrypted to the RA, but an
# eavesdropper can sign the envelope again under a certificate of its own:
# mica refuses a CSR it enrolled already unless the message is signed with
# that CSR's key, so the copy spends nothing and gets nothing.
TOKR=$(token --profile client --uses 10)
$TOOL make "$W/v.der" --ra "$W/ra.pem" --key "$W/v.key" --cn dev9.example.test \
	--challenge "$TOKR" --tid tid-v || die "scep_msg make"
scep_post "$W/v.der"
is "the victim's PKCSReq: SUCCESS" "$(reply "$W/v.key" "$W/v.pem")" "status=0 failinfo= tid=tid-v"
N=$(count "SELECT count(*) FROM certificate")
U=$(count "SELECT sum(uses_left) FROM token WHERE uses_left > 0")
$TOOL make "$W/e1.der" --ra "$W/ra.pem" --key "$W/e.key" --cn evil.example.test \
	--envelope-from "$W/v.der" --tid tid-e || die "scep_msg make --envelope-from"
scep_post "$W/e1.der"
is "its envelope signed again by another key: FAILURE badRequest" "$(reply "$W/e.key")" \
	"status=2 failinfo=2 tid=tid-e"
$TOOL make "$W/e2.der" --ra "$W/ra.pem" --key "$W/e.key" --cn evil.example.test \
	--envelope-from "$W/v.der" --tid tid-v || die "scep_msg make --envelope-from"
scep_post "$W/e2.der"
is "the same under the victim's transactionID: FAILURE badRequest" "$(reply "$W/e.key")" \
	"status=2 failinfo=2 tid=tid-v"
is "no certificate for the copies" "$(count "SELECT count(*) FROM certificate")" "$N"
is "and the challenge is not spent" \
	"$(count "SELECT sum(uses_left) FROM token WHERE uses_left > 0")" "$U"
# The key's holder may ask again (a client that made a new self-signed
# certificate for its key, as scepclient does when its self.pem is gone):
# it gets the certificate that CSR got, not a second one, and spends
# nothing more.
openssl req -x509 -new -key "$W/v.key" -subj /CN=dev9.example.test -days 1 -out "$W/v2.self" 2>/dev/null ||
	die "openssl req -x509"
$TOOL make "$W/v2.der" --ra "$W/ra.pem" --key "$W/v.key" --signer "$W/v2.self" \
	--envelope-from "$W/v.der" --tid tid-v2 || die "scep_msg make"
scep_post "$W/v2.der"
is "the CSR's own key asking again, with a new certificate: SUCCESS" \
	"$(reply "$W/v.key" "$W/v2.pem")" "status=0 failinfo= tid=tid-v2"
check "... with the certificate that CSR got" cmp -s "$W/v.pem" "$W/v2.pem"
is "... and no other" "$(count "SELECT count(*) FROM certificate")" "$N"
is "... spending nothing" "$(count "SELECT sum(uses_left) FROM token WHERE uses_left > 0")" "$U"
# Two copies signed by two strangers, sent together before anything was
# recorded for their CSR: the second waits for the first and is refused.
$TOOL make "$W/w.der" --ra "$W/ra.pem" --key "$W/w.key" --cn dev10.example.test \
	--challenge "$TOKR" --tid tid-w || die "scep_msg make"
$TOOL make "$W/x1.der" --ra "$W/ra.pem" --key "$W/x1.key" --cn x1.example.test \
	--envelope-from "$W/w.der" --tid tid-x1 || die "scep_msg make"
$TOOL make "$W/x2.der" --ra "$W/ra.pem" --key "$W/x2.key" --cn x2.example.test \
	--envelope-from "$W/w.der" --tid tid-x2 || die "scep_msg make"
N=$(count "SELECT count(*) FROM certificate")
python3 - "$H" "$W/x1.der" "$W/x2.der" "$TIME_SCALE" <<'EOF' || fail "the two copies were not both answered"
import http.client, sys, threading, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
scale = float(sys.argv[4])
go = threading.Barrier(2)
def post(path):
    body = open(path, "rb").read()
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60 * scale)
    c.connect()
    go.wait()
    c.request("POST", "/scep?operation=PKIOperation", body=body,
              headers={"Content-Type": "application/x-pki-message"})
    with open(path + ".reply", "wb") as f:
        f.write(c.getresponse().read())
ts = [threading.Thread(target=post, args=(p,)) for p in sys.argv[2:4]]
for t in ts:
    t.start()
for t in ts:
    t.join()
EOF
cp "$W/x1.der.reply" "$W/reply.der"; X1=$(reply "$W/x1.key" | cut -d' ' -f1)
cp "$W/x2.der.reply" "$W/reply.der"; X2=$(reply "$W/x2.key" | cut -d' ' -f1)
is "two strangers' copies at once: one SUCCESS, one FAILURE" \
	"$(printf '%s\n%s\n' "$X1" "$X2" | sort | tr '\n' ' ')" "status=0 status=2 "
is "one certificate for them" "$(count "SELECT count(*) FROM certificate")" "$((N + 1))"
# The device itself, after a stranger's copy spent its challenge (a
# one-use one would be spent for good): the certificate its CSR got.
scep_post "$W/w.der"
is "the device's own message after a copy came first: SUCCESS" \
	"$(reply "$W/w.key" "$W/w.pem")" "status=0 failinfo= tid=tid-w"
check "... for its key" sh -c "[ \"\$(openssl x509 -in '$W/w.pem' -noout -pubkey)\" = \"\$(openssl pkey -in '$W/w.key' -pubout)\" ]"
is "... and no second certificate" "$(count "SELECT count(*) FROM certificate")" "$((N + 1))"

# ---- GetCert ---------------------------------------------------------------
SER=$(openssl x509 -in "$W/r6.pem" -noout -serial | cut -d= -f2)
$TOOL make "$W/g.der" --ra "$W/ra.pem" --key "$W/r.key" --type getcert --serial "$SER" --issuer-of "$W/r6.pem"
scep_post "$W/g.der"
reply "$W/r.key" "$W/g.pem" >/dev/null
check "GetCert returns the certificate by issuer and serial" cmp -s "$W/r6.pem" "$W/g.pem"

# ---- a compromised key -----------------------------------------------------
"$MICA" -d "$D" revoke "$(echo "$SER" | tr 'A-F' 'a-f')" --reason keyCompromise >/dev/null 2>&1 || fail "revoke"
TOK4=$(token --profile client --uses 1)
$TOOL make "$W/k1.der" --ra "$W/ra.pem" --key "$W/r.key" --cn dev6.example.test --challenge "$TOK4" --tid tid-k
scep_post "$W/k1.der"
is "a key revoked for keyCompromise is refused (badRequest)" "$(reply "$W/r.key")" "status=2 failinfo=2 tid=tid-k"

# ---- GetCRL ------------------------------------------------------------------
# RFC 8894 3.3.4: IssuerAndSerialNumber of a certificate -> the CRL of the
# CA key that signed it, in the crls of a degenerate PKCS#7. A CRL
# published after the revocation above:
"$MICA" -d "$D" crl >/dev/null 2>&1 || fail "mica crl"
$TOOL make "$W/gc.der" --ra "$W/ra.pem" --key "$W/r.key" --type getcrl --serial "$SER" --issuer-of "$W/r6.pem"
scep_post "$W/gc.der"
is "GetCRL: SUCCESS" "$(reply "$W/r.key" "$W/gc.pem" | cut -d' ' -f1)" "status=0"
check "the CRL it carries verifies against the root (openssl crl -CAfile)" \
	openssl crl -in "$W/gc.pem" -CAfile "$ROOT" -noout
openssl crl -in "$W/gc.pem" -outform der 2>/dev/null | od -An -tx1 -v | tr -d ' \n' >"$W/gc.hex"
stored_crl "$D" "1 ORDER BY number DESC" "$W/newest.der" || die "the newest CRL"
is "it is the newest CRL in the store, as published" "$(cat "$W/gc.hex")" \
	"$(od -An -tx1 -v "$W/newest.der" | tr -d ' \n')"
check "and it lists the certificate just revoked" \
	sh -c "openssl crl -in '$W/gc.pem' -noout -text | grep -qi 'Serial Number: $SER'"
$TOOL make "$W/gc2.der" --ra "$W/ra.pem" --key "$W/r.key" --type getcrl --serial 0123456789abcdef --issuer-of "$W/r6.pem"
scep_post "$W/gc2.der"
is "GetCRL for a serial this CA never issued: FAILURE badCertId" "$(reply "$W/r.key" | cut -d' ' -f1-2)" "status=2 failinfo=4"
$TOOL make "$W/gc3.der" --ra "$W/ra.pem" --key "$W/r.key" --type getcrl --serial "$SER" --issuer-of "$W/r.key.self"
scep_post "$W/gc3.der"
is "GetCRL under another issuer: FAILURE badCertId" "$(reply "$W/r.key" | cut -d' ' -f1-2)" "status=2 failinfo=4"

# ---- an iPhone profile ----------------------------------------------------------
"$MICA" -d "$D" scep mobileconfig --name iphone-1.example.test --url "$H/scep" \
	--out "$W/iphone.mobileconfig" 2>/dev/null || fail "mica scep mobileconfig"
is "the .mobileconfig is private to its owner (it holds a token)" \
	"$(stat -c %a "$W/iphone.mobileconfig")" 600
python3 - "$W/iphone.mobileconfig" "$W/root.der" "$H/scep" >"$W/mc.out" 2>&1 <<'PY'
import plistlib, sys
d = plistlib.load(open(sys.argv[1], "rb"))
root, scep = d["PayloadContent"]
assert d["PayloadType"] == "Configuration"
assert root["PayloadType"] == "com.apple.security.root"
assert root["PayloadContent"] == open(sys.argv[2], "rb").read(), "not the root"
assert scep["PayloadType"] == "com.apple.security.scep"
c = scep["PayloadContent"]
assert c["URL"] == sys.argv[3] and c["Keysize"] == 2048
assert c["Subject"] == [[["CN", "iphone-1.example.test"]]]
assert c["Challenge"].startswith("mica_")
print(c["Challenge"])
PY
check "it is a plist with the root and a SCEP payload for that device" \
	sh -c "tail -1 '$W/mc.out' | grep -q '^mica_'"
MC_TOK=$(tail -1 "$W/mc.out")
# A URL's scheme in any case (RFC 3986 3.1): taken, written in lower case.
"$MICA" -d "$D" scep mobileconfig --name iphone-9.example.test --url "HTTP://${H#http://}/scep" \
	--out "$W/upper.mobileconfig" 2>"$W/upper.err" || fail "mobileconfig --url HTTP://...: $(cat "$W/upper.err")"
is "an upper-case scheme is written in lower case" \
	"$(python3 -c 'import plistlib,sys; print(plistlib.load(open(sys.argv[1],"rb"))["PayloadContent"][1]["PayloadContent"]["URL"])' "$W/upper.mobileconfig" 2>&1)" \
	"$H/scep"
scep "$W/c10" -challenge "$MC_TOK" -cn iphone-1.example.test
check "its challenge enrolls that device (scepclient standing in for iOS)" \
	openssl verify -CAfile "$ROOT" "$W/c10/client.pem"
scep "$W/c11" -challenge "$MC_TOK" -cn iphone-1.example.test
check "and only once" test ! -e "$W/c11/client.pem"

# ---- the same profile from /admin's button (POST /api/v1/scep/mobileconfig) ----
# mc_post FILE [curl options]: POST the JSON in FILE over HTTPS; the body in
# $W/mc.dl, headers in $W/mc.hdr, the status in HTTP_CODE.
mc_post() {
	local f=$1
	shift
	HTTP_CODE=$(curl -s --cacert "$ROOT" -o "$W/mc.dl" -D "$W/mc.hdr" -w '%{http_code}' --max-time $((30 * TIME_SCALE)) \
		-H 'Content-Type: application/json' --data-binary "@$f" "$@" "$S/api/v1/scep/mobileconfig")
}
NTOK=$(count "SELECT count(*) FROM token")
printf '{"name": "iphone-2.example.test", "profile": "client", "expires_in": 3600}' >"$W/mc.json"
mc_post "$W/mc.json"
is "POST /api/v1/scep/mobileconfig without a token: 401" "$HTTP_CODE" 401
ETOK=$(token --profile client --uses 5)
mc_post "$W/mc.json" -H "Authorization: Bearer $ETOK"
is "with an enrollment token: 403" "$HTTP_CODE" 403
NTOK=$(count "SELECT count(*) FROM token")
bad=0
for body in '{"name": "iphone-2.other.test"}' '{"name": ""}' '{"profile": "client"}' \
	'{"name": "iphone-2.example.test", "profile": "nonesuch"}' \
	'{"name": "iphone-2.example.test", "url": "ftp://x/scep"}' \
	'{"name": "iphone-2.example.test", "url": "http://a b/scep"}' \
	'{"name": "iphone-2.example.test", "url": "https://"}' \
	'{"name": "iphone-2.example.test", "url": "https:///scep"}' \
	'{"name": "iphone-2.example.test", "url": "https://user@ca.example.test/scep"}' \
	'{"name": "iphone-2.example.test", "url": "https://:8443/scep"}' \
	'{"name": "iphone-2.example.test", "expires_in": 0}' \
	'{"name": "iphone-2.example.test", "expires_in": 99999999}' \
	'{"name": "iphone-2.example.test", "extra": 1}' 'not json'; do
	printf '%s' "$body" >"$W/mc-bad.json"
	mc_post "$W/mc-bad.json" -H "Authorization: Bearer $ADM"
	case $HTTP_CODE in
	4??) grep -q '"error"' "$W/mc.dl" || { bad=1; echo "    $body: $HTTP_CODE without a JSON error" >&2; } ;;
	*) bad=1; echo "    $body: HTTP $HTTP_CODE" >&2 ;;
	esac
done
is "bad input: a 4xx with a JSON error each time" "$bad" 0
is "and no token stored for any of them" "$(count "SELECT count(*) FROM token")" "$NTOK"
printf '{"name": "iphone-2.other.test"}' >"$W/mc-bad.json"
mc_post "$W/mc-bad.json" -H "Authorization: Bearer $ADM"
is "a name outside the CA's domains is refused by policy, as everywhere (422)" \
	"$HTTP_CODE $(json_get "$W/mc.dl" error)" "422 name_not_allowed"
mc_post "$W/mc.json" -H "Authorization: Bearer $ADM"
is "an admin gets the profile: 200" "$HTTP_CODE" 200
check "as application/x-apple-aspen-config" grep -qi '^content-type: application/x-apple-aspen-config' "$W/mc.hdr"
check "as a download named for the device" \
	grep -qi '^content-disposition: attachment; filename="iphone-2.example.test.mobileconfig"' "$W/mc.hdr"
check "never cached" grep -qi '^cache-control: no-store' "$W/mc.hdr"
is "one token stored for it (hashed, as every token)" "$(count "SELECT count(*) FROM token")" "$((NTOK + 1))"
python3 - "$W/mc.dl" "$W/root.der" "$H/scep" >"$W/mc2.out" 2>"$W/mc2.err" <<'PY'
import plistlib, sys
d = plistlib.load(open(sys.argv[1], "rb"))
root, scep = d["PayloadContent"]
assert root["PayloadType"] == "com.apple.security.root"
assert root["PayloadContent"] == open(sys.argv[2], "rb").read(), "not the root"
c = scep["PayloadContent"]
assert scep["PayloadType"] == "com.apple.security.scep"
assert c["URL"] == sys.argv[3], c["URL"]
assert c["Subject"] == [[["CN", "iphone-2.example.test"]]]
assert c["Challenge"].startswith("mica_")
print(c["Challenge"])
PY
check "it parses as a plist (python plistlib) with the root and a SCEP payload" \
	sh -c "grep -q '^mica_' '$W/mc2.out'" || sed 's/^/    /' "$W/mc2.err" >&2
MC2_TOK=$(tail -1 "$W/mc2.out")
check "the challenge's secret is not in the store (only its hash)" \
	sh -c "! sqlite3 '$D/mica.db' '.dump token' | grep -qi '${MC2_TOK##*_}'"
scep "$W/c12" -challenge "$MC2_TOK" -cn iphone-2.example.test
check "its challenge enrolls that device (scepclient)" openssl verify -CAfile "$ROOT" "$W/c12/client.pem"
scep "$W/c13" -challenge "$MC2_TOK" -cn iphone-2.example.test
check "and only once" test ! -e "$W/c13/client.pem"
# A name typed as a hand writes it (capitals, the fully qualified
# trailing dot) is the certificate's name, lower case, no dot: so is the
# profile's CN, its display name and the file's name, never
# "IPhone-4.Example.Test..mobileconfig".
printf '{"name": "IPhone-4.Example.Test."}' >"$W/mc4.json"
mc_post "$W/mc4.json" -H "Authorization: Bearer $ADM"
is "a name with capitals and a trailing dot: 200" "$HTTP_CODE" 200
check "named for the device as its certificate will be" \
	grep -qi '^content-disposition: attachment; filename="iphone-4.example.test.mobileconfig"' "$W/mc.hdr"
is "the profile's CN and display name are that name" \
	"$(python3 -c 'import plistlib,sys; d=plistlib.load(open(sys.argv[1],"rb")); print(d["PayloadContent"][1]["PayloadContent"]["Subject"][0][0][1], d["PayloadContent"][1]["PayloadDisplayName"], d["PayloadDisplayName"].rsplit(": ", 1)[-1])' "$W/mc.dl" 2>&1)" \
	"iphone-4.example.test iphone-4.example.test iphone-4.example.test"

# ---- certmonger --------------------------------------------------------------
if [ -n "$SCEP_SUBMIT" ]; then
	"$SCEP_SUBMIT" -u "$H/scep" -c >"$W/cm-caps" 2>&1
	check "certmonger scep-submit -c reads GetCACaps" grep -qx POSTPKIOperation "$W/cm-caps"
	"$SCEP_SUBMIT" -u "$H/scep" -C >"$W/cm-certs" 2>&1
	check "certmonger scep-submit -C reads GetCACert (RA then CA)" \
		sh -c "[ \$(grep -c 'BEGIN CERT' '$W/cm-certs') = 2 ]"
	if command -v dbus-run-session >/dev/null && command -v getcert >/dev/null; then
		TOK5=$(token --profile client --name cm.example.test --uses 1)
		mkdir -p "$W/cm/home"
		# cm_run SCRIPT LOG: SCRIPT's getcert calls, in a session bus
		# of their own and a home under $W/cm, output into LOG.
		cm_run() {
			HOME=$W/cm/home XDG_CONFIG_HOME=$W/cm/home/.config \
				timeout $((120 * TIME_SCALE)) dbus-run-session -- bash "$1" >"$2" 2>&1
		}
		cat >"$W/cm/run.sh" <<EOF
getcert add-scep-ca -s -c mica -u "$H/scep" >/dev/null
getcert request -s -c mica -f "$W/cm/cert.pem" -k "$W/cm/key.pem" -N CN=cm.example.test \
	-L "$TOK5" -I cm -w -T $((60 * TIME_SCALE)) >/dev/null
getcert list -s -i cm
EOF
		cm_run "$W/cm/run.sh" "$W/cm/log"
		check "certmonger (getcert request with a SCEP CA) enrolls" \
			openssl verify -CAfile "$ROOT" "$W/cm/cert.pem"
		# Its renewal, as when the certificate nears its end: a
		# PKCSReq signed with the certificate, the one-use token spent.
		CM_OLD=$(openssl x509 -in "$W/cm/cert.pem" -noout -serial 2>/dev/null)
		cat >"$W/cm/renew.sh" <<EOF
getcert resubmit -s -i cm -w -T $((60 * TIME_SCALE)) >/dev/null
getcert list -s -i cm
EOF
		cm_run "$W/cm/renew.sh" "$W/cm/renew.log"
		CM_NEW=$(openssl x509 -in "$W/cm/cert.pem" -noout -serial 2>/dev/null)
		check "certmonger renews it (getcert resubmit), no new token" \
			sh -c "[ '$CM_NEW' != '$CM_OLD' ] && openssl verify -CAfile '$ROOT' '$W/cm/cert.pem' >/dev/null"
		# A digest mica does not support: certmonger signs with the
		# scep_digest of its CA entry (no getcert option sets it; the
		# entry's file does), whatever GetCACaps says. It reads the
		# CertRep FAILURE badAlg - the RA's signature, its nonce - and
		# stops with RFC 8894's words for it, where an HTTP 400 would
		# leave it retrying a server it could not understand.
		TOK8=$(token --profile client --name cm2.example.test --uses 1)
		CM_CA=$(grep -rlx 'id=mica' "$W/cm/home" | head -1)
		if [ -n "$CM_CA" ] && sed -i '/^id=mica$/a scep_digest=SHA384' "$CM_CA"; then
			N=$(count "SELECT count(*) FROM certificate")
			NLOG=$(grep -c 'refused (failInfo 0): an unsupported digest algorithm' "$W/serve.out.err")
			cat >"$W/cm/alg.sh" <<EOF
getcert request -s -c mica -f "$W/cm/cert2.pem" -k "$W/cm/key2.pem" -N CN=cm2.example.test \
	-L "$TOK8" -I cm2 -w -T $((60 * TIME_SCALE)) >/dev/null
getcert list -s -i cm2
EOF
			cm_run "$W/cm/alg.sh" "$W/cm/alg.log"
			is "certmonger with SHA-384: mica answers FAILURE badAlg" \
				"$(grep -c 'refused (failInfo 0): an unsupported digest algorithm' "$W/serve.out.err")" \
				"$((NLOG + 1))"
			is "... which certmonger reads: CA_REJECTED, \"Unrecognized or unsupported algorithm\"" \
				"$(sed -n 's/^[[:space:]]*status: //p; s/^[[:space:]]*ca-error: //p' "$W/cm/alg.log" | tr '\n' '|')" \
				"CA_REJECTED|Unrecognized or unsupported algorithm identifier in client request.|"
			is "... no certificate, the challenge not spent" \
				"$(count "SELECT count(*) FROM certificate") $(count "SELECT uses_left FROM token WHERE id = '$(echo "$TOK8" | cut -d_ -f2)'")" \
				"$N 1"
		else
			fail "certmonger's CA entry for mica not found under $W/cm/home"
		fi
	else
		skip "certmonger enrolls" "dbus-run-session or getcert missing"
		skip "certmonger renews" "dbus-run-session or getcert missing"
		skip "certmonger with SHA-384 gets FAILURE badAlg" "dbus-run-session or getcert missing"
	fi
else
	skip "certmonger scep-submit -c" "certmonger not installed"
	skip "certmonger scep-submit -C" "certmonger not installed"
	skip "certmonger enrolls" "certmonger not installed"
	skip "certmonger renews" "certmonger not installed"
	skip "certmonger with SHA-384 gets FAILURE badAlg" "certmonger not installed"
fi

# ---- hostile input -----------------------------------------------------------
TOK6=$(token --profile client --uses 1)
db_dump "$D" >"$W/before.sql"
# Mutations that only touch what the signature does not cover (the client
# certificate's own signature, say) leave a valid message: with a wrong
# challenge even those are refused, so every answer must be a failure.
$TOOL make "$W/h.der" --ra "$W/ra.pem" --key "$W/h.key" --cn dev8.example.test --challenge not-a-token
SIZE=$(stat -c %s "$W/h.der")
bad=0
for cut in 1 2 10 100 500 $((SIZE / 2)) $((SIZE - 1)); do
	head -c "$cut" "$W/h.der" >"$W/t.der"
	scep_post "$W/t.der"
	[ "$HTTP_CODE" = 400 ] || { bad=1; echo "    cut at $cut: HTTP $HTTP_CODE" >&2; }
done
is "truncated messages are 400" "$bad" 0
bad=0
for i in $(seq 0 97 $((SIZE - 1))); do
	python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[int(sys.argv[2])]^=0x24; open(sys.argv[3],'wb').write(b)" \
		"$W/h.der" "$i" "$W/t.der"
	scep_post "$W/t.der"
	case $HTTP_CODE in
	400) ;;
	200) r=$(reply "$W/h.key"); case $r in "status=2 "*) ;; *) bad=1; echo "    byte $i: $r" >&2 ;; esac ;;
	*) bad=1; echo "    byte $i: HTTP $HTTP_CODE" >&2 ;;
	esac
done
is "mutated messages: 400 or FAILURE, never a certificate" "$bad" 0
printf 'garbage' >"$W/t.der"
scep_post "$W/t.der"
is "garbage is 400" "$HTTP_CODE" 400
# transactionID is a PrintableString (RFC 8894 3.2.1.1), sent back in the
# CertRep as one: '*' and '&' are not of its characters.
for t in 'tid*1' 'tid&1'; do
	$TOOL make "$W/badtid.der" --ra "$W/ra.pem" --key "$W/p.key" --cn dev5.example.test \
		--type certpoll --tid "$t" || die "scep_msg make"
	scep_post "$W/badtid.der"
	is "a transactionID with a character PrintableString has not ($t): 400" "$HTTP_CODE" 400
done
# Encrypted to another RA (a certificate of another key).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/other.key" -subj "/CN=mica SCEP RA" \
	-days 1 -out "$W/other.pem" 2>/dev/null
$TOOL make "$W/t.der" --ra "$W/other.pem" --key "$W/h.key" --cn dev8.example.test --challenge "$TOK6"
scep_post "$W/t.der"
is "a message to another recipient: FAILURE badMessageCheck" "$($TOOL reply "$W/reply.der" --ra "$W/ra.pem" --key "$W/h.key" 2>/dev/null | cut -d' ' -f1-2)" \
	"status=2 failinfo=1"
$TOOL make "$W/t.der" --ra "$W/ra.pem" --key "$W/h.key" --cn dev8.example.test --challenge "$TOK6" --digest md5
scep_post "$W/t.der"
is "an MD5 signature is refused: FAILURE badAlg" \
	"$HTTP_CODE $(reply "$W/h.key" | cut -d' ' -f1-2)" "200 status=2 failinfo=0"
$TOOL make "$W/t.der" --ra "$W/ra.pem" --key "$W/h.key" --cn dev8.example.test --challenge "$TOK6" --message-type 019
scep_post "$W/t.der"
is "messageType \"019\" (not the one spelling of 19) is refused (400)" "$HTTP_CODE" 400
# A message read whole and signed, of a type mica does not serve (a
# CertRep sent back, a type of a later draft): a signed CertRep FAILURE
# badRequest (RFC 8894 3.2.1.4), not an HTTP error; the challenge is not
# spent (the store is compared below).
for mt in 3 99; do
	$TOOL make "$W/t.der" --ra "$W/ra.pem" --key "$W/h.key" --cn dev8.example.test \
		--challenge "$TOK6" --message-type $mt
	scep_post "$W/t.der"
	is "messageType $mt: a CertRep FAILURE badRequest" \
		"$HTTP_CODE $(reply "$W/h.key" | cut -d' ' -f1-2)" "200 status=2 failinfo=2"
done
# A padding oracle: anyone may sign a captured envelope again under a
# certificate of their own, with its ciphertext changed. Content whose CBC
# padding is wrong must get the same answer as content whose padding is
# right but which decrypts to garbage, or the failInfo tells the padding
# apart and reads the captured CSR - its challengePassword - a byte per
# hundred messages. For every type: the prober picks one.
GARBAGE=$(head -c 31 /dev/urandom | od -An -tx1 | tr -d ' \n')
for mt in 19 17 20 21 22; do
	$TOOL make "$W/t.der" --ra "$W/ra.pem" --key "$W/h.key" --message-type $mt \
		--plaintext "${GARBAGE}00"
	scep_post "$W/t.der"
	r1="$HTTP_CODE $(reply "$W/h.key" | cut -d' ' -f1-2)"
	$TOOL make "$W/t.der" --ra "$W/ra.pem" --key "$W/h.key" --message-type $mt \
		--plaintext "${GARBAGE}01"
	scep_post "$W/t.der"
	r2="$HTTP_CODE $(reply "$W/h.key" | cut -d' ' -f1-2)"
	is "messageType $mt: bad padding answered as good padding around garbage" \
		"$r1 / $r2" "200 status=2 failinfo=2 / 200 status=2 failinfo=2"
done
python3 -c "import sys; open(sys.argv[1],'wb').write(b'\x30\x84\x00\x01\x00\x00' + b'\0' * 70000)" "$W/t.der"
scep_post "$W/t.der"
is "a body over the cap is 413" "$HTTP_CODE" 413
HC=$(curl -s -o /dev/null -w '%{http_code}' "$H/scep?operation=PKIOperation&message=%21%21%21")
is "GET with a message that is not base64 is 400" "$HC" 400
check "the daemon still serves" curl -fsS -o /dev/null "$H/healthz"
db_dump "$D" >"$W/after.sql"
cmp -s "$W/before.sql" "$W/after.sql" ||
	diff "$W/before.sql" "$W/after.sql" | head -8 | cut -c1-300 >&2
check "hostile messages stored nothing" cmp -s "$W/before.sql" "$W/after.sql"
$TOOL make "$W/h2.der" --ra "$W/ra.pem" --key "$W/h.key" --cn dev8.example.test --challenge "$TOK6"
scep_post "$W/h2.der"
is "and an intact message still enrolls" "$(reply "$W/h.key" | cut -d' ' -f1)" "status=0"

# By GET, the message's base64 may come wrapped in lines (sscep sends it
# so, each line end as %0A); by HEAD, a PKIOperation would be carried out
# and its answer dropped: 405.
TOKG=$(token --profile client --uses 1)
$TOOL make "$W/g.der" --ra "$W/ra.pem" --key "$W/g.key" --cn dev9.example.test \
	--challenge "$TOKG" --tid tid-g || die "scep_msg make"
GMSG=$(base64 -w 64 "$W/g.der" | python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""))')
N=$(count "SELECT count(*) FROM certificate")
HC=$(curl -s -I -o "$W/head.txt" -w '%{http_code}' --max-time $((30 * TIME_SCALE)) \
	"$H/scep?operation=PKIOperation&message=$GMSG")
is "HEAD of a PKIOperation is 405" "$HC $(tr -d '\r' <"$W/head.txt" | sed -n 's/^[Aa]llow: //p')" "405 GET, POST"
is "... and issued nothing" "$(count "SELECT count(*) FROM certificate")" "$N"
is "... nor spent the challenge" \
	"$(count "SELECT uses_left FROM token WHERE id = '$(echo "$TOKG" | cut -d_ -f2)'")" 1
HC=$(curl -s -o "$W/reply.der" -w '%{http_code}' --max-time $((30 * TIME_SCALE)) \
	"$H/scep?operation=PKIOperation&message=$GMSG")
is "GET with the base64 in lines of 64 (%0A) enrolls" "$HC $(reply "$W/g.key")" "200 status=0 failinfo= tid=tid-g"
# The operation's name in any case, and base64 without its '=' padding
# (a client that strips it as unsafe in a URL), as the OCSP GET takes it.
check "GET ?operation=getcacaps (any case) answers the capabilities" sh -c \
	"curl -fsS '$H/scep?operation=getcacaps' | grep -qx POSTPKIOperation"
TOKP=$(token --profile client --uses 1)
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	$TOOL make "$W/p.der" --ra "$W/ra.pem" --key "$W/p.key" --cn "dev10-$(printf "%${i}s" | tr ' ' x).example.test" \
		--challenge "$TOKP" --tid tid-p || die "scep_msg make"
	base64 -w 0 "$W/p.der" | grep -q '=$' && break
done
PMSG=$(base64 -w 0 "$W/p.der" | tr -d '=' | python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read().strip(), safe=""))')
HC=$(curl -s -o "$W/reply.der" -w '%{http_code}' --max-time $((30 * TIME_SCALE)) \
	"$H/scep?operation=pkioperation&message=$PMSG")
is "GET of base64 without its padding enrolls" "$HC $(reply "$W/p.key")" "200 status=0 failinfo= tid=tid-p"

# ---- a restart keeps the RA, across a passphrase change too -----------------
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0
cp "$D/passphrase" "$W/oldpass"
printf 'another passphrase for the scep test\n' >"$W/newpass"
chmod 600 "$W/newpass"
check "mica passphrase re-seals the keys" "$MICA" -d "$D" passphrase --new-file "$W/newpass"
check "... and puts the new passphrase in DIR/passphrase, where the old came from" \
	cmp -s "$W/newpass" "$D/passphrase"
is "the RA key was re-sealed in the passphrase change" \
	"$(count "SELECT count(*) FROM audit WHERE action = 'ca.passphrase' AND detail LIKE '%RA key%'")" 1
expect_rc "the old passphrase no longer opens the keys (7)" 7 \
	"$MICA" -d "$D" domain seal --passphrase-file "$W/oldpass"
serve_start "$W/serve1b.out" "$D" -- || serve_failed "$W/serve1b.out"
curl -fsS -o "$W/cacert3.p7" "$H/scep?operation=GetCACert" || die "GetCACert after a restart"
check "after mica passphrase and a restart GetCACert gives the same RA certificate (its key re-sealed in the store)" \
	cmp -s "$W/cacert.p7" "$W/cacert3.p7" ||
	grep -i 'scep\|keeper' "$W/serve1b.out.err" | sed 's/^/    /' >&2
check "the keeper opened the re-sealed RA key (made none)" \
	sh -c "! grep -q 'RA key does not open' '$W/serve1b.out.err'"
is "the RA key is stored sealed, once" "$(count "SELECT count(*) FROM scep_ra_key")" 1
scep_post "$W/p2.der"
is "a CertPoll made before the restart still decrypts: SUCCESS" \
	"$(reply "$W/p.key" | cut -d' ' -f1)" "status=0"

# ---- killed while signing ------------------------------------------------------
# The daemon is killed while a PKCSReq's certificate is being signed (held
# there by the test gate of fault-injection builds, util/fault.h): the
# serial was reserved, the challenge's one use spent, and the SCEP
# transaction recorded in that same commit. The device, sending its
# message again after the restart, is told PENDING and polls (it was
# FAILURE badRequest - for good, the use spent - and with a multi-use
# challenge a second certificate). Once the sweep gives the row up (ten
# minutes; moved back here by hand) the transaction goes with it, the use
# is given back, and the same message enrolls.
if fault_injection_built; then
TOKK=$(token --profile client --uses 1)
TOKKID=$(echo "$TOKK" | cut -d_ -f2)
$TOOL make "$W/kill.der" --ra "$W/ra.pem" --key "$W/kill.key" --cn dev11.example.test \
	--challenge "$TOKK" --tid tid-kill || die "scep_msg make"
$TOOL make "$W/killp.der" --ra "$W/ra.pem" --key "$W/kill.key" --cn dev11.example.test \
	--type certpoll --tid tid-kill || die "scep_msg make"
kill_uses() { count "SELECT uses_left FROM token WHERE id = '$TOKKID'"; }
issuing_rows() { count "SELECT count(*) FROM certificate WHERE status = 0"; }
kill_tx() { count "SELECT count(*) FROM scep_tx WHERE tid = 'tid-kill'"; }
is "no row is being issued before" "$(issuing_rows)" 0
dev11() { count "SELECT count(*) FROM certificate WHERE subject LIKE '%dev11.example.test%'"; }
serve_stop
serve_start "$W/serve1c.out" "$D" "MICA_TEST_RECORDED_ISSUE_GATE=$W/ig" -- || serve_failed "$W/serve1c.out"
curl -s -o /dev/null --max-time $((60 * TIME_SCALE)) -H 'Content-Type: application/x-pki-message' \
	--data-binary "@$W/kill.der" "$H/scep?operation=PKIOperation" &
KPID=$!
wait_for "the issuance held before its signature" 30 test -s "$W/ig.reached" ||
	fail "the issuance never reached the gate"
KEEPER=$(pgrep -P "$SERVE_PID" -x mica-keeper)
# shellcheck disable=SC2086
kill -KILL "$SERVE_PID" "$KEEPER" $(pgrep -P "$KEEPER") 2>/dev/null
serve_wait
wait "$KPID" 2>/dev/null
is "the row left is the reserved certificate" "$(issuing_rows)" 1
is "... recorded with the transaction" \
	"$(count "SELECT serial FROM scep_tx WHERE tid = 'tid-kill'")" \
	"$(count "SELECT serial FROM certificate WHERE status = 0")"
is "... and the challenge's use is spent" "$(kill_uses)" 0
serve_start "$W/serve1e.out" "$D" -- || serve_failed "$W/serve1e.out"
scep_post "$W/kill.der"
is "the same PKCSReq after the restart: PENDING" "$(reply "$W/kill.key")" \
	"status=3 failinfo= tid=tid-kill"
scep_post "$W/killp.der"
is "... and its CertPoll: PENDING" "$(reply "$W/kill.key")" "status=3 failinfo= tid=tid-kill"
# The device run again with a new self-signed certificate of its key (sscep
# makes one at each run): the CSR's first transaction answers, and this
# one is recorded as its alias, so that its CertPoll finds it (it was
# FAILURE badCertId, no such transaction).
openssl req -x509 -new -key "$W/kill.key" -subj /CN=dev11.example.test -days 1 -out "$W/kill2.self" 2>/dev/null ||
	die "openssl req -x509"
$TOOL make "$W/kill2.der" --ra "$W/ra.pem" --key "$W/kill.key" --signer "$W/kill2.self" \
	--envelope-from "$W/kill.der" --tid tid-kill2 || die "scep_msg make"
scep_post "$W/kill2.der"
is "the same CSR under a new certificate of its key: PENDING" "$(reply "$W/kill.key")" \
	"status=3 failinfo= tid=tid-kill2"
$TOOL make "$W/kill2p.der" --ra "$W/ra.pem" --key "$W/kill.key" --signer "$W/kill2.self" \
	--cn dev11.example.test --type certpoll --tid tid-kill2 || die "scep_msg make"
scep_post "$W/kill2p.der"
is "... and its CertPoll: PENDING" "$(reply "$W/kill.key")" "status=3 failinfo= tid=tid-kill2"
is "... no certificate issued meanwhile" "$(dev11)" 1
serve_stop
count "UPDATE certificate SET created_at = created_at - 601 WHERE status = 0" ||
	fail "sqlite3 could not age the row"
serve_start "$W/serve1d.out" "$D" -- || serve_failed "$W/serve1d.out"
is "a start once the row is older than ten minutes forgets it" "$(issuing_rows)" 0
is "... and the transactions recorded with it" \
	"$(count "SELECT count(*) FROM scep_tx WHERE tid IN ('tid-kill', 'tid-kill2')")" 0
is "... and gives the use back" "$(kill_uses)" 1
scep_post "$W/killp.der"
is "a CertPoll then: no such transaction (badCertId)" "$(reply "$W/kill.key")" \
	"status=2 failinfo=4 tid=tid-kill"
scep_post "$W/kill.der"
is "the same PKCSReq again: SUCCESS" "$(reply "$W/kill.key" "$W/kill.pem")" \
	"status=0 failinfo= tid=tid-kill"
check "... with a certificate for its key" \
	sh -c "[ \"\$(openssl x509 -in '$W/kill.pem' -noout -pubkey)\" = \"\$(openssl pkey -in '$W/kill.key' -pubout)\" ]"
is "... one, and the use spent" "$(dev11) $(kill_uses)" "1 0"
scep_post "$W/killp.der"
is "... and its CertPoll: SUCCESS" "$(reply "$W/kill.key" | cut -d' ' -f1)" "status=0"
else
	skip "a SCEP enrollment killed while signing" "mica built without --enable-fault-injection"
fi

# ---- an earlier RA certificate of the same key ---------------------------------
# The RA certificate is renewed a month before its 90 days end; a device
# that fetched GetCACert before (pending since, or pinned) encrypts to the
# earlier one, which is still valid and certifies the same key: taken (it
# was FAILURE badMessageCheck, which ends a pending device's enrollment).
# Once that certificate has expired, it is refused.
FTLIB=$(faketime_lib)
if [ -n "$FTLIB" ]; then
serve_stop
serve_start "$W/serve1f.out" "$D" "LD_PRELOAD=$FTLIB" "FAKETIME=+65d" \
	"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" -- ||
	serve_failed "$W/serve1f.out"
curl -fsS -o "$W/cacert65.p7" "$H/scep?operation=GetCACert" || die "GetCACert 65 days on"
openssl pkcs7 -inform der -in "$W/cacert65.p7" -print_certs 2>/dev/null |
	awk '/^subject=/ { ra = /SCEP RA/ } ra && /BEGIN/, /END/' >"$W/ra65.pem"
RA65_SERIAL=$(openssl x509 -in "$W/ra65.pem" -noout -serial 2>/dev/null | cut -d= -f2 | tr 'A-F' 'a-f')
check "65 days on, GetCACert gives a renewed RA certificate" \
	sh -c "[ -n '$RA65_SERIAL' ] && [ '$RA65_SERIAL' != '$RA_SERIAL' ]"
is "... for the same RA key" "$(openssl x509 -in "$W/ra65.pem" -noout -pubkey 2>/dev/null)" \
	"$(openssl x509 -in "$W/ra.pem" -noout -pubkey)"
$TOOL make "$W/early.der" --ra "$W/ra.pem" --key "$W/p.key" --cn dev5.example.test \
	--type certpoll --tid tid-p5 || die "scep_msg make"
scep_post "$W/early.der"
is "a CertPoll encrypted to the earlier RA certificate, still valid: SUCCESS" \
	"$(reply "$W/p.key" | cut -d' ' -f1)" "status=0"
$TOOL make "$W/late.der" --ra "$W/ra65.pem" --key "$W/p.key" --cn dev5.example.test \
	--type certpoll --tid tid-p5 || die "scep_msg make"
scep_post "$W/late.der"
is "... and one encrypted to the renewed one: SUCCESS" "$(reply "$W/p.key" | cut -d' ' -f1)" "status=0"
count "UPDATE scep_ra SET not_before = 0, not_after = 1 WHERE serial = '$RA_SERIAL'" ||
	fail "sqlite3 could not end the earlier RA certificate"
scep_post "$W/early.der"
is "once the earlier RA certificate has expired: FAILURE badMessageCheck" \
	"$(reply "$W/p.key")" "status=2 failinfo=1 tid=tid-p5"
else
	skip "an earlier RA certificate" "libfaketime is not installed"
fi
serve_stop

# ---- the RA certificate in the CA's last month ---------------------------------
# Within a month of the end of the CA's path the RA certificate is cut to
# that end, and a new one could last no longer: a restart keeps it (every
# start certified a new one, whose fingerprint devices pin). A CA of its
# own, ten years from its end: 3635 days on, about two weeks remain.
if [ -n "$FTLIB" ]; then
D4=$W/last
"$MICA" -d "$D4" init --name "Last Month CA" --domain example.test \
	--public-url "$H" >/dev/null 2>&1 || die "init a CA for its last month"
"$MICA" -d "$D4" export-root --pem >"$W/last-root.pem" || die "export-root of the last month CA"
ra_last() {
	curl -fsS -o "$W/cacert-last.p7" "$H/scep?operation=GetCACert" || die "GetCACert in the CA's last month"
	openssl pkcs7 -inform der -in "$W/cacert-last.p7" -print_certs 2>/dev/null |
		awk '/^subject=/ { ra = /SCEP RA/ } ra && /BEGIN/, /END/' |
		openssl x509 -noout -serial -enddate 2>/dev/null | tr '\n' ' '
}
for n in 1 2; do
	serve_start "$W/serve-last$n.out" "$D4" "LD_PRELOAD=$FTLIB" "FAKETIME=+3635d" \
		"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" -- ||
		serve_failed "$W/serve-last$n.out"
	eval "RA_LAST$n=\$(ra_last)"
	if [ "$n" = 1 ]; then
		# The admin page's status carries the CA's coming end too.
		ADM4=$("$MICA" -d "$D4" token create --admin 2>/dev/null | grep -o 'mica_[0-9a-f_]*' | head -1)
		env LD_PRELOAD="$FTLIB" FAKETIME=+3635d curl -sS --cacert "$W/last-root.pem" \
			-H "Authorization: Bearer $ADM4" "$S/api/v1/status" >"$W/status-last.json" 2>&1
		check "in the CA's last month, /api/v1/status carries the warning of its end" \
			grep -q '"warning": "the root CA certificate expires on .* (in 1[0-9] days)' "$W/status-last.json"
	fi
	serve_stop
done
is "in the CA's last month, the RA certificate ends with the CA" \
	"$(echo "$RA_LAST1" | sed 's/.*notAfter=//')" \
	"$(openssl x509 -in <("$MICA" -d "$D4" export-root 2>/dev/null) -noout -enddate | sed 's/notAfter=//') "
is "... and a restart keeps it (same certificate)" "$RA_LAST2" "$RA_LAST1"
is "... one RA certificate recorded" "$(sqlite3 "$D4/mica.db" 'SELECT count(*) FROM scep_ra')" 1
# Past the CA's end (no HTTPS: the daemon's own certificate cannot be
# made then), with no RA certificate left to keep: GetCACert says the CA
# has expired, not that it "expires too soon".
sqlite3 "$D4/mica.db" 'DELETE FROM scep_ra' || fail "sqlite3 could not drop the RA certificate"
serve_start "$W/serve-past.out" "$D4" "LD_PRELOAD=$FTLIB" "FAKETIME=+3660d" \
	"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" -- --https none ||
	serve_failed "$W/serve-past.out"
PAST=$(curl -sS -w ' %{http_code}' "$H/scep?operation=GetCACert" | tr -d '\n')
case $PAST in
*'"ca_expired"'*'expired on '*' 409') ok "past the CA's end, GetCACert: 409 ca_expired, 'expired on'" ;;
*) fail "past the CA's end, GetCACert: got '$PAST'" ;;
esac
serve_stop
else
	skip "the RA certificate in the CA's last month" "libfaketime is not installed"
fi

# ---- an RSA CA ----------------------------------------------------------------
D2=$W/rsa
"$MICA" -d "$D2" init --name "RSA Test CA" --domain example.test --key rsa-2048 \
	--public-url "$H" >/dev/null 2>&1 || die "init an RSA CA"
serve_start "$W/serve2.out" "$D2" -- || serve_failed "$W/serve2.out"
curl -fsS -o "$W/root2.der" "$H/ca.crt" && openssl x509 -inform der -in "$W/root2.der" -out "$W/root2.pem"
TOK7=$("$MICA" -d "$D2" token create --enroll --profile client --uses 1 2>/dev/null | grep -o 'mica_[0-9a-f_]*' | head -1)
mkdir -p "$W/c9"
# Without -ca-fingerprint scepclient encrypts to every certificate of
# GetCACert: the root (RSA here) and the RA; mica reads the RA's part.
timeout $((120 * TIME_SCALE)) scepclient -server-url "$H/scep" -private-key "$W/c9/k.pem" \
	-challenge "$TOK7" -cn dev9.example.test >"$W/c9/log" 2>&1
check "scepclient enrolls against an RSA CA" openssl verify -CAfile "$W/root2.pem" "$W/c9/client.pem"
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0


# ---- GetNextCACert: a rollover announced before the switch ----------------
# GetNextCACert is for a CA whose certificate a CA above renews: an issuing
# CA under an offline root. 'mica install-ca' installs the next certificate
# while 'mica serve' runs; the daemon keeps signing with the current one
# until it is restarted, and announces the next one meanwhile.
NPASS="scep next-ca passphrase"
nm() { MICA_PASSPHRASE="$NPASS" "$MICA" "$@"; }
NR=$W/nroot
NI=$W/nissuing
serve_ports
nm -d "$NR" init --name "SCEP Next Root" --root-only >/dev/null 2>&1 || die "init a root"
nm -d "$NR" export-root --out "$W/nroot.pem" >/dev/null 2>&1 || die "export-root"
nm -d "$NI" init --subordinate --name "SCEP Issuing CA" --domain example.test \
	--public-url "$H" --csr-out "$W/ni.csr" >/dev/null 2>&1 || die "init an issuing CA"
nm -d "$NR" sign-ca --csr "$W/ni.csr" --out "$W/ni.crt" >/dev/null 2>&1 || die "sign-ca"
nm -d "$NI" install-ca --cert "$W/ni.crt" --chain "$W/nroot.pem" >/dev/null 2>&1 || die "install-ca"
serve_start "$W/serve3.out" "$NI" MICA_PASSPHRASE="$NPASS" -- || serve_failed "$W/serve3.out"
# nextca [PATH]: GET GetNextCACert into $W/next.p7, "code type" in NEXT.
nextca() {
	NEXT=$(curl -s -o "$W/next.p7" -w '%{http_code} %{content_type}' --max-time $((30 * TIME_SCALE)) \
		"$H${1:-/scep}?operation=GetNextCACert")
}
offers_next() { curl -fsS "$H${1:-/scep}?operation=GetCACaps" | grep -qx GetNextCACert; }
check "no rollover: GetCACaps does not offer GetNextCACert" sh -c "! curl -fsS '$H/scep?operation=GetCACaps' | grep -qx GetNextCACert"
nextca
is "no rollover: GetNextCACert is 404" "$NEXT" "404 application/json"
check "... saying there is no next CA certificate" grep -q '"no_next_ca"' "$W/next.p7"
curl -fsS -o "$W/ncacert.p7" "$H/scep?operation=GetCACert" || die "GetCACert of the issuing CA"
openssl pkcs7 -inform der -in "$W/ncacert.p7" -print_certs -out "$W/ncacert.pem" 2>/dev/null
awk -v out="$W/nc" '/BEGIN/{n++} {print > (out n ".pem")}' "$W/ncacert.pem"
for f in "$W"/nc[0-9]*.pem; do
	if openssl x509 -in "$f" -noout -subject | grep -q 'mica SCEP RA'; then cp "$f" "$W/nra.pem"; fi
done
[ -s "$W/nra.pem" ] || die "no RA certificate in the issuing CA's GetCACert"
# An issuing CA's certificate carries critical name constraints, which
# mbedTLS 3.6 cannot parse: the RA certificate is kept across a restart
# all the same (scepclient pins it by -ca-fingerprint, a CertPoll is
# encrypted to it).
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0
serve_start "$W/serve3b.out" "$NI" MICA_PASSPHRASE="$NPASS" -- || serve_failed "$W/serve3b.out"
curl -fsS -o "$W/ncacert1b.p7" "$H/scep?operation=GetCACert" || die "GetCACert of the issuing CA after a restart"
check "an issuing CA (name constraints) gives the same RA certificate after a restart" \
	cmp -s "$W/ncacert.p7" "$W/ncacert1b.p7"
is "... and made no other" "$(sqlite3 "$NI/mica.db" "SELECT count(*) FROM scep_ra")" 1
nm -d "$NI" renew-ca --new-key --csr-out "$W/next.csr" >/dev/null 2>&1 || die "renew-ca --new-key"
nextca
is "a rollover begun (a new key, no certificate yet): still 404" "$NEXT" "404 application/json"
check "... and not offered" sh -c "! curl -fsS '$H/scep?operation=GetCACaps' | grep -qx GetNextCACert"
nm -d "$NR" sign-ca --csr "$W/next.csr" --out "$W/next.crt" >/dev/null 2>&1 || die "sign-ca the next"
check "install-ca of the next certificate while serve runs" nm -d "$NI" install-ca --cert "$W/next.crt"
check "then GetCACaps offers GetNextCACert" offers_next
check "... at the NDES path too" offers_next /certsrv/mscep/mscep.dll
nextca
is "GetNextCACert: 200 application/x-x509-next-ca-cert" "$NEXT" "200 application/x-x509-next-ca-cert"
cp "$W/next.p7" "$W/next1.p7"
nextca /certsrv/mscep/mscep.dll
is "... at the NDES path too" "$NEXT" "200 application/x-x509-next-ca-cert"
check "openssl cms -verify (signature, -noverify) accepts it" \
	openssl cms -verify -inform DER -in "$W/next1.p7" -noverify -binary \
	-out "$W/next-content.der" -signer "$W/next-signer.pem"
check "its signer chains to the root through the current issuing CA (openssl verify)" \
	openssl verify -CAfile "$W/nroot.pem" -untrusted "$W/ni.crt" "$W/next-signer.pem"
check "its signer is the RA certificate GetCACert serves" \
	cmp -s <(openssl x509 -in "$W/next-signer.pem" -outform der) <(openssl x509 -in "$W/nra.pem" -outform der)
openssl pkcs7 -inform der -in "$W/next-content.der" -print_certs -out "$W/next-certs.pem" 2>/dev/null
is "its content is a certs-only PKCS#7 of one certificate" "$(grep -c 'BEGIN CERT' "$W/next-certs.pem")" 1
check "... the certificate the root signed for the rollover" \
	cmp -s <(openssl x509 -in "$W/next-certs.pem" -outform der) <(openssl x509 -in "$W/next.crt" -outform der)
nm -d "$NI" export-chain --out "$W/nexport.pem" >/dev/null 2>&1
check "... and what 'mica export-chain' now gives as the CA certificate" \
	cmp -s <(openssl x509 -in "$W/next-certs.pem" -outform der) <(openssl x509 -in "$W/nexport.pem" -outform der)
check "python (scep_msg.py nextca, cryptography): the RA's signature, the digest, one certificate" \
	sh -c "$TOOL nextca '$W/next1.p7' --ra '$W/nra.pem' --out '$W/next-py.pem' | grep -qx 'certs=1 attrs=contentType,messageDigest'"
check "... the same certificate" \
	cmp -s <(openssl x509 -in "$W/next-py.pem" -outform der) <(openssl x509 -in "$W/next.crt" -outform der)
curl -fsS -o "$W/ncacert2.p7" "$H/scep?operation=GetCACert"
check "GetCACert is unchanged until the restart (the current CA and its RA)" cmp -s "$W/ncacert.p7" "$W/ncacert2.p7"
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0
serve_start "$W/serve4.out" "$NI" MICA_PASSPHRASE="$NPASS" -- || serve_failed "$W/serve4.out"
check "after the restart (the next certificate current): GetNextCACert not offered" \
	sh -c "! curl -fsS '$H/scep?operation=GetCACaps' | grep -qx GetNextCACert"
nextca
is "... and 404" "$NEXT" "404 application/json"
curl -fsS -o "$W/ncacert3.p7" "$H/scep?operation=GetCACert"
openssl pkcs7 -inform der -in "$W/ncacert3.p7" -print_certs -out "$W/ncacert3.pem" 2>/dev/null
awk -v out="$W/nd" '/BEGIN/{n++} {print > (out n ".pem")}' "$W/ncacert3.pem"
has_next=0
for f in "$W"/nd[0-9]*.pem; do
	cmp -s <(openssl x509 -in "$f" -outform der) <(openssl x509 -in "$W/next.crt" -outform der) && has_next=1
done
is "GetCACert now carries the certificate GetNextCACert announced" "$has_next" 1
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0
finish
