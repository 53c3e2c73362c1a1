"""rules: topic rules from rules/*.yaml, compiled once, matched against an article.

A rule file holds one rule, or `rules:` (a list of rules) and `sets:` (named term sets that any rule
uses as `@name`):

    name: ceasefire
    description: Ceasefires and truces.
    query: (ceasefire* OR "cease fire" OR truce* OR перемир'я OR перемирие) -"ceasefire violation*"
    fields: [title, text]      # optional: where bare terms are looked for
    languages: [en, uk, ru]    # optional: article languages the rule applies to
    priority: 1                # optional: higher first in the digest
    alert: false               # optional: mail at once (the digest issue)
    tags: [military]           # optional

`keywords: [a, b*, "c d"]` is shorthand for `query: a OR b* OR "c d"`.

Matching: the article is tokenised once; every rule's words sit in one TermIndex; only rules with
a word in the text are evaluated. Each match records the terms that matched, the field and a
snippet around the first hit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import yaml

from .errors import RuleError
from .index import TermIndex, Token, tokenize
from .model import Match
from .query import TEXT_FIELDS, And, Meta, Near, Node, Not, Or, SetRef, Term, caret, parse_query

RULE_KEYS = {"name", "description", "query", "keywords", "fields", "languages", "priority", "alert", "tags"}
FILE_KEYS = {"rules", "sets"}
SNIPPET = 80


@dataclass(frozen=True)
class Rule:
    name: str
    query: str
    node: Node
    description: str = ""
    fields: tuple[str, ...] = TEXT_FIELDS
    languages: tuple[str, ...] = ()
    priority: int = 0
    alert: bool = False
    tags: tuple[str, ...] = ()
    file: str = ""
    line: int | None = None


@dataclass
class Article:
    """What matching looks at: the texts (tokenised once) and the metadata filters."""

    title: str
    text: str
    lang: str | None = None
    feed: str | None = None
    places: frozenset[str] = frozenset()
    tokens: dict[str, list[Token]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.tokens:
            self.tokens = {"title": tokenize(self.title or ""), "text": tokenize(self.text or "")}


# A span: (field, first position, last position, start char, end char, terms)
Span = tuple


@dataclass
class _Compiled:
    rule: Rule
    node: object  # the tree with Terms replaced by _Words
    always: bool  # has no positive term: evaluated for every article


@dataclass(frozen=True)
class _Words:
    """A compiled Term: word matcher ids in order."""

    ids: tuple[int, ...]
    fields: tuple[str, ...]
    source: str


class RuleSet:
    def __init__(self, rules: Iterable[Rule], sets: dict[str, tuple[Term, ...]] | None = None):
        self.rules = tuple(rules)
        self.sets = sets or {}
        self.index = TermIndex()
        self._compiled: list[_Compiled] = []
        self._by_word: dict[int, list[int]] = {}
        for number, rule in enumerate(self.rules):
            positive: set[int] = set()
            node = self._compile(rule, rule.node, positive, negated=False)
            self._compiled.append(_Compiled(rule, node, always=not positive))
            for wid in positive:
                self._by_word.setdefault(wid, []).append(number)

    def __len__(self) -> int:
        return len(self.rules)

    def _compile(self, rule: Rule, node: Node, positive: set[int], negated: bool):
        if isinstance(node, SetRef):
            if node.name not in self.sets:
                known = ", ".join(sorted(self.sets)) or "none defined"
                raise RuleError(f"unknown set @{node.name} (sets: {known})", file=rule.file, line=rule.line, column=node.column)
            terms = tuple(replace(t, fields=node.fields) for t in self.sets[node.name])
            node = terms[0] if len(terms) == 1 else Or(terms)
        if isinstance(node, Term):
            fields = tuple(f for f in node.fields if f in rule.fields) or node.fields
            ids = []
            for i, word in enumerate(node.words):
                last = i == len(node.words) - 1
                ids.append(self.index.add(word, prefix=node.prefix and last, exact=node.exact))
            if not negated:
                positive.add(ids[0])
            return _Words(tuple(ids), fields, node.source)
        if isinstance(node, Not):
            return Not(self._compile(rule, node.child, positive, negated=not negated))
        if isinstance(node, And):
            return And(tuple(self._compile(rule, c, positive, negated) for c in node.children))
        if isinstance(node, Or):
            return Or(tuple(self._compile(rule, c, positive, negated) for c in node.children))
        if isinstance(node, Near):
            return Near(self._compile(rule, node.left, positive, negated), self._compile(rule, node.right, positive, negated),
                        node.distance, node.ordered)
        return node  # Meta

    def match(self, article: Article) -> list[Match]:
        hits = {name: self.index.find(tokens) for name, tokens in article.tokens.items()}
        candidates: set[int] = {i for i, c in enumerate(self._compiled) if c.always}
        for table in hits.values():
            for wid in table:
                candidates.update(self._by_word.get(wid, ()))
        matches = []
        for number in sorted(candidates):
            compiled = self._compiled[number]
            rule = compiled.rule
            if rule.languages and article.lang and article.lang not in rule.languages:
                continue
            spans = _evaluate(compiled.node, hits, article)
            real = [s for s in spans if s[0] is not None]
            if not spans:
                continue
            matches.append(_provenance(rule, real, article))
        return matches


def _phrase_spans(words: _Words, hits: dict, article: Article) -> list[Span]:
    spans = []
    for name in words.fields:
        table = hits[name]
        first = table.get(words.ids[0])
        if not first:
            continue
        rest = [{t.position: t for t in table.get(wid, ())} for wid in words.ids[1:]]
        for token in first:
            end = token
            for offset, at in enumerate(rest, start=1):
                end = at.get(token.position + offset)
                if end is None:
                    break
            else:
                spans.append((name, token.position, end.position, token.start, end.end, (words.source,)))
    return spans


def _evaluate(node, hits: dict, article: Article) -> list[Span]:
    """The spans that make node true; [] when false. A span with field None is "true, nowhere"."""
    if isinstance(node, _Words):
        return _phrase_spans(node, hits, article)
    if isinstance(node, Meta):
        if node.key == "place":
            ok = node.value in article.places
        elif node.key == "lang":
            ok = (article.lang or "").lower() == node.value
        else:
            ok = (article.feed or "").lower() == node.value.lower()
        return [(None, 0, 0, 0, 0, ())] if ok else []
    if isinstance(node, Not):
        return [] if _evaluate(node.child, hits, article) else [(None, 0, 0, 0, 0, ())]
    if isinstance(node, And):
        spans: list[Span] = []
        for child in node.children:
            got = _evaluate(child, hits, article)
            if not got:
                return []
            spans.extend(got)
        return spans
    if isinstance(node, Or):
        return [s for child in node.children for s in _evaluate(child, hits, article)]
    if isinstance(node, Near):
        left = [s for s in _evaluate(node.left, hits, article) if s[0] is not None]
        if not left:
            return []
        right = [s for s in _evaluate(node.right, hits, article) if s[0] is not None]
        out = []
        for a in left:
            for b in right:
                if a[0] != b[0]:
                    continue
                if node.ordered:
                    ok = 0 < b[1] - a[2] <= node.distance
                else:
                    ok = max(b[1] - a[2], a[1] - b[2]) <= node.distance
                if ok:
                    out.append((a[0], min(a[1], b[1]), max(a[2], b[2]), min(a[3], b[3]), max(a[4], b[4]), a[5] + b[5]))
        return out
    raise AssertionError(node)  # pragma: no cover


def _provenance(rule: Rule, spans: list[Span], article: Article) -> Match:
    terms: list[str] = []
    for span in spans:
        for source in span[5]:
            if source not in terms:
                terms.append(source)
    if not spans:
        return Match(rule=rule.name, field="", terms=[], snippet="")
    first = min(spans, key=lambda s: (s[0] != "title", s[3]))
    original = article.title if first[0] == "title" else article.text
    return Match(rule=rule.name, field=first[0], terms=terms, snippet=snippet(original, first[3], first[4]))


def snippet(original: str, start: int, end: int) -> str:
    # Offsets come from the folded text, which keeps the length of nearly every string.
    lo, hi = max(0, start - SNIPPET), min(len(original), end + SNIPPET)
    text = " ".join(original[lo:hi].split())
    return ("…" if lo > 0 else "") + text + ("…" if hi < len(original) else "")


# ------------------------------------------------------------------------------------------ files


def _line_of(text: str, needle: str, default: int = 1) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip(" -").startswith(needle):
            return number
    return default


def _as_tuple(value, file, text, key) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return tuple(str(v) for v in value)
    raise RuleError(f"`{key}` must be a list of words", file=file, line=_line_of(text, f"{key}:"))


def _keywords_query(keywords: tuple[str, ...]) -> str:
    parts = []
    for keyword in keywords:
        keyword = keyword.strip().replace('"', "")
        parts.append(f'"{keyword}"' if any(c.isspace() or c in "()-" for c in keyword) else keyword)
    return " OR ".join(parts)


def _rule(doc: dict, file: str, text: str) -> Rule:
    unknown = sorted(set(doc) - RULE_KEYS)
    name = doc.get("name")
    line = _line_of(text, f"name: {name}") if name else 1
    if unknown:
        raise RuleError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(RULE_KEYS))})", file=file, line=_line_of(text, f"{unknown[0]}:", line))
    if not isinstance(name, str) or not name.strip():
        raise RuleError("a rule needs a `name`", file=file, line=line)
    if ("query" in doc) == ("keywords" in doc):
        raise RuleError("a rule needs a `query` or `keywords` (one of them)", file=file, line=line)
    if "keywords" in doc:
        keywords = doc["keywords"]
        if not isinstance(keywords, list) or not keywords or not all(isinstance(k, str) and k.strip().strip("*") for k in keywords):
            raise RuleError("`keywords` must be a non-empty list of words or phrases", file=file, line=_line_of(text, "keywords", line))
        query = _keywords_query(tuple(keywords))
        query_line = _line_of(text, "keywords", line)
    else:
        query = doc["query"]
        if not isinstance(query, str):
            raise RuleError("`query` must be text", file=file, line=_line_of(text, "query:", line))
        query_line = _line_of(text, "query:", line)
    query = " ".join(query.split())
    node = parse_query(query, file=file, line=query_line)
    fields = _as_tuple(doc.get("fields", list(TEXT_FIELDS)), file, text, "fields")
    if not fields or any(f not in TEXT_FIELDS for f in fields):
        raise RuleError(f"`fields` must list some of {', '.join(TEXT_FIELDS)}", file=file, line=_line_of(text, "fields:", line))
    priority = doc.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise RuleError("`priority` must be a whole number", file=file, line=_line_of(text, "priority:", line))
    if not isinstance(doc.get("alert", False), bool):
        raise RuleError("`alert` must be true or false", file=file, line=_line_of(text, "alert:", line))
    return Rule(
        name=name.strip(), query=query, node=node, description=" ".join(str(doc.get("description") or "").split()),
        fields=fields, languages=_as_tuple(doc.get("languages"), file, text, "languages"), priority=priority,
        alert=doc.get("alert", False), tags=_as_tuple(doc.get("tags"), file, text, "tags"), file=file, line=line,
    )


def parse_rule_file(text: str, file: str) -> tuple[list[Rule], dict[str, tuple[Term, ...]]]:
    """One rule file → its rules and its sets. Pure."""
    try:
        doc = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.context_mark or exc.problem_mark
        raise RuleError(f"not valid YAML: {exc.problem}", file=file, line=mark.line + 1 if mark else None,
                        column=mark.column + 1 if mark else None) from None
    if not isinstance(doc, dict):
        raise RuleError("a rule file is a mapping: a rule (name, query) or `rules:` and `sets:`", file=file, line=1)
    if set(doc) & FILE_KEYS:
        unknown = sorted(set(doc) - FILE_KEYS)
        if unknown:
            raise RuleError(f"unknown key {unknown[0]!r} beside `rules:`/`sets:`", file=file, line=_line_of(text, f"{unknown[0]}:"))
        raw_rules = doc.get("rules") or []
        if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
            raise RuleError("`rules` must be a list of rules", file=file, line=_line_of(text, "rules:"))
        rules = [_rule(r, file, text) for r in raw_rules]
    else:
        rules = [_rule(doc, file, text)]
    sets: dict[str, tuple[Term, ...]] = {}
    raw_sets = doc.get("sets") or {}
    if not isinstance(raw_sets, dict):
        raise RuleError("`sets` must map names to lists of terms", file=file, line=_line_of(text, "sets:"))
    for name, entries in raw_sets.items():
        line = _line_of(text, f"{name}:")
        words = _as_tuple(entries, file, text, str(name))
        if not words:
            raise RuleError(f"set {name!r} is empty", file=file, line=line)
        terms = []
        for entry in words:
            node = parse_query(_keywords_query((entry,)), file=file, line=line)
            if not isinstance(node, Term):
                raise RuleError(f"set {name!r}: {entry!r} is not a word or a phrase", file=file, line=line)
            terms.append(node)
        sets[str(name)] = tuple(terms)
    return rules, sets


def load_rules(folder: Path) -> RuleSet:
    """Read every rules/*.yaml and compile them. Raises RuleError naming file, line and column."""
    if not folder.is_dir():
        raise RuleError(f"rules folder {folder} does not exist")
    rules: list[Rule] = []
    sets: dict[str, tuple[Term, ...]] = {}
    where: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        file_rules, file_sets = parse_rule_file(path.read_text(encoding="utf-8"), str(path))
        for rule in file_rules:
            if rule.name in where:
                raise RuleError(f"rule {rule.name!r} is also defined in {where[rule.name]}", file=str(path), line=rule.line)
            where[rule.name] = str(path)
        for name in file_sets:
            if name in sets:
                raise RuleError(f"set {name!r} is defined twice", file=str(path))
        rules.extend(file_rules)
        sets.update(file_sets)
    return RuleSet(rules, sets)


def compile_rules(rules: list[Rule], sets: dict[str, tuple[Term, ...]] | None = None) -> RuleSet:
    return RuleSet(rules, sets)


def match(ruleset: RuleSet, *, title: str, text: str, lang: str | None = None, feed: str | None = None,
          places: Iterable[str] = ()) -> list[Match]:
    """The rules an article satisfies, with the terms that matched, the field and a snippet."""
    return ruleset.match(Article(title or "", text or "", lang, feed, frozenset(places)))


def explain_error(error: RuleError, query: str) -> str:
    """file:line:column: message, then the query with a caret under the column."""
    return f"{error}\n{caret(query, error.column)}"
