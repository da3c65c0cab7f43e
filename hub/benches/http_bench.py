#!/usr/bin/env python3
"""HTTP benchmarks of the hub, on loopback, bounded in time.

    cargo build --release -p hub && python3 hub/benches/http_bench.py [--runs 20] [--seconds 10]

1. Start to ready: a fresh empty data directory each run (keys generated, SQLite created and
   migrated); time from spawning `hub serve` to the first 200 from /readyz (polled every 1 ms).
2. Idle RSS: VmRSS of the hub 2 s after it became ready.
3. /healthz throughput with wrk (1 thread, 64 connections) against the hub, and against nginx
   serving a small static file on the same machine in the same run (`apt-get install wrk nginx`).

Prints a table; docs/BENCHMARKS.md records results with the machine they ran on.
"""

import argparse
import http.client
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HUB = os.path.join(ROOT, "target", "release", "hub")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=0.2)
        c.request("GET", "/readyz")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def start_hub(data_dir, port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_DATA_DIR": data_dir, "HUB_LOG__LEVEL": "warn"})
    t0 = time.perf_counter()
    p = subprocess.Popen([HUB, "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not ready(port):
        if p.poll() is not None:
            sys.exit(f"hub exited with {p.returncode}")
        if time.perf_counter() - t0 > 30:
            p.kill()
            sys.exit("hub not ready after 30 s")
        time.sleep(0.001)
    return p, (time.perf_counter() - t0) * 1000


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    return int(m.group(1)) / 1024


def wrk(url, seconds):
    out = subprocess.run(["wrk", "-t1", "-c64", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(\w+)", out)
    return rps, f"{p99.group(1)}{p99.group(2)}" if p99 else "?"


def nginx(port, root, access_log, page=("index.json", b'{"status":"ok"}', "application/json")):
    """nginx on `port` serving `page` (file name, bytes, content type) from `root` for every path."""
    # nginx's workers run as an unprivileged user: the directory must be readable to them.
    os.chmod(root, 0o755)
    name, body, content_type = page
    with open(os.path.join(root, name), "wb") as f:
        f.write(body)
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log {'%s/access.log' % root if access_log else 'off'};
  keepalive_requests 100000;
  server {{
    listen 127.0.0.1:{port};
    location / {{ root {root}; default_type {content_type}; try_files /{name} =404; }}
  }}
}}
""")
    p = subprocess.Popen(["nginx", "-c", conf, "-g", "daemon off;"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(3000):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return p
        except OSError:
            time.sleep(0.001)
    p.kill()
    sys.exit("nginx did not start")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    if not os.path.exists(HUB):
        sys.exit("build first: cargo build --release -p hub")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"machine: {platform.node()} · {os.cpu_count()} cores · {cpu} · {platform.platform()}")

    times = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(dir=ROOT) as d:
            port = free_port()
            p, ms = start_hub(d, port)
            times.append(ms)
            p.terminate()
            p.wait()
    times.sort()
    print(f"start to ready (empty data dir, {args.runs} runs): median {statistics.median(times):.1f} ms, "
          f"min {times[0]:.1f} ms, max {times[-1]:.1f} ms")

    with tempfile.TemporaryDirectory(dir=ROOT) as d:
        port = free_port()
        p, _ = start_hub(d, port)
        time.sleep(2)
        print(f"idle RSS: {rss_mib(p.pid):.1f} MiB")
        if not shutil.which("wrk") or not shutil.which("nginx"):
            print("wrk or nginx missing: apt-get install -y wrk nginx")
            p.terminate()
            return
        wrk(f"http://127.0.0.1:{port}/healthz", 2)  # warm-up
        hub_rps, hub_p99 = wrk(f"http://127.0.0.1:{port}/healthz", args.seconds)
        print(f"hub   /healthz:            {hub_rps:>10.0f} req/s  p99 {hub_p99}  (RSS after load {rss_mib(p.pid):.1f} MiB)")
        p.terminate()
        p.wait()
    for access_log in (False, True):
        with tempfile.TemporaryDirectory() as root:
            port = free_port()
            n = nginx(port, root, access_log)
            wrk(f"http://127.0.0.1:{port}/", 2)
            ng_rps, ng_p99 = wrk(f"http://127.0.0.1:{port}/", args.seconds)
            label = "with access log" if access_log else "no access log"
            print(f"nginx static ({label:>15}): {ng_rps:>10.0f} req/s  p99 {ng_p99}  -> hub/nginx {hub_rps / ng_rps * 100:.0f}%")
            n.terminate()
            n.wait()


if __name__ == "__main__":
    main()
