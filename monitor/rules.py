"""rules: topic rules from rules/*.yaml, matched against an article's title and text.

This is the minimal form: a rule is a list of `keywords` (phrases; a trailing `*` matches any ending)
matched whole-word, case- and diacritic-insensitively. The full query language (boolean operators,
proximity, morphology) replaces the matcher, not the file format or the `matches` rows.

    name: ceasefire
    description: Ceasefires and truces.
    keywords: [ceasefire, cease-fire, truce, перемир'я, перемирие]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import RuleError
from .model import Match
from .text import fold

RULE_KEYS = {"name", "description", "keywords", "fields", "languages", "priority", "alert", "tags"}
FIELDS = ("title", "text")
SNIPPET = 80


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    keywords: tuple[str, ...]
    fields: tuple[str, ...] = FIELDS
    languages: tuple[str, ...] = ()
    file: str = ""


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    # One alternation per rule over folded text; each group name is the keyword's index.
    patterns: tuple[re.Pattern, ...]

    def __len__(self) -> int:
        return len(self.rules)


def _keyword_pattern(keyword: str) -> str:
    word = fold(keyword.strip())
    prefix = word.endswith("*")
    word = word.rstrip("*").strip()
    # Hyphens and spaces are interchangeable inside a phrase: cease-fire, cease fire.
    body = r"[\s\-]+".join(re.escape(part) for part in re.split(r"[\s\-]+", word))
    return rf"(?<!\w){body}" + (r"\w*" if prefix else r"(?!\w)")


def compile_rules(rules: list[Rule]) -> RuleSet:
    patterns = tuple(
        re.compile("|".join(f"(?P<k{i}>{_keyword_pattern(k)})" for i, k in enumerate(rule.keywords)))
        for rule in rules
    )
    return RuleSet(tuple(rules), patterns)


def parse_rule(text: str, file: str) -> Rule:
    try:
        doc = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise RuleError(f"not valid YAML: {exc.problem}", file=file, line=mark.line + 1 if mark else None,
                        column=mark.column + 1 if mark else None) from None
    if not isinstance(doc, dict):
        raise RuleError("a rule file is a mapping with name, description and keywords", file=file, line=1)
    unknown = sorted(set(doc) - RULE_KEYS)
    if unknown:
        raise RuleError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(RULE_KEYS))})", file=file, line=_line_of(text, unknown[0]))
    name = doc.get("name") or Path(file).stem
    keywords = doc.get("keywords")
    if not isinstance(keywords, list) or not keywords or not all(isinstance(k, str) and k.strip().strip("*") for k in keywords):
        raise RuleError("`keywords` must be a non-empty list of words or phrases", file=file, line=_line_of(text, "keywords"))
    fields = doc.get("fields", list(FIELDS))
    if isinstance(fields, str):
        fields = [fields]
    if not isinstance(fields, list) or not fields or any(f not in FIELDS for f in fields):
        raise RuleError(f"`fields` must list some of {', '.join(FIELDS)}", file=file, line=_line_of(text, "fields"))
    languages = doc.get("languages", [])
    return Rule(
        name=str(name),
        description=str(doc.get("description") or ""),
        keywords=tuple(k.strip() for k in keywords),
        fields=tuple(fields),
        languages=tuple(languages if isinstance(languages, list) else [languages]),
        file=file,
    )


def _line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return number
    return 1


def load_rules(folder: Path) -> RuleSet:
    """Read every rules/*.yaml. Raises RuleError naming the file and line of the first bad one."""
    if not folder.is_dir():
        raise RuleError(f"rules folder {folder} does not exist")
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        rule = parse_rule(path.read_text(encoding="utf-8"), str(path))
        if rule.name in seen:
            raise RuleError(f"rule {rule.name!r} is also defined in {seen[rule.name]}", file=str(path), line=1)
        seen[rule.name] = str(path)
        rules.append(rule)
    return compile_rules(rules)


def match(ruleset: RuleSet, *, title: str, text: str, lang: str | None = None) -> list[Match]:
    """The rules an article's title and text satisfy, with the terms that matched and a snippet."""
    fields = {"title": title or "", "text": text or ""}
    folded = {name: fold(value) for name, value in fields.items()}
    matches = []
    for rule, pattern in zip(ruleset.rules, ruleset.patterns):
        if rule.languages and lang and lang not in rule.languages:
            continue
        terms: list[str] = []
        where = first = None
        for field in rule.fields:
            for m in pattern.finditer(folded[field]):
                term = rule.keywords[int(m.lastgroup[1:])]
                if term not in terms:
                    terms.append(term)
                if where is None:
                    where, first = field, m
        if where is not None:
            matches.append(Match(rule=rule.name, field=where, terms=terms, snippet=_snippet(fields[where], first)))
    return matches


def _snippet(original: str, m: re.Match) -> str:
    # fold() keeps the length of almost every string, so offsets into the folded text fit the
    # original; where they do not, the snippet is still text from around the hit.
    start, end = max(0, m.start() - SNIPPET), min(len(original), m.end() + SNIPPET)
    snippet = " ".join(original[start:end].split())
    return ("…" if start > 0 else "") + snippet + ("…" if end < len(original) else "")
