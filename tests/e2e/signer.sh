#!/bin/bash
# tests/e2e/signer.sh - the CA key lives only in the signer processes of
# mica serve, never in the front end that parses network input.
#
# A CA made by 'mica init' with a passphrase this script knows, so that
# tests/tools/keyscan.py (Python's cryptography, not mica) can unseal the
# key independently and learn its private value. Then, against a running
# daemon:
#  - the process tree: mica serve -> mica-keeper -> N mica-signer, each
#    signer under a seccomp filter with no new privileges; a small CRL
#    starts no mica-signer-crl (the signer of large CRLs);
#  - the front end's whole readable memory holds neither the private value
#    (big- or little-endian) nor the passphrase, and its environment no
#    longer holds MICA_PASSPHRASE; a signer's memory does hold the key (the
#    scanner works);
#  - signers killed with SIGKILL while clients enroll: the daemon recovers
#    by itself, and every certificate a client received is in the store;
#  - a domain added with the CLI while the daemon runs is used at once; a
#    domain slipped into the store without the key stops the daemon from
#    starting until an admin acts with the key;
#  - a certificate waiting for a stopped signer fails (503) after 30 s,
#    not the five minutes a CRL may take, and gives its token use back;
#  - when the keeper dies, mica serve stops (exit 8) instead of serving
#    without a key.
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3 sqlite3 pgrep
SRC=${MICA_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TOOL="$SRC/tests/tools/enroll.py"
SCAN="$SRC/tests/tools/keyscan.py"
[ -f "$TOOL" ] && [ -f "$SCAN" ] || die "test tools not found"

W=$(mktmp)
D=$W/data
LOG=$W/mica.log
serve_ports
printf 'signer-test passphrase %s %s\n' "$$" "$RANDOM$RANDOM" > "$W/pass"
chmod 600 "$W/pass"
PASSWORD=$(head -1 "$W/pass")

"$MICA" -d "$D" init --name "Signer Test Root" --domain contoso.test \
	--public-url "$H" --passphrase-file "$W/pass" >/dev/null 2>&1 ||
	die "mica init"
SCALAR=$(python3 "$SCAN" scalar --db "$D/mica.db" --pass-file "$W/pass") ||
	die "keyscan could not unseal the key"
PASSHEX=$(printf '%s' "$PASSWORD" | od -An -tx1 | tr -d ' \n')
ADM=$("$MICA" -d "$D" token create --admin 2>/dev/null)
case $ADM in mica_*) ;; *) die "mica token create --admin" ;; esac
ET=$("$MICA" -d "$D" token create --enroll --uses -1 2>/dev/null)
case $ET in mica_*) ;; *) die "mica token create --enroll" ;; esac

# The passphrase comes from the environment, as an admin's unit file gives
# it. Under AddressSanitizer it comes from a file instead: ASan's runtime
# reads /proc/self/environ into a buffer of its own at start (its getenv,
# for ASAN_OPTIONS) and keeps it, a copy no program can wipe, which the
# memory scan below would find.
if grep -q __asan_init "$MICA" 2>/dev/null; then
	PASS_ENV="MICA_TEST_UNUSED=1"
	PASS_OPT="--passphrase-file $W/pass"
else
	PASS_ENV="MICA_PASSPHRASE=$PASSWORD"
	PASS_OPT=
fi
start() { # start OUT [serve options]: the daemon, its passphrase as above
	local out=$1
	shift
	# shellcheck disable=SC2086
	serve_start "$out" "$D" "$PASS_ENV" -- --log "$LOG" $PASS_OPT "$@"
}
start "$W/out.1" --signers 2 || serve_failed "$W/out.1"
curl -fsS -o "$W/root.der" "$H/ca.crt" || die "GET /ca.crt"
openssl x509 -inform der -in "$W/root.der" -out "$W/root.pem" 2>/dev/null

signers() { pgrep -P "$1" -x mica-signer | sort; }

# The keeper has N signers, none of them in OLD.
signers_are() {
	local n=$1 old=${2:-} cur p
	cur=$(signers "$KEEPER")
	[ "$(echo "$cur" | grep -c .)" = "$n" ] || return 1
	for p in $old; do echo "$cur" | grep -qx "$p" && return 1; done
	return 0
}
# Wait (deadline 30 s) until the keeper has N signers, none of them in OLD.
wait_signers() { wait_for "$1 signers, none of them ${2:-(any)}" 30 signers_are "$@"; }

# enroll NAME: one certificate for NAME with the enrollment token; prints
# the HTTP status.
enroll() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$W/$1.key" -subj "/CN=$1" -addext "subjectAltName=DNS:$1" \
		-out "$W/$1.csr" 2>/dev/null || die "openssl req"
	curl -s -o "$W/$1.json" -w '%{http_code}' --cacert "$W/root.pem" \
		-H "Authorization: Bearer ${2:-$ET}" -H 'Content-Type: application/pkcs10' \
		--data-binary @"$W/$1.csr" "$S/api/v1/requests?profile=server"
}

# ------------------------------------------------------- the processes --

KEEPER=$(pgrep -P "$SERVE_PID" -x mica-keeper)
is "mica serve has one child, mica-keeper" "$(echo "$KEEPER" | grep -c .)" 1
check "the keeper has two mica-signer children (--signers 2)" wait_signers 2
SIG1=$(signers "$KEEPER" | head -1)
for p in $(signers "$KEEPER"); do
	is "signer $p runs under a seccomp filter" \
		"$(sed -n 's/^Seccomp:[[:space:]]*//p' "/proc/$p/status")" 2
	is "signer $p has no new privileges" \
		"$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "/proc/$p/status")" 1
done
is "a certificate through the signers" "$(enroll one.contoso.test)" 201
check "... which openssl verifies against the root" sh -c \
	"python3 -c 'import json,sys; print(json.load(open(\"$W/one.contoso.test.json\"))[\"certificate\"])' > '$W/one.pem' &&
	 openssl verify -CAfile '$W/root.pem' '$W/one.pem'"
# A CRL of a million entries would be signed by a CRL signer of lower
# priority (slow_lane.sh); one of a few entries never starts it.
is "a CRL is published" "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$W/root.pem" \
	-X POST -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' \
	-d '{}' "$S/api/v1/crl")" 201
is "a CRL of a few entries starts no CRL signer (mica-signer-crl)" \
	"$(pgrep -P "$KEEPER" -x mica-signer-crl | grep -c .)" 0
is "... and the keeper still has two signers" "$(signers "$KEEPER" | grep -c .)" 2

# ------------------------------------------------- the front end's memory --

out=$(python3 "$SCAN" scan --pid "$SERVE_PID" --hex "$SCALAR" --hex "$PASSHEX") ||
	die "cannot read the front end's memory"
is "the front end's memory holds no copy of the CA private key" \
	"$(echo "$out" | awk -v h="$SCALAR" '$1 == h { print $2 }')" 0
is "the front end's memory holds no copy of the passphrase" \
	"$(echo "$out" | awk -v h="$PASSHEX" '$1 == h { print $2 }')" 0
# signer_holds_key: some live signer's memory holds the private value.
# Each signer is scanned as it is now (one the keeper replaced since is
# gone, and its successor is scanned instead); what the last scans said
# is kept for the failure's diagnosis.
signer_holds_key() {
	local p out
	: > "$W/scan.err"   # what the last attempt said
	for p in $(signers "$KEEPER"); do
		out=$(python3 "$SCAN" scan --pid "$p" --hex "$SCALAR" 2>>"$W/scan.err")
		echo "signer $p: ${out:-no scan}" >> "$W/scan.err"
		[ "$(echo "$out" | awk -v h="$SCALAR" '$1 == h { print $2 }')" -ge 1 ] \
			2>/dev/null && return 0
	done
	return 1
}
if [ "$(id -u)" = 0 ]; then
	if wait_for "a signer whose memory holds the key" 30 signer_holds_key; then
		ok "a signer's memory does hold it (the scan finds keys where they are)"
	else
		fail "a signer's memory does hold it (the scan finds keys where they are)"
		sed 's/^/    /' "$W/scan.err" | tail -n 20
		grep -i 'signer' "$LOG" | tail -n 10 | sed 's/^/    log: /'
	fi
else
	skip "a signer's memory holds the key (needs root to read it)"
fi
check "MICA_PASSPHRASE is gone from the front end's environment" \
	sh -c "! tr '\\0' '\\n' < /proc/$SERVE_PID/environ | grep -q '^MICA_PASSPHRASE='"
check "... and its bytes are not in /proc/PID/environ either" \
	sh -c "! grep -aqF '$PASSWORD' /proc/$SERVE_PID/environ"

# Nothing so far stops a signer: if one was replaced, say so for whoever
# reads a failure above (the log says why it ended).
if grep -q 'signer\[[0-9]*\] \(killed\|exited\)\|lost the connection to signer' "$LOG"; then
	echo "# a signer was replaced before this script stopped any:"
	grep 'signer\[[0-9]*\] \(killed\|exited\)\|lost the connection to signer' "$LOG" |
		head -n 5 | sed 's/^/#   /'
fi

# ------------------------------------------- killing signers under load --

CDIRS=()
CPIDS=
for i in 1 2 3; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$W/c$i.key" -subj "/CN=c$i.load.contoso.test" \
		-addext "subjectAltName=DNS:c$i.load.contoso.test" \
		-outform der -out "$W/c$i.der" 2>/dev/null || die "openssl req"
	CDIRS+=("$W/client$i")
	"$PYTHON3" "$TOOL" loop --url "$S" --cacert "$W/root.pem" --token "$ET" \
		--csr "$W/c$i.der" --out "$W/client$i" --stop "$W/stop" --timeout $((30 * TIME_SCALE)) \
		2>"$W/client$i.err" &
	CPIDS="$CPIDS $!"
	on_exit_kill $!
done
held() { find "${CDIRS[@]}" -name '*.pem' 2>/dev/null | wc -l; }
held_more() { [ "$(held)" -gt "$1" ]; }
wait_held() { # wait_held N: until the clients hold more than N certificates
	wait_for "the clients to hold more than $1 certificates" 60 held_more "$1"
}
check "the clients receive certificates" wait_held 0
KILLED=0
for k in 1 2 3 4 5; do
	victim=$(signers "$KEEPER" | shuf -n 1)
	[ -n "$victim" ] || break
	kill -KILL "$victim" && KILLED=$((KILLED + 1))
	wait_signers 2 "$victim" || fail "signer $victim was not replaced within 30 s"
	n=$(held)
	wait_held "$n" || fail "no certificate issued after killing signer $victim"
done
is "five signers killed while clients enrolled" "$KILLED" 5
touch "$W/stop"
for p in $CPIDS; do wait "$p" 2>/dev/null; on_exit_forget "$p"; done
check "every certificate a client received is stored byte for byte" \
	python3 "$TOOL" check --db "$D/mica.db" --min 1 "${CDIRS[@]}"
is "the keeper logged each death" "$(grep -c 'killed by signal 9; starting another' "$LOG")" 5
check "the daemon still runs" kill -0 "$SERVE_PID"
is "and still issues" "$(enroll after.contoso.test)" 201
is "still two signers" "$(signers "$KEEPER" | grep -c .)" 2

# ---------------------------------------------------------- the domains --

is "a name under a domain the CA does not allow: refused" "$(enroll www.fabrikam.test "$ADM")" 422
expect_rc "'mica domain add' while the daemon runs (with the key)" 0 \
	"$MICA" -d "$D" domain add fabrikam.test --passphrase-file "$W/pass"
is "the daemon issues under the new domain at once" "$(enroll www.fabrikam.test "$ADM")" 201
check "the signers were told the sealed list" grep -q 'allowed domains updated' "$LOG"
is "domain.add audited as sealed" \
	"$(sqlite3 "$D/mica.db" "SELECT detail FROM audit WHERE action = 'domain.add' ORDER BY id DESC LIMIT 1")" \
	"2 domain(s), sealed"
printf 'not the passphrase\n' > "$W/wrong"
chmod 600 "$W/wrong"
expect_rc "'mica domain add' with a wrong passphrase: refused (7)" 7 \
	"$MICA" -d "$D" domain add northwind.test --passphrase-file "$W/wrong"
check "... and nothing added" sh -c "! '$MICA' -d '$D' domain list | grep -q northwind"

serve_stop
is "SIGTERM stops it cleanly" "$SERVE_RC" 0
check "and its keeper and signers are gone" sh -c "! pgrep -x mica-keeper -P $KEEPER >/dev/null; ! kill -0 $KEEPER 2>/dev/null"

# An attacker with write access to the store (a compromised front end)
# adds a domain. The signers would not trust it: the daemon refuses to
# start until an admin acts with the key.
sqlite3 "$D/mica.db" "INSERT INTO ca_domain (domain) VALUES ('evil.example')" ||
	die "sqlite3"
start "$W/out.2" && fail "started with a domain list changed without the key" ||
	is "refused to start: exit 9 (forbidden)" "$SERVE_RC" 9
check "... saying why" grep -q 'changed without the CA key' "$W/out.2.err"
expect_rc "the admin removes it with the key" 0 \
	"$MICA" -d "$D" domain remove evil.example --passphrase-file "$W/pass"
start "$W/out.3" || serve_failed "$W/out.3"
ok "starts again once the list is sealed by the key"

# -------------------------------------- SIGTERM to every process of it --
# systemd's stop (KillMode=control-group), docker stop and kill -- -PGID
# send SIGTERM to the keeper and the signers too: the keeper died at once,
# requests in flight got 503, and the daemon ended by a signal (143 or
# 140). They leave the stop to the daemon now: exit 0, nothing lost.
KEEPER=$(pgrep -P "$SERVE_PID" -x mica-keeper)
cp "$LOG" "$LOG.before"
# shellcheck disable=SC2046
kill -TERM "$SERVE_PID" "$KEEPER" $(pgrep -P "$KEEPER") 2>/dev/null
serve_wait
is "SIGTERM to the daemon, its keeper and its signers at once: exit 0" "$SERVE_RC" 0
if diff "$LOG.before" "$LOG" | grep -q 'signing service.*is gone'; then
	fail "... the keeper died first: $(diff "$LOG.before" "$LOG" | grep 'is gone')"
else
	ok "... and the keeper stayed until the daemon stopped it"
fi
start "$W/out.3b" || serve_failed "$W/out.3b"

# ------------------------------------------- killed in mid-issuance --
# Every process of the daemon is killed while a certificate is being
# signed (its signers stopped, so the request waits there with its row
# recorded and its single-use token's use spent). Nobody received that
# certificate: once the row is older than any live issuance can be (ten
# minutes; moved back here by hand) the daemon forgets it at start and
# gives the use back, so the server can enroll again with the same token.
T1=$("$MICA" -d "$D" token create --enroll --uses 1 --comment "mid-issuance" 2>/dev/null)
case $T1 in mica_*) ;; *) die "mica token create --enroll --uses 1" ;; esac
# token_field KEY VALUE FIELD: FIELD of the token whose KEY is VALUE.
token_field() { "$MICA" -d "$D" token list --json | python3 -c '
import json, sys
print([t[sys.argv[3]] for t in json.load(sys.stdin) if t.get(sys.argv[1]) == sys.argv[2]][0])' "$@"; }
T1ID=$(token_field comment mid-issuance id)
uses_left() { token_field id "${1:-$T1ID}" uses_left; }
issuing_rows() { sqlite3 "$D/mica.db" "SELECT count(*) FROM certificate WHERE status = 0"; }
one_issuing() { [ "$(issuing_rows)" = 1 ]; }
is "no row is being issued before" "$(issuing_rows)" 0
KEEPER=$(pgrep -P "$SERVE_PID" -x mica-keeper)
STOPPED=$(pgrep -P "$KEEPER")
# shellcheck disable=SC2086
kill -STOP $STOPPED
enroll mid.contoso.test "$T1" > "$W/mid.status" &
MIDPID=$!
wait_for "a row recorded for the certificate being signed" 30 one_issuing ||
	fail "no issuing row while the signers are stopped"
# A signature takes milliseconds; /healthz says when one has waited 15 s.
health() { curl -s -o "$W/health.json" -w '%{http_code}' "$H/healthz"; }
is "/healthz is ok while the signature has waited a moment" "$(health)" 200
check "/healthz answers 503 once the signature has waited 15 s" \
	wait_for "/healthz 503" 60 sh -c "[ \"\$(curl -s -o '$W/health.json' -w '%{http_code}' '$H/healthz')\" = 503 ]"
is "... saying the signer stalled" "$(json_get "$W/health.json" error)" signer_stalled
# shellcheck disable=SC2086
kill -KILL "$SERVE_PID" "$KEEPER" $STOPPED 2>/dev/null
serve_wait
wait "$MIDPID" 2>/dev/null
is "the client received no certificate" "$(cat "$W/mid.contoso.test.json" 2>/dev/null | grep -c 'BEGIN CERTIFICATE')" 0
is "the row left records whose use it took" \
	"$(sqlite3 "$D/mica.db" 'SELECT token_id FROM certificate WHERE status = 0')" "$T1ID"
is "... and the use is spent" "$(uses_left)" 0
start "$W/out.mid1" || serve_failed "$W/out.mid1"
is "a restart at once keeps the young row (it might be a live issuance)" "$(issuing_rows)" 1
serve_stop
sqlite3 "$D/mica.db" "UPDATE certificate SET created_at = created_at - 601 WHERE status = 0" ||
	fail "sqlite3 could not age the row"
start "$W/out.mid2" || serve_failed "$W/out.mid2"
is "a start once it is older than ten minutes forgets the row" "$(issuing_rows)" 0
is "... and gives the token's use back" "$(uses_left)" 1
check "... and says so in the log" grep -q 'forgot 1 certificate(s) left mid-issuance.*1 token use(s) given back' "$LOG"
check "... and in the audit trail" sh -c "'$MICA' -d '$D' audit --limit 20 | grep 'cert.abandoned' | grep -q 'mid.contoso.test'"
is "the server enrolls again with the same single-use token" "$(enroll mid2.contoso.test "$T1")" 201
is "... which is then used up" "$(uses_left)" 0

# ------------------------------- SIGTERM while a signer does not answer --
# The stop waits up to 10 s for requests in flight; one waiting for a
# stopped signer held it for the signer timeout (five minutes), deaf to
# further signals. Given up now: answered 503, the use given back.
T2=$("$MICA" -d "$D" token create --enroll --uses 1 --comment "stuck at stop" 2>/dev/null)
T2ID=$(token_field comment "stuck at stop" id)
KEEPER=$(pgrep -P "$SERVE_PID" -x mica-keeper)
STOPPED=$(pgrep -P "$KEEPER")
# shellcheck disable=SC2086
kill -STOP $STOPPED
enroll stuck.contoso.test "$T2" > "$W/stuck.status" &
STUCKPID=$!
wait_for "a row recorded for the certificate being signed" 30 one_issuing ||
	fail "no issuing row while the signers are stopped"
T0=$SECONDS
kill -TERM "$SERVE_PID"
serve_wait
# shellcheck disable=SC2086
kill -CONT $STOPPED 2>/dev/null
wait "$STUCKPID" 2>/dev/null
is "SIGTERM with a request waiting for a stopped signer: exit 0" "$SERVE_RC" 0
[ $((SECONDS - T0)) -lt $((60 * TIME_SCALE)) ] &&
	ok "... within a minute ($((SECONDS - T0)) s), not the signer timeout" ||
	fail "... it took $((SECONDS - T0)) s"
is "... the request answered 503" "$(cat "$W/stuck.status")" 503
is "... nothing left issuing" "$(issuing_rows)" 0
is "... and the token's use given back" "$(uses_left "$T2ID")" 1
start "$W/out.mid3" || serve_failed "$W/out.mid3"

# ------------------------------ a signer that does not answer, serving --
# A certificate's signature takes milliseconds. One waiting for a stopped
# (or starved) signer held its API worker - and the other connections
# that worker serves, /healthz and /crl among them - for the signer
# timeout, five minutes; it fails after 30 s now, 503, and says so.
T3=$("$MICA" -d "$D" token create --enroll --uses 1 --comment "stuck serving" 2>/dev/null)
T3ID=$(token_field comment "stuck serving" id)
KEEPER=$(pgrep -P "$SERVE_PID" -x mica-keeper)
STOPPED=$(pgrep -P "$KEEPER")
# shellcheck disable=SC2086
kill -STOP $STOPPED
: > "$W/stall.status"
enroll stall.contoso.test "$T3" > "$W/stall.status" &
STUCKPID=$!
T0=$SECONDS
wait_for "an answer while the signers are stopped" 90 test -s "$W/stall.status" ||
	fail "no answer within $((90 * TIME_SCALE)) s while the signers are stopped"
kill "$STUCKPID" 2>/dev/null
wait "$STUCKPID" 2>/dev/null
# shellcheck disable=SC2086
kill -CONT $STOPPED 2>/dev/null
is "a request waiting for a stopped signer is answered 503" "$(cat "$W/stall.status")" 503
echo "# ... after $((SECONDS - T0)) s"
check "... and the log names the signer that did not answer" grep -q 'has not answered for 30 s' "$LOG"
is "... nothing left issuing" "$(issuing_rows)" 0
is "... and the token's use given back" "$(uses_left "$T3ID")" 1
stall_again() { [ "$(enroll stall2.contoso.test "$T3")" = 201 ]; }
check "once the signers run again, the token gets its certificate" \
	wait_for "a certificate after the signers resumed" 60 stall_again

# ------------------------------------------------------ the keeper dies --

KEEPER=$(pgrep -P "$SERVE_PID" -x mica-keeper)
kill -KILL "$KEEPER"
wait_for "mica serve to stop" 30 sh -c "! kill -0 $SERVE_PID" || :
serve_wait
is "when the keeper dies mica serve stops, exit 8 (unavailable)" "$SERVE_RC" 8
check "... and says why" grep -q 'signing service is gone' "$LOG"

# ------------------------------------- a first start holds no key --

# The first start makes the CA - its key, the root's and the first CRL's
# signatures - in a process of its own: the daemon, which parses what the
# network sends, never held the key, so its memory has no trace of it.
# The key's scalar, unsealed here, is looked for in the daemon's memory
# and, to show the search finds it where it is, in its signers'.
if [ "$(id -u)" != 0 ]; then
	skip "a first start leaves no trace of the key in the daemon" "reading another process's memory needs root"
else
	FK=$W/firstkey
	printf 'a passphrase for the first start\n' > "$W/fk.pass"
	chmod 600 "$W/fk.pass"
	serve_start "$W/fk.out" "$FK" -- --domain contoso.test --passphrase-file "$W/fk.pass" ||
		serve_failed "$W/fk.out"
	curl -fsS -o /dev/null "$H/crl" || fail "the first start serves no CRL"
	python3 - "$FK/mica.db" "$W/fk.pass" "$W/fk.scalar" <<'PY' || fail "cannot unseal the key"
import hashlib, sqlite3, struct, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import load_der_private_key
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
salt, it, nonce, ct = con.execute("SELECT key_salt, key_iter, key_nonce, key_ct FROM ca").fetchone()
pw = open(sys.argv[2], "rb").read().rstrip(b"\n")
dk = hashlib.pbkdf2_hmac("sha256", pw, salt, it, 32)
der = AESGCM(dk).decrypt(nonce, ct, b"mica-ca-key-v1" + struct.pack(">q", it))
d = load_der_private_key(der, None).private_numbers().private_value
open(sys.argv[3], "wb").write(d.to_bytes(32, "big"))
PY
	# hits PID: how many times the scalar (or its reversed octets, as
	# a little-endian bignum holds it) is in PID's readable memory. In
	# chunks, and not the mappings of a gigabyte or more: a sanitizer's
	# shadow memory is terabytes of mapping, never the process's data.
	hits() {
		python3 - "$1" "$W/fk.scalar" <<'PY'
import sys
pid, k = int(sys.argv[1]), open(sys.argv[2], "rb").read()
keys, n, step = (k, k[::-1]), 0, 1 << 24
with open("/proc/%d/mem" % pid, "rb", 0) as mem:
    for line in open("/proc/%d/maps" % pid):
        f = line.split()
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        if "r" not in f[1] or hi - lo >= 1 << 30 or \
           (len(f) > 5 and f[5] in ("[vvar]", "[vsyscall]")):
            continue
        at = lo
        while at < hi:
            # Overlapping by the key's length, so none is cut in two.
            end = min(hi, at + step + len(k))
            try:
                mem.seek(at)
                data = mem.read(end - at)
            except OSError:
                break
            n += sum(data.count(x) for x in keys)
            at += step
print(n)
PY
	}
	is "after a first start, the daemon's memory has no trace of the CA key" "$(hits "$SERVE_PID")" 0
	seen=0
	for p in $(pgrep -P "$(pgrep -P "$SERVE_PID" -x mica-keeper)"); do
		[ "$(hits "$p")" -gt 0 ] && seen=1
	done
	is "... where the search finds it in a signer" "$seen" 1
	serve_stop
fi

# A daemon that is PID 1 (a container's 'CMD ["mica", "serve"]') makes
# its CA all the same - the child that makes it must not take its parent
# being PID 1 for having been orphaned - and stops on the SIGTERM that
# docker stop sends it, which the kernel drops for a PID 1 without a
# handler for it.
if [ "$(id -u)" = 0 ] && unshare --pid --fork true 2>/dev/null; then
	cat > "$W/as-pid1" <<EOF
#!/bin/sh
exec unshare --pid --fork --kill-child=KILL "$MICA" "\$@"
EOF
	chmod 755 "$W/as-pid1"
	REAL_MICA=$MICA
	MICA=$W/as-pid1
	serve_start "$W/pid1.out" "$W/pid1" -- --domain contoso.test ||
		serve_failed "$W/pid1.out"
	MICA=$REAL_MICA
	grep -q "created a new CA in $W/pid1" "$W/pid1.out" &&
		ok "a first start as PID 1 creates its CA" ||
		fail "as PID 1: $(cat "$W/pid1.out" "$W/pid1.out.err" | tail -3)"
	is "... and serves it" "$(curl -s -o /dev/null -w '%{http_code}' "$H/healthz")" 200
	INNER=$(pgrep -P "$SERVE_PID" | head -1)
	kill -TERM "$INNER" 2>/dev/null
	if wait_for "PID 1 to stop on SIGTERM" 60 sh -c "! kill -0 $SERVE_PID 2>/dev/null"; then
		serve_wait
		is "... and stops on SIGTERM from outside, as docker stop sends it: exit 0" "$SERVE_RC" 0
	else
		fail "... PID 1 did not stop on SIGTERM"
		serve_stop KILL
	fi
else
	skip "a first start as PID 1" "needs root (a PID namespace)"
fi

finish
