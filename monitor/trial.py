"""trial: the rules and the place tagger tried on one text, as `monitor rules test` runs them.

A text comes from a file, a URL or standard input; HTML is extracted first, anything else is read as
a title line and a body. Cases in JSON lines are tagged one by one. Showing the result is the CLI's.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .rules import tag

MAX_PAGE = 8 * 2**20  # the largest page `rules test URL` fetches


@dataclass(frozen=True)
class Sample:
    title: str
    text: str
    lang: str | None


@dataclass(frozen=True)
class Trial:
    sample: Sample
    matches: list  # rules.Match, in the rule set's order
    places: list[str]  # region codes
    hits: list  # the gazetteer's hits, title first, in text order: which name found each place


class BadCase(ValueError):
    """A JSON line that is not an object with a title and a text."""

    def __init__(self, number: int, problem: Exception):
        super().__init__(f"{number}: not a JSON object with title and text ({problem})")
        self.number = number


def read_source(source: str) -> Sample:
    """Title, text and language of a file, a URL or `-` (standard input). Raises FeedError for a
    URL that cannot be fetched, OSError for a file that cannot be read."""
    from .extract import extract

    if source.startswith(("http://", "https://")):
        from .config import default_fetch
        from .fetch import PAGE_ACCEPT, Fetcher

        async def get():
            async with Fetcher(default_fetch()) as fetcher:
                return await fetcher.get(source, feed="rules test", max_bytes=MAX_PAGE, deadline=30, accept=PAGE_ACCEPT)

        response = asyncio.run(get())
        body, ctype = response.body, response.content_type
    else:
        body = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        ctype = ""
    if body.lstrip()[:1] == b"<":
        got = extract(body, url=source if "://" in source else "", content_type=ctype)
        return Sample(got.title or "", got.text, got.lang)
    from .extract import language
    from .text import decode_html

    raw, _ = decode_html(body, ctype)
    title, _, text = raw.strip().partition("\n")
    return Sample(title.strip(), text.strip(), language(raw))


def try_source(ruleset, gazetteer, source: str) -> Trial:
    """The rules and places of the text read_source reads (and raises as it does)."""
    sample = read_source(source)
    matches, places = tag(ruleset, gazetteer, title=sample.title, text=sample.text, lang=sample.lang)
    hits = sorted(gazetteer.tag(sample.title, sample.text), key=lambda h: (h.field != "title", h.start))
    return Trial(sample, matches, places, hits)


def tag_cases(ruleset, gazetteer, lines: Iterable[str]) -> Iterator[dict]:
    """{"id", "rules", "places"} for each line {"id", "title", "text", "lang"?}, blank lines skipped;
    BadCase at the first line that is not such an object (the lines before it are yielded)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
            matches, places = tag(ruleset, gazetteer, title=str(case.get("title") or ""),
                                  text=str(case.get("text") or ""), lang=case.get("lang"))
        except (ValueError, AttributeError) as exc:
            raise BadCase(number, exc) from None
        yield {"id": case.get("id"), "rules": [m.rule for m in matches], "places": places}
