#!/bin/bash
# End-to-end: connections are spread over a listener's workers. A worker
# (a libmicrohttpd pool thread) serves its connections in turn, so two
# busy connections on one worker wait for each other while another worker
# idles. Left to libmicrohttpd, every worker watched the listening socket
# and the first to wake took a whole burst: eight clients connecting at
# once were seen served four by one worker and none by four others, and
# issuance p99 at 8 clients suffered for it. mica's acceptor now hands
# each new connection to the worker with the fewest (web/listener.c).
#
# The daemon runs with four workers per listener (--threads 4) and the
# test gate of fault-injection builds: with MICA_TEST_POOL_GATE=PATH,
# each GET /ca.pem appends a line to PATH.reached on its worker, then
# waits there (at most a minute) until PATH exists. A request can reach
# the gate only on a worker no other held request occupies. Checked, on
# HTTP and on HTTPS:
#   - four clients that connect at once and each ask for /ca.pem are all
#     held at the gate together (four workers, one each); let go, each
#     gets 200 and the root the daemon serves at /ca.crt;
#   - two of them close and the other two ask again (held on their two
#     workers); once the daemon has closed the other two, two new
#     clients connect and ask: they are placed on the two free workers
#     and held there too, and all four are answered;
#   - on HTTP, a flood of connections while every worker is held: more
#     clients (720, from 12 loopback addresses) connect than the listener
#     takes (576: its limit, 512, and the slack for dropped ones). Once the
#     workers are let go, the held clients are answered, and new clients
#     are served while the slowest of the flood are dropped to make
#     room. libmicrohttpd 0.9.75 hangs a worker that is handed more
#     connections than its share of the limit (web/listener.c);
#     before the acceptor kept within the shares, this phase left
#     workers hung and the daemon unable to stop; and before it searched
#     past every number in the way for a socket number on the worker it
#     chose, the new clients were sometimes all reset (the lowest free
#     number fell on a full worker: each was accepted on it and closed;
#     test_web has the layout);
#   - the daemon still stops cleanly (SIGTERM, exit 0) within a deadline.
# Run by 'make check' (MICA_BIN set), or: MICA_BIN=./mica bash tests/e2e/workers.sh
. "${MICA_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/lib.sh"

need curl openssl python3
need_fault_hook "test gate"

W=$(mktmp)
D=$W/ca

G=$W/gate
touch "$G"      # open while the daemon starts
serve_start "$W/serve.out" "$D" "MICA_TEST_POOL_GATE=$G" -- --threads 4 \
	--domain example.test || serve_failed "$W/serve.out"
serve_facts "$W/serve.out" "$W"

cat >"$W/clients.py" <<'EOF'
import os, socket, ssl, sys, time

gate, host, port, tls, cafile, scale, phase, pid = sys.argv[1:9]
port, tls, scale = int(port), tls == "1", float(scale)
root = open(cafile, "rb").read().strip()
DEADLINE = 30 * scale

def reached():
    try:
        with open(gate + ".reached") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0

def hold():
    for p in (gate, gate + ".reached"):
        try:
            os.remove(p)
        except FileNotFoundError:
            pass

def release():
    open(gate, "w").close()

def connect():
    s = socket.create_connection((host, port), timeout=120 * scale)
    if tls:
        ctx = ssl.create_default_context(cafile=cafile)
        s = ctx.wrap_socket(s, server_hostname=host)
    return s

def ask(s):
    s.sendall(b"GET /ca.pem HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())

def answer(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return None, None
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    n = 0
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(body) < n:
        d = s.recv(65536)
        if not d:
            break
        body += d
    return status, body[:n].strip()

def wait_reached(want, what):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if reached() >= want:
            print("ok - %s (%d held at the gate at once)" % (what, want))
            return True
        time.sleep(0.02)
    print("not ok - %s: %d of %d held at the gate after %d s" %
          (what, reached(), want, DEADLINE))
    return False

def check_answers(conns, what):
    good = 0
    for s in conns:
        try:
            st, body = answer(s)
        except OSError as e:
            print("answer: %s" % e)
            continue
        if st == 200 and body == root:
            good += 1
    if good == len(conns):
        print("ok - %s: %d answered 200 with the root" % (what, good))
    else:
        print("not ok - %s: %d of %d answered 200 with the root" % (what, good, len(conns)))

def open_fds():
    return len(os.listdir("/proc/%s/fd" % pid))

def flood():
    hold()
    held = [connect() for _ in range(4)]
    for s in held:
        ask(s)
    wait_reached(4, "%s: every worker held before the flood" % name)
    base = open_fds()
    many = []
    for a in range(12):
        for _ in range(60):
            s = socket.socket()
            s.setblocking(False)
            s.bind(("127.0.0.%d" % (a + 2), 0))
            s.connect_ex((host, port))
            many.append(s)
    # The listener takes what it has room for (576 with the four held).
    end = time.monotonic() + DEADLINE
    while open_fds() - base < 500 and time.monotonic() < end:
        time.sleep(0.02)
    got = open_fds() - base
    if got >= 500:
        print("ok - %s: the flood was accepted while the workers were held (%d)" % (name, got))
    else:
        print("not ok - %s: only %d of the flood accepted after %d s" % (name, got, DEADLINE))
    release()
    check_answers(held, "%s: the held clients, let go after the flood" % name)
    for s in held:
        s.close()
    # Eight new clients, one request each on its own connection, all
    # at once: served while the flood is still connected.
    new = []
    for _ in range(8):
        try:
            s = connect()
            s.settimeout(DEADLINE)
            ask(s)
            new.append(s)
        except OSError as e:
            print("connect: %s" % e)
    good = 0
    for s in new:
        try:
            st, body = answer(s)
            if st == 200 and body == root:
                good += 1
        except OSError as e:
            print("answer: %s" % e)
        s.close()
    if good == 8:
        print("ok - %s: new clients are served while the flood is connected (8 of 8)" % name)
    else:
        print("not ok - %s: %d of 8 new clients served while the flood is connected" % (name, good))
    for s in many:
        s.close()

name = "HTTPS" if tls else "HTTP"
if phase == "flood":
    flood()
    sys.exit(0)
hold()
conns = [connect() for _ in range(4)]
for s in conns:
    ask(s)
wait_reached(4, "%s: four clients connecting at once are served by four workers" % name)
release()
check_answers(conns, "%s: let go" % name)

# The daemon counts a connection gone when its worker has closed it;
# wait for that (its descriptors), or a new client may still be given to
# a worker whose old connection is being closed.
before = open_fds()
for s in conns[2:]:
    s.close()
conns = conns[:2]
end = time.monotonic() + DEADLINE
while open_fds() > before - 2 and time.monotonic() < end:
    time.sleep(0.02)
hold()
for s in conns:
    ask(s)
wait_reached(2, "%s: the two clients left are held again" % name)
new = [connect() for _ in range(2)]
for s in new:
    ask(s)
wait_reached(4, "%s: two new clients go to the two free workers" % name)
release()
check_answers(conns + new, "%s: let go again" % name)
for s in conns + new:
    s.close()
EOF

# Each line the helper prints is a check.
run_clients() {
	tap_run python3 "$W/clients.py" "$G" 127.0.0.1 "$1" "$2" "$W/root.pem" \
		"$TIME_SCALE" "$3" "$SERVE_PID"
}
run_clients "$HP" 0 spread
run_clients "$SP" 1 spread
run_clients "$HP" 0 flood
touch "$G"
# What the daemon said, beside a failure (its access lines left out).
[ "$FAIL" -eq 0 ] || grep -v ' GET /ca.pem ' "$W/serve.out.err" | sed 's/^/# /'

# The daemon is this shell's child: gone once it is a zombie.
serve_gone() {
	case $(ps -o stat= -p "$SERVE_PID" 2>/dev/null) in ""|Z*) return 0 ;; esac
	return 1
}
kill -TERM "$SERVE_PID"
if wait_for "the daemon to stop" 60 serve_gone; then
	serve_wait
	is "the daemon stops cleanly (SIGTERM)" "$SERVE_RC" 0
else
	fail "the daemon did not stop within $((60 * TIME_SCALE)) s of SIGTERM"
	serve_stop KILL
fi

finish
