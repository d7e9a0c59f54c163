#!/bin/bash
# Concurrency (issue 6, promise 5), against `mica serve` on loopback:
#   - 1,000 enrollments from 16 parallel clients (the API over loopback
#     HTTP, keep-alive connections; 16 keys, CSRs reused): 1,000 answers
#     201, 1,000 distinct serials, 1,000 certificate rows, each stored byte
#     for byte as received, all verify against the root (openssl verify);
#   - a one-use token raced by 16 clients, each from its own address, sent
#     at the same moment: exactly one 201, exactly one new certificate row;
#   - revocations racing CRL publication: one client revokes 50 certificates
#     one by one while another POSTs /api/v1/crl in a loop and fetches /crl
#     each time: the numbers published strictly increase, /crl never goes
#     back, every /crl fetched after a revocation was answered lists it, the
#     next CRL lists every revoked serial (openssl crl -text);
#   - eight admin clients publishing CRLs at once: no number given twice,
#     and in the store a greater number never has an earlier thisUpdate.
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3 sqlite3
SRC=${MICA_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TOOL="$SRC/tests/tools/enroll.py"
[ -f "$TOOL" ] || die "$TOOL not found"

N=${MICA_CONC_COUNT:-1000}
P=16
W=$(mktmp)
D=$W/data
DB=$D/mica.db
LOG=$W/mica.log

ms() { date +%s%3N; }

# lib.sh stops the daemon by PID at exit unless the test stopped (and reaped) it.
serve_ports
serve_start "$W/out" "$D" -- --log "$LOG" --threads 4 --domain contoso.test \
	--public-url "$H" || serve_failed "$W/out"
serve_facts "$W/out" "$W"
ET=$("$MICA" -d "$D" token create --enroll --uses -1 --comment "load test" 2>/dev/null) ||
	die "mica token create --enroll"

CSRS=()
for i in $(seq 1 $P); do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$W/k$i.key" -subj "/CN=b$i.load.contoso.test" \
		-addext "subjectAltName=DNS:b$i.load.contoso.test" \
		-outform der -out "$W/b$i.der" 2>/dev/null || die "openssl req"
	CSRS+=(--csr "$W/b$i.der")
done

# ---------------------------------------------------- 1,000 enrollments --

echo "# $N enrollments from $P parallel clients"
T0=$(ms)
if python3 "$TOOL" burst --url "$H" --token "$ET" "${CSRS[@]}" --count "$N" --parallel "$P" \
	--source 127.0.0.2 --out "$W/burst" > "$W/burst.out" 2>"$W/burst.err"; then
	ok "$N enrollments answered 201 ($(cat "$W/burst.out"))"
else
	fail "not every enrollment answered 201: $(cat "$W/burst.out")"; head -5 "$W/burst.err"
fi
echo "# burst took $(($(ms) - T0)) ms"
is "$N distinct serials received" "$(find "$W/burst" -name '*.pem' ! -name '*.dup*' | wc -l)" "$N"
is "$N certificate rows for those names" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM certificate WHERE names LIKE 'b%.load.contoso.test'")" "$N"
is "... all valid (none left issuing)" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM certificate WHERE names LIKE 'b%.load.contoso.test' AND status = 1")" "$N"
is "... with distinct serials" \
	"$(sqlite3 "$DB" "SELECT count(DISTINCT serial) FROM certificate WHERE names LIKE 'b%.load.contoso.test'")" "$N"
checkv "each certificate is stored byte for byte as received" \
	python3 "$TOOL" check --db "$DB" --min "$N" "$W/burst"
if find "$W/burst" -name '*.pem' -print0 | xargs -0 -r -n 250 openssl verify -CAfile "$W/root.pem" > "$W/verify.out" 2>&1 &&
	[ "$(grep -c ': OK$' "$W/verify.out")" = "$N" ]; then
	ok "all $N verify against the root (openssl verify)"
else
	fail "certificates that do not verify"; grep -v ': OK$' "$W/verify.out" | head -5
fi

# ------------------------------------------------------ one-use token --

echo "# a one-use token raced by $P clients"
RT=$("$MICA" -d "$D" token create --enroll --uses 1 --name race.contoso.test 2>/dev/null) ||
	die "mica token create --uses 1"
RCSRS=()
for i in $(seq 1 $P); do
	openssl req -new -key "$W/k$i.key" -subj "/CN=race.contoso.test" \
		-addext "subjectAltName=DNS:race.contoso.test" -outform der -out "$W/r$i.der" 2>/dev/null ||
		die "openssl req"
	RCSRS+=(--csr "$W/r$i.der")
done
BEFORE=$(sqlite3 "$DB" 'SELECT count(*) FROM certificate')
# Each racer connects from its own loopback address: 15 refusals from one
# address would (rightly) trip the failed-authentication limit.
python3 "$TOOL" race --url "$H" --token "$RT" "${RCSRS[@]}" --parallel "$P" --spread 5 \
	--out "$W/race" > "$W/race.codes" 2>"$W/race.err"
is "exactly one client got 201" "$(grep -c '^201$' "$W/race.codes")" 1
is "the $((P - 1)) others got 401" "$(grep -c '^401$' "$W/race.codes")" $((P - 1))
is "exactly one new certificate row" "$(($(sqlite3 "$DB" 'SELECT count(*) FROM certificate') - BEFORE))" 1
is "exactly one certificate for the raced name" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM certificate WHERE names = 'race.contoso.test'")" 1
checkv "it is the one the winner received" python3 "$TOOL" check --db "$DB" --min 1 "$W/race"
RID=${RT#mica_}
RID=${RID%%_*}
is "the token is used up" "$(sqlite3 "$DB" "SELECT uses_left FROM token WHERE id = '$RID'")" 0

# ------------------------------------ revocations racing publication --

echo "# 50 revocations racing CRL publication"
find "$W/burst" -name '*.pem' -printf '%f\n' | sed 's/\.pem$//' | sort | head -50 > "$W/revoke.list"
T0=$(ms)
if python3 "$TOOL" revrace --url "$H" --token "$ADM" --serials "$W/revoke.list" --out "$W/rr" \
	--root "$W/root.pem" --source 127.0.0.3 --pace 0.02 > "$W/rr.out" 2>"$W/rr.err"; then
	ok "published numbers strictly increase, /crl never goes back, every /crl after a revocation lists it ($(cat "$W/rr.out"))"
else
	fail "revocations racing CRL publication: $(cat "$W/rr.out")"; head -10 "$W/rr.err" | sed 's/^/    /'
fi
echo "# the race took $(($(ms) - T0)) ms"
INLIST=$(sed "s/.*/'&'/" "$W/revoke.list" | paste -sd,)
is "the 50 are stored as revoked" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM certificate WHERE status = 2 AND serial IN ($INLIST)")" 50
echo "# 8 admin clients publishing CRLs at once"
if python3 "$TOOL" publish --url "$H" --token "$ADM" --parallel 8 --seconds 3 --spread 6 \
	> "$W/pub.out" 2>"$W/pub.err"; then
	ok "concurrent publications: all 201, no number given twice ($(cat "$W/pub.out"))"
else
	fail "concurrent publications: $(cat "$W/pub.out")"; head -5 "$W/pub.err" | sed 's/^/    /'
fi
# RFC 5280 5.2.3: a CRL with a greater number supersedes; a relying party
# that orders CRLs by thisUpdate must reach the same verdict.
checkv "every /crl fetched during the race is the stored CRL of its number, numbers in order" \
	python3 "$TOOL" crls --db "$DB" --root "$W/root.pem" --ordered --files-only "$W/rr"
checkv "in the store a greater CRL number never has an earlier thisUpdate" \
	python3 "$TOOL" crls --db "$DB"

# The next CRL after the race, as any relying party reads it.
CODE=$(curl -s -o "$W/pub.json" -w '%{http_code}' -X POST --interface 127.0.0.3 \
	-H "Authorization: Bearer $ADM" "$H/api/v1/crl")
is "POST /api/v1/crl after the race" "$CODE" 201
LASTNUM=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["number"])' "$W/pub.json" 2>/dev/null)
# The daemon re-reads the stored CRL at most once a second: ask until it
# serves that number or a later one.
served_lastnum() {
	curl -s --max-time $((10 * TIME_SCALE)) -o "$W/next.der" "$H/crl"
	N2=$(openssl crl -inform der -in "$W/next.der" -noout -crlnumber 2>/dev/null | sed 's/.*=//')
	[ -n "$N2" ] && [ -n "$LASTNUM" ] && [ "$((N2))" -ge "$LASTNUM" ]
}
wait_for "/crl serves CRL number $LASTNUM" 60 served_lastnum
openssl crl -inform der -in "$W/next.der" -CAfile "$W/root.pem" -noout -text > "$W/next.txt" 2>&1
grep -q "verify OK" "$W/next.txt" && ok "the next CRL is signed by the root" || fail "next CRL signature"
tr -d ' ' < "$W/next.txt" | sed -n 's/^SerialNumber://p' | tr 'A-F' 'a-f' | sed 's/^\(00\)*//' | sort > "$W/next.list"
MISSING=$(sed 's/^\(00\)*//' "$W/revoke.list" | sort | comm -23 - "$W/next.list" | head -3 | tr '\n' ' ')
is "after the race, the next CRL lists every revoked serial" "$MISSING" ""

serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0
is "PRAGMA integrity_check" "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok
if grep -q -e "Sanitizer" -e "runtime error" "$W/out.err"; then
	fail "sanitizer reports"; grep -A5 -e "Sanitizer" -e "runtime error" "$W/out.err" | head -20
else
	ok "nothing on the daemon's stderr from sanitizers"
fi

finish
