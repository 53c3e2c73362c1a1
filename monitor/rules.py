"""rules: topic rules from rules/*.yaml, compiled once, matched against an article.

A rule file holds one rule or `rules:` (a list of rules), and may hold `sets:` (named term sets that
any rule of any file uses as `@name`):

    name: ceasefire
    title: Ceasefires and truces     # optional: the digest's heading for the rule's hits
    description: Ceasefires and truces, proposed, agreed or breached (for the rule's author).
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

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import yaml

from .errors import RuleError, pointed
from .index import TermIndex, Tokens, tokenize, variants
from .model import Match
from .position import error_spot, line_columns, line_text, node_start, value_spots
from .query import TEXT_FIELDS, And, Meta, Near, Node, Not, Or, SetRef, Term, parse_query

RULE_KEYS = {"name", "title", "description", "query", "keywords", "fields", "languages", "priority", "alert", "tags"}
FILE_KEYS = {"rules", "sets"}
SNIPPET = 80


@dataclass(frozen=True)
class Rule:
    name: str
    query: str
    node: Node
    title: str = ""  # what a reader sees in the digest; the description is the author's note
    description: str = ""
    fields: tuple[str, ...] = TEXT_FIELDS
    languages: tuple[str, ...] = ()
    priority: int = 0
    alert: bool = False
    tags: tuple[str, ...] = ()
    file: str = ""
    line: int | None = None  # of its name
    where: QuerySource | None = field(default=None, compare=False, repr=False)  # of its query, in the file


@dataclass
class Document:
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
                raise _query_error(error, rule.file, rule.where, rule.query)
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

    def match(self, article: Document) -> list[Match]:
        return [_provenance(rule, spans, article) for rule, spans in self._holding(article)]

    def spans(self, article: Document) -> list[Span]:
        """Where the rules that hold hold, to mark the hits (search): (field, first position, last
        position, terms); a rule that holds without words (a filter, a NOT) gives none."""
        return [span for _, spans in self._holding(article) for span in spans]

    def _holding(self, article: Document) -> list[tuple[Rule, list[Span]]]:
        hits = {name: self.index.find(tokens) for name, tokens in article.tokens.items()}
        candidates = set(self._always)
        for table in hits.values():
            for wid in table:
                candidates.update(self._by_word.get(wid, ()))
        holding = []
        for number in sorted(candidates):
            compiled = self._compiled[number]
            rule = compiled.rule
            if rule.languages and article.lang and article.lang not in rule.languages:
                continue
            if not compiled.holds(hits, article):
                continue
            spans = compiled.evaluate(hits, article)
            holding.append((rule, [s for s in spans if s[0] is not None]))
        return holding


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
        return _meta_evaluator(node)
    if isinstance(node, Not):
        child = _evaluator(node.child)
        return lambda hits, article: [] if child(hits, article) else _TRUE
    if isinstance(node, And):
        return _and_evaluator(node)
    if isinstance(node, Or):
        return _or_evaluator(node)
    if isinstance(node, Near):
        return _near_evaluator(node)
    raise AssertionError(node)  # pragma: no cover


def _meta_evaluator(node):
    key, value = node.key, node.value
    if key == "place":
        return lambda hits, article: _TRUE if value in article.places else []
    if key == "lang":
        return lambda hits, article: _TRUE if (article.lang or "").lower() == value else []
    return lambda hits, article: _TRUE if (article.feed or "").lower() == value.lower() else []


def _and_evaluator(node):
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


def _or_evaluator(node):
    # the single words of its terms answer in one pass over the words present (a set of 70
    # energy words costs what its present words cost); phrases and the rest one by one
    terms = [c for c in node.children if isinstance(c, _Words)]
    rest = [_evaluator(c) for c in node.children if not isinstance(c, _Words)]
    phrases = [_sequence_evaluator(ids, w.fields, (w.source,), w.followers) for w in terms for ids in w.alternatives
               if len(ids) > 1]
    single = [w for w in terms if any(len(ids) == 1 for ids in w.alternatives)]
    return _any_of(([_single_words_evaluator(single)] if single else []) + phrases + rest)


def _near_evaluator(node):
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


def _provenance(rule: Rule, spans: list[Span], article: Document) -> Match:
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


@dataclass(frozen=True)
class QuerySource:
    """Where a rule's query is written. `spots[c - 1]` is the line and column in the file of column c
    of the query as parsed (its whitespace folded to single spaces); one more for its end."""

    spots: tuple[tuple[int, int], ...]
    lines: tuple[tuple[int, str], ...]  # the text of the lines the spots are on

    def at(self, column: int | None) -> tuple[int, int, str]:
        line, col = self.spots[min(max(column or 1, 1), len(self.spots)) - 1]
        return line, col, dict(self.lines).get(line, "")


def _query_source(text: str, node: yaml.Node, value: str | None) -> QuerySource:
    """value (the query as YAML read it) mapped through YAML's folding back to the file; without a
    value, or when the source does not read back as it, every column is where the node starts."""
    start = (node.start_mark.line + 1, node.start_mark.column + 1)
    spots_in_value = value_spots(text, node, value) if value is not None and isinstance(node, yaml.ScalarNode) else None
    if spots_in_value is None:
        spots = [start] * (len(" ".join((value or "").split())) + 1)
    else:
        indices: list[int] = []
        for number, word in enumerate(re.finditer(r"\S+", value)):
            if number:
                indices.append(indices[-1] + 1)  # the folded space: just after the word before it
            indices.extend(spots_in_value[i] for i in range(word.start(), word.end()))
        indices.append(indices[-1] + 1 if indices else node.start_mark.index)  # the end of the query
        spots = line_columns(text, indices)
    lines = tuple((line, line_text(text, line)) for line in sorted({line for line, _ in spots}))
    return QuerySource(tuple(spots), lines)


def _query_error(error: RuleError, file: str, where: QuerySource | None, query: str) -> RuleError:
    """A RuleError whose column is in the query, pointed at the file's line and column instead."""
    if where is None:  # a rule made in code: the query's own column
        error.source = query
        return error
    line, column, text = where.at(error.column)
    moved = RuleError(error.reason, file=file, line=line, column=column)
    moved.source = text
    return moved


class _File:
    """A rule file's YAML nodes: values by key, and errors that point at the node at fault."""

    def __init__(self, text: str, file: str):
        self.text, self.file = text, file
        self._constructor = yaml.SafeLoader("")

    def error(self, message: str, node: yaml.Node) -> RuleError:
        line, column, source = node_start(self.text, node)
        error = RuleError(message, file=self.file, line=line, column=column)
        error.source = source
        return error

    def value(self, node: yaml.Node):
        return self._constructor.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        """key → (key node, value node); None when node is not a mapping with text keys."""
        if not isinstance(node, yaml.MappingNode):
            return None
        out = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, str):
                raise self.error(f"a key must be text, not {key!r}", key_node)
            out[key] = (key_node, value_node)
        return out


def _null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _as_tuple(f: _File, node: yaml.Node | None, key: str) -> tuple[str, ...]:
    value = None if node is None else f.value(node)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return tuple(str(v) for v in value)
    raise f.error(f"`{key}` must be a list of words", node)


def _keywords_query(keywords: tuple[str, ...]) -> str:
    parts = []
    for keyword in keywords:
        keyword = keyword.strip().replace('"', "")
        parts.append(f'"{keyword}"' if any(c.isspace() or c in "()-" for c in keyword) else keyword)
    return " OR ".join(parts)


def _rule(f: _File, node: yaml.MappingNode, keys: dict[str, tuple[yaml.Node, yaml.Node]]) -> Rule:
    def value_of(key: str, default=None):
        return f.value(keys[key][1]) if key in keys else default

    unknown = [k for k in keys if k not in RULE_KEYS]
    if unknown:
        raise f.error(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(RULE_KEYS))})", keys[unknown[0]][0])
    name = value_of("name")
    line = keys["name"][0].start_mark.line + 1 if "name" in keys else node.start_mark.line + 1
    if not isinstance(name, str) or not name.strip():
        raise f.error("a rule needs a `name`", keys["name"][1] if "name" in keys else node)
    if ("query" in keys) == ("keywords" in keys):
        raise f.error("a rule needs a `query` or `keywords` (one of them)", node)
    if "keywords" in keys:
        keywords, written = value_of("keywords"), keys["keywords"][1]
        if not isinstance(keywords, list) or not keywords or not all(isinstance(k, str) and k.strip().strip("*") for k in keywords):
            raise f.error("`keywords` must be a non-empty list of words or phrases", written)
        raw = _keywords_query(tuple(keywords))
        where = _query_source(f.text, written, None)
    else:
        raw, written = value_of("query"), keys["query"][1]
        if not isinstance(raw, str):
            raise f.error("`query` must be text", written)
        where = _query_source(f.text, written, raw)
    query = " ".join(raw.split())
    try:
        node_ = parse_query(query, file=f.file)
    except RuleError as exc:
        raise _query_error(exc, f.file, where, query) from None
    fields = _as_tuple(f, keys["fields"][1], "fields") if "fields" in keys else TEXT_FIELDS
    if not fields or any(field_ not in TEXT_FIELDS for field_ in fields):
        raise f.error(f"`fields` must list some of {', '.join(TEXT_FIELDS)}", keys["fields"][1])
    priority = value_of("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise f.error("`priority` must be a whole number", keys["priority"][1])
    alert = value_of("alert", False)
    if alert not in (True, False, "immediate", "digest"):
        raise f.error("`alert` must be `immediate` (or true) or `digest` (or false)", keys["alert"][1])
    return Rule(
        name=name.strip(), query=query, node=node_, title=" ".join(str(value_of("title") or "").split()),
        description=" ".join(str(value_of("description") or "").split()),
        fields=fields, languages=_as_tuple(f, keys.get("languages", (None, None))[1], "languages"), priority=priority,
        alert=alert in (True, "immediate"), tags=_as_tuple(f, keys.get("tags", (None, None))[1], "tags"),
        file=f.file, line=line, where=where,
    )


def _compose(text: str, file: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        spot = error_spot(exc, text)
        error = RuleError(f"not valid YAML: {exc.problem or exc.context}", file=file, line=spot[0] if spot else None,
                          column=spot[1] if spot else None)
        error.source = line_text(text, spot[0]) if spot else None
        raise error from None
    except yaml.YAMLError as exc:
        raise RuleError(f"not valid YAML: {exc}", file=file) from None


def parse_rule_file(text: str, file: str) -> tuple[list[Rule], dict[str, tuple[Term, ...]]]:
    """One rule file → its rules and its sets. Pure. Every error names the line and column of the
    node at fault; a query's, the line and column of its token, through YAML's folding."""
    f = _File(text, file)
    root = _compose(text, file)
    keys = f.mapping(root) if root is not None else None
    if keys is None:
        raise RuleError("a rule file is a mapping: a rule (name, query) or `rules:` and `sets:`", file=file, line=1)
    if "rules" in keys or set(keys) <= FILE_KEYS:
        unknown = [k for k in keys if k not in FILE_KEYS]
        if unknown:
            raise f.error(f"unknown key {unknown[0]!r} beside `rules:`", keys[unknown[0]][0])
        rules_node = keys["rules"][1] if "rules" in keys else None
        if rules_node is not None and not _null(rules_node) and not isinstance(rules_node, yaml.SequenceNode):
            raise f.error("`rules` must be a list of rules", rules_node)
        items = rules_node.value if isinstance(rules_node, yaml.SequenceNode) else []
        mappings = [(item, f.mapping(item)) for item in items]
        for item, mapping in mappings:
            if mapping is None:
                raise f.error("`rules` must be a list of rules", item)
        rules = [_rule(f, item, mapping) for item, mapping in mappings]
    else:  # one rule, perhaps with the sets it uses
        rules = [_rule(f, root, {k: v for k, v in keys.items() if k != "sets"})]
    sets: dict[str, tuple[Term, ...]] = {}
    sets_node = keys["sets"][1] if "sets" in keys else None
    set_keys = {} if sets_node is None or _null(sets_node) else f.mapping(sets_node)
    if set_keys is None:
        raise f.error("`sets` must map names to lists of terms", sets_node)
    for name, (key_node, entries) in set_keys.items():
        words = _as_tuple(f, entries, name)
        if not words:
            raise f.error(f"set {name!r} is empty", entries)
        written = entries.value if isinstance(entries, yaml.SequenceNode) else [entries]
        terms = []
        for entry, entry_node in zip(words, written):
            try:
                node = parse_query(_keywords_query((entry,)), file=file)
            except RuleError as exc:
                raise f.error(exc.reason, entry_node) from None
            if not isinstance(node, Term):
                raise f.error(f"set {name!r}: {entry!r} is not a word or a phrase", entry_node)
            terms.append(node)
        sets[name] = tuple(terms)
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
    return ruleset.match(Document(title or "", text or "", lang, feed, frozenset(places)))


def tag(ruleset: RuleSet, gazetteer, *, title: str, text: str, lang: str | None = None,
        feed: str | None = None, tokens: dict[str, Tokens] | None = None) -> tuple[list[Match], list[str]]:
    """Places first (rules may ask `place:UA-63`), then rules; the text is tokenised once for both
    (or not at all, when the caller passes the tokens it made)."""
    article = Document(title or "", text or "", lang, feed, tokens=tokens or {})
    if gazetteer:
        for field_tokens in article.tokens.values():
            field_tokens.prepare((gazetteer.index, ruleset.index))  # one scan of a field for both
    codes = gazetteer.codes(article.title, article.text, article.tokens) if gazetteer else []
    article.places = frozenset(codes)
    return ruleset.match(article), codes


def explain_error(error: RuleError) -> str:
    """file:line:column: message, then the line (of the file, or the query) with a caret under the column."""
    return pointed(error)
