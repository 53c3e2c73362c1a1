#!/usr/bin/env python3
"""How should a Ukrainian or Russian term match its inflected forms? Three ways, measured.

    python bench/morphology.py          (needs `pip install simplemma` for the second way)

1. pymorphy3 lexemes (what monitor does): each term expands, once, to the forms of the words it is
   the dictionary form of; text words are looked up in a dict.
2. simplemma: every text word and the term are lemmatised; equal lemmas match.
3. a trailing wildcard on the stem (наступ*), what keyword tools offer.

Accuracy is over labelled (term, text word, should match) pairs: inflections that must match and
traps that must not (наступного "next" is not наступ; харкав "coughed" is not Харків). Speed is
text words per second for the part that runs per article.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.index import inflections  # noqa: E402
from monitor.text import fold  # noqa: E402

# (term, language, forms that must match, forms that must not)
CASES = [
    ("наступ", "uk", ["наступ", "наступу", "наступом", "наступі", "наступи", "наступів"],
     ["наступного", "наступний", "наступна", "наступати", "наступає", "наступила", "наступне"]),
    ("контрнаступ", "uk", ["контрнаступу", "контрнаступом", "контрнаступі"], ["наступ", "контрнаступальний"]),
    ("перемир'я", "uk", ["перемир'я", "перемир'ям", "перемир'ї"], ["мир", "миру", "перемога"]),
    ("Харків", "uk", ["Харкова", "Харкові", "Харковом", "Харків"], ["харкав", "харкати", "харкає", "Харківщина"]),
    ("Київ", "uk", ["Києва", "Києві", "Києвом"], ["київський", "Київщина", "кий"]),
    ("Одеса", "uk", ["Одеси", "Одесі", "Одесу", "Одесою"], ["одесит", "одеський"]),
    ("обстріл", "uk", ["обстрілу", "обстрілом", "обстріли", "обстрілів"], ["обстрілювати", "стріла"]),
    ("наступление", "ru", ["наступления", "наступлении", "наступлением", "наступлению"],
     ["наступивший", "наступила", "наступить", "наступает", "наступательный"]),
    ("перемирие", "ru", ["перемирия", "перемирии", "перемирием"], ["мир", "перемирить", "примирение"]),
    ("Курск", "ru", ["Курска", "Курске", "Курском"], ["курский", "курс", "курсы", "курсом"]),
    ("Харьков", "ru", ["Харькова", "Харькове", "Харьковом"], ["харьковский", "харкать"]),
    ("обстрел", "ru", ["обстрела", "обстрелом", "обстрелы", "обстрелов"], ["обстреливать", "стрела", "обстрелять"]),
    ("беспилотник", "ru", ["беспилотника", "беспилотники", "беспилотников"], ["беспилотный", "пилот"]),
    ("Сумы", "ru", ["Сумах", "Сумам", "Сум"], ["сумма", "суммы", "сумка"]),
]


def score(matcher) -> tuple[float, list[str]]:
    right = total = 0
    wrong = []
    for term, lang, good, bad in CASES:
        for word, expected in [(w, True) for w in good] + [(w, False) for w in bad]:
            total += 1
            if matcher(term, word, lang) == expected:
                right += 1
            else:
                wrong.append(f"{term}~{word}")
    return right / total, wrong


def pymorphy_way(term: str, word: str, lang: str) -> bool:
    return fold(word) in inflections(term)


def prefix_way(term: str, word: str, lang: str) -> bool:
    stem = fold(term).rstrip("аяеєоиіїуюьй'")
    return fold(word).startswith(stem)


def main() -> int:
    ways = {"pymorphy3 lexemes (monitor)": pymorphy_way, "stem wildcard (наступ*)": prefix_way}
    try:
        import simplemma

        ways["simplemma lemmas"] = lambda term, word, lang: (
            fold(simplemma.lemmatize(word.lower(), lang=lang)) == fold(simplemma.lemmatize(term.lower(), lang=lang)))
    except ImportError:
        print("simplemma is not installed: pip install simplemma to compare it")
    words = (Path(__file__).resolve().parents[1] / "monitor" / "data" / "demo" / "pages").glob("*.html")
    import re

    sample = [w for path in sorted(words) for w in re.findall(r"[а-яіїєґё']+", path.read_bytes().decode("utf-8", "ignore").lower())] * 20
    print(f"{'way':30} {'accuracy':>9}  mistakes")
    for name, way in ways.items():
        accuracy, wrong = score(way)
        print(f"{name:30} {accuracy:>9.3f}  {', '.join(wrong) or '-'}")
    print(f"\nper-article cost over {len(sample):,} Cyrillic text words:")
    forms = set().union(*(inflections(t) for t, *_ in CASES))
    folded = [fold(w) for w in sample]  # the matcher folds a whole text once, not word by word
    started = time.perf_counter()
    hits = sum(1 for w in folded if w in forms)
    lookup = time.perf_counter() - started
    print(f"  {'pymorphy3 lexemes: dict look-up':40} {len(sample) / lookup:>12,.0f} words/s ({hits} hits)")
    if "simplemma lemmas" in ways:
        started = time.perf_counter()
        for w in sample:
            simplemma.lemmatize(w, lang="uk")
        lemma = time.perf_counter() - started
        print(f"  {'simplemma: lemmatise every word':40} {len(sample) / lemma:>12,.0f} words/s")
    started = time.perf_counter()
    for term, *_ in CASES:
        inflections.__wrapped__(term)
    print(f"  compile: {len(CASES) / (time.perf_counter() - started):,.0f} terms/s expanded by pymorphy3 (once per rule set)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
