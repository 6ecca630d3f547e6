#!/usr/bin/env python3
"""Write a deterministic test access log in nginx's combined format plus
" $request_time $upstream_response_time", as nginx 1.22 would (default escaping).

Usage: scripts/gen-log.py [--lines N] [--seed S] [--rate R | --span SECONDS] [--shape short|real] [OUTPUT]
       (default: stdout)

--shape short (the default) writes the benchmark's compact lines (about 135 bytes each);
--shape real writes lines shaped like today's traffic: three in four from browsers, whose
user agents are 110-140 bytes, the rest health checks and API clients; a referer on 40% of
lines; about 210 bytes a line; the same format and the same mix of statuses and upstream
times.

--span SECONDS spreads the lines over that many seconds instead of --rate's (the rate is
lines / span): `--span 86400` is a day of a quiet proxy, about 11.6 requests a second for a
million lines, so the time changes every few lines and every period has few requests.

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
# Browser user agents as they are sent today, 110-140 bytes each.
REAL_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0 (compatible; corporate-proxy/4.2)",
]
REAL_PATHS = [
    "/", "/api/v1/items?page=3", "/api/v1/items/42", "/static/js/app.4f2a9c.js", "/login", "/health",
]
REAL_REFERERS = ["https://www.example.com/", "https://www.google.com/", "https://example.com/cart"]
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
    parser.add_argument("--span", type=float, help="seconds the lines span (sets the rate)")
    parser.add_argument("--shape", choices=["short", "real"], default="short")
    parser.add_argument("output", nargs="?")
    args = parser.parse_args()
    if args.span is not None:
        if args.span <= 0:
            parser.error("--span must be positive")
        args.rate = args.lines / args.span
    real = args.shape == "real"
    # Real traffic: mostly browsers, some health checks and API clients.
    agents = REAL_AGENTS * 3 + AGENTS if real else AGENTS
    paths = REAL_PATHS if real else PATHS

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
            request = "%s %s HTTP/1.1" % (rng.choice(METHODS), rng.choice(paths))
            status, size = 499, 0
            rt = "%.3f" % (upstream_ms / 1000 + rng.random())
            urt = "-"
        elif roll < 0.017:
            request = "GET %s HTTP/1.1" % rng.choice(paths)
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
            request = "%s %s HTTP/1.1" % (rng.choice(METHODS), rng.choice(paths))
            status = rng.choices([200, 304, 404, 301], weights=[90, 5, 4, 1])[0]
            size = rng.randrange(0, 50_000) if status == 200 else 0
            ut = upstream_ms / 1000
            # $request_time can be a ms below $upstream_response_time (different clocks).
            rt = "%.3f" % max(0.0, ut + rng.choice([-0.001, 0.0, 0.0, 0.001, 0.002]))
            urt = "%.3f" % ut
        user = "-" if rng.random() < 0.97 else "alice"
        if real:
            referer = "-" if rng.random() < 0.6 else rng.choice(REAL_REFERERS)
        else:
            referer = "-" if rng.random() < 0.7 else "https://example.com/"
        chunk.append('%s - %s [%s] "%s" %d %d "%s" "%s" %s %s\n' % (
            addr, user, cached_text, request, status, size, referer, rng.choice(agents), rt, urt))
        if len(chunk) >= 10_000:
            out.write("".join(chunk))
            chunk.clear()
    out.write("".join(chunk))
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
