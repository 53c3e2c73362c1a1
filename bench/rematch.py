#!/usr/bin/env python3
"""`monitor rematch` over a 100,000-article archive: throughput, interruption and resumption.

    python bench/rematch.py [--articles 100000] [--interrupt-after 3]

Builds an archive in a temporary folder from the corpus (feed entries and full article bodies,
cycled to the count, each with its own URL), then runs the real command, `monitor rematch`, in a
subprocess with the shipped rules: interrupts it with SIGINT after --interrupt-after seconds, checks
what was committed, runs it again to resume, and prints articles/s for each part.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.model import Article, PollResult  # noqa: E402
from monitor.store import Store  # noqa: E402


def corpus_root() -> Path:
    env = os.environ.get("MONITOR_CORPUS")
    return Path(env) if env else ROOT.parent / "shared" / "corpus"


def texts() -> list[tuple[str, str]]:
    root = corpus_root()
    out = []
    for line in (root / "feeds" / "entries" / "rss-link-database-2022-02-to-04.jsonl").read_text(encoding="utf-8").splitlines():
        e = json.loads(line)
        out.append((e.get("title") or "", re.sub(r"<[^>]+>", " ", e.get("description") or "")))
    truth = json.loads((root / "articles" / "scrapinghub-aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    out.extend((v["articleBody"].split("\n", 1)[0][:120], v["articleBody"]) for _, v in sorted(truth.items()))
    return out


def build(folder: Path, count: int) -> Path:
    pool = texts()
    (folder / "feeds.yaml").write_text(
        f"database: {folder / 'archive.db'}\nrules: {ROOT / 'rules'}\nfeeds:\n  - url: https://example.org/feed.xml\n    name: bench\n",
        encoding="utf-8")
    now = datetime.now(timezone.utc)
    with Store(folder / "archive.db") as store:
        store.db.execute("INSERT INTO feeds (name, url) VALUES ('bench', 'https://example.org/feed.xml')")
        for start in range(0, count, 2000):
            batch = [Article(url=f"https://example.org/a/{i}", link=None, guid=str(i), feed="bench",
                             title=pool[i % len(pool)][0], text=pool[i % len(pool)][1])
                     for i in range(start, min(count, start + 2000))]
            store.save_poll(PollResult(feed="bench", status=200, articles=batch, next_poll="x"), now)
    return folder / "feeds.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--interrupt-after", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        config = build(folder, args.articles)
        size = (folder / "archive.db").stat().st_size / 1e6
        print(f"archive: {args.articles:,} articles, {size:.0f} MB, built in {time.perf_counter() - started:.0f} s")
        command = [sys.executable, "-m", "monitor", "--config", str(config), "rematch"]

        started = time.perf_counter()
        first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(args.interrupt_after)
        first.send_signal(signal.SIGINT)
        _out, err = first.communicate()
        first_s = time.perf_counter() - started
        with sqlite3.connect(folder / "archive.db") as conn:
            done = conn.execute("SELECT done FROM jobs WHERE name='rematch'").fetchone()
        done = done[0] if done else args.articles
        print(f"run 1: interrupted after {first_s:.1f} s (exit {first.returncode}); {done:,} articles committed "
              f"({done / first_s:,.0f} articles/s, start-up included)")
        print("  " + err.strip().splitlines()[-1])

        started = time.perf_counter()
        second = subprocess.run(command, capture_output=True, text=True)
        second_s = time.perf_counter() - started
        print(f"run 2: resumed and finished in {second_s:.1f} s (exit {second.returncode}); "
              f"{args.articles - done:,} articles ({(args.articles - done) / second_s:,.0f} articles/s, start-up included)")
        for line in second.stderr.strip().splitlines():
            if line.startswith(("resuming", "rematched")):
                print("  " + line)
        with sqlite3.connect(folder / "archive.db") as conn:
            matches = conn.execute("SELECT count(*) FROM matches").fetchone()[0]
            tagged = conn.execute("SELECT count(DISTINCT article_id) FROM article_places").fetchone()[0]
            rules = conn.execute("SELECT rule, count(*) FROM matches GROUP BY rule ORDER BY 2 DESC").fetchall()
        print(f"result: {matches:,} matches, {tagged:,} articles with places; by rule: {rules}")
        return 0 if second.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
