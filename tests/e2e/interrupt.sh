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
#   - init --subordinate killed once the CA is made, before its request
#     is written out: init again (exit 6) names 'mica renew-ca
#     --csr-out', which writes the same request, and says the first
#     install takes --chain.
#   - install-ca killed after its commit, before the CRLs of the keys:
#     the first certificate of an issuing CA, or a rollover's (renew-ca
#     --new-key), whose new key then has no CRL although what it issues
#     names /crl/1: 'mica serve' publishes it at start (not only when
#     key 0's is due), and install-ca given the certificate again finishes
#     the job (exit 0, saying so) instead of "installed already" (exit 6).
#     One whose CRL fails there (MICA_FAULT=db_commit) says it installed
#     the certificate and how to finish (exit 1), not the bare cause.
#   - sign-ca killed after its commit, before its --out FILE: the same
#     sign-ca again writes the certificate it recorded (exit 0, saying
#     so, and audited as ca.sign.again) instead of signing a second one
#     for the key; other options, or
#     the first certificate revoked, get a new one.
#   - what killed commands leave under temporary names (init's
#     DIR/.mica.db.init-XXXXXX, backup's FILE.tmp-XXXXXX, --out's
#     FILE.tmp.XXXXXX, publish's OUTDIR/.publish.PID.XXXXXXXX.tmp, and
#     the one it writes in a folder of OUTDIR mounted from another file
#     system) the next run removes, saying so; never one a live run
#     still writes (it holds a lock), nor a name of another pattern; a
#     writer whose new file a sweep locked first takes another name
#     rather than fail.
#   - mica serve killed during its first start (before its store is
#     named mica.db; once the CA is made, before its admin token; after
#     that token, before it was shown): a plain 'mica serve -d DIR'
#     finishes the start under the passphrase the first wrote, shows one
#     admin token, or says which one it made may not have been shown.
#   - what a killed command leaves beside an --out FILE or in
#     mica.db-crls/ never keeps out a later command that gets the same
#     PID (as a container's commands do): 'mica crl --out FILE' with the
#     temporary files of a killed run of that PID in the way.
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need sqlite3 curl openssl python3
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

# ------------------------------------------------ init's passphrase --
# init killed with its passphrase written but not yet named: no
# DATA/passphrase at all (never an empty or cut one, which every later
# start would take for the passphrase), and init again makes the CA,
# removing what the killed run left.
IP=$W/init-pass
if killed_at MICA_TEST_PASSGEN_GATE passgen "$MICA" -d "$IP" init --name "Killed Pass CA" \
	--domain contoso.test --public-url http://127.0.0.1:1; then
	ok "init killed with its passphrase written, not yet named"
	[ ! -e "$IP/passphrase" ] && ok "... leaves no $IP/passphrase" ||
		fail "a killed init left $IP/passphrase ($(wc -c <"$IP/passphrase") bytes)"
	is "... but the file under a temporary name" \
		"$(cd "$IP" && ls -A | grep -c '^passphrase\.new-......$')" 1
	expect_rc "... init again: exit 0" 0 "$MICA" -d "$IP" init --name "Killed Pass CA" \
		--domain contoso.test --public-url http://127.0.0.1:1
	grep -q "removed $IP/passphrase\.new-......, left by an interrupted 'mica init'" "$TMP/rc.err" &&
		ok "... saying it removed the killed run's file" || fail "... it said: $(cat "$TMP/rc.err")"
	is "... which is gone" "$(cd "$IP" && ls -A | grep -c '^passphrase\.new-')" 0
	check "... and the CA's key opens with the passphrase it wrote" "$MICA" -d "$IP" crl
else
	fail "init never reached its passphrase gate"
fi

# -------------------------------------------------------------- init --
I=$W/init
if killed_at MICA_TEST_INIT_GATE init "$MICA" -d "$I" init --name "Killed CA" \
	--domain contoso.test --public-url http://127.0.0.1:1; then
	ok "init killed with the schema built"
	[ ! -e "$I/mica.db" ] && ok "... leaves no $I/mica.db" ||
		fail "a killed init left $I/mica.db"
	is "... but its store under a temporary name" \
		"$(cd "$I" && ls -A | grep -c '^\.mica\.db\.init-......$')" 1
	expect_rc "... 'mica list' says there is no CA (exit 5)" 5 "$MICA" -d "$I" list
	grep -q "run 'mica init' first" "$TMP/rc.err" && ok "... to run 'mica init'" ||
		fail "... it said: $(cat "$TMP/rc.err")"
	expect_rc "... init again without a passphrase names the file it left (exit 6)" 6 \
		"$MICA" -d "$I" init --name "Killed CA" --public-url http://127.0.0.1:1
	grep -qF "$I/passphrase exists" "$TMP/rc.err" && ok "... naming it" ||
		fail "... it said: $(cat "$TMP/rc.err")"
	is "... which the refused init left alone" \
		"$(cd "$I" && ls -A | grep -c '^\.mica\.db\.init-......$')" 1
	expect_rc "... and with it makes the CA" 0 "$MICA" -d "$I" init --name "Killed CA" \
		--passphrase-file "$I/passphrase" --domain contoso.test \
		--public-url http://127.0.0.1:1
	grep -q "removed $I/\.mica\.db\.init-......, left by an interrupted 'mica init'" \
		"$TMP/rc.err" && ok "... saying it removed the killed one's store" ||
		fail "... it said: $(cat "$TMP/rc.err")"
	is "... which is gone, with its -wal and -shm" \
		"$(cd "$I" && ls -A | grep -c '^\.mica\.db\.init-')" 0
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
	is "... but its copy under a temporary name" \
		"$(cd "$W" && ls -A | grep -c '^bk\.db\.tmp-......$')" 1
	: > "$W/bk.db.tmp-mine"   # not of the pattern: an admin's
	expect_rc "... and the next backup to that name succeeds" 0 \
		"$MICA" -d "$D" backup "$W/bk.db"
	grep -q "removed $W/bk\.db\.tmp-......, left by an interrupted 'mica backup'" \
		"$TMP/rc.err" && ok "... saying it removed the killed one's copy" ||
		fail "... it said: $(cat "$TMP/rc.err")"
	is "... leaving only the file of another name" \
		"$(cd "$W" && ls -A | grep '^bk\.db\.tmp' | tr '\n' ' ')" "bk.db.tmp-mine "
	check "... which restores" "$MICA" -d "$W/restored" restore "$W/bk.db"
	check "... with its CRL" "$MICA" -d "$W/restored" crl --passphrase-file "$D/passphrase" --out "$W/r.crl"
else
	fail "backup never reached its gate"
fi

# A backup at work holds its temporary file locked: another backup to
# the same name meanwhile leaves it alone.
rm -f "$W/g3" "$W/g3.reached"
MICA_TEST_BACKUP_GATE=$W/g3 "$MICA" -d "$D" backup "$W/live.db" >"$W/live.out" 2>&1 &
P3=$!
on_exit_kill "$P3"
if wait_for "a backup to copy its pages" 60 test -s "$W/g3.reached"; then
	check "a second backup to the same name while the first copies" \
		"$MICA" -d "$D" backup "$W/live.db"
	is "... leaves the first's temporary file" \
		"$(cd "$W" && ls -A | grep -c '^live\.db\.tmp-......$')" 1
	touch "$W/g3"
	wait "$P3"; is "... which then finds the name taken (exit 6)" "$?" 6
	on_exit_forget "$P3"
	is "... and removes its copy" "$(cd "$W" && ls -A | grep -c '^live\.db\.tmp-')" 0
else
	fail "the live backup never reached its gate"
fi

# Another process renames a file of its own over the backup's temporary
# name while it copies (a folder others may write): the backup is not
# made, rather than install that file as the backup or copy into it.
rm -f "$W/g5" "$W/g5.reached"
MICA_TEST_BACKUP_GATE=$W/g5 "$MICA" -d "$D" backup "$W/swapped.db" >"$W/swapped.out" 2>&1 &
P5=$!
on_exit_kill "$P5"
if wait_for "a backup to copy its pages" 60 test -s "$W/g5.reached"; then
	echo "not a backup" > "$W/theirs"
	mv -f "$W/theirs" "$(ls "$W"/swapped.db.tmp-??????)"
	touch "$W/g5"
	wait "$P5"; is "a backup whose temporary file was replaced meanwhile: exit 8" "$?" 8
	on_exit_forget "$P5"
	grep -q "was replaced by another process: no backup written" "$W/swapped.out" &&
		ok "... saying so" || fail "... it said: $(cat "$W/swapped.out")"
	[ ! -e "$W/swapped.db" ] && ok "... and installs no backup" || fail "swapped.db installed"
else
	fail "the swapped backup never reached its gate"
fi

# A backup reads the CRLs' bodies beside the store after it copied the
# pages: CRLs published by another process meanwhile prune the body of
# its snapshot's newest. It failed ("CRL N ... is missing or damaged;
# publish a new CRL"); it now copies again, from a snapshot that has the
# newer CRL.
rm -f "$W/g4" "$W/g4.reached"
MICA_TEST_BACKUP_GATE=$W/g4 "$MICA" -d "$D" backup "$W/pruned.db" >"$W/pruned.out" 2>&1 &
P4=$!
on_exit_kill "$P4"
if wait_for "a backup to copy its pages" 60 test -s "$W/g4.reached"; then
	# The third publication prunes it (the two newest are kept, and a
	# publication prunes before it writes its own).
	{ "$MICA" -d "$D" crl && "$MICA" -d "$D" crl && "$MICA" -d "$D" crl; } >/dev/null 2>&1 ||
		fail "mica crl beside the backup"
	touch "$W/g4"
	wait "$P4"
	rc=$?
	is "a backup whose newest CRL was pruned meanwhile: taken, copied again ($(tail -1 "$W/pruned.out"))" "$rc" 0
	on_exit_forget "$P4"
	expect_rc "... and it restores" 0 "$MICA" -d "$W/r-pruned" restore "$W/pruned.db"
else
	fail "the backup never reached its gate"
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

# -------------------------------------------------------- install-ca --
# crls_of DIR KEY: how many CRLs key KEY of DIR's store has.
crls_of() { sqlite3 -readonly "$1/mica.db" "SELECT count(*) FROM crl WHERE key_idx = $2"; }
R=$W/root
SUB=$W/sub
"$MICA" -d "$R" init --name "Interrupt Root" --root-only >/dev/null 2>&1 &&
	"$MICA" -d "$R" export-root --out "$W/root.pem" >/dev/null 2>&1 &&
	"$MICA" -d "$SUB" init --subordinate --name "Interrupt Issuing CA" \
		--domain contoso.test --public-url http://127.0.0.1:1 \
		--csr-out "$W/sub.csr" >/dev/null 2>&1 &&
	"$MICA" -d "$R" sign-ca --csr "$W/sub.csr" --out "$W/sub.crt" >/dev/null 2>&1 ||
	die "setting up the issuing CA"
# ------------------------------------------------- init --subordinate --
S2=$W/sub-killed
if killed_at MICA_TEST_INIT_CSR_GATE initsub "$MICA" -d "$S2" init --subordinate \
	--name "Killed Issuing CA" --domain contoso.test \
	--public-url http://127.0.0.1:1 --csr-out "$W/killed.csr"; then
	ok "init --subordinate killed before writing its request"
	[ ! -e "$W/killed.csr" ] && ok "... which is not there" ||
		fail "... yet $W/killed.csr is there"
	expect_rc "... init again refuses the CA it made (exit 6)" 6 "$MICA" -d "$S2" \
		init --subordinate --name "Killed Issuing CA" --domain contoso.test \
		--public-url http://127.0.0.1:1 --csr-out "$W/killed.csr"
	grep -q "mica renew-ca --csr-out FILE" "$TMP/rc.err" &&
		ok "... naming 'mica renew-ca --csr-out'" ||
		fail "... it said: $(cat "$TMP/rc.err")"
	expect_rc "... renew-ca --csr-out writes its request" 0 \
		"$MICA" -d "$S2" renew-ca --csr-out "$W/killed.csr"
	grep -q "install-ca --cert CERT --chain ROOT" "$TMP/rc.err" &&
		ok "... and says the install takes --chain" ||
		fail "... it said: $(cat "$TMP/rc.err")"
	check "... which the root signs" "$MICA" -d "$R" sign-ca \
		--csr "$W/killed.csr" --out "$W/killed.crt"
	check "... and the CA installs" "$MICA" -d "$S2" install-ca \
		--cert "$W/killed.crt" --chain "$W/root.pem"
else
	fail "init --subordinate never reached its gate"
fi

if killed_at MICA_TEST_INSTALL_GATE install "$MICA" -d "$SUB" install-ca \
	--cert "$W/sub.crt" --chain "$W/root.pem"; then
	ok "install-ca of the first certificate killed before its CRL"
	is "... which has none" "$(crls_of "$SUB" 0)" 0
	expect_rc "... install-ca again finishes it (exit 0)" 0 \
		"$MICA" -d "$SUB" install-ca --cert "$W/sub.crt" --chain "$W/root.pem"
	grep -q "interrupted before its CRL: published it now" "$TMP/rc.err" &&
		ok "... saying so" || fail "... it said: $(cat "$TMP/rc.err")"
	is "... with the CRL" "$(crls_of "$SUB" 0)" 1
	expect_rc "... and once done, again is a conflict (exit 6)" 6 \
		"$MICA" -d "$SUB" install-ca --cert "$W/sub.crt" --chain "$W/root.pem"
else
	fail "install-ca never reached its gate"
fi
# Key 0's CRL fresh, whatever became of the install above: the daemon
# must not publish only because key 0's is due.
"$MICA" -d "$SUB" crl >/dev/null 2>&1 &&
	"$MICA" -d "$SUB" renew-ca --new-key --csr-out "$W/next.csr" >/dev/null 2>&1 &&
	"$MICA" -d "$R" sign-ca --csr "$W/next.csr" --out "$W/next.crt" >/dev/null 2>&1 ||
	die "renew-ca --new-key"
if killed_at MICA_TEST_INSTALL_GATE rollover "$MICA" -d "$SUB" install-ca --cert "$W/next.crt"; then
	ok "install-ca of a rollover killed before its CRLs"
	is "... the new key has none" "$(crls_of "$SUB" 1)" 0
	cp -a "$SUB" "$W/sub2"
	serve_start "$W/serve.out" "$SUB" -- --https none ||
		fail "mica serve does not start: $(tail -2 "$W/serve.out.err")"
	if [ -n "$SERVE_PID" ]; then
		is "... mica serve publishes the new key's CRL: /crl/1" \
			"$(curl -s -o "$W/crl1.der" -w '%{http_code}' "$H/crl/1")" 200
		openssl crl -inform der -in "$W/crl1.der" -noout -CAfile <(cat "$W/next.crt" "$W/root.pem") 2>&1 |
			grep -q 'verify OK' && ok "... signed by the new key" ||
			fail "/crl/1 is not signed by the new key"
		is "... and /crl, the old key's" "$(curl -s -o /dev/null -w '%{http_code}' "$H/crl")" 200
		serve_stop
	fi
	expect_rc "... install-ca again finishes it (exit 0)" 0 \
		"$MICA" -d "$W/sub2" install-ca --cert "$W/next.crt"
	grep -q "interrupted before its CRL: published it now" "$TMP/rc.err" &&
		ok "... saying so" || fail "... it said: $(cat "$TMP/rc.err")"
	[ "$(crls_of "$W/sub2" 1)" -ge 1 ] && ok "... the new key's CRL published" ||
		fail "the new key has no CRL after install-ca again"
	check "... and publishes the CRLs from then on" "$MICA" -d "$W/sub2" crl
else
	fail "install-ca of the rollover never reached its gate"
fi

# install-ca whose CRL fails after the certificate is committed (a busy
# or full store: MICA_FAULT=db_commit:n, probed from 1 until it
# succeeds): a failure that left the certificate installed says so and
# how to finish (exit 1), not the bare cause (exit 8: "nothing done").
S3=$W/sub3
"$MICA" -d "$S3" init --subordinate --name "Faulted Issuing CA" \
	--domain contoso.test --public-url http://127.0.0.1:1 \
	--csr-out "$W/sub3.csr" >/dev/null 2>&1 &&
	"$MICA" -d "$R" sign-ca --csr "$W/sub3.csr" --out "$W/sub3.crt" >/dev/null 2>&1 ||
	die "setting up the third issuing CA"
installed_failed=
for n in 1 2 3 4 5 6; do
	rm -rf "$W/sub3f"
	cp -a "$S3" "$W/sub3f"
	MICA_FAULT=db_commit:$n "$MICA" -d "$W/sub3f" install-ca \
		--cert "$W/sub3.crt" --chain "$W/root.pem" >"$TMP/f.out" 2>"$TMP/f.err"
	frc=$?
	[ "$frc" = 0 ] && break
	# Installed: its audit row is committed with the certificate.
	if [ "$(sqlite3 -readonly "$W/sub3f/mica.db" \
		"SELECT count(*) FROM audit WHERE action = 'ca.install'")" != 0 ]; then
		installed_failed=$n
		break
	fi
done
if [ -n "$installed_failed" ]; then
	is "install-ca failing after its commit (db_commit:$installed_failed) exits 1" "$frc" 1
	grep -q "installed the CA certificate, but its CRL could not be published" "$TMP/f.err" &&
		grep -q "run this install-ca again" "$TMP/f.err" &&
		ok "... saying it is installed, and how to finish" ||
		fail "... it said: $(cat "$TMP/f.err")"
	expect_rc "... install-ca again finishes it (exit 0)" 0 \
		"$MICA" -d "$W/sub3f" install-ca --cert "$W/sub3.crt" --chain "$W/root.pem"
	is "... with the CRL" "$(crls_of "$W/sub3f" 0)" 1
else
	fail "no db_commit fault of install-ca left the certificate installed (exit $frc)"
fi

# ----------------------------------------------------------- sign-ca --
# sign-ca killed after its commit, before --out: the same command again
# hands back the certificate it recorded, not a second one for the key.
# ca_of DIR LIKE: the valid certificates of DIR's store whose subject is LIKE.
ca_of() { sqlite3 -readonly "$1/mica.db" "SELECT serial FROM certificate WHERE status = 1 AND subject LIKE '$2' ORDER BY id"; }
# serial_in FILE: the serial of the certificate in FILE, as the store writes it.
serial_in() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f'; }
S3=$W/sub-again
"$MICA" -d "$S3" init --subordinate --name "Again Issuing CA" --domain contoso.test \
	--public-url http://127.0.0.1:1 --csr-out "$W/again.csr" >/dev/null 2>&1 ||
	die "init --subordinate of Again Issuing CA"
if killed_at MICA_TEST_SIGN_CA_GATE signca "$MICA" -d "$R" sign-ca \
	--csr "$W/again.csr" --out "$W/again.crt"; then
	ok "sign-ca killed after its commit, before writing --out"
	[ ! -e "$W/again.crt" ] && ok "... which is not there" ||
		fail "... yet $W/again.crt is there"
	FIRST=$(ca_of "$R" '%Again Issuing CA%')
	[ -n "$FIRST" ] && [ "$(echo "$FIRST" | wc -l)" = 1 ] &&
		ok "... one certificate on record ($FIRST)" ||
		fail "... on record: '$FIRST'"
	expect_rc "... the same sign-ca again (exit 0)" 0 "$MICA" -d "$R" sign-ca \
		--csr "$W/again.csr" --out "$W/again.crt"
	grep -q "signed CA certificate $FIRST for this same request.*already: written again, not signed anew" \
		"$TMP/rc.err" && ok "... saying it wrote $FIRST again" ||
		fail "... it said: $(cat "$TMP/rc.err")"
	grep -q "^note: CDP " "$TMP/rc.err" && ok "... and naming its CDP, as the first run did" ||
		fail "... no CDP note: $(cat "$TMP/rc.err")"
	is "... and signed no second one" "$(ca_of "$R" '%Again Issuing CA%')" "$FIRST"
	# The audit trail, as 'mica audit --json' gives it, oldest first.
	trail() { "$MICA" -d "$R" audit --all --json | python3 -c '
import json, sys
for e in reversed(json.load(sys.stdin)):
    if e["target"] == sys.argv[1]:
        print(e["action"], e["actor"])' "$1"; }
	is "... the audit trail: signed once, then handed back (not a second ca.sign)" \
		"$(trail "$FIRST" | tr '\n' ' ')" "ca.sign $CLI_ACTOR ca.sign.again $CLI_ACTOR "
	"$MICA" -d "$R" audit --limit 1 | grep -q "ca\.sign\.again *$FIRST *CA certificate for .*written again, not signed anew" &&
		ok "... saying so in 'mica audit'" || fail "... 'mica audit' says: $("$MICA" -d "$R" audit --limit 1)"
	is "... $W/again.crt is that certificate" "$(serial_in "$W/again.crt")" "$FIRST"
	is "... byte for byte as recorded" \
		"$(openssl x509 -in "$W/again.crt" -outform der | od -An -v -tx1 | tr -d ' \n')" \
		"$(sqlite3 -readonly "$R/mica.db" "SELECT lower(hex(der)) FROM certificate WHERE serial = '$FIRST'")"
	openssl verify -CAfile "$W/root.pem" "$W/again.crt" >/dev/null 2>&1 &&
		ok "... which openssl verifies against the root" ||
		fail "openssl does not verify $W/again.crt"
	check "... and the issuing CA installs" "$MICA" -d "$S3" install-ca \
		--cert "$W/again.crt" --chain "$W/root.pem"
	expect_rc "the same request with other options (--days 400): exit 0" 0 \
		"$MICA" -d "$R" sign-ca --csr "$W/again.csr" --out "$W/again400.crt" --days 400
	grep -q "^signed CA certificate" "$TMP/rc.err" && ok "... saying it signed one" ||
		fail "... it said: $(cat "$TMP/rc.err")"
	is "... a second certificate" "$(ca_of "$R" '%Again Issuing CA%' | wc -l)" 2
	[ "$(serial_in "$W/again400.crt")" != "$FIRST" ] && ok "... with a serial of its own" ||
		fail "--days 400 handed back $FIRST"
	"$MICA" -d "$R" revoke "$FIRST" --reason superseded >/dev/null 2>&1 ||
		fail "revoke $FIRST"
	expect_rc "the first options again once that one is revoked: exit 0" 0 \
		"$MICA" -d "$R" sign-ca --csr "$W/again.csr" --out "$W/again3.crt"
	S=$(serial_in "$W/again3.crt")
	[ "$S" != "$FIRST" ] && [ -n "$(ca_of "$R" '%Again Issuing CA%' | grep -x "$S")" ] &&
		ok "... a new certificate, not the revoked one" ||
		fail "... got $S (the first was $FIRST)"
else
	fail "sign-ca never reached its gate"
fi

# ------------------------------------ leftovers of --out and publish --
# Names of the pattern nobody holds: a killed run's. One held locked (a
# live run's, hold_flock standing in for it) and names of other patterns
# stay.
: > "$W/o.crl.tmp.AbC123"
: > "$W/o.crl.tmp.LiVe99"
: > "$W/o.crl.tmp.old"
: > "$W/o.crl.tmp.AbC123.keep"
hold_flock ex "$W/o.crl.tmp.LiVe99" &
FL=$!
on_exit_kill "$FL"
wait_for "hold_flock to hold its file" 60 grep -q ": FLOCK .* $FL " /proc/locks ||
	fail "hold_flock never took its lock"
expect_rc "crl --out beside a killed run's temporary file" 0 \
	"$MICA" -d "$D" crl --out "$W/o.crl"
grep -q "removed $W/o\.crl\.tmp\.AbC123, left by an interrupted mica command" "$TMP/rc.err" &&
	ok "... says it removed it" || fail "... it said: $(cat "$TMP/rc.err")"
is "... and leaves the live one and other names" \
	"$(cd "$W" && ls -A | grep '^o\.crl\.tmp' | sort | tr '\n' ' ')" \
	"o.crl.tmp.AbC123.keep o.crl.tmp.LiVe99 o.crl.tmp.old "
kill "$FL"; wait "$FL" 2>/dev/null; on_exit_forget "$FL"

# A sweep that locked a writer's new file before the writer could (the
# writer held between creating and locking it, hold_flock standing in for
# the sweep): the writer takes another name, it does not fail.
rm -f "$W/g5" "$W/g5.reached" "$W/race.crl"
MICA_TEST_TMP_GATE=$W/g5 "$MICA" -d "$D" crl --out "$W/race.crl" >"$W/g5.out" 2>&1 &
P5=$!
on_exit_kill "$P5"
if wait_for "crl --out to create its temporary file" 60 test -s "$W/g5.reached"; then
	T5=$(cd "$W" && ls -A | grep '^race\.crl\.tmp\.......$')
	hold_flock ex "$W/$T5" &
	FL=$!
	on_exit_kill "$FL"
	wait_for "hold_flock to hold $T5" 60 grep -q ": FLOCK .* $FL " /proc/locks ||
		fail "hold_flock never took its lock"
	touch "$W/g5"
	wait "$P5"; is "crl --out whose new file a sweep locked first: exit 0" "$?" 0
	on_exit_forget "$P5"
	openssl crl -inform der -in "$W/race.crl" -noout 2>/dev/null &&
		ok "... and the CRL is written" || fail "... no CRL in $W/race.crl: $(cat "$W/g5.out")"
	kill "$FL"; wait "$FL" 2>/dev/null; on_exit_forget "$FL"
else
	fail "crl --out never reached its gate"
fi

P=$W/pub
check "mica publish" "$MICA" -d "$D" publish "$P"
: > "$P/.publish.424242.tmp"
: > "$P/.publish.424243.0badcafe.tmp"
: > "$P/.publish.x.tmp"
: > "$P/.publish.424244.0badcafe1.tmp"
expect_rc "mica publish beside a killed run's temporary files" 0 \
	"$MICA" -d "$D" publish "$P"
grep -q "removed $P/\.publish\.424242\.tmp, left by an interrupted publication" "$TMP/rc.err" &&
grep -q "removed $P/\.publish\.424243\.0badcafe\.tmp, left by an interrupted publication" "$TMP/rc.err" &&
	ok "... says it removed them (this version's names and older ones)" || fail "... it said: $(cat "$TMP/rc.err")"
is "... and leaves the names of other patterns" \
	"$(cd "$P" && ls -A | grep '^\.publish' | sort | tr '\n' ' ')" ".publish.424244.0badcafe1.tmp .publish.x.tmp "
rm -f "$P/.publish.424244.0badcafe1.tmp"
# A publisher at work holds the directory's shared lock (hold_flock sh
# standing in for it): nothing of its may go.
: > "$P/.publish.424242.tmp"
hold_flock sh "$P" &
FL=$!
on_exit_kill "$FL"
wait_for "hold_flock to hold the directory" 60 grep -q ": FLOCK .* $FL " /proc/locks ||
	fail "hold_flock never took its lock"
check "mica publish beside another publisher at work" "$MICA" -d "$D" publish "$P"
[ -e "$P/.publish.424242.tmp" ] && ok "... leaves its temporary file" ||
	fail "... removed a live publisher's temporary file"
kill "$FL"; wait "$FL" 2>/dev/null; on_exit_forget "$FL"

# A folder under DIR mounted from another file system (the fault point
# "publish_exdev" stands in for one: renaming into it fails with EXDEV):
# the file is written under a temporary name in that folder instead. A
# run killed there leaves it deep under DIR/ocsp; the next full pass
# finds it and removes it, an incremental one (--since) touches nothing
# but what changed.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$W/x.key" -subj /CN=x.contoso.test -addext subjectAltName=DNS:x.contoso.test \
	-out "$W/x.csr" 2>/dev/null || die "openssl req"
"$MICA" -d "$D" issue --csr "$W/x.csr" --out "$W/x.crt" >/dev/null 2>&1 || die "mica issue"
"$MICA" -d "$D" ocsp-sign >/dev/null 2>&1 || die "mica ocsp-sign"
expect_rc "publish where ocsp/ is another file system: exit 0" 0 \
	env MICA_FAULT=publish_exdev:0 "$MICA" -d "$D" publish "$W/xdev"
is "... its OCSP response written there" "$(find "$W/xdev/ocsp" -type f | grep -vc '/\.publish\.')" 1
is "... and no temporary file left" "$(find "$W/xdev" -name '.publish.*' | wc -l)" 0
if killed_at MICA_TEST_PUBLISH_GATE xdev env MICA_FAULT=publish_exdev:0 \
	"$MICA" -d "$D" publish "$W/xdev2"; then
	ok "publish killed with a temporary file in a mounted folder"
	XT=$(find "$W/xdev2/ocsp" -name '.publish.*.tmp')
	[ -n "$XT" ] && ok "... which is there (${XT#"$W/xdev2/"})" ||
		fail "... no temporary file under $W/xdev2/ocsp"
	expect_rc "... an incremental publish (--since) after it: exit 0" 0 \
		"$MICA" -d "$D" publish --since 0 "$W/xdev2"
	[ -z "$XT" ] || [ -e "$XT" ] && ok "... leaves it (it walks no folder)" ||
		fail "... removed it"
	expect_rc "... a full publish after it: exit 0" 0 "$MICA" -d "$D" publish "$W/xdev2"
	grep -qF "removed $XT, left by an interrupted publication" "$TMP/rc.err" &&
		ok "... says it removed it" || fail "... it said: $(cat "$TMP/rc.err")"
	is "... and nothing of the kind is left" "$(find "$W/xdev2" -name '.publish.*' | wc -l)" 0
	is "... the response published" "$(find "$W/xdev2/ocsp" -type f | wc -l)" 1
else
	fail "publish never reached its gate in a mounted folder"
fi

# A leftover in a folder under DIR/ocsp whose path is longer than
# PATH_MAX (the sweep goes by descriptors; the path is for the log
# only): a full pass removes it too, and the leftover beside that folder
# is logged under its own folder's name.
check "mica publish (a deep folder's)" "$MICA" -d "$D" publish "$W/deep"
LONG=$(printf 'd%.0s' $(seq 250))
(cd "$W/deep/ocsp" && mkdir top && : > top/.publish.626262.tmp && cd top &&
	for _ in $(seq 17); do mkdir "$LONG" && cd "$LONG" || exit 1; done &&
	: > .publish.525252.tmp) || die "cannot make a deep folder"
deep_left() {
	(cd "$W/deep/ocsp/top" && for _ in $(seq 17); do cd "$LONG" || exit 2; done &&
		[ -e .publish.525252.tmp ])
}
deep_left && ok "... a leftover 17 folders of 250 bytes down" || fail "no deep leftover made"
expect_rc "a full publish with a leftover deeper than PATH_MAX: exit 0" 0 \
	"$MICA" -d "$D" publish "$W/deep"
deep_left && fail "... leaves the deep leftover" || ok "... removes the deep leftover"
grep -qF "removed $W/deep/ocsp/top/.publish.626262.tmp, left by an interrupted publication" \
	"$TMP/rc.err" && ok "... and names the one beside the deep folder by its folder" ||
	fail "... it said: $(grep -v '^published' "$TMP/rc.err" | cut -c1-300)"
rm -rf "$W/deep"

# A file system without locks (some NFS, FUSE and CIFS mounts; the fault
# point "flock" stands in for one): writers go on unlocked, as before
# there were sweeps, and a sweep, which cannot lock, removes nothing.
: > "$W/nl.crl.tmp.DeAd01"
: > "$P/.publish.434343.tmp"
expect_rc "crl --out where the file system takes no locks: exit 0" 0 \
	env MICA_FAULT=flock:0 "$MICA" -d "$D" crl --out "$W/nl.crl"
openssl crl -inform der -in "$W/nl.crl" -noout 2>/dev/null &&
	ok "... and the CRL is written" || fail "... no CRL in $W/nl.crl"
[ -e "$W/nl.crl.tmp.DeAd01" ] && ok "... removing nothing it could not lock" ||
	fail "... removed a file it could not lock"
expect_rc "publish where the file system takes no locks: exit 0" 0 \
	env MICA_FAULT=flock:0 "$MICA" -d "$D" publish "$P"
[ -e "$P/.publish.434343.tmp" ] && ok "... removing nothing it could not lock" ||
	fail "... removed a file it could not lock"
rm -f "$W/nl.crl.tmp.DeAd01" "$P/.publish.434343.tmp"

# A leftover of init in a directory that holds a CA (a restore followed
# the killed init): the next command that writes the store removes it.
: > "$D/.mica.db.init-XyZ789"
: > "$D/.mica.db.init-XyZ789-wal"
: > "$D/.mica.db.init-old"
expect_rc "crl in a data directory with a killed init's store" 0 "$MICA" -d "$D" crl
grep -q "removed $D/\.mica\.db\.init-XyZ789, left by an interrupted 'mica init'" "$TMP/rc.err" &&
	ok "... says it removed it" || fail "... it said: $(cat "$TMP/rc.err")"
is "... with its -wal, and leaves the name of another pattern" \
	"$(cd "$D" && ls -A | grep '^\.mica\.db\.init' | tr '\n' ' ')" ".mica.db.init-old "
rm -f "$D/.mica.db.init-old"

# An init at work holds the data directory's lock: its store is not
# taken by another command, and a restore into it waits for nothing.
L=$W/live-init
rm -f "$W/g4" "$W/g4.reached"
MICA_TEST_INIT_GATE=$W/g4 "$MICA" -d "$L" init --name "Live CA" \
	--public-url http://127.0.0.1:1 >"$W/g4.out" 2>&1 &
P4=$!
on_exit_kill "$P4"
if wait_for "an init to build its store" 60 test -s "$W/g4.reached"; then
	expect_rc "a restore into the directory of an init at work: exit 6" 6 \
		"$MICA" -d "$L" restore "$W/bk.db"
	is "... which leaves its store" "$(cd "$L" && ls -A | grep -c '^\.mica\.db\.init-......$')" 1
	touch "$W/g4"
	wait "$P4"; is "... and the init finishes" "$?" 0
	on_exit_forget "$P4"
	check "... with its CA" "$MICA" -d "$L" crl
else
	fail "the live init never reached its gate"
fi

# ----------------------------------------------- serve's first start --
# serve_first NAME GATE DIR: kill a first 'mica serve' on DIR at GATE.
serve_first() {
	serve_ports
	killed_at "$2" "$1" "$MICA" -d "$3" serve --http "127.0.0.1:$HP" \
		--https "127.0.0.1:$SP" --domain example.test
}
# serves_and_issues OUT DIR ADMIN: the daemon started with OUT serves
# DIR's CA, whose admin token ADMIN makes an enrollment token that gets
# a certificate openssl verifies under the root it serves.
serves_and_issues() {
	local tok
	curl -fsS -o "$2/root.der" "$H/ca.crt" &&
		openssl x509 -inform der -in "$2/root.der" -out "$2/root.pem" 2>/dev/null ||
		{ fail "... /ca.crt is not served"; return; }
	tok=$(enroll_token "$S" "$3" -1)
	[ -n "$tok" ] || { fail "... the admin token makes no enrollment token"; return; }
	is "... and issues" "$(enroll_leaf "$S" "$tok" a.example.test "$2/leaf")" 201
	openssl verify -CAfile "$2/root.pem" "$2/leaf.pem" >/dev/null 2>&1 &&
		ok "... a certificate openssl verifies" || fail "openssl verify refused the certificate"
}

F1=$W/first1
if serve_first first1 MICA_TEST_INIT_GATE "$F1"; then
	ok "serve killed in its first start before its store is named mica.db"
	[ ! -e "$F1/mica.db" ] && [ -s "$F1/passphrase" ] &&
		ok "... leaves no CA, and the passphrase it wrote" ||
		fail "... left: $(ls -A "$F1" | tr '\n' ' ')"
	cp "$F1/passphrase" "$W/first1.pass"
	serve_start "$W/s1.out" "$F1" -- --domain example.test ||
		fail "a plain mica serve then does not start: $(tail -2 "$W/s1.out.err")"
	if [ -n "$SERVE_PID" ]; then
		ok "... a plain mica serve then starts"
		grep -q "sealed under the passphrase already in $F1/passphrase" "$W/s1.out" &&
			ok "... saying the key is sealed under the passphrase it found" ||
			fail "... it said: $(cat "$W/s1.out")"
		cmp -s "$F1/passphrase" "$W/first1.pass" && ok "... which is unchanged" ||
			fail "$F1/passphrase changed"
		is "... one admin token shown" "$(grep -c '^admin token: mica_' "$W/s1.out")" 1
		grep -q "removed $F1/\.mica\.db\.init-......, left by an interrupted" "$W/s1.out.err" &&
			ok "... the killed start's store removed, and said" ||
			fail "... its stderr: $(cat "$W/s1.out.err")"
		is "... nothing else left" "$(cd "$F1" && ls -A | grep -c '^\.mica\.db\.init-\|^serve\.first-start')" 0
		serves_and_issues "$W/s1.out" "$F1" "$(sed -n 's/^admin token: //p' "$W/s1.out")"
		serve_stop
		check "... and the key opens with $F1/passphrase" "$MICA" -d "$F1" crl \
			--passphrase-file "$W/first1.pass"
	fi
else
	fail "serve's first start never reached the init gate"
fi

F2=$W/first2
if serve_first first2 MICA_TEST_SERVE_CREATED_GATE "$F2"; then
	ok "serve killed in its first start once the CA is made, before its admin token"
	grep -q '^admin token' "$W/first2.out" && fail "... yet it showed one" ||
		ok "... which it did not show"
	serve_start "$W/s2.out" "$F2" ||
		fail "a plain mica serve then does not start: $(tail -2 "$W/s2.out.err")"
	if [ -n "$SERVE_PID" ]; then
		ok "... a plain mica serve then starts"
		grep -q "interrupted before it made an admin token: this is its first" "$W/s2.out" &&
			ok "... saying the first start was interrupted" ||
			fail "... it said: $(cat "$W/s2.out")"
		is "... showing one admin token" "$(grep -c '^admin token: mica_' "$W/s2.out")" 1
		serves_and_issues "$W/s2.out" "$F2" "$(sed -n 's/^admin token: //p' "$W/s2.out")"
		serve_stop
	fi
	serve_start "$W/s2b.out" "$F2" || fail "the next start fails"
	serve_stop
	is "... and the next start shows none" "$(grep -c '^admin token' "$W/s2b.out")" 0
else
	fail "serve's first start never reached its gate after the CA"
fi

F3=$W/first3
if serve_first first3 MICA_TEST_FIRST_TOKEN_GATE "$F3"; then
	ok "serve killed in its first start with its admin token made, not shown"
	serve_start "$W/s3.out" "$F3" ||
		fail "a plain mica serve then does not start: $(tail -2 "$W/s3.out.err")"
	if [ -n "$SERVE_PID" ]; then
		ok "... a plain mica serve then starts"
		is "... showing no second admin token" "$(grep -c '^admin token' "$W/s3.out")" 0
		grep -q "interrupted after it made its admin token .*'mica token create --admin' replace it" \
			"$W/s3.out.err" && ok "... saying how to replace the one it may not have shown" ||
			fail "... its stderr: $(cat "$W/s3.out.err")"
		serve_stop
	fi
	# The admin replaces it from the command line: that token works.
	"$MICA" -d "$F3" token create --admin >"$W/adm3" 2>/dev/null || fail "token create --admin"
	serve_start "$W/s3b.out" "$F3" || fail "the next start fails"
	if [ -n "$SERVE_PID" ]; then
		grep -q 'interrupted' "$W/s3b.out.err" && fail "... the next start says it again" ||
			ok "... the next start says nothing of it"
		serves_and_issues "$W/s3b.out" "$F3" "$(grep -o 'mica_[A-Za-z0-9_-]*' "$W/adm3" | head -1)"
		serve_stop
	fi
else
	fail "serve's first start never reached its token gate"
fi

# A first start killed before it made its CA, whose directory then gets
# its CA another way (restore, 'mica init'): that CA is not the first
# start's, and no start of serve makes or prints an admin token for it.
for how in restore init; do
	F=$W/first-$how
	if serve_first "first-$how" MICA_TEST_INIT_GATE "$F"; then
		[ -e "$F/serve.first-start" ] ||
			fail "... the killed start left no $F/serve.first-start"
		rm -f "$F/passphrase"   # the killed start's, of no CA
		if [ "$how" = restore ]; then
			expect_rc "serve killed in its first start, then a restore there: exit 0" 0 \
				"$MICA" -d "$F" restore "$W/bk.db" --passphrase-file "$W/old.pass"
			cp "$W/old.pass" "$F/passphrase"
		else
			expect_rc "serve killed in its first start, then mica init there: exit 0" 0 \
				"$MICA" -d "$F" init --name "Init After Serve" \
				--public-url http://127.0.0.1:1 --domain example.test
		fi
		[ ! -e "$F/serve.first-start" ] && ok "... which removes the first start's marker" ||
			fail "... $F/serve.first-start is still there"
		serve_start "$W/sf-$how.out" "$F" || fail "serve after the $how does not start"
		if [ -n "$SERVE_PID" ]; then
			is "... and serve then makes no admin token" \
				"$(grep -c '^admin token' "$W/sf-$how.out")" 0
			is "... nor says a first start was interrupted" \
				"$(grep -c 'first start of this CA was interrupted' "$W/sf-$how.out" "$W/sf-$how.out.err" |
				   awk -F: '{ n += $NF } END { print n }')" 0
			serve_stop
		fi
	else
		fail "serve's first start ($how) never reached the init gate"
	fi
done

# --------------------------------------- temporary files of a dead PID --
N=$(( $(sqlite3 -readonly "$D/mica.db" 'SELECT max(number) FROM crl') + 1 ))
# The names a killed run of this PID (exec keeps it) would have left.
expect_rc "crl --out with a killed run's temporary files of the same PID: exit 0" 0 \
	sh -c ': > "$1.tmp.$$"; : > "$2/mica.db-crls/$3.crl.$$-0.tmp"
		exec "$4" -d "$2" crl --passphrase-file "$2/passphrase" --out "$1"' \
	sh "$W/x.crl" "$D" "$N" "$MICA"
grep -iv '^published CRL' "$TMP/rc.err" | grep -v 'removed .*, left by an interrupted' >/dev/null &&
	fail "... said more than what it published: $(cat "$TMP/rc.err")" ||
	ok "... saying only what it published (and what it removed)"
[ -s "$W/x.crl" ] && ok "... and the CRL written" || fail "no CRL in $W/x.crl"

finish
