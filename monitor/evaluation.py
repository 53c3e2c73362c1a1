"""evaluation: how well the rules and the place tagger do on labelled text. Pure.

A labelled file is JSON lines, one case a line:

    {"id": "uk-017", "lang": "uk", "title": "…", "text": "…",
     "rules": ["offensive"], "places": ["UA-14"],
     "settlements": [{"name": "Покровськ", "code": "UA-14"}] or ["UA-14"],   (optional)
     "source": "https://…"}                                                  (optional)

`rules` lists every rule the case should match; a rule is scored when some case of the file names
it (or when asked for), so a file labelled only for `ceasefire` says nothing about `strikes`.
`places` lists every region the case names; `settlements` adds the regions reached through a town,
raion or hromada (the two tiers of ../shared/eval/match_dev.jsonl), and is scored as places.

Every miss and false hit comes with what fired, so an analyst can see why: for a false hit the
terms and the snippet, for a miss the rule's words that did occur (a near miss) or none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable

from .errors import ConfigError
from .index import tokenize
from .rules import RuleSet, snippet, tag


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    text: str
    lang: str | None = None
    rules: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    source: str | None = None


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, expected: set, got: set, key) -> None:
        self.tp += key in expected and key in got
        self.fp += key in got and key not in expected
        self.fn += key in expected and key not in got

    def as_dict(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass(frozen=True)
class Error:
    kind: str  # "miss" (labelled, not found) or "false" (found, not labelled)
    what: str  # "rule" or "place"
    name: str  # the rule's name or the place's code
    case: Case
    fired: tuple[str, ...] = ()  # terms or names that matched (for a miss: the rule's words present)
    snippet: str = ""


@dataclass
class Report:
    cases: int = 0
    rules: dict[str, Counts] = field(default_factory=dict)  # per scored rule
    places: dict[str, Counts] = field(default_factory=dict)  # per language, and "all"
    by_place: dict[str, Counts] = field(default_factory=dict)  # per code
    errors: list[Error] = field(default_factory=list)

    def rules_total(self) -> Counts:
        total = Counts()
        for counts in self.rules.values():
            total.tp, total.fp, total.fn = total.tp + counts.tp, total.fp + counts.fp, total.fn + counts.fn
        return total

    def as_dict(self) -> dict:
        return {
            "cases": self.cases,
            "rules": {name: c.as_dict() for name, c in self.rules.items()},
            "rules_total": self.rules_total().as_dict(),
            "places": {lang: c.as_dict() for lang, c in self.places.items()},
            "by_place": {code: c.as_dict() for code, c in sorted(self.by_place.items())},
            "errors": [{"kind": e.kind, "what": e.what, "name": e.name, "id": e.case.id, "lang": e.case.lang,
                        "fired": list(e.fired), "snippet": e.snippet, "source": e.case.source} for e in self.errors],
        }


def read_cases(lines: Iterable[str], file: str = "") -> list[Case]:
    """Labelled cases from JSON lines; a bad line raises ConfigError naming file, line and key."""
    cases = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"not JSON ({exc})", file=file, line=number) from None
        if not isinstance(raw, dict):
            raise ConfigError("a case is a JSON object", file=file, line=number)
        for key in ("title", "text"):
            if not isinstance(raw.get(key) or "", str):
                raise ConfigError("must be text", file=file, line=number, key=key)
        if not (raw.get("title") or raw.get("text")):
            raise ConfigError("a case needs a title or a text", file=file, line=number, key="text")
        labels = {}
        for key in ("rules", "places"):
            value = raw.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError("must be a list of names", file=file, line=number, key=key)
            labels[key] = frozenset(value)
        towns = raw.get("settlements") or []
        if not isinstance(towns, list):
            raise ConfigError("must be a list of codes or of {name, code}", file=file, line=number, key="settlements")
        for town in towns:
            code = town.get("code") if isinstance(town, dict) else town
            if code is not None and not isinstance(code, str):
                raise ConfigError("a code is text (or null when unknown)", file=file, line=number, key="settlements")
            if code:
                labels["places"] |= {code}
        cases.append(Case(id=str(raw.get("id", f"line {number}")), title=raw.get("title") or "", text=raw.get("text") or "",
                          lang=raw.get("lang"), rules=labels["rules"], places=labels["places"], source=raw.get("source")))
    return cases


def evaluate(ruleset: RuleSet, gazetteer, cases: list[Case], rules: Iterable[str] = ()) -> Report:
    """Precision, recall and F1 per rule and per place (by language and by code), and every error.

    Rules scored: those given, else every rule some case is labelled with. Places are scored on
    every case.
    """
    scored = tuple(rules) or tuple(sorted({name for case in cases for name in case.rules}))
    known = {rule.name for rule in ruleset.rules}
    report = Report(cases=len(cases), rules={name: Counts() for name in scored if name in known})
    words = {wid: w.text + ("*" if w.prefix else "") for wid, w in enumerate(ruleset.index.words)}
    for case in cases:
        tokens = {"title": tokenize(case.title), "text": tokenize(case.text)}
        matches, codes = tag(ruleset, gazetteer, title=case.title, text=case.text, lang=case.lang, tokens=tokens)
        fired = {m.rule: m for m in matches}
        for name, counts in report.rules.items():
            counts.add(case.rules, set(fired), name)
            if name in fired and name not in case.rules:
                report.errors.append(Error("false", "rule", name, case, tuple(fired[name].terms), fired[name].snippet))
            elif name in case.rules and name not in fired:
                present = _rule_words_present(ruleset, name, tokens, words)
                report.errors.append(Error("miss", "rule", name, case, present, _lead(case)))
        got = set(codes)
        hits = gazetteer.tag(case.title, case.text, tokens) if got - case.places else []
        for lang in (case.lang or "?", "all"):
            counts = report.places.setdefault(lang, Counts())
            counts.tp += len(got & case.places)
            counts.fp += len(got - case.places)
            counts.fn += len(case.places - got)
        for code in got | case.places:
            report.by_place.setdefault(code, Counts()).add(case.places, got, code)
        for code in sorted(got - case.places):
            hit = next(h for h in hits if h.code == code)
            field_tokens = tokens[hit.field]
            start, end = field_tokens.offsets(hit.start)[0], field_tokens.offsets(hit.end)[1]
            report.errors.append(Error("false", "place", code, case, (f"{hit.name} ({hit.via})",),
                                       snippet(field_tokens.original, start, end)))
        for code in sorted(case.places - got):
            report.errors.append(Error("miss", "place", code, case, (), _lead(case)))
    return report


def _rule_words_present(ruleset: RuleSet, name: str, tokens: dict, words: dict[int, str]) -> tuple[str, ...]:
    """The words of a rule that occur in the case: what almost fired."""
    mine = ruleset.word_ids(name)
    present: dict[str, None] = {}
    for field_tokens in tokens.values():
        for wid in ruleset.index.find(field_tokens):
            if wid in mine:
                present.setdefault(words[wid])
    return tuple(present)


def _lead(case: Case, width: int = 200) -> str:
    text = " ".join(f"{case.title} {case.text}".split())
    return text if len(text) <= width else text[: width - 1] + "…"


def render(report: Report, *, errors: bool = True) -> str:
    """The report as text that fits 80 columns: the rule and place tables, then every error."""
    lines = [f"{report.cases} cases", ""]

    def table(title: str, rows: dict[str, Counts], total: tuple[str, Counts] | None = None) -> None:
        lines.append(f"{title:<24} {'tp':>5} {'fp':>5} {'fn':>5} {'precision':>10} {'recall':>7} {'f1':>6}")
        for name, c in [*rows.items(), *([total] if total else [])]:
            lines.append(f"{name:<24} {c.tp:>5} {c.fp:>5} {c.fn:>5} {c.precision:>10.2f} {c.recall:>7.2f} {c.f1:>6.2f}")
        lines.append("")

    if report.rules:
        table("rule", report.rules, ("all rules", report.rules_total()) if len(report.rules) > 1 else None)
    else:
        lines += ["no rule scored (no case is labelled with a rule of this rule set)", ""]
    languages = {lang: c for lang, c in sorted(report.places.items()) if lang != "all"}
    table("places, by language", languages, ("all", report.places["all"]) if "all" in report.places else None)
    table("places, by code", dict(sorted(report.by_place.items())))
    if errors:
        lines.append(f"misses and false hits: {len(report.errors)}")
        for e in report.errors:
            label = "words present" if e.kind == "miss" else ("terms" if e.what == "rule" else "found")
            detail = f"{label}: {', '.join(e.fired)}" if e.fired else ("no word of it present" if e.what == "rule" else "")
            lines.append(f"  {e.kind:<5} {e.what} {e.name:<20} {e.case.id} ({e.case.lang or '?'})  {detail}".rstrip())
            lines.append(f"        {e.snippet}")
    return "\n".join(lines).rstrip() + "\n"


def below(report: Report, threshold: float) -> list[str]:
    """What scores an F1 under threshold: rules by name, places as "places (lang)"."""
    low = [name for name, c in report.rules.items() if c.f1 < threshold]
    return low + [f"places ({lang})" for lang, c in sorted(report.places.items())
                  if lang != "all" and c.tp + c.fp + c.fn and c.f1 < threshold]
