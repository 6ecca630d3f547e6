#!/usr/bin/env python3
"""Write a deterministic test access log in nginx's combined format plus
" $request_time $upstream_response_time", as nginx 1.22 would (default escaping).

Usage: scripts/gen-log.py [--lines N] [--seed S] [--rate R] [OUTPUT]   (default: stdout)

Fixed seed, so the same arguments always give the same bytes. The mix: mostly 200s, some
304/404, 499 (client gave up), 502/504 with upstream retries ("0.000, 0.003"), internal
redirects ("0.001 : 0.002"), unreached upstreams ("-"), TLS hellos on the plain port (400,
no upstream), quotes in user agents (\\x22), and lines out of order by up to a few ms as
several workers write. Python standard library only.
"""

import argparse
import random
import sys
import time

AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "curl/7.88.1",
    "ELB-HealthChecker/2.0",
    "Go-http-client/1.1",
    'bot \\x22quoted\\x22 v1',
    "-",
]
PATHS = ["/", "/api/v1/items", "/api/v1/items/42?expand=true", "/static/app.js", "/login", "/health"]
METHODS = ["GET"] * 8 + ["POST", "PUT"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def time_local(epoch_seconds):
    t = time.gmtime(epoch_seconds)
    return "%02d/%s/%04d:%02d:%02d:%02d +0000" % (
        t.tm_mday, MONTHS[t.tm_mon - 1], t.tm_year, t.tm_hour, t.tm_min, t.tm_sec)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--rate", type=float, default=2000.0, help="requests per second")
    parser.add_argument("output", nargs="?")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    out = open(args.output, "w", encoding="ascii", newline="\n") if args.output else sys.stdout
    start = 1795376962.0  # 2026-11-22T19:49:22Z
    now = start
    cached_second = None
    cached_text = ""
    chunk = []
    for _ in range(args.lines):
        now += rng.expovariate(args.rate)
        # Several workers: a line may be written a few ms out of end-time order.
        logged = now - rng.random() * 0.003
        second = int(logged)
        if second != cached_second:
            cached_second, cached_text = second, time_local(second)
        addr = "10.%d.%d.%d" % (rng.randrange(4), rng.randrange(256), rng.randrange(1, 255))
        roll = rng.random()
        upstream_ms = rng.lognormvariate(2.5, 1.0)  # median ~12 ms
        if roll < 0.002:
            request = "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03"
            status, size, rt, urt = 400, 157, "0.000", "-"
        elif roll < 0.012:
            request = "%s %s HTTP/1.1" % (rng.choice(METHODS), rng.choice(PATHS))
            status, size = 499, 0
            rt = "%.3f" % (upstream_ms / 1000 + rng.random())
            urt = "-"
        elif roll < 0.017:
            request = "GET %s HTTP/1.1" % rng.choice(PATHS)
            status, size = rng.choice([502, 504]), 157
            first = rng.random() * 0.005
            second_try = upstream_ms / 1000
            rt = "%.3f" % (first + second_try + 0.001)
            urt = "%.3f, %.3f" % (first, second_try)
        elif roll < 0.020:
            request = "GET /old HTTP/1.1"
            status, size = 200, 512
            a, b = rng.random() * 0.002, upstream_ms / 1000
            rt = "%.3f" % (a + b)
            urt = "%.3f : %.3f" % (a, b)
        else:
            request = "%s %s HTTP/1.1" % (rng.choice(METHODS), rng.choice(PATHS))
            status = rng.choices([200, 304, 404, 301], weights=[90, 5, 4, 1])[0]
            size = rng.randrange(0, 50_000) if status == 200 else 0
            ut = upstream_ms / 1000
            # $request_time can be a ms below $upstream_response_time (different clocks).
            rt = "%.3f" % max(0.0, ut + rng.choice([-0.001, 0.0, 0.0, 0.001, 0.002]))
            urt = "%.3f" % ut
        user = "-" if rng.random() < 0.97 else "alice"
        referer = "-" if rng.random() < 0.7 else "https://example.com/"
        chunk.append('%s - %s [%s] "%s" %d %d "%s" "%s" %s %s\n' % (
            addr, user, cached_text, request, status, size, referer, rng.choice(AGENTS), rt, urt))
        if len(chunk) >= 10_000:
            out.write("".join(chunk))
            chunk.clear()
    out.write("".join(chunk))
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
