#!/usr/bin/env python3
"""Story folding: precision and recall on generated copies, and the cost per article as the archive grows.

    python bench/dedup.py [--bases 800] [--archive 10000,100000]

The set: base articles are real text from the corpus — the Zyte benchmark's article bodies, and
"digests" of 10 consecutive feed entries of one source (BBC, CNN, … in Feb–Apr 2022: many about the
same events, which is the hard case: same topic, different text). Each base gets 0–5 syndicated
copies: another headline, another site's boilerplate around it, a paragraph cut, a paragraph added,
or several of these. Known groups → pairwise story precision and recall (targets ≥ 0.99, ≥ 0.95).

The cost: the same store code the daemon runs (Store.save_poll, which folds each new article into a
story) timed on 500 new articles when the archive already holds N articles whose band keys fill the
LSH table (random signatures: the table's load is what matters), for N in --archive. The index is
in SQLite, so the daemon's memory does not grow with it: its size on disk is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from itertools import combinations
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor import dedup  # noqa: E402
from monitor.model import Article, PollResult  # noqa: E402
from monitor.store import Store, iso  # noqa: E402

BOILERPLATES = [
    "Subscribe to our newsletter for the latest updates. Share this story. © 2026 Regional Herald.",
    "This article was originally published by a news agency and is republished with permission.",
    "Follow us on social media for breaking news. Advertisement. Read more: the week in review.",
]
ADDED = "Our correspondent adds that the situation remains tense and that more details are expected later in the day."


def corpus_root() -> Path:
    env = os.environ.get("MONITOR_CORPUS")
    return Path(env) if env else ROOT.parent / "shared" / "corpus"


def bases(limit: int) -> list[tuple[str, str]]:
    root = corpus_root()
    truth = json.loads((root / "articles" / "scrapinghub-aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    out = [(v["articleBody"].split("\n", 1)[0][:100], v["articleBody"]) for _, v in sorted(truth.items())
           if len(v["articleBody"].split()) >= 150]
    entries = [json.loads(line) for line in
               (root / "feeds" / "entries" / "rss-link-database-2022-02-to-04.jsonl").read_text(encoding="utf-8").splitlines()]
    by_source: dict[tuple[str, str], list[dict]] = {}
    for e in entries:
        by_source.setdefault((e.get("source", ""), e.get("snapshot_day", "")), []).append(e)
    seen_text: set[str] = set()
    for (_source, _day), items in sorted(by_source.items()):
        for start in range(0, len(items) - 9, 10):
            chunk = items[start : start + 10]
            text = "\n".join(f"{e.get('title', '')}. {re.sub(r'<[^>]+>', ' ', e.get('description') or '')}" for e in chunk)
            if len(text.split()) >= 150 and text not in seen_text:
                seen_text.add(text)
                out.append((chunk[0].get("title", "")[:100], text))
    return out[:limit]


def copy_of(text: str, rng: random.Random) -> str:
    paragraphs = [p for p in text.split("\n") if p.strip()]
    for change in rng.sample(["headline", "boilerplate", "cut", "added"], rng.randint(1, 3)):
        if change == "headline":
            paragraphs.insert(0, rng.choice(["Update:", "Exclusive:", "Analysis:", "Live:"]) + " " + paragraphs[0][:60])
        elif change == "boilerplate":
            paragraphs.append(rng.choice(BOILERPLATES))
        elif change == "cut" and len(paragraphs) > 4:
            paragraphs.pop(rng.randrange(1, len(paragraphs)))
        elif change == "added":
            paragraphs.insert(rng.randrange(len(paragraphs) + 1), ADDED)
    return "\n".join(paragraphs)


def article(n: int, title: str, text: str, feed: str = "bench") -> Article:
    sig = dedup.signature(text)
    return Article(url=f"https://site{n % 7}.example/{n}", link=None, guid=str(n), feed=feed, title=title, text=text,
                   text_hash=dedup.text_hash(text), signature=sig.tobytes() if sig is not None else None)


def quality(folder: Path, base_count: int, seed: int) -> None:
    rng = random.Random(seed)
    generated: list[tuple[int, str, str]] = []  # (group, title, text)
    for group, (title, text) in enumerate(bases(base_count)):
        generated.append((group, title, text))
        for _ in range(rng.randint(0, 5)):
            generated.append((group, title, copy_of(text, rng)))
    rng.shuffle(generated)
    now = datetime(2026, 11, 25, tzinfo=timezone.utc)
    started = time.perf_counter()
    with Store(folder / "quality.db") as store:
        store.db.execute("INSERT INTO feeds (name, url) VALUES ('bench', 'x')")
        for start in range(0, len(generated), 50):
            batch = [article(start + i, t, x) for i, (_g, t, x) in enumerate(generated[start : start + 50])]
            store.save_poll(PollResult(feed="bench", status=200, next_poll="x", articles=batch), now + timedelta(minutes=start))
        stories = [row[0] for row in store.db.execute("SELECT story_id FROM articles ORDER BY id")]
    seconds = time.perf_counter() - started
    truth = [g for g, _t, _x in generated]
    tp = fp = fn = 0
    for i, j in combinations(range(len(truth)), 2):
        same_truth, same_story = truth[i] == truth[j], stories[i] == stories[j]
        tp += same_truth and same_story
        fp += same_story and not same_truth
        fn += same_truth and not same_story
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    groups = len(set(truth))
    print(f"quality: {len(generated)} articles in {groups} known groups ({len(generated) - groups} copies); "
          f"{len(set(stories))} stories made")
    print(f"  pairwise story precision {precision:.4f} (target ≥ 0.99), recall {recall:.4f} (target ≥ 0.95); "
          f"{seconds / len(generated) * 1000:.2f} ms per article, signature included")


def cost(folder: Path, size: int, sample: list[tuple[str, str]]) -> float:
    """ms per article to store and fold 500 new articles into an archive of `size` articles."""
    path = folder / f"cost-{size}.db"
    now = datetime(2026, 11, 25, tzinfo=timezone.utc)
    rng = np.random.default_rng(size)
    with Store(path) as store:
        store.db.execute("INSERT INTO feeds (name, url) VALUES ('bench', 'x')")
        with store.db.atomic():
            for start in range(0, size, 10_000):
                rows, band_rows, story_rows = [], [], []
                for n in range(start, min(size, start + 10_000)):
                    sig = rng.integers(0, 2**32, dedup.PERMUTATIONS, dtype=np.uint32)
                    stamp = iso(now - timedelta(seconds=int(n * 6 * 86400 / size)))  # spread over the window
                    url = f"https://filler.example/{n}"  # link and key alike
                    rows.append((n + 1, url, url, str(n), "bench", stamp, sig.tobytes(), n + 1))
                    story_rows.append((n + 1, stamp, stamp, n + 1))
                    band_rows.extend((key, n + 1, stamp) for key in dedup.bands(sig))
                store.db.conn.executemany("INSERT INTO stories (id, title, first_seen, last_seen, article_count, representative_id) "
                                          "VALUES (?, '', ?, ?, 1, ?)", story_rows)
                store.db.conn.executemany("INSERT INTO articles (id, url, url_key, guid, feed, fetched, signature, story_id) "
                                          "VALUES (?,?,?,?,?,?,?,?)", rows)
                store.db.conn.executemany("INSERT INTO story_bands (band_key, article_id, seen) VALUES (?,?,?)", band_rows)
        batch = [article(10**7 + i, t, x) for i, (t, x) in enumerate(sample)]
        started = time.perf_counter()
        for start in range(0, len(batch), 50):
            store.save_poll(PollResult(feed="bench", status=200, next_poll="x", articles=batch[start : start + 50]), now)
        seconds = time.perf_counter() - started
        pages = store.db.execute("SELECT count(*) FROM dbstat WHERE name IN ('story_bands', 'story_bands_key')").fetchone()[0] \
            if store.db.execute("SELECT 1 FROM pragma_module_list WHERE name = 'dbstat'").fetchone() else None
    size_mb = path.stat().st_size / 1e6
    extra = f", band table and index {pages * 4096 / 1e6:.0f} MB" if pages else ""
    per = seconds / len(batch) * 1000
    print(f"  archive of {size:>7,} articles: {per:.2f} ms per new article (store + fold, signatures made beforehand); "
          f"database {size_mb:.0f} MB{extra}")
    return per


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bases", type=int, default=800)
    parser.add_argument("--archive", default="10000,100000")
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        quality(folder, args.bases, args.seed)
        rng = random.Random(args.seed)
        sample = [(t, copy_of(x, rng) if i % 2 else x) for i, (t, x) in enumerate(bases(500))]
        started = time.perf_counter()
        for _t, x in sample:
            dedup.signature(x)
        print(f"signature: {(time.perf_counter() - started) / len(sample) * 1000:.2f} ms per article "
              f"({dedup.PERMUTATIONS} permutations, {dedup.SHINGLE}-word shingles)")
        print("cost per new article as the archive grows:")
        figures = [cost(folder, int(n), sample) for n in args.archive.split(",")]
        if len(figures) == 2:
            print(f"  ratio {figures[1] / figures[0]:.2f} (target: within 2×; each ≤ 5 ms)")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process: {peak:.0f} MB (the LSH index is on disk, in SQLite)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
