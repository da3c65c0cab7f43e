#!/usr/bin/env python3
"""Page views recorded under load, end to end, on loopback, bounded in time.

    cargo build --release -p hub && python3 hub/benches/content_views_bench.py [--rounds 3] [--seconds 10]
    # another build: --hub /path/to/target/release/hub

Every portal HTML page served (GET, 200, text/html) is a page view: `portal::content::track`
queues it (`cms::stats::Recorder`) and the response leaves; the writer (`cms::stats::run`)
adds the views up and writes the sums every 500 ms. The script starts `hub demo` (SQLite under
a temporary directory, sandbox mounted, probes off, logs at warn) and loads tracked pages: `/`
(the anonymous home page, rendered at most once a second: the cheapest tracked page, so the
highest rate of views) and `/policies` (a section list, rendered for every request).

0. Calibration: wrk on `/healthz` (neither a page nor tracked), to compare the machine's state
   with the figures docs/BENCHMARKS.md holds for it.
1. wrk (1 thread × 64 connections), GET: req/s, p50/p99, the hub's CPU time per request
   (/proc/<pid>/stat), and the views written to the store over the round (`SUM(views)` of
   `page_views_daily`, read with sqlite3 after the writer's next flush) against the requests
   wrk completed: written/s and missing (requests − views written: dropped by a full queue or
   not written; a few in flight when wrk stops may be written without being counted by wrk).
2. Tracking on and off on the same page, same run: the middleware counts only GET, and axum
   answers HEAD with the same handler (the body dropped), so HEAD is the same page with the
   recorder out of the way (and no body on the wire, which favours it). wrk cannot send HEAD
   (it waits for the body that Content-Length announces), so both are sent with ab
   (`ab -k -c 64`, rounds alternating GET and HEAD): req/s, p50/p99 (ab reports whole
   milliseconds) and the hub's CPU time per request.

Every round also shows the CPU the rest of the machine used meanwhile ("other", in cores: other
processes, and interrupts not charged to the hub or the load generator), to read the figures
with: the server and the load generator share two cores.

Needs `apt-get install -y wrk apache2-utils`. Prints tables; docs/BENCHMARKS.md records
results with the machine they ran on.
"""

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import portal_bench  # noqa: E402
from http_bench import HUB, ROOT, free_port  # noqa: E402
from portal_bench import get, start_demo  # noqa: E402


def wrk_run(url, seconds):
    """wrk 1 thread × 64 connections, GET: (requests, req/s, {p50, p90, p99 in ms}, errors)."""
    out = subprocess.run(["wrk", "-t1", "-c64", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for q in ("50", "90", "99"):
        m = re.search(rf"\s{q}%\s+([\d.]+)(us|ms|s)\b", out)
        v = float(m.group(1))
        lat[q] = v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    return requests, rps, lat, errors


def ab_run(url, seconds, head=False):
    """ab -k -c 64 (GET, or HEAD with -i): (requests, req/s, {p50, p99 in ms}, errors)."""
    cmd = ["ab", "-k", "-c", "64", "-t", str(seconds), "-n", "100000000", "-q"]
    if head:
        cmd.append("-i")
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"Complete requests:\s+(\d+)", out).group(1))
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    lat = {q: float(re.search(rf"^\s+{q}%\s+(\d+)", out, re.M).group(1)) for q in ("50", "99")}
    errors = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    m = re.search(r"Non-2xx responses:\s+(\d+)", out)
    if m:
        errors += int(m.group(1))
    return requests, rps, lat, errors


def cpu_seconds(pid):
    """User + system CPU time of the process so far (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_seconds():
    """CPU time spent by the whole machine so far (all but idle, iowait and steal)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4] - v[7]) / os.sysconf("SC_CLK_TCK")


def children_seconds():
    t = os.times()
    return t.children_user + t.children_system


class Cpu:
    """Over a round: the hub's CPU time, the load generator's, and everything else's (other
    work on the machine, which the figures must be read with)."""

    def __init__(self, pid):
        self.pid = pid
        self.h0, self.c0, self.b0 = cpu_seconds(pid), children_seconds(), busy_seconds()

    def done(self, seconds):
        h, c, b = cpu_seconds(self.pid) - self.h0, children_seconds() - self.c0, busy_seconds() - self.b0
        self.hub = h
        self.other = max(0.0, b - h - c) / seconds  # cores
        return self


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def views(db):
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return c.execute("SELECT COALESCE(SUM(views), 0) FROM page_views_daily").fetchone()[0]
    finally:
        c.close()


def settle(db, wait=1.2):
    """The views written once the writer has flushed what it holds (it writes every 500 ms)."""
    time.sleep(wait)
    v = views(db)
    # Still draining a backlog? wait until two reads agree.
    for _ in range(60):
        time.sleep(0.6)
        w = views(db)
        if w == v:
            return v
        v = w
    return v


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--hub", default=HUB, help="the hub binary (default: target/release/hub)")
    ap.add_argument("--pages", default="/,/policies")
    args = ap.parse_args()
    if not os.path.exists(args.hub):
        sys.exit(f"build first: cargo build --release -p hub ({args.hub} missing)")
    if not shutil.which("wrk") or not shutil.which("ab"):
        sys.exit("wrk or ab missing: apt-get install -y wrk apache2-utils")
    portal_bench.HUB = args.hub
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    print(f"machine: {os.cpu_count()} cores · {cpu} · commit {commit} · hub {args.hub} · load average {loadavg()}")
    pages = [p for p in args.pages.split(",") if p]
    with tempfile.TemporaryDirectory(dir=ROOT) as d:
        data = os.path.join(d, "demo")
        port = free_port()
        hub = start_demo(data, port)
        db = os.path.join(data, "hub.db")
        try:
            for page in pages:
                status, _, html = get(port, page, {})
                if status != 200 or b"<html" not in html.lower():
                    sys.exit(f"{page}: {status}")
                print(f"{page}: {len(html)} bytes of HTML")
            # The requests above were tracked: the store must have them.
            if settle(db) < len(pages):
                sys.exit("views are not written to page_views_daily")

            # The machine's state: /healthz is neither a page nor tracked (docs/BENCHMARKS.md
            # has its figure on an idle machine).
            url = f"http://127.0.0.1:{port}/healthz"
            wrk_run(url, 2)
            cpu = Cpu(hub.pid)
            n, rps, lat, _ = wrk_run(url, args.seconds)
            cpu.done(args.seconds)
            print(f"\ncalibration, wrk /healthz (not tracked): {rps:.0f} req/s, p99 {lat['99']:.2f} ms, "
                  f"hub CPU {cpu.hub / n * 1e6:.0f} µs per request, other {cpu.other:.2f} cores")

            print("\n1. wrk, GET (tracked)\n")
            print("| page | round | requests | req/s | p50 | p99 | hub CPU per request | views written | written/s | missing | other (cores) |")
            print("|---|---|---|---|---|---|---|---|---|---|---|")
            tracked = {}
            for page in pages:
                url = f"http://127.0.0.1:{port}{page}"
                wrk_run(url, 2)
                for r in range(args.rounds):
                    v0 = settle(db)
                    cpu = Cpu(hub.pid)
                    n, rps, lat, errors = wrk_run(url, args.seconds)
                    cpu.done(args.seconds)
                    v1 = settle(db)
                    if errors:
                        sys.exit(f"{page}: {errors} errors")
                    written = v1 - v0
                    row = {"rps": rps, "p99": lat["99"], "cpu": cpu.hub / n * 1e6,
                           "n": n, "written": written, "wps": written / args.seconds}
                    tracked.setdefault(page, []).append(row)
                    print(f"| `{page}` | {r + 1} | {n} | {rps:.0f} | {lat['50']:.2f} ms | {lat['99']:.2f} ms | "
                          f"{row['cpu']:.0f} µs | {written} | {row['wps']:.0f} | {n - written} | {cpu.other:.2f} |")

            print("\n2. ab, GET (tracked) and HEAD (same handler, not tracked), alternating\n")
            print("| page | round | method | requests | req/s | p50 | p99 | hub CPU per request | views written | other (cores) |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            onoff = {}
            for page in pages:
                url = f"http://127.0.0.1:{port}{page}"
                ab_run(url, 2)
                ab_run(url, 2, head=True)
                for r in range(args.rounds):
                    for head in (False, True):
                        v0 = settle(db)
                        cpu = Cpu(hub.pid)
                        n, rps, lat, errors = ab_run(url, args.seconds, head)
                        cpu.done(args.seconds)
                        v1 = settle(db)
                        if errors:
                            sys.exit(f"{page}: {errors} errors")
                        method = "HEAD" if head else "GET"
                        row = {"rps": rps, "p50": lat["50"], "p99": lat["99"], "cpu": cpu.hub / n * 1e6,
                               "n": n, "written": v1 - v0}
                        onoff.setdefault((page, method), []).append(row)
                        print(f"| `{page}` | {r + 1} | {method} | {n} | {rps:.0f} | {lat['50']:.0f} ms | "
                              f"{lat['99']:.0f} ms | {row['cpu']:.0f} µs | {v1 - v0} | {cpu.other:.2f} |")

            print("\nSummary (medians of the rounds)\n")
            print("| page | wrk GET req/s | wrk GET p99 | views written/s | views written / requests | "
                  "ab GET req/s | ab HEAD req/s | ab GET p99 | ab HEAD p99 | CPU per request GET − HEAD |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            for page in pages:
                t = tracked[page]
                g, h = onoff[(page, "GET")], onoff[(page, "HEAD")]
                share = sum(x["written"] for x in t) / sum(x["n"] for x in t) * 100
                print(f"| `{page}` | {med(t, 'rps'):.0f} | {med(t, 'p99'):.2f} ms | {med(t, 'wps'):.0f} | {share:.2f} % | "
                      f"{med(g, 'rps'):.0f} | {med(h, 'rps'):.0f} | {med(g, 'p99'):.0f} ms | {med(h, 'p99'):.0f} ms | "
                      f"{med(g, 'cpu') - med(h, 'cpu'):+.0f} µs ({med(g, 'cpu'):.0f} vs {med(h, 'cpu'):.0f}) |")
        finally:
            hub.terminate()
            hub.wait()


if __name__ == "__main__":
    main()
