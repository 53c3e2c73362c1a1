"""search: the analyst's search box, text → what SQLite runs. Pure but for `install` and `load_sets`.

Whatever is typed is a search, never an error. The box is read as the rule language (query.py):
words in all their inflections (дрон finds дрони, дронів, дронами; Суми finds у Сумах), "phrases",
prefix*, =exact, AND/OR/NOT, NEAR/n, title:/text:, place:, feed:, lang:, @sets. Text that is not the
rule language (an unbalanced quote, a bare AND, `NEAR(`, an unknown @set) is read as its plain
words, all of them required. The apostrophes ' ’ ʼ are one letter: each finds the others.

A box becomes two things (`translate`):

- `fts`: an FTS5 MATCH expression for `articles_fts` (store.py: title, text and search_folded, the
  folded forms of the words, tokenised by unicode61), always valid since every token is quoted. It
  finds a superset of what the query means: each word is an OR of its folded inflections, each
  written as FTS5 tokenises it (перемир'я is the phrase "перемир я"). None when no word narrows
  the search (`place:UA-59`, `lang:uk`): every article is then a candidate. A box with nothing to
  look for (empty, `"`, `*`) is NOTHING, which finds no article at once.
- `exact`: whether `fts` alone decides (plain words, OR, prefixes). Otherwise (phrases, NEAR, NOT,
  fields, filters) each candidate is checked with the rules engine itself, a RuleSet of one rule,
  so that search and rules agree.

`install` puts both in SQL on a connection (monitor_fts, monitor_exact, monitor_search,
monitor_snippet); `sql` is the query the workbench and `monitor search` run with them.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from .errors import RuleError
from .index import inflections, variants
from .query import TEXT_FIELDS, And, Meta, Near, Node, Not, Or, SetRef, Term, parse_query
from .rules import Document, Rule, RuleSet, parse_rule_file
from .text import fold

log = logging.getLogger(__name__)

MAX_BOX = 2000  # characters of the box read: a pasted article is not a query
MAX_WORDS = 64  # plain words kept from text that is not the rule language
MAX_FTS_DEPTH = 16  # nested parentheses in an FTS5 expression (its parser fails past about 32)
MAX_CANDIDATES = 1_000_000  # articles the FTS step may hand on: the newest, when a word is everywhere
NOTHING = '""'  # an FTS5 expression that is valid and matches no article: a box with no word in it
SNIPPET = 80  # characters of context on each side of the first hit
OPERATORS = {"AND", "OR", "NOT", "NEAR", "ONEAR"}
_WORD = re.compile(r"\w+(?:['’ʼ-]\w+)*", re.UNICODE)  # a word as the rule language splits it (query._PART)
_FTS_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # a token as unicode61 cuts it: letters and digits
_SPACE = re.compile(r"\s+")


@dataclass
class Search:
    """A box, read: the tree (None: nothing to look for), its FTS5 expression and whether that decides."""

    box: str
    node: Node | None
    fts: str | None
    exact: bool
    sets: dict[str, tuple[Term, ...]] = field(default_factory=dict, repr=False)

    @cached_property
    def ruleset(self) -> RuleSet | None:
        if self.node is None:
            return None
        return RuleSet([Rule(name="search", query=self.box, node=self.node)], self.sets)

    @cached_property
    def _reads_text(self) -> bool:
        return self.node is not None and bool(_terms(self.node, self.sets))

    def matches(self, title: str, text: str, lang: str | None = None, feed: str | None = None,
                places: str | None = None) -> bool:
        """Whether the article is one the query means, by the rules engine (places: codes, space-separated)."""
        if self.ruleset is None:
            return False
        codes = frozenset((places or "").split())
        if not all(_holds(meta, lang, feed, codes) for meta in self._filters):
            return False  # before the text is split: `дрон place:UA-59` on a thousand articles about drones
        return bool(self.ruleset.match(self._article(title, text, lang, feed, places)))

    @cached_property
    def _filters(self) -> tuple[Meta, ...]:
        """The filters every article found must pass (those ANDed at the top)."""
        children = self.node.children if isinstance(self.node, And) else (self.node,)
        return tuple(child for child in children if isinstance(child, Meta))

    def _article(self, title, text, lang=None, feed=None, places=None) -> Document:
        if not self._reads_text:  # filters only (place:UA-59): the text need not be split
            title = text = ""
        return Document(title or "", text or "", lang, feed, frozenset((places or "").split()))

    def snippet(self, title: str, text: str, context: int = SNIPPET) -> tuple[str, list[tuple[int, int]]]:
        """The text around the first hit (the title's when the text has none), whitespace made single
        spaces, and where in it the query's words are, as (start, end) character offsets."""
        article = Document(title or "", text or "")
        chosen, positions = _hit_positions(self.ruleset, article) if self.ruleset else ("text", [])
        tokens = article.tokens[chosen]
        original = tokens.original
        if not positions:
            return _collapse([(original[:2 * context], False)], cut=len(original) > 2 * context)
        start, end = tokens.offsets(positions[0])
        lo, hi = max(0, start - context), min(len(original), end + context)
        pieces, at = [], lo
        for first, last in _runs(positions):
            begin, end = tokens.offsets(first)[0], tokens.offsets(last)[1]
            if begin < at:
                continue
            if begin >= hi:
                break
            pieces += [(original[at:begin], False), (original[begin:end], True)]
            at = end
        pieces.append((original[at:max(hi, at)], False))
        return _collapse(pieces, lead=lo > 0, cut=max(hi, at) < len(original))


def _holds(meta: Meta, lang: str | None, feed: str | None, places: frozenset[str]) -> bool:
    """A filter, as the rules engine reads it (rules._evaluator)."""
    if meta.key == "place":
        return meta.value in places
    if meta.key == "lang":
        return (lang or "").lower() == meta.value
    return (feed or "").lower() == meta.value.lower()


def _collapse(pieces: list[tuple[str, bool]], lead: bool = False, cut: bool = False) -> tuple[str, list[tuple[int, int]]]:
    """Pieces of text, hits or not, as one line (each run of whitespace one space), and the hits' offsets."""
    text, marks, begun = "…" if lead else "", [], False
    for piece, hit in pieces:
        piece = _SPACE.sub(" ", piece)
        if not begun:
            piece = piece.lstrip()
            begun = bool(piece)
        if hit:
            marks.append((len(text), len(text) + len(piece)))
        text += piece
    return text.rstrip() + ("…" if cut else ""), marks


def marked(text: str, marks: list[tuple[int, int]], before: str = "**", after: str = "**") -> str:
    """text with each mark between `before` and `after`."""
    out, at = [], 0
    for start, end in marks:
        out += [text[at:start], before, text[start:end], after]
        at = end
    return "".join(out) + text[at:]


def _hit_positions(ruleset: RuleSet, article: Document) -> tuple[str, list[int]]:
    """The field to show (text first) and the positions there of the query's words: every word the
    index finds, and inside the spans where the query holds, the words that follow in a phrase."""
    spans = ruleset.spans(article)
    followers = frozenset().union(*ruleset.index.followers.values()) if ruleset.index.followers else frozenset()
    found = {}
    for name in ("text", "title"):
        tokens = article.tokens[name]
        positions = {p for ps in ruleset.index.find(tokens).values() for p in ps}
        for span in spans:
            if span[0] == name and followers:
                positions.update(p for p in range(span[1], span[2] + 1) if tokens.has_form(p, followers))
        found[name] = sorted(positions)
    in_spans = [s for s in spans if s[0] == "text"] or [s for s in spans if s[0] == "title"]
    chosen = in_spans[0][0] if in_spans else ("text" if found["text"] or not found["title"] else "title")
    positions = found[chosen]
    if in_spans:  # start the snippet at the first place the query holds, not at a stray word
        first = min(s[1] for s in in_spans)
        positions = [p for p in positions if p >= first] or positions
    return chosen, positions


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """Consecutive positions as (first, last): a phrase is marked as one."""
    runs: list[list[int]] = []
    for p in positions:
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return [(a, b) for a, b in runs]


# ------------------------------------------------------------------------------ the translation


def translate(box: str | None, sets: dict[str, tuple[Term, ...]] | None = None) -> Search:
    """Read a search box (see the module's docstring). Never raises."""
    sets = sets or {}
    box = (box if isinstance(box, str) else "" if box is None else str(box))[:MAX_BOX].replace("\x00", " ")
    node = _rule_language(box, sets)
    if node is None:
        node = _plain_words(box)
    if node is None:
        return Search(box, None, NOTHING, False, sets)
    fts, exact = _fts(node, sets)
    if fts is not None and _depth(fts) > MAX_FTS_DEPTH:
        # FTS5's parser overflows its stack near 32 nested parentheses: any of the words, then the engine
        fts, exact = " OR ".join(f"({_fts_term(t)[0]})" for t in _terms(node, sets, positive=True)), False
    return Search(box, node, fts, exact, sets)


def _depth(expr: str) -> int:
    deepest = depth = 0
    for part in re.split(r'"(?:[^"]|"")*"', expr):  # parentheses inside a quoted token do not count
        for char in part:
            depth += {"(": 1, ")": -1}.get(char, 0)
            deepest = max(deepest, depth)
    return deepest


# A filter is of the whole article, so nothing is near it: `offensive NEAR/10 place:UA-59` is read as
# `offensive place:UA-59`, which is what the analyst can have.
_FILTER = r"\b(?i:place|feed|lang):"
_NEAR_BEFORE_FILTER = re.compile(rf"\s+O?NEAR/\d+\b(?=\s+{_FILTER})")
_NEAR_AFTER_FILTER = re.compile(rf"({_FILTER}[^\s()]+)\s+O?NEAR/\d+\b")


def _filters_out_of_near(box: str) -> str:
    return _NEAR_AFTER_FILTER.sub(r"\1", _NEAR_BEFORE_FILTER.sub(" ", box))


def _rule_language(box: str, sets: dict) -> Node | None:
    """The tree of a box in the rule language; None when it is not (then it is plain words)."""
    node = _parsed(box, sets)
    if node is None and _filters_out_of_near(box) != box:
        node = _parsed(_filters_out_of_near(box), sets)
    return node


def _parsed(box: str, sets: dict) -> Node | None:
    try:
        node = parse_query(box)
        for ref in _refs(node):
            if ref.name not in sets:
                return None
        for term in _terms(node, sets):
            if not any(_FTS_TOKEN.search(w) for w in term.words):
                return None  # "_": nothing the index could look up
        RuleSet([Rule(name="search", query=box, node=node)], sets)  # what would not compile is not the language
    except (RuleError, ValueError, RecursionError):
        return None
    return node


def _plain_words(box: str) -> Node | None:
    words = [w for w in _WORD.findall(box) if _FTS_TOKEN.search(w)]
    if any(w not in OPERATORS for w in words):
        words = [w for w in words if w not in OPERATORS]  # `дрон AND` is дрон; `AND` alone is the word
    terms = tuple(dict.fromkeys(Term((w,), source=w) for w in words[:MAX_WORDS]))
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else And(terms)


def _refs(node) -> list[SetRef]:
    if isinstance(node, SetRef):
        return [node]
    children = (node.left, node.right) if isinstance(node, Near) else (node.child,) if isinstance(node, Not) \
        else getattr(node, "children", ())
    return [ref for child in children for ref in _refs(child)]


def _terms(node, sets: dict | None = None, positive: bool = False) -> list[Term]:
    """The terms of a tree (with its sets'); `positive`: not those under a NOT."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, SetRef):
        return list((sets or {}).get(node.name, ()))
    if positive and isinstance(node, Not):
        return []
    children = (node.left, node.right) if isinstance(node, Near) else (node.child,) if isinstance(node, Not) \
        else getattr(node, "children", ())
    return [term for child in children for term in _terms(child, sets, positive)]


def _fts(node, sets: dict) -> tuple[str | None, bool]:
    """FTS5 expression of node (None: it cannot narrow the articles) and whether it decides alone."""
    if isinstance(node, Term):
        return _fts_term(node)
    if isinstance(node, SetRef):
        terms = tuple(Term(t.words, t.prefix, t.exact, node.fields, t.source) for t in sets.get(node.name, ()))
        return _fts(Or(terms), sets) if terms else (None, False)
    if isinstance(node, Or):
        parts = [_fts(child, sets) for child in node.children]
        if any(expr is None for expr, _ in parts):
            return None, False
        return " OR ".join(f"({expr})" for expr, _ in parts), all(exact for _, exact in parts)
    if isinstance(node, And):
        parts = [_fts(child, sets) if not isinstance(child, (Not, Meta)) else (None, False) for child in node.children]
        exprs = [expr for expr, _ in parts if expr is not None]
        if not exprs:
            return None, False
        positive = [(e, x) for child, (e, x) in zip(node.children, parts) if not isinstance(child, Not)]
        # NOT of what FTS decides alone (a word, a prefix) is FTS5's NOT too; NOT of a phrase is left
        # to the engine, since FTS5 could only say "not all of its words" and drop articles it holds for
        negative = [_fts(child.child, sets) for child in node.children if isinstance(child, Not)]
        excluded = [e for e, x in negative if e is not None and x]
        expr = " AND ".join(f"({e})" for e in exprs)
        if excluded:
            expr = f"({expr})" + "".join(f" NOT ({e})" for e in excluded)
        exact = all(x for _, x in positive) and len(excluded) == len(negative)
        return expr, exact
    if isinstance(node, Near):
        parts = [expr for expr, _ in (_fts(node.left, sets), _fts(node.right, sets)) if expr is not None]
        return (" AND ".join(f"({expr})" for expr in parts) or None), False
    return None, False  # Meta, Not: only the rules engine can tell


def _fts_term(term: Term) -> tuple[str | None, bool]:
    """Each way of writing the term (index.variants) is an AND of its words, each an OR of its forms."""
    alternatives = []
    for words in variants(term.words):
        groups = [_fts_word(w, prefix=term.prefix and i == len(words) - 1, exact=term.exact)
                  for i, w in enumerate(words)]
        groups = [g for g in groups if g]
        if groups:
            alternatives.append(" AND ".join(f"({g})" for g in groups) if len(groups) > 1 else groups[0])
    if not alternatives:
        return None, False
    expr = " OR ".join(f"({a})" for a in alternatives) if len(alternatives) > 1 else alternatives[0]
    if term.fields != TEXT_FIELDS:  # title:дрон; search_folded mixes both fields' folded words
        expr = "{" + " ".join(term.fields) + " search_folded} : (" + expr + ")"
    # one word, anywhere: the index's answer is the engine's; a phrase's words must also be in order,
    # a field's in that field (search_folded holds the folded words of both)
    return expr, not term.phrase and term.fields == TEXT_FIELDS


def _fts_word(word: str, *, prefix: bool, exact: bool) -> str:
    raw = word.rstrip("*")
    forms = {fold(raw)} if prefix or exact else inflections(raw) | {fold(raw)}
    strings = sorted({" ".join(_FTS_TOKEN.findall(form)) for form in forms} - {""})
    quoted = ['"' + s.replace('"', '""') + '"' + ("*" if prefix else "") for s in strings]
    return " OR ".join(quoted)


# ------------------------------------------------------------------------------ SQL


def sql(*, limit: int = 200, since: bool = False, snippet: bool = True) -> str:
    """The search as one SELECT on the archive, newest first, with :q (and :since, an ISO time):
    the FTS step gives the candidates, the rules engine checks them only when the FTS expression does
    not decide, and the snippet (or, without `snippet`, the whole text) comes for the rows shown only."""
    when = "coalesce(a.published, a.fetched)"
    # candidates newest first (a table SQLite fills in that order: the LIMIT keeps the ORDER BY), then
    # checked in that order until `limit` hold, not all of them
    return (
        f"WITH candidates AS MATERIALIZED (SELECT a.id, {when} AS time FROM articles a "
        "WHERE a.id IN (SELECT rowid FROM articles_fts WHERE monitor_fts(:q) IS NOT NULL AND articles_fts MATCH monitor_fts(:q) "
        "UNION ALL SELECT id FROM articles WHERE monitor_fts(:q) IS NULL) "
        + (f"AND {when} >= :since " if since else "")
        + f"ORDER BY time DESC LIMIT {MAX_CANDIDATES}), "
        "found AS MATERIALIZED (SELECT c.id, c.time FROM candidates c JOIN articles a ON a.id = c.id "
        "WHERE monitor_exact(:q) OR monitor_search(:q, a.title, a.text, a.lang, a.feed, "
        "(SELECT group_concat(p.place, ' ') FROM article_places p WHERE p.article_id = a.id)) "
        f"LIMIT {int(limit)}) "
        "SELECT a.id, found.time, a.feed, a.title, "
        + ("monitor_snippet(:q, a.title, a.text)" if snippet else "a.text") + " AS text "
        "FROM found JOIN articles a ON a.id = found.id ORDER BY found.time DESC"
    )


def install(conn: sqlite3.Connection, sets: dict[str, tuple[Term, ...]] | None = None) -> None:
    """The search's SQL functions on conn: monitor_fts(q), monitor_exact(q), monitor_search(q, title,
    text, lang, feed, places) and monitor_snippet(q, title, text), whose hits are marked **so**.
    None of them raises: a search that went wrong finds nothing, and says so in the log."""
    read = lru_cache(maxsize=64)(lambda box: translate(box, sets))

    def guarded(default, function):
        def call(*args):
            try:
                return function(*args)
            except Exception:  # an SQL function's error would reach the analyst as "user-defined function raised"
                log.exception("search: failed", extra={"query": args[0] if args else None})
                return default
        return call

    def snippet(q, title, text):
        return marked(*read(q).snippet(title or "", text or ""))

    conn.create_function("monitor_fts", 1, guarded('""', lambda q: read(q).fts), deterministic=True)
    conn.create_function("monitor_exact", 1, guarded(0, lambda q: int(read(q).exact)), deterministic=True)
    conn.create_function("monitor_search", 6, guarded(0, lambda q, *article: int(read(q).matches(*article))),
                         deterministic=True)
    conn.create_function("monitor_snippet", 3, guarded("", snippet), deterministic=True)


def find(conn, box: str, sets: dict, *, since: str, limit: int) -> list[tuple]:
    """(id, time, feed, title, text) of the newest articles `box` finds on an archive's connection,
    published (or fetched) since `since` (ISO 8601): the canned search, from the shell."""
    install(conn, sets)
    return conn.execute(sql(limit=limit, since=True, snippet=False), {"q": box, "since": since}).fetchall()


def load_sets(folder: Path | str | None) -> dict[str, tuple[Term, ...]]:
    """The @sets of the rule files in folder, for the box; a file that does not load is left out."""
    sets: dict[str, tuple[Term, ...]] = {}
    if not folder or not Path(folder).is_dir():
        return sets
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            sets.update(parse_rule_file(path.read_text(encoding="utf-8"), str(path))[1])
        except (RuleError, OSError, UnicodeDecodeError) as exc:
            log.warning("search: rule file left out of the @sets", extra={"file": str(path), "error": str(exc)})
    return sets
