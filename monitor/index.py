"""index: terms compiled once into one lookup structure; text tokenised once per article.

A term's word becomes a set of surface forms: its Ukrainian and Russian inflections, from the
pymorphy3 dictionaries (наступ → наступу, наступом, наступі, …; never наступного, whose lemma is
наступний), or itself for Latin-script words and `=exact` words. All forms of all terms go into one
dict, prefixes (`offensiv*`) into another keyed by prefix; a text's tokens are looked up there, so the
cost grows with the text, not with the number of terms or rules. Phrases are checked only where
their first word was found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .text import fold

_TOKEN = re.compile(r"\w+(?:'\w+)*", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# An English possessive or contraction is its word plus a clitic: Ukraine's → ukraine's and ukraine.
_CLITIC = re.compile(r"^(\w+)'(s|d|ll|re|ve|t)$")


@dataclass(frozen=True, slots=True)
class Token:
    position: int
    form: str
    start: int  # character offsets in the folded text
    end: int


def tokenize(text: str) -> list[Token]:
    """Folded tokens with positions. A hyphenated compound gives its parts at consecutive positions
    and the joined word at the first one, so `counter-offensive` matches "counter offensive" and
    `counteroffensive` alike."""
    folded = fold(text)
    tokens: list[Token] = []
    position = 0
    previous_end = -2
    compound: list[Token] = []
    for m in _TOKEN.finditer(folded):
        word = m.group()
        joined_to_previous = m.start() == previous_end + 1 and folded[previous_end] == "-"
        if not joined_to_previous and len(compound) > 1:
            tokens.append(_joined(compound))
        if not joined_to_previous:
            compound = []
        token = Token(position, word, m.start(), m.end())
        tokens.append(token)
        compound.append(token)
        clitic = _CLITIC.match(word)
        if clitic:
            tokens.append(Token(position, clitic.group(1), m.start(), m.start() + len(clitic.group(1))))
        position += 1
        previous_end = m.end()
    if len(compound) > 1:
        tokens.append(_joined(compound))
    return tokens


def _joined(parts: list[Token]) -> Token:
    return Token(parts[0].position, "".join(p.form for p in parts), parts[0].start, parts[-1].end)


@lru_cache(maxsize=None)
def _analyzers():
    import pymorphy3  # loaded once, on the first Cyrillic term

    return pymorphy3.MorphAnalyzer(lang="uk"), pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=100_000)
def inflections(word: str) -> frozenset[str]:
    """All forms of a Cyrillic word (folded), by the words it is the dictionary form of, in both
    languages. A word that is no lemma itself (an analyst wrote an inflected form) gets the forms of
    its most likely reading. Latin-script words are returned as they are.

    The dictionaries are asked with the word as written, before folding: folding drops the
    diacritics that tell Ukrainian ї and й from і and и.
    """
    folded = fold(word)
    if not _CYRILLIC.search(folded):
        return frozenset({folded})
    lower = word.casefold().replace("’", "'").replace("ʼ", "'")
    forms = {folded}
    candidates = []
    for analyzer in _analyzers():
        for parse in analyzer.parse(lower):
            if fold(parse.normal_form) == folded:
                forms.update(fold(f.word) for f in parse.lexeme)
            else:
                candidates.append(parse)
    if len(forms) == 1 and candidates:
        best = max(candidates, key=lambda p: p.score)
        forms.update(fold(f.word) for f in best.lexeme)
    return frozenset(forms)


@dataclass(frozen=True)
class WordMatcher:
    text: str
    prefix: bool
    exact: bool


class TermIndex:
    """Words of many terms in two lookups; `find` gives, per word matcher, where it occurs."""

    def __init__(self) -> None:
        self.words: list[WordMatcher] = []
        self._ids: dict[WordMatcher, int] = {}
        self._forms: dict[str, list[int]] = {}
        self._prefixes: dict[str, list[int]] = {}
        self._prefix_lengths: list[int] = []

    def add(self, word: str, *, prefix: bool = False, exact: bool = False) -> int:
        raw = word.rstrip("*") if prefix else word
        text = fold(raw)
        key = WordMatcher(text, prefix, exact)
        if key in self._ids:
            return self._ids[key]
        wid = len(self.words)
        self.words.append(key)
        self._ids[key] = wid
        if prefix:
            self._prefixes.setdefault(text, []).append(wid)
            self._prefix_lengths = sorted({len(p) for p in self._prefixes})
        else:
            for form in ({text} if exact else inflections(raw)):
                self._forms.setdefault(form, []).append(wid)
        return wid

    def find(self, tokens: list[Token]) -> dict[int, list[Token]]:
        """Word matcher id → the tokens it matched, in text order."""
        found: dict[int, list[Token]] = {}
        forms, prefixes, lengths = self._forms, self._prefixes, self._prefix_lengths
        for token in tokens:
            for wid in forms.get(token.form, ()):
                found.setdefault(wid, []).append(token)
            for length in lengths:
                if length > len(token.form):
                    break
                for wid in prefixes.get(token.form[:length], ()):
                    found.setdefault(wid, []).append(token)
        return found
