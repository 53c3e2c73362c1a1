#!/usr/bin/env python3
"""Soak test: the real daemon (`python3 -m monitor run`) against loopback feeds that change every
poll, for a long run, with its memory (RSS) sampled over time.

    python3 bench/soak.py [--minutes 30] [--feeds 200] [--items 5] [--sample 30] [--interval 30s]
                          [--hosts 10] [--warmup MIN] [--flat-mb-per-hour 5] [--worker-tasks N] [--keep]
                          [--command 'python3 -m monitor']

Only loopback traffic. No dependency beyond the daemon's own (memory is read from /proc).

The server, threads in this process (not in the daemon's): --feeds RSS 2.0 feeds spread over
--hosts loopback addresses (127.0.0.2, 127.0.0.3, …; the daemon limits requests per host). Every
request of a feed is a new poll of it: --items new items (new GUIDs and links) on top, plus the items
of its last three polls, no ETag, so every poll parses and stores --items new articles per feed.
Item titles and descriptions are real feed entries of February–April 2022 (corpus
feeds/entries/*.jsonl: Ukraine, Kharkiv, ceasefire, offensive, …), so the shipped rules, the places
and the stories run. Each item's link is an article page: a real page of the corpus (articles/…,
the UTF-8 ones with at least 3 long paragraphs: 295 of 314), its <title> and <h1> replaced by the
item's headline and the text of each long <p> replaced by other entries' texts, picked per item.
Inserting only the item number would put every copy of a page in one story (MinHash sees the same
text) and make that story's look-up grow all run long; with this, one item in ten is a syndicated
copy (one in five items of the even feeds is the page of the same item of the next feed, under its
own URL: the same text, one story), the others are new stories.
So trafilatura works on real pages (183 kB of HTML on average) with text that differs every time.

The daemon gets a temp feeds.yaml: database in a temp dir, rules/ of this repository,
`defaults: {interval: --interval, private_links: allow}` (loopback links are refused otherwise
unless the feed itself is on a private host), the fetch settings' defaults (--worker-tasks sets
fetch.worker_tasks, e.g. 1000000 to watch trafilatura's growth without recycling). The daemon ticks
every 60 s and polls the feeds due (next_poll = poll time + interval): with an interval of 60 s a
feed polled a few seconds into a tick is not due yet at the next one and waits two ticks; the
default 30 s makes every feed due at every tick, one poll a minute.

Every --sample seconds one line: minutes since the daemon started; RSS (VmRSS of /proc/PID/status)
of the daemon's main process; the sum over its extraction workers (its child processes, the
multiprocessing resource tracker not counted) with their number and, in brackets, how many workers
have been started so far (the pool replaces a worker after fetch.worker_tasks tasks: at the default
load a worker lives a few seconds, so a thread looks at the workers every half second and keeps
each one's peak RSS); the total; articles in the database (read-only connection) and its size with
the WAL; "cycle done" lines in the daemon's log and the last cycle's seconds and new articles.

At the end: the main process's peak RSS (VmHWM); the daemon gets SIGTERM (it must exit 0 within
--stop-timeout, its workers with it); a summary per series (main, workers, total): RSS at the first
sample, at the end of the warm-up (--warmup minutes, default 20% of the run but at least 5 minutes,
at most half the run), at the end; end / warm-up; the least-squares slope in MB per hour over the
warm-up samples (the baseline: how fast it grows while caches and the allocator's high-water marks
fill) and over the samples after it, and the same slope in bytes per article stored. Then the peak
RSS of one worker over its life, median (and max) of the workers started in each third of the run:
flat thirds mean recycling bounds the workers, whatever trafilatura keeps. Verdict: "flat" when the
main process's slope after warm-up is under --flat-mb-per-hour (default 5 MB/h: at the default load
of 60,000 articles an hour that is under 90 bytes kept per article, which at a real load of a few
thousand articles a day is well under a MB a day). The workers' sum is a saw-tooth (each worker
grows until it is recycled), so single samples of it are noisy.

Run it as a program. The daemon runs as `python3 -m monitor` in the checkout this script is in (and
its workers import monitor/ from there whenever one is replaced): to soak a fixed commit while the
tree is being edited, run the script from an export, e.g. `git archive HEAD | tar -x -C /tmp/m` then
`python3 /tmp/m/bench/soak.py --corpus ../shared/corpus`.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import random
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MONITOR_SHARED", REPO.parent / "shared"))
KEEP_POLLS = 4  # a feed lists the items of its last 4 polls, the newest first

# ------------------------------------------------------------------------------ corpus material

_P = re.compile(r"(<p\b[^>]*>)(.*?)(</p\s*>)", re.DOTALL | re.IGNORECASE)
_TITLE = re.compile(r"(<title\b[^>]*>)(.*?)(</title\s*>)", re.DOTALL | re.IGNORECASE)
_H1 = re.compile(r"(<h1\b[^>]*>)(.*?)(</h1\s*>)", re.DOTALL | re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


def load_entries(corpus: Path) -> list[tuple[str, str]]:
    """(title, description) of the real feed entries, tags stripped."""
    out = []
    for path in sorted((corpus / "feeds" / "entries").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            title = html.unescape(_TAGS.sub("", entry.get("title") or "")).strip()
            text = html.unescape(_TAGS.sub(" ", entry.get("description") or "")).strip()
            if title and len(text) > 40:
                out.append((title, " ".join(text.split())))
    return out


def load_templates(corpus: Path) -> list[list]:
    """Each usable page as a list of strings and slots: "title", "h1", or "p" (a long paragraph)."""
    files = [*sorted(corpus.glob("articles/scrapinghub-aeb/html/*.html.gz")),
             *sorted(corpus.glob("articles/trafilatura-eval/html/*.html.gz")),
             *sorted(corpus.glob("articles/mozilla-readability/*/source.html.gz"))]
    templates = []
    for path in files:
        try:
            page = gzip.decompress(path.read_bytes()).decode("utf-8")
        except UnicodeDecodeError:
            continue  # served as UTF-8, so only pages that are
        cuts = []  # (start, end, slot) of the inner text of the parts we replace
        for pattern, slot in ((_TITLE, "title"), (_H1, "h1")):
            m = pattern.search(page)
            if m:
                cuts.append((m.start(2), m.end(2), slot))
        cuts += [(m.start(2), m.end(2), "p") for m in _P.finditer(page)
                 if len(_TAGS.sub("", m.group(2)).strip()) >= 80]
        if sum(slot == "p" for *_, slot in cuts) < 3:
            continue
        parts, pos = [], 0
        for start, end, slot in sorted(cuts):
            if start < pos:
                continue  # a <p> inside the <h1>, say
            parts += [page[pos:start], (slot,)]
            pos = end
        templates.append(parts + [page[pos:]])
    return templates


class Content:
    """What the server says: feeds that move on at every request, and their items' pages."""

    def __init__(self, feeds: int, items: int, hosts: list[str], port: int, corpus: Path):
        self.feeds, self.items, self.hosts, self.port = feeds, items, hosts, port
        self.entries = load_entries(corpus)
        self.templates = load_templates(corpus)
        self.polls = [0] * feeds
        self.lock = threading.Lock()
        self.requests = {"feed": 0, "page": 0, "other": 0}
        self.others: list[str] = []  # the first few requests for something we do not serve

    def base(self, k: int) -> str:
        return f"http://{self.hosts[k % len(self.hosts)]}:{self.port}"

    def headline(self, k: int, n: int) -> tuple[str, str]:
        return self.entries[random.Random(f"item {k} {n}").randrange(len(self.entries))]

    def feed(self, k: int) -> bytes:
        with self.lock:
            self.polls[k] += 1
            poll = self.polls[k]
        newest = poll * self.items - 1
        oldest = max(0, (poll - KEEP_POLLS) * self.items)
        now = formatdate(usegmt=True)
        items = []
        for n in range(newest, oldest - 1, -1):
            title, text = self.headline(k, n)
            link = f"{self.base(k)}/a/{k}/{n}"
            items.append(f"<item><title>{escape(title)}</title><link>{link}</link>"
                         f"<guid isPermaLink=\"false\">soak-{k}-{n}</guid><pubDate>{now}</pubDate>"
                         f"<description>{escape(text)}</description></item>")
        return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
                f"<title>Soak feed {k}</title><link>{self.base(k)}/</link><description>soak test feed {k}</description>"
                f"{''.join(items)}</channel></rss>").encode()

    def page(self, k: int, n: int) -> bytes:
        if n % 5 == 4 and k % 2 == 0 and k + 1 < self.feeds:  # a syndicated copy: the next feed's page
            k += 1
        rng = random.Random(f"page {k} {n}")
        title, _text = self.headline(k, n)
        out = []
        for part in self.templates[rng.randrange(len(self.templates))]:
            if isinstance(part, str):
                out.append(part)
            elif part[0] in ("title", "h1"):
                out.append(html.escape(title))
            else:
                other, text = self.entries[rng.randrange(len(self.entries))]
                out.append(html.escape(f"{other}. {text}"))
        return "".join(out).encode()


def serve(content: Content) -> list[ThreadingHTTPServer]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the daemon's client expects

        def do_GET(self):
            m = re.fullmatch(r"/feed/(\d+)\.xml|/a/(\d+)/(\d+)", self.path)
            if m and m.group(1) and int(m.group(1)) < content.feeds:
                kind, body, ctype = "feed", content.feed(int(m.group(1))), "application/rss+xml; charset=utf-8"
            elif m and m.group(2) and int(m.group(2)) < content.feeds:
                kind, body, ctype = "page", content.page(int(m.group(2)), int(m.group(3))), "text/html; charset=utf-8"
            else:
                kind, body, ctype = "other", b"not found", "text/plain"
            with content.lock:
                content.requests[kind] += 1
                if kind == "other" and len(content.others) < 5:
                    agent = self.headers.get("User-Agent")
                    content.others.append(f"{self.path[:80]} from {self.client_address[0]} ({agent})")
            self.send_response(200 if kind != "other" else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    servers = [Server((host, content.port), Handler) for host in content.hosts]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return servers


def free_port(hosts: list[str]) -> int:
    for port in range(18480, 18680):
        try:
            for host in hosts:
                with socket.socket() as s:
                    s.bind((host, port))
            return port
        except OSError:
            continue
    sys.exit("no free port from 18480 on")


# ---------------------------------------------------------------------------------- measurement


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory now (VmRSS), or its peak so far (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def workers_of(pid: int) -> list[int]:
    """The daemon's child processes but the multiprocessing resource tracker (no
    /proc/PID/task/*/children here: that needs CONFIG_PROC_CHILDREN; so every /proc/N/stat)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) != pid:
                continue
            if b"resource_tracker" not in (entry / "cmdline").read_bytes():
                out.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def database_figures(database: Path) -> tuple[int | None, float]:
    size = sum(Path(f"{database}{s}").stat().st_size for s in ("", "-wal") if Path(f"{database}{s}").exists())
    try:
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
        try:
            articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        articles = None
    return articles, size / 1e6


def counts(database: Path) -> dict:
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("articles", "stories", "matches", "article_places")
                if db.execute("SELECT 1 FROM sqlite_master WHERE name=?", [t]).fetchone()}
    finally:
        db.close()


class WorkerWatch(threading.Thread):
    """Every half second, the daemon's workers and their RSS: each worker's peak over its life (a
    worker lives a few seconds at the default load, too short for the samples to see them all)."""

    def __init__(self, pid: int, started: float):
        super().__init__(daemon=True)
        self.pid, self.started = pid, started
        self.peaks: dict[int, tuple[float, float]] = {}  # pid -> (minute first seen, peak MB)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            for pid in workers_of(self.pid):
                first, peak = self.peaks.get(pid, ((time.monotonic() - self.started) / 60, 0.0))
                self.peaks[pid] = (first, max(peak, rss_mb(pid)))

    def peaks_by_third(self, minutes: float) -> list[str]:
        out = []
        for third in range(3):
            got = sorted(peak for first, peak in self.peaks.values() if third <= 3 * first / minutes < third + 1)
            out.append(f"{got[len(got) // 2]:.0f} (max {got[-1]:.0f}, {len(got)} workers)" if got else "-")
        return out


class Log:
    """Reads the daemon's log as it grows: cycles, and warnings/errors by message."""

    def __init__(self, path: Path):
        self.path, self.offset = path, 0
        self.cycles, self.last_cycle, self.started, self.stopped = 0, "", False, False
        self.problems: dict[str, int] = {}

    def read(self) -> None:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        data = data[: data.rfind(b"\n") + 1]  # whole lines only
        self.offset += len(data)
        for line in data.decode(errors="replace").splitlines():
            if not line[:2].isdigit():  # not the logger's: a worker's traceback; its last line says it
                if line.strip() and not line[:1].isspace() and not line.startswith(("Traceback", "Process ")):
                    self.problems[f"stderr {line[:120]}"] = self.problems.get(f"stderr {line[:120]}", 0) + 1
                continue
            fields = line.split(" ", 2)
            level, rest = (fields[1], fields[2]) if len(fields) == 3 else ("", line)
            if rest.startswith("cycle done"):
                self.cycles += 1
                got = dict(re.findall(r"(\w+)=(\S+)", rest))
                self.last_cycle = f"{float(got.get('seconds', 0)):.0f} s, {got.get('articles', '?')} new"
            self.started |= rest.startswith("daemon started")
            self.stopped |= rest.startswith("daemon stopped")
            if level in ("WARNING", "ERROR", "CRITICAL") or rest.startswith("page not used"):
                key = re.sub(r"\d+", "N", rest.split(" feed=")[0].split(" url=")[0])[:120]
                self.problems[f"{level} {key}"] = self.problems.get(f"{level} {key}", 0) + 1


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of y over x."""
    if len(points) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def fmt(value: float | None, spec: str = "+.1f") -> str:
    return "-" if value is None else format(value, spec)


# ---------------------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--items", type=int, default=5, help="new items per feed per poll")
    ap.add_argument("--sample", type=float, default=30, help="seconds between samples")
    ap.add_argument("--interval", default="30s", help="the feeds' interval (see above why not 60s)")
    ap.add_argument("--hosts", type=int, default=10, help="loopback addresses the feeds are spread over")
    ap.add_argument("--warmup", type=float, help="minutes (default: 20%% of the run, at least 5, at most half)")
    ap.add_argument("--flat-mb-per-hour", type=float, default=5.0)
    ap.add_argument("--worker-tasks", type=int, help="fetch.worker_tasks (default: the config default)")
    ap.add_argument("--stop-timeout", type=float, default=90, help="seconds the daemon has to exit after SIGTERM")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (config, log, database)")
    ap.add_argument("--command", default=f"{sys.executable} -m monitor",
                    help="the daemon's command, before `--config CFG run` (e.g. a wrapper that runs tracemalloc)")
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    args = ap.parse_args()
    warmup = args.warmup if args.warmup is not None else min(max(5.0, args.minutes * 0.2), args.minutes / 2)

    hosts = [f"127.0.0.{2 + i}" for i in range(max(1, min(args.hosts, args.feeds, 250)))]
    content = Content(args.feeds, args.items, hosts, free_port(hosts), args.corpus)
    if not content.entries or not content.templates:
        sys.exit(f"no feed entries or article pages under {args.corpus}")
    servers = serve(content)

    work = Path(tempfile.mkdtemp(prefix="monitor-soak-"))
    database, log_path, config = work / "soak.db", work / "daemon.log", work / "feeds.yaml"
    lines = [f"database: {json.dumps(str(database))}", f"rules: {json.dumps(str(REPO / 'rules'))}",
             f"defaults: {{interval: {args.interval}, private_links: allow}}"]
    if args.worker_tasks:
        lines.append(f"fetch: {{worker_tasks: {args.worker_tasks}}}")
    lines.append("feeds:")
    lines += [f"  - {{name: soak-{k:04d}, url: '{content.base(k)}/feed/{k}.xml'}}" for k in range(args.feeds)]
    config.write_text("\n".join(lines) + "\n")

    print(f"{args.feeds} feeds x {args.items} new items per poll on {len(hosts)} loopback hosts "
          f"({hosts[0]} … {hosts[-1]}, port {content.port}); pages from {len(content.templates)} corpus pages, "
          f"texts from {len(content.entries)} entries; interval {args.interval}; {args.minutes:g} min, "
          f"warm-up {warmup:g} min; python {sys.version.split()[0]}, {os.cpu_count()} CPUs; work dir {work}")
    with open(log_path, "wb") as log_file:  # the daemon writes to its own copy of the descriptor
        daemon = subprocess.Popen([*shlex.split(args.command), "--config", str(config), "run"], cwd=REPO,
                                  stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)
    log = Log(log_path)
    started = time.monotonic()
    while not log.started:
        log.read()
        if daemon.poll() is not None or time.monotonic() - started > 120:
            daemon.kill()
            print(log_path.read_text(errors="replace")[-3000:])
            sys.exit(f"the daemon did not start (exit status {daemon.returncode})")
        time.sleep(0.2)

    watch = WorkerWatch(daemon.pid, started)
    watch.start()
    head = (f"{'min':>6} {'main MB':>8} {'workers MB (n) [started]':>25} {'total MB':>9} {'articles':>9} "
            f"{'db MB':>7} {'cycles':>6}  last cycle")
    print(head + "\n" + "-" * len(head), flush=True)
    samples = []  # (minutes, main, workers, articles)
    exit_status = None
    try:
        while True:
            minutes = (time.monotonic() - started) / 60
            main_mb = rss_mb(daemon.pid)
            pids = workers_of(daemon.pid)
            workers_mb = sum(rss_mb(p) for p in pids)
            articles, db_mb = database_figures(database)
            log.read()
            samples.append((minutes, main_mb, workers_mb, articles or 0))
            print(f"{minutes:6.1f} {main_mb:8.1f} {f'{workers_mb:.1f} ({len(pids)}) [{len(watch.peaks)}]':>25} "
                  f"{main_mb + workers_mb:9.1f} {articles if articles is not None else '?':>9} {db_mb:7.1f} "
                  f"{log.cycles:6d}  {log.last_cycle}", flush=True)
            if daemon.poll() is not None:
                print(f"THE DAEMON EXITED on its own with status {daemon.returncode}")
                break
            left = args.minutes * 60 - (time.monotonic() - started)
            if left < 1:
                break
            time.sleep(min(args.sample, left))
    except KeyboardInterrupt:
        print("interrupted: stopping the daemon")

    watch.done.set()
    stop = "exited on its own"
    if daemon.poll() is None:
        stop = f"peak RSS of the main process {rss_mb(daemon.pid, 'VmHWM'):.1f} MB (VmHWM); "
        last_workers = workers_of(daemon.pid)
        asked = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        try:
            exit_status = daemon.wait(args.stop_timeout)
            stop += f"exit status {exit_status} {time.monotonic() - asked:.1f} s after SIGTERM"
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
            stop += f"NOT STOPPED within {args.stop_timeout:g} s of SIGTERM: killed"
        time.sleep(1)
        left = [p for p in last_workers if Path(f"/proc/{p}").exists()]
        stop += f"; workers left behind: {len(left)}" if left else "; its workers are gone"
    log.read()
    for server in servers:
        server.shutdown()

    print(f"\ndaemon: {stop}; 'daemon stopped' logged: {'yes' if log.stopped else 'NO'}")
    print(f"server: {content.requests['feed']} feed and {content.requests['page']} page requests, "
          f"{content.requests['other']} others; cycles done: {log.cycles}; database: "
          + ", ".join(f"{v} {k}" for k, v in counts(database).items()))
    if content.others:
        print("  not found: " + "; ".join(content.others))
    if log.problems:
        print("warnings, errors and pages not used in the log (digits as N):")
        for key, n in sorted(log.problems.items(), key=lambda kv: -kv[1])[:8]:
            print(f"  {n:6d}  {key}")

    pre = [s for s in samples if s[0] <= warmup]
    post = [s for s in samples if s[0] >= warmup]
    verdict = None
    if len(post) < 3 or len(pre) < 1:
        print(f"\ntoo few samples for a summary after the {warmup:g}-minute warm-up")
    else:
        first, at_warm, end = samples[0], post[0], samples[-1]
        print(f"\nRSS MB at the first sample ({first[0]:.1f} min), at the end of the warm-up ({at_warm[0]:.1f} min, "
              f"{at_warm[3]} articles) and at the end ({end[0]:.1f} min, {end[3]} articles); slopes by least squares")
        head = (f"{'':8} {'first':>7} {'warm-up':>8} {'end':>7} {'end/warm-up':>11} {'MB/h in warm-up':>15} "
                f"{'MB/h after':>10} {'bytes/article after':>19}")
        print(head + "\n" + "-" * len(head))
        for name, pick in (("main", lambda s: s[1]), ("workers", lambda s: s[2]), ("total", lambda s: s[1] + s[2])):
            warm_slope = slope([(s[0] / 60, pick(s)) for s in pre]) if len(pre) >= 2 else None
            after = slope([(s[0] / 60, pick(s)) for s in post])
            per_article = slope([(s[3], pick(s) * 2**20) for s in post])
            print(f"{name:8} {pick(first):7.1f} {pick(at_warm):8.1f} {pick(end):7.1f} "
                  f"{pick(end) / pick(at_warm) if pick(at_warm) else 0:10.2f}x {fmt(warm_slope):>15} {fmt(after):>10} "
                  f"{fmt(per_article, '+.0f'):>19}")
            if name == "main":
                verdict = after
        print("peak RSS MB of one worker over its life, median of the workers started in each third of the run: "
              + "; ".join(watch.peaks_by_third(end[0])))
        flat = verdict is not None and verdict < args.flat_mb_per_hour
        print(f"\nverdict: {'flat' if flat else 'GROWING'} (main process {fmt(verdict)} MB/h after warm-up; "
              f"flat means under {args.flat_mb_per_hour:g} MB/h)")
    if args.keep:
        print(f"kept: {work} (feeds.yaml, daemon.log, soak.db)")
    else:
        for path in sorted(work.iterdir()):
            path.unlink()
        work.rmdir()
    return 0 if exit_status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
