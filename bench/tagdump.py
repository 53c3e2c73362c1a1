#!/usr/bin/env python3
"""Every text's `rules.tag` output as JSON, to diff before and after a change to matching:

    python bench/tagdump.py > before.json   # … change …   python bench/tagdump.py > after.json

The texts: the bench's corpus bodies and feed items (bench/match.py), the real-reporting sets
(tests/data/real/*.jsonl) and the matching dev set (eval/match_dev.jsonl), each with its language.
Each match is dumped whole (rule, field, terms, snippet), and the places in order.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from match import corpus_root, load_texts  # noqa: E402

from monitor.places import load_gazetteer  # noqa: E402
from monitor.rules import load_rules, tag  # noqa: E402


def texts() -> list[tuple[str, str, str, str | None]]:
    """(name, title, text, lang) of every text."""
    out = []
    for label, pool in load_texts().items():
        out.extend((f"{label} {i}", title, text, None) for i, (title, text) in enumerate(pool))
    files = sorted((ROOT / "tests" / "data" / "real").glob("*.jsonl")) + [corpus_root().parent / "eval" / "match_dev.jsonl"]
    for path in files:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                item = json.loads(line)
                out.append((f"{path.name} {item.get('id', i)}", item.get("title") or "", item.get("text") or "",
                            item.get("lang")))
    return out


def main() -> int:
    ruleset, gazetteer = load_rules(ROOT / "rules"), load_gazetteer()
    dump = {}
    for name, title, text, lang in texts():
        matches, places = tag(ruleset, gazetteer, title=title, text=text, lang=lang)
        dump[name] = {"places": places, "matches": [[m.rule, m.field, m.terms, m.snippet] for m in matches]}
    json.dump(dump, sys.stdout, ensure_ascii=False, indent=0, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
