#!/usr/bin/env python3
"""Clients for tests/e2e/http_hardening.sh, on raw sockets (TLS optional:
the handshake is done, then the bytes are as raw as on plain TCP).

  raw     send one request exactly as given (Python escapes, e.g. '\\r\\n'),
          then read until the server closes (or --wait seconds pass);
          prints JSON: the status of every response on the wire, in order,
          and whether the server closed the connection afterwards.
  early   POST a body --count times with Python's http.client (which sends
          the whole body before it reads anything, with no "Expect:
          100-continue"), each on a new connection; prints JSON: how many
          times each status was received ("reset" when the connection was
          reset instead, "error:..." otherwise). --token random gives every
          request a bearer token with a new random id, so the failures do
          not add up in the rate limiter.
  expect  a POST whose head declares a body over the limit, with or without
          "Expect: 100-continue", the body never sent; or a chunked one,
          sent after the server's "100 Continue"; prints JSON: the
          interim and final statuses, Connection, the error, how the
          connection ended (see cmd_expect).
  trickle the slow-client attack of issue 9 item 4: --per connections
          from each of the loopback source addresses --addrs (TLS with
          --tls), each sending one byte of a request head every --every
          seconds; a connection the server drops is opened again (half a
          second later), as an attacker would. Writes "ready" to --ready
          once --ready-at connections are open (or after 15 s), stops when --stop exists
          or after --max seconds, then prints JSON: connections opened,
          dropped by the server, and open at the end.
  deadline three clients at once: "head" trickles a request head (one
          byte a second), "body" sends a whole head and then its body one
          byte a second, "okbody" sends a 30 KiB body at 2 KiB/s (twice
          the minimum rate); prints JSON: the seconds after which the
          server closed each of the first two, and the status the third
          got (with its seconds).
"""
import argparse
import asyncio
import collections
import threading
import http.client
import json
import os
import socket
import ssl
import sys
import time


def connect(port, tls, src=None, timeout=10):
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout,
                                 source_address=(src, 0) if src else None)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE     # framing, not trust, is tested
        s = ctx.wrap_socket(s, server_hostname='127.0.0.1')
    return s


def responses(buf):
    """The statuses of the complete HTTP responses at the start of BUF
    (each framed by its Content-Length), and the bytes left over."""
    out = []
    while True:
        end = buf.find(b'\r\n\r\n')
        if end < 0:
            return out, buf
        head = buf[:end].decode('latin-1').split('\r\n')
        parts = head[0].split()
        if len(parts) < 2 or not parts[0].startswith('HTTP/'):
            return out + ['garbage'], b''
        length = 0
        for line in head[1:]:
            k, _, v = line.partition(':')
            if k.strip().lower() == 'content-length':
                length = int(v.strip())
        if len(buf) < end + 4 + length:
            return out, buf
        out.append(int(parts[1]))
        buf = buf[end + 4 + length:]


def cmd_raw(a):
    payload = a.data.encode('latin-1').decode('unicode_escape').encode('latin-1')
    s = connect(a.port, a.tls)
    s.sendall(payload)
    buf, closed = read_until_closed(s, a.wait)
    s.close()
    statuses, rest = responses(buf)
    print(json.dumps({'statuses': statuses, 'after': closed,
                      'left_over': len(rest)}))


def cmd_early(a):
    body = b'{' + b' ' * (a.size - 2) + b'}'
    seen = collections.Counter()
    for _ in range(a.count):
        headers = {'Content-Type': 'application/json'}
        if a.token == 'random':
            headers['Authorization'] = 'Bearer mica_%s_%s' % (
                os.urandom(8).hex(), os.urandom(32).hex())
        if a.tls:
            ctx = ssl.create_default_context(cafile=a.cacert)
            ctx.check_hostname = False
            c = http.client.HTTPSConnection('127.0.0.1', a.port, timeout=30, context=ctx)
        else:
            c = http.client.HTTPConnection('127.0.0.1', a.port, timeout=30)
        try:
            c.request('POST', a.path, body=body, headers=headers)
            r = c.getresponse()
            r.read()
            seen[str(r.status)] += 1
        except (ConnectionResetError, BrokenPipeError):
            seen['reset'] += 1
        except Exception as e:      # noqa: BLE001 - reported, not hidden
            seen['error:' + type(e).__name__] += 1
        finally:
            c.close()
    print(json.dumps(dict(seen), sort_keys=True))


def addresses(spec):
    """127.0.0.11-20 -> ['127.0.0.11', ..., '127.0.0.20']."""
    base, _, last = spec.rpartition('.')
    lo, _, hi = last.partition('-')
    return ['%s.%d' % (base, i) for i in range(int(lo), int(hi or lo) + 1)]


def cmd_trickle(a):
    head = b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + b'a' * 100000
    stats = collections.Counter()
    t0 = time.time()

    def over():
        return os.path.exists(a.stop) or time.time() - t0 > a.max

    async def one(src):
        ctx = None
        if a.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        while not over():
            w = None
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(
                    '127.0.0.1', a.port, ssl=ctx, local_addr=(src, 0),
                    server_hostname='127.0.0.1' if ctx else None), 30)
                stats['opened'] += 1
                stats['open'] += 1
                i = 0
                while not over():
                    w.write(head[i:i + 1])
                    i += 1
                    await w.drain()
                    try:
                        d = await asyncio.wait_for(r.read(4096), a.every)
                    except asyncio.TimeoutError:
                        continue
                    if not d:
                        break           # the server closed it
                stats['open'] -= 1
                if not over():
                    stats['dropped'] += 1
            except (OSError, asyncio.TimeoutError, ssl.SSLError):
                if w is not None:
                    stats['open'] -= 1
                    stats['dropped'] += 1
                else:
                    stats['refused'] += 1
            finally:
                if w is not None:
                    w.close()
            await asyncio.sleep(0.5)

    async def main():
        tasks = [asyncio.ensure_future(one(src))
                 for src in addresses(a.addrs) for _ in range(a.per)]
        await asyncio.sleep(0)
        # Ready when --ready-at connections are open (the server's table
        # is about full), or after 15 s whatever the count.
        t = time.time()
        while time.time() - t < 15 and stats['open'] < a.ready_at and not over():
            await asyncio.sleep(0.1)
        with open(a.ready, 'w') as f:
            f.write('opened %d\n' % stats['opened'])
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    print(json.dumps({'opened': stats['opened'], 'dropped': stats['dropped'],
                      'refused': stats['refused'], 'open_at_end': stats['open'],
                      'seconds': round(time.time() - t0, 1)}))


def cmd_deadline(a):
    out = {}

    def until_closed(name, first, rest, every):
        s = connect(a.port, a.tls, timeout=60)
        t0 = time.time()
        s.sendall(first)
        s.settimeout(every)
        for i in range(len(rest)):
            try:
                d = s.recv(4096)
                if not d:
                    break
                out[name + '_answer'] = d.split(b'\r\n', 1)[0].decode('latin-1')
                break
            except (socket.timeout, ssl.SSLWantReadError):
                pass
            except OSError:
                break
            try:
                s.sendall(rest[i:i + 1])
            except OSError:
                break
            if time.time() - t0 > a.max:
                break
        out[name] = round(time.time() - t0, 1)
        s.close()

    def okbody():
        s = connect(a.port, a.tls, timeout=60)
        n = 30 * 1024
        t0 = time.time()
        s.sendall(b'POST /api/v1/requests HTTP/1.1\r\nHost: x\r\n'
                  b'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{' % n)
        sent = 1
        try:
            while sent < n:
                k = min(512, n - sent)
                s.sendall((b' ' * (k - 1) + b'}') if sent + k == n else b' ' * k)
                sent += k
                time.sleep(0.25)        # 512 bytes / 0.25 s = 2 KiB/s
            s.settimeout(30)
            d = s.recv(4096)
            out['okbody'] = d.split(b'\r\n', 1)[0].decode('latin-1') if d else 'closed'
        except OSError as e:
            out['okbody'] = 'error: %s after %d bytes' % (type(e).__name__, sent)
        out['okbody_seconds'] = round(time.time() - t0, 1)
        s.close()

    head = (b'G', b'ET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + b'a' * 1000)
    body = (b'POST /api/v1/requests HTTP/1.1\r\nHost: x\r\nContent-Type: '
            b'application/json\r\nContent-Length: 60000\r\n\r\n{', b' ' * 1000)
    ts = [threading.Thread(target=until_closed, args=('head', head[0], head[1], 1.0)),
          threading.Thread(target=until_closed, args=('body', body[0], body[1], 1.0)),
          threading.Thread(target=okbody)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps(out, sort_keys=True))


def read_until_closed(s, wait):
    """Everything S sends within WAIT seconds or until it closes; and
    how it ended: 'closed', 'reset' or 'open' (still open at the end)."""
    buf = b''
    deadline = time.time() + wait
    s.settimeout(0.2)
    while time.time() < deadline:
        try:
            d = s.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (ConnectionResetError, ssl.SSLError, OSError):
            return buf, 'reset'
        if not d:
            return buf, 'closed'
        buf += d
    return buf, 'open'


def cmd_expect(a):
    """--method (POST) to --path a head that declares a body of --length octets (or
    a chunked one of --chunked octets), with "Expect: 100-continue" if
    --expect, as HTTP/1.0 with --http10. A declared body is sent right
    after the head with --send-body, never otherwise: the server must
    then answer on the head alone. A chunked one is sent once the server said "100
    Continue" (or at once without --expect). Prints JSON: the interim
    statuses, the final status, its Connection field, its JSON body's
    "error" (or an ACME problem's "type"), how the connection ended, and
    the octets of body sent."""
    s = connect(a.port, a.tls, timeout=30)
    head = ('%s %s HTTP/%s\r\nHost: x\r\nContent-Type: %s\r\n'
            % (a.method, a.path, '1.0' if a.http10 else '1.1', a.ctype)).encode()
    if a.expect:
        head += b'Expect: 100-continue\r\n'
    if a.chunked is not None:
        head += b'Transfer-Encoding: chunked\r\n\r\n'
    else:
        head += b'Content-Length: %d\r\n\r\n' % a.length
    s.sendall(head)
    buf, sent = b'', 0
    if a.chunked is not None:
        if a.expect:
            # Wait for the interim answer (or anything else) first.
            s.settimeout(0.2)
            deadline = time.time() + a.wait
            while b'\r\n\r\n' not in buf and time.time() < deadline:
                try:
                    d = s.recv(65536)
                except (socket.timeout, ssl.SSLWantReadError):
                    continue
                if not d:
                    break
                buf += d
        chunk = b'%x\r\n%s\r\n' % (8192, b'a' * 8192)
        try:
            while sent < a.chunked:
                s.sendall(chunk)
                sent += 8192
            s.sendall(b'0\r\n\r\n')
        except OSError:
            pass
    elif a.send_body:
        # As an HTTP/1.0 client does, Expect or not: the body at once.
        try:
            while sent < a.length:
                n = min(16384, a.length - sent)
                s.sendall(b' ' * n)
                sent += n
        except OSError:
            pass
    more, after = read_until_closed(s, a.wait)
    buf += more
    s.close()
    out = {'interim': [], 'status': None, 'connection': None, 'error': None,
           'after': after, 'body_sent': sent}
    while True:
        end = buf.find(b'\r\n\r\n')
        if end < 0:
            break
        lines = buf[:end].decode('latin-1').split('\r\n')
        parts = lines[0].split()
        if len(parts) < 2 or not parts[1].isdigit():
            out['status'] = 'garbage'
            break
        fields = {}
        for line in lines[1:]:
            k, _, v = line.partition(':')
            fields[k.strip().lower()] = v.strip()
        code = int(parts[1])
        buf = buf[end + 4:]
        if 100 <= code < 200:
            out['interim'].append(code)
            continue
        out['status'] = code
        out['connection'] = fields.get('connection')
        body = buf[:int(fields.get('content-length', '0'))]
        if a.method == 'HEAD':
            # No content follows a HEAD's head: what does is left over.
            out['error'] = 'no content' if not buf else 'content: %d' % len(buf)
            break
        try:
            j = json.loads(body)
            out['error'] = j.get('error') or j.get('type')
        except ValueError:
            out['error'] = 'not JSON'
        break
    print(json.dumps(out, sort_keys=True))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('raw')
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--tls', action='store_true')
    p.add_argument('--data', required=True)
    p.add_argument('--wait', type=float, default=5.0)
    p = sub.add_parser('early')
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--tls', action='store_true')
    p.add_argument('--cacert')
    p.add_argument('--path', default='/api/v1/requests')
    p.add_argument('--size', type=int, default=100 * 1024)
    p.add_argument('--count', type=int, default=20)
    p.add_argument('--token', choices=['none', 'random'], default='none')
    p = sub.add_parser('expect')
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--tls', action='store_true')
    p.add_argument('--path', default='/api/v1/requests')
    p.add_argument('--ctype', default='application/json')
    p.add_argument('--expect', action='store_true')
    p.add_argument('--length', type=int, default=10 * 1000 * 1000)
    p.add_argument('--chunked', type=int)
    p.add_argument('--http10', action='store_true')
    p.add_argument('--method', default='POST')
    p.add_argument('--send-body', action='store_true',
                   help='send the declared body right after the head')
    p.add_argument('--wait', type=float, default=10.0)
    p = sub.add_parser('trickle')
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--tls', action='store_true')
    p.add_argument('--addrs', default='127.0.0.11-20')
    p.add_argument('--per', type=int, default=64)
    p.add_argument('--every', type=float, default=4.0)
    p.add_argument('--ready-at', type=int, default=480)
    p.add_argument('--ready', required=True)
    p.add_argument('--stop', required=True)
    p.add_argument('--max', type=float, default=120)
    p = sub.add_parser('deadline')
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--tls', action='store_true')
    p.add_argument('--max', type=float, default=60)
    a = ap.parse_args()
    {'raw': cmd_raw, 'early': cmd_early, 'expect': cmd_expect,
     'trickle': cmd_trickle, 'deadline': cmd_deadline}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
