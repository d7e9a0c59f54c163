#!/usr/bin/env python3
"""Time failed authentications for tests/e2e/secrets.sh.

  host_timing.py --port P --count 300 LABEL=TOKEN LABEL=TOKEN ...

Sends COUNT requests per token (GET /api/v1/status with "Authorization:
Bearer TOKEN", plain HTTP on loopback, which the daemon allows), interleaved
in a random order within each round, over keep-alive connections opened
before the clock starts, and prints a JSON object: per label the median and
the quartiles in milliseconds and the status codes seen.

The daemon answers 429 to a client address after 10 failed authentications
in a minute, so every address (127.0.1.1, 127.0.1.2, ...) sends at most
--per-addr rounds (3 rounds of 3 tokens = 9 failures).
"""
import argparse
import http.client
import json
import random
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--count', type=int, default=300)
    ap.add_argument('--per-addr', type=int, default=3)
    ap.add_argument('--path', default='/api/v1/status')
    ap.add_argument('tokens', nargs='+')
    a = ap.parse_args()
    kinds = [t.split('=', 1) for t in a.tokens]
    naddr = (a.count + a.per_addr - 1) // a.per_addr
    if naddr > 250 * 250:
        sys.exit('too many rounds')
    times = {k: [] for k, _ in kinds}
    codes = {k: {} for k, _ in kinds}
    rnd = random.Random(6)
    conn = None
    for r in range(a.count):
        if r % a.per_addr == 0:
            if conn is not None:
                conn.close()
            i = r // a.per_addr
            src = '127.0.%d.%d' % (1 + i // 250, 1 + i % 250)
            conn = http.client.HTTPConnection('127.0.0.1', a.port, timeout=60,
                                              source_address=(src, 0))
            conn.connect()
        order = list(kinds)
        rnd.shuffle(order)
        for label, tok in order:
            t0 = time.perf_counter_ns()
            conn.request('GET', a.path, headers={'Authorization': 'Bearer ' + tok})
            resp = conn.getresponse()
            resp.read()
            t1 = time.perf_counter_ns()
            times[label].append((t1 - t0) / 1e6)
            codes[label][resp.status] = codes[label].get(resp.status, 0) + 1
            if resp.getheader('Connection', '').lower() == 'close':
                conn.close()
                conn = http.client.HTTPConnection('127.0.0.1', a.port, timeout=60,
                                                  source_address=(src, 0))
                conn.connect()
    conn.close()
    out = {}
    for label, _ in kinds:
        v = sorted(times[label])
        q = statistics.quantiles(v, n=4)
        out[label] = {'median_ms': round(statistics.median(v), 4),
                      'q1_ms': round(q[0], 4), 'q3_ms': round(q[2], 4),
                      'n': len(v), 'codes': {str(c): n for c, n in codes[label].items()}}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
