#!/bin/bash
# Commands of the command line killed (SIGKILL) half-way, at the moments a
# test gate holds them (util/fault.h: MICA_TEST_*_GATE=PATH appends to
# PATH.reached, then waits until PATH exists): what is left must not pass
# for a finished result, nor keep the next command out, and the next
# command must say what to do. (crash.sh kills the daemon.)
#   - init killed once the store's schema is built, before the CA's row
#     is: no DIR/mica.db that holds no CA ("already holds a CA" to the
#     next init, "schema version N" to others): 'mica list' says there is
#     no CA, and init, given the passphrase file it wrote, makes the CA.
#   - backup FILE killed after the pages are copied, before the CRLs'
#     bodies are: FILE is not there (no copy that looks whole but lacks its
#     CRLs), and the next 'mica backup FILE' makes a good one.
#   - passphrase --new-file killed after the re-seal committed, before
#     DIR/passphrase was replaced: the next command that needs the key
#     finishes the job (DIR/passphrase gets the new passphrase, which
#     opens the key) instead of "wrong passphrase" for ever; one killed
#     before its commit leaves a copy of the new passphrase that the next
#     change removes.
#   - what a killed command leaves beside an --out FILE or in
#     mica.db-crls/ never keeps out a later command that gets the same
#     PID (as a container's commands do): 'mica crl --out FILE' with the
#     temporary files of a killed run of that PID in the way.
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need sqlite3
need_fault_hook "test gates"

W=$(mktmp)
D=$W/data

# killed_at VAR NAME COMMAND...: run COMMAND with the test gate VAR set,
# wait until it reaches the gate, kill -9 it; 0 if it got there.
killed_at() {
	local var=$1 name=$2 g=$W/gate.$2 pid
	shift 2
	rm -f "$g" "$g.reached"
	env "$var=$g" "$@" >"$W/$name.out" 2>"$W/$name.err" &
	pid=$!
	on_exit_kill "$pid"
	if ! wait_for "$name to reach its gate" 60 test -s "$g.reached"; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		on_exit_forget "$pid"
		return 1
	fi
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	on_exit_forget "$pid"
	return 0
}

# -------------------------------------------------------------- init --
I=$W/init
if killed_at MICA_TEST_INIT_GATE init "$MICA" -d "$I" init --name "Killed CA" \
	--domain contoso.test --public-url http://127.0.0.1:1; then
	ok "init killed with the schema built"
	[ ! -e "$I/mica.db" ] && ok "... leaves no $I/mica.db" ||
		fail "a killed init left $I/mica.db"
	expect_rc "... 'mica list' says there is no CA (exit 5)" 5 "$MICA" -d "$I" list
	grep -q "run 'mica init' first" "$TMP/rc.err" && ok "... to run 'mica init'" ||
		fail "... it said: $(cat "$TMP/rc.err")"
	expect_rc "... init again without a passphrase names the file it left (exit 6)" 6 \
		"$MICA" -d "$I" init --name "Killed CA" --public-url http://127.0.0.1:1
	grep -qF "$I/passphrase exists" "$TMP/rc.err" && ok "... naming it" ||
		fail "... it said: $(cat "$TMP/rc.err")"
	check "... and with it makes the CA" "$MICA" -d "$I" init --name "Killed CA" \
		--passphrase-file "$I/passphrase" --domain contoso.test \
		--public-url http://127.0.0.1:1
	check "... which issues a CRL" "$MICA" -d "$I" crl
else
	fail "init never reached its gate"
fi

"$MICA" -d "$D" init --name "Interrupt CA" --domain contoso.test \
	--public-url http://127.0.0.1:1 >/dev/null 2>&1 || die "mica init"

# ------------------------------------------------------------ backup --
if killed_at MICA_TEST_BACKUP_GATE backup "$MICA" -d "$D" backup "$W/bk.db"; then
	ok "backup killed after copying the pages"
	[ ! -e "$W/bk.db" ] && ok "... leaves no $W/bk.db to pass for a backup" ||
		fail "a killed backup left $W/bk.db ($(stat -c %s "$W/bk.db") bytes)"
	check "... and the next backup to that name succeeds" \
		"$MICA" -d "$D" backup "$W/bk.db"
	check "... which restores" "$MICA" -d "$W/restored" restore "$W/bk.db"
	check "... with its CRL" "$MICA" -d "$W/restored" crl --passphrase-file "$D/passphrase" --out "$W/r.crl"
else
	fail "backup never reached its gate"
fi

# -------------------------------------------------------- passphrase --
printf 'a new passphrase, long enough\n' > "$W/new.pass"
chmod 600 "$W/new.pass"
cp "$D/passphrase" "$W/old.pass"
if killed_at MICA_TEST_PASSPHRASE_GATE pass "$MICA" -d "$D" passphrase --new-file "$W/new.pass"; then
	ok "passphrase killed after its commit"
	expect_rc "... the next command that needs the key works" 0 \
		"$MICA" -d "$D" crl
	grep -q "now holds the new passphrase of an interrupted 'mica passphrase'" "$TMP/rc.err" &&
		ok "... saying it finished the change" ||
		fail "... it said: $(cat "$TMP/rc.err")"
	cmp -s "$D/passphrase" "$W/new.pass" && ok "... $D/passphrase holds the new passphrase" ||
		fail "$D/passphrase does not hold the new passphrase"
	is "... which is 0600" "$(stat -c %a "$D/passphrase")" 600
	is "... and nothing else is left in $D" "$(cd "$D" && ls -A | grep -c '^\.passphrase')" 0
else
	fail "passphrase never reached its gate"
fi
# One killed before its commit leaves the new passphrase in a file named
# by a salt the store never got: the next change removes it.
printf 'a passphrase never used\n' > "$D/.passphrase.000102030405060708090a0b0c0d0e0f"
chmod 600 "$D/.passphrase.000102030405060708090a0b0c0d0e0f"
# An admin's own copy of the old passphrase (which backups made before
# the change still need) is no leftover of mica's.
cp "$D/passphrase" "$D/.passphrase.old"
printf 'yet another passphrase, long\n' > "$W/new2.pass"
chmod 600 "$W/new2.pass"
check "the next passphrase change succeeds" "$MICA" -d "$D" passphrase --new-file "$W/new2.pass"
is "... and removes the copy a killed one left" \
	"$(cd "$D" && ls -A | grep '^\.passphrase' | tr '\n' ' ')" ".passphrase.old "
cmp -s "$D/.passphrase.old" "$W/new.pass" && ok "... keeping the admin's $D/.passphrase.old" ||
	fail "$D/.passphrase.old was removed or changed"
rm -f "$D/.passphrase.old"
check "... and the key opens with the new passphrase" "$MICA" -d "$D" crl

# Two changes at once, the second started once the first has committed:
# the second reads the first's passphrase, writes its own file, and must
# find it still there when it commits - the first's sweep of leftovers
# (run once its own file is in place) must not take it.
printf 'the first of two changes, long\n' > "$W/c1.pass"
printf 'the second of two changes, long\n' > "$W/c2.pass"
chmod 600 "$W/c1.pass" "$W/c2.pass"
rm -f "$W/g1" "$W/g1.reached" "$W/g2" "$W/g2.reached"
MICA_TEST_PASSPHRASE_GATE=$W/g1 "$MICA" -d "$D" passphrase --new-file "$W/c1.pass" \
	>"$W/c1.out" 2>&1 &
P1=$!
on_exit_kill "$P1"
if wait_for "the first change to commit" 60 test -s "$W/g1.reached"; then
	MICA_TEST_PASSPHRASE_PREPARED_GATE=$W/g2 "$MICA" -d "$D" passphrase \
		--new-file "$W/c2.pass" >"$W/c2.out" 2>&1 &
	P2=$!
	on_exit_kill "$P2"
	# Until the first is done, the second either waits for it (a
	# blocked flock in /proc/locks) or has written its file already.
	wait_for "the second change to wait or write its file" 60 sh -c \
		'test -s "$1.reached" || grep -q ": -> FLOCK .* $2 " /proc/locks' \
		sh "$W/g2" "$P2" || fail "the second change neither waited nor wrote its file"
	touch "$W/g1"
	wait "$P1"; is "the first change succeeds" "$?" 0
	on_exit_forget "$P1"
	wait_for "the second change to write its file" 60 test -s "$W/g2.reached" ||
		fail "the second change never wrote its file"
	touch "$W/g2"
	wait "$P2"; is "the second change succeeds" "$?" 0
	on_exit_forget "$P2"
	cmp -s "$D/passphrase" "$W/c2.pass" && ok "... $D/passphrase holds the second's passphrase" ||
		fail "$D/passphrase holds: $(cat "$D/passphrase")"
	check "... which opens the key" "$MICA" -d "$D" crl
	is "... and nothing else is left in $D" "$(cd "$D" && ls -A | grep -c '^\.passphrase')" 0
else
	fail "the first change never reached its gate"
fi

# --------------------------------------- temporary files of a dead PID --
N=$(( $(sqlite3 -readonly "$D/mica.db" 'SELECT max(number) FROM crl') + 1 ))
# The names a killed run of this PID (exec keeps it) would have left.
expect_rc "crl --out with a killed run's temporary files of the same PID: exit 0" 0 \
	sh -c ': > "$1.tmp.$$"; : > "$2/mica.db-crls/$3.crl.$$-0.tmp"
		exec "$4" -d "$2" crl --passphrase-file "$2/passphrase" --out "$1"' \
	sh "$W/x.crl" "$D" "$N" "$MICA"
grep -iv '^published CRL' "$TMP/rc.err" >/dev/null &&
	fail "... said more than what it published: $(cat "$TMP/rc.err")" ||
	ok "... saying only what it published"
[ -s "$W/x.crl" ] && ok "... and the CRL written" || fail "no CRL in $W/x.crl"

finish
