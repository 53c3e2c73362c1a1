"""index: terms compiled once into one lookup structure; text tokenised once per article.

A term's word becomes a set of surface forms: its Ukrainian and Russian inflections, from the
pymorphy3 dictionaries (наступ → наступу, наступом, наступі, …; never наступного, whose lemma is
наступний), or itself for Latin-script words and `=exact` words. All forms of all terms go into one
dict, prefixes (`offensiv*`) into another keyed by their first letters; a text's distinct words meet
the forms in one set intersection and the wildcards by their first letters, and one scan of the text
finds where the words found stand (for the places and the rules together), so the cost grows with
the text, not with the number of terms or rules. Phrases are checked only where their first word was
found.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from operator import itemgetter

from .query import PREFIX_MIN
from .text import fold, fold_mapped, original_offset

# A word, with apostrophes and hyphens inside it: "перемир'я", "counter-offensive" are one token.
_TOKEN = re.compile(r"\w+(?:['-]\w+)*", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# Where a sentence ends: a full stop, ! ? or … before a space and a capital, or a line break. Runs
# on folded text (lower case), so the capital is not seen: "U.S. forces" may end a sentence early,
# which only narrows what a sentence-wide cue reaches.
_SENTENCE_END = re.compile(r"(?:[.!?…]+[\"»”')]*\s+)|\n+")
# An English possessive or contraction is its word plus a clitic: Ukraine's → ukraine's and ukraine.
_CLITIC = re.compile(r"^(\w+)'(s|d|ll|re|ve|t)$")
_HEAD = itemgetter(slice(0, PREFIX_MIN))  # a word's first letters, where the wildcards are filed


class Tokens:
    """One field of an article, folded and split once. Token i is at position i.

    A hyphenated compound is one position with extra forms there: `counter-offensive` is also
    `counteroffensive`, `counter` and `offensive`; `Ukraine's` is also `ukraine`. Character offsets,
    needed only for snippets and capitals, are computed when first asked for.
    """

    __slots__ = ("original", "folded", "words", "_extra", "_extra_at", "_offsets", "_map", "_sentences", "_distinct",
                 "_heads", "_positions", "looked_up")

    def __init__(self, original: str):
        self.original = original
        self.folded, self._map = fold_mapped(original)
        self.words: list[str] = _TOKEN.findall(self.folded)
        self._extra: list[tuple[int, str]] | None = None  # made with the first positions (see there)
        self._extra_at: dict[int, set[str]] | None = None  # extra by position, made on first use
        self._offsets: list[int] | None = None
        self._sentences: list[int] | None = None
        self._distinct: frozenset[str] | None = None
        self._heads: tuple[list[str], list[str]] | None = None
        self._positions: dict[str, list[int]] | None = None
        self.looked_up: dict = {}  # TermIndex → what TermIndex.present found here

    @property
    def extra(self) -> list[tuple[int, str]]:
        """(position, form) of the other readings of compounds, by position: counter-offensive is
        also counteroffensive, counter and offensive there; ukraine's is also ukraine."""
        if self._extra is None:
            self.positions(())
        return self._extra

    def positions(self, forms) -> dict[str, list[int]]:
        """Where each of these words (words of the text) stands, ascending; with the positions of
        words asked before. Words not asked before are found in one scan of the text, the first
        time with the compounds that give `extra`: a scan costs what all the look-ups of a find
        cost, so the places and the rules share one when tag() asks for both (Tokens.prepare)."""
        if self._positions is None:
            self._positions = {}
            compounds = [w for w in self.distinct() if "-" in w or "'" in w] \
                if "-" in self.folded or "'" in self.folded else []
            self._scan(set(forms).union(compounds))
            self._extra = _extra_readings(sorted((p, w) for w in compounds for p in self._positions[w]))
        else:
            known = self._positions
            wanted = [form for form in forms if form not in known]
            if wanted:
                self._scan(set(wanted))
        return self._positions

    def prepare(self, indexes) -> None:
        """Look the words up in these indexes (the places' and the rules'), then find where the words
        any of them holds stand in one scan, for their finds to share."""
        self.positions(set().union(*(index.present(self) for index in indexes)))

    def _scan(self, wanted: set[str]) -> None:
        known, words = self._positions, self.words
        for form in wanted:
            known[form] = []
        if wanted:
            for i in [i for i, word in enumerate(words) if word in wanted]:
                known[words[i]].append(i)

    def distinct(self) -> frozenset[str]:
        """The distinct words, made once for the rules' and the places' look-ups."""
        if self._distinct is None:
            self._distinct = frozenset(self.words)
        return self._distinct

    def starting(self, heads: frozenset[str]) -> list[str]:
        """The distinct words whose first PREFIX_MIN letters are one of heads (where wildcards are)."""
        if self._heads is None:
            words = list(self.distinct())
            # sliced and tested in C (map, compress): a Python loop over the words cost as much as
            # all the look-ups of a find
            self._heads = (words, list(map(_HEAD, words)))
        words, word_heads = self._heads
        if heads.isdisjoint(word_heads):
            return []
        return list(compress(words, map(heads.__contains__, word_heads)))

    def offsets(self, position: int) -> tuple[int, int]:
        """Start and end, in characters of the original text, of the token at a position."""
        if self._offsets is None:
            self._offsets = [m.start() for m in _TOKEN.finditer(self.folded)]
        start = self._offsets[position]
        end = start + len(self.words[position])
        return original_offset(self._map, start), original_offset(self._map, end - 1) + 1

    def surface(self, position: int) -> str:
        """The token as written, in lower case (ї, й and ё kept: the dictionaries need them)."""
        start, end = self.offsets(position)
        return self.original[start:end].casefold().replace("’", "'").replace("ʼ", "'")

    def has_form(self, position: int, forms: frozenset[str]) -> bool:
        """Whether the word at position (or another reading of it, see extra) is one of forms."""
        if 0 <= position < len(self.words) and self.words[position] in forms:
            return True
        if not self.extra:
            return False
        if self._extra_at is None:
            self._extra_at = {}
            for p, form in self.extra:
                self._extra_at.setdefault(p, set()).add(form)
        return not forms.isdisjoint(self._extra_at.get(position, ()))

    def capitalised(self, position: int) -> bool:
        start = self.offsets(position)[0]
        return start < len(self.original) and self.original[start].isupper()

    def sentence_start(self, position: int) -> bool:
        """Whether the token begins a sentence (or the field), where every word has a capital."""
        i = self.offsets(position)[0] - 1
        while i >= 0 and (self.original[i].isspace() or self.original[i] in "«“„\"'([‘"):
            i -= 1
        return i < 0 or self.original[i] in ".!?…:;—–-\n"

    def sentence(self, position: int) -> int:
        """The number of the sentence the token is in (0 for the first), counted once per field."""
        if self._sentences is None:
            if self._offsets is None:
                self._offsets = [m.start() for m in _TOKEN.finditer(self.folded)]
            ends = [m.end() for m in _SENTENCE_END.finditer(self.folded)]
            self._sentences = [bisect_right(ends, offset) for offset in self._offsets]
        return self._sentences[position]

    def __len__(self) -> int:
        return len(self.words)


def _extra_readings(compounds: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Tokens.extra from the compounds' (position, word), in order."""
    extra: list[tuple[int, str]] = []
    for i, word in compounds:
        if "-" in word:
            parts = word.split("-")
            extra.append((i, "".join(parts)))
            extra.extend((i, part) for part in parts)
        else:
            clitic = _CLITIC.match(word)
            if clitic:
                extra.append((i, clitic.group(1)))
    return extra


def tokenize(text: str) -> Tokens:
    return Tokens(text or "")


def variants(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The word sequences a term also stands for, since writers join and hyphenate freely:
    cease-fire ~ "cease fire" ~ ceasefire; "counter offensive" ~ counter-offensive ~ counteroffensive."""
    out = [words]
    if any("-" in w for w in words):
        out.append(tuple(part for w in words for part in w.split("-") if part))
        out.append(tuple(w.replace("-", "") for w in words))
    else:
        for i in range(len(words) - 1):  # each neighbouring pair, e.g. "cease fire agreement"
            a, b = words[i], words[i + 1]
            if len(a) >= 3 and len(b.rstrip("*")) >= 3:  # not U.S. → "us"
                for joined in (f"{a}-{b}", f"{a}{b}"):
                    out.append(words[:i] + (joined,) + words[i + 2:])
    return list(dict.fromkeys(out))


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
    forms = {folded}
    for parse in _readings(word):
        forms.update(fold(f.word) for f in parse.lexeme)
    parts = word.split("-")
    if len(parts) == 2 and all(_CYRILLIC.search(part) for part in parts):
        # A compound whose parts both inflect, in the same case: Білгород-Дністровський →
        # Білгорода-Дністровського, Белгороду-Днестровскому (the dictionaries inflect only its end).
        first, second = (_by_case(part) for part in parts)
        for case in first.keys() & second.keys():
            forms.update(f"{a}-{b}" for a in first[case] for b in second[case])
    return frozenset(forms)


def _by_case(word: str) -> dict[tuple, set[str]]:
    """The folded forms of a word, by (case, number)."""
    out: dict[tuple, set[str]] = {}
    for parse in _readings(word):
        for form in parse.lexeme:
            out.setdefault((form.tag.case, form.tag.number), set()).add(fold(form.word))
    return out


def _readings(word: str) -> list:
    """The pymorphy3 readings whose lexemes a Cyrillic word stands for (see inflections)."""
    folded = fold(word)
    lower = word.casefold().replace("’", "'").replace("ʼ", "'")
    by_language = [analyzer.parse(lower) for analyzer in _analyzers()]
    parses = [p for readings in by_language for p in readings]
    known = [p for p in parses if p.is_known]  # the other language's analyzer only guesses
    chosen = [p for p in known if fold(p.normal_form) == folded]
    if not chosen:
        # Not a dictionary form itself: a feminine or neuter adjective (Сумская, Київська) or an
        # inflected word. Take the dictionary words it is a nominative of; for a word no dictionary
        # knows (a small town), the guesser's most likely reading.
        chosen = [p for p in known if "nomn" in p.tag]
    if not chosen and known:
        chosen = [max(known, key=lambda p: p.score)]  # an inflected form: its word's forms (Києві → Київ)
    if not chosen and parses:
        # No dictionary knows it: each language's best guess that takes it as a dictionary form
        # (Белгородчина: на Белгородчине and на Бєлгородчині), or the single best reading.
        for readings in by_language:
            lemma = [p for p in readings if fold(p.normal_form) == folded]
            if lemma:
                chosen.append(max(lemma, key=lambda p: p.score))
        chosen = chosen or [max(parses, key=lambda p: p.score)]
    elif any(p in chosen for p in parses) and not _ONE_LANGUAGE.search(lower):
        # A word one language knows and the other writes the same way (Сумщина, Курщина are used in
        # Russian text too) also gets the other language's endings: на Сумщине as well as на Сумщині.
        # Not a word only one of them spells so (Покровськ: Russian endings would make it Покровське,
        # a village of its own).
        for readings in by_language:
            guesses = [p for p in readings if fold(p.normal_form) == folded]
            if guesses and not any(p.is_known for p in readings):
                chosen.append(max(guesses, key=lambda p: p.score))
    return chosen


# Letters and endings only one of the two languages writes: Ukrainian і ї є ґ, -ськ, -цьк; Russian ы э ъ ё.
_ONE_LANGUAGE = re.compile("[іїєґыэъё]|[сц]ьк")

_PROPER = {"Geox", "Name", "Surn", "Patr", "Orgn", "Trad"}


@lru_cache(maxsize=50_000)
def common_word(form: str, lemma: str) -> bool:
    """Whether a word (in lower case, as written) that is a form of the place name `lemma` (folded) is
    also an ordinary word: суми
    (sums), ровно (exactly), рівне (flat). At the start of a sentence such a name proves nothing.

    The Russian dictionary marks place names (Geox), so any other reading there is an ordinary word.
    The Ukrainian one does not: there a reading of another dictionary word counts. A genitive plural
    never counts (Київ, Киев are also "of cues", from кий): no sentence starts with one.
    """
    if not _CYRILLIC.search(form):
        return False
    uk, ru = _analyzers()

    def other(p) -> bool:
        return p.is_known and fold(p.normal_form) != lemma and not {"plur", "gent"} <= set(p.tag.grammemes)

    russian = ru.parse(form)
    if any(other(p) and not (_PROPER & set(p.tag.grammemes)) for p in russian):
        return True
    if any(p.is_known and "Geox" in p.tag for p in russian):
        return False
    # Nor a first name's plural there: Миколаїв is also "the Mykolas" (accusative of Микола)
    return any(other(p) and not (_PROPER & set(p.tag.grammemes)) for p in uk.parse(form))


@dataclass(frozen=True)
class WordMatcher:
    text: str
    prefix: bool
    exact: bool


class TermIndex:
    """Words of many terms in two lookups; `find` gives, per word matcher, the positions it occurs at."""

    def __init__(self, known_forms: dict[str, list[str]] | None = None) -> None:
        # Forms worked out beforehand (the gazetteer ships its own: asking the dictionaries for
        # 4,000 name words takes seconds at every start). `inflected` records what was used, to ship.
        self.known_forms = known_forms or {}
        self.inflected: dict[str, frozenset[str]] = {}
        self.followers: dict[int, frozenset[str]] = {}
        self.words: list[WordMatcher] = []
        self._ids: dict[WordMatcher, int] = {}
        self._forms: dict[str, list[int]] = {}
        # prefixes keyed by their first PREFIX_MIN letters, which a text's words are sliced to
        self._prefixes: dict[str, list[tuple[str, int]]] = {}
        # _forms' keys as a set, made on the first find after a change: frozenset & frozenset is
        # three times quicker than against dict keys
        self._vocabulary: frozenset[str] | None = None
        self._heads: frozenset[str] | None = None  # _prefixes' keys, likewise

    def add(self, word: str, *, prefix: bool = False, exact: bool = False) -> int:
        raw = word.rstrip("*") if prefix else word
        text = fold(raw)
        key = WordMatcher(text, prefix, exact)
        if key in self._ids:
            return self._ids[key]
        wid = len(self.words)
        self.words.append(key)
        self._vocabulary = self._heads = None
        self._ids[key] = wid
        if prefix:
            if len(text) < PREFIX_MIN:
                raise ValueError(f"a wildcard needs at least {PREFIX_MIN} letters before the *")
            self._prefixes.setdefault(text[:PREFIX_MIN], []).append((text, wid))
        else:
            if exact:
                forms = frozenset({text})
            elif raw in self.known_forms:
                forms = frozenset(self.known_forms[raw])
            else:
                forms = inflections(raw)
            if forms != {text}:
                self.inflected[raw] = forms
            for form in forms:
                self._forms.setdefault(form, []).append(wid)
        return wid

    def follow(self, ids: set[int]) -> None:
        """Take these words out of `find`: they only follow another word in a phrase, whose evaluator
        reads them off the text (Tokens.has_form) where the phrase's first word is. `followers` keeps
        their forms."""
        ids = {wid for wid in ids if not self.words[wid].prefix}
        self._vocabulary = None
        for form, wids in list(self._forms.items()):
            kept = [wid for wid in wids if wid not in ids]
            for wid in wids:
                if wid in ids:
                    self.followers.setdefault(wid, set()).add(form)
            if kept:
                self._forms[form] = kept
            else:
                del self._forms[form]
        for wid in ids:
            self.followers[wid] = frozenset(self.followers.get(wid, ()))

    def lookup(self, form: str) -> list[int]:
        """The word matchers a folded form matches."""
        found = self._forms.get(form, [])
        for prefix, wid in self._prefixes.get(form[:PREFIX_MIN], ()):
            if form.startswith(prefix):
                found = found + [wid]
        return found

    def present(self, tokens: Tokens) -> dict[str, list[int]]:
        """The text's words this index holds → their word matchers (forms', then wildcards'); kept
        on the tokens while the index is unchanged."""
        kept = tokens.looked_up.get(self)
        if kept is not None and kept[0] is self._vocabulary:
            return kept[1]
        forms, prefixes = self._forms, self._prefixes
        if self._vocabulary is None:
            self._vocabulary = frozenset(forms)
        # the text's distinct words against all forms in one set intersection, not a look-up each:
        # a 5 kB body has ~330 distinct words, ~10 of them any rule's or place's
        hit_forms = {form: forms[form] for form in tokens.distinct() & self._vocabulary}
        if prefixes:
            if self._heads is None:
                self._heads = frozenset(prefixes)
            for form in tokens.starting(self._heads):
                extra = [wid for prefix, wid in prefixes[form[:PREFIX_MIN]] if form.startswith(prefix)]
                if extra:
                    hit_forms[form] = hit_forms.get(form, []) + extra
        tokens.looked_up[self] = (self._vocabulary, hit_forms)
        return hit_forms

    def find(self, tokens: Tokens) -> dict[int, list[int]]:
        """Word matcher id → the positions where it matched, ascending."""
        hit_forms = self.present(tokens)
        found: dict[int, list[int]] = {}
        if hit_forms:
            at = tokens.positions(hit_forms)
            # ids in the order a scan of the text meets them (by where their first form first stands),
            # as the matches' terms are listed
            merged = []
            for form in sorted(hit_forms, key=lambda form: at[form][0]) if len(hit_forms) > 1 else hit_forms:
                for wid in hit_forms[form]:
                    if wid in found:
                        found[wid].extend(at[form])
                        merged.append(wid)
                    else:
                        found[wid] = list(at[form])
            for wid in merged:
                found[wid].sort()
        if tokens.extra:
            extra_at: dict[int, set[int]] = {}
            vocabulary, heads = self._vocabulary, self._heads or ()
            for position, form in tokens.extra:
                if form in vocabulary or form[:PREFIX_MIN] in heads:
                    for wid in self.lookup(form):
                        extra_at.setdefault(wid, set()).add(position)
            for wid, positions in extra_at.items():
                found[wid] = sorted(positions.union(found.get(wid, ())))
        return found
