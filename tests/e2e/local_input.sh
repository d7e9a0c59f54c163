#!/bin/bash
# Hostile local input: files and arguments an admin passes by mistake or
# an attacker plants.
#   - terminal control bytes in arguments and file names that mica echoes
#     (errors, usage errors, notes) come out escaped (\x1b), never raw,
#     and a backslash doubled (\\), so that the text \x1b is not ESC's;
#   - a FIFO nobody writes to given as --csr is refused at once, not waited
#     for; a pipe with a writer (<(...)) is read; /dev/zero and a huge file
#     are cut at the bound; a directory is refused;
#   - -d given as another option's value is that value ('--comment -d');
#   - 'mica serve' refuses an empty value for any of its options before it
#     starts;
#   - numbers with '+', spaces, 0x or past their bound are usage errors.
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need openssl
W=$(mktmp)
D=$W/data
cd "$W" || die "cd $W"
"$MICA" -d "$D" init --name "Local CA" --domain t.test \
	--public-url http://ca.t.test >/dev/null 2>&1 || die "mica init"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$W/a.key" -subj /CN=a.t.test -out "$W/a.csr" 2>/dev/null ||
	die "openssl req"

ESC=$(printf '\033')
# raw_free DESCRIPTION FILE: FILE holds no ESC, BEL or CR byte, and shows
# the ESC as \x1b.
raw_free() {
	if grep -q "[$ESC$(printf '\007\r')]" "$2"; then
		fail "$1: a control byte reached the terminal raw"
		od -c "$2" | head -3 | sed 's/^/    /'
	elif ! grep -qF '\x1b' "$2"; then
		fail "$1: the escape byte is not shown as \\x1b"
		sed 's/^/    /' "$2" | head -3
	else
		ok "$1: $(head -1 "$2")"
	fi
}

# ------------------------------------------------ control bytes echoed --
EVIL=$(printf 'x\033]0;owned\007\033[2J\r')
"$MICA" -d "$D" "$EVIL" 2>"$W/e1"; is "an unknown command is a usage error" $? 2
raw_free "unknown command" "$W/e1"
"$MICA" -d "$D" list "$EVIL" 2>"$W/e2"; is "an unexpected operand is a usage error" $? 2
raw_free "unexpected operand" "$W/e2"
"$MICA" -d "$D" issue --csr "$W/$EVIL" 2>"$W/e3"; is "a missing CSR file is exit 3" $? 3
raw_free "a file name in an error" "$W/e3"
"$MICA" -d "$D" request "$EVIL" 2>"$W/e4"; is "an unknown subcommand is a usage error" $? 2
raw_free "unknown subcommand" "$W/e4"
"$MICA" "--$EVIL" list 2>"$W/e5"; is "an unknown global option is a usage error" $? 2
raw_free "unknown global option" "$W/e5"
"$MICA" -d "$D" backup "$W/b$EVIL.db" 2>"$W/e6"; is "a backup to a name with control bytes" $? 0
raw_free "the note naming the backup" "$W/e6"
[ -f "$W/b$EVIL.db" ] && ok "the backup has the name given, bytes and all" ||
	fail "the backup is not under the name given"
# UTF-8 text is text: shown as it is.
"$MICA" -d "$D" list "münchen" 2>"$W/e7"
grep -q "münchen" "$W/e7" && ok "UTF-8 in an echoed argument is shown as it is" ||
	fail "UTF-8 was escaped: $(cat "$W/e7")"
# A C1 control (U+009B, CSI to some terminals) and a byte of no character.
"$MICA" -d "$D" list "$(printf 'a\302\233b\377')" 2>"$W/e8"
grep -qF 'a\xc2\x9bb\xff' "$W/e8" && ok "a C1 control and a stray byte are shown as \\xNN" ||
	fail "C1/stray bytes: $(od -c "$W/e8" | head -2)"
# The text \x1b (a backslash, then x1b) is told from ESC: its backslash
# is doubled.
"$MICA" -d "$D" list 'C:\x1b' 2>"$W/e9"
grep -qF 'C:\\x1b' "$W/e9" && ! grep -q "$ESC" "$W/e9" &&
	ok "a backslash in an echoed argument is shown doubled (\\\\x1b, not ESC's \\x1b)" ||
	fail "a literal \\x1b: $(cat "$W/e9")"

# ------------------------------------------------------- files as CSRs --
mkfifo "$W/fifo"
timeout $((20 * TIME_SCALE)) "$MICA" -d "$D" issue --csr "$W/fifo" 2>"$W/f1"
rc=$?
if [ "$rc" = 3 ] && grep -q FIFO "$W/f1"; then
	ok "a FIFO nobody writes to is refused at once (exit 3: $(cat "$W/f1"))"
else
	fail "a FIFO as --csr: exit $rc (124: it hung): $(cat "$W/f1")"
fi
if "$MICA" -d "$D" issue --csr <(cat "$W/a.csr") --out "$W/p.crt" 2>"$W/f2" &&
   openssl x509 -in "$W/p.crt" -noout 2>/dev/null; then
	ok "a pipe with a writer (<(...)) is read to its end"
else
	fail "a CSR through <(...): $(cat "$W/f2")"
fi
# A FIFO whose writer has written nothing yet, with standard input
# closed (a cron job's '<&-'): the CSR opens as descriptor 0, and is
# still read blocking, waiting for its writer, not refused with EAGAIN.
mkfifo "$W/slow.fifo"
(exec 3<>"$W/slow.fifo"; wait_for "the go-ahead" 60 test -e "$W/slow.go" &&
	cat "$W/a.csr" >&3) &
HP=$!
on_exit_kill "$HP"
"$MICA" -d "$D" issue --csr "$W/slow.fifo" --out "$W/slow.crt" 2>"$W/f3" <&- &
MP=$!
on_exit_kill "$MP"
wait_for "mica to open the FIFO (or exit)" 60 sh -c \
	"ls -l /proc/$MP/fd 2>/dev/null | grep -q slow.fifo || ! kill -0 $MP"
: > "$W/slow.go"
wait "$MP"
is "a FIFO written to late, with standard input closed: read to its end" \
	"$?:$(openssl x509 -in "$W/slow.crt" -noout -subject 2>&1)" "0:subject=CN = a.t.test"
on_exit_forget "$MP"
wait "$HP"; on_exit_forget "$HP"
expect_rc "/dev/zero as --csr is cut at the bound (exit 3)" 3 \
	"$MICA" -d "$D" issue --csr /dev/zero
grep -q "larger than" "$TMP/rc.err" && ok "  ... saying it is too large" ||
	fail "/dev/zero: $(cat "$TMP/rc.err")"
expect_rc "a directory as --csr is exit 3" 3 "$MICA" -d "$D" issue --csr "$W"
: > "$W/empty.csr"
expect_rc "an empty CSR file is exit 3" 3 "$MICA" -d "$D" issue --csr "$W/empty.csr"
# --out to a FIFO no program reads: the open waited for ever, the
# certificate issued; now exit 1 after 10 s, naming the certificate.
mkfifo "$W/noreader.fifo"
expect_rc "--out to a FIFO that nobody reads: exit 1, no endless wait" 1 \
	timeout $((60 * TIME_SCALE)) "$MICA" -d "$D" issue --csr "$W/a.csr" --out "$W/noreader.fifo"
grep -q "FIFO that no program read within" "$TMP/rc.err" && grep -qi "serial\|issued" "$TMP/rc.err" &&
	ok "  ... saying so, and which certificate was issued" || fail "FIFO: $(cat "$TMP/rc.err")"

# ------------------------------------------------ --out over the CA's own --
# export-root --out DIR/passphrase put the root where the only copy of the
# passphrase 'mica init' made was, and said nothing (exit 0).
cp -p "$D/passphrase" "$W/passphrase.before"
sha_db=$(sha256sum < "$D/mica.db")
ln -sf "$D/passphrase" "$W/to-passphrase"
for o in "$D/passphrase" "$D/mica.db" "$D/./mica.db-wal" "$D/serve.lock" \
	"$D/mica.db-crls/x.crl" "$W/to-passphrase"; do
	expect_rc "export-root --out ${o#"$W/"}: refused (exit 2)" 2 "$MICA" -d "$D" export-root --out "$o"
	grep -q "one of the CA's own files" "$TMP/rc.err" || fail "  ... $(cat "$TMP/rc.err")"
done
# serve --log DATA/mica.db appended log lines to the store.
for o in "$D/mica.db" "$W/to-passphrase"; do
	expect_rc "serve --log ${o#"$W/"}: refused (exit 2)" 2 timeout $((30 * TIME_SCALE)) \
		"$MICA" -d "$D" serve --log "$o" --http 127.0.0.1:0 --https none
	grep -q "one of the CA's own files" "$TMP/rc.err" || fail "  ... $(cat "$TMP/rc.err")"
done
expect_rc "issue --out the passphrase: refused before anything is issued (exit 2)" 2 \
	"$MICA" -d "$D" issue --csr "$W/a.csr" --out "$D/passphrase"
cmp -s "$D/passphrase" "$W/passphrase.before" && [ "$(sha256sum < "$D/mica.db")" = "$sha_db" ] &&
	ok "  ... the passphrase and the store are untouched" || fail "the CA's files changed"
expect_rc "export-root --out a new file in the data directory is fine" 0 \
	"$MICA" -d "$D" export-root --out "$D/root-copy.pem"
rm -f "$D/root-copy.pem" "$W/to-passphrase"

# ------------------------------------ links planted in a shared folder --
# Another user's symbolic link or FIFO in a sticky folder writable by all
# (/tmp) is not written through: the link aimed root's --out at a file of
# root's (replaced by a certificate), the FIFO took a mobileconfig's
# one-use token to its owner; --log appended the log to the link's target.
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	# Where the other user can reach it, as /tmp (the test's own folder
	# is private).
	SH=$(mktemp -d /tmp/mica-shared.XXXXXX)
	chmod 1777 "$SH"
	echo "root's own file" > "$W/victim"
	chmod 600 "$W/victim"
	nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
	nobody ln -s "$W/victim" "$SH/root.pem"
	nobody mkfifo -m 666 "$SH/phone.mobileconfig"
	expect_rc "export-root --out another user's link in /tmp-like folder: refused (exit 2)" 2 \
		"$MICA" -d "$D" export-root --out "$SH/root.pem"
	grep -q "another user made in a shared folder" "$TMP/rc.err" && ok "... saying why" ||
		fail "planted link: $(cat "$TMP/rc.err")"
	is "... the file it names is untouched" "$(cat "$W/victim")" "root's own file"
	expect_rc "--out another user's FIFO there: refused (exit 2)" 2 \
		"$MICA" -d "$D" export-root --out "$SH/phone.mobileconfig"
	serve_ports
	expect_rc "serve --log another user's link there: refused (exit 8)" 8 timeout $((30 * TIME_SCALE)) \
		"$MICA" -d "$D" serve --log "$SH/root.pem" --http "127.0.0.1:$HP" --https none
	grep -q "another user made in a shared folder" "$TMP/rc.err" && ok "... saying why" ||
		fail "planted log link: $(cat "$TMP/rc.err")"
	is "... the file it names is untouched" "$(cat "$W/victim")" "root's own file"
	: > "$W/victim2"
	ln -s "$W/victim2" "$SH/mine.pem"
	expect_rc "a link of one's own there is followed, as before" 0 \
		"$MICA" -d "$D" export-root --out "$SH/mine.pem"
	[ -L "$SH/mine.pem" ] && grep -q "BEGIN CERTIFICATE" "$W/victim2" &&
		ok "... writing the file it names" || fail "own link not followed"
	rm -rf "$SH" "$W/victim" "$W/victim2"
else
	skip "links planted in a shared folder" "needs root and setpriv"
fi

# A FILE or folder the caller got wrong is a usage error (2), as --out's:
# backup said "store unavailable" (8) or "conflict" (6), publish
# "internal error" (1), an empty --csr "malformed input" (3).
mkdir -p "$W/adir"
expect_rc "backup into a folder that does not exist: exit 2" 2 "$MICA" -d "$D" backup "$W/nodir/b.db"
expect_rc "backup to a directory: exit 2" 2 "$MICA" -d "$D" backup "$W/adir"
expect_rc "publish into a folder that does not exist: exit 2" 2 "$MICA" -d "$D" publish "$W/nodir/deeper"
expect_rc "issue --csr= (empty): exit 2" 2 "$MICA" -d "$D" issue --csr=

# ------------------------------------------ store text in text listings --
# Everything mica stores is checked first, but a store edited by hand (or
# one from an older mica) may hold a terminal's escapes: a listing shows
# them as \xNN, as errors do (the JSON escapes them anyway).
if command -v sqlite3 >/dev/null 2>&1; then
	sqlite3 "$D/mica.db" "INSERT INTO audit (at, actor, action, target, detail) VALUES
		(strftime('%s','now') + 3600, 'cli', 'x.test', '-',
		 'a' || char(27) || ']0;PWNED' || char(7) || 'b' || char(10) || 'fake line\x1b')" ||
		fail "sqlite3 insert"
	"$MICA" -d "$D" audit --limit 1 > "$W/audit.txt" 2>/dev/null
	if ! grep -q "$(printf '\033')" "$W/audit.txt" && [ "$(wc -l < "$W/audit.txt")" = 2 ] &&
		grep -qF 'a\x1b]0;PWNED\x07b\x0afake line\\x1b' "$W/audit.txt"; then
		ok "mica audit shows a stored escape sequence as \\xNN, on one line, and the text \\x1b as \\\\x1b"
	else
		fail "mica audit: $(cat -v "$W/audit.txt")"
	fi
else
	skip "store text in listings" "no sqlite3"
fi

# ------------------------------------- a token's secret that nobody saw --
# token create > /dev/full (or into a pipe whose reader is gone) stored a
# valid token whose secret was lost; it is now revoked at once, and said
# so (exit 1).
for how in full pipe; do
for kind in "--enroll" "--enroll --acme"; do
	if [ "$how" = full ]; then
		# shellcheck disable=SC2086
		"$MICA" -d "$D" token create $kind --name full.t.test > /dev/full 2>"$W/full.err"
	else
		# shellcheck disable=SC2086
		python3 -c 'import os, subprocess, sys
r, w = os.pipe()
os.close(r)
sys.exit(subprocess.run(sys.argv[1:], stdout=w).returncode)' "$MICA" -d "$D" token create $kind --name full.t.test 2>"$W/full.err"
	fi
	is "token create $kind to a $how standard output: exit 1" "$?" 1
	id=$(sed -n 's/.*so token \([0-9a-f]\{16\}\) is revoked at once$/\1/p' "$W/full.err")
	[ -n "$id" ] && "$MICA" -d "$D" token list --json | python3 -c '
import json, sys
t = [t for t in json.load(sys.stdin) if t["id"] == sys.argv[1]]
sys.exit(0 if len(t) == 1 and t[0]["revoked"] else 1)' "$id" &&
		ok "  ... its token $id is revoked, as standard error says" ||
		fail "token create $kind ($how): $(cat "$W/full.err")"
done
done

# -------------------------------------------- -d as another option's value --
"$MICA" token create -d "$D" --enroll --name x.t.test --comment -d >/dev/null 2>"$W/t.err"
is "'--comment -d' after the command: exit 0" $? 0
"$MICA" -d "$D" token list --json > "$W/t.json"
grep -q '"comment": "-d"' "$W/t.json" && ok "  ... and the comment is \"-d\"" ||
	fail "the comment is not \"-d\": $(grep comment "$W/t.json")"
cp "$W/a.csr" "$W/-d.csr"
"$MICA" issue -d "$D" --csr -d.csr -o -d 2>"$W/o.err"
is "'-o -d' writes the file named -d" "$?:$(openssl x509 -in ./-d -noout -subject 2>&1)" \
	"0:subject=CN = a.t.test"
expect_rc "'--status -d DIR': --status is given -d (a usage error)" 2 \
	"$MICA" list --status -d "$D"
expect_rc "'-d' after '--' is an operand (a usage error)" 2 \
	"$MICA" list -d "$D" -- -d "$D"
expect_rc "'mica -- list' runs list" 0 "$MICA" -d "$D" -- list
expect_rc "-d at the end, with no directory, is a usage error" 2 "$MICA" list -d
expect_rc "--data-dir= with no directory is a usage error" 2 "$MICA" list --data-dir=
# (./-d is the certificate just written, mode 0644: refused as such.)
"$MICA" domain --passphrase-file -d seal -d "$D" >/dev/null 2>"$W/dm.err"
is "domain (parsed by hand) gives -d to --passphrase-file too" "$?:$(cat "$W/dm.err")" \
	"9:mica: error: the passphrase file -d is readable by group or others; run chmod 600 -d"
# domain's only long option: "--" is no abbreviation of it that takes
# the next argument, so the -d after it is an operand, not a store to
# change.
"$MICA" -d "$D" domain -- remove t.test -d "$D" >/dev/null 2>"$W/dd.err"
is "domain -- remove DOMAIN -d DIR: '-d' is an operand (a usage error)" "$?" 2
"$MICA" -d "$D" domain list > "$W/dd.out" 2>&1
is "  ... and the domain is still allowed" "$(cat "$W/dd.out")" "t.test"

# -------------------------------------------------------------- numbers --
nf=$FAIL
for v in +5 " 5" "5 " 0x10 1e3 99999999999999999999 -5 ""; do
	for c in "list --limit" "audit --limit" "request list --limit" \
		 "issue --csr a.csr --days" "token create --enroll --name x.t.test --uses" \
		 "token create --enroll --name x.t.test --expires" "crl --delta-hours" \
		 "profile set server --max-days 30 --default-days" "acme orders --limit"; do
		# shellcheck disable=SC2086 # $c is words on purpose
		"$MICA" -d "$D" $c "$v" >/dev/null 2>"$W/n.err"
		rc=$?
		[ "$rc" = 2 ] || fail "$c '$v': exit $rc, wanted 2: $(cat "$W/n.err")"
	done
done
[ "$FAIL" = "$nf" ] &&
	ok "numbers with '+', spaces, 0x, exponents, overflow, a sign or empty are usage errors"

# An empty account ID (an unset variable) is no filter to take as "all".
expect_rc "acme orders --account '' is a usage error" 2 "$MICA" -d "$D" acme orders --account ""

# ------------------------------------------------- serve's empty values --
# Each would otherwise start a daemon (on the default ports: the --http
# and --https given keep a failure of this check off them).
read -r P1 P2 <<<"$(free_port) $(free_port)"
for o in http https trusted-proxy domain public-url passphrase-file log \
	 acme-hosts acme-dns publish ocsp-signer threads signers \
	 acme-http-port acme-tls-port; do
	timeout $((20 * TIME_SCALE)) "$MICA" -d "$D" serve --http "127.0.0.1:$P1" \
		--https "127.0.0.1:$P2" "--$o" "" >/dev/null 2>"$W/s.err"
	rc=$?
	if [ "$rc" = 2 ] && [ "$(wc -l < "$W/s.err")" = 1 ]; then
		ok "serve --$o '' is a usage error"
	else
		fail "serve --$o '': exit $rc (124: it started)"
		sed 's/^/    /' "$W/s.err" | head -3
	fi
done

# --------------------------------------------- an overlong argument --
# A pasted blob taken for an option is named, not echoed whole: one line
# of a few hundred bytes, cut with "...".
long=$(head -c 100000 /dev/zero | tr '\0' x)
"$MICA" -d "$D" list "--$long" >/dev/null 2>"$W/l.err"
rc=$?
if [ "$rc" = 2 ] && [ "$(wc -l < "$W/l.err")" = 1 ] &&
   [ "$(wc -c < "$W/l.err")" -lt 600 ] && grep -q '\.\.\.' "$W/l.err"; then
	ok "an unknown option of 100000 bytes: one short line, cut"
else
	fail "an overlong option: exit $rc, $(wc -c < "$W/l.err") bytes"
fi

finish
