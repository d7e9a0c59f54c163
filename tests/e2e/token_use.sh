#!/bin/bash
# End-to-end: what an enrollment token issued, found again ('mica list
# --token ID', GET /api/v1/certificates?token=ID) - what an admin needs
# when a token leaked: revoke it, then revoke what it issued. Checked:
#   - the listing holds exactly the certificates issued with the token's
#     uses (not another token's, not an admin's), newest first, and pages
#     by cursor; the other filters (name, status, expiring) narrow it;
#   - an id in capitals is the same id; an unknown id is exit 5 / 404
#     token_not_found (a typo, not a token that issued nothing); a whole
#     token (mica_ID_SECRET) is refused and its secret never repeated;
#     an id that is no hexadecimal is exit 2 / 400;
#   - the leak recipe of 'mica list --help' revokes what the token issued
#     and nothing else, as OpenSSL reads the CRL.
#
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/token_use.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3

unset MICA_PASSPHRASE   # the first start writes DIR/passphrase
W=$(mktmp)
D=$W/data
serve_ports

# submit NAME AUTH: NAME.contoso.test issued with the bearer token AUTH;
# its serial in $W/NAME.serial.
submit() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$W/$1.key" -subj "/CN=$1.contoso.test" \
		-addext "subjectAltName=DNS:$1.contoso.test" -out "$W/$1.csr" 2>/dev/null ||
		die "openssl req"
	python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' \
		"$W/$1.csr" > "$W/$1.json"
	call POST "$S/api/v1/requests" -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/json' --data-binary @"$W/$1.json"
	[ "$CODE" = 201 ] || die "issue $1 ($CODE: $(cat "$W/body"))"
	json_get "$W/body" serial > "$W/$1.serial"
}
ser() { cat "$W/$1.serial"; }

# serials FILE: the serials of a JSON listing (an array, or the API's
# object), one line, in order.
serials() {
	python3 - "$1" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
if isinstance(v, dict):
    v = v["certificates"]
print(" ".join(c["serial"] for c in v))
PY
}

# token NAME USES: an enrollment token; its secret in $NAME, its id in
# ${NAME}_ID.
token() {
	"$MICA" -d "$D" token create --enroll --uses "$2" > "$W/tok.out" 2>/dev/null ||
		die "token create"
	local t
	t=$(head -1 "$W/tok.out")
	case $t in mica_*_*) ;; *) die "no token printed: $t" ;; esac
	printf -v "$1" '%s' "$t"
	t=${t#mica_}
	printf -v "${1}_ID" '%s' "${t%%_*}"
}

serve_start "$W/serve.out" "$D" -- --domain contoso.test || serve_failed "$W/serve.out"
serve_facts "$W/serve.out" "$W"
ADMH=(-H "Authorization: Bearer $ADM")

token T1 5
token T2 5
submit a "$T1"
submit b "$T1"
submit c "$T2"
submit d "$ADM"
submit e "$T1"

echo "# what a token issued"
"$MICA" -d "$D" list --token "$T1_ID" --json > "$W/l.json" 2>"$W/l.err" || fail "list --token: $(cat "$W/l.err")"
is "list --token: the token's certificates, newest first" "$(serials "$W/l.json")" "$(ser e) $(ser b) $(ser a)"
"$MICA" -d "$D" list --token "$T2_ID" --json > "$W/l.json" 2>/dev/null
is "... another token's, its own" "$(serials "$W/l.json")" "$(ser c)"
"$MICA" -d "$D" list --token "$(echo "$T1_ID" | tr a-f A-F)" --json > "$W/l.json" 2>/dev/null
is "... the id in capitals is the same id" "$(serials "$W/l.json")" "$(ser e) $(ser b) $(ser a)"
"$MICA" -d "$D" list --token "$T1_ID" > "$W/l.txt" 2>/dev/null
grep -q "a.contoso.test" "$W/l.txt" && ! grep -q "d.contoso.test\|c.contoso.test" "$W/l.txt" &&
	ok "... as a table too" || fail "list --token table: $(cat "$W/l.txt")"
"$MICA" -d "$D" list --token "$T1_ID" --name b.contoso.test --json > "$W/l.json" 2>/dev/null
is "... with --name: that name's" "$(serials "$W/l.json")" "$(ser b)"
"$MICA" -d "$D" list --token "$T1_ID" --name "c*" --json > "$W/l.json" 2>/dev/null
is "... with --name of another token's name: none" "$(serials "$W/l.json")" ""
"$MICA" -d "$D" list --token "$T1_ID" --expiring-days 3650 --json > "$W/l.json" 2>/dev/null
is "... with --expiring-days: soonest expiry first" "$(serials "$W/l.json")" "$(ser a) $(ser b) $(ser e)"

call GET "$S/api/v1/certificates?token=$T1_ID&limit=2" "${ADMH[@]}"
is "GET ?token=: 200" "$CODE" 200
is "... a page of the token's certificates" "$(serials "$W/body")" "$(ser e) $(ser b)"
CUR=$(json_get "$W/body" next_cursor)
call GET "$S/api/v1/certificates?token=$T1_ID&limit=2&cursor=$CUR" "${ADMH[@]}"
is "... and the next page from its cursor" "$(serials "$W/body") next=$(json_get "$W/body" next_cursor)" "$(ser a) next="
call GET "$S/api/v1/certificates?token=$T1_ID&expiring_days=3650&limit=2" "${ADMH[@]}"
CUR=$(json_get "$W/body" next_cursor)
call GET "$S/api/v1/certificates?token=$T1_ID&expiring_days=3650&limit=2&cursor=$CUR" "${ADMH[@]}"
is "... pages in the expiry order too" "$(serials "$W/body")" "$(ser e)"
call GET "$S/api/v1/certificates?token=$T1_ID"
is "... for admins only (no token: 401)" "$CODE" 401
call GET "$S/api/v1/certificates?token=$T1_ID" -H "Authorization: Bearer $T2"
is "... (an enrollment token: 403)" "$CODE" 403

echo "# ids that name no token"
expect_rc "list --token of an unknown id: exit 5" 5 "$MICA" -d "$D" list --token 0123456789abcdef
grep -q "no token has this id" "$TMP/rc.err" && ok "... said so" || fail "unknown id: $(cat "$TMP/rc.err")"
call GET "$S/api/v1/certificates?token=0123456789abcdef" "${ADMH[@]}"
is "GET ?token= an unknown id: 404" "$CODE" 404
is "... token_not_found" "$(json_get "$W/body" error)" token_not_found
# An admin token's certificates name no token: its id is refused, not
# answered with an empty list that reads as "it issued nothing".
ADM_ID=${ADM#mica_}
ADM_ID=${ADM_ID%%_*}
expect_rc "list --token of an admin token's id: exit 3" 3 "$MICA" -d "$D" list --token "$ADM_ID"
grep -q "admin token.*audit trail as actor admin:$ADM_ID" "$TMP/rc.err" &&
	ok "... saying where its deeds are" || fail "admin id: $(cat "$TMP/rc.err")"
call GET "$S/api/v1/certificates?token=$ADM_ID" "${ADMH[@]}"
is "GET ?token= an admin token's id: 400 admin_token" "$CODE $(json_get "$W/body" error)" "400 admin_token"
SECRET=${T1##*_}
expect_rc "list --token with the whole token: exit 2" 2 "$MICA" -d "$D" list --token "$T1"
grep -q "not the token itself" "$TMP/rc.err" && ! grep -qF "$SECRET" "$TMP/rc.err" "$TMP/rc.out" &&
	ok "... told to give the id, its secret not repeated" || fail "whole token: $(cat "$TMP/rc.err")"
call GET "$S/api/v1/certificates?token=$T1" "${ADMH[@]}"
is "GET ?token= the whole token: 400" "$CODE" 400
! grep -qF "$SECRET" "$W/body" && grep -q "not the token itself" "$W/body" &&
	ok "... told to give the id, its secret not repeated" || fail "whole token over HTTP: $(cat "$W/body")"
expect_rc "list --token of no hexadecimal: exit 2" 2 "$MICA" -d "$D" list --token "x' OR 1=1"
for q in "token=" "token=xyz" "token=%00" "token=$(printf 'a%.0s' $(seq 1 64))"; do
	call GET "$S/api/v1/certificates?$q" "${ADMH[@]}"
	is "GET ?${q:0:16}...: 400" "$CODE" 400
done

echo "# the leak recipe of 'mica list --help'"
"$MICA" -d "$D" token revoke "$T1_ID" >/dev/null 2>&1 || fail "token revoke"
"$MICA" -d "$D" list --token "$T1_ID" --status valid --all --json 2>/dev/null |
	python3 -c 'import json,sys; [print(c["serial"]) for c in json.load(sys.stdin)]' |
	while read -r s; do "$MICA" -d "$D" revoke "$s" >/dev/null 2>&1 || echo "revoke $s failed"; done > "$W/rev.out"
[ ! -s "$W/rev.out" ] && ok "each certificate the token issued is revoked" || fail "$(cat "$W/rev.out")"
"$MICA" -d "$D" list --token "$T1_ID" --status valid --json > "$W/l.json" 2>/dev/null
is "... none of them valid any more" "$(serials "$W/l.json")" ""
"$MICA" -d "$D" list --token "$T1_ID" --status revoked --json > "$W/l.json" 2>/dev/null
is "... all of them revoked" "$(serials "$W/l.json")" "$(ser e) $(ser b) $(ser a)"
curl -fsS -o "$W/crl.der" "$H/crl" || fail "GET /crl"
openssl crl -inform der -in "$W/crl.der" -noout -text 2>/dev/null | sed -n 's/^ *Serial Number: //p' |
	tr 'A-F' 'a-f' | sort > "$W/crl.serials"
want=$(for n in a b e; do ser $n; echo; done | sort | tr '\n' ' ')
got=$(tr '\n' ' ' < "$W/crl.serials")
is "OpenSSL reads the CRL: the token's certificates, nothing else" "$got" "$want"
call POST "$S/api/v1/requests" -H "Authorization: Bearer $T1" \
	-H 'Content-Type: application/json' --data-binary @"$W/a.json"
is "the revoked token issues nothing more (401)" "$CODE" 401

serve_stop
finish
