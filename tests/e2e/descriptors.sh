#!/bin/bash
# End-to-end: the daemon and its file descriptors under floods of
# connections (web/daemon.c raise_nofile, web/listener.c's acceptor).
# Checked:
#   - started with a soft limit of open files of 256 (the usual 1024 is
#     below what two listeners may hold), the daemon raises it to the hard
#     limit (at most 1048576);
#   - with many workers (--threads 100: libmicrohttpd divides its
#     connection limit over them, and the acceptor fills each to one under
#     its share), a flood of idle connections still reaches the listener's
#     limit, 512 and the slack for dropped ones: it held only 476 before
#     the limit grew with the pool, so the slowest were never dropped for
#     new clients; new clients are then served at once;
#   - run out of descriptors (a hard limit of 160 and a flood of 320
#     connections), the daemon says so in its log at start-up and when
#     accept fails, does not spin (its acceptor polled a listening socket
#     that stayed readable: a core's worth of CPU), and serves again once
#     the flood has gone;
#   - it stops cleanly each time.
# Under valgrind (MICA_VALGRIND=1), which keeps descriptors of its own and
# the limit as it found it, only the flood of many workers is run.
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/descriptors.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl python3

W=$(mktmp)
D=$W/ca
REAL=$MICA

# with_limits SOFT HARD: MICA runs under these limits of open files
# (HARD empty: the caller's hard limit).
with_limits() {
	cat >"$W/mica-lim" <<EOF
#!/bin/sh
ulimit -S -n $1 || exit 97
${2:+ulimit -H -n $2 || exit 97}
exec "$REAL" "\$@"
EOF
	chmod +x "$W/mica-lim"
	MICA=$W/mica-lim
}
fds() { ls "/proc/$SERVE_PID/fd" 2>/dev/null | wc -l; }
soft_limit() { awk '/^Max open files/ { print $4 }' "/proc/$SERVE_PID/limits"; }

cat >"$W/flood.py" <<'EOF'
import os, socket, sys, time

host, port, pid, addrs, per, want, scale = sys.argv[1:8]
port, addrs, per, want, scale = int(port), int(addrs), int(per), int(want), float(scale)
mode = sys.argv[8]
DEADLINE = 30 * scale

def fds():
    return len(os.listdir("/proc/%s/fd" % pid))

def cpu():
    with open("/proc/%s/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")

base = fds()
many = []
for a in range(addrs):
    for _ in range(per):
        s = socket.socket()
        s.setblocking(False)
        s.bind(("127.0.0.%d" % (a + 2), 0))
        s.connect_ex((host, port))
        many.append(s)
end = time.monotonic() + DEADLINE
while fds() - base < want and time.monotonic() < end:
    time.sleep(0.02)
got = fds() - base
print("# %d connections, the daemon holds %d more descriptors" % (len(many), got))
what = "takes every free descriptor" if mode == "spin" else "reaches the listener's limit"
if got >= want:
    print("ok - the flood %s (%d more descriptors, %d wanted)" % (what, got, want))
else:
    print("not ok - the flood %s: %d more descriptors, %d wanted, after %d s" % (what, got, want, DEADLINE))
if mode == "spin":
    # Out of descriptors: the listening socket stays readable.
    t0, c0 = time.monotonic(), cpu()
    time.sleep(3)
    used, el = cpu() - c0, time.monotonic() - t0
    print("# CPU while out of descriptors: %.2f s in %.1f s" % (used, el))
    if used < 0.5:
        print("ok - out of descriptors, the daemon waits rather than spin (%.2f s of CPU in %.1f s)" % (used, el))
    else:
        print("not ok - out of descriptors, the daemon used %.2f s of CPU in %.1f s" % (used, el))
else:
    # Eight new clients while the flood is connected, one after another.
    good = 0
    t0 = time.monotonic()
    for _ in range(8):
        try:
            c = socket.create_connection((host, port), timeout=DEADLINE)
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            r = b""
            while True:
                d = c.recv(4096)
                if not d:
                    break
                r += d
            c.close()
            if r.startswith(b"HTTP/1.1 200"):
                good += 1
        except OSError as e:
            print("# new client: %s" % e)
    el = time.monotonic() - t0
    # Left to the idle timeout (10 s), the first would wait that long.
    if good == 8 and el < 5 * scale:
        print("ok - new clients are served while the flood is connected (8 in %.1f s)" % el)
    else:
        print("not ok - %d of 8 new clients served in %.1f s while the flood is connected" % (good, el))
for s in many:
    s.close()
EOF

# flood PORT ADDRESSES PER-ADDRESS WANT MODE: each line the helper prints
# is a check.
flood() {
	tap_run python3 "$W/flood.py" 127.0.0.1 "$1" "$SERVE_PID" "$2" "$3" "$4" \
		"$TIME_SCALE" "$5"
}

# ---------------------------------------------------- the soft limit --
hard=$(ulimit -H -n)
case $hard in unlimited) want=1048576 ;; *) want=$hard ;; esac
[ "$want" -gt 1048576 ] && want=1048576
# valgrind keeps its client's limit of open files as it found it.
[ -n "${MICA_VALGRIND:-}" ] || with_limits 256
serve_start "$W/s1.out" "$D" -- --domain example.test --threads 100 ||
	serve_failed "$W/s1.out"
if [ -n "${MICA_VALGRIND:-}" ]; then
	skip "the soft limit is raised to the hard one" "valgrind keeps the limit"
elif [ "$want" -gt 256 ]; then
	is "started with a soft limit of 256 open files, the daemon raises it to the hard limit" \
		"$(soft_limit)" "$want"
else
	skip "the soft limit is raised to the hard one" "the hard limit here is $hard"
fi

# ------------------------------------------- many workers, a flood --
# 720 idle connections from 12 addresses (under the per-address limit of
# 64 each): the listener holds at least 500 of them (512 is its limit).
flood "$HP" 12 60 500 serve
check "the daemon is still up" kill -0 "$SERVE_PID"
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0

# ------------------------------------------------ out of descriptors --
if [ -n "${MICA_VALGRIND:-}" ]; then
	skip "out of descriptors" "valgrind keeps descriptors of its own below the limit"
	finish
	exit
fi
with_limits 160 160
serve_start "$W/s2.out" "$D" -- --threads 2 || serve_failed "$W/s2.out"
is "the daemon keeps the hard limit it was given" "$(soft_limit)" 160
check "... and says at start-up that it is low" \
	grep -q "open files limited to 160" "$W/s2.out.err"
open=$(fds)
n=$((160 - open))
echo "# $open descriptors open, $n free"
# Past every free descriptor: 320 connections from 8 addresses.
flood "$HP" 8 40 "$((n - 2))" spin
check "... and logs that it cannot accept" grep -q "cannot accept: Too many open files" "$W/s2.out.err"
served() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time $((5 * TIME_SCALE)) "$H/healthz")" = 200 ]; }
wait_for "/healthz once the flood has gone" 30 served &&
	ok "once the flood has gone, the daemon serves again" ||
	fail "the daemon did not serve again after the flood"
serve_stop
is "the daemon stops cleanly" "$SERVE_RC" 0
MICA=$REAL

finish
