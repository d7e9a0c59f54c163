#!/bin/bash
# End-to-end test of the holes a hostile review found (issue 9), each
# closed: the daemon on free loopback ports, driven with curl as an
# attacker would, and the command line beside it. The root fetched from
# /ca.crt is the only trust anchor (--cacert, never -k).
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3 sqlite3

W=$(mktmp)
D=$W/data
LOG=$W/mica.log
serve_ports     # HP, SP, H, S

# ------------------------------------------------------------ helpers --

# jget KEY: a top-level string or number member of the last reply (the
# daemon indents its JSON, one member per line) - without a python start
# per call, which costs seconds on a busy machine.
jget() {
	sed -n "s/^  \"$1\": //p" "$W/body" | head -1 | sed 's/,$//; s/^"//; s/"$//'
}

# expect DESCRIPTION STATUS [ERROR_CODE]
expect() {
	local d=$1 want=$2 code=${3:-} got
	got=$(jget error)
	if [ "$CODE" = "$want" ] && { [ -z "$code" ] || [ "$got" = "$code" ]; }; then
		ok "$d ($CODE${code:+ $code})"
	else
		fail "$d: got $CODE ${got}, wanted $want ${code}"
		head -c 400 "$W/body" | sed 's/^/    /'
		echo
	fi
}

# mkcsr NAME SUBJECT SAN [openssl req options...]: $W/NAME.key (a new
# P-256 key unless the options name one) and $W/NAME.csr (PEM).
mkcsr() {
	local name=$1 subj=$2 san=$3
	shift 3
	local k=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/$name.key")
	case " $* " in *" -key "*) k=() ;; esac
	openssl req -new "${k[@]}" -subj "$subj" -addext "subjectAltName=$san" \
		"$@" -out "$W/$name.csr" 2>/dev/null || die "openssl req $name"
}

# json_csr NAME [key=JSON...]: {"csr": PEM of NAME, key: value...} on stdout.
json_csr() {
	local f=$W/$1.csr kv extra=
	shift
	for kv in "$@"; do
		extra="$extra, \"${kv%%=*}\": ${kv#*=}"
	done
	printf '{"csr": "%s"%s}' "$(awk '{ printf "%s\\n", $0 }' "$f")" "$extra"
}

ADMH=()

# Refused command: exit code WANT, one line on stderr, database unchanged.
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

# ------------------------------------------------------------ start-up --

echo "# start-up"
serve_start "$W/out1" "$D" -- --log "$LOG" --domain contoso.test --public-url "$H" ||
	serve_failed "$W/out1"
serve_facts "$W/out1" "$W"
ADMH=(-H "Authorization: Bearer $ADM")

# ------------------------------------------ 14: SHA-1 is a policy refusal --

echo "# a CSR signed with SHA-1 is refused by policy"
mkcsr sha1 /CN=sha1.contoso.test DNS:sha1.contoso.test -sha1
refused "mica issue refuses a SHA-1 CSR by policy" 4 \
	"$MICA" -d "$D" issue --csr "$W/sha1.csr" --out "$W/sha1.pem"
grep -q "SHA-256" "$TMP/ref.err" && ok "the message says what to use" || fail "message: $(cat "$TMP/ref.err")"
call POST "$S/api/v1/requests" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary "$(json_csr sha1)"
expect "the API refuses a SHA-1 CSR with 422" 422 weak_signature

# ------------------------------- 10: no controls or bidi in free text --

echo "# free text refuses controls, bidi overrides and invisible characters"
RLO=$(printf '\342\200\256')     # U+202E right-to-left override
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary "{\"kind\": \"enroll\", \"comment\": \"laptop ${RLO}gpj.exe\"}"
expect "a token comment with U+202E" 400 bad_text
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"kind": "enroll", "comment": "a\u2028b"}'
expect "a token comment with U+2028 (JSON escape)" 400 bad_text
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"kind": "enroll", "comment": "ad\u200bmin"}'
expect "a token comment with a zero-width space" 400 bad_text
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"kind": "enroll", "comment": "\ufeffbom"}'
expect "a token comment with a byte order mark" 400 bad_text
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"kind": "enroll", "comment": "a\u0085b"}'
expect "a token comment with a C1 control" 400 bad_text
ACC=$(python3 -c 'print("\u00e9" * 200)')
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary "{\"kind\": \"enroll\", \"comment\": \"$ACC\"}"
expect "a 200-character comment of 400 octets is within the limit" 201
is "it is stored as sent" "$(json_get "$W/body" comment)" "$ACC"  # (python: UTF-8)
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary "{\"kind\": \"enroll\", \"comment\": \"${ACC}e\"}"
expect "201 characters are too many" 400 bad_text
EMO=$(python3 -c 'print("\U0001F600" * 201)')
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary "{\"kind\": \"enroll\", \"comment\": \"$EMO\"}"
expect "201 emoji (804 octets): too many characters" 400 bad_text
grep -q "longer than 200 characters" "$W/body" && ok "... told the limit in characters" ||
	fail "201 emoji: $(cat "$W/body")"
refused "mica token create refuses a comment with U+202E" 3 \
	"$MICA" -d "$D" token create --enroll --comment "laptop ${RLO}gpj.exe"
# Blanks around a comment, or only blanks, would make two entries of the
# console's list look alike, or one look empty; a noncharacter is no text.
NTOK=$(sqlite3 "$D/mica.db" 'SELECT count(*) FROM token')
for c in ' laptop' 'laptop ' ' ' '\u3000' 'a\u00a0' 'a\ufffe'; do
	call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
		--data-binary "{\"kind\": \"enroll\", \"comment\": \"$c\"}"
	expect "a token comment \"$c\"" 400 bad_text
done
is "... none of them stored" "$(sqlite3 "$D/mica.db" 'SELECT count(*) FROM token')" "$NTOK"
refused "mica token create refuses a comment ending in a space" 3 \
	"$MICA" -d "$D" token create --enroll --comment "laptop "
refused "mica init refuses a CA name beginning with a space" 2 \
	"$MICA" -d "$W/blank-ca" init --name " Contoso Root CA" --root-only
[ ! -e "$W/blank-ca/mica.db" ] && ok "... and makes no CA" || fail "a CA was made"
mkcsr pend /CN=pend.contoso.test DNS:pend.contoso.test
call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary "$(json_csr pend)"
expect "an anonymous request waits" 202
PEND=$(jget id)
call POST "$S/api/v1/requests/$PEND/deny" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary "{\"reason\": \"no ${RLO}evil\"}"
expect "a deny reason with U+202E" 400 bad_text
call POST "$S/api/v1/requests/$PEND/deny" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"reason": "first\nsecond"}'
expect "a deny reason with a newline" 400 bad_text
call GET "$S/api/v1/requests/$PEND"
is "the request is still pending" "$(jget status)" pending
call POST "$S/api/v1/requests/$PEND/deny" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"reason": "pas un des n\u00f4tres"}'
expect "a plain deny reason" 200
# An action that takes no body refuses one it cannot read, as approve
# does, rather than act on a request the client meant otherwise.
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"kind": "enroll"}'
NBTOK=$(jget id)
call DELETE "$S/api/v1/tokens/$NBTOK" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"reason": "lost"}'
expect "DELETE a token with an unknown field in its body" 400 unknown_field
call DELETE "$S/api/v1/tokens/$NBTOK" "${ADMH[@]}" -H 'Content-Type: text/plain' \
	--data-binary 'revoke it'
expect "DELETE a token with a text body" 415 unsupported_media_type
is "the token is still active" "$(sqlite3 "$D/mica.db" "SELECT revoked FROM token WHERE id = '$NBTOK'")" 0
call DELETE "$S/api/v1/tokens/$NBTOK" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{}'
expect "DELETE a token with the body {}" 200
# A JSON null counts as absent (docs/API.md, Conventions), in the token
# limits as in every other field.
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' --data-binary \
	'{"kind": "enroll", "profile": null, "names": null, "uses": null, "expires_in": null, "comment": null}'
expect "an enrollment token whose optional fields are all null" 201
is "it never expires" "$(jget expires_at)" null
is "it has the default one use" "$(jget uses_left)" 1
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"kind": "admin", "uses": null}'
expect "an admin token with \"uses\": null" 201
call POST "$S/api/v1/acme/eab" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"names": null, "uses": null, "expires_in": null}'
expect "an EAB credential whose limits are null" 201
# Uses past the most a token may have: the answer says what that is (it
# said "a positive number" of a positive number).
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"kind": "enroll", "uses": 1000000001}'
expect "an enrollment token of 1000000001 uses" 400 bad_uses
case $(jget message) in *1000000000*) ok "the message names the most" ;;
*) fail "the message names the most: $(jget message)" ;; esac
"$MICA" -d "$D" token create --enroll --uses 1000000001 2>"$W/uses.err"
grep -q 1000000000 "$W/uses.err" && ok "so does mica token create" || fail "mica token create: $(cat "$W/uses.err")"
# A denial without a reason: the reply says the reason recorded, the one
# a later GET shows, not null (nor "" for an empty one).
for body in '' '{"reason": ""}'; do
	mkcsr nor /CN=nor.contoso.test DNS:nor.contoso.test
	call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary "$(json_csr nor)"
	NOR=$(jget id)
	call POST "$S/api/v1/requests/$NOR/deny" "${ADMH[@]}" -H 'Content-Type: application/json' \
		--data-binary "$body"
	DENIED=$(jget reason)
	call GET "$S/api/v1/requests/$NOR"
	is "deny with body '$body': the reply's reason is the recorded one" "$DENIED" "$(jget reason)"
done

# ------------- an email address in a token's scope keeps its case --

echo "# a token for alice@ does not certify Alice@ (RFC 5321 2.4)"
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"kind": "enroll", "profile": "email", "names": ["alice@contoso.test"], "uses": 2}'
MAILTOK=$(jget token)
NCERT=$(sqlite3 "$D/mica.db" "SELECT count(*) FROM certificate")
mkcsr mailcase /CN=Alice email:Alice@contoso.test
call POST "$S/api/v1/requests" -H "Authorization: Bearer $MAILTOK" \
	-H 'Content-Type: application/json' --data-binary "$(json_csr mailcase 'profile="email"')"
expect "another spelling of the local part is outside the scope" 422 name_not_in_scope
is "nothing was issued" "$(sqlite3 "$D/mica.db" "SELECT count(*) FROM certificate")" "$NCERT"
mkcsr mailok /CN=alice email:alice@CONTOSO.test
call POST "$S/api/v1/requests" -H "Authorization: Bearer $MAILTOK" \
	-H 'Content-Type: application/json' --data-binary "$(json_csr mailok 'profile="email"')"
expect "the domain matches in any case" 201

# ------------------------- 2: a compromised key is never certified again --

echo "# a key revoked for keyCompromise is never certified again"
mkcsr kc1 /CN=kc1.contoso.test DNS:kc1.contoso.test
mkcsr kc2 /CN=kc2.contoso.test DNS:kc2.contoso.test -key "$W/kc1.key"
mkcsr kc3 /CN=kc3.contoso.test DNS:kc3.contoso.test -key "$W/kc1.key"
check "issue a certificate for key K" "$MICA" -d "$D" issue --csr "$W/kc1.csr" --out "$W/kc1.pem"
check "issue a second certificate for key K" "$MICA" -d "$D" issue --csr "$W/kc2.csr" --out "$W/kc2.pem"
KC1=$(openssl x509 -in "$W/kc1.pem" -noout -serial | sed 's/^serial=//')
KC2=$(openssl x509 -in "$W/kc2.pem" -noout -serial | sed 's/^serial=//')
call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary "$(json_csr kc3)"
expect "an anonymous request for key K waits" 202
KCREQ=$(jget id)
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"kind": "enroll", "uses": 1}'
KCTOK=$(jget token)
call POST "$S/api/v1/certificates/$KC1/revoke" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"reason": "keyCompromise"}'
expect "revoke the first for keyCompromise" 200
refused "mica issue refuses key K" 4 "$MICA" -d "$D" issue --csr "$W/kc3.csr" --out "$W/x.pem"
grep -q "key compromise" "$TMP/ref.err" && ok "the message says why" || fail "message: $(cat "$TMP/ref.err")"
refused "mica renew of K's other certificate (stored key) is refused" 4 "$MICA" -d "$D" renew "$KC2"
refused "mica renew of K's other certificate with K's CSR is refused" 4 \
	"$MICA" -d "$D" renew "$KC2" --csr "$W/kc3.csr"
call POST "$S/api/v1/requests" -H "Authorization: Bearer $KCTOK" -H 'Content-Type: application/json' \
	--data-binary "$(json_csr kc3)"
expect "an enrollment token for key K" 422 key_compromised
call GET "$S/api/v1/tokens" "${ADMH[@]}"
is "the token's use is kept" "$(python3 -c 'import json,sys; print([t["uses_left"] for t in json.load(open(sys.argv[1]))["tokens"] if sys.argv[2].startswith("mica_"+t["id"]+"_")][0])' "$W/body" "$KCTOK")" 1
call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary "$(json_csr kc3)"
expect "an anonymous request for key K" 422 key_compromised
call POST "$S/api/v1/requests/$KCREQ/approve" "${ADMH[@]}"
expect "the request made before cannot be approved" 422 key_compromised
call POST "$S/api/v1/certificates/$KC2/renew" "${ADMH[@]}"
expect "an admin renewal of K's other certificate" 422 key_compromised
KCN=$(sqlite3 "$D/mica.db" "SELECT count(*) FROM certificate WHERE spki_sha256 = (SELECT spki_sha256 FROM certificate WHERE serial = lower('$KC1'))")
is "key K has its two certificates, no more" "$KCN" 2
call POST "$S/api/v1/requests/$KCREQ/deny" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"reason": "key compromised"}'
expect "the pending request is still there for an admin to deny" 200

# ------------------ 1, 3: a copied CSR neither renews nor revokes others' --

echo "# a copied CSR does not renew, nor revoke, someone else's certificate"
call POST "$S/api/v1/tokens" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary '{"kind": "enroll", "names": ["*.victim.contoso.test"], "uses": 5}'
VTOK=$(jget token)
mkcsr victim /CN=www.victim.contoso.test DNS:www.victim.contoso.test
call POST "$S/api/v1/requests" -H "Authorization: Bearer $VTOK" -H 'Content-Type: application/json' \
	--data-binary "$(json_csr victim)"
expect "the victim enrolls with its token" 201
VSER=$(jget serial)
ncert() { sqlite3 "$D/mica.db" "SELECT count(*) FROM certificate"; }
vstatus() { sqlite3 "$D/mica.db" "SELECT status FROM certificate WHERE serial = '$VSER'"; }
N0=$(ncert)
# The attacker holds only a copy of the victim's CSR (CSRs are not secret).
call POST "$S/api/v1/certificates/$VSER/renew" -H 'Content-Type: application/json' \
	--data-binary "$(json_csr victim supersede=true)"
expect "the copied CSR with supersede, no token" 401 proof_required
call POST "$S/api/v1/certificates/$VSER/renew?supersede=true" -H 'Content-Type: application/pkcs10' \
	--data-binary @"$W/victim.csr"
expect "the same as a raw CSR" 401 proof_required
call POST "$S/api/v1/certificates/$VSER/renew" -H 'Content-Type: application/json' \
	--data-binary "$(json_csr victim)"
expect "the copied CSR without supersede" 401 proof_required
call POST "$S/api/v1/certificates/$VSER/renew" -H "Authorization: Bearer $VTOK" \
	-H 'Content-Type: application/json' --data-binary "$(json_csr victim supersede=true)"
expect "the copied CSR with supersede and an enrollment token" 403 proof_required
is "the victim's certificate is still valid" "$(vstatus)" 1
is "nothing was issued" "$(ncert)" "$N0"
sqlite3 "$D/mica.db" "SELECT action FROM audit WHERE target = '$VSER'" | grep -q revoke &&
	fail "a revocation was audited" || ok "no revocation was audited"

# The holder of the key proves it freshly, as docs/API.md shows.
call POST "$S/api/v1/certificates/$VSER/renew-challenge"
expect "anyone may ask for a renewal challenge" 200
NONCE=$(jget challenge)
case $NONCE in
[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]*) ok "the challenge is a hex nonce" ;;
*) fail "challenge: $NONCE" ;;
esac
# (expires_in counts from when the reply is made: a loaded machine may
# take a second or more to get there.)
LIFE=$(jget expires_in)
[ "${LIFE:-0}" -ge 590 ] && [ "$LIFE" -le 600 ] &&
	ok "it lives 10 minutes ($LIFE s left)" || fail "expires_in: '$LIFE', wanted 590..600"
printf '%s\n' "[req]" "prompt = no" "distinguished_name = dn" "attributes = req_attributes" \
	"[dn]" "CN = www.victim.contoso.test" "[req_attributes]" "challengePassword = $NONCE" \
	> "$W/renew.cnf"
openssl req -new -key "$W/victim.key" -config "$W/renew.cnf" -out "$W/renew.csr" 2>/dev/null ||
	die "openssl req -config renew.cnf"
# A nonce signed by another key proves nothing.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/other.key" \
	-config "$W/renew.cnf" -out "$W/other.csr" 2>/dev/null || die "openssl req other"
call POST "$S/api/v1/certificates/$VSER/renew" -H 'Content-Type: application/json' \
	--data-binary "$(json_csr other supersede=true)"
expect "the nonce signed by another key" 401 token_required
call POST "$S/api/v1/certificates/$VSER/renew" -H 'Content-Type: application/json' \
	--data-binary "$(json_csr renew supersede=true)"
expect "the key's holder renews and supersedes with the fresh proof" 201
VSER2=$(jget serial)
is "the old certificate is revoked" "$(vstatus)" 2
sqlite3 "$D/mica.db" "SELECT actor || ' ' || action || ' ' || detail FROM audit WHERE target = '$VSER'" > "$W/aud"
grep -q "^anon@127.0.0.1 cert.revoke superseded" "$W/aud" &&
	ok "the supersede is audited as a revocation with its principal" ||
	{ fail "audit of the supersede"; sed 's/^/    /' "$W/aud"; }
curl -s -o "$W/crl.der" "$H/crl"
openssl crl -inform der -in "$W/crl.der" -noout -text | tr -d ' ' | grep -qi "^SerialNumber:$VSER\$" &&
	ok "the CRL lists it" || fail "the CRL does not list $VSER"
N1=$(ncert)
call POST "$S/api/v1/certificates/$VSER2/renew" -H 'Content-Type: application/json' \
	--data-binary "$(json_csr renew supersede=true)"
expect "the used renewal CSR against the new certificate" 403 bad_proof
call POST "$S/api/v1/certificates/$VSER/renew" -H 'Content-Type: application/json' \
	--data-binary "$(json_csr renew)"
expect "the used renewal CSR against the revoked one" 409 revoked
call POST "$S/api/v1/certificates/$VSER2/renew-challenge"
call POST "$S/api/v1/certificates/$VSER2/renew" -H 'Content-Type: application/json' \
	--data-binary "$(json_csr renew)"
expect "an old nonce, with a new one outstanding" 403 bad_proof
is "nothing more was issued" "$(ncert)" "$N1"
call POST "$S/api/v1/certificates/$VSER/renew-challenge"
expect "no challenge for a revoked certificate" 409 revoked
call POST "$S/api/v1/certificates/0123456789abcdef/renew-challenge"
expect "no challenge for an unknown serial" 404
call POST "$S/api/v1/certificates/$VSER2/renew-challenge" -H 'Content-Type: application/json' \
	--data-binary '{"x": 1}'
expect "a challenge takes no body" 400 unknown_field
grep -q "$NONCE" "$LOG" && fail "the nonce is in the log" || ok "the nonce is not in the log"
sqlite3 "$D/mica.db" .dump | grep -qi "$NONCE" && fail "the nonce is in the store" ||
	ok "the store keeps no nonce, only hashes"

# ------------------------------ 6: one client cannot fill the queue --

echo "# the pending queue: one CSR waits once, one client holds at most 20 places"
pending_from() { sqlite3 "$D/mica.db" "SELECT count(*) FROM request WHERE status = 0 AND client = '$1'"; }
is "no request from this address waits yet" "$(pending_from 127.0.0.1)" 0
mkcsr flood /CN=flood.contoso.test DNS:flood.contoso.test
openssl req -in "$W/flood.csr" -outform der -out "$W/flood.der" 2>/dev/null
call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary "$(json_csr flood)"
expect "a first anonymous request" 202
FID=$(jget id)
same=0
for i in $(seq 1 30); do
	if [ $((i % 2)) = 0 ]; then
		call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary "$(json_csr flood)"
	else
		call POST "$S/api/v1/requests" -H 'Content-Type: application/pkcs10' --data-binary @"$W/flood.der"
	fi
	[ "$CODE" = 202 ] && [ "$(jget id)" = "$FID" ] && same=$((same + 1))
done
is "30 resubmissions of that CSR (PEM or DER) answer 202 with the same id" "$same" 30
is "... and queue nothing more" "$(pending_from 127.0.0.1)" 1
for i in $(seq 2 20); do
	mkcsr "fl$i" "/CN=fl$i.contoso.test" "DNS:fl$i.contoso.test"
	call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary "$(json_csr "fl$i")"
	[ "$CODE" = 202 ] || fail "distinct request $i: $CODE"
done
is "20 distinct requests wait" "$(pending_from 127.0.0.1)" 20
mkcsr fl21 /CN=fl21.contoso.test DNS:fl21.contoso.test
call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary "$(json_csr fl21)"
expect "the 21st from one address" 429 too_many_pending_from_client
is "... is not queued" "$(pending_from 127.0.0.1)" 20
call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary "$(json_csr flood)"
expect "a CSR already waiting still answers" 202
call POST "$S/api/v1/requests" "${ADMH[@]}" -H 'Content-Type: application/json' --data-binary "$(json_csr fl21)"
expect "an admin still issues at once" 201
call POST "$S/api/v1/requests" "${ADMH[@]}" -H 'Content-Type: application/json' \
	--data-binary "$(json_csr fl21 'names=[]')"
expect "an admin's empty \"names\" (an empty variable) is refused, not the CSR's names" 400 bad_field
call POST "$S/api/v1/requests/$FID/deny" "${ADMH[@]}"
expect "a decision" 200
call POST "$S/api/v1/requests" -H 'Content-Type: application/json' --data-binary "$(json_csr flood)"
expect "gives the address its place back: the decided CSR is a new request" 202
[ "$(jget id)" != "$FID" ] && ok "with a new id" || fail "the denied request's id came back"

# ------------------- 12: a data directory open to others is refused --

echo "# a data directory or store open to others: refused at open, noticed while serving"
mkcsr perm /CN=perm.contoso.test DNS:perm.contoso.test
chmod 750 "$D"
# Nothing asks the daemon to look: its timer (a minute) notices.
wait_for "the timer's permission check" 90 grep -q "refusing to issue until it is fixed" "$LOG" || :
grep -q "accessible by group or others (mode 0750); run chmod 700 $D; refusing to issue" "$LOG" &&
	ok "the daemon's timer notices the loosened directory and logs an error" ||
	fail "no log line within 90 s: $(tail -3 "$LOG")"
call POST "$S/api/v1/requests" "${ADMH[@]}" -H 'Content-Type: application/json' --data-binary "$(json_csr perm)"
expect "issuance is refused" 503 insecure_store
CODE=$(curl -s -o "$W/body" -w '%{http_code}' "$H/healthz")
expect "/healthz says so" 503 insecure_store
refused "mica list refuses the directory" 9 "$MICA" -d "$D" list
grep -q "chmod 700" "$TMP/ref.err" && ok "... saying chmod 700" || fail "message: $(cat "$TMP/ref.err")"
chmod 700 "$D"
CODE=$(curl -s -o "$W/body" -w '%{http_code}' "$H/healthz")
expect "fixed: /healthz answers 200 again" 200
call POST "$S/api/v1/requests" "${ADMH[@]}" -H 'Content-Type: application/json' --data-binary "$(json_csr perm)"
expect "and issuance works again" 201
grep -q "private again; issuing again" "$LOG" && ok "the fix is logged" || fail "no log line for the fix"
chmod 644 "$D/mica.db"
CODE=$(curl -s -o "$W/body" -w '%{http_code}' "$H/healthz")
expect "a database file made world-readable: /healthz" 503 insecure_store
call POST "$S/api/v1/requests" "${ADMH[@]}" -H 'Content-Type: application/json' --data-binary "$(json_csr perm)"
expect "... and no issuance" 503 insecure_store
refused "mica list refuses the database" 9 "$MICA" -d "$D" list
chmod 600 "$D/mica.db"
CODE=$(curl -s -o "$W/body" -w '%{http_code}' "$H/healthz")
expect "fixed again" 200

echo "# a second name (hard link) of the store: refused at open, noticed while serving"
# SQLite finds the write-ahead log by the name it opened: a process
# writing through the other name would have a log of its own.
ln "$D/mica.db" "$W/second.db"
CODE=$(curl -s -o "$W/body" -w '%{http_code}' "$H/healthz")
expect "the daemon's /healthz" 503 store_linked
grep -q "$D" "$W/body" && fail "/healthz names the path: $(cat "$W/body")" || ok "... without naming the path"
grep -q "warning: the database file $D/mica.db has 2 names (hard links)" "$LOG" &&
	ok "the log says which file" || fail "no log line: $(tail -2 "$LOG")"
call POST "$S/api/v1/requests" "${ADMH[@]}" -H 'Content-Type: application/json' --data-binary "$(json_csr perm)"
expect "the daemon's own writes go on (one log, its own)" 201
refused "mica list refuses the store (exit 8)" 8 "$MICA" -d "$D" list
grep -q "has 2 names (hard links).*mica backup" "$TMP/ref.err" && ok "... saying why and what to do" ||
	fail "message: $(cat "$TMP/ref.err")"
refused "mica crl refuses it too" 8 "$MICA" -d "$D" crl --out "$W/x.crl"
rm "$W/second.db"
CODE=$(curl -s -o "$W/body" -w '%{http_code}' "$H/healthz")
expect "the link removed: /healthz answers 200" 200

serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0

echo "# mica serve and mica init refuse a data directory open to others"
chmod 755 "$D"
serve_start "$W/out2" "$D" -- --log "$LOG" && { fail "mica serve started"; serve_stop; } ||
	is "mica serve refuses it (exit 9, forbidden)" "$SERVE_RC" 9
grep -q "run chmod 700" "$W/out2.err" && ok "... saying chmod 700" || fail "serve stderr: $(cat "$W/out2.err")"
chmod 700 "$D"
ln "$D/mica.db" "$W/second.db"
serve_start "$W/out3" "$D" -- --log "$LOG" && { fail "mica serve started on a hard-linked store"; serve_stop; } ||
	is "mica serve refuses a hard-linked store (exit 8)" "$SERVE_RC" 8
grep -q "hard links" "$W/out3.err" && ok "... saying so" || fail "serve stderr: $(cat "$W/out3.err")"
rm "$W/second.db"
chmod 755 "$D"
refused "mica crl refuses it" 9 "$MICA" -d "$D" crl --out "$W/x.crl"
chmod 700 "$D"
NEWD=$W/handmade
mkdir -m 755 "$NEWD"
expect_rc "mica init refuses a directory made with mode 0755" 9 \
	"$MICA" -d "$NEWD" init --name "Loose CA" --public-url http://ca.contoso.test:8080
[ ! -e "$NEWD/mica.db" ] && [ ! -e "$NEWD/passphrase" ] && ok "... and writes nothing into it" ||
	fail "init wrote into the loose directory"
chmod 700 "$NEWD"
check "mica init takes it once it is 0700" \
	"$MICA" -d "$NEWD" init --name "Tight CA" --public-url http://ca.contoso.test:8080
finish
