#!/usr/bin/env python3
"""Hostile HTTP clients for tests/e2e/hostile.sh, on raw sockets (TLS
optional: the handshake is done, then the bytes are as raw as on plain TCP).

  slow     N slow connections, half slowloris (the request headers trickled
           one byte a second, never finished), half slow POST (complete
           headers with Content-Length 60000, then the body one byte a
           second), spread over several loopback source addresses. Prints
           "open N" to --ready once all are connected, keeps trickling until
           --stop exists (or --max seconds), writing the number of rounds
           done (one byte per connection a round, a round a second) to
           --progress after each, then prints a JSON summary: how many were
           still open when the stop file appeared.
  perip    --count connections from one source address, each holding an
           unfinished request; waits until the server has closed the ones
           beyond its limit (at most --limit left open) or --wait seconds
           passed, then prints how many the server kept ("alive") and how
           many it closed.
  oversize one oversized request: "header" (a 100 KiB header line),
           "length" (Content-Length: 10000000, no body sent), "chunked" (a
           chunked body growing without end), "chunked100k" (a finished
           chunked body of 100 KiB). Prints a JSON summary: the
           status the server answered (or "closed"), and how many bytes we
           had sent when it did.
"""
import argparse
import json
import os
import select
import socket
import ssl
import sys
import time


def connect(host, port, tls, src=None, timeout=30):
    s = socket.create_connection((host, port), timeout=timeout,
                                 source_address=(src, 0) if src else None)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE     # an attacker does not care
        s = ctx.wrap_socket(s, server_hostname=host)
    return s


def addresses(spec):
    """127.0.0.10-17 -> ['127.0.0.10', ..., '127.0.0.17']."""
    base, _, last = spec.rpartition('.')
    lo, _, hi = last.partition('-')
    return ['%s.%d' % (base, i) for i in range(int(lo), int(hi or lo) + 1)]


def is_closed(s):
    """True when the server has closed (or reset) the connection."""
    try:
        r, _, _ = select.select([s], [], [], 0)
        if not r and not (isinstance(s, ssl.SSLSocket) and s.pending()):
            return False
        s.setblocking(False)
        try:
            data = s.recv(4096)
        finally:
            s.setblocking(True)
        return data == b''
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except OSError:
        return True


def cmd_slow(a):
    srcs = addresses(a.addrs)
    conns = []   # [socket, remaining bytes to trickle, alive]
    host = '127.0.0.1'
    for i in range(a.count):
        src = srcs[i % len(srcs)]
        s = connect(host, a.port, a.tls, src)
        if i % 2 == 0:
            # slowloris: the head of a request, then one header byte a second
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: ' + host.encode() + b'\r\n')
            rest = b'X-Slow-' + str(i).encode() + b': ' + b'a' * 100000
        else:
            # slow POST: honest headers, then the body one byte a second
            s.sendall(b'POST /api/v1/requests HTTP/1.1\r\nHost: ' + host.encode() +
                      b'\r\nContent-Type: application/json\r\n'
                      b'Content-Length: 60000\r\n\r\n')
            rest = b'{' + b' ' * 59999
        conns.append([s, rest, True])
    with open(a.ready, 'w') as f:
        f.write('open %d\n' % len(conns))
    t0 = time.time()
    rounds = 0
    while not os.path.exists(a.stop) and time.time() - t0 < a.max:
        for c in conns:
            if not c[2]:
                continue
            if is_closed(c[0]):
                c[2] = False
                continue
            try:
                c[0].send(c[1][:1])
                c[1] = c[1][1:]
            except OSError:
                c[2] = False
        rounds += 1
        if a.progress:
            with open(a.progress + '.tmp', 'w') as f:
                f.write('%d\n' % rounds)
            os.replace(a.progress + '.tmp', a.progress)
        time.sleep(1)
    alive = sum(1 for c in conns if c[2] and not is_closed(c[0]))
    for c in conns:
        try:
            c[0].close()
        except OSError:
            pass
    print(json.dumps({'opened': len(conns), 'alive_at_stop': alive,
                      'seconds': round(time.time() - t0, 1)}))


def cmd_perip(a):
    conns = []
    refused = 0
    for i in range(a.count):
        try:
            s = connect('127.0.0.1', a.port, a.tls, a.addr, timeout=30)
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n')
            conns.append(s)
        except OSError:
            refused += 1      # refused, reset or closed during the handshake
    # The server closes the connections beyond its limit when it gets to
    # them: poll (a closed socket stays closed) until no more than --limit
    # are left, or the deadline passes.
    t0 = time.time()
    open_ = list(conns)
    while True:
        open_ = [s for s in open_ if not is_closed(s)]
        if len(open_) <= a.limit or time.time() - t0 >= a.wait:
            break
        time.sleep(0.05)
    alive = len(open_)
    for s in conns:
        try:
            s.close()
        except OSError:
            pass
    print(json.dumps({'tried': a.count, 'alive': alive,
                      'closed': a.count - alive}))


def status_of(buf):
    line = buf.split(b'\r\n', 1)[0].decode('latin-1')
    parts = line.split()
    return parts[1] if len(parts) >= 2 and parts[0].startswith('HTTP/') else 'garbage'


def poll_reply(s, buf):
    """Read what is there without blocking; (buf, closed)."""
    while True:
        r, _, _ = select.select([s], [], [], 0)
        if not r and not (isinstance(s, ssl.SSLSocket) and s.pending()):
            return buf, False
        s.setblocking(False)
        try:
            d = s.recv(65536)
        except (ssl.SSLWantReadError, BlockingIOError):
            return buf, False
        except OSError:
            return buf, True
        finally:
            s.setblocking(True)
        if not d:
            return buf, True
        buf += d


def cmd_oversize(a):
    s = connect('127.0.0.1', a.port, a.tls)
    sent = 0
    buf = b''
    closed = False
    if a.kind == 'header':
        head = b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: '
        pieces = [head] + [b'a' * 4096] * 25 + [b'\r\n\r\n']
    elif a.kind == 'length':
        pieces = [b'POST /api/v1/requests HTTP/1.1\r\nHost: x\r\n'
                  b'Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n']
    else:
        pieces = [b'POST /api/v1/requests HTTP/1.1\r\nHost: x\r\n'
                  b'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n']
        chunk = b'1000\r\n' + b' ' * 4096 + b'\r\n'
        if a.kind == 'chunked':
            pieces += [chunk] * 1024   # 4 MiB, never finished
        else:
            pieces += [chunk] * 25 + [b'0\r\n\r\n']   # 100 KiB, finished
    for p in pieces:
        try:
            s.sendall(p)
            sent += len(p)
        except OSError:
            closed = True
            break
        time.sleep(0.002)
        buf, closed = poll_reply(s, buf)
        if buf or closed:
            break
    # The length case sends no body: give the server time to refuse.
    t0 = time.time()
    while not buf and not closed and time.time() - t0 < a.wait:
        time.sleep(0.05)
        buf, closed = poll_reply(s, buf)
    status = status_of(buf) if buf else ('closed' if closed else 'none')
    s.close()
    print(json.dumps({'kind': a.kind, 'status': status, 'sent': sent}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('slow')
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--tls', action='store_true')
    p.add_argument('--count', type=int, default=100)
    p.add_argument('--addrs', default='127.0.0.10-17')
    p.add_argument('--ready', required=True)
    p.add_argument('--stop', required=True)
    p.add_argument('--max', type=float, default=300)
    p.add_argument('--progress', help='file: rounds of trickling done so far')
    p = sub.add_parser('perip')
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--tls', action='store_true')
    p.add_argument('--addr', default='127.0.0.50')
    p.add_argument('--count', type=int, default=80)
    p.add_argument('--limit', type=int, default=64,
                   help='stop waiting once at most this many are open')
    p.add_argument('--wait', type=float, default=60.0)
    p = sub.add_parser('oversize')
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--tls', action='store_true')
    p.add_argument('--kind', choices=['header', 'length', 'chunked', 'chunked100k'], required=True)
    p.add_argument('--wait', type=float, default=60.0,
                   help='seconds to wait for the answer once all was sent')
    a = ap.parse_args()
    {'slow': cmd_slow, 'perip': cmd_perip, 'oversize': cmd_oversize}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
