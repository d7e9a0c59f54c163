#!/bin/bash
# Promise 8 of issue 6, the CRL part: the daemon never serves an expired
# CRL. The daemon runs under libfaketime (LD_PRELOAD, FAKETIME="+N": its
# clock runs N seconds ahead; the monotonic clock is left alone) against a
# CA whose CRLs last one day (--crl-days 1):
#   A. started three days later, when the stored CRL has long expired:
#      'mica publish' before it writes that CRL with a warning naming it
#      (and none once a current one is stored); the daemon
#      publishes a fresh one before serving; /crl and /crl.pem carry
#      nextUpdate in the (fake) future, signed by the root; openssl verify
#      -crl_check accepts a certificate with it at the fake time;
#   B. started a few seconds before the stored CRL's nextUpdate, with every
#      signature failing (MICA_FAULT=sign:0), so it cannot publish: until
#      nextUpdate /crl serves the old CRL, from then on 503 crl_expired
#      (and /healthz 503), never the expired CRL;
#   C. the same with only the publication at start-up failing (its two
#      signatures: the CRL signed ahead of the transaction, then again in
#      it; sign:1,sign:2): at nextUpdate the daemon publishes on the spot,
#      and /crl goes on answering 200 with a current CRL.
#   D. the clock set back (an NTP correction, a VM's clock set right):
#      D1, by 20 minutes, against a CA that publishes deltas: a revocation
#      made then is on the next deltas, and each new CRL (complete or
#      delta) is dated no earlier than the one before (a higher cRLNumber
#      with an earlier thisUpdate is the older CRL to Windows CryptoAPI;
#      RFC 5280 5.1.2.4); openssl verify -use_deltas finds it revoked;
#      D2, by three hours, past what a CRL may be dated ahead: the next CRL
#      is dated now, with a warning; D3, a daemon started two days behind
#      the stored CRL publishes one dated at its own time rather than serve
#      one that its relying parties would take for not valid yet.
# Each answer is judged against the client's own fake clock read before the
# request: a 200 must carry nextUpdate after it.
# Without libfaketime, A falls back to ageing the stored CRL in the
# database (its next_update column, which is what the daemon goes by), and
# B and C are reported skipped (MICA_HOST_NO_FAKETIME=1 forces this);
# without the fault hook, B and C are reported skipped. scripts/setup test
# installs faketime and scripts/test builds the hook in: nothing is skipped.
#
# B and C start a daemon MARGIN seconds before nextUpdate. If it is not
# serving before nextUpdate (a busy machine started it slowly), that run
# proves nothing: it is stopped and started again with twice the margin.
# The watch then lasts until the daemon's clock has passed nextUpdate and
# what is checked has happened, with a deadline.
SRC=${MICA_SRCDIR:-$(dirname "$0")/../..}
. "$SRC/tests/e2e/lib.sh"
. "$SRC/tests/tools/host_lib.sh"

need curl openssl python3 sqlite3
T0=$(date +%s)
W=$(mktmp)
HOST_W=$W
FTLIB=$(faketime_lib)
[ -n "${MICA_HOST_NO_FAKETIME:-}" ] && FTLIB=   # to exercise the fallback
FAULTS=
fault_injection_built && FAULTS=1

TPL=$W/tpl
host_ca "$TPL" --crl-days 1
"$MICA" -d "$TPL" export-root --pem > "$W/root.pem" || die "export-root"
HP=$(free_port)
SP=$(free_port)
while [ "$SP" = "$HP" ]; do SP=$(free_port); done
H=http://127.0.0.1:$HP
OFF=0
fake_now() { echo $(($(date +%s) + OFF)); }
crl_field() { # crl_field FILE(DER) nextupdate|lastupdate|crlnumber
	local v
	v=$(openssl crl -inform der -in "$1" -noout "-$2" 2>/dev/null | sed 's/^[^=]*=//')
	case $2 in
	crlnumber) printf '%d' "$v" ;;
	*) date -u -d "$v" +%s ;;
	esac
}
# crl_verify_at WHEN ROOT CERT WHAT: openssl verify -crl_check at WHEN
# (seconds) accepts CERT under ROOT with the CRL in $W/crl.der.
crl_verify_at() {
	openssl crl -inform der -in "$W/crl.der" -out "$W/crl.pem" 2>/dev/null
	if openssl verify -attime "$1" -crl_check -CAfile "$2" -CRLfile "$W/crl.pem" "$3" \
		>"$W/v" 2>&1; then
		ok "$4"
	else
		fail "$4: $(tail -2 "$W/v" | tr '\n' ' ')"
	fi
}
stored_next() { host_sql "$1" 'SELECT next_update FROM crl ORDER BY number DESC LIMIT 1'; }
FT_ENV=()
ft_env() { # ft_env OFFSET: the environment that runs the daemon OFFSET s ahead (or behind)
	OFF=$1
	# A sanitizer build insists on its runtime coming first; libfaketime
	# only wraps time calls, so the order does not matter here.
	FT_ENV=("LD_PRELOAD=$FTLIB" "FAKETIME=$([ "$1" -lt 0 ] || echo +)$1" FAKETIME_DONT_FAKE_MONOTONIC=1
		"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
}

# ---------------------------------------------- A: long expired at start --

echo "# A: started three days after the last CRL (which lasted one day)"
D=$W/a
cp -a "$TPL" "$D"
N0=$(host_sql "$D" 'SELECT max(number) FROM crl')
if [ -n "$FTLIB" ]; then
	ft_env $((3 * 86400))
	echo "# libfaketime: $FTLIB"
else
	# Fallback: age the stored CRL instead of moving the clock.
	OFF=0
	FT_ENV=()
	host_sql "$D" "UPDATE crl SET this_update = strftime('%s','now') - 3 * 86400,
		next_update = strftime('%s','now') - 2 * 86400 WHERE number = $N0"
	echo "# no libfaketime: the stored CRL's dates are moved three days back instead"
fi
# Before it, 'mica publish' (which signs nothing) finds only that CRL in
# the store: it publishes it, as the store holds it, and says so - a
# warning naming the file, the CRL and when it expired, exit 0 as for
# every warning - judged by openssl at the fake time.
if [ -n "$FTLIB" ]; then
	env "${FT_ENV[@]}" "$MICA" -d "$D" publish "$W/pub.a" >/dev/null 2>"$W/pub.a.err"
	is "A: mica publish with only the expired CRL: exit 0" "$?" 0
	PN=$(crl_field "$W/pub.a/crl" nextupdate)
	[ -n "$PN" ] && [ "$PN" -le "$(fake_now)" ] &&
		ok "A: ... the crl it wrote has expired at the fake time (openssl: nextUpdate $(date -u -d "@$PN"))" ||
		fail "A: the published crl's nextUpdate $(date -u -d "@${PN:-0}") is not before the fake now"
	grep -qF "warning: $W/pub.a/crl, CRL $N0, expired at $(date -u -d "@${PN:-0}" +%Y-%m-%dT%H:%M:%SZ): relying parties refuse it; sign a new one ('mica crl'" "$W/pub.a.err" &&
		ok "A: ... and a warning says so, naming the file, the CRL and when it expired" ||
		fail "A: mica publish said: $(cat "$W/pub.a.err")"
else
	skip "A: mica publish warns of the expired CRL it publishes" "needs libfaketime (Debian: faketime)"
fi
TOK=$("$MICA" -d "$D" token create --enroll --uses 1 2>/dev/null)
START_MS=$(host_ms)
host_serve "$W/out.a" "$D" "${FT_ENV[@]}" -- --http "127.0.0.1:$HP" --https "127.0.0.1:$SP" \
	--threads 2 --log "$W/log.a" || { cat "$W/out.a.err"; die "mica serve did not start"; }
# B and C start a daemon some seconds before its CRL expires: leave it
# twice the time this start-up took, plus 4 s (at least 6 s).
MARGIN=$((2 * ($(host_ms) - START_MS) / 1000 + 4))
[ "$MARGIN" -ge 6 ] || MARGIN=6
NOW=$(fake_now)
CODE=$(curl -s -D "$W/hdr" -o "$W/crl.der" -w '%{http_code}' --max-time $((5 * TIME_SCALE)) "$H/crl")
is "/crl answers 200" "$CODE" 200
NEXT=$(crl_field "$W/crl.der" nextupdate)
LAST=$(crl_field "$W/crl.der" lastupdate)
NUM=$(crl_field "$W/crl.der" crlnumber)
[ -n "$NEXT" ] && [ "$NEXT" -gt "$NOW" ] && ok "nextUpdate is in the (fake) future: $(date -u -d "@$NEXT")" ||
	fail "nextUpdate $(date -u -d "@${NEXT:-0}") is not after the fake now $(date -u -d "@$NOW")"
# Five minutes before it, as a certificate's notBefore: a relying party
# whose clock is a little behind takes it too.
[ -n "$LAST" ] && [ $((LAST - (NOW - 300))) -le 5 ] && [ $((NOW - 300 - LAST)) -le 60 ] &&
	ok "thisUpdate is five minutes before the (fake) start time" || fail "thisUpdate $(date -u -d "@${LAST:-0}"), fake now $(date -u -d "@$NOW")"
[ "$NUM" -gt "$N0" ] && ok "a new CRL number ($N0 -> $NUM)" || fail "CRL number $NUM, stored was $N0"
openssl crl -inform der -in "$W/crl.der" -CAfile "$W/root.pem" -noout >"$W/v" 2>&1 && grep -q "verify OK" "$W/v" &&
	ok "the CRL is signed by the root" || fail "CRL signature: $(cat "$W/v")"
MAXAGE=$(tr -d '\r' < "$W/hdr" | sed -n 's/^Cache-Control: public, max-age=//Ip')
[ -n "$MAXAGE" ] && [ $((NOW + MAXAGE)) -le $((NEXT + 2)) ] &&
	ok "Cache-Control max-age=$MAXAGE does not reach past nextUpdate" || fail "Cache-Control: max-age=$MAXAGE"
curl -s -o "$W/crl.pem" --max-time $((5 * TIME_SCALE)) "$H/crl.pem"
openssl crl -in "$W/crl.pem" -outform der -out "$W/crl2.der" 2>/dev/null
cmp -s "$W/crl.der" "$W/crl2.der" && ok "/crl.pem is the same CRL" || fail "/crl.pem differs from /crl"
CODE=$(curl -s -o /dev/null -w '%{http_code}' --max-time $((5 * TIME_SCALE)) "$H/healthz")
is "/healthz answers 200" "$CODE" 200
[ "$(stored_next "$D")" = "$NEXT" ] && ok "the served CRL is the stored one" || fail "stored next_update $(stored_next "$D")"
host_csr a a.contoso.test
# Over plain HTTP (loopback): the daemon's own TLS certificate starts at
# its fake time, which curl, on the real clock, would find not yet valid.
host_enroll "$H" "$TOK" "$W/a.der"
is "an enrollment at the fake time" "$CODE" 201
json_get "$W/body" certificate > "$W/a.pem"
crl_verify_at "$(($(fake_now) + 60))" "$W/root.pem" "$W/a.pem" \
	"openssl verify -crl_check at the fake time accepts a certificate with this CRL"
host_stop
is "the daemon stops cleanly" "$HOST_RC" 0
# Once the daemon published a current CRL, 'mica publish' writes it, and
# warns of nothing.
env "${FT_ENV[@]}" "$MICA" -d "$D" publish "$W/pub.a" >/dev/null 2>"$W/pub.a2.err"
is "A: mica publish after the daemon's new CRL: exit 0" "$?" 0
PN=$(crl_field "$W/pub.a/crl" nextupdate)
[ -n "$PN" ] && [ "$PN" -gt "$(fake_now)" ] && ! grep -q "warning" "$W/pub.a2.err" &&
	ok "A: ... a current crl (nextUpdate $(date -u -d "@$PN")), no warning" ||
	fail "A: published nextUpdate $(date -u -d "@${PN:-0}"), it said: $(cat "$W/pub.a2.err")"

# ---------------------------------------- B and C: expiring while serving --

# poll_crl: one GET /crl, one line appended to $W/watch:
# "FAKE_NOW_BEFORE CODE NEXTUPDATE NUMBER ERROR".
poll_crl() {
	local now code next=- num=- err=-
	now=$(fake_now)
	code=$(curl -s -D "$W/whdr" -o "$W/w.der" -w '%{http_code}' --max-time $((30 * TIME_SCALE)) "$H/crl")
	if [ "$code" = 200 ]; then
		next=$(crl_field "$W/w.der" nextupdate)
		num=$(crl_field "$W/w.der" crlnumber)
	else
		err=$(json_get "$W/w.der" error)
		tr -d '\r' < "$W/whdr" | grep -qi '^Retry-After: [0-9]' || err="$err(no-Retry-After)"
	fi
	echo "$now $code ${next:-?} $num $err" >> "$W/watch"
}

# watch DONE: poll /crl every 0.3 s until the function DONE succeeds (it
# reads $W/watch), or until 60 s (times MICA_TEST_TIME_SCALE) after the
# daemon's clock passed OLD_NEXT.
watch() {
	local done=$1 end
	end=$((OLD_NEXT - OFF + 60 * TIME_SCALE))
	while [ "$(date +%s)" -lt "$end" ]; do
		"$done" && return 0
		poll_crl
		sleep 0.3
	done
	echo "# the watch ended at its deadline, $((60 * TIME_SCALE)) s after nextUpdate" >&2
}

# never_stale: every 200 carried a nextUpdate after the client's fake now.
never_stale() {
	local what=$1 bad
	bad=$(awk '$2 == 200 && !($3 > $1)' "$W/watch")
	if [ -z "$bad" ]; then
		ok "$what: every 200 carried a current CRL ($(grep -c ' 200 ' "$W/watch") answers)"
	else
		fail "$what: an expired CRL was served"; echo "$bad" | head -3 | sed 's/^/    /'
	fi
}

# start_expiring DIR FAULT: a copy of the template CA in DIR, and a daemon
# on it with MICA_FAULT=FAULT whose clock is MARGIN seconds before the
# stored CRL's nextUpdate and that served that CRL ($W/watch starts with
# that answer). A daemon
# that was not serving before nextUpdate is stopped and the whole is tried
# again with twice the margin (up to four times).
start_expiring() {
	local dir=$1 fault=$2 next try now code
	for try in 1 2 3 4; do
		rm -rf "$dir"
		cp -a "$TPL" "$dir"
		next=$(stored_next "$dir")
		ft_env $((next - $(date +%s) - MARGIN))
		host_serve "$W/out.$fault" "$dir" "${FT_ENV[@]}" "MICA_FAULT=$fault" -- \
			--http "127.0.0.1:$HP" --https none --threads 2 --log "$W/log.$fault" ||
			{ cat "$W/out.$fault.err"; die "mica serve did not start"; }
		OLD_NEXT=$next
		: > "$W/watch"
		poll_crl
		if awk -v t="$OLD_NEXT" '$2 == 200 && $3 == t {f = 1} END {exit !f}' "$W/watch"; then
			echo "# $fault: served the stored CRL $((OLD_NEXT - $(fake_now))) s before its nextUpdate (margin $MARGIN s)"
			return 0
		fi
		echo "# $fault: not serving before nextUpdate with a margin of $MARGIN s; again with $((2 * MARGIN)) s"
		host_stop
		MARGIN=$((2 * MARGIN))
	done
	die "$fault: the daemon never served before nextUpdate (last margin $((MARGIN / 2)) s)"
}

# b_done: the daemon's clock is 2 s past nextUpdate and it answered 503.
b_done() { awk -v t=$((OLD_NEXT + 2)) '$1 >= t && $2 == 503 {f = 1} END {exit !f}' "$W/watch"; }
# c_done: the daemon's clock is 2 s past nextUpdate and it served a newer CRL.
c_done() {
	awk -v t=$((OLD_NEXT + 2)) -v n="$N0" '$1 >= t && $2 == 200 && $4 > n {f = 1} END {exit !f}' "$W/watch"
}

if [ -z "$FTLIB" ] || [ -z "$FAULTS" ]; then
	why="needs libfaketime (Debian: faketime) and the fault hook (--enable-fault-injection)"
	skip "B: an expired CRL that cannot be renewed is never served" "$why"
	skip "C: an expiring CRL is republished on the spot" "$why"
else
	echo "# B: the CRL expires while serving and cannot be renewed (every signature fails)"
	D=$W/b
	start_expiring "$D" sign:0
	watch b_done
	never_stale "B"
	first503=$(awk '$2 == 503 {print NR; exit}' "$W/watch")
	last200=$(awk '$2 == 200 {n = NR} END {print n + 0}' "$W/watch")
	[ "$last200" -gt 0 ] && ok "B: before nextUpdate the stored CRL is served" || fail "B: no 200 before nextUpdate"
	if [ -n "$first503" ] && [ "$first503" -gt "$last200" ]; then
		ok "B: from nextUpdate on, 503: $(awk '$2 == 503 {print $5; exit}' "$W/watch")"
	else
		fail "B: no steady 503 after nextUpdate"; tail -3 "$W/watch" | sed 's/^/    /'
	fi
	bad=$(awk '$2 == 503 && $5 != "crl_expired"' "$W/watch")
	[ -z "$bad" ] && ok "B: each 503 says crl_expired, with Retry-After" || fail "B: 503s: $(echo "$bad" | head -2)"
	CODE=$(curl -s -o "$W/body" -w '%{http_code}' --max-time $((5 * TIME_SCALE)) "$H/crl.pem")
	is "B: /crl.pem answers 503 too" "$CODE" 503
	CODE=$(curl -s -o "$W/body" -w '%{http_code}' --max-time $((5 * TIME_SCALE)) "$H/healthz")
	is "B: /healthz answers 503" "$CODE" 503
	grep -q "CRL has expired and cannot be republished" "$W/log.sign:0" &&
		ok "B: the log says why" || fail "B: nothing in the log"
	host_stop
	is "B: the daemon stops cleanly" "$HOST_RC" 0

	echo "# C: the CRL expires while serving; the first publication failed, the next succeeds"
	D=$W/c
	start_expiring "$D" sign:1,sign:2
	watch c_done
	never_stale "C"
	n503=$(awk '$2 != 200' "$W/watch" | wc -l)
	is "C: /crl always answered 200" "$n503" 0
	after=$(awk -v old="$OLD_NEXT" '$2 == 200 && $1 >= old {print $4; exit}' "$W/watch")
	[ -n "$after" ] && [ "$after" -gt "$N0" ] &&
		ok "C: after the old nextUpdate a new CRL (number $after) was served" ||
		fail "C: no new CRL after the old nextUpdate"
	grep -q "published CRL number" "$W/log.sign:1,sign:2" && ok "C: the log records the publication" ||
		fail "C: no publication in the log"
	host_stop
	is "C: the daemon stops cleanly" "$HOST_RC" 0
fi

# ------------------------------------------------ D: the clock set back --

crl_date() { crl_field "$1" lastupdate; }
if [ -z "$FTLIB" ]; then
	why="needs libfaketime (Debian: faketime)"
	skip "D1: a clock 20 minutes back keeps the CRLs in order" "$why"
	skip "D2: a clock 3 hours back dates the next CRL now" "$why"
	skip "D3: a daemon started behind its CRL publishes one" "$why"
else
	echo "# D1: the clock 20 minutes back, deltas every hour"
	D=$W/d
	# The CA made three days ago (by its clock), so that a daemon two
	# days behind (D3) still finds its certificate valid.
	FT_D=("LD_PRELOAD=$FTLIB" FAKETIME_DONT_FAKE_MONOTONIC=1
		"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
	env "${FT_D[@]}" FAKETIME=-3d "$MICA" -d "$D" init --name "Step Root CA" \
		--domain contoso.test --public-url http://127.0.0.1:1 >"$W/d.init" 2>&1 ||
		{ cat "$W/d.init"; die "init under libfaketime"; }
	"$MICA" -d "$D" export-root --pem > "$W/droot.pem" || die "export-root"
	"$MICA" -d "$D" crl --delta-hours 1 --out "$W/d0.crl" 2>/dev/null || die "crl --delta-hours"
	T_BASE=$(crl_date "$W/d0.crl")
	host_csr dstep dstep.contoso.test
	back() { env "${FT_D[@]}" FAKETIME="$1" "$MICA" -d "$D" "${@:2}"; }
	back -20m issue --csr "$W/dstep.der" --profile server --out "$W/dstep.pem" 2>/dev/null ||
		die "issue with the clock 20 minutes back"
	DS=$(openssl x509 -in "$W/dstep.pem" -noout -serial | sed 's/^serial=//')
	back -20m revoke "$DS" --reason keyCompromise 2>"$W/d.err" || die "revoke: $(cat "$W/d.err")"
	back -20m crl --delta --out "$W/d1.crl" 2>"$W/d.err" || die "crl --delta: $(cat "$W/d.err")"
	openssl crl -inform der -in "$W/d1.crl" -noout -text > "$W/d1.txt" 2>&1
	grep -q "Delta CRL Indicator" "$W/d1.txt" && grep -qi "Serial Number: *$DS" "$W/d1.txt" &&
		ok "D1: the next delta lists the certificate revoked after the clock went back" ||
		fail "D1: the delta does not list $DS (revoked at the earlier time)"
	D1=$(crl_date "$W/d1.crl")
	[ "$D1" -ge "$T_BASE" ] && ok "D1: the delta is dated no earlier than its complete CRL" ||
		fail "D1: the delta's thisUpdate $(date -u -d "@$D1") is before its complete CRL's $(date -u -d "@$T_BASE")"
	openssl crl -inform der -in "$W/d0.crl" -out "$W/d0.pem" 2>/dev/null
	openssl crl -inform der -in "$W/d1.crl" -out "$W/d1.pem" 2>/dev/null
	if openssl verify -attime "$((T_BASE + 60))" -crl_check -extended_crl -use_deltas -CAfile "$W/droot.pem" \
		-CRLfile "$W/d0.pem" -CRLfile "$W/d1.pem" "$W/dstep.pem" >"$W/v" 2>&1; then
		fail "D1: openssl verify -use_deltas with the complete CRL and its delta accepts the revoked certificate"
	else
		grep -q "certificate revoked" "$W/v" && ok "D1: openssl verify -use_deltas: certificate revoked" ||
			fail "D1: openssl verify: $(tail -1 "$W/v")"
	fi
	back -20m crl --out "$W/d2.crl" 2>/dev/null || die "crl with the clock 20 minutes back"
	D2=$(crl_date "$W/d2.crl")
	[ "$(crl_field "$W/d2.crl" crlnumber)" -gt "$(crl_field "$W/d1.crl" crlnumber)" ] &&
		[ "$D2" -ge "$D1" ] && [ "$D2" -ge "$T_BASE" ] &&
		ok "D1: a higher cRLNumber never has an earlier thisUpdate" ||
		fail "D1: CRL $(crl_field "$W/d2.crl" crlnumber) dated $(date -u -d "@$D2"), before $(date -u -d "@$T_BASE")"

	echo "# D2: the clock 3 hours back, past what a CRL may be dated ahead"
	NOW=$(( $(date +%s) - 3 * 3600 ))
	back -3h crl --out "$W/d4.crl" 2>"$W/d.err" || die "crl 3 hours back: $(cat "$W/d.err")"
	D4=$(crl_date "$W/d4.crl")
	[ $((D4 - (NOW - 300))) -le 5 ] && [ $((NOW - 300 - D4)) -le 60 ] &&
		ok "D2: the CRL is dated by the clock (five minutes before it)" || fail "D2: thisUpdate $(date -u -d "@$D4"), clock $(date -u -d "@$NOW")"
	grep -q "behind the last CRL's thisUpdate" "$W/d.err" && ok "D2: and says the clock is behind" ||
		fail "D2: no warning: $(cat "$W/d.err")"
	back -3h crl --delta --out "$W/d5.crl" 2>/dev/null
	[ "$(crl_date "$W/d5.crl")" -ge "$D4" ] && ok "D2: its delta is dated with it" ||
		fail "D2: the delta is dated $(date -u -d "@$(crl_date "$W/d5.crl")")"

	echo "# D3: a daemon started two days behind the stored CRL"
	"$MICA" -d "$D" crl 2>/dev/null || die "crl"
	N0=$(host_sql "$D" 'SELECT max(number) FROM crl')
	ft_env $((-2 * 86400))
	host_serve "$W/out.d" "$D" "${FT_ENV[@]}" -- --http "127.0.0.1:$HP" --https "127.0.0.1:$SP" \
		--threads 2 --log "$W/log.d" || { cat "$W/out.d.err"; die "mica serve did not start"; }
	NOW=$(fake_now)
	CODE=$(curl -s -o "$W/crl.der" -w '%{http_code}' --max-time $((5 * TIME_SCALE)) "$H/crl")
	is "D3: /crl answers 200" "$CODE" 200
	LAST=$(crl_field "$W/crl.der" lastupdate)
	[ -n "$LAST" ] && [ "$LAST" -le $((NOW + 5)) ] && [ "$(crl_field "$W/crl.der" crlnumber)" -gt "$N0" ] &&
		ok "D3: a new CRL dated at the daemon's time is served" ||
		fail "D3: served thisUpdate $(date -u -d "@${LAST:-0}"), the daemon's clock $(date -u -d "@$NOW")"
	crl_verify_at "$((NOW + 60))" "$W/droot.pem" "$W/droot.pem" \
		"D3: openssl verify -crl_check at the daemon's time takes the CRL"
	host_stop
	is "D3: the daemon stops cleanly" "$HOST_RC" 0
fi

# -------------------------------------------- E: the CA's own end --

echo "# E: a root that ends in 20 days, then (libfaketime) 25 days later"
E=$W/e
host_ca "$E" --days 20
"$MICA" -d "$E" list >/dev/null 2>"$W/e.list"
grep -Eq "^warning: the root CA certificate expires on .* \(in (19|20) days\): make a new root before then" "$W/e.list" &&
	ok "E: mica list warns of the root's end 20 days ahead" ||
	fail "E: mica list said: $(cat "$W/e.list")"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/e.key" \
	-subj /CN=e.contoso.test -addext "subjectAltName=DNS:e.contoso.test" -out "$W/e.csr" 2>/dev/null ||
	die "openssl req"
"$MICA" -d "$E" issue --csr "$W/e.csr" --out "$W/e.crt" 2>"$W/e.issue"
is "E: mica issue issues (exit 0) ..." "$?" 0
grep -Eq "^warning: the root CA certificate expires on .* \(in (19|20) days\)" "$W/e.issue" &&
	ok "E: ... and warns of the root's end, which the certificate cannot outlive" ||
	fail "E: mica issue said: $(cat "$W/e.issue")"
# Under an offline root with 20 days left, sign-ca cuts the issuing CA's
# certificate to the root's end: install-ca says so at once, and that a
# new root, not a renewal, is what helps.
ER=$W/er
EI=$W/ei
mkdir -m 700 "$ER" "$EI"
env -u MICA_PASSPHRASE "$MICA" -d "$ER" init --root-only --name "Short Root" --days 20 \
	>"$W/er.out" 2>&1 || { cat "$W/er.out" >&2; die "init --root-only"; }
env -u MICA_PASSPHRASE "$MICA" -d "$EI" init --subordinate --name "Short Issuing" \
	--domain contoso.test --public-url http://pki.contoso.test --csr-out "$W/ei.csr" \
	>"$W/ei.out" 2>&1 || { cat "$W/ei.out" >&2; die "init --subordinate"; }
"$MICA" -d "$ER" sign-ca --csr "$W/ei.csr" --permit contoso.test --out "$W/ei.crt" \
	>"$W/er.sign" 2>&1 || { cat "$W/er.sign" >&2; die "sign-ca"; }
"$MICA" -d "$ER" export-root --out "$W/er.pem" || die "export-root"
"$MICA" -d "$EI" install-ca --cert "$W/ei.crt" --chain "$W/er.pem" 2>"$W/ei.install"
is "E: install-ca of a certificate cut to a root 20 days from its end (exit 0) ..." "$?" 0
grep -Eq "^warning: the CA certificate, and the root above it \(CN=Short Root\) with it, expires on .* \(in (19|20) days\): have this CA certified under a new root" "$W/ei.install" &&
	ok "E: ... warns at once that only a new root helps" ||
	fail "E: install-ca said: $(cat "$W/ei.install")"
host_serve "$W/out.e" "$E" -- --http "127.0.0.1:$HP" --https "127.0.0.1:$SP" \
	--threads 2 --log "$W/log.e" || { cat "$W/out.e.err"; die "mica serve did not start"; }
CODE=$(curl -s -o "$W/e.health" -w '%{http_code}' --max-time $((5 * TIME_SCALE)) "$H/healthz")
is "E: /healthz answers 200 ..." "$CODE" 200
is "... with the warning" "$(json_get "$W/e.health" warning | grep -c 'root CA certificate expires on')" 1
grep -q "warning: the root CA certificate expires on" "$W/log.e" &&
	ok "E: the daemon's log says it at start" || fail "E: not in the daemon's log"
host_stop
if [ -z "$FTLIB" ]; then
	skip "E: an expired root is said, and /healthz is 503" "needs libfaketime (Debian: faketime)"
else
	ft_env $((25 * 86400))
	env "${FT_ENV[@]}" "$MICA" -d "$E" crl --out "$W/e.crl" 2>"$W/e.crl.err"
	is "E: 25 days later, mica crl still publishes (exit 0)" "$?" 0
	grep -q "^warning: the root CA certificate expired on .*: relying parties refuse what it signs; make a new root (README" "$W/e.crl.err" &&
		ok "E: ... and warns that the root expired" || fail "E: mica crl said: $(cat "$W/e.crl.err")"
	host_serve "$W/out.e2" "$E" "${FT_ENV[@]}" -- --http "127.0.0.1:$HP" --https none \
		--threads 2 --log "$W/log.e2" || { cat "$W/out.e2.err"; die "mica serve did not start"; }
	CODE=$(curl -s -o "$W/e2.health" -w '%{http_code}' --max-time $((5 * TIME_SCALE)) "$H/healthz")
	is "E: /healthz answers 503 ..." "$CODE" 503
	is "... ca_expired" "$(json_get "$W/e2.health" error)" ca_expired
	host_stop
fi

host_sanitizers "$W"/out.*.err
echo "# crl_expiry.sh took $(($(date +%s) - T0)) s"
finish
