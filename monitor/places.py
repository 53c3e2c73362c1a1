"""places: which ISO 3166-2 regions an article names. Pure, over the shipped gazetteer.

The gazetteer (data/places.json, built by tools/build_places.py; sources and decisions in
data/PLACES.md) lists, per region, its names in English, Ukrainian and Russian (official names,
short names, nicknames like Харківщина, transliterations like Kharkov) and its centre, and separately
towns that place an article in a region (Pokrovsk → UA-14). Names are compiled like rule terms, so
Ukrainian and Russian names match in every case (у Харківській області, під Харковом, в Харькове).

Decisions that keep precision:
- a name must start with a capital letter in the text, as a place name does: "суми грошей" (sums of
  money) is not Sumy, "рівне поле" (a flat field) is not Rivne;
- the longest name wins: "Kyiv Oblast" is UA-32, not also UA-30 for its "Kyiv";
- a name listed as ambiguous is dropped when one of its cue words is near (the Dnipro river, Odessa
  in Texas, Bohdan Khmelnytsky the hetman).
"""

from __future__ import annotations

import json
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .index import TermIndex, Tokens, common_word, tokenize, variants
from .text import fold

CORE, SETTLEMENT = "name", "settlement"


@dataclass(frozen=True)
class Place:
    code: str
    name_en: str
    name_uk: str | None
    name_ru: str | None
    country: str


@dataclass(frozen=True)
class PlaceHit:
    code: str
    via: str  # "name" (the region or its centre) or "settlement"
    name: str  # the gazetteer name that matched
    field: str
    start: int
    end: int


@dataclass(frozen=True)
class _Name:
    code: str
    via: str
    text: str
    ids: tuple[int, ...]
    cues: frozenset[int]  # word-matcher ids whose nearness cancels this name
    window: int
    coordinated: bool = False  # "Курській і Брянській областях": the noun comes after another name


# "<adjective> <region noun>" names also match when coordinated: у Курській і Брянській областях,
# in the Sumy and Kharkiv regions.
REGION_NOUNS = {"область", "oblast", "region", "regions", "oblasts", "край", "province"}
CONJUNCTIONS = {"и", "і", "й", "та", "and", "or", "или", "або", "чи"}


class Gazetteer:
    def __init__(self, data: dict):
        self.places = tuple(
            Place(p["code"], p["name_en"], p.get("name_uk"), p.get("name_ru"), p.get("country", p["code"][:2]))
            for p in data["places"]
        )
        self.index = TermIndex()
        cues: dict[str, tuple[frozenset[int], int]] = {}
        for entry in data.get("ambiguous", []):
            ids = frozenset(self.index.add(word) for cue in entry.get("unless_near", []) for word in cue.split())
            cues[fold(entry["name"])] = (ids, int(entry.get("window", 3)))
        names: dict[tuple, _Name] = {}
        for place in data["places"]:
            for aliases in place.get("aliases", {}).values():
                for alias in aliases:
                    self._add(names, place["code"], CORE, alias, cues)
        for town in data.get("settlements", []):
            self._add(names, town["code"], SETTLEMENT, town["name"], cues)
        self.names = tuple(names.values())
        self._by_first: dict[int, list[_Name]] = {}
        for name in self.names:
            self._by_first.setdefault(name.ids[0], []).append(name)

    def _add(self, names: dict, code: str, via: str, alias: str, cues: dict) -> None:
        words = tuple(alias.split())
        if not words:
            return
        cue_ids, window = cues.get(fold(alias), (frozenset(), 0))
        for spelling in variants(words):
            ids = tuple(self.index.add(w) for w in spelling)
            key = (code, ids)
            if key in names and names[key].via == CORE:
                continue
            names[key] = _Name(code, via, alias, ids, cue_ids, window)
        if len(words) == 2 and fold(words[1]) in REGION_NOUNS:
            # English nouns do not inflect: "the Kyiv and Chernihiv regions" needs the plural too.
            for noun in {words[1], words[1] + "s"} if words[1].isascii() else {words[1]}:
                ids = (self.index.add(words[0]), self.index.add(noun))
                names[(code, ids, "coordinated")] = _Name(code, via, alias, ids, cue_ids, window, coordinated=True)

    def tag(self, title: str, text: str, tokens: dict[str, Tokens] | None = None) -> list[PlaceHit]:
        """Every region named in title or text, once per occurrence (longest names first)."""
        tokens = tokens or {"title": tokenize(title or ""), "text": tokenize(text or "")}
        hits: list[PlaceHit] = []
        kept: set[_Name] = set()
        cancelled: set[_Name] = set()
        for field in ("text", "title"):  # the text first: it says what an ambiguous title word means
            toks = tokens[field]
            found = self.index.find(toks)
            at = {wid: set(positions) for wid, positions in found.items()}
            adjectives = {p for wid in found for n in self._by_first.get(wid, ()) if n.coordinated for p in found[wid]}
            candidates: list[PlaceHit] = []
            for wid, positions in found.items():
                for name in self._by_first.get(wid, ()):
                    rest = name.ids[1:]
                    for p in positions:
                        if name.coordinated:
                            if not _coordinated(p, rest[0], toks, at, adjectives):
                                continue
                        elif not all(p + k in at.get(other, ()) for k, other in enumerate(rest, start=1)):
                            continue
                        if not toks.capitalised(p):
                            continue
                        if not rest and toks.sentence_start(p) and common_word(toks.words[p], fold(name.text)):
                            continue  # "Ровно в полночь", "Щастя — це мир": a capital proves nothing here
                        if not rest and "-" in toks.words[p] and self._inside_another_name(name, toks.words[p]):
                            continue  # Белгород inside Белгород-Днестровский is not Belgorod; Kharkiv-based is Kharkiv
                        last = p + len(rest)
                        if name.cues:
                            near = any(_within(found.get(cue, ()), p - name.window, last + name.window) for cue in name.cues)
                            # A title is too short for cues: it follows what the text decided.
                            if near or (field == "title" and name in cancelled and name not in kept):
                                cancelled.add(name)
                                continue
                            kept.add(name)
                        candidates.append(PlaceHit(name.code, name.via, name.text, field, p, last))
            hits.extend(_longest(candidates))
        return hits

    def _inside_another_name(self, name: _Name, word: str) -> bool:
        """Whether a hyphenated word that `name` matched through one of its parts is, as a whole,
        another one-word name (the part is then not this place)."""
        whole = set(self.index.lookup(word) + self.index.lookup(word.replace("-", "")))
        return name.ids[0] not in whole and any(not n.ids[1:] for wid in whole for n in self._by_first.get(wid, ()))

    def codes(self, title: str, text: str, tokens: dict[str, Tokens] | None = None) -> list[str]:
        """The regions named, once each, in order of first mention."""
        seen: dict[str, None] = {}
        for hit in sorted(self.tag(title, text, tokens), key=lambda h: (h.field != "title", h.start)):
            seen.setdefault(hit.code)
        return list(seen)


def _coordinated(p: int, noun: int, toks: Tokens, at: dict[int, set[int]], adjectives: set[int]) -> bool:
    """Adjective at p, then other region adjectives and conjunctions, then the region noun:
    у Сумській, Харківській та Чернігівській областях."""
    for q in range(p + 1, min(len(toks), p + 8)):
        if q in at.get(noun, ()):
            return q > p + 1
        if toks.words[q] not in CONJUNCTIONS and q not in adjectives:
            return False
    return False


def _within(positions: list[int], low: int, high: int) -> bool:
    i = bisect_left(positions, low)
    return i < len(positions) and positions[i] <= high


def _longest(candidates: list[PlaceHit]) -> list[PlaceHit]:
    """Drop a hit inside a longer one ("Kyiv" inside "Kyiv Oblast"). Longest first; each position
    remembers the longest kept hit over it, so a text of thousands of names stays linear."""
    kept: list[PlaceHit] = []
    cover: dict[int, PlaceHit] = {}
    for hit in sorted(candidates, key=lambda h: h.start - h.end):
        other = cover.get(hit.start)
        if other is not None and hit.end <= other.end and (other.end - other.start) > (hit.end - hit.start):
            continue
        kept.append(hit)
        for position in range(hit.start, hit.end + 1):
            cover.setdefault(position, hit)
    return kept


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """The shipped gazetteer, compiled once per process."""
    raw = (resources.files("monitor") / "data" / "places.json").read_text(encoding="utf-8")
    return Gazetteer(json.loads(raw))
