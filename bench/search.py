#!/usr/bin/env python3
"""The search box's speed on a big archive, against FTS5 alone.

    python bench/search.py [--articles 60000] [--rounds 3]

Builds an archive of --articles articles in a temporary folder, each four labelled paragraphs
(tests/data/real/*.jsonl, English, Ukrainian and Russian) drawn at random (seeded), stored with the
store's schema and full-text index. Then each box runs as the workbench's canned search
(search.sql(), 200 rows) and, where FTS5's own syntax takes the text, as a bare FTS5 query with
the same LIMIT (the baseline: what the canned query did before #15, less its snippet). The figures
are the best of --rounds, in milliseconds; "—" where FTS5 alone rejects the text or cannot say it.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor import search  # noqa: E402
from monitor.store import Store  # noqa: E402
from monitor.text import folded_variants  # noqa: E402

BOXES = ["дрон", "Суми", "перемир'я", "Україна", "the", "наступ*", '"у Сумах"', "дрон -шахед", 'дрон -"у Сумах"',
         "offensive NEAR/10 Sumy", "@drones", "дрон place:UA-59", "lang:uk", "title:(дрон OR Суми)"]
BASELINE = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rank LIMIT 200"


def build(path: Path, count: int) -> None:
    paragraphs = [json.loads(line)["text"] for f in sorted((ROOT / "tests/data/real").glob("*.jsonl"))
                  for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    rnd = random.Random(15)
    rows = []
    for i in range(count):
        chosen = rnd.sample(paragraphs, 4)
        title, text = chosen[0][:80], "\n".join(chosen)
        rows.append((f"g{i}", "wire", title, text, f"2026-{rnd.randint(1, 11):02d}-{rnd.randint(1, 28):02d}T10:00:00Z",
                     "2026-12-01T00:00:00Z", folded_variants(title, text)))
    with Store(path) as store, store.db.conn:
        store.db.conn.executemany("INSERT INTO articles (guid, feed, title, text, published, fetched, search_folded) "
                                  "VALUES (?,?,?,?,?,?,?)", rows)


def best(conn: sqlite3.Connection, sql: str, params, rounds: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        rows = len(conn.execute(sql, params).fetchall())
        times.append(time.perf_counter() - start)
    return min(times) * 1000, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "archive.db"
        build(path, args.articles)
        conn = sqlite3.connect(path)
        search.install(conn, search.load_sets(ROOT / "rules"))
        print(f"{args.articles:,} articles; best of {args.rounds} rounds, ms")
        print(f"{'box':28} {'search':>8} {'rows':>5} {'candidates':>10} {'FTS5 alone':>10}")
        for box in BOXES:
            ms, rows = best(conn, search.sql(), {"q": box}, args.rounds)
            fts = search.translate(box, search.load_sets(ROOT / "rules")).fts
            candidates = conn.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", [fts]).fetchone()[0] \
                if fts else args.articles
            try:
                baseline = f"{best(conn, BASELINE, [box], args.rounds)[0]:10.0f}"
            except sqlite3.OperationalError:
                baseline = f"{'—':>10}"
            print(f"{box:28} {ms:8.0f} {rows:5} {candidates:10,} {baseline}")


if __name__ == "__main__":
    main()
