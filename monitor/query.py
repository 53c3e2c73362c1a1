"""query: the rule language, text → syntax tree. Pure.

    query  := or
    or     := and ("OR" and)*
    and    := unary (["AND"] unary)*          adjacent terms are ANDed
    unary  := ("NOT" | "-") unary | near
    near   := atom (("NEAR/n" | "ONEAR/n") atom)*
    atom   := "(" or ")" | FIELD ":" atom | "phrase" | word | word* | =word | @set

Operators are upper case (AND, OR, NOT, NEAR/n, ONEAR/n); lower-case "and" or "or" are words.
Fields: title, text (where terms are looked for), feed, lang, place (filters on the article).
Every error is a RuleError with the column of the offending token, so `monitor rules check` can
put a caret under it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

from .errors import RuleError

TEXT_FIELDS = ("title", "text")
PREFIX_MIN = 3  # letters before a wildcard: `off*` would match half the dictionary
META_FIELDS = ("feed", "lang", "place")
MAX_NEAR = 100


@dataclass(frozen=True)
class Term:
    """A word, a prefix (`offensiv*`), an exact word (`=наступ`) or a phrase ("cease fire")."""

    words: tuple[str, ...]
    prefix: bool = False  # the last word is a prefix
    exact: bool = False  # no inflected forms
    fields: tuple[str, ...] = TEXT_FIELDS
    source: str = ""  # as the analyst wrote it: shown in provenance

    @property
    def phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(frozen=True)
class SetRef:
    name: str
    column: int
    fields: tuple[str, ...] = TEXT_FIELDS


@dataclass(frozen=True)
class Meta:
    key: str  # feed, lang, place
    value: str


@dataclass(frozen=True)
class Not:
    child: "Node"


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Near:
    left: "Node"
    right: "Node"
    distance: int
    ordered: bool = False


Node = Union[Term, SetRef, Meta, Not, And, Or, Near]


@dataclass
class _Token:
    kind: str  # ( ) AND OR NOT NEAR ONEAR MINUS PHRASE WORD FIELD SET END
    text: str
    column: int  # 1-based
    value: object = None


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<phrase>"[^"]*"?)
  | (?P<near>O?NEAR/\d+\b)
  | (?P<field>[A-Za-z]+:)
  | (?P<set>@[\w-]*)
  | (?P<minus>-(?=[\w"(@=]))
  | (?P<word>=?[^\s()"]+)
    """,
    re.VERBOSE | re.UNICODE,
)
_WORDISH = re.compile(r"[\w'’ʼ\-.]+\*?", re.UNICODE)


def _lex(text: str, file: str, line: int | None) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # pragma: no cover - the word alternative matches any other character
            raise RuleError(f"unexpected character {text[pos]!r}", file=file, line=line, column=pos + 1)
        kind, value, column = m.lastgroup, m.group(), pos + 1
        pos = m.end()
        if kind != "space":
            tokens.append(_token(kind, value, column, lambda why, at=column: RuleError(why, file=file, line=line, column=at)))
    tokens.append(_Token("END", "", len(text) + 1))
    return tokens


def _token(kind: str, value: str, column: int, error) -> _Token:
    """One token of the kind its pattern matched, checked; `error(why[, column])` makes the RuleError."""
    if kind == "phrase":
        return _phrase(value, column, error)
    if kind == "near":
        n = int(value.split("/")[1])
        if not 1 <= n <= MAX_NEAR:
            raise error(f"NEAR distance must be 1 to {MAX_NEAR} words")
        return _Token("ONEAR" if value.startswith("O") else "NEAR", value, column, n)
    if kind == "field":
        name = value[:-1].lower()
        if name not in TEXT_FIELDS + META_FIELDS:
            raise error(f"unknown field {value[:-1]!r} (fields: {', '.join(TEXT_FIELDS + META_FIELDS)})")
        return _Token("FIELD", value, column, name)
    if kind == "set":
        if len(value) < 2:
            raise error("a set reference needs a name after @")
        return _Token("SET", value, column, value[1:])
    if kind == "minus":
        return _Token("MINUS", value, column)
    if kind in ("lparen", "rparen") or value in ("AND", "OR", "NOT"):
        return _Token(value, value, column)
    if re.fullmatch(r"O?NEAR(/\S*)?", value):
        raise error(f"{value.split('/')[0]} needs a distance, as in NEAR/5")
    return _word(value, column, error)


def _phrase(value: str, column: int, error) -> _Token:
    if len(value) < 2 or not value.endswith('"'):
        raise error("unterminated phrase: a closing \" is missing")
    words = value[1:-1].split()
    if any("*" in w for w in words[:-1]) or any("*" in w[:-1] for w in words[-1:]):
        raise error("in a phrase, a wildcard * may only end the last word")
    if any(w.startswith("=") for w in words):
        raise error("= marks a single word; a phrase's words inflect as written")
    last = words[-1] if words else ""
    if last.endswith("*") and len(last.rstrip("*")) < PREFIX_MIN:
        raise error(f"a wildcard needs at least {PREFIX_MIN} letters before the *")
    return _Token("PHRASE", value, column, value[1:-1])


def _word(value: str, column: int, error) -> _Token:
    body = value[1:] if value.startswith("=") else value
    if "*" in body[:-1]:
        raise error("a wildcard * may only end a word", column + value.index("*"))
    if body.endswith("*") and len(body.rstrip("*")) < PREFIX_MIN:
        raise error(f"a wildcard needs at least {PREFIX_MIN} letters before the *")
    if not _WORDISH.fullmatch(body) or body.strip("*'’ʼ-.") == "":
        raise error(f"not a word: {value!r}")
    return _Token("WORD", value, column, value)


@dataclass
class _Parser:
    tokens: list[_Token]
    file: str
    line: int | None
    pos: int = 0
    fields: tuple[str, ...] = field(default=TEXT_FIELDS)

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def error(self, message: str, token: _Token | None = None) -> RuleError:
        token = token or self.peek()
        return RuleError(message, file=self.file, line=self.line, column=token.column)

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise self.error("the query is empty")
        node = self.or_()
        if self.peek().kind != "END":
            token = self.peek()
            raise self.error("unexpected ')'" if token.kind == ")" else f"unexpected {token.text!r}", token)
        return node

    def or_(self) -> Node:
        children = [self.and_()]
        while self.peek().kind == "OR":
            self.take()
            children.append(self.and_())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_(self) -> Node:
        start = self.peek()
        children = [self.unary()]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                self.take()
                children.append(self.unary())
            elif kind in ("NOT", "MINUS", "(", "PHRASE", "WORD", "FIELD", "SET"):
                children.append(self.unary())
            else:
                break
        if all(isinstance(c, Not) for c in children):
            raise self.error("a query cannot be only NOT clauses: say what to look for", start)
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        if self.peek().kind in ("NOT", "MINUS"):
            token = self.take()
            if self.peek().kind in ("END", ")", "OR", "AND"):
                raise self.error(f"{token.text} needs something to exclude after it")
            return Not(self.unary())
        return self.near()

    def near(self) -> Node:
        node = self.atom()
        while self.peek().kind in ("NEAR", "ONEAR"):
            token = self.take()
            right = self.atom()
            for side in (node, right):
                if not _positional(side):
                    raise self.error(f"{token.text} joins words, phrases or OR-groups of them", token)
            node = Near(node, right, int(token.value), ordered=token.kind == "ONEAR")
        return node

    def atom(self) -> Node:
        token = self.peek()
        if token.kind == "(":
            self.take()
            if self.peek().kind == ")":
                raise self.error("empty parentheses")
            node = self.or_()
            if self.peek().kind != ")":
                raise self.error("a closing ')' is missing", token if self.peek().kind == "END" else None)
            self.take()
            return node
        if token.kind == "FIELD":
            self.take()
            name = str(token.value)
            if name in META_FIELDS:
                value = self.take()
                if value.kind not in ("WORD", "PHRASE"):
                    raise self.error(f"{name}: needs a value, as in {name}:{'UA-63' if name == 'place' else 'uk'}", value)
                text = str(value.value).lstrip("=")
                return Meta(name, text.upper() if name == "place" else text.lower())
            if self.peek().kind == "FIELD" and self.peek().value in META_FIELDS:
                raise self.error(f"{name}: scopes words; {self.peek().text} is a filter of the whole article")
            outer, self.fields = self.fields, (name,)
            try:
                return self.atom()
            finally:
                self.fields = outer
        if token.kind == "PHRASE":
            self.take()
            words = _words(str(token.value))
            if not words:
                raise self.error("empty phrase", token)
            return Term(words, prefix=words[-1].endswith("*"), fields=self.fields, source=token.text)
        if token.kind == "WORD":
            self.take()
            raw = str(token.value)
            exact = raw.startswith("=")
            words = _words(raw.lstrip("="))
            return Term(words, prefix=raw.endswith("*"), exact=exact, fields=self.fields, source=raw)
        if token.kind == "SET":
            self.take()
            return SetRef(str(token.value), token.column, fields=self.fields)
        if token.kind == "END":
            raise self.error("the query ends too early")
        raise self.error(f"unexpected {token.text!r}", token)


_PART = re.compile(r"\w+(?:['’ʼ-]\w+)*", re.UNICODE)  # as the text is split (index._TOKEN)


def _words(text: str) -> tuple[str, ...]:
    """Split a term as text is split, so every word can meet a token: U.S. is "u s". A hyphenated
    word stays one word (the matcher also tries it split and joined, index.variants)."""
    words: list[str] = []
    for chunk in re.split(r"[\s–—]+", re.sub(r"[‐‑]", "-", text.strip())):
        parts = _PART.findall(chunk.rstrip("*"))
        if parts and chunk.endswith("*"):
            parts[-1] += "*"
        words.extend(parts)
    return tuple(words)


def _positional(node: Node) -> bool:
    if isinstance(node, (Term, SetRef)):
        return True
    if isinstance(node, (Or, Near)):
        return all(_positional(c) for c in (node.children if isinstance(node, Or) else (node.left, node.right)))
    return False


def parse_query(text: str, *, file: str = "", line: int | None = None) -> Node:
    """Parse a query. Raises RuleError with the column of the problem."""
    if not isinstance(text, str):
        raise RuleError("a query must be text", file=file, line=line)
    return _Parser(_lex(text, file, line), file, line).parse()


def caret(query: str, column: int | None) -> str:
    """The query with a caret under the column, for error messages."""
    if column is None:
        return query
    return f"{query}\n{' ' * (column - 1)}^"
