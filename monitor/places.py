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
  in Texas, Bohdan Khmelnytsky the hetman), or in the same or a neighbouring sentence for the cues
  whose window is "sentence" (Donetsk in Rostov region, the Kursk submarine);
- names that are not places (newspapers, football clubs: Українська правда, Shakhtar Donetsk) are
  matched too and cover the place names inside them, then dropped;
- "<adjective> <noun>" names (область, район, громада, округ, напрямок, ОВА …) also match when
  several adjectives share one noun: "в Одеській, Миколаївській … та Чернігівській областях".
"""

from __future__ import annotations

import json
from bisect import bisect_left
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

from .index import TermIndex, Tokens, common_word, tokenize, variants
from .text import fold

CORE, SETTLEMENT, ADJECTIVE, NOT_A_PLACE = "name", "settlement", "adjective", ""
SENTENCE = -1  # a cue window that reaches over the name's sentence and its neighbours


@dataclass(frozen=True)
class Place:
    code: str
    name_en: str
    name_uk: str | None
    name_ru: str | None
    country: str


@dataclass(frozen=True)
class PlaceHit:
    code: str  # "" while a shared name waits for the article's context (see Gazetteer.tag)
    via: str  # "name" (the region or its centre) or "settlement"
    name: str  # the gazetteer name that matched
    field: str
    start: int
    end: int
    options: tuple[str, ...] = ()  # a name several regions share: the regions it may be


@dataclass(frozen=True)
class _Name:
    code: str
    via: str
    text: str
    ids: tuple[int, ...]
    cues: frozenset[int]  # word-matcher ids whose nearness cancels this name
    window: int
    coordinated: bool = False  # "Курській і Брянській областях": the noun comes after another name
    options: tuple[str, ...] = ()  # shared by these regions; `code` is the one meant without context, or ""
    any_case: bool = False  # directions are written in lower case: на покровському напрямку
    common_forms: bool = False  # its forms that are ordinary words never count (Українськ: українська)
    villages: tuple[str, ...] = ()  # a town's name that villages bear too: after "село", one of these regions


# "<adjective> <noun>" names also match when coordinated: у Курській і Брянській областях, in the
# Sumy and Kharkiv regions, Мукачівського та Ужгородського районів, Сумської і Краснопільської громад.
# Folded lemmas; the matcher inflects the Ukrainian and Russian ones.
REGION_NOUNS = {"область", "oblast", "region", "regions", "oblasts", "край", "province", "provinces",
                "район", "округ", "громада", "напрямок", "напрям", "направление", "district", "districts",
                "raion", "raions", "hromada", "hromadas", "direction", "directions"}
# Words that may stand between the adjectives of such a list: "у Сумській, Харківській, а також частково
# у Кіровоградській областях", "Донецької та частини Чернігівської областей".
CONJUNCTIONS = {"и", "і", "й", "та", "and", "or", "или", "або", "чи", "а", "також", "также", "as", "well", "у", "в",
                "во", "частково", "частично", "частини", "частину", "части", "частина"}
# A name typed as it stands in a sentence (Gazetteer.resolve): "на Сумщині", "під Харковом", "in Sumy".
PREPOSITIONS = {"у", "в", "во", "на", "під", "под", "біля", "около", "поблизу", "із", "з", "из", "in", "near", "around"}
# Military directions and sectors: their adjective is written in lower case (на куп'янському напрямку).
DIRECTION_NOUNS = {"напрямок", "напрям", "направление", "ділянка", "участок"}
# A place's name before these words names a military unit (in English): "Kyiv City Defense Brigade".
UNIT_WORDS = {"brigade", "brigades", "battalion", "battalions", "regiment", "regiments"}
UNIT_QUALIFIERS = {"defense", "defence", "territorial", "mechanized", "mechanised", "assault", "rifle", "separate",
                   "city", "oblast", "region", "regional"}
# A settlement followed by its region ("Білогорівки Донецької області", "Vovchansk, Kharkiv Oblast") is
# in that region, whatever the gazetteer says its name means alone; up to two of these may stand between.
REGION_FILLERS = {"in", "the", "of", "у", "в", "во"}
# "село Добропілля", "the village of Dobropillia": a town's name used for a village of the same name.
VILLAGE_WORDS = {"село", "села", "селі", "селом", "селу", "селище", "селища", "селищі", "селищем", "селе", "поселок",
                 "поселка", "поселке", "поселком", "деревня", "деревни", "деревне", "village", "villages", "hamlet"}


class Gazetteer:
    def __init__(self, data: dict):
        self.places = tuple(
            Place(p["code"], p["name_en"], p.get("name_uk"), p.get("name_ru"), p.get("country", p["code"][:2]))
            for p in data["places"]
        )
        self.index = TermIndex({word: forms.split() for word, forms in data.get("forms", {}).items()})
        cues: dict[str, tuple[frozenset[int], int, bool]] = {}
        for entry in data.get("ambiguous", []):
            ids = frozenset(self.index.add(word) for cue in entry.get("unless_near", []) for word in cue.split())
            window = entry.get("window", 3)
            cues[fold(entry["name"])] = (ids, SENTENCE if window == "sentence" else int(window),
                                         bool(entry.get("common_forms")))
        names: dict[tuple, _Name] = {}
        for place in data["places"]:
            for aliases in place.get("aliases", {}).values():
                for alias in aliases:
                    self._add(names, place["code"], CORE, alias, cues)
        for town in data.get("settlements", []):
            self._add(names, town.get("code") or "", SETTLEMENT, town["name"], cues, tuple(town.get("codes", ())),
                      tuple(town.get("villages", ())))
        for other in data.get("not_places", []):
            self._add(names, "", NOT_A_PLACE, other["name"], cues)
        for adjective in data.get("adjectives", []):
            self._add(names, adjective["code"], ADJECTIVE, adjective["name"], cues)
        self.names = tuple(names.values())
        self._by_first: dict[int, list[_Name]] = {}
        for name in self.names:
            self._by_first.setdefault(name.ids[0], []).append(name)

    def _add(self, names: dict, code: str, via: str, alias: str, cues: dict, options: tuple[str, ...] = (),
             villages: tuple[str, ...] = ()) -> None:
        words = tuple(alias.split())
        if not words:
            return
        cue_ids, window, common_forms = cues.get(fold(alias), (frozenset(), 0, False))
        any_case = fold(words[-1]) in DIRECTION_NOUNS
        for spelling in variants(words):
            if len(spelling) < len(words) and not alias.isascii():
                continue  # "Kryvyi Rih" may be written joined; "Сумська громада" never is
            ids = tuple(self.index.add(w) for w in spelling)
            key = (code, options, ids)
            if key in names and names[key].via in (CORE, NOT_A_PLACE):
                continue
            names[key] = _Name(code, via, alias, ids, cue_ids, window, options=options, any_case=any_case,
                               common_forms=common_forms, villages=villages)
        if len(words) == 2 and fold(words[1]) in REGION_NOUNS:
            # English nouns do not inflect: "the Kyiv and Chernihiv regions" needs the plural too.
            for noun in {words[1], words[1] + "s"} if words[1].isascii() else {words[1]}:
                ids = (self.index.add(words[0]), self.index.add(noun))
                names[(code, options, ids, "coordinated")] = _Name(code, via, alias, ids, cue_ids, window,
                                                                   coordinated=True, options=options, any_case=any_case)

    def tag(self, title: str, text: str, tokens: dict[str, Tokens] | None = None) -> list[PlaceHit]:
        """Every region named in title or text, once per occurrence (longest names first)."""
        tokens = tokens or {"title": tokenize(title or ""), "text": tokenize(text or "")}
        hits: list[PlaceHit] = []
        decided: dict[_Name, bool] = {}  # names with cues: whether the text kept them
        for field in ("text", "title"):  # the text first: it says what an ambiguous title word means
            toks = tokens[field]
            found = self.index.find(toks)
            at = {wid: set(positions) for wid, positions in found.items()}
            adjectives = {p for wid in found for n in self._by_first.get(wid, ()) if n.coordinated for p in found[wid]}
            candidates: list[PlaceHit] = []
            for wid, positions in found.items():
                for name in self._by_first.get(wid, ()):
                    for p in positions:
                        if self._stands(name, p, toks, at, adjectives) and self._meant(name, p, toks, found, field, decided):
                            candidates.append(_hit(name, field, p, toks))
            hits.extend(_placed_by_region([hit for hit in _longest(candidates) if hit.via != NOT_A_PLACE], toks))
        return _resolve(hits)

    def _stands(self, name: _Name, p: int, toks: Tokens, at: dict[int, set[int]], adjectives: set[int]) -> bool:
        """Whether the name is written at p, as a name: its words in order (or a coordinated list), a
        capital where one is due, not part of a longer hyphenated name."""
        rest = name.ids[1:]
        if name.coordinated:
            if not _coordinated(p, rest[0], toks, at, adjectives):
                return False
        elif not all(p + k in at.get(other, ()) for k, other in enumerate(rest, start=1)):
            return False
        if not name.any_case and not toks.capitalised(p):
            return False
        if name.via == ADJECTIVE and toks.sentence_start(p):
            return False  # every word has a capital there: "Харківський" proves nothing
        if not rest and (name.common_forms or toks.sentence_start(p)) and common_word(toks.surface(p), fold(name.text)):
            return False  # "Ровно в полночь", "Щастя — це мир": a capital proves nothing here
        if _names_a_unit(p + len(name.ids) - 1, toks):
            return False  # the 112th Kyiv City Defense Brigade is a brigade, wherever it fights
        if "-" in toks.words[p] and self._inside_another_name(name, toks.words[p]):
            return False  # Белгород inside Белгород-Днестровский is not Belgorod; Kharkiv-based is Kharkiv
        return True

    def _meant(self, name: _Name, p: int, toks: Tokens, found: dict, field: str, decided: dict[_Name, bool]) -> bool:
        """Whether no cue word says the name means something else here (the river, the hetman, the
        submarine). A title is too short for cues: it follows what the text decided."""
        if not name.cues:
            return True
        last = p + len(name.ids) - 1
        if name.window == SENTENCE:
            here = toks.sentence(p)
            near = any(abs(toks.sentence(q) - here) <= 1 for cue in name.cues for q in found.get(cue, ()))
        else:
            near = any(_within(found.get(cue, ()), p - name.window, last + name.window) for cue in name.cues)
        if near or (field == "title" and decided.get(name) is False):
            decided.setdefault(name, False)
            return False
        decided[name] = True
        return True

    def _inside_another_name(self, name: _Name, word: str) -> bool:
        """Whether a hyphenated word that `name` matched through one of its parts begins, as a whole,
        another name (the part is then not this place): Білгород-Дністровському районі is not
        Дністровський район."""
        whole = set(self.index.lookup(word) + self.index.lookup(word.replace("-", "")))
        return name.ids[0] not in whole and any(wid in self._by_first for wid in whole)

    def resolve(self, name: str) -> list[str]:
        """The regions a name someone typed stands for (a search box): a code (ua-59), or any name the
        tagger knows in any spelling and inflection, case and apostrophes aside (Сумщина, на Сумщині,
        Kharkov, Pokrovsk). The whole of it must be one name: no capitals or cues are asked for, since
        the reader says it is a place. A name several regions share gives them all, sorted."""
        wanted = (name or "").strip()
        known = {place.code for place in self.places}
        if wanted.upper() in known:
            return [wanted.upper()]
        words = tokenize(wanted).words
        if len(words) > 1 and words[0] in PREPOSITIONS:
            words = words[1:]  # typed as in a sentence: "на Сумщині", "near Kupiansk"
        if not words:
            return []
        readings = [set(self.index.lookup(word)) for word in words]
        codes: set[str] = set()
        for wid in readings[0]:
            for entry in self._by_first.get(wid, ()):
                if entry.via != NOT_A_PLACE and len(entry.ids) == len(words) and all(
                        other in reading for other, reading in zip(entry.ids[1:], readings[1:])):
                    codes.update(code for code in (entry.code, *entry.options) if code)
        return sorted(codes)

    def codes(self, title: str, text: str, tokens: dict[str, Tokens] | None = None) -> list[str]:
        """The regions named, once each, in order of first mention."""
        seen: dict[str, None] = {}
        for hit in sorted(self.tag(title, text, tokens), key=lambda h: (h.field != "title", h.start)):
            seen.setdefault(hit.code)
        return list(seen)


def _coordinated(p: int, noun: int, toks: Tokens, at: dict[int, set[int]], adjectives: set[int]) -> bool:
    """Adjective at p in a list of such adjectives and conjunctions, however long, with the noun after
    it (у Сумській, Харківській … та Чернігівській областях) or, up to two words, before it (в трьох
    областях України – Донецькій, Сумській та Чернігівській; напрямків фронту: Донецького, Курського)."""
    nouns = at.get(noun, ())
    if not nouns:
        return False

    def in_list(q: int) -> bool:
        return toks.words[q] in CONJUNCTIONS or q in adjectives

    after = p + 1
    while after < len(toks) and in_list(after):
        after += 1
    if after in nouns:
        return after > p + 1
    before = p - 1
    while before >= 0 and in_list(before):
        before -= 1
    listed = sum(1 for q in range(before + 1, after) if q in adjectives)
    here = toks.sentence(p)  # "…на Куп'янському напрямку. У Сумській, Харківській …" is no list of directions
    return listed >= 2 and any(before - k in nouns and toks.sentence(before - k) == here for k in range(3))


def _names_a_unit(last: int, toks: Tokens) -> bool:
    for word in toks.words[last + 1:last + 5]:
        if word in UNIT_WORDS:
            return True
        if word not in UNIT_QUALIFIERS:
            return False
    return False


def _hit(name: _Name, field: str, p: int, toks: Tokens) -> PlaceHit:
    hit = PlaceHit(name.code, name.via, name.text, field, p, p + len(name.ids) - 1, name.options)
    if name.villages and _after_village_word(p, toks):
        # the town's name for a village: the village's region by context, else none (or the town's
        # own region, when a village of the name lies there too)
        hit = replace(hit, code=name.code if name.code in name.villages else "", options=name.villages)
    return hit


def _after_village_word(p: int, toks: Tokens) -> bool:
    words = toks.words
    return p > 0 and (words[p - 1] in VILLAGE_WORDS or (p > 1 and words[p - 1] == "of" and words[p - 2] in VILLAGE_WORDS))


def _placed_by_region(hits, toks: Tokens) -> list[PlaceHit]:
    """A settlement (or a run of them: a village, its raion) followed by a region's "<adjective>
    <noun>" name is in that region: "Білогорівки Донецької області" is not the Luhansk Bilohorivka,
    "Добропілля Запорізької області" not the Donetsk town, "Vovchansk in Kharkiv Oblast" is Kharkiv's."""
    hits = sorted(hits, key=lambda h: (h.start, h.end))
    for i, hit in enumerate(hits):
        if hit.via != SETTLEMENT:
            continue
        end = hit.end
        for after in hits[i + 1:]:
            gap = toks.words[end + 1:after.start]
            if len(gap) > 2 or not set(gap) <= REGION_FILLERS:
                break
            if after.via == CORE and " " in after.name and fold(after.name.split()[-1]) in REGION_NOUNS:
                if after.code != hit.code or hit.options:
                    hits[i] = replace(hit, code=after.code, options=())
                break
            end = after.end
    return hits


def _resolve(hits: list[PlaceHit]) -> list[PlaceHit]:
    """Settle the names several regions share by the region named nearest to them elsewhere in the
    article: Покровська громада is Nikopol's (UA-12) beside Нікопольщина, Pokrovsk's (UA-14) beside
    Донеччина; "село Добропілля" north of Гуляйполе is Zaporizhzhia's. Without such a region a
    name keeps the region meant alone (the city's hromada outranks the village's), or is dropped: no
    tag rather than a guessed one."""
    if not any(hit.options for hit in hits):
        return hits
    named = [hit for hit in hits if hit.code and not hit.options]
    out = []
    for hit in hits:
        if hit.options:
            near = sorted((abs(other.start - hit.start), other.code) for other in named
                          if other.field == hit.field and other.code in hit.options)
            code = near[0][1] if near and (len(near) == 1 or near[0][0] < near[1][0]) else hit.code
            if not code:
                continue
            hit = replace(hit, code=code)
        out.append(hit)
    return out


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
