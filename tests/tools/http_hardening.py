#!/usr/bin/env python3
"""Clients for tests/e2e/http_hardening.sh, on raw sockets (TLS optional:
the handshake is done, then the bytes are as raw as on plain TCP).

  raw     send one request exactly as given (Python escapes, e.g. '\\r\\n'),
          then read until the server closes (or --wait seconds pass);
          prints JSON: the status of every response on the wire, in order,
          and whether the server closed the connection afterwards.
"""
import argparse
import json
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


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('raw')
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--tls', action='store_true')
    p.add_argument('--data', required=True)
    p.add_argument('--wait', type=float, default=5.0)
    a = ap.parse_args()
    {'raw': cmd_raw}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
