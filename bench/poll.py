#!/usr/bin/env python3
"""Benchmark a polling cycle: monitor against a sequential feedparser loop, on loopback servers.

    python3 bench/poll.py [--feeds 1000] [--hosts 100] [--delay-ms 100] [--variants instant,delayed]
                          [--concurrency C] [--per-host P] [--nginx-workers 1] [--references]
                          [--order interleaved|grouped] [--repeat 3] [--no-baseline] [--profile P]

Needs Debian's nginx (`apt-get update && apt-get install -y nginx-light`) for the instant variant;
aiohttp only for the optional --references rows. Takes about 8 minutes at the defaults, most of it
the sequential baseline against the delayed server (1,000 x 100 ms, twice).

The feeds: the real RSS, Atom and JSON Feed files of $MONITOR_SHARED/corpus/feeds/real (those that
INDEX.json lists with n_items > 0), cycled to make --feeds files, written to a temp dir as
host_<k>/feed_<j>.<ext> and spread over --hosts loopback addresses, 127.0.0.2, 127.0.0.3, … (all of
127.0.0.0/8 answers on Linux), --feeds/--hosts feeds each, all on one port. Only loopback traffic.
The feed list takes the hosts in turn (feed i on host i mod H); --order grouped lists each host's
feeds together instead, as a config listing an outlet's feeds would (monitor polls hosts in turn
whatever the order; the sequential baseline does not care).
Cycled copies are byte-identical, so their items share GUIDs and URLs: monitor parses every copy but
stores each article once (its cross-feed dedup), which is why the article count is that of the corpus.

The two variants, each timed in the same run:

- instant: nginx from Debian (nginx-light or nginx) serves the files, from a private instance with a
  generated config in the temp dir (`daemon off`, run as our child; pid, error log and temp paths in
  the temp dir; access_log off; etag on; keep-alive; --nginx-workers worker processes, default 1:
  on a 2-core machine the client needs the cores, and nginx spends about 0.04 s of CPU on a whole
  cycle of 1,000 answers, so a second worker changed nothing measurable).
- delayed: every answer comes --delay-ms (100) after its request, as a far-away server's would.
  nginx cannot delay an answer, and `tc qdisc add dev lo root netem delay 50ms` (which would delay
  all loopback traffic, a fair handicap for both sides) is refused in this sandbox: no sch_netem.
  A delaying reverse proxy in front of nginx would be a second hop that can become the bottleneck.
  So the delayed variant is served by bench/slowserve.py, an asyncio static server in its own
  process that reads every file into memory at start, keeps connections alive, sends nginx's
  ETag/Last-Modified and 304s, and awaits asyncio.sleep(delay) before each answer: the delay costs
  no CPU. Its CPU time is printed (the "server CPU" column) to show it is not the bottleneck.
  The delay is per answer; a real distant server would also cost one round trip per new connection
  (TCP handshake), which this does not model: a client that reuses connections is not penalised
  for it here, and the sequential baseline (a new connection per request) is flattered by it.

For each variant:

  (1) monitor, first cycle: `Monitor.run_once()` on an empty database, every feed with
      full_text false (feeds only, no article pages), concurrency/per_host from --concurrency and
      --per-host (default: the config defaults), Workers like the CLI builds them (extract_workers,
      extract_memory, worker_tasks from the config defaults). Checked afterwards: no feed has a
      last_error, every feed's status is 200.
  (2) monitor, unchanged cycle: `run_once()` again; checked: every feed unchanged (a 304).
  (3) baseline: a sequential loop of `feedparser.parse(url)` over the same URLs;
  (4) baseline, unchanged: the loop again with the etag= and modified= feedparser returned (304s).

The worker pool is started and py3langid's model loaded before (1) (the daemon does both once, at
start; the time it takes is printed as "warm-up"), in the one event loop that then runs (1) and (2),
as in the daemon. Steps (1) and (2) are run --repeat times (3), each time on a new database; the
table shows the run with the median time of each step, and the line above it every run's time
(this machine is shared: a busy neighbour shows up as one slow run). The table gives, per step:
wall seconds, feeds/s,
CPU seconds of this process (the client: the event loop, httpx, sqlite; for the baseline also the
parsing), also per feed, CPU seconds of the parse workers (live ones from /proc, replaced ones from
RUSAGE_CHILDREN), CPU seconds of the server process(es), bytes through the loopback interface
(requests, answers and TCP overhead, from /proc/net/dev: that counter is the whole machine's, so
other loopback traffic at the same time is counted too; the size of the files, the bodies of one
full cycle, is printed above the table), and the baseline's time divided by monitor's with the
target next to it:

  delayed: first cycle >= 10x faster than the baseline, unchanged cycle >= 50x faster;
  instant: first cycle >= 3x faster, unchanged cycle within 2x of the baseline (ratio >= 0.5x).

--references adds rows for bare clients doing only the HTTP part (same URLs, same concurrency and
per-host limits, the body read and dropped): one httpx.AsyncClient used the plain way (one pool for
every host), and, if installed, aiohttp. They show what the transport costs apart from monitor.

--profile PREFIX writes a cProfile of monitor's cycles (this process only) per variant and step.

The script must be run as a program (the workers use the spawn start method).
"""

from __future__ import annotations

import argparse
import atexit
import functools
import asyncio
import dataclasses
import ipaddress
import json
import logging
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MONITOR_SHARED", REPO.parent / "shared"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

TARGETS = {  # (variant, step) -> minimum ratio baseline_seconds / monitor_seconds
    ("delayed", "first"): 10.0,
    ("delayed", "unchanged"): 50.0,
    ("instant", "first"): 3.0,
    ("instant", "unchanged"): 0.5,
}

NGINX_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/rdf+xml": "rdf",
    "application/xml": "xml",
    "application/json": "json",
}


# ----------------------------------------------------------------------------------- the corpus


def corpus_files(root: Path) -> list[Path]:
    index = json.loads((root / "INDEX.json").read_text(encoding="utf-8"))
    files = [root / entry["file"] for entry in index["feeds"] if (entry.get("n_items") or 0) > 0]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        sys.exit(f"corpus files listed in INDEX.json are missing: {missing[:3]}")
    if not files:
        sys.exit(f"no feed with n_items > 0 in {root / 'INDEX.json'}")
    return files


def addresses(hosts: int) -> list[str]:
    first = int(ipaddress.IPv4Address("127.0.0.2"))
    out = [str(ipaddress.IPv4Address(first + k)) for k in range(hosts)]
    if not ipaddress.IPv4Address(out[-1]) in ipaddress.IPv4Network("127.0.0.0/8"):
        sys.exit("too many hosts for 127.0.0.0/8")
    return out


def build_site(site: Path, sources: list[Path], feeds: int, hosts: int) -> list[tuple[int, str]]:
    """Write the served files; return (host index, path) per feed, feeds spread evenly over hosts."""
    out = []
    for i in range(feeds):
        k, j = i % hosts, i // hosts
        src = sources[i % len(sources)]
        ext = src.suffix.lower() if src.suffix.lower() in (".rss", ".atom", ".rdf", ".xml", ".json") else ".xml"
        folder = site / f"host_{k}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"feed_{j}{ext}"
        shutil.copyfile(src, target)
        os.chmod(target, 0o644)
        out.append((k, f"/{target.name}"))
    for folder in site.iterdir():
        os.chmod(folder, 0o755)
    os.chmod(site, 0o755)
    return out


def free_port(addrs: list[str], start: int = 18080) -> int:
    for port in range(start, start + 200):
        socks = []
        try:
            for address in addrs:
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                socks.append(s)
                s.bind((address, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    sys.exit("no free port found from 18080 on")


# ---------------------------------------------------------------------------------- measurement


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def child_pids(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def lo_bytes() -> int:
    for line in Path("/proc/net/dev").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name.strip() == "lo":
            return int(rest.split()[0])  # received bytes; on loopback every byte is received once
    return 0


class Meter:
    """Wall time, this process's CPU, the workers' CPU, the server's CPU and loopback bytes."""

    def __init__(self, server_pids, worker_pids=lambda: []):
        self.server_pids = server_pids
        self.worker_pids = worker_pids

    def _workers(self) -> tuple[float, dict[int, float]]:
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        return reaped.ru_utime + reaped.ru_stime, {p: proc_cpu(p) for p in self.worker_pids()}

    def __enter__(self):
        self.w0 = self._workers()
        self.s0 = sum(proc_cpu(p) for p in self.server_pids())
        self.b0 = lo_bytes()
        self.c0 = time.process_time()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.c0
        self.bytes = lo_bytes() - self.b0
        self.server_cpu = sum(proc_cpu(p) for p in self.server_pids()) - self.s0
        reaped, live = self._workers()
        # reaped workers count whole (their CPU before the step is taken off through w0's live figures)
        self.worker_cpu = (reaped - self.w0[0]) + sum(live.values()) - sum(self.w0[1].values())


# -------------------------------------------------------------------------------------- servers


def find_nginx() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not path:
        sys.exit(
            "nginx is not installed (neither on PATH nor at /usr/sbin/nginx).\n"
            "Install Debian's: apt-get update && apt-get install -y nginx-light   (or: nginx)"
        )
    return path


class Nginx:
    def __init__(self, binary: str, work: Path, site: Path, addrs: list[str], port: int, workers: int):
        self.binary, self.work, self.site, self.addrs, self.port, self.workers = binary, work, site, addrs, port, workers
        self.proc: subprocess.Popen | None = None

    def config(self) -> str:
        types = "\n".join(f"        {mime} {ext};" for mime, ext in NGINX_TYPES.items())
        servers = "\n".join(
            f"    server {{ listen {a}:{self.port} backlog=1024; root {self.site / f'host_{k}'}; }}"
            for k, a in enumerate(self.addrs)
        )
        w = self.work
        return f"""
worker_processes {self.workers};
daemon off;
pid {w}/nginx.pid;
error_log {w}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    types {{
{types}
    }}
    default_type application/octet-stream;
    access_log off;
    etag on;
    if_modified_since exact;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 100000;
    gzip off;
    client_body_temp_path {w}/client_body;
    proxy_temp_path {w}/proxy;
    fastcgi_temp_path {w}/fastcgi;
    uwsgi_temp_path {w}/uwsgi;
    scgi_temp_path {w}/scgi;
{servers}
}}
"""

    def __enter__(self):
        conf = self.work / "nginx.conf"
        conf.write_text(self.config())
        cmd = [self.binary, "-p", str(self.work), "-e", str(self.work / "error.log"), "-c", str(conf)]
        if os.geteuid() == 0:
            cmd += ["-g", "user root;"]  # else the workers drop to nobody
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_listening(self.addrs, self.port, self.proc, "nginx", self.work / "error.log")
        return self

    def pids(self) -> list[int]:
        return [self.proc.pid, *child_pids(self.proc.pid)] if self.proc else []

    def __exit__(self, *exc):
        stop(self.proc)


class SlowServer:
    def __init__(self, site: Path, addrs: list[str], port: int, delay_ms: float):
        self.site, self.addrs, self.port, self.delay_ms = site, addrs, port, delay_ms
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        cmd = [sys.executable, str(Path(__file__).with_name("slowserve.py")), "--root", str(self.site),
               "--port", str(self.port), "--delay-ms", str(self.delay_ms), *self.addrs]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            stop(self.proc)
            sys.exit(f"slowserve did not start: {self.proc.stderr.read().decode(errors='replace')[-2000:]}")
        wait_listening(self.addrs, self.port, self.proc, "slowserve", None)
        return self

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    def __exit__(self, *exc):
        stop(self.proc)


def wait_listening(addrs, port, proc, name, log: Path | None) -> None:
    deadline = time.monotonic() + 15
    pending = list(addrs)
    while pending:
        if proc.poll() is not None:
            detail = log.read_text(errors="replace")[-2000:] if log and log.exists() else proc.stderr.read().decode(errors="replace")
            sys.exit(f"{name} exited with {proc.returncode}: {detail}")
        try:
            socket.create_connection((pending[0], port), timeout=1).close()
            pending.pop(0)
        except OSError:
            if time.monotonic() > deadline:
                stop(proc)
                sys.exit(f"{name} does not answer on {pending[0]}:{port}")
            time.sleep(0.05)


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()  # nginx: fast shutdown; slowserve: stop
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ------------------------------------------------------------------------------------- monitor


def run_monitor(args, urls: list[str], work: Path, server_pids) -> tuple[list[dict], dict]:
    from monitor import extract as extract_stage
    from monitor.config import Config, FeedConfig, default_fetch
    from monitor.daemon import Monitor
    from monitor.parse import parse
    from monitor.rules import load_rules
    from monitor.store import Store
    from monitor.workers import Workers

    fetch = default_fetch()
    fetch = dataclasses.replace(
        fetch,
        concurrency=args.concurrency or fetch.concurrency,
        per_host=args.per_host or fetch.per_host,
    )
    feeds = tuple(FeedConfig(url=url, name=f"feed{i:05d}", full_text=False) for i, url in enumerate(urls))
    database = work / "monitor.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    config = Config(path=work / "feeds.yaml", database=database, rules=REPO / "rules", feeds=feeds, fetch=fetch)
    rows, info = [], {"concurrency": fetch.concurrency, "per_host": fetch.per_host}
    workers = Workers(fetch.extract_workers, memory_limit=fetch.extract_memory, tasks_per_worker=fetch.worker_tasks)
    with Store(database) as store, workers:
        monitor = Monitor(config, store, load_rules(config.rules), workers)
        atexit.register(monitor.close)

        def worker_pids():
            executor = workers._executor
            return list((getattr(executor, "_processes", None) or {}).keys()) if executor else []

        async def warm():
            tiny = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>x</title></item></channel></rss>'
            task = functools.partial(parse, url="http://127.0.0.2/", content_type="application/rss+xml", feed="warm")
            await asyncio.gather(*(workers.run(60, task, tiny) for _ in range(workers.size * 2)))

        async def cycles():
            # One event loop for the warm-up and both cycles, as in the daemon: the pool's semaphore
            # belongs to the loop that first waited on it.
            started = time.perf_counter()
            await warm()
            extract_stage.language("warm up the language model " * 10)
            info["warmup"] = time.perf_counter() - started
            for step in ("first", "unchanged"):
                profiler = None
                if args.profile:
                    import cProfile
                    profiler = cProfile.Profile()
                    profiler.enable()
                with Meter(server_pids, worker_pids) as m:
                    stats = await monitor.run_once()
                if profiler:
                    profiler.disable()
                    out = Path(f"{args.profile}-{args.current_variant}-{step}.pstats")
                    profiler.dump_stats(out)
                    print(f"  profile of monitor {step} written to {out}")
                rows.append({"who": "monitor", "step": step, "meter": m, "stats": stats, "table": table_state()})

        def table_state() -> tuple[int, dict]:
            errors = store.db.execute("SELECT count(*) FROM feeds WHERE last_error IS NOT NULL").fetchone()[0]
            return errors, dict(store.db.execute("SELECT status, count(*) FROM feeds GROUP BY status").fetchall())

        asyncio.run(cycles())
        for row in rows:  # the feeds table after each cycle, and the cycle's own counts
            stats, (errors, statuses) = row["stats"], row["table"]
            want = 200 if row["step"] == "first" else 304
            row["check"] = (f"failed={stats.failed} unchanged={stats.unchanged} parsed={stats.parsed} "
                            f"articles={stats.articles}; feeds table: last_error on {errors}, statuses {statuses}")
            if stats.failed or errors:
                sample = stats.errors[:3] or [r[0] for r in store.db.execute(
                    "SELECT last_error FROM feeds WHERE last_error IS NOT NULL LIMIT 3")]
                row["bad"] = f"{max(stats.failed, errors)} feeds failed, e.g. {sample}"
            elif statuses != {want: len(urls)}:
                row["bad"] = f"{row['step']} cycle: statuses {statuses}, wanted {want} for all"
            elif row["step"] == "first" and stats.parsed != len(urls):
                row["bad"] = f"first cycle: {stats.parsed} of {len(urls)} feeds parsed"
            elif row["step"] == "unchanged" and stats.unchanged != len(urls):
                row["bad"] = f"unchanged cycle: {stats.unchanged} of {len(urls)} unchanged"
        info["articles"] = store.count("articles")
        info["matches"] = store.count("matches")
        info["worker_restarts"] = workers.restarts
    return rows, info


def median_rows(runs: list[list[dict]]) -> list[dict]:
    """Per step, the run with the median wall time; the spread of all runs noted in its check."""
    out = []
    for step_rows in zip(*runs):
        ordered = sorted(step_rows, key=lambda r: r["meter"].seconds)
        row = dict(ordered[len(ordered) // 2])
        if len(ordered) > 1:
            times = ", ".join(f"{r['meter'].seconds:.2f}" for r in step_rows)
            row["check"] = f"median of {len(ordered)} runs ({times} s); " + row["check"]
        bad = [r["bad"] for r in step_rows if r.get("bad")]
        if bad:
            row["bad"] = bad[0]
        out.append(row)
    return out


# ------------------------------------------------------------------------------------ baseline


def run_baseline(urls: list[str], server_pids) -> list[dict]:
    import feedparser

    socket.setdefaulttimeout(30)
    rows, validators = [], []
    for step in ("first", "unchanged"):
        statuses: dict = {}
        with Meter(server_pids) as m:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for i, url in enumerate(urls):
                    if step == "first":
                        d = feedparser.parse(url)
                        validators.append((d.get("etag"), d.get("modified")))
                    else:
                        etag, modified = validators[i]
                        d = feedparser.parse(url, etag=etag, modified=modified)
                    statuses[d.get("status")] = statuses.get(d.get("status"), 0) + 1
        row = {"who": "baseline", "step": step, "meter": m, "check": f"statuses={statuses}"}
        want = 200 if step == "first" else 304
        if statuses != {want: len(urls)}:
            row["bad"] = f"baseline {step}: statuses {statuses}, wanted {want} for all"
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------- references


def run_references(urls: list[str], concurrency: int, per_host: int, server_pids) -> list[dict]:
    import httpx

    rows = []

    async def httpx_loop(validators: dict) -> dict:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        hosts: dict[str, asyncio.Semaphore] = {}
        gate = asyncio.Semaphore(concurrency)
        statuses: dict = {}
        async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
            async def one(url):
                host = url.split("/")[2]
                sem = hosts.setdefault(host, asyncio.Semaphore(per_host))
                headers = {}
                if url in validators:
                    headers = {"If-None-Match": validators[url][0], "If-Modified-Since": validators[url][1]}
                async with gate, sem:
                    r = await client.get(url, headers=headers)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                validators[url] = (r.headers.get("etag"), r.headers.get("last-modified"))
            await asyncio.gather(*(one(u) for u in urls))
        return statuses

    validators: dict = {}
    for step in ("first", "unchanged"):
        with Meter(server_pids) as m:
            statuses = asyncio.run(httpx_loop(validators))
        rows.append({"who": "httpx 1 client", "step": step, "meter": m, "check": f"statuses={statuses}"})

    try:
        import aiohttp
    except ImportError:
        return rows

    async def aiohttp_loop(validators: dict) -> dict:
        statuses: dict = {}
        connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=per_host, use_dns_cache=True)
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
            async def one(url):
                headers = {}
                if url in validators:
                    headers = {"If-None-Match": validators[url][0], "If-Modified-Since": validators[url][1]}
                async with session.get(url, headers=headers) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    validators[url] = (r.headers.get("etag"), r.headers.get("last-modified"))
            await asyncio.gather(*(one(u) for u in urls))
        return statuses

    validators = {}
    for step in ("first", "unchanged"):
        with Meter(server_pids) as m:
            statuses = asyncio.run(aiohttp_loop(validators))
        rows.append({"who": "aiohttp", "step": step, "meter": m, "check": f"statuses={statuses}"})
    return rows


# ---------------------------------------------------------------------------------------- main


def table(results: list[tuple[str, dict]], feeds: int) -> str:
    head = ("variant", "what", "seconds", "feeds/s", "client CPU s", "client CPU ms/feed", "worker CPU s", "server CPU s", "lo MB", "baseline/monitor", "target")
    lines = []
    base = {(v, r["step"]): r["meter"].seconds for v, r in results if r["who"] == "baseline"}
    for variant, r in results:
        m = r["meter"]
        ratio = target = ""
        if r["who"] == "monitor" and (variant, r["step"]) in base:
            value = base[(variant, r["step"])] / m.seconds
            ratio = f"{value:.2f}x"
            goal = TARGETS.get((variant, r["step"]))
            if goal is not None:
                target = f">= {goal:g}x " + ("MET" if value >= goal else "NOT MET")
        elif r["who"] != "baseline" and (variant, r["step"]) in base:
            ratio = f"{base[(variant, r['step'])] / m.seconds:.2f}x"
        lines.append((
            variant, f"{r['who']} {r['step']}", f"{m.seconds:.2f}", f"{feeds / m.seconds:,.0f}", f"{m.cpu:.2f}",
            f"{m.cpu / feeds * 1000:.2f}",
            f"{m.worker_cpu:.2f}" if r["who"] == "monitor" else "-", f"{m.server_cpu:.2f}", f"{m.bytes / 1e6:.1f}",
            ratio, target,
        ))
    widths = [max(len(str(x[i])) for x in [head, *lines]) for i in range(len(head))]
    fmt = lambda row: "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()
    return "\n".join([fmt(head), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--delay-ms", type=float, default=100.0)
    ap.add_argument("--variants", default="instant,delayed")
    ap.add_argument("--concurrency", type=int, default=0, help="fetch.concurrency (default: the config default)")
    ap.add_argument("--per-host", type=int, default=0, help="fetch.per_host (default: the config default)")
    ap.add_argument("--nginx-workers", type=int, default=1)
    ap.add_argument("--order", choices=("interleaved", "grouped"), default="interleaved",
                    help="feed list order: hosts in turn (default), or each host's feeds together")
    ap.add_argument("--repeat", type=int, default=3, help="monitor runs per variant, each on a new database (median shown)")
    ap.add_argument("--references", action="store_true", help="add bare httpx and aiohttp rows")
    ap.add_argument("--no-baseline", action="store_true", help="skip the feedparser loops (for quick runs)")
    ap.add_argument("--profile", metavar="PREFIX", help="cProfile monitor's cycles to PREFIX-<variant>-<step>.pstats")
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus" / "feeds" / "real")
    args = ap.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if set(variants) - {"instant", "delayed"} or not variants:
        ap.error("--variants takes instant, delayed or both")
    if args.hosts < 1 or args.feeds < 1:
        ap.error("--feeds and --hosts must be at least 1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    nginx = find_nginx() if "instant" in variants else None
    sources = corpus_files(args.corpus)
    hosts = min(args.hosts, args.feeds)
    addrs = addresses(hosts)
    results: list[tuple[str, dict]] = []
    infos = {}
    with tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        site = work / "site"
        layout = build_site(site, sources, args.feeds, hosts)
        body_bytes = sum((site / f"host_{k}" / p.lstrip("/")).stat().st_size for k, p in layout)
        port = free_port(addrs)
        urls = [f"http://{addrs[k]}:{port}{p}" for k, p in layout]
        if args.order == "grouped":  # as a config lists an outlet's feeds together
            urls = [urls[i] for i in sorted(range(len(urls)), key=lambda i: (layout[i][0], i))]
        print(f"{args.feeds} feeds ({args.order}) from {len(sources)} corpus files over {hosts} hosts "
              f"({addrs[0]} … {addrs[-1]}, port {port}); {body_bytes / 1e6:.1f} MB of files per full cycle")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; nginx: {nginx or '-'} "
              f"({args.nginx_workers} worker process(es)); delayed: bench/slowserve.py, {args.delay_ms:g} ms per answer")
        for variant in variants:
            if variant == "instant":
                server = Nginx(nginx, work, site, addrs, port, args.nginx_workers)
            else:
                server = SlowServer(site, addrs, port, args.delay_ms)
            with server:
                print(f"\n[{variant}] monitor…", flush=True)
                args.current_variant = variant
                runs = [run_monitor(args, urls, work, server.pids) for _ in range(args.repeat)]
                rows, info = median_rows([r for r, _ in runs]), runs[-1][1]
                infos[variant] = info
                results += [(variant, r) for r in rows]
                if args.references:
                    print(f"[{variant}] bare clients…", flush=True)
                    results += [(variant, r) for r in run_references(urls, info["concurrency"], info["per_host"], server.pids)]
                if not args.no_baseline:
                    print(f"[{variant}] feedparser loop (sequential)…", flush=True)
                    results += [(variant, r) for r in run_baseline(urls, server.pids)]
            for r in (r for v, r in results if v == variant):
                print(f"  {r['who']} {r['step']}: {r['meter'].seconds:.2f} s; {r['check']}")
            print(f"  monitor: concurrency {info['concurrency']}, per_host {info['per_host']}; warm-up (pool start, "
                  f"language model) {info['warmup']:.2f} s; {info['articles']} articles and {info['matches']} rule "
                  f"matches stored; worker restarts {info['worker_restarts']}")

    print()
    print(table(results, args.feeds))
    bad = [f"{v}: {r['bad']}" for v, r in results if r.get("bad")]
    if bad:
        print("\nINVALID RUN, these steps measured failures:\n  " + "\n  ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
