#!/usr/bin/env python3
"""A PendingRequests series for the simulate benchmark: N datapoints 10 s apart (default
259,200: 30 days), a daily cycle with noise and a burst now and then, as the CSV that
`simulate --series` reads (timestamp and the five statistics). Fixed seed: the same file
every run."""
import argparse
import math
import random
import time

parser = argparse.ArgumentParser()
parser.add_argument("--points", type=int, default=259_200)
parser.add_argument("--period", type=int, default=10)
parser.add_argument("out")
args = parser.parse_args()

rng = random.Random(12)
start = 1_764_547_200  # 2025-12-01T00:00:00Z, on every period boundary
burst = 0
with open(args.out, "w") as out:
    out.write("timestamp,SampleCount,Sum,Minimum,Maximum,Average\n")
    for i in range(args.points):
        t = start + i * args.period
        day = (t % 86_400) / 86_400
        base = 8 + 7 * math.sin(2 * math.pi * (day - 0.3))
        if burst == 0 and rng.random() < 0.0005:
            burst = rng.randint(6, 60)
        level = base + (30 if burst else 0) + rng.gauss(0, 2)
        burst = max(0, burst - 1)
        samples = [max(0.0, level + rng.gauss(0, 3)) for _ in range(10)]
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        total = sum(samples)
        out.write(f"{ts},10,{total:.3f},{min(samples):.3f},{max(samples):.3f},{total / 10:.3f}\n")
