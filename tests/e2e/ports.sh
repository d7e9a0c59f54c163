#!/bin/bash
# tests/e2e/ports.sh - lib.sh's free_port and its claims ($MICA_TEST_PORTS),
# which every script that starts a server relies on:
#   - a port picked is claimed for the script (a file holding its PID)
#     and the claim is dropped when the script exits;
#   - the claims directory is used only when it is this user's alone: a
#     directory of another user's, or claim files that are symlinks, are
#     never written through (run as root, the suite would otherwise
#     overwrite whatever file a symlink names);
#   - a directory free_port cannot use still gives a port (checked free,
#     not claimed), never nothing.
SRC=${MICA_SRCDIR:-$(dirname "$0")/../..}
. "$SRC/tests/e2e/lib.sh"

need python3

W=$(mktmp)
LIB=$SRC/tests/e2e/lib.sh
export MICA_BIN=$MICA   # for the scripts below that source lib.sh too

in_range() { case $1 in 2[0-9][0-9][0-9][0-9]|3[0-1][0-9][0-9][0-9]|32000) true ;; *) false ;; esac; }

# ------------------------------------------------- a claim and its end --
# A script of its own: it picks a port, says which and its PID, and waits
# for the word to exit (a file), so that its claim is seen while it runs.
cat >"$W/picker.sh" <<EOF
. "$LIB"
p=\$(free_port)
echo "\$p \$\$" >"\$1.port"
wait_for "the word to exit" 60 test -e "\$1.go"
EOF
MICA_TEST_PORTS=$W/own bash "$W/picker.sh" "$W/pk" 2>"$W/pk.err" &
PK=$!
on_exit_kill "$PK"
wait_for "the picker's port" 30 test -s "$W/pk.port" || die "picker: $(cat "$W/pk.err")"
read -r PORT PPID_ <"$W/pk.port"
check "free_port gives a port below the ephemeral range ($PORT)" in_range "$PORT"
is "the port is claimed for the script that picked it" "$(cat "$W/own/$PORT" 2>/dev/null)" "$PPID_"
is "the claims directory is this user's alone (0700)" "$(stat -c %a "$W/own")" 700
touch "$W/pk.go"
wait "$PK"
on_exit_forget "$PK"
check "the claim is dropped when the script exits" test ! -e "$W/own/$PORT"

# ------------------------------------------- claim files as symlinks --
# Every claim file a symlink to a file that must not change: free_port
# still gives a port, and writes through none of them.
mkdir -m 700 "$W/trap"
printf 'precious\n' >"$W/victim"
python3 - "$W/trap" "$W/victim" <<'PY'
import os, sys
for p in range(20000, 32001):
    os.symlink(sys.argv[2], os.path.join(sys.argv[1], str(p)))
PY
P=$(MICA_TEST_PORTS=$W/trap bash -c '. "$1"; free_port' _ "$LIB" 2>"$W/trap.err")
check "claim files that are symlinks: a port all the same ($P)" in_range "$P"
is "... and the file they name is untouched" "$(cat "$W/victim")" precious
check "... and standard error says the port is unclaimed" grep -q "free_port: no claim in" "$W/trap.err"

# --------------------------------------- another user's directory --
if [ "$EUID" -ne 0 ] || ! id nobody >/dev/null 2>&1 || ! command -v runuser >/dev/null; then
	why="needs root, runuser and the user nobody"
	skip "another user's claims directory: a port all the same" "$why"
	skip "... and nothing written into that directory" "$why"
	skip "a claims directory another user made: a port all the same" "$why"
else
	# Made by nobody, open to all, as another user could make the
	# default name in /tmp before the suite runs as root.
	chmod 711 "$TMP" "$W"
	mkdir -m 1777 "$W/theirs"
	chown nobody "$W/theirs"
	P=$(MICA_TEST_PORTS=$W/theirs bash -c '. "$1"; free_port' _ "$LIB" 2>"$W/theirs.err")
	check "another user's claims directory: a port all the same ($P)" in_range "$P"
	is "... and nothing written into that directory" "$(ls -A "$W/theirs")" ""
	# The other way round: root's claims directory, and nobody's scripts.
	mkdir -m 755 "$W/roots"
	MICA_TEST_PORTS=$W/roots bash -c '. "$1"; free_port' _ "$LIB" >/dev/null 2>&1
	# A copy of lib.sh nobody can read: the source tree may be in a
	# directory of root's alone (/root).
	cp "$LIB" "$W/lib-copy.sh" && chmod 644 "$W/lib-copy.sh"
	P=$(cd / && runuser -u nobody -- env TMPDIR=/tmp MICA_BIN=/bin/true MICA_TEST_PORTS="$W/roots" \
		bash -c '. "$1"; free_port' _ "$W/lib-copy.sh" 2>"$W/nobody.err")
	check "a claims directory another user made (its lock unwritable): a port all the same ($P)" \
		in_range "$P"
fi

finish
