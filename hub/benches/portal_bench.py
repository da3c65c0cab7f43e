#!/usr/bin/env python3
"""Portal benchmarks, on loopback, bounded in time.

    cargo build --release -p hub && python3 hub/benches/portal_bench.py [--rounds 3] [--seconds 10]

1. Home page (anonymous, with content from the store: the demo's institutions and connectors,
   the platform's figures) against nginx serving the same HTML as a static file, side by side in
   one run: wrk 1 thread × 64 connections, rounds alternating hub and nginx; the ratio of the
   medians is the figure (issue: ≥ 50 %). Anonymous visitors share one rendering renewed every
   second; for comparison the script also measures pages rendered for every request
   (网上办事, and the home page of a signed-in person).
2. The signed-in 用户中心 (`/user`) at 64 connections: p50/p99 (issue: p99 ≤ 10 ms), after a
   real provincial sign-in through the sandbox (the session cookie of personal-1, a member of an
   approved institution so that the page shows an organisation too).

The hub runs as `hub demo` (SQLite under a temporary directory, sandbox mounted, health probes
off, logs at warn). Needs `apt-get install -y wrk nginx`. Prints a table; docs/BENCHMARKS.md
records results with the machine they ran on.
"""

import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from http_bench import HUB, ROOT, free_port, nginx, ready, wrk  # noqa: E402


def wrk_latency(url, seconds, cookie=None):
    cmd = ["wrk", "-t1", "-c64", f"-d{seconds}s", "--latency"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for q in ("50", "90", "99"):
        m = re.search(rf"\s{q}%\s+([\d.]+)(us|ms|s)", out)
        v = float(m.group(1))
        lat[q] = v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, lat, int(errors.group(1)) if errors else 0


def start_demo(data_dir, port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_LOG__LEVEL": "warn", "HUB_CONNECTORS__PROBES": "false",
                "HUB_SSO__LOGIN_ATTEMPTS_PER_MINUTE": "100000000"})
    p = subprocess.Popen([HUB, "demo", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.perf_counter()
    while not ready(port):
        if p.poll() is not None or time.perf_counter() - t0 > 60:
            p.kill()
            sys.exit("hub demo did not become ready")
        time.sleep(0.01)
    # The demo seeds its organisations right after start.
    time.sleep(1)
    return p


def get(port, path, cookies):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    body = r.read()
    for h, v in r.getheaders():
        if h.lower() == "set-cookie":
            name, _, rest = v.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in v or not value:
                cookies.pop(name, None)
            else:
                cookies[name] = value
    c.close()
    return r.status, r.getheader("Location"), body


def post(port, path, cookies, form):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = urllib.parse.urlencode(form)
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    c.request("POST", path, body=body, headers=headers)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, r.getheader("Location")


def sign_in(port, persona):
    """A provincial sign-in through the sandbox, as the e2e tests do; returns the cookies."""
    cookies = {}
    path = "/sso/fujian/login"
    for _ in range(12):
        if "/goLogin.do?" in path:
            path += f"&persona={persona}"
        status, loc, _ = get(port, path, cookies)
        if status not in (301, 302, 303) or not loc:
            break
        u = urllib.parse.urlsplit(loc)
        path = u.path + ("?" + u.query if u.query else "")
        if path == "/user":
            break
    if "__Host-hub_session" not in cookies:
        sys.exit(f"sign-in failed at {path}")
    return cookies


def make_member(port, cookies):
    """Registers an institution as the signed-in person (it stays pending review), so that the
    user centre shows an organisation as well as the account, identities and sessions."""
    _, _, page = get(port, "/user/organisation", cookies)
    m = re.search(rb'name="csrf" value="([0-9a-f]+)"', page)
    if not m:
        sys.exit("no form token on /user/organisation")
    status, loc = post(port, "/user/organisation", cookies,
                       {"csrf": m.group(1).decode(), "kind": "institution", "name": "龙岩压测银行",
                        "contact_name": "王经理", "contact_phone": "0597-2345678"})
    if status != 303:
        sys.exit(f"registration: {status}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    if not os.path.exists(HUB):
        sys.exit("build first: cargo build --release -p hub")
    if not shutil.which("wrk") or not shutil.which("nginx"):
        sys.exit("wrk or nginx missing: apt-get install -y wrk nginx")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    print(f"machine: {os.cpu_count()} cores · {cpu} · commit {commit}")
    with tempfile.TemporaryDirectory(dir=ROOT) as d, tempfile.TemporaryDirectory() as root:
        port = free_port()
        hub = start_demo(os.path.join(d, "demo"), port)
        status, _, html = get(port, "/", {})
        if status != 200 or "入驻机构".encode() not in html:
            sys.exit(f"home page: {status}")
        print(f"home page: {len(html)} bytes of HTML")
        ng_port = free_port()
        ng = nginx(ng_port, root, False, ("index.html", html, "text/html"))
        hub_url, ng_url = f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{ng_port}/"
        wrk(hub_url, 2)
        wrk(ng_url, 2)
        hub_rps, ng_rps = [], []
        for r in range(args.rounds):
            h, hl, he = wrk_latency(hub_url, args.seconds)
            n, nl, ne = wrk_latency(ng_url, args.seconds)
            if he or ne:
                sys.exit(f"errors: hub {he}, nginx {ne}")
            hub_rps.append(h)
            ng_rps.append(n)
            print(f"round {r + 1}: hub {h:>9.0f} req/s (p99 {hl['99']:.2f} ms)   nginx {n:>9.0f} req/s "
                  f"(p99 {nl['99']:.2f} ms)   {h / n * 100:.0f} %")
        hm, nm = statistics.median(hub_rps), statistics.median(ng_rps)
        print(f"home page: hub median {hm:.0f} req/s, nginx median {nm:.0f} req/s -> {hm / nm * 100:.0f} % of nginx")
        # For comparison, pages rendered for every request: 网上办事 (anonymous, no store
        # read) and, below, the home page of a signed-in person.
        rps, lat, _ = wrk_latency(f"http://127.0.0.1:{port}/services", args.seconds)
        print(f"网上办事 (rendered per request): {rps:.0f} req/s (p99 {lat['99']:.2f} ms) -> {rps / nm * 100:.0f} % of nginx's home page")
        ng.terminate()
        ng.wait()

        cookies = sign_in(port, "personal-1")
        make_member(port, cookies)
        status, _, page = get(port, "/user", cookies)
        if status != 200 or "用户中心".encode() not in page:
            sys.exit(f"/user: {status}")
        cookie = f"__Host-hub_session={cookies['__Host-hub_session']}"
        rps, lat, _ = wrk_latency(hub_url, args.seconds, cookie)
        print(f"home page signed in (rendered per request): {rps:.0f} req/s (p99 {lat['99']:.2f} ms) -> {rps / nm * 100:.0f} % of nginx")
        user_url = f"http://127.0.0.1:{port}/user"
        wrk_latency(user_url, 2, cookie)
        for r in range(args.rounds):
            rps, lat, errors = wrk_latency(user_url, args.seconds, cookie)
            if errors:
                sys.exit(f"/user: {errors} errors")
            print(f"用户中心 round {r + 1}: {rps:>8.0f} req/s  p50 {lat['50']:.2f} ms  p90 {lat['90']:.2f} ms  p99 {lat['99']:.2f} ms")
        hub.terminate()
        hub.wait()


if __name__ == "__main__":
    main()
