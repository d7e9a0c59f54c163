#!/bin/bash
# End-to-end: an offline root kept on write-protected media (README,
# "Two-tier set-up", step 1). The root's data directory is made read-only
# for real - a read-only bind mount in a private mount namespace (root),
# else, as an unprivileged user (setpriv), a copy nobody may write - and:
#  - the commands that only read (list, show, export-root, export-chain,
#    audit, profile list, request list) answer what they answer on the
#    writable store, both for a store closed cleanly (mica.db alone) and
#    for one with the empty -wal and the -shm a reader left behind;
#  - backup copies it to a writable place, and that copy restores (its key
#    opens) into the same root: OpenSSL verifies the issuing CA's
#    certificate, read from the restored copy, against it;
#  - the commands that write (crl, sign-ca, passphrase, revoke) fail with
#    exit 8 naming the store and saying it is read-only, init over it is
#    exit 6, and none of them writes an --out file or changes a byte of
#    the directory;
#  - a -wal holding changes not yet in mica.db is refused (exit 8).
#
# MICA_RO_MODE=setpriv forces the unprivileged fallback.
# Run by 'make check' (MICA_BIN set), or:
#   MICA_BIN=./mica bash tests/e2e/offline_root.sh
if [ "$(id -u)" = 0 ] && [ -z "${MICA_RO_MODE:-}" ] &&
	unshare -m --propagation private true 2>/dev/null; then
	MICA_RO_MODE=mount exec unshare -m --propagation private "$BASH" "$0" "$@"
fi
SRC=${MICA_SRCDIR:-$(dirname "$0")/../..}
. "$SRC/tests/e2e/lib.sh"

need openssl sqlite3 python3

MODE=${MICA_RO_MODE:-}
if [ "$MODE" != mount ]; then
	if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
		MODE=setpriv
	else
		skip_all "a read-only data directory needs root: a mount namespace (unshare -m) or setpriv to act as nobody"
	fi
fi
echo "# read-only by: $MODE"

export MICA_PASSPHRASE="offline root e2e passphrase"
W=$(mktmp)
cd "$W" || die "cd"
MOUNTS=()
# Lazy unmounts before lib.sh removes $TMP: a mount point cannot be removed.
_ro_exit() {
	local m
	for m in "${MOUNTS[@]}"; do
		umount -l "$m" 2>/dev/null
	done
	_on_exit
}
trap _ro_exit EXIT

m() { "$MICA" "$@"; }
# ro ARGS...: mica on the read-only root (as nobody in setpriv mode).
ro() {
	if [ "$MODE" = setpriv ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "$MICA" -d "$RO" "$@"
	else
		"$MICA" -d "$RO" "$@"
	fi
}
# state DIR: every file under DIR with its SHA-256 (the side files too).
state() { (cd "$1" && find . -print | sort | while read -r f; do
	if [ -f "$f" ]; then echo "$f $(sha256sum < "$f")"; else echo "$f"; fi
done); }
csr_sub() {
	m -d "$1" init --subordinate --name "$2" --domain contoso.test \
		--public-url http://127.0.0.1:8080 --csr-out "$1.csr" > /dev/null 2>&1 ||
		die "init --subordinate $1"
}

# -------------------------------------------------------------- set-up --
# The ceremony on a writable stick: the root, an issuing CA it signs, its CRL.
m -d R init --name "Contoso Root CA" --root-only > /dev/null 2>&1 || die "init --root-only"
csr_sub S "Contoso Issuing CA 1"
csr_sub S2 "Contoso Issuing CA 2"
m -d R sign-ca --csr S.csr --out issuing.crt > /dev/null 2>&1 || die "sign-ca"
m -d R crl --out root.crl > /dev/null 2>&1 || die "crl"
SER=$(m -d R list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["serial"])') ||
	die "no certificate on the root"
# What the reading commands say while the stick is writable.
want() { m -d R "$@" 2>/dev/null; }
W_LIST=$(want list --json)
W_SHOW=$(want show "$SER" --pem)
W_ROOT=$(want export-root --der | sha256sum)
W_CHAIN=$(want export-chain | sha256sum)
W_AUDIT=$(want audit --json --all)
W_PROF=$(want profile list)
W_REQ=$(want request list --json)
[ -n "$W_LIST" ] && [ -n "$W_SHOW" ] && [ -n "$W_AUDIT" ] || die "the writable root does not answer"

mkdir -m 700 out
if [ "$MODE" = setpriv ]; then
	chmod o+x "$TMP" "$W"
	chown 65534:65534 out
fi

# protect DIR: make DIR read-only, as a write-protected stick.
protect() {
	if [ "$MODE" = mount ]; then
		mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || die "read-only bind mount of $1"
		MOUNTS+=("$1")
	else
		chown -R 65534:65534 "$1"
		find "$1" -type f -exec chmod 400 {} +
		find "$1" -type d -exec chmod 500 {} +
	fi
}
unprotect() {
	if [ "$MODE" = mount ]; then
		umount "$1" || die "umount $1"
		unset 'MOUNTS[-1]'
	else
		find "$1" -type d -exec chmod 700 {} +
		chown -R 0:0 "$1"
	fi
}

# readers CASE: the reading commands on $RO answer as on the writable root.
readers() {
	local c=$1
	if [ "$MODE" = mount ]; then
		touch "$RO/probe" 2>/dev/null && fail "$c: the read-only mount is writable"
	else
		setpriv --reuid=65534 --regid=65534 --clear-groups touch "$RO/probe" 2>/dev/null &&
			fail "$c: nobody can write the copy"
	fi
	is "$c: list --json" "$(ro list --json 2>"$W/err")" "$W_LIST"
	is "$c: show SERIAL --pem" "$(ro show "$SER" --pem 2>>"$W/err")" "$W_SHOW"
	is "$c: export-root --der" "$(ro export-root --der 2>>"$W/err" | sha256sum)" "$W_ROOT"
	is "$c: export-chain" "$(ro export-chain 2>>"$W/err" | sha256sum)" "$W_CHAIN"
	is "$c: audit --json --all" "$(ro audit --json --all 2>>"$W/err")" "$W_AUDIT"
	is "$c: profile list" "$(ro profile list 2>>"$W/err")" "$W_PROF"
	is "$c: request list --json" "$(ro request list --json 2>>"$W/err")" "$W_REQ"
	[ -s "$W/err" ] && echo "# stderr: $(head -3 "$W/err")"

	# A backup to a writable place, restored: the same root, its key opens.
	rm -rf "$W/out/$c.db" "$W/rest-$c"
	expect_rc "$c: backup to a writable place" 0 ro backup "$W/out/$c.db"
	grep -q "not in its audit log" "$TMP/rc.err" && ok "... saying the audit log could not record it" ||
		fail "$c: backup said: $(cat "$TMP/rc.err")"
	# The name as given, shown as every echoed name is: no raw escape.
	expect_rc "$c: backup to a name with an ESC byte" 0 ro backup "$W/out/$c-$(printf '\033')[2J.db"
	grep -qF "backup written to $W/out/$c-\x1b[2J.db (the store cannot" "$TMP/rc.err" &&
		! grep -q "$(printf '\033')" "$TMP/rc.err" && ok "... names it with \\x1b, not the byte" ||
		fail "$c: backup said: $(cat -v "$TMP/rc.err")"
	expect_rc "$c: ... and the backup restores, its key opening with the passphrase" 0 \
		m -d "$W/rest-$c" restore "$W/out/$c.db"
	is "$c: ... to the same root" "$(m -d "$W/rest-$c" export-root --der 2>/dev/null | sha256sum)" "$W_ROOT"
	m -d "$W/rest-$c" export-root --pem > "$W/root-$c.pem" 2>/dev/null
	m -d "$W/rest-$c" show "$SER" --pem > "$W/iss-$c.pem" 2>/dev/null
	checkv "$c: ... under which OpenSSL verifies the issuing CA's certificate it holds" \
		openssl verify -x509_strict -CAfile "$W/root-$c.pem" "$W/iss-$c.pem"

	# Writers: exit 8 naming the store, no --out file.
	local before
	before=$(state "$RO")
	writer "$c" "crl" crl --out "$W/out/$c.crl"
	writer "$c" "sign-ca" sign-ca --csr "$W/S2.csr" --out "$W/out/$c-s2.crt"
	printf 'a brand new passphrase for the root\n' > "$W/out/new.pass"
	chmod 600 "$W/out/new.pass"
	[ "$MODE" = setpriv ] && chown 65534:65534 "$W/out/new.pass"
	writer "$c" "passphrase" passphrase --new-file "$W/out/new.pass"
	writer "$c" "revoke" revoke "$SER" --reason cACompromise
	expect_rc "$c: init over it: conflict (exit 6)" 6 ro init --name X --root-only
	grep -qF "$RO already holds a CA" "$TMP/rc.err" && ok "... naming the directory" ||
		fail "$c: init over it said: $(cat "$TMP/rc.err")"
	is "$c: no --out file was written" "$(ls "$W/out" | grep -v '\.db$\|new.pass' | tr '\n' ' ')" ""
	is "$c: the directory is unchanged, byte for byte" "$(state "$RO")" "$before"
}

# writer CASE NAME ARGS...: refused, exit 8, naming the store.
writer() {
	local c=$1 n=$2
	shift 2
	expect_rc "$c: $n refused: the store is read-only (exit 8)" 8 ro "$@"
	grep -qF "the store $RO/mica.db is read-only" "$TMP/rc.err" && ok "... naming the store" ||
		fail "$c: $n said: $(cat "$TMP/rc.err")"
}

# ------------------------------------------- closed cleanly: mica.db -----
RO=$W/clean
cp -a R "$RO"
rm -f "$RO/mica.db-wal" "$RO/mica.db-shm"
protect "$RO"
readers clean
unprotect "$RO"
is "clean: nothing appeared beside the store" "$(ls -A "$RO" | tr '\n' ' ')" "mica.db mica.db-crls "

# ------------- with the empty -wal and the -shm a reader leaves behind --
RO=$W/leftover
cp -a R "$RO"
rm -f "$RO/mica.db-wal" "$RO/mica.db-shm"
m -d "$RO" list > /dev/null 2>&1
[ -e "$RO/mica.db-shm" ] && [ -e "$RO/mica.db-wal" ] && [ ! -s "$RO/mica.db-wal" ] ||
	echo "# note: a reader left $(ls -A "$RO" | tr '\n' ' ')"
: > "$RO/mica.db-wal"
[ -e "$RO/mica.db-shm" ] || head -c 32768 /dev/zero > "$RO/mica.db-shm"
chmod 600 "$RO/mica.db-wal" "$RO/mica.db-shm"
protect "$RO"
readers leftover
unprotect "$RO"

# -------------------- a -wal holding what is not yet in the store -----
RO=$W/unflushed
cp -a R "$RO"
rm -f "$RO/mica.db-shm"
printf 'changes not yet checkpointed' > "$RO/mica.db-wal"
chmod 600 "$RO/mica.db-wal"
protect "$RO"
expect_rc "unflushed -wal: list refused (exit 8)" 8 ro list
grep -q "holds changes not yet in the store" "$TMP/rc.err" && ok "... saying why" ||
	fail "unflushed -wal: list said: $(cat "$TMP/rc.err")"
expect_rc "unflushed -wal: backup refused too (exit 8)" 8 ro backup "$W/out/unflushed.db"
[ ! -e "$W/out/unflushed.db" ] && ok "... and writes no backup" || fail "a backup of a store missing its -wal was written"
unprotect "$RO"

# ---------- a folder this user may not write, the store's files his ----
# SQLite opens the store to write, then cannot make its -wal or -shm
# beside it: the same "read-only" store, and backup copies it all the
# same (README, the offline root).
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	RO=$W/folder
	cp -a R "$RO"
	rm -f "$RO/mica.db-wal" "$RO/mica.db-shm"
	mkdir -m 700 "$W/out-nobody"
	chmod o+x "$TMP" "$W"
	chown -R 65534:65534 "$RO" "$W/out-nobody"
	chmod 500 "$RO"
	nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$MICA" -d "$RO" "$@"; }
	expect_rc "folder: list by the store's owner" 0 nobody list
	expect_rc "folder: backup to a writable place" 0 nobody backup "$W/out-nobody/f.db"
	grep -q "not in its audit log" "$TMP/rc.err" && ok "... saying the audit log could not record it" ||
		fail "folder: backup said: $(cat "$TMP/rc.err")"
	expect_rc "folder: ... and the backup restores" 0 m -d "$W/rest-folder" restore "$W/out-nobody/f.db"
	is "folder: ... to the same root" "$(m -d "$W/rest-folder" export-root --der 2>/dev/null | sha256sum)" "$W_ROOT"
	expect_rc "folder: crl refused: the store is read-only (exit 8)" 8 nobody crl
	grep -qF "the store $RO/mica.db is read-only" "$TMP/rc.err" && ok "... naming the store" ||
		fail "folder: crl said: $(cat "$TMP/rc.err")"
	chmod 700 "$RO"
	chown -R 0:0 "$RO"
else
	skip "a folder nobody may write" "needs root and setpriv"
fi

# --------------------------------------------- what a request may name --
# A root without a public URL takes the CDP and caIssuers URLs from the
# request: only http, https or ldap ones (a file:/// or javascript: URL
# went into the signed CA certificate), and --crl-url over 1024
# characters is refused (it was cut, naming another place).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/odd.key" \
	-subj "/CN=Odd Issuing CA" -addext "basicConstraints=critical,CA:true" \
	-addext "nameConstraints=critical,permitted;DNS:contoso.test" \
	-addext "crlDistributionPoints=URI:file:///etc/passwd" \
	-addext "authorityInfoAccess=caIssuers;URI:javascript:alert(1)" -out "$W/odd.csr" 2>/dev/null ||
	die "openssl req (odd URLs)"
m -d R sign-ca --csr "$W/odd.csr" --out "$W/odd.crt" >/dev/null 2>"$W/odd.err"
is "sign-ca of a request naming file: and javascript: URLs: signed" "$?" 0
if openssl x509 -in "$W/odd.crt" -noout -text > "$W/odd.txt" 2>/dev/null &&
	! grep -q "file:\|javascript:" "$W/odd.txt"; then
	ok "... without either URL"
else
	fail "the CA certificate names: $(grep -E 'URI:' "$W/odd.txt")"
fi
grep -q "not an http, https or ldap URL: left out" "$W/odd.err" &&
	ok "... saying the request's URLs were left out" || fail "sign-ca said: $(cat "$W/odd.err")"
expect_rc "sign-ca --crl-url of 2000 characters: refused (2)" 2 \
	m -d R sign-ca --csr "$W/odd.csr" --out "$W/odd2.crt" --crl-url "http://x.test/$(printf '%02000d' 0)"

finish
