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
"""
import argparse
import collections
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
    buf = b''
    closed = 'open'
    deadline = time.time() + a.wait
    s.settimeout(0.2)
    while time.time() < deadline:
        try:
            d = s.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (ConnectionResetError, ssl.SSLError, OSError):
            closed = 'reset'
            break
        if not d:
            closed = 'closed'
            break
        buf += d
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
    a = ap.parse_args()
    {'raw': cmd_raw, 'early': cmd_early}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
