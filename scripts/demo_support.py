"""Helpers for scripts/demo.sh (python3 standard library; readback uses boto3 from .venv)."""
import http.server
import socketserver
import sys
import threading
import time
import urllib.request


def upstream(port, delay):
    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(float(delay))
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\n")

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        request_queue_size = 256

    Server(("127.0.0.1", int(port)), Slow).serve_forever()


def imds(port, instance_id, region):
    token = "demo-token"
    paths = {"/latest/meta-data/instance-id": instance_id, "/latest/meta-data/placement/region": region}

    class Imds(http.server.BaseHTTPRequestHandler):
        def reply(self, status, body, headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def do_PUT(self):
            if self.path == "/latest/api/token":
                self.reply(200, token, [("X-aws-ec2-metadata-token-ttl-seconds", "21600")])
            else:
                self.reply(404, "")

        def do_GET(self):
            if self.headers.get("X-aws-ec2-metadata-token") != token:
                self.reply(401, "")
            elif self.path in paths:
                self.reply(200, paths[self.path])
            else:
                self.reply(404, "")

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Imds).serve_forever()


def wait(*urls):
    deadline = time.time() + 30
    for url in urls:
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.time() > deadline:
                    sys.exit(f"{url} did not answer")
                time.sleep(0.1)


def load(url, *phases):
    """Each phase is CLIENTS:SECONDS; every client loops requests for the phase."""
    for phase in phases:
        clients, seconds = (int(x) for x in phase.split(":"))
        print(f"   {time.strftime('%H:%M:%S')}  {clients:3d} concurrent clients for {seconds} s", flush=True)
        stop = time.time() + seconds

        def client():
            while time.time() < stop:
                try:
                    urllib.request.urlopen(url, timeout=30).read()
                except OSError:
                    pass

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        time.sleep(max(0.0, stop - time.time()))
        for t in threads:
            t.join()


def readback(endpoint, namespace, metric, instance_id, since):
    import datetime

    import boto3

    cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
    start = datetime.datetime.fromtimestamp(int(since) - 10, datetime.timezone.utc)
    points = cw.get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
        StartTime=start,
        EndTime=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1),
        Period=5,
        Statistics=["SampleCount", "Average", "Maximum"],
    )["Datapoints"]
    if not points:
        sys.exit("no datapoints read back")
    print(f"   {'period start (UTC)':20} {'samples':>7} {'average':>8} {'max':>5}")
    for p in sorted(points, key=lambda p: p["Timestamp"]):
        bar = "#" * int(round(p["Average"]))
        print(f"   {p['Timestamp']:%H:%M:%S}{'':12} {p['SampleCount']:7.0f} {p['Average']:8.1f} {p['Maximum']:5.0f}  {bar}")
    peak = max(p["Maximum"] for p in points)
    print(f"   peak PendingRequests {peak:.0f} (40 clients at 2 s per request: about 40 in flight)")


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
