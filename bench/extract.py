#!/usr/bin/env python3
"""Benchmark article extraction on the Zyte (Scrapinghub) article-extraction benchmark.

    python bench/extract.py [--corpus PATH] [--limit N]

Runs four extractors over the same pages, in the same process and the same run, and scores the
extracted main text against the benchmark's `articleBody`:

    trafilatura default   trafilatura.extract(raw bytes), every option at its default
    trafilatura fast      trafilatura.extract(raw bytes, fast=True)
    monitor (fast)        monitor.extract.extract(raw bytes, url=<ground-truth url>, fast=True).text
    monitor (full)        the same with fast=False

The metric is the upstream benchmark's (scrapinghub/article-extraction-benchmark, evaluate.py):
texts are tokenised with the regex \\w+, cut into overlapping 4-token shingles, and the shingle
multisets are matched (tp = common count, fp = extra predicted, fn = missed), normalised per page
so that long pages do not weigh more. Upstream reports precision = mean page precision over pages
with a prediction, recall = mean page recall over pages with a ground truth, and F1 = the harmonic
mean of those two means; this script prints that figure ("F1 (upstream)") beside the mean of the
per-page F1 scores ("page F1").

The corpus is found at --corpus, else at $MONITOR_CORPUS/articles/scrapinghub-aeb (MONITOR_CORPUS
names the shared corpus root), else at ../shared/corpus/articles/scrapinghub-aeb next to the repo.
Its layout: html/<id>.html.gz (gzip of the raw page bytes) and ground-truth.json, a map
{"<id>": {"articleBody": ..., "url": ...}}.

Pages are read and gunzipped before any timing starts; each extractor gets one untimed warm-up call
(lazy imports, the language model), then every call is timed with time.perf_counter.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import trafilatura  # noqa: E402

from monitor.extract import extract as monitor_extract  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/articles/scrapinghub-aeb"
LOW_F1 = 0.5
N_BOOTSTRAP = 1000


# --- the upstream metric (article-extraction-benchmark/evaluate.py) ------------------------------

_TOKEN = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


def shingles(text: str, n: int = 4) -> Counter:
    """Multiset of the n-token shingles of text (a text shorter than n tokens is one short shingle)."""
    tokens = _TOKEN.findall(text or "")
    grams = (tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)))
    return Counter(g for g in grams if g)


def tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    """Shingle matches of a prediction against the truth, normalised to sum to 1."""
    t, p = shingles(true), shingles(pred)
    tp = float(sum((t & p).values()))
    fp = float(sum((p - t).values()))
    fn = float(sum((t - p).values()))
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s > 0 else (tp, fp, fn)


def precision_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fp == 0:
        return 0.0
    return tp / (tp + fp)


def recall_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fn == 0:
        return 0.0
    return tp / (tp + fn)


def f1_score(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def page_f1(counts: tuple[float, float, float]) -> float:
    return f1_score(precision_score(*counts), recall_score(*counts))


def upstream_metrics(counts: list[tuple[float, float, float]]) -> dict[str, float]:
    """Precision, recall and F1 exactly as upstream aggregates them."""
    ps = [precision_score(*c) for c in counts if c[0] + c[1] > 0]
    rs = [recall_score(*c) for c in counts if c[0] + c[2] > 0]
    precision = statistics.mean(ps) if ps else 0.0
    recall = statistics.mean(rs) if rs else 0.0
    return {"precision": precision, "recall": recall, "f1": f1_score(precision, recall)}


def bootstrap_f1_ci(counts: list[tuple[float, float, float]], n: int = N_BOOTSTRAP) -> float:
    """Upstream's ± : 1.96 standard deviations of the F1 over bootstrap resamples of the pages."""
    if len(counts) < 2:
        return 0.0
    rng = random.Random(0)
    values = []
    for _ in range(n):
        sample = [counts[rng.randrange(len(counts))] for _ in counts]
        values.append(upstream_metrics(sample)["f1"])
    return 1.96 * statistics.stdev(values)


# --- corpus ------------------------------------------------------------------------------------


def corpus_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg).expanduser().resolve()
    root = os.environ.get("MONITOR_CORPUS")
    if root:
        return Path(root).expanduser().resolve() / "articles/scrapinghub-aeb"
    return DEFAULT_CORPUS


def load_pages(corpus: Path, limit: int | None) -> list[tuple[str, bytes, str, str]]:
    """(id, raw html bytes, ground-truth url, articleBody) for each page, in id order."""
    truth = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for item_id in sorted(truth):
        path = corpus / "html" / f"{item_id}.html.gz"
        if not path.exists():
            print(f"warning: {path} missing, skipped", file=sys.stderr)
            continue
        entry = truth[item_id]
        pages.append((item_id, gzip.decompress(path.read_bytes()), entry.get("url") or "",
                      entry.get("articleBody") or ""))
        if limit is not None and len(pages) >= limit:
            break
    return pages


# --- extractors --------------------------------------------------------------------------------

Extractor = Callable[[bytes, str], str]

EXTRACTORS: list[tuple[str, Extractor]] = [
    ("trafilatura default", lambda body, url: trafilatura.extract(body) or ""),
    ("trafilatura fast", lambda body, url: trafilatura.extract(body, fast=True) or ""),
    ("monitor (fast)", lambda body, url: monitor_extract(body, url=url, fast=True).text or ""),
    ("monitor (full)", lambda body, url: monitor_extract(body, url=url, fast=False).text or ""),
]


def run(name: str, fn: Extractor, pages: list[tuple[str, bytes, str, str]]) -> dict:
    if pages:  # warm-up, untimed: lazy imports and model loads are not per-page costs
        try:
            fn(pages[0][1], pages[0][2])
        except Exception:  # noqa: BLE001 - the timed call below reports it
            pass
    counts, f1s, errors = [], {}, []
    progress = sys.stderr.isatty()
    total = 0.0
    for i, (item_id, body, url, truth) in enumerate(pages, 1):
        start = time.perf_counter()
        try:
            text = fn(body, url)
        except Exception as exc:  # noqa: BLE001 - a crash scores as an empty extraction
            text = ""
            errors.append((item_id, f"{type(exc).__name__}: {exc}"))
        total += time.perf_counter() - start
        c = tp_fp_fn(truth, text)
        counts.append(c)
        f1s[item_id] = page_f1(c)
        if progress:
            print(f"\r{name:<20} {i}/{len(pages)}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    ps = [precision_score(*c) for c in counts]
    rs = [recall_score(*c) for c in counts]
    return {
        "name": name,
        "counts": counts,
        "page_f1": f1s,
        "mean_f1": statistics.mean(f1s.values()) if f1s else 0.0,
        "mean_p": statistics.mean(ps) if ps else 0.0,
        "mean_r": statistics.mean(rs) if rs else 0.0,
        "upstream": upstream_metrics(counts),
        "ci": bootstrap_f1_ci(counts),
        "seconds": total,
        "pps": len(pages) / total if total > 0 else float("inf"),
        "errors": errors,
    }


# --- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", help="benchmark directory (holding html/ and ground-truth.json); "
                        f"default $MONITOR_CORPUS/articles/scrapinghub-aeb or {DEFAULT_CORPUS}")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N pages (by id)")
    args = parser.parse_args(argv)

    # trafilatura and htmldate log a warning for every odd page; they are noise here.
    logging.basicConfig(level=logging.ERROR)
    for noisy in ("trafilatura", "htmldate", "courlan", "charset_normalizer", "justext"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    corpus = corpus_dir(args.corpus)
    if not (corpus / "ground-truth.json").exists():
        parser.error(f"no ground-truth.json in {corpus}")
    pages = load_pages(corpus, args.limit)
    if not pages:
        parser.error(f"no pages found in {corpus}")
    print(f"corpus: {corpus}  pages: {len(pages)}  trafilatura {trafilatura.__version__}  "
          f"python {sys.version.split()[0]}")

    results = {name: run(name, fn, pages) for name, fn in EXTRACTORS}

    print()
    header = (f"{'extractor':<20} {'page F1':>8} {'page P':>7} {'page R':>7}   "
              f"{'F1 (upstream)':>15} {'P':>6} {'R':>6}   {'time s':>7} {'pages/s':>8} {'errors':>6}")
    print(header)
    print("-" * len(header))
    for r in results.values():
        u = r["upstream"]
        print(f"{r['name']:<20} {r['mean_f1']:>8.4f} {r['mean_p']:>7.4f} {r['mean_r']:>7.4f}   "
              f"{u['f1']:>7.4f} ± {r['ci']:.3f} {u['precision']:>6.4f} {u['recall']:>6.4f}   "
              f"{r['seconds']:>7.2f} {r['pps']:>8.2f} {len(r['errors']):>6}")
    print()
    print("page F1/P/R: means over all pages of the per-page scores (an empty extraction scores 0).")
    print("F1 (upstream): harmonic mean of upstream's mean precision (pages with output) and mean recall;"
          f" ± is 1.96 sd over {N_BOOTSTRAP} bootstrap resamples.")

    ours, base, tfast = results["monitor (fast)"], results["trafilatura default"], results["trafilatura fast"]
    diff = ours["mean_f1"] - base["mean_f1"]
    udiff = ours["upstream"]["f1"] - base["upstream"]["f1"]
    verdict = "OK, not lower" if diff >= 0 else "BELOW target"
    print()
    print(f"monitor (fast) page F1 {ours['mean_f1']:.4f} vs trafilatura default {base['mean_f1']:.4f}: "
          f"{diff:+.4f} ({verdict}); upstream F1 {ours['upstream']['f1']:.4f} vs "
          f"{base['upstream']['f1']:.4f}: {udiff:+.4f}")
    print(f"speed: monitor (fast) {ours['pps']:.2f} pages/s vs trafilatura default {base['pps']:.2f} pages/s"
          f" = {ours['pps'] / base['pps']:.2f}x; trafilatura fast vs default = {tfast['pps'] / base['pps']:.2f}x;"
          f" monitor fast vs full = {ours['pps'] / results['monitor (full)']['pps']:.2f}x")

    low = sorted((f1, item_id) for item_id, f1 in ours["page_f1"].items() if f1 < LOW_F1)
    print()
    print(f"pages where monitor (fast) page F1 < {LOW_F1}: {len(low)}")
    for f1, item_id in low:
        print(f"  {item_id}  F1={f1:.3f}  (trafilatura default {base['page_f1'][item_id]:.3f})")

    for r in results.values():
        for item_id, err in r["errors"]:
            print(f"error: {r['name']}: {item_id}: {err}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
