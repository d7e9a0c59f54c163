#!/bin/bash
# Backup and restore (issue 6, promise 7). While four clients enroll
# continuously against `mica serve` (the API over loopback HTTP), `mica
# backup FILE` runs three times. Each backup:
#   - is taken without disturbing the clients, is mode 0600, and passes
#     PRAGMA integrity_check;
#   - restored with `mica restore` into an empty data directory, gives a CA
#     that serves the same root (export-root --der identical), knows every
#     certificate the clients had received before the backup started (byte
#     for byte), keeps the revocations made before it (with their reason),
#     and continues CRL numbering (a new `mica crl` has a greater number
#     than the backup's last); a new certificate gets a serial the backup
#     does not hold.
# `mica restore` refuses a data directory that holds a CA and a file that is
# not a mica database, changing nothing. It reads a backup without writing
# it or leaving -wal/-shm beside it; refuses (exit 3, creating nothing) a
# backup whose schema is not exactly mica's (a trigger dropped or added, an
# extra table or index, a changed index) or whose CA row does not parse;
# and restores a backup of the previous schema version, upgrading the copy
# to the newest while the backup stays byte for byte the same. A daemon on
# the restored directory
# starts, serves the same /ca.crt, a CRL with the revocations, and the old
# admin token.
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3 sqlite3
SRC=${MICA_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TOOL="$SRC/tests/tools/enroll.py"
[ -f "$TOOL" ] || die "$TOOL not found"

CLIENTS=4
BACKUPS=3
W=$(mktmp)
D=$W/data
DB=$D/mica.db
serve_ports     # HP, SP, H: the same for the daemon on the restored copy
CPIDS=


# Stop exactly what this script started, by PID: the clients and the
# daemon of the moment (reaped ones are forgotten, so no PID is reused).
stop_all() {
	touch "$W/stop" 2>/dev/null
	for p in $CPIDS; do kill "$p" 2>/dev/null; done
	serve_stop
	for p in $CPIDS; do wait "$p" 2>/dev/null; done
	CPIDS=
}
trap 'stop_all; _on_exit' EXIT

stop_daemon() {
	serve_stop
	is "$1" "$SERVE_RC" 0
}

# api METHOD PATH [curl options...]: status in $CODE, body in $W/body
api() {
	local m=$1 p=$2
	shift 2
	CODE=$(curl -s --max-time $((15 * TIME_SCALE)) -X "$m" -o "$W/body" -w '%{http_code}' "$@" "$H$p") || true
}
jget() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$W/body" "$1" 2>/dev/null; }

mkcsr() { # mkcsr NAME HOST: $W/NAME.der
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$W/$1.key" -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
		-outform der -out "$W/$1.der" 2>/dev/null || die "openssl req $1"
}

enroll() { # enroll NAME: the serial of a new certificate for $W/NAME.der
	api POST "/api/v1/requests?profile=server" -H "Authorization: Bearer $ET" \
		-H 'Content-Type: application/pkcs10' --data-binary @"$W/$1.der"
	[ "$CODE" = 201 ] || die "enrollment of $1 answered $CODE: $(head -c 200 "$W/body")"
	jget serial
}

revoke() { # revoke SERIAL REASON
	api POST "/api/v1/certificates/$1/revoke" -H "Authorization: Bearer $ADM" \
		-H 'Content-Type: application/json' -d "{\"reason\": \"$2\"}"
	is "revoke $1 ($2)" "$CODE" 200
}

# ------------------------------------------------------------- set-up --

serve_start "$W/out" "$D" -- --log "$W/out.log" --threads 4 --domain contoso.test \
	--public-url "$H" || serve_failed "$W/out"
serve_facts "$W/out" "$W"
PASS_VALUE=$(cat "$D/passphrase") || die "no passphrase file"
ET=$("$MICA" -d "$D" token create --enroll --uses -1 --comment "backup test" 2>/dev/null) ||
	die "mica token create --enroll"

# A revocation before any backup.
mkcsr gone gone.contoso.test
REV1=$(enroll gone)
revoke "$REV1" keyCompromise

CDIRS=()
for i in $(seq 1 $CLIENTS); do
	CDIRS+=("$W/client$i")
	mkcsr "c$i" "c$i.backup.contoso.test"
	"$PYTHON3" "$TOOL" loop --url "$H" --token "$ET" --csr "$W/c$i.der" --source "127.0.0.$((10 + i))" \
		--out "$W/client$i" --stop "$W/stop" 2>"$W/client$i.err" &
	CPIDS="$CPIDS $!"
done

# --------------------------------------------------- online backups --

# every_client_has N: each client holds at least N certificates.
every_client_has() {
	local d
	for d in "${CDIRS[@]}"; do
		[ "$(find "$d" -name '*.pem' 2>/dev/null | wc -l)" -ge "$1" ] || return 1
	done
}

REV2=
for b in $(seq 1 $BACKUPS); do
	# Backup b is taken once every client has received b certificates: the
	# clients are enrolling, and (b = 1) client 1 has one to revoke later.
	wait_for "every client has $b certificate(s) before backup $b" 120 every_client_has "$b" ||
		die "the clients did not receive $b certificate(s) each within $((120 * TIME_SCALE)) s; $(cat "$W"/client*.err | head -3)"
	if [ "$b" = 2 ]; then
		# A revocation between backups of a certificate received before
		# backup 1: valid in backup 1, revoked in backups 2 and 3.
		REV2=$(grep '/client1/' "$W/before1.list" | head -1 | sed 's|.*/||; s/\.pem$//')
		[ -n "$REV2" ] || die "client 1 had no certificate before backup 1"
		revoke "$REV2" superseded
	fi
	# What the clients hold before the backup starts must be in it.
	find "${CDIRS[@]}" -name '*.pem' 2>/dev/null | sort > "$W/before$b.list"
	if "$MICA" -d "$D" backup "$W/backup$b.db" > "$W/backup$b.out" 2>&1; then
		ok "backup $b while $CLIENTS clients enroll ($(wc -l < "$W/before$b.list") certificates received so far)"
	else
		fail "mica backup $b: $(cat "$W/backup$b.out")"
	fi
done
touch "$W/stop"
for p in $CPIDS; do wait "$p" 2>/dev/null; done
CPIDS=
# Backups while the daemon publishes CRLs back to back: each publication
# prunes the CRL bodies two behind, perhaps the newest of a backup's
# snapshot (read beside the store after its pages are copied); the
# backup then copies again. About one in fifteen failed, saying a CRL
# was missing or damaged.
: > "$W/crl.stop"
( while [ ! -s "$W/crl.stop" ]; do
	api POST /api/v1/crl -H "Authorization: Bearer $ADM" >/dev/null 2>&1
done ) &
PUBPID=$!
on_exit_kill "$PUBPID"
CRL_BK=0
for b in $(seq 1 15); do
	"$MICA" -d "$D" backup "$W/crlrace$b.db" > "$W/crlrace$b.out" 2>&1 && CRL_BK=$((CRL_BK + 1)) ||
		echo "# crlrace $b: $(cat "$W/crlrace$b.out")"
done
echo stop > "$W/crl.stop"
wait "$PUBPID" 2>/dev/null
on_exit_forget "$PUBPID"
is "15 backups while CRLs are published back to back: all taken" "$CRL_BK" 15
rm -f "$W"/crlrace*.db
mkdir -p "$W/bdir"
expect_rc "backup into a directory: refused as a usage error (exit 2, as --out)" 2 "$MICA" -d "$D" backup "$W/bdir"
grep -qF "$W/bdir is a directory; give the backup a file name in it" "$TMP/rc.err" &&
	ok "... saying to name a file in it" || fail "backup into a directory said: $(cat "$TMP/rc.err")"
[ -z "$(ls -A "$W/bdir")" ] && ok "... and writes nothing there" || fail "backup left $(ls -A "$W/bdir") in a directory it refused"

TOTAL=0
CLEAN=yes
for i in $(seq 1 $CLIENTS); do
	st=$(cat "$W/client$i.stats" 2>/dev/null)
	echo "# client $i: $st"
	n=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["issued"] if j["transport_errors"] == 0 and list(j["status"]) == ["201"] else -1)' \
		"$W/client$i.stats" 2>/dev/null)
	case $n in ''|-1) CLEAN=no ;; *) TOTAL=$((TOTAL + n)) ;; esac
done
is "every enrollment during the backups answered 201, no connection failed" "$CLEAN" yes
checkv "the live store has every certificate the clients received ($TOTAL)" \
	python3 "$TOOL" check --db "$DB" --min "$TOTAL" "${CDIRS[@]}"
stop_daemon "the daemon stops cleanly after the backups"

# ----------------------------------------------------------- restores --

# The CRLs the original published after each backup: a restored store
# must not give their numbers to other lists (RFC 5280 5.2.3).
ORIGN=$(sqlite3 "$D/mica.db" 'SELECT max(number) FROM crl')
for b in $(seq 1 $BACKUPS); do
	F=$W/backup$b.db
	R=$W/restore$b
	echo "# backup $b"
	is "backup $b is mode 0600" "$(stat -c %a "$F" 2>/dev/null)" 600
	# integrity_check on a copy: opening the backup may leave -wal/-shm beside it.
	cp "$F" "$W/copy$b.db"
	is "backup $b passes PRAGMA integrity_check" "$(sqlite3 "$W/copy$b.db" 'PRAGMA integrity_check')" ok
	LASTN=$(sqlite3 "$W/copy$b.db" 'SELECT max(number) FROM crl')

	if MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$R" restore "$F" > "$W/restore$b.out" 2>&1; then
		ok "mica restore of backup $b into an empty directory"
	else
		fail "mica restore $b: $(cat "$W/restore$b.out")"
		continue
	fi
	# A revocation made after the backup is undone by the restore: the
	# admin must be told to make it again.
	grep -q "revoked since is valid again here" "$W/restore$b.out" &&
		ok "restore $b says that revocations made after the backup are not in it" ||
		fail "restore $b says nothing of what the CA did after the backup: $(cat "$W/restore$b.out")"
	"$MICA" -d "$R" export-root --der --out "$W/root$b.der" 2>/dev/null
	cmp -s "$W/root$b.der" "$W/root.der" && ok "the restored CA has the same root (export-root --der)" ||
		fail "the restored root differs"
	checkv "it knows every certificate received before backup $b started, byte for byte" \
		python3 "$TOOL" check --db "$R/mica.db" --list "$W/before$b.list" \
		--min "$(wc -l < "$W/before$b.list")" "${CDIRS[@]}"
	is "it keeps the revocation made before all backups (keyCompromise)" \
		"$(sqlite3 "$R/mica.db" "SELECT status, reason FROM certificate WHERE serial = '$REV1'")" "2|1"
	if [ "$b" -ge 2 ]; then
		is "it keeps the revocation made before backup $b (superseded)" \
			"$(sqlite3 "$R/mica.db" "SELECT status, reason FROM certificate WHERE serial = '$REV2'")" "2|4"
	else
		is "it does not know the revocation made after backup 1" \
			"$(sqlite3 "$R/mica.db" "SELECT status FROM certificate WHERE serial = '$REV2'")" 1
	fi
	"$MICA" -d "$R" show "$REV1" > "$W/show$b.txt" 2>&1
	grep -qi "revoked" "$W/show$b.txt" && ok "mica show in the restored directory says revoked" ||
		fail "mica show $REV1: $(head -3 "$W/show$b.txt")"
	if MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$R" crl --out "$W/new$b.crl" > /dev/null 2>"$W/crl$b.err"; then
		NEWN=$(openssl crl -inform der -in "$W/new$b.crl" -noout -crlnumber 2>/dev/null | sed 's/.*=//')
		if [ -n "$NEWN" ] && [ -n "$LASTN" ] && [ "$((NEWN))" -gt "$LASTN" ]; then
			ok "a new CRL continues the numbering ($((NEWN)) after the backup's $LASTN)"
		else
			fail "new CRL number '$NEWN' after the backup's '$LASTN'"
		fi
		if [ -n "$NEWN" ] && [ -n "$ORIGN" ] && [ "$((NEWN))" -gt "$ORIGN" ]; then
			ok "... above every number the original published after the backup ($ORIGN)"
		else
			fail "new CRL number '$NEWN' reuses one of the original's (up to '$ORIGN')"
		fi
		openssl crl -inform der -in "$W/new$b.crl" -noout -text 2>/dev/null | tr -d ' ' |
			grep -qix "SerialNumber:0*$REV1" && ok "... and lists the revocation" || fail "revocation not on the new CRL"
	else
		fail "mica crl in the restored directory: $(cat "$W/crl$b.err")"
	fi
	openssl req -new -key "$W/c1.key" -subj /CN=after.backup.contoso.test \
		-addext subjectAltName=DNS:after.backup.contoso.test -out "$W/after$b.csr" 2>/dev/null
	if MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$R" issue --csr "$W/after$b.csr" --out "$W/after$b.pem" \
		> /dev/null 2>"$W/issue$b.err"; then
		NS=$(openssl x509 -in "$W/after$b.pem" -noout -serial | sed 's/.*=//' | tr 'A-F' 'a-f' | sed 's/^\(00\)*//')
		is "a new certificate gets a serial the backup does not hold" \
			"$(sqlite3 "$W/copy$b.db" "SELECT count(*) FROM certificate WHERE serial = '$NS'")" 0
		openssl verify -CAfile "$W/root.pem" "$W/after$b.pem" > /dev/null 2>&1 &&
			ok "... and verifies against the same root" || fail "new certificate does not verify"
	else
		fail "mica issue in the restored directory: $(cat "$W/issue$b.err")"
	fi
	rm -f "$W/copy$b.db"*
done
# A restored store that published CRLs faster than one a second (a revoke
# loop publishes one per revocation) ran ahead of the clock in seconds;
# restored in turn from its backup within that lead, the copy gave its
# numbers again, lower than its last. The floor is in microseconds now.
R1=$W/restore1
FASTN=40
for i in $(seq $FASTN); do
	MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$R1" crl >/dev/null 2>&1 || die "mica crl $i in restore1"
done
"$MICA" -d "$R1" backup "$W/backup-r1.db" >/dev/null 2>&1 || die "mica backup of restore1"
for i in $(seq 5); do
	MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$R1" crl >/dev/null 2>&1 || die "mica crl after the backup"
done
R1N=$(sqlite3 "$R1/mica.db" 'SELECT max(number) FROM crl')
if MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$W/restore-r1" restore "$W/backup-r1.db" >/dev/null 2>&1 &&
	MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$W/restore-r1" crl --out "$W/r1again.crl" >/dev/null 2>&1; then
	R2N=$(openssl crl -inform der -in "$W/r1again.crl" -noout -crlnumber 2>/dev/null | sed 's/.*=//')
	if [ -n "$R2N" ] && [ "$((R2N))" -gt "$R1N" ]; then
		ok "a restore of a restored store that published $FASTN CRLs in a burst numbers above all of them ($((R2N)) > $R1N)"
	else
		fail "restore of a restored store: CRL number '$R2N' not above its last, $R1N"
	fi
else
	fail "restore of restore1's backup, or its first CRL"
fi

for b in $(seq 1 $BACKUPS); do
	F=$W/backup$b.db
	[ ! -e "$F-wal" ] && [ ! -e "$F-shm" ] && ok "restore leaves no -wal/-shm beside backup $b" ||
		fail "restore left $(ls "$F"-* 2>/dev/null | tr '\n' ' ')beside backup $b"
done

# --------------------------------------------------------- refusals --

db_dump "$D" > "$W/before.sql"
expect_rc "restore refuses a directory that holds a CA" 6 \
	env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$D" restore "$W/backup1.db"
db_dump "$D" > "$W/after.sql"
cmp -s "$W/before.sql" "$W/after.sql" && ok "... and changes nothing there" || fail "the existing store changed"
head -c 8192 "$W/backup$BACKUPS.db" > "$W/truncated.db"
echo "not a database" > "$W/garbage.db"
chmod 600 "$W/truncated.db" "$W/garbage.db"  # refused for what they hold, not their mode
for bad in truncated garbage; do
	MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$W/bad-$bad" restore "$W/$bad.db" > "$W/bad-$bad.out" 2>&1
	rc=$?
	is "restore refuses a $bad file as malformed input, exit 3 ($(tail -1 "$W/bad-$bad.out"))" "$rc" 3
	"$MICA" -d "$W/bad-$bad" export-root --der > /dev/null 2>&1 &&
		fail "a CA exists after refusing a $bad file" || ok "... and leaves no CA behind"
done

# ------------------------------------------ hostile and older backups --

NEWEST=$(ls "$SRC/schema" | sed -n 's/^0*\([0-9][0-9]*\)_.*\.sql$/\1/p' | sort -n | tail -1)
# The schema before the eight newest migrations.
PREV=$(ls "$SRC/schema" | sed -n 's/^0*\([0-9][0-9]*\)_.*\.sql$/\1/p' | sort -n | tail -9 | head -1)

# tamper NAME SQL: $W/NAME.db, backup 1 changed by SQL, mode 0600.
tamper() {
	cp "$W/backup1.db" "$W/$1.db" && chmod 600 "$W/$1.db" &&
		sqlite3 "$W/$1.db" "$2" > /dev/null || die "sqlite3 on $1.db"
}

# refused NAME WHAT MESSAGE: restoring $W/NAME.db exits 3 saying MESSAGE,
# and the data directory it named does not exist afterwards.
refused() {
	expect_rc "restore refuses a backup with $2 (exit 3)" 3 "$MICA" -d "$W/r-$1" restore "$W/$1.db"
	grep -qF -- "$3" "$TMP/rc.err" && ok "... saying \"$3\"" ||
		fail "restore's message for $2: $(head -1 "$TMP/rc.err")"
	[ ! -e "$W/r-$1" ] && ok "... and creates no data directory" ||
		fail "restore left $(ls -A "$W/r-$1" | tr '\n' ' ')in $W/r-$1"
}

tamper nodel "DROP TRIGGER compromised_key_no_delete;
CREATE TRIGGER x AFTER INSERT ON compromised_key BEGIN
DELETE FROM compromised_key WHERE spki_sha256 = new.spki_sha256; END;"
refused nodel "the compromised-key trigger swapped" "trigger compromised_key_no_delete is missing"
# This one would fire on the restore's own audit row.
tamper audtrig "CREATE TRIGGER y AFTER INSERT ON audit BEGIN
UPDATE ca SET public_url = 'http://evil.test'; END;"
refused audtrig "a trigger added on audit" "unknown trigger y"
tamper xtable "CREATE TABLE zz (a)"
refused xtable "an extra table" "unknown table zz"
tamper xindex "CREATE INDEX zi ON audit (action)"
refused xindex "an extra index" "unknown index zi"
tamper chindex "DROP INDEX audit_by_at; CREATE INDEX audit_by_at ON audit (at DESC)"
refused chindex "a changed index" "index audit_by_at is changed"
tamper badcert "UPDATE ca SET cert_der = x'3003020101'"
refused badcert "a CA certificate that does not parse" "holds an unusable CA"
tamper badtype "UPDATE ca SET key_type = 'rsa-1'"
refused badtype "an unknown CA key type" "holds an unusable CA"
# Values init would never take: refused now, not at the first CRL or serve.
tamper badurl "UPDATE ca SET public_url = 'http://ca.contoso.test' || char(10) || 'x'"
refused badurl "a public URL with a newline in it" "public URL is not a URL mica init would take"
tamper longcrl "UPDATE ca SET crl_days = 2000000000"
refused longcrl "a CRL validity of two billion days" "CRL validity (2000000000 days) is not 1 to 365"
# A newer mica's backup is unusable here: exit 3, not 8 (store unavailable).
tamper future "PRAGMA user_version = $((NEWEST + 1))"
refused future "a newer mica's schema version" "comes from a newer mica"
# A store copied by hand keeps its CRLs in mica.db-crls beside it: without
# that folder it is no backup (exit 3 saying so; it was exit 1, "publish
# a new CRL", in a directory that had no CA to publish one); with it
# copied alongside under FILE-crls it restores.
sqlite3 "$D/mica.db" ".backup '$W/handcopy.db'" && chmod 600 "$W/handcopy.db" || die "sqlite3 .backup"
refused handcopy "a store copied by hand without its CRLs' folder" "keeps its CRLs in a folder beside it"
[ "$(grep -c . "$TMP/rc.err")" = 1 ] && ok "... in one line" || fail "restore said: $(cat "$TMP/rc.err")"
cp -r "$D/mica.db-crls" "$W/handcopy.db-crls"
expect_rc "... and restores with the folder copied beside it" 0 \
	env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$W/r-handcopy2" restore "$W/handcopy.db"
# Into an existing empty directory: refused, and it stays empty.
mkdir -m 700 "$W/r-empty"
expect_rc "restore into an existing empty directory refuses a tampered backup" 3 \
	"$MICA" -d "$W/r-empty" restore "$W/nodel.db"
is "... and leaves the directory empty" "$(ls -A "$W/r-empty")" ""

# A backup of an older schema: the eight newest migrations undone (026
# adds an index, 025 a column; 024 an index; 023 a column, two indexes with it in place
# of two without, and a trigger; 022 only adds rows, to an empty queue
# here; 021 redefines an index, 020 adds one, 019 columns).
tamper old "DROP INDEX scep_tx_by_serial; ALTER TABLE ca DROP COLUMN restored_floor;
	DROP INDEX certificate_by_token;
	DROP TRIGGER ocsp_response_forget_invalid;
	DROP INDEX certificate_crl; DROP INDEX certificate_crl_by_key;
	CREATE INDEX certificate_revoked
	ON certificate (serial, not_after, revoked_at, reason, status)
	WHERE status = 2;
	CREATE INDEX certificate_revoked_by_key
	ON certificate (key_idx, serial, not_after, revoked_at, reason, status)
	WHERE status = 2;
	ALTER TABLE certificate DROP COLUMN invalid_at;
	DROP INDEX acme_order_by_account;
	CREATE INDEX acme_order_by_account ON acme_order (account_id, created_at);
	DROP INDEX token_usable;
	DROP INDEX acme_order_processing; ALTER TABLE certificate DROP COLUMN token_id;
	ALTER TABLE ca DROP COLUMN restored_at; ALTER TABLE ca DROP COLUMN crl_floor;
	PRAGMA user_version = $PREV"
SUM=$(sha256sum < "$W/old.db")
expect_rc "restore of a backup of schema $PREV (before the eight newest) succeeds" 0 \
	"$MICA" -d "$W/r-old" restore "$W/old.db"
is "the restored store is at the newest schema ($NEWEST)" \
	"$(sqlite3 "$W/r-old/mica.db" 'PRAGMA user_version')" "$NEWEST"
is "... passes PRAGMA integrity_check" "$(sqlite3 "$W/r-old/mica.db" 'PRAGMA integrity_check')" ok
is "... has the column the upgrade adds" \
	"$(sqlite3 "$W/r-old/mica.db" "SELECT count(*) FROM pragma_table_info('certificate') WHERE name = 'token_id'")" 1
is "... and the index" \
	"$(sqlite3 "$W/r-old/mica.db" "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'token_usable'")" 1
is "... and schema 023's column" \
	"$(sqlite3 "$W/r-old/mica.db" "SELECT count(*) FROM pragma_table_info('certificate') WHERE name = 'invalid_at'")" 1
"$MICA" -d "$W/r-old" export-root --der --out "$W/root-old.der" 2>/dev/null
cmp -s "$W/root-old.der" "$W/root.der" && ok "... and serves the same root" || fail "the root restored from schema $PREV differs"
is "the backup file is unchanged (SHA-256)" "$(sha256sum < "$W/old.db")" "$SUM"
[ ! -e "$W/old.db-wal" ] && [ ! -e "$W/old.db-shm" ] && ok "... with no -wal/-shm beside it" ||
	fail "restore left -wal/-shm beside the old backup"

# The sealed keys: checked when a passphrase is at hand, and a backup
# whose key does not open is refused before anything is restored.
tamper damkey "UPDATE ca SET key_ct = zeroblob(length(key_ct))"
expect_rc "restore with the passphrase refuses a backup whose sealed key is damaged (exit 7)" 7 \
	env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$W/r-damkey" restore "$W/damkey.db"
grep -qF "nothing restored" "$TMP/rc.err" && ok "... saying nothing was restored" ||
	fail "restore's message for a damaged key: $(head -1 "$TMP/rc.err")"
[ ! -e "$W/r-damkey" ] && ok "... and creates no data directory" ||
	fail "restore left $(ls -A "$W/r-damkey" | tr '\n' ' ')in $W/r-damkey"
expect_rc "restore without a passphrase cannot check the key: exit 0" 0 \
	env -u MICA_PASSPHRASE "$MICA" -d "$W/r-damkey2" restore "$W/damkey.db"
grep -q "key was not checked" "$TMP/rc.err" && ok "... and says the key was not checked" ||
	fail "restore without a passphrase said: $(cat "$TMP/rc.err")"
# The note once stopped mid-sentence ("the first command that needs it will").
grep -q "the first command that needs the key refuses one that does not open$" "$TMP/rc.err" &&
	ok "... and what happens then, in a whole sentence" ||
	fail "restore's note on the unchecked key: $(tail -1 "$TMP/rc.err")"
expect_rc "... and the first command that needs it refuses it (exit 7)" 7 \
	env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$W/r-damkey2" crl --out "$W/damkey.crl"
# One byte changed, as a failing disk or a bad copy changes it: in the
# middle of the sealed key, in its last byte (the AES-GCM tag), in the
# nonce and in the salt. AES-GCM's tag catches each: exit 7 with the
# passphrase, and said unchecked without it. (Python flips the byte:
# SQLite's || turns blobs into text, which a NUL byte cuts short.)
flip() {
	python3 - "$@" <<'PY'
import sqlite3, sys
path, col, at = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(path)
b = bytearray(db.execute("SELECT %s FROM ca" % col).fetchone()[0])
b[at] ^= 0x01
db.execute("UPDATE ca SET %s = ?" % col, (bytes(b),))
db.commit()
db.close()
PY
}
for spot in "key_ct 10" "key_ct -1" "key_nonce 0" "key_salt 0"; do
	read -r col at <<< "$spot"
	F=$W/flip-$col$at.db
	cp "$W/backup1.db" "$F" && chmod 600 "$F" && flip "$F" "$col" "$at" ||
		die "flip a byte of $col in a copy of backup1.db"
	is "one byte of $col (at $at) differs in the copy (same length)" \
		"$(sqlite3 -cmd "ATTACH '$W/backup1.db' AS b1" "$F" \
			"SELECT length($col) = (SELECT length($col) FROM b1.ca) AND
			 $col <> (SELECT $col FROM b1.ca) FROM main.ca")" 1
	expect_rc "restore with the passphrase refuses a backup with that byte flipped (exit 7)" 7 \
		env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$W/r-flip" restore "$F"
	grep -qF "damaged sealed key; nothing restored" "$TMP/rc.err" && ok "... saying so" ||
		fail "restore's message for a flipped byte of $col: $(head -1 "$TMP/rc.err")"
	[ ! -e "$W/r-flip" ] && ok "... and creates no data directory" ||
		fail "restore left $(ls -A "$W/r-flip" | tr '\n' ' ')in $W/r-flip"
	expect_rc "restore without a passphrase restores it (exit 0)" 0 \
		env -u MICA_PASSPHRASE "$MICA" -d "$W/r-flip2" restore "$F"
	grep -q "the sealed CA key was not checked" "$TMP/rc.err" && ok "... saying the key was not checked" ||
		fail "restore without a passphrase said: $(cat "$TMP/rc.err")"
	rm -rf "$W/r-flip2"
done
printf 'not the passphrase of this CA\n' > "$W/wrong.pass"
printf '%s\n' "$PASS_VALUE" > "$W/right.pass"
chmod 600 "$W/wrong.pass" "$W/right.pass"
expect_rc "restore --passphrase-file with a wrong passphrase refuses an intact backup (exit 7)" 7 \
	env -u MICA_PASSPHRASE "$MICA" -d "$W/r-wrong" restore --passphrase-file "$W/wrong.pass" "$W/backup1.db"
[ ! -e "$W/r-wrong" ] && ok "... and creates no data directory" ||
	fail "restore left $(ls -A "$W/r-wrong" | tr '\n' ' ')in $W/r-wrong"
expect_rc "restore --passphrase-file with the right one (exit 0)" 0 \
	env -u MICA_PASSPHRASE "$MICA" -d "$W/r-right" restore --passphrase-file "$W/right.pass" -- "$W/backup1.db"
grep -q "keys open with the passphrase" "$TMP/rc.err" && ok "... saying the keys open" ||
	fail "restore with the right passphrase said: $(cat "$TMP/rc.err")"
# A sealed key that opens but is another CA's (sealed under the same
# passphrase): it would sign what nobody can verify. Refused too.
MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$W/other-ca" init --name "Other CA" --public-url http://other.test > /dev/null 2>&1 ||
	die "init of another CA under the same passphrase"
tamper swapkey "ATTACH '$W/other-ca/mica.db' AS o; UPDATE ca SET
	key_salt = (SELECT key_salt FROM o.ca), key_iter = (SELECT key_iter FROM o.ca),
	key_nonce = (SELECT key_nonce FROM o.ca), key_ct = (SELECT key_ct FROM o.ca)"
expect_rc "restore refuses a sealed key that is not its certificate's (exit 3)" 3 \
	env -u MICA_PASSPHRASE "$MICA" -d "$W/r-swapkey" restore --passphrase-file "$W/right.pass" "$W/swapkey.db"
grep -q "not the key of its certificate" "$TMP/rc.err" && ok "... saying so" ||
	fail "restore of a swapped key said: $(cat "$TMP/rc.err")"
[ ! -e "$W/r-swapkey" ] && ok "... and creates no data directory" ||
	fail "restore left $(ls -A "$W/r-swapkey" | tr '\n' ' ')in $W/r-swapkey"
chmod 644 "$W/right.pass"
expect_rc "restore refuses a passphrase file that does not exist (exit 3)" 3 \
	env -u MICA_PASSPHRASE "$MICA" -d "$W/r-nopass" restore --passphrase-file "$W/no-such.pass" "$W/backup1.db"
[ ! -e "$W/r-nopass" ] && ok "... before creating anything" ||
	fail "restore left $(ls -A "$W/r-nopass" | tr '\n' ' ')in $W/r-nopass"
expect_rc "restore refuses a passphrase file others may read (exit 9)" 9 \
	env -u MICA_PASSPHRASE "$MICA" -d "$W/r-open" restore --passphrase-file "$W/right.pass" "$W/backup1.db"
[ ! -e "$W/r-open" ] && ok "... and creates no data directory" ||
	fail "restore left $(ls -A "$W/r-open" | tr '\n' ' ')in $W/r-open"

# What is in the way in DIR is named by its path, never as "the backup
# file" (which reads as FILE, the one the user gave).
mkdir -m 700 "$W/r-stale"
: > "$W/r-stale/mica.db-wal"
expect_rc "restore into a directory with a stale mica.db-wal exits 6" 6 \
	env -u MICA_PASSPHRASE "$MICA" -d "$W/r-stale" restore "$W/backup1.db"
grep -qF "$W/r-stale/mica.db-wal exists" "$TMP/rc.err" && ok "... naming it" ||
	fail "restore's message for a stale -wal: $(cat "$TMP/rc.err")"
is "... and leaves only it there" "$(ls -A "$W/r-stale")" "mica.db-wal"
# A restore killed while it copies leaves its partial copy, never a
# mica.db: nothing takes the directory for a CA, and the next restore
# removes the leftover (the copy's own journal too) and restores.
mkdir -m 700 "$W/r-killed"
head -c 8192 "$W/backup1.db" > "$W/r-killed/mica.db.partial"
: > "$W/r-killed/mica.db.partial-journal"
: > "$W/r-killed/mica.db.partial.tmp-Ab12Cd"
expect_rc "after a killed restore, list says there is no CA (exit 5)" 5 \
	"$MICA" -d "$W/r-killed" list
expect_rc "... and restore again succeeds" 0 \
	env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$W/r-killed" restore "$W/backup1.db"
is "... leaving only the store" "$(ls -A "$W/r-killed" | tr '\n' ' ')" "mica.db "
# Killed for real, at a moment that varies: either nothing is named
# mica.db, or the store is whole and the next restore refuses it.
for delay in 0.05 0.15 0.3 0.6; do
	rm -rf "$W/r-kill"
	# (Not the subshell's last command: it would exec timeout, and this
	# shell print the kill.)
	( timeout -s KILL "$delay" env MICA_PASSPHRASE="$PASS_VALUE" \
		"$MICA" -d "$W/r-kill" restore "$W/backup1.db"; : ) > /dev/null 2>&1
	if [ -e "$W/r-kill/mica.db" ]; then
		is "restore killed after $delay s: the store it named is whole" \
			"$(sqlite3 "$W/r-kill/mica.db" 'PRAGMA integrity_check')" ok
	else
		env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$W/r-kill" restore "$W/backup1.db" \
			> /dev/null 2>"$W/rkill.err"
		is "restore killed after $delay s, no store named: the next one restores" \
			"$? $(ls -A "$W/r-kill" | tr '\n' ' ')" "0 mica.db "
	fi
done
# Two restores into one directory at once: one restores, the other is
# refused (exit 6) and leaves the first one's store whole.
for i in 1 2; do
	env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$W/r-twice" restore "$W/backup1.db" \
		> /dev/null 2>"$W/twice$i.err" &
	eval "TW$i=\$!"
done
wait "$TW1"; T1=$?
wait "$TW2"; T2=$?
is "two restores into one directory at once: one exits 0, the other 6" "$(printf '%s\n' "$T1" "$T2" | sort | tr '\n' ' ')" "0 6 "
grep -q "backup file" "$W/twice1.err" "$W/twice2.err" &&
	fail "the refused one speaks of the backup file: $(cat "$W/twice1.err" "$W/twice2.err")" ||
	ok "... the refused one names what is in the way: $(cat "$W/twice1.err" "$W/twice2.err")"
"$MICA" -d "$W/r-twice" export-root --der --out "$W/root-twice.der" 2>/dev/null
cmp -s "$W/root-twice.der" "$W/root.der" && ok "... and the restored store serves the same root" ||
	fail "the store two restores raced for does not serve the root"
# The same race, held at the moment it went wrong: the restore that made
# the directory finds another holding its lock (flock(1) standing in for
# it, as a restore that came second to mkdir but first to the lock), is
# refused - and leaves the directory the other one writes into.
if command -v flock >/dev/null; then
	rm -f "$W/g9" "$W/g9.reached"
	MICA_TEST_RESTORE_DIR_GATE=$W/g9 env MICA_PASSPHRASE="$PASS_VALUE" \
		"$MICA" -d "$W/r-held" restore "$W/backup1.db" > /dev/null 2>"$W/held.err" &
	RH=$!
	on_exit_kill "$RH"
	if wait_for "the restore to make its directory" 60 test -s "$W/g9.reached"; then
		flock -x "$W/r-held" sh -c "touch '$W/g9'; while kill -0 $RH 2>/dev/null; do sleep 0.05; done; test -d '$W/r-held'"
		held=$?
		wait "$RH"; is "a restore that made the directory, another holding its lock: exit 6" "$?" 6
		on_exit_forget "$RH"
		is "... leaving the directory to the other (seen while it held the lock)" "$held" 0
	else
		fail "the restore never reached its gate"
	fi
else
	skip "a restore refused while another holds the directory" "flock(1) is not installed"
fi

# ------------------------------ file systems without one of the two --
# The finished copy takes its name by rename(RENAME_NOREPLACE), or where
# the file system lacks it (NFS) by link(): a stick formatted FAT or
# exFAT has no hard links (link() fails, EPERM), and must still take a
# backup and a restore.
# fs_case NAME ENV...: backup and restore with ENV set.
fs_case() {
	local n=$1
	shift
	expect_rc "backup on a file system $n: exit 0" 0 \
		env "$@" "$MICA" -d "$D" backup "$W/fs-$n.db"
	expect_rc "... and again to that name: refused (exit 6)" 6 \
		env "$@" "$MICA" -d "$D" backup "$W/fs-$n.db"
	expect_rc "... restore there: exit 0" 0 \
		env "$@" "$MICA" -d "$W/r-$n" restore "$W/fs-$n.db"
	is "... leaving only the store" "$(ls -A "$W/r-$n" 2>&1 | tr '\n' ' ')" "mica.db "
	is "... and nothing beside the backup" "$(cd "$W" && ls -A | grep -c "^fs-$n\.db.")" 0
}
if command -v cc >/dev/null &&
   printf '%s\n' '#include <errno.h>' \
	'int link(const char *a, const char *b) { (void)a; (void)b; errno = EPERM; return -1; }' \
	'int linkat(int a, const char *b, int c, const char *d, int e)' \
	'{ (void)a; (void)b; (void)c; (void)d; (void)e; errno = EPERM; return -1; }' \
	> "$W/nolink.c" && cc -shared -fPIC -o "$W/nolink.so" "$W/nolink.c" 2>/dev/null; then
	# An ASan-built mica must not insist on its runtime coming first.
	fs_case without-hard-links "LD_PRELOAD=$W/nolink.so" \
		"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
else
	skip "backup on a file system without hard links" "no C compiler for the link() shim"
fi
if fault_injection_built; then
	fs_case without-noreplace MICA_FAULT=fs_no_noreplace:0
else
	skip "backup on a file system without RENAME_NOREPLACE" "no fault injection"
fi

# ---------------------------------------------- a daemon on the copy --

R=$W/restore$BACKUPS
echo "# mica serve on the restored directory"
serve_start "$W/rout" "$R" "MICA_PASSPHRASE=$PASS_VALUE" -- --log "$W/rout.log" --threads 4 ||
	serve_failed "$W/rout"
grep -q "admin token" "$W/rout" && fail "a new admin token on the restored CA" || ok "no new admin token (the CA exists)"
curl -s -o "$W/served.der" "$H/ca.crt"
cmp -s "$W/served.der" "$W/root.der" && ok "the restored daemon serves the same /ca.crt" || fail "/ca.crt differs"
api GET /crl
openssl crl -inform der -in "$W/body" -CAfile "$W/root.pem" -noout -text > "$W/rcrl.txt" 2>&1
grep -q "verify OK" "$W/rcrl.txt" && ok "its /crl is signed by the root" || fail "restored /crl: $(head -2 "$W/rcrl.txt")"
tr -d ' ' < "$W/rcrl.txt" | grep -qix "SerialNumber:0*$REV1" && tr -d ' ' < "$W/rcrl.txt" | grep -qix "SerialNumber:0*$REV2" &&
	ok "... and lists both revocations" || fail "revocations missing from the restored /crl"
api GET "/api/v1/certificates/$REV1" -H "Authorization: Bearer $ADM"
is "the old admin token works on the restored CA" "$CODE" 200
is "... which reports the revoked certificate" "$(jget status)" revoked
mkcsr post post.backup.contoso.test
api POST "/api/v1/requests?profile=server" -H "Authorization: Bearer $ET" \
	-H 'Content-Type: application/pkcs10' --data-binary @"$W/post.der"
is "the old enrollment token works on the restored CA" "$CODE" 201
stop_daemon "the restored daemon stops cleanly"

if grep -q -e "Sanitizer" -e "runtime error" "$W/out.err" "$W/rout.err"; then
	fail "sanitizer reports"; grep -h -A5 -e "Sanitizer" -e "runtime error" "$W/out.err" "$W/rout.err" | head -20
else
	ok "nothing on the daemons' stderr from sanitizers"
fi

finish
