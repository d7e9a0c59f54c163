#!/bin/bash
# Revocations carried forward from the lost store's CRLs ('mica restore
# --crl', 'mica revoke --from-crl'), judged by OpenSSL. A CA is backed up;
# then the store backed up revokes a certificate the backup knows (A,
# keyCompromise), issues one and revokes it (C, affiliationChanged) and
# publishes its CRL, numbered far above the time of any restore. Restored
# with that CRL:
#   - restore says what it carried (1 revoked, 1 never seen) and no
#     longer warns that revocations since the backup are undone;
#   - the next CRL of the restored CA ('openssl crl -text') lists both
#     serials with their reasons, is numbered above the CRL carried in,
#     and 'openssl verify -crl_check' refuses both certificates while the
#     one never revoked (B) passes;
#   - 'openssl ocsp' against 'mica serve' on the restored store says
#     revoked for both, with their reasons;
#   - hostile CRLs (another CA's, another CA of the same name, a tampered
#     signature, garbage, an empty file) are refused with exit 3 and
#     nothing restored, as is --crl without a passphrase (exit 7);
#   - an expired CRL is taken, and said so;
#   - restored without --crl, the same CRL carried in later with 'mica
#     revoke --from-crl' (PEM, on standard input) gives the same CRL
#     entries, audited as cert.revoke.
# Run by 'make check' (MICA_BIN set), or:
# MICA_BIN=./mica bash tests/e2e/restore_crl.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need openssl python3 sqlite3 curl

W=$(mktmp)
D=$W/lost
serve_ports

"$MICA" -d "$D" init --name "Carry Test CA" --domain example.test \
	--public-url "$H" >/dev/null 2>&1 || die "mica init"
PASS_VALUE=$(cat "$D/passphrase") || die "no passphrase file"
"$MICA" -d "$D" export-root --out "$W/root.pem" 2>/dev/null || die "export-root"

issue() { # issue NAME: $W/NAME.{key,csr,pem}; prints its serial
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$W/$1.key" -subj "/CN=$1.example.test" \
		-addext "subjectAltName=DNS:$1.example.test" -out "$W/$1.csr" 2>/dev/null ||
		die "openssl req"
	"$MICA" -d "$D" issue --csr "$W/$1.csr" --profile server --out "$W/$1.pem" \
		2>"$W/issue.err" || { cat "$W/issue.err" >&2; die "mica issue $1"; }
	serial_of "$W/$1.pem"
}
# entry CRLTEXT SERIAL: the reason 'openssl crl -text' gives SERIAL's entry
# ("none" when it has no reason, "" when not listed).
entry() {
	python3 - "$1" "$2" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
want = sys.argv[2].upper()
for block in re.split(r"\n\s*Serial Number: ", t)[1:]:
    lines = block.split("\n")
    if lines[0].strip() != want:
        continue
    m = re.search(r"CRL Reason Code:\s*\n\s*(.+)", block.split("Serial Number")[0])
    print(m.group(1).strip() if m else "none")
    break
PY
}
# crl_number DER: its cRLNumber, in decimal
crl_number() {
	printf '%d\n' "$(openssl crl -inform der -in "$1" -noout -crlnumber | sed 's/^crlNumber=//')"
}

A=$(issue a)
B=$(issue b)
"$MICA" -d "$D" backup "$W/bk.db" >/dev/null 2>&1 || die "mica backup"
"$MICA" -d "$D" revoke "$A" --reason keyCompromise >/dev/null 2>&1 || die "revoke A"
C=$(issue c)
"$MICA" -d "$D" revoke "$C" --reason affiliationChanged >/dev/null 2>&1 || die "revoke C"
# The lost store numbered its CRLs far ahead (a store restored before,
# whose numbers went on from a time): the restored one must go above.
sqlite3 "$D/mica.db" "UPDATE ca SET crl_floor = 4000000000" || die "sqlite3"
"$MICA" -d "$D" crl --out "$W/last.crl" >/dev/null 2>&1 || die "mica crl"
LASTN=$(crl_number "$W/last.crl")
[ "$LASTN" -gt 4000000000 ] || die "the lost store's CRL is numbered $LASTN"
openssl crl -inform der -in "$W/last.crl" -out "$W/last.pem" || die "openssl crl"

# ------------------------------------------------------- restore --crl --

R=$W/restored
if MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$R" restore --crl "$W/last.crl" "$W/bk.db" \
	>"$W/restore.out" 2>"$W/restore.err"; then
	ok "restore --crl with the lost store's last CRL"
else
	die "restore --crl: $(cat "$W/restore.err")"
fi
check "restore says what it carried forward" \
	grep -q "carried forward from 1 CRL(s): 1 certificate(s) revoked, 1 serial(s) this store never issued" "$W/restore.err"
if grep -q "valid again here" "$W/restore.err"; then
	fail "restore --crl still warns that revocations since are undone"
else
	ok "... and no longer warns that revocations since the backup are undone"
fi

MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$R" crl --out "$W/next.crl" >/dev/null 2>&1 ||
	die "mica crl on the restored store"
openssl crl -inform der -in "$W/next.crl" -noout -text >"$W/next.txt" 2>&1 || die "openssl crl -text"
is "openssl crl: the next CRL lists A (known to the backup) as keyCompromise" \
	"$(entry "$W/next.txt" "$A")" "Key Compromise"
is "openssl crl: ... and C (issued after the backup) as affiliationChanged" \
	"$(entry "$W/next.txt" "$C")" "Affiliation Changed"
is "openssl crl: ... and not B" "$(entry "$W/next.txt" "$B")" ""
NEXTN=$(crl_number "$W/next.crl")
check "the next CRL ($NEXTN) is numbered above the CRL carried in ($LASTN)" \
	test "$NEXTN" -gt "$LASTN"
openssl crl -inform der -in "$W/next.crl" -out "$W/next.pem"
for n in a c; do
	openssl verify -crl_check -CAfile "$W/root.pem" -CRLfile "$W/next.pem" "$W/$n.pem" \
		>"$W/verify.out" 2>&1
	check "openssl verify -crl_check: $n.pem is revoked" grep -q "certificate revoked" "$W/verify.out"
done
checkv "openssl verify -crl_check: b.pem, never revoked, passes" \
	openssl verify -crl_check -CAfile "$W/root.pem" -CRLfile "$W/next.pem" "$W/b.pem"

# C is known here only from the CRL: said so, not "never completed".
"$MICA" -d "$R" show "$C" >"$W/show-c.out" 2>&1
check "show C: known from a CRL of this CA" grep -q "^Known from:  a CRL of this CA" "$W/show-c.out"
is "show C --json: no key hash (it has none here)" \
	"$("$MICA" -d "$R" show "$C" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spki_sha256"])')" None
expect_rc "show C --pem: no certificate bytes (exit 6)" 6 "$MICA" -d "$R" show "$C" --pem
check "... saying it is known only from a CRL" grep -q "known here only from a CRL" "$TMP/rc.err"
expect_rc "renew C: revoked (exit 6)" 6 env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$R" renew "$C"
check "... saying so, not 'never completed'" grep -q "is revoked and cannot be renewed" "$TMP/rc.err"

# OCSP from the daemon on the restored store.
install -m 600 /dev/null "$R/passphrase" && printf '%s\n' "$PASS_VALUE" >"$R/passphrase"
serve_start "$W/serve.out" "$R" -- --domain example.test || serve_failed "$W/serve.out"
ask() { # ask NAME: openssl ocsp's status line for NAME.pem
	openssl ocsp -issuer "$W/root.pem" -cert "$W/$1.pem" -url "$H/ocsp" \
		-CAfile "$W/root.pem" -timeout 20 >"$W/ocsp-$1.out" 2>&1
	sed -n "s|^$W/$1.pem: ||p" "$W/ocsp-$1.out" | head -1
}
is "openssl ocsp: A is revoked" "$(ask a)" revoked
check "... with reason keyCompromise" grep -q "Reason: keyCompromise" "$W/ocsp-a.out"
is "openssl ocsp: C, which the backup never held, is revoked (not unknown)" "$(ask c)" revoked
check "... with reason affiliationChanged" grep -q "Reason: affiliationChanged" "$W/ocsp-c.out"
is "openssl ocsp: B is good" "$(ask b)" good
serve_stop
is "the daemon on the restored store stops cleanly" "$SERVE_RC" 0

# ---------------------------------------------------------- hostile --

"$MICA" -d "$W/other" init --name "Another CA" --domain example.test \
	--public-url "$H" >/dev/null 2>&1 || die "init another CA"
"$MICA" -d "$W/other" crl --out "$W/other.crl" >/dev/null 2>&1 || die "its crl"
"$MICA" -d "$W/twin" init --name "Carry Test CA" --domain example.test \
	--public-url "$H" >/dev/null 2>&1 || die "init a CA of the same name"
"$MICA" -d "$W/twin" crl --out "$W/twin.crl" >/dev/null 2>&1 || die "its crl"
python3 - "$W/last.crl" "$W/tampered.crl" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[-3] ^= 0x01          # inside the signature value
open(sys.argv[2], "wb").write(d)
PY
head -c 700 /dev/urandom >"$W/garbage.crl"
: >"$W/empty.crl"
for bad in other twin tampered garbage empty; do
	rm -rf "$W/x"
	expect_rc "restore --crl $bad.crl: refused (exit 3)" 3 \
		env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$W/x" restore --crl "$W/$bad.crl" "$W/bk.db"
	if [ -e "$W/x" ]; then fail "... but left $W/x behind"; else ok "... and nothing restored"; fi
done
rm -rf "$W/x"
expect_rc "restore --crl CRL, a good one after a bad one: refused (exit 3)" 3 \
	env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$W/x" restore --crl "$W/last.crl" --crl "$W/tampered.crl" "$W/bk.db"
[ -e "$W/x" ] && fail "... but left $W/x behind" || ok "... and nothing restored"
expect_rc "restore --crl without a passphrase: refused (exit 7)" 7 \
	env -u MICA_PASSPHRASE "$MICA" -d "$W/x" restore --crl "$W/last.crl" "$W/bk.db"
[ -e "$W/x" ] && fail "... but left $W/x behind" || ok "... and nothing restored"

# An expired CRL: still evidence of what was revoked.
EXP=$W/expired
cp -r "$D" "$EXP"
sqlite3 "$EXP/mica.db" "UPDATE ca SET crl_days = 1" || die "sqlite3"
FTLIB=$(faketime_lib)
if [ -n "$FTLIB" ]; then
	# Signed three days ago, for a day. (A sanitizer build insists on its
	# runtime coming first; libfaketime only wraps time calls.)
	env LD_PRELOAD="$FTLIB" FAKETIME=-3d FAKETIME_DONT_FAKE_MONOTONIC=1 \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$EXP" crl \
		--out "$W/expired.crl" >/dev/null 2>"$W/ft.err" ||
		die "mica crl under libfaketime: $(cat "$W/ft.err")"
	rm -rf "$W/x"
	if MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$W/x" restore --crl "$W/expired.crl" "$W/bk.db" \
		>/dev/null 2>"$W/exp.err"; then
		ok "restore --crl with an expired CRL: taken"
	else
		fail "restore --crl with an expired CRL: $(cat "$W/exp.err")"
	fi
	check "... saying it had expired" grep -q "had expired" "$W/exp.err"
else
	skip "restore --crl with an expired CRL" "needs libfaketime (Debian: faketime)"
	skip "... saying it had expired" "needs libfaketime (Debian: faketime)"
fi

# ---------------------------------------------- after the fact --

L=$W/later
MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$L" restore "$W/bk.db" >/dev/null 2>"$W/plain.err" ||
	die "plain restore: $(cat "$W/plain.err")"
check "restore without --crl still warns that revocations since are undone" \
	grep -q "valid again here" "$W/plain.err"
if MICA_PASSPHRASE=$PASS_VALUE "$MICA" -d "$L" revoke --from-crl - <"$W/last.pem" \
	>/dev/null 2>"$W/from.err"; then
	ok "revoke --from-crl - (PEM on standard input) on a store restored without it"
else
	fail "revoke --from-crl: $(cat "$W/from.err")"
fi
stored_crl "$L" "delta_base = 0 ORDER BY number DESC" "$W/later.crl" || die "no CRL stored"
openssl crl -inform der -in "$W/later.crl" -noout -text >"$W/later.txt" 2>&1
is "openssl crl: its CRL lists A as keyCompromise" "$(entry "$W/later.txt" "$A")" "Key Compromise"
is "openssl crl: ... and C as affiliationChanged" "$(entry "$W/later.txt" "$C")" "Affiliation Changed"
check "the carried revocations are audited (cert.revoke)" \
	sh -c "'$MICA' -d '$L' audit | grep cert.revoke | grep -q 'carried in from CRL'"
expect_rc "revoke --from-crl with another CA's CRL: refused (exit 3)" 3 \
	env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$L" revoke --from-crl "$W/other.crl"
expect_rc "revoke --from-crl with a SERIAL too: usage error (exit 2)" 2 \
	env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$L" revoke "$B" --from-crl "$W/last.crl"


# ------------------------------- signed by this CA, never publishable --
# CRLs signed with the CA's own key (tests/tools/crl_forge.py unseals it)
# that say what this store could never put in a CRL of its own: taken in,
# they left a restored store that could publish no CRL - nor revoke
# anything - ever again. Each is refused (exit 3) and nothing restored; a
# serial whose top bit needs DER's zero octet is taken, as its magnitude.
SRC=${MICA_SRCDIR:-$(dirname "$0")/../..}
NOW=$(date +%s)
forge() { # forge OUT NUMBER ENTRY...
	local out=$1 num=$2; shift 2
	local args=()
	for e in "$@"; do args+=(--entry "$e"); done
	python3 "$SRC/tests/tools/crl_forge.py" "$W/bk.db" "$D/passphrase" "$W/$out" \
		--number "$num" "${args[@]}" || die "crl_forge.py $out"
}
forge zero.crl 5000000000 "00:$NOW:1"
forge nonder.crl 5000000000 "0001:$NOW:1"
forge nonder-b.crl 5000000000 "00$B:$NOW:1"
forge y1950.crl 5000000000 "0a02:-631152000:1"
forge num-max.crl 9223372036854775807 "0a03:$NOW:1"
for bad in zero nonder nonder-b y1950 num-max; do
	rm -rf "$W/x"
	expect_rc "restore --crl $bad.crl (signed by this CA): refused (exit 3)" 3 \
		env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$W/x" restore --crl "$W/$bad.crl" "$W/bk.db"
	[ -e "$W/x" ] && fail "... but left $W/x behind" || ok "... and nothing restored"
	expect_rc "revoke --from-crl $bad.crl: refused (exit 3)" 3 \
		env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$L" revoke --from-crl "$W/$bad.crl"
done
forge pad.crl 5000000000 "0080ff:$NOW:4"
rm -rf "$W/x"
checkv "restore --crl: a serial with DER's zero octet before its top bit is taken" \
	env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$W/x" restore --crl "$W/pad.crl" "$W/bk.db"
checkv "... and the restored store publishes a CRL" \
	env MICA_PASSPHRASE="$PASS_VALUE" "$MICA" -d "$W/x" crl --out "$W/pad-next.crl"
openssl crl -inform der -in "$W/pad-next.crl" -noout -text >"$W/pad-next.txt" 2>&1
is "openssl crl: ... listing 80FF as superseded" "$(entry "$W/pad-next.txt" 80ff)" "Superseded"


# ------------------------------------------- a CRL older than the backup --
# A hold released before the backup was taken is not put back by a CRL
# published while it was held: the backup's own CRLs are newer.
O=$W/olds
"$MICA" -d "$O" init --name "Old CRL CA" --domain example.test \
	--public-url "$H" >/dev/null 2>&1 || die "init (old CRL)"
OPASS=$(cat "$O/passphrase")
D=$O
X=$(issue x)
MICA_PASSPHRASE=$OPASS "$MICA" -d "$O" revoke "$X" --reason certificateHold >/dev/null 2>&1 || die "hold X"
MICA_PASSPHRASE=$OPASS "$MICA" -d "$O" crl --out "$W/held.crl" >/dev/null 2>&1 || die "crl (X held)"
MICA_PASSPHRASE=$OPASS "$MICA" -d "$O" unrevoke "$X" >/dev/null 2>&1 || die "unrevoke X"
"$MICA" -d "$O" backup "$W/bk-old.db" >/dev/null 2>&1 || die "backup (old CRL)"
rm -rf "$W/x"
checkv "restore --crl with a CRL from before the backup" \
	env MICA_PASSPHRASE="$OPASS" "$MICA" -d "$W/x" restore --crl "$W/held.crl" "$W/bk-old.db"
is "... the hold it lists, released before the backup, is not put back" \
	"$("$MICA" -d "$W/x" show "$X" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" valid
rm -rf "$W/x"
MICA_PASSPHRASE=$OPASS "$MICA" -d "$W/x" restore "$W/bk-old.db" >/dev/null 2>&1 || die "plain restore (old CRL)"
checkv "revoke --from-crl with that CRL, after the restore" \
	env MICA_PASSPHRASE="$OPASS" "$MICA" -d "$W/x" revoke --from-crl "$W/held.crl"
is "... the certificate stays valid" \
	"$("$MICA" -d "$W/x" show "$X" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" valid
# On that restored store, a hold of its own, published, released, then
# carried in from the CRL that listed it: the store's own later CRL knows
# it was released (the CRLs from before the restore did not), not put back.
D=$W/x
G=$(MICA_PASSPHRASE=$OPASS issue g)
MICA_PASSPHRASE=$OPASS "$MICA" -d "$W/x" revoke "$G" --reason certificateHold >/dev/null 2>&1 || die "hold G"
MICA_PASSPHRASE=$OPASS "$MICA" -d "$W/x" crl --out "$W/held2.crl" >/dev/null 2>&1 || die "crl (G held)"
MICA_PASSPHRASE=$OPASS "$MICA" -d "$W/x" unrevoke "$G" >/dev/null 2>&1 || die "unrevoke G"
checkv "revoke --from-crl of the restored store's own CRL of a hold it released since" \
	env MICA_PASSPHRASE="$OPASS" "$MICA" -d "$W/x" revoke --from-crl "$W/held2.crl"
is "... the certificate stays valid" \
	"$("$MICA" -d "$W/x" show "$G" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" valid

# ------------------------- a reason raised to keyCompromise after the backup --
# Revoked as superseded before the backup, raised to keyCompromise after
# it (the key was found compromised): the CRL carried in says so, and the
# restored store raises it too, its date kept, and refuses the key -
# rather than saying "superseded" again and certifying the key anew.
K=$W/kraise
"$MICA" -d "$K" init --name "Raise CA" --domain example.test \
	--public-url "$H" >/dev/null 2>&1 || die "init (raise)"
KPASS=$(cat "$K/passphrase")
D=$K
RS=$(issue rs)
MICA_PASSPHRASE=$KPASS "$MICA" -d "$K" revoke "$RS" --reason superseded >/dev/null 2>&1 || die "revoke rs superseded"
"$MICA" -d "$K" backup "$W/bk-raise.db" >/dev/null 2>&1 || die "backup (raise)"
RSAT=$(sqlite3 "$K/mica.db" "SELECT revoked_at FROM certificate WHERE serial = '$(printf '%032s' "$RS" | tr ' ' 0)'")
MICA_PASSPHRASE=$KPASS "$MICA" -d "$K" revoke "$RS" --reason keyCompromise >/dev/null 2>&1 || die "raise rs"
MICA_PASSPHRASE=$KPASS "$MICA" -d "$K" crl --out "$W/raise.crl" >/dev/null 2>&1 || die "crl (raise)"
for how in restore from-crl; do
	rm -rf "$W/x"
	if [ "$how" = restore ]; then
		MICA_PASSPHRASE=$KPASS "$MICA" -d "$W/x" restore --crl "$W/raise.crl" "$W/bk-raise.db" \
			>/dev/null 2>"$W/raise.err"
	else
		MICA_PASSPHRASE=$KPASS "$MICA" -d "$W/x" restore "$W/bk-raise.db" >/dev/null 2>&1 &&
			MICA_PASSPHRASE=$KPASS "$MICA" -d "$W/x" revoke --from-crl "$W/raise.crl" \
			>/dev/null 2>"$W/raise.err"
	fi
	check "$how: a reason raised after the backup is carried in" test $? = 0
	check "... and said so" grep -q "raised to it, their revocation dates kept" "$W/raise.err"
	MICA_PASSPHRASE=$KPASS "$MICA" -d "$W/x" crl --out "$W/raise-next.crl" >/dev/null 2>&1 ||
		die "crl after the raise carried in"
	openssl crl -inform der -in "$W/raise-next.crl" -noout -text >"$W/raise-next.txt" 2>&1
	is "openssl crl: the restored store's next CRL gives keyCompromise" \
		"$(entry "$W/raise-next.txt" "$RS")" "Key Compromise"
	is "... its revocation date kept" \
		"$(sqlite3 "$W/x/mica.db" "SELECT revoked_at FROM certificate WHERE serial = '$(printf '%032s' "$RS" | tr ' ' 0)'")" "$RSAT"
	expect_rc "... and its key is not certified again (exit 4)" 4 \
		env MICA_PASSPHRASE="$KPASS" "$MICA" -d "$W/x" issue --csr "$W/rs.csr" --profile server
done

# ------------------------------ a root's CRL revoking an issuing CA's key --
# On a root, a subordinate's certificate revoked as cACompromise puts its
# key on the list of keys never certified again ('mica revoke' does); the
# same carried in from the lost root's CRL.
RT=$W/root
"$MICA" -d "$RT" init --name "Carry Root CA" --root-only >/dev/null 2>&1 || die "init --root-only"
RPASS=$(cat "$RT/passphrase")
"$MICA" -d "$W/sub" init --subordinate --name "Carry Issuing CA" --domain example.test \
	--public-url "$H" --csr-out "$W/sub.csr" >/dev/null 2>&1 || die "init --subordinate"
MICA_PASSPHRASE=$RPASS "$MICA" -d "$RT" sign-ca --csr "$W/sub.csr" --out "$W/sub.crt" >/dev/null 2>&1 ||
	die "sign-ca"
"$MICA" -d "$RT" backup "$W/bk-root.db" >/dev/null 2>&1 || die "backup (root)"
MICA_PASSPHRASE=$RPASS "$MICA" -d "$RT" revoke "$(serial_of "$W/sub.crt")" --reason cACompromise \
	>/dev/null 2>&1 || die "revoke the subordinate (cACompromise)"
MICA_PASSPHRASE=$RPASS "$MICA" -d "$RT" crl --out "$W/root-last.crl" >/dev/null 2>&1 || die "crl (root)"
checkv "restore --crl of the root with the CRL revoking its subordinate" \
	env MICA_PASSPHRASE="$RPASS" "$MICA" -d "$W/root2" restore --crl "$W/root-last.crl" "$W/bk-root.db"
expect_rc "... which then never signs that subordinate's key again (4)" 4 \
	env MICA_PASSPHRASE="$RPASS" "$MICA" -d "$W/root2" sign-ca --csr "$W/sub.csr" --out "$W/sub2.crt"
check "... saying so" grep -q "never certified again" "$TMP/rc.err"

finish
