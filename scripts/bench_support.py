"""Helpers for scripts/bench-*.sh: process figures from /proc, a 1 s scraper, the time-to-signal
probe. Python standard library, plus boto3 from .venv for reading CloudWatch back.

Every loop here is bounded by a deadline; all traffic is on loopback.
"""
import os
import random
import sys
import threading
import time
import urllib.request

from demo_support import upstream, wait  # noqa: F401  (the demo's slow upstream and readiness wait)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process (fields 14 and 15 of /proc/PID/stat), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces: split after its closing parenthesis.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def threads(pid):
    return status_kb(pid, "Threads")


def watch(seconds, *pids):
    """Sample the pids for SECONDS after a warm-up already done by the caller; print one line
    per pid: `pid cpu_share_percent vmhwm_kb vmrss_first_kb vmrss_last_kb threads rss_anon_kb`.
    VmHWM counts the binary's mapped file pages too (shared, reclaimable page cache); RssAnon
    is the process's own memory."""
    pids = [int(p) for p in pids]
    seconds = float(seconds)
    start_cpu = {p: cpu_seconds(p) for p in pids}
    first_rss = {p: status_kb(p, "VmRSS") for p in pids}
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    for p in pids:
        share = (cpu_seconds(p) - start_cpu[p]) / elapsed * 100
        print(p, f"{share:.3f}", status_kb(p, "VmHWM"), first_rss[p], status_kb(p, "VmRSS"), threads(p), status_kb(p, "RssAnon"))


def scrape(url, seconds):
    """GET URL once a second for SECONDS, as Prometheus would scrape an exporter."""
    deadline = time.monotonic() + float(seconds)
    tick = time.monotonic()
    failures = 0
    while tick < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
        except OSError:
            failures += 1
        tick += 1.0
        time.sleep(max(0.0, tick - time.monotonic()))
    if failures:
        print(f"scrape: {failures} failed scrapes of {url}", file=sys.stderr)


def in_flight(status_url):
    page = urllib.request.urlopen(status_url, timeout=1).read().decode()
    fields = page.split()
    reading, writing = int(fields[fields.index("Reading:") + 1]), int(fields[fields.index("Writing:") + 1])
    return reading + writing - 1


def time_to_signal(endpoint, namespace, instance_id, status_url, slow_url, held, period, *phases):
    """For each phase (seconds after a period boundary), start HELD slow requests at that
    instant and poll GetMetricStatistics until a datapoint with Maximum >= HELD appears.
    Prints `phase latency_seconds` per trial."""
    import datetime

    import boto3

    cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
    held, period = int(held), int(period)

    def reflecting(since):
        points = cw.get_metric_statistics(
            Namespace=namespace,
            MetricName="PendingRequests",
            Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
            StartTime=datetime.datetime.fromtimestamp(since - period, datetime.timezone.utc),
            EndTime=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1),
            Period=1,
            Statistics=["Maximum"],
        )["Datapoints"]
        return any(p["Maximum"] >= held and p["Timestamp"].timestamp() >= since - period for p in points)

    for phase in phases:
        phase = float(phase)
        # Let earlier requests drain, so the new ones are what the datapoint shows.
        drain_deadline = time.time() + 60
        while in_flight(status_url) > 0 and time.time() < drain_deadline:
            time.sleep(0.2)
        now = time.time()
        start = (now // period + 1) * period + phase
        time.sleep(start - time.time())
        t0 = time.time()
        for i in range(held):
            threading.Thread(
                target=lambda i=i: urllib.request.urlopen(f"{slow_url}/{i}", timeout=60).read(), daemon=True
            ).start()
        latency = None
        deadline = t0 + 3 * period
        while time.time() < deadline:
            if reflecting(t0):
                latency = time.time() - t0
                break
            time.sleep(0.1)
        print(f"{phase} {latency if latency is not None else 'none'}", flush=True)


def bulk_tail(tail_bench, log, state_dir, source, log_format):
    """Start tail-bench (the daemon's access-log task) on an empty LOG, append SOURCE to it in one go, and
    print the follower's user+sys CPU seconds and the lines it saw: the per-line cost of
    tailer + matcher + signals without one wake-up per write."""
    import resource
    import subprocess

    open(log, "wb").close()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.Popen([tail_bench, log, state_dir, "4", log_format], stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    with open(source, "rb") as src, open(log, "ab") as dst:
        dst.write(src.read())
    out, _ = child.communicate(timeout=30)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"{cpu:.3f}", out.split()[0].split("=")[1])


def median(*values):
    values = sorted(float(v) for v in values)
    mid = len(values) // 2
    print(values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2)


if __name__ == "__main__":
    random.seed(0)
    globals()[sys.argv[1]](*sys.argv[2:])
