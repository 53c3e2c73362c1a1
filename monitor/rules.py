"""rules: topic rules from rules/*.yaml, compiled once, matched against an article.

A rule file holds one rule or `rules:` (a list of rules), and may hold `sets:` (named term sets that
any rule of any file uses as `@name`):

    name: ceasefire
    description: Ceasefires and truces.
    query: (ceasefire* OR "cease fire" OR truce* OR перемир'я OR перемирие) -"ceasefire violation*"
    fields: [title, text]      # optional: where bare terms are looked for
    languages: [en, uk, ru]    # optional: article languages the rule applies to
    priority: 1                # optional: higher first in the digest
    alert: immediate           # optional: also mail each hit at once (within a poll cycle)
    tags: [military]           # optional

`keywords: [a, b*, "c d"]` is shorthand for `query: a OR b* OR "c d"`.

Matching: the article is tokenised once; every rule's words sit in one TermIndex; only rules with
a word in the text are evaluated. Each match records the terms that matched, the field and a
snippet around the first hit.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import yaml

from .errors import RuleError
from .index import TermIndex, Tokens, tokenize, variants
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
    tokens: dict[str, Tokens] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.tokens:
            self.tokens = {"title": tokenize(self.title or ""), "text": tokenize(self.text or "")}


# A span: (field, first position, last position, terms)
Span = tuple


@dataclass
class _Compiled:
    rule: Rule
    holds: object  # (hits, article) -> bool, see _truth: cheap, run on every candidate
    evaluate: object  # (hits, article) -> spans, see _evaluator: run on the rules that hold
    always: bool  # holds without words (or none anchors it): evaluated for every article


@dataclass(frozen=True)
class _Words:
    """A compiled Term: for each way of writing it (index.variants), its word matcher ids in order."""

    alternatives: tuple[tuple[int, ...], ...]
    fields: tuple[str, ...]
    source: str
    followers: dict = field(default_factory=dict, compare=False, repr=False)  # the index's, see TermIndex.follow


class RuleSet:
    def __init__(self, rules: Iterable[Rule], sets: dict[str, tuple[Term, ...]] | None = None):
        self.rules = tuple(rules)
        self.sets = sets or {}
        self.index = TermIndex()
        self._compiled: list[_Compiled] = []
        self._by_word: dict[int, list[int]] = {}
        self._words_of: dict[str, set[int]] = {}
        nodes = []
        for rule in self.rules:
            self._words_of[rule.name] = set()
            nodes.append(self._compile(rule, rule.node))
        # Words that only ever follow another in a phrase ("the" of "on the offensive") are checked
        # against the text where the phrase's first word is, not looked up in every article.
        starts = {ids[0] for node in nodes for words in _words_in(node) for ids in words.alternatives}
        self.index.follow(set(range(len(self.index.words))) - starts)
        for number, (rule, node) in enumerate(zip(self.rules, nodes)):
            anchors = self._anchors(node)
            always = _holds_without_words(node) or anchors is None
            self._compiled.append(_Compiled(rule, _truth(node), _evaluator(node), always=always))
            for wid in anchors or ():
                self._by_word.setdefault(wid, []).append(number)
        self._always = tuple(i for i, c in enumerate(self._compiled) if c.always)

    def __len__(self) -> int:
        return len(self.rules)

    def _anchors(self, node) -> set[int] | None:
        """Words one of which an article must hold for the rule to hold: a rule is evaluated only where
        one is found. Of an AND's parts, and of a NEAR's two sides, the part with the rarest words
        (`(@lead_en ONEAR/1 offensive)` waits for "offensive", not for every "the"). None: no such words."""
        if isinstance(node, _Words):
            return {ids[0] for ids in node.alternatives}
        if isinstance(node, Or):
            parts = [self._anchors(c) for c in node.children]
            return None if any(p is None for p in parts) else set().union(*parts)
        if isinstance(node, (And, Near)):
            parts = [p for p in (self._anchors(c) for c in ((node.left, node.right) if isinstance(node, Near)
                                                             else node.children)) if p is not None]
            return min(parts, key=self._commonness) if parts else None
        return None  # NOT, filters

    def _commonness(self, ids: set[int]) -> tuple[int, int]:
        return sum(1 for wid in ids if self.index.words[wid].text in COMMON_WORDS), len(ids)

    def word_ids(self, name: str) -> set[int]:
        """The word matchers of a rule, its NOT clauses included."""
        return self._words_of.get(name, set())

    def _compile(self, rule: Rule, node: Node):
        if isinstance(node, SetRef):
            if node.name not in self.sets:
                known = ", ".join(sorted(self.sets)) or "none defined"
                error = RuleError(f"unknown set @{node.name} (sets: {known})", file=rule.file, line=rule.line, column=node.column)
                error.source = rule.query
                raise error
            terms = tuple(replace(t, fields=node.fields) for t in self.sets[node.name])
            node = terms[0] if len(terms) == 1 else Or(terms)
        if isinstance(node, Term):
            fields = tuple(f for f in node.fields if f in rule.fields) or node.fields
            alternatives = []
            for words in variants(node.words):
                ids = tuple(
                    self.index.add(word, prefix=node.prefix and i == len(words) - 1, exact=node.exact)
                    for i, word in enumerate(words)
                )
                alternatives.append(ids)
                self._words_of[rule.name].update(ids)
            return _Words(tuple(alternatives), fields, node.source, self.index.followers)
        if isinstance(node, Not):
            return Not(self._compile(rule, node.child))
        if isinstance(node, And):
            return And(tuple(self._compile(rule, c) for c in node.children))
        if isinstance(node, Or):
            return Or(tuple(self._compile(rule, c) for c in node.children))
        if isinstance(node, Near):
            return Near(self._compile(rule, node.left), self._compile(rule, node.right),
                        node.distance, node.ordered)
        return node  # Meta

    def match(self, article: Article) -> list[Match]:
        hits = {name: self.index.find(tokens) for name, tokens in article.tokens.items()}
        candidates = set(self._always)
        for table in hits.values():
            for wid in table:
                candidates.update(self._by_word.get(wid, ()))
        matches = []
        for number in sorted(candidates):
            compiled = self._compiled[number]
            rule = compiled.rule
            if rule.languages and article.lang and article.lang not in rule.languages:
                continue
            if not compiled.holds(hits, article):
                continue
            spans = compiled.evaluate(hits, article)
            matches.append(_provenance(rule, [s for s in spans if s[0] is not None], article))
        return matches


# Words nearly every article of its language holds: an AND or NEAR is anchored on its other part.
COMMON_WORDS = {"the", "of", "in", "on", "a", "an", "to", "and", "or", "is", "was", "for", "at", "by", "with", "from",
                "that", "this", "its", "their", "it", "as", "в", "у", "на", "і", "и", "й", "з", "с", "та", "що", "что",
                "не", "до", "по", "за", "від", "от", "для", "о", "про"}
_TRUE: list = [(None, 0, 0, ())]  # "true, nowhere": a filter or a NOT that holds
_MAX_SPANS = 256  # enough for provenance; a text repeating both sides thousands of times needs no more


def _holds_without_words(node) -> bool:
    """Whether the rule can hold in an article that has none of its words (`kyiv OR place:UA-30`,
    `lang:uk -спорт`): such a rule is evaluated for every article, not only when a word is found."""
    if isinstance(node, (Meta, Not)):
        return True
    if isinstance(node, And):
        return all(_holds_without_words(c) for c in node.children)
    if isinstance(node, Or):
        return any(_holds_without_words(c) for c in node.children)
    return False  # words, phrases, NEAR


def _single_words(node) -> dict[str, set[int]] | None:
    """Field → word ids, when node is single words only (or an OR of them): truth is then one
    set test per field instead of a walk over the terms."""
    if isinstance(node, _Words):
        if any(len(ids) > 1 for ids in node.alternatives):
            return None
        return {f: {ids[0] for ids in node.alternatives} for f in node.fields}
    if isinstance(node, Or):
        merged: dict[str, set[int]] = {}
        for child in node.children:
            part = _single_words(child)
            if part is None:
                return None
            for f, ids in part.items():
                merged.setdefault(f, set()).update(ids)
        return merged
    return None


def _truth(node):
    """Whether node holds, without building spans (NEAR still needs positions)."""
    words = _single_words(node)
    if words is not None:
        pairs = tuple((f, frozenset(ids)) for f, ids in words.items())
        return lambda hits, article: any(not hits[f].keys().isdisjoint(ids) for f, ids in pairs)
    if isinstance(node, Not):
        child = _truth(node.child)
        return lambda hits, article: not child(hits, article)
    if isinstance(node, And):
        children = [_truth(c) for c in node.children]
        return lambda hits, article: all(child(hits, article) for child in children)
    if isinstance(node, (Or, _Words)):
        # every one-word way of writing its terms in one set test per field ("gained ground" is also
        # "gained-ground"); the phrases, then the rest (NEAR, NOT), one by one
        terms = [node] if isinstance(node, _Words) else [c for c in node.children if isinstance(c, _Words)]
        others = [] if isinstance(node, _Words) else [c for c in node.children if not isinstance(c, _Words)]
        single: dict[str, set[int]] = {}
        for words in terms:
            for ids in words.alternatives:
                if len(ids) == 1:
                    for f in words.fields:
                        single.setdefault(f, set()).add(ids[0])
        pairs = tuple((f, frozenset(ids)) for f, ids in single.items())
        # phrases by their first word, asked only when it is there
        phrases: dict[str, dict[int, list]] = {}
        for w in terms:
            for ids in w.alternatives:
                if len(ids) > 1:
                    evaluate = _sequence_evaluator(ids, w.fields, (w.source,), w.followers)
                    for f in w.fields:
                        phrases.setdefault(f, {}).setdefault(ids[0], []).append(evaluate)
        by_first = tuple(phrases.items())
        children = [_truth(c) for c in others]

        def any_true(hits, article):
            if any(not hits[f].keys().isdisjoint(ids) for f, ids in pairs):
                return True
            for f, firsts in by_first:
                table = hits[f]
                present = [wid for wid in firsts if wid in table] if len(firsts) < len(table) else \
                    [wid for wid in table if wid in firsts]
                for wid in present:
                    if any(evaluate(hits, article) for evaluate in firsts[wid]):
                        return True
            return any(child(hits, article) for child in children)

        return any_true
    spans = _evaluator(node)  # NEAR and filters
    return lambda hits, article: bool(spans(hits, article))


def _evaluator(node):
    """The tree as nested closures: a closure per node, no type dispatch while matching.

    Each returns the spans that make its node true, [] when false. A span is (field, first
    position, last position, terms).
    """
    if isinstance(node, _Words):
        return _words_evaluator(node)
    if isinstance(node, Meta):
        key, value = node.key, node.value
        if key == "place":
            return lambda hits, article: _TRUE if value in article.places else []
        if key == "lang":
            return lambda hits, article: _TRUE if (article.lang or "").lower() == value else []
        return lambda hits, article: _TRUE if (article.feed or "").lower() == value.lower() else []
    if isinstance(node, Not):
        child = _evaluator(node.child)
        return lambda hits, article: [] if child(hits, article) else _TRUE
    if isinstance(node, And):
        children = [_evaluator(c) for c in node.children]

        def all_of(hits, article):
            spans = []
            for child in children:
                got = child(hits, article)
                if not got:
                    return []
                spans.extend(got)
            return spans

        return all_of
    if isinstance(node, Or):
        # the single words of its terms answer in one pass over the words present (a set of 70
        # energy words costs what its present words cost); phrases and the rest one by one
        terms = [c for c in node.children if isinstance(c, _Words)]
        rest = [_evaluator(c) for c in node.children if not isinstance(c, _Words)]
        phrases = [_sequence_evaluator(ids, w.fields, (w.source,), w.followers) for w in terms for ids in w.alternatives
                   if len(ids) > 1]
        single = [w for w in terms if any(len(ids) == 1 for ids in w.alternatives)]
        return _any_of(([_single_words_evaluator(single)] if single else []) + phrases + rest)
    if isinstance(node, Near):
        left, right, distance, ordered = _evaluator(node.left), _evaluator(node.right), node.distance, node.ordered
        # a side can be near something only where one of its words is: checked first, cheaply, so
        # that `(@lead_en ONEAR/1 offensive)` does not list every "the" of an article without "offensive"
        needs = [tuple((f, frozenset(ids)) for f, ids in _first_words(side).items()) for side in (node.left, node.right)]

        def near(hits, article):
            for pairs in needs:
                if all(hits[f].keys().isdisjoint(ids) for f, ids in pairs):
                    return []
            a_spans = [a for a in left(hits, article) if a[0] is not None]
            if not a_spans:
                return []
            by_field: dict[str, list] = {}
            for b in right(hits, article):
                if b[0] is not None:
                    by_field.setdefault(b[0], []).append(b)
            out = []
            for name, b_spans in by_field.items():
                b_spans.sort(key=lambda b: b[1])
                firsts = [b[1] for b in b_spans]
                longest = max(b[2] - b[1] for b in b_spans)
                for a in a_spans:
                    if a[0] != name:
                        continue
                    # only the right-hand spans that start within reach: a sorted slice, not all pairs
                    lo = bisect_left(firsts, a[2] + 1 if ordered else a[1] - distance - longest)
                    hi = bisect_right(firsts, a[2] + distance)
                    for b in b_spans[lo:hi]:
                        gap = b[1] - a[2] if ordered else max(b[1] - a[2], a[1] - b[2])
                        if 0 < gap <= distance:  # apart, and near: one word cannot be both sides
                            out.append((name, min(a[1], b[1]), max(a[2], b[2]), a[3] + b[3]))
                            if len(out) >= _MAX_SPANS:
                                return out
            return out

        return near
    raise AssertionError(node)  # pragma: no cover


def _first_words(node) -> dict[str, set[int]]:
    """Field → the ids of the words some positioned span of node must start with (a NEAR side holds
    only where one of them is); NOT and filters give no positions."""
    if isinstance(node, _Words):
        return {f: {ids[0] for ids in node.alternatives} for f in node.fields}
    if isinstance(node, Near):
        return _merge(_first_words(node.left), _first_words(node.right))
    if isinstance(node, (And, Or)):
        merged: dict[str, set[int]] = {}
        for child in node.children:
            merged = _merge(merged, _first_words(child))
        return merged
    return {}


def _merge(a: dict[str, set[int]], b: dict[str, set[int]]) -> dict[str, set[int]]:
    return {f: a.get(f, set()) | b.get(f, set()) for f in a.keys() | b.keys()}


def _single_words_evaluator(children: list[_Words]):
    """Spans of the one-word ways of writing these terms: one look-up per word present, not one per
    word of the OR."""
    terms: dict[str, dict[int, list[tuple[str, ...]]]] = {}
    for words in children:
        for ids in words.alternatives:
            if len(ids) == 1:
                for f in words.fields:
                    terms.setdefault(f, {}).setdefault(ids[0], []).append((words.source,))
    tables = tuple(terms.items())

    def single_words(hits, article):
        out = []
        for name, by_id in tables:
            table = hits[name]
            present = [wid for wid in table if wid in by_id] if len(table) < len(by_id) else \
                [wid for wid in by_id if wid in table]
            for wid in present:
                for term in by_id[wid]:
                    out.extend((name, p, p, term) for p in table[wid])
        return out

    return single_words


def _words_in(node) -> list[_Words]:
    if isinstance(node, _Words):
        return [node]
    if isinstance(node, Near):
        return _words_in(node.left) + _words_in(node.right)
    if isinstance(node, Not):
        return _words_in(node.child)
    return [w for c in getattr(node, "children", ()) for w in _words_in(c)]


def _any_of(evaluators: list):
    """The spans of every evaluator that holds: an OR, or a term's ways of being written."""
    if len(evaluators) == 1:
        return evaluators[0]

    def any_of(hits, article):
        spans = []
        for evaluate in evaluators:
            spans.extend(evaluate(hits, article))
        return spans

    return any_of


def _words_evaluator(words: _Words):
    return _any_of([_sequence_evaluator(ids, words.fields, (words.source,), words.followers)
                    for ids in words.alternatives])


def _sequence_evaluator(ids: tuple[int, ...], fields: tuple[str, ...], terms: tuple[str, ...], followers: dict):
    first_id, rest_ids = ids[0], ids[1:]
    if not rest_ids:
        def word(hits, article):
            out = []
            for name in fields:
                for p in hits[name].get(first_id, ()):
                    out.append((name, p, p, terms))
            return out

        return word

    looked_up = [(offset, wid) for offset, wid in enumerate(rest_ids, start=1) if wid not in followers]
    read = [(offset, followers[wid]) for offset, wid in enumerate(rest_ids, start=1) if wid in followers]

    def phrase(hits, article):
        out = []
        for name in fields:
            table = hits[name]
            first = table.get(first_id)
            if not first:
                continue
            rest = []
            for offset, wid in looked_up:
                positions = table.get(wid)
                if not positions:
                    break
                rest.append((offset, set(positions)))
            else:
                tokens = article.tokens[name] if read else None
                for p in first:
                    if all(p + offset in at for offset, at in rest) and \
                            all(tokens.has_form(p + offset, forms) for offset, forms in read):
                        out.append((name, p, p + len(rest_ids), terms))
        return out

    return phrase


def _provenance(rule: Rule, spans: list[Span], article: Article) -> Match:
    terms: list[str] = []
    for span in spans:
        for source in span[3]:
            if source not in terms:
                terms.append(source)
    if not spans:
        return Match(rule=rule.name, field="", terms=[], snippet="")
    first = min(spans, key=lambda s: (s[0] != "title", s[1]))
    tokens = article.tokens[first[0]]
    start, end = tokens.offsets(first[1])[0], tokens.offsets(first[2])[1]
    return Match(rule=rule.name, field=first[0], terms=terms, snippet=snippet(tokens.original, start, end))


def snippet(original: str, start: int, end: int) -> str:
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
    try:
        node = parse_query(query, file=file, line=query_line)
    except RuleError as exc:
        exc.source = query  # so `rules check` can show the query with a caret under the column
        raise
    fields = _as_tuple(doc.get("fields", list(TEXT_FIELDS)), file, text, "fields")
    if not fields or any(f not in TEXT_FIELDS for f in fields):
        raise RuleError(f"`fields` must list some of {', '.join(TEXT_FIELDS)}", file=file, line=_line_of(text, "fields:", line))
    priority = doc.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise RuleError("`priority` must be a whole number", file=file, line=_line_of(text, "priority:", line))
    if doc.get("alert", False) not in (True, False, "immediate", "digest"):
        raise RuleError("`alert` must be `immediate` (or true) or `digest` (or false)", file=file, line=_line_of(text, "alert:", line))
    return Rule(
        name=name.strip(), query=query, node=node, description=" ".join(str(doc.get("description") or "").split()),
        fields=fields, languages=_as_tuple(doc.get("languages"), file, text, "languages"), priority=priority,
        alert=doc.get("alert", False) in (True, "immediate"), tags=_as_tuple(doc.get("tags"), file, text, "tags"), file=file, line=line,
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
    if "rules" in doc or set(doc) <= FILE_KEYS:
        unknown = sorted(set(doc) - FILE_KEYS)
        if unknown:
            raise RuleError(f"unknown key {unknown[0]!r} beside `rules:`", file=file, line=_line_of(text, f"{unknown[0]}:"))
        raw_rules = doc.get("rules") or []
        if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
            raise RuleError("`rules` must be a list of rules", file=file, line=_line_of(text, "rules:"))
        rules = [_rule(r, file, text) for r in raw_rules]
    else:  # one rule, perhaps with the sets it uses
        rules = [_rule({k: v for k, v in doc.items() if k != "sets"}, file, text)]
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
        file_rules, file_sets = parse_rule_file(_read(path), str(path))
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


def _read(path: Path) -> str:
    """A rule file's text; one that is unreadable or not UTF-8 (a Latin-1 file) is a RuleError with
    its name and the line of the first bad byte."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleError(f"cannot be read: {exc.strerror or exc}", file=str(path)) from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RuleError(f"is not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
                        file=str(path), line=line) from exc


def compile_rules(rules: list[Rule], sets: dict[str, tuple[Term, ...]] | None = None) -> RuleSet:
    return RuleSet(rules, sets)


def match(ruleset: RuleSet, *, title: str, text: str, lang: str | None = None, feed: str | None = None,
          places: Iterable[str] = ()) -> list[Match]:
    """The rules an article satisfies, with the terms that matched, the field and a snippet."""
    return ruleset.match(Article(title or "", text or "", lang, feed, frozenset(places)))


def tag(ruleset: RuleSet, gazetteer, *, title: str, text: str, lang: str | None = None,
        feed: str | None = None, tokens: dict[str, Tokens] | None = None) -> tuple[list[Match], list[str]]:
    """Places first (rules may ask `place:UA-63`), then rules; the text is tokenised once for both
    (or not at all, when the caller passes the tokens it made)."""
    article = Article(title or "", text or "", lang, feed, tokens=tokens or {})
    if gazetteer:
        for field_tokens in article.tokens.values():
            field_tokens.prepare((gazetteer.index, ruleset.index))  # one scan of a field for both
    codes = gazetteer.codes(article.title, article.text, article.tokens) if gazetteer else []
    article.places = frozenset(codes)
    return ruleset.match(article), codes


def explain_error(error: RuleError) -> str:
    """file:line:column: message, then the query with a caret under the column."""
    source = getattr(error, "source", None)
    return f"{error}\n{caret(source, error.column)}" if source and error.column else str(error)
