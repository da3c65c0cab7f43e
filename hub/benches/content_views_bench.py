#!/usr/bin/env python3
"""Page views recorded under load, end to end, on loopback, bounded in time.

    cargo build --release -p hub && python3 hub/benches/content_views_bench.py [--rounds 3] [--seconds 10]
    # another build: --hub /path/to/target/release/hub

Every portal HTML page served (GET, 200, text/html) is a page view: `portal::content::track`
queues it (`cms::stats::Recorder`) and the response leaves; the writer (`cms::stats::run`)
adds the views up and writes the sums every 500 ms. The script starts `hub demo` (SQLite under
a temporary directory, sandbox mounted, probes off, logs at warn) and runs wrk (1 thread × 64
connections) against tracked pages:

- `/` (the anonymous home page, rendered at most once a second: the cheapest tracked page, so
  the highest rate of views) and `/policies` (a section list, rendered for every request);
- each `GET` round (tracked) alternates with a `HEAD` round on the same page: axum runs the
  same handler for HEAD and drops the body, and the middleware counts only GET, so HEAD is the
  same page with the recorder out of the way (and no body on the wire, which favours it).

For every round: req/s, p50/p99, the hub's CPU time per request (/proc/<pid>/stat), and for
GET the views written to the store over the round (`SUM(views)` of `page_views_daily`, read
with sqlite3 after the writer's next flush) against the requests wrk completed: written/s and
missing (requests − views written: dropped by a full queue, or not yet written).

Needs `apt-get install -y wrk`. Prints a table; docs/BENCHMARKS.md records results with the
machine they ran on.
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


def wrk_run(url, seconds, head=False):
    """wrk 1 thread × 64 connections: (requests, req/s, {p50, p90, p99 in ms}, errors)."""
    cmd = ["wrk", "-t1", "-c64", f"-d{seconds}s", "--latency"]
    script = None
    if head:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write('wrk.method = "HEAD"\n')
        script.close()
        cmd += ["-s", script.name]
    try:
        out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    finally:
        if script:
            os.unlink(script.name)
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


def cpu_seconds(pid):
    """User + system CPU time of the process so far (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def views(db):
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return c.execute("SELECT COALESCE(SUM(views), 0) FROM page_views_daily").fetchone()[0]
    finally:
        c.close()


def settle(db, wait=1.5):
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--hub", default=HUB, help="the hub binary (default: target/release/hub)")
    ap.add_argument("--pages", default="/,/policies")
    args = ap.parse_args()
    if not os.path.exists(args.hub):
        sys.exit(f"build first: cargo build --release -p hub ({args.hub} missing)")
    if not shutil.which("wrk"):
        sys.exit("wrk missing: apt-get install -y wrk")
    portal_bench.HUB = args.hub
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    print(f"machine: {os.cpu_count()} cores · {cpu} · commit {commit} · hub {args.hub}")
    with tempfile.TemporaryDirectory(dir=ROOT) as d:
        data = os.path.join(d, "demo")
        port = free_port()
        hub = start_demo(data, port)
        db = os.path.join(data, "hub.db")
        try:
            pages = [p for p in args.pages.split(",") if p]
            for page in pages:
                status, _, html = get(port, page, {})
                if status != 200 or b"<html" not in html.lower():
                    sys.exit(f"{page}: {status}")
                print(f"{page}: {len(html)} bytes of HTML")
            before = settle(db)
            time.sleep(0.1)
            # The check above was tracked: the store must have it.
            if before < len(pages):
                sys.exit(f"views were not written: SUM(views) = {before} after {len(pages)} pages")
            # HEAD must be answered (and not counted).
            n, _, _, e = wrk_run(f"http://127.0.0.1:{port}{pages[0]}", 1, head=True)
            after = settle(db)
            if n == 0 or e:
                sys.exit(f"HEAD rounds do not work with this wrk: {n} requests, {e} errors")
            if after != before:
                print(f"note: HEAD changed SUM(views) by {after - before}")
            print()
            print("| page | method | round | requests | req/s | p50 | p99 | hub CPU per request | views written | written/s | missing |")
            print("|---|---|---|---|---|---|---|---|---|---|---|")
            summary = {}
            for page in pages:
                url = f"http://127.0.0.1:{port}{page}"
                wrk_run(url, 2)
                wrk_run(url, 2, head=True)
                for r in range(args.rounds):
                    for head in (False, True):
                        v0 = settle(db)
                        c0 = cpu_seconds(hub.pid)
                        n, rps, lat, errors = wrk_run(url, args.seconds, head)
                        c1 = cpu_seconds(hub.pid)
                        v1 = settle(db)
                        if errors:
                            sys.exit(f"{page}: {errors} errors")
                        written = v1 - v0
                        cpu_us = (c1 - c0) / n * 1e6
                        method = "HEAD" if head else "GET"
                        summary.setdefault((page, method), []).append((rps, lat["99"], cpu_us, written, n))
                        if head:
                            w = f"{written}" if written else "0 (not tracked)"
                            print(f"| `{page}` | HEAD | {r + 1} | {n} | {rps:.0f} | {lat['50']:.2f} ms | {lat['99']:.2f} ms | {cpu_us:.0f} µs | {w} | — | — |")
                        else:
                            print(f"| `{page}` | GET | {r + 1} | {n} | {rps:.0f} | {lat['50']:.2f} ms | {lat['99']:.2f} ms | {cpu_us:.0f} µs | {written} | {written / args.seconds:.0f} | {n - written} |")
            print()
            print("| page | GET req/s (median) | HEAD req/s (median) | GET p99 (median) | HEAD p99 (median) | CPU per request GET − HEAD | views written / GET requests |")
            print("|---|---|---|---|---|---|---|")
            for page in pages:
                g, h = summary[(page, "GET")], summary[(page, "HEAD")]
                med = lambda rows, i: statistics.median(x[i] for x in rows)  # noqa: E731
                share = sum(x[3] for x in g) / sum(x[4] for x in g) * 100
                print(f"| `{page}` | {med(g, 0):.0f} | {med(h, 0):.0f} | {med(g, 1):.2f} ms | {med(h, 1):.2f} ms | "
                      f"{med(g, 2) - med(h, 2):+.0f} µs | {share:.2f} % |")
        finally:
            hub.terminate()
            hub.wait()


if __name__ == "__main__":
    main()
