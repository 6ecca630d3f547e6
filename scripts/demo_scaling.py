"""The loop of scripts/demo-scaling.sh (python3 standard library only).

One asyncio process runs three things:
- the upstream pool: an HTTP server with capacity x K slots and one FIFO queue in front;
  each request holds a slot for --service seconds; resized while it runs;
- the load: an open loop of arrivals (new requests keep coming however slow the answers,
  as real users do), --phases SECONDS:RATE,... sent to nginx;
- the control loop: every period it runs `simulate --from-cloudwatch` on the series the
  exporter has published so far, with the policy, and applies the desired capacity it ends
  on to the pool: a scale-out after --launch seconds (instances or tasks booting), a
  scale-in at once.

It prints one timeline row per period, draws the SVG at the end, and exits 1 unless the
pool went out from its minimum and came back to it.
"""

import argparse
import asyncio
import collections
import datetime
import json
import subprocess
import sys
import time


class Pool:
    """units x k slots; waiters in arrival order."""

    def __init__(self, units, k):
        self.units, self.k, self.busy = units, k, 0
        self.waiters = collections.deque()

    def slots(self):
        return self.units * self.k

    async def acquire(self):
        if self.busy < self.slots() and not self.waiters:
            self.busy += 1
            return
        future = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        await future

    def release(self):
        self.busy -= 1
        self.wake()

    def wake(self):
        while self.waiters and self.busy < self.slots():
            future = self.waiters.popleft()
            if not future.done():
                self.busy += 1
                future.set_result(None)

    def resize(self, units):
        self.units = units
        self.wake()


async def serve_pool(pool, port, service):
    async def handle(reader, writer):
        try:
            await reader.readuntil(b"\r\n\r\n")
            await pool.acquire()
            try:
                await asyncio.sleep(service)
            finally:
                pool.release()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            # A client gone, or the demo shutting down: nothing to answer.
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)


async def one_request(host, port, stats):
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET / HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.read(), timeout=300)
        stats["ok" if head.startswith(b"HTTP/1.1 200") else "failed"] += 1
        writer.close()
    except (OSError, asyncio.TimeoutError):
        stats["failed"] += 1


async def load(host, port, phases, state, stats):
    """Open loop: `rate` arrivals a second, evenly spaced, for each phase."""
    tasks = set()
    for index, (seconds, rate) in enumerate(phases):
        state["rate"] = rate
        state["last_phase"] = index == len(phases) - 1
        start = time.monotonic()
        sent = 0
        while time.monotonic() - start < seconds:
            due = start + sent / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            task = asyncio.create_task(one_request(host, port, stats))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
    state["load_done"] = True
    state["rate"] = 0


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def simulate(args, started, extra=()):
    """The exporter's simulate on what has been published so far; its JSON rows."""
    command = [
        args.exporter, "--config", args.config, "simulate", "--policy", args.policy,
        "--from-cloudwatch", "--start", iso(started - 20), "--end", iso(time.time() + 20),
        "--period", "10s", "--output", "json",
    ]
    for setting in args.set:
        command += ["--set", setting]
    command += list(extra)
    process = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode != 0:
        return None, err.decode()
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()], err.decode()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exporter", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--policy", required=True)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--nginx-port", type=int, required=True)
    parser.add_argument("--pool-port", type=int, required=True)
    parser.add_argument("--units", type=int, default=2, help="starting capacity (the group's desired)")
    parser.add_argument("--min", type=int, default=2)
    parser.add_argument("--k", type=int, default=4, help="slots per unit")
    parser.add_argument("--service", type=float, default=1.0, help="seconds a request holds a slot")
    parser.add_argument("--launch", type=float, default=5.0, help="seconds from a scale-out to its slots")
    parser.add_argument("--phases", required=True, help="SECONDS:RATE,... of arrivals per second")
    parser.add_argument("--deadline", type=float, default=170.0, help="give up after this many seconds")
    parser.add_argument("--svg", required=True)
    args = parser.parse_args()
    phases = [tuple(float(x) for x in p.split(":")) for p in args.phases.split(",")]

    pool = Pool(args.units, args.k)
    server = await serve_pool(pool, args.pool_port, args.service)
    state = {"rate": 0, "load_done": False, "last_phase": False, "requested": args.units}
    stats = collections.Counter()
    started = time.time()
    load_task = asyncio.create_task(load("127.0.0.1", args.nginx_port, phases, state, stats))
    loop = asyncio.get_running_loop()
    requested = args.units
    history = []  # (t, pool units)
    went_out = False
    print(f"   {'t (s)':>5}  {'load/s':>6}  {'Pending':>7}  {'high alarm':>17}  {'low alarm':>17}  "
          f"{'desired':>7}  {'pool (units x K)':>16}", flush=True)
    while True:
        # Just after each 10 s period closes and the exporter has published it.
        await asyncio.sleep(10 - (time.time() % 10) + 2)
        elapsed = time.time() - started
        rows, err = await simulate(args, started)
        if rows is None or not rows:
            print(f"   {elapsed:5.0f}  {state['rate']:6.0f}  (no evaluation yet{': ' + err.strip().splitlines()[-1] if err.strip() else ''})", flush=True)
        else:
            last = rows[-1]
            desired = last["desired_capacity"]
            alarms = {a["name"]: a for a in last["alarms"]}
            high = alarms.get("web-pending-high", {})
            low = alarms.get("web-pending-low", {})
            value = high.get("value")
            if desired != requested:
                if desired > requested:
                    # Lands after the launch time, unless a scale-in came first.
                    loop.call_later(args.launch, lambda d=desired: pool.resize(min(d, state["requested"])))
                    went_out = True
                else:
                    pool.resize(desired)
                requested = desired
                state["requested"] = desired
            history.append((elapsed, pool.units))
            print(f"   {elapsed:5.0f}  {state['rate']:6.0f}  {value if value is not None else float('nan'):7.1f}  "
                  f"{high.get('state', '-'):>17}  {low.get('state', '-'):>17}  {desired:7d}  "
                  f"{pool.units:>5d} x {args.k} = {pool.slots():3d}", flush=True)
        back_in = went_out and requested == args.min and pool.units == args.min
        if state["last_phase"] and back_in:
            break
        if elapsed > args.deadline:
            print(f"demo-scaling: gave up after {elapsed:.0f} s", flush=True)
            break
    load_task.cancel()
    server.close()
    rows, err = await simulate(args, started, ["--plot", args.svg])
    peak = max((units for _, units in history), default=args.units)
    print(f"   requests answered {stats['ok']}, failed {stats['failed']}; pool peaked at {peak} units", flush=True)
    if not (went_out and requested == args.min):
        print("demo-scaling: FAILED: the loop did not scale out and back in", flush=True)
        sys.exit(1)
    print(f"demo-scaling: scaled out from {args.min} to {peak} and back to {args.min} "
          f"in {time.time() - started:.0f} s", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
