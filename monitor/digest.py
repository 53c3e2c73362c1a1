"""digest: the hits of a period as one readable mail. `collect` and `render` are pure (rows in, an
email.message out); `send`, `deliver` and `alert` are the edge (the SMTP server, the archive's record).

Grouped by rule (priority first, headed by the rule's title), one entry per story, newest first: its
first matching article's title linked to the URL the site served, its feed, publication time,
places by name, the snippet with the matched terms marked, "also in" for the other feeds that
carried the story, and its row in Datasette when digest.archive_url is set. A hit goes out in the
first digest after it was matched, whenever the story was published; a story published more than
digest.older_than before the period goes under "Older stories found this period" so that a
backlog does not read as news. On top a summary (hits per rule and per place); at the end the
feeds that have been failing for more than a day. The text part fits 80 columns, the HTML part a
phone's screen.

Untrusted text (titles, snippets, feed names) goes only into the bodies, through Jinja2 with
autoescape; the headers hold counts and dates we make ourselves, so a hostile title cannot add a
header (CVE-2024-6923 turns an encoded word in a Subject into a real header on Python 3.11.7).
Only http(s) links are linked. `send` hands the message to an SMTP server, recipients given
explicitly; `deliver` and `alert` record what was sent around it. The server's 250 to DATA is the
point of no return: a message it accepted counts as sent, whatever happens to the session after.
"""

from __future__ import annotations

import email.utils
import logging
import os
import re
import smtplib
import ssl
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Callable

from jinja2 import Environment, PackageLoader, select_autoescape

from .config import DigestConfig, require_mail
from .errors import DigestError  # callers catch it as digest.DigestError
from .index import inflections, tokenize
from .model import from_iso
from .text import APOSTROPHES, fold, plural, tilde

log = logging.getLogger("monitor")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


def clean(text: str | None) -> str:
    """Untrusted text without control characters (line breaks in a title are a header-injection tool)."""
    return " ".join(_CONTROL.sub(" ", text or "").split())


@dataclass
class Entry:
    story_id: int
    article_id: int
    title: list[tuple[str, bool]]  # pieces of the title; True where a matched term stands
    url: str | None  # the article as the site served it
    archive_url: str | None  # its row page in Datasette, when digest.archive_url is set
    feed: str
    published: str  # "2026-11-25 10:00 UTC", or "" when the site gave no date
    found: str  # when we fetched it
    places: list[tuple[str, str]]  # (code, name in the digest's language)
    snippet: list[tuple[str, bool]]  # pieces of the snippet; True where a matched term stands
    also_in: list[str] = field(default_factory=list)
    when: datetime | None = None  # published, else found: the order within a section


@dataclass
class Section:
    rule: str
    title: str  # the rule's title for readers (its name when it has none)
    entries: list[Entry]


@dataclass
class Digest:
    start: datetime
    end: datetime
    sections: list[Section]
    per_place: list[tuple[str, str, int]]  # (code, name, hits)
    failing: list[tuple[str, str]]  # (feed, last error)
    silent: list[tuple[str, str]] = field(default_factory=list)  # (feed, last new article)
    spikes: list[tuple[str, int, float]] = field(default_factory=list)  # (rule, hits lately, usual)
    title: str = "monitor digest"
    older: list[Section] = field(default_factory=list)  # stories published before `older_before`, by rule
    older_before: datetime | None = None

    @property
    def stories(self) -> int:
        return len({e.story_id for s in self.sections + self.older for e in s.entries})

    @property
    def hits(self) -> int:
        return sum(len(s.entries) for s in self.sections + self.older)


# A word of a term as the analyst wrote it: =exact, a prefix*, apostrophes and hyphens inside.
_TERM_WORD = re.compile("=?\\w(?:[\\w-]|[" + re.escape(APOSTROPHES) + "])*\\*?")


def _term_forms(terms: list[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The folded word forms and prefixes the terms stand for, as the rule index reads them
    (TermIndex.add): a word with its inflections, =word as written, word* as a prefix."""
    forms: set[str] = set()
    prefixes: list[str] = []
    for term in terms:
        for word in _TERM_WORD.findall(term):
            core = word.strip("=*")
            if word.endswith("*"):
                prefixes.append(fold(core))
            else:
                forms.update({fold(core)} if word.startswith("=") else inflections(core))
    return frozenset(forms), tuple(prefixes)


def _pieces(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """The text cut where a term's word stands: the words the matcher matched, found the way it
    finds them (folded, so перемир’я and перемирʼя are перемир'я; inflected, so пропозицію is
    пропозиція), never by a second, looser reading of the text."""
    if not text:
        return []
    forms, prefixes = _term_forms(terms)
    if not forms and not prefixes:
        return [(text, False)]
    tokens = tokenize(text)
    extra: dict[int, list[str]] = {}
    for p, form in tokens.extra:  # counter-offensive is also offensive, Ukraine's also ukraine
        extra.setdefault(p, []).append(form)
    out, position = [], 0
    for p, word in enumerate(tokens.words):
        readings = [word, *extra.get(p, ())]
        if tokens.has_form(p, forms) or any(r.startswith(prefixes) for r in readings):
            start, end = tokens.offsets(p)
            if start > position:
                out.append((text[position:start], False))
            out.append((text[start:end], True))
            position = end
    if position < len(text):
        out.append((text[position:], False))
    return out


def _shown(when: datetime | None) -> str:
    return f"{when.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC" if when else ""


def collect(rows: list[dict], rules: list, failing: list[tuple[str, str]], start: datetime, end: datetime,
            *, only: tuple[str, ...] = (), min_priority: int = 0, names: dict[str, str] | None = None,
            archive: str | None = None, older_than: float | None = None) -> Digest:
    """Rows of hits (one per match: rule, story, article fields, snippet, terms, places, sources)
    → one entry per story and rule, rules by priority, the newest story first. `only` and
    `min_priority` choose the rules; `names` names the places (their codes otherwise); `archive`
    is the archive's address in Datasette ({archive_url}/{database}); a story published more than
    `older_than` seconds before `start` goes into `older`, not among the period's news."""
    wanted = {r.name for r in rules if r.priority >= min_priority and (not only or r.name in only)}
    rows = [r for r in rows if r["rule"] in wanted]
    order = {r.name: (-r.priority, r.name) for r in rules}
    titled = {r.name: r.title or r.name for r in rules}
    names = names or {}
    cutoff = start - timedelta(seconds=older_than) if older_than is not None else None
    by_rule: dict[str, dict[int, Entry]] = {}
    places: Counter[str] = Counter()
    for row in sorted(rows, key=lambda r: (r["fetched"], r["article_id"])):
        story = row["story_id"] if row["story_id"] is not None else -row["article_id"]
        entries = by_rule.setdefault(row["rule"], {})
        if story in entries:
            continue
        # articles.url: the link as the site gave it (not the https key, url_key)
        url = row["url"] if (row["url"] or "").startswith(("http://", "https://")) else None
        sources = [clean(s) for s in row["sources"] if s != row["feed"]]
        codes = [c for c in (row["places"] or "").split(",") if c]
        places.update(codes)
        published = from_iso(row["published"])
        entries[story] = Entry(
            story_id=story, article_id=row["article_id"],
            title=_pieces(clean(row["title"]) or "(no title)", row["terms"]), url=url,
            archive_url=f"{archive}/articles/{row['article_id']}" if archive else None, feed=clean(row["feed"]),
            published=_shown(published), found=_shown(from_iso(row["fetched"])),
            places=[(c, clean(names.get(c, c))) for c in codes],
            snippet=_pieces(clean(row["snippet"]), row["terms"]), also_in=sources,
            when=published or from_iso(row["fetched"]),
        )
    fresh: list[Section] = []
    older: list[Section] = []
    newest_first = datetime.min.replace(tzinfo=timezone.utc)
    for rule, entries in sorted(by_rule.items(), key=lambda kv: order.get(kv[0], (0, kv[0]))):
        stories = sorted(entries.values(), key=lambda e: e.when or newest_first, reverse=True)
        # an undated story is taken as news: only a date the site gave can say it is old
        old, new = [], []
        for entry in stories:
            (old if cutoff is not None and entry.published and entry.when < cutoff else new).append(entry)
        for part, target in ((new, fresh), (old, older)):
            if part:
                target.append(Section(rule, clean(titled.get(rule, rule)), part))
    return Digest(start, end, fresh, [(c, clean(names.get(c, c)), n) for c, n in places.most_common()],
                  [(clean(f), clean(e)) for f, e in failing], older=older, older_before=cutoff)


def _wrap(text: str, first: str = "", rest: str | None = None, width: int = 80) -> str:
    """Text filled to `width` columns; a word longer than a line (a URL) stays whole on a line of its
    own, and what `_together` joined is not split ("Kharkiv Oblast 16")."""
    filled = textwrap.fill(text, width=width, initial_indent=first, subsequent_indent=first if rest is None else rest,
                           break_long_words=False, break_on_hyphens=False) or first.rstrip()
    return filled.replace(_TOGETHER, " ")


_TOGETHER = "\u00a0"  # textwrap breaks only at ASCII whitespace: a no-break space holds words on one line


def _together(text: str) -> str:
    return str(text).replace(" ", _TOGETHER)


def _marked(pieces: list[tuple[str, bool]]) -> str:
    return "".join(f"*{text}*" if hit else text for text, hit in pieces)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("monitor", "data/templates"),
                      autoescape=select_autoescape(["html", "html.j2"], default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(wrap80=_wrap, marked=_marked, together=_together)
    env.globals["plural"] = plural
    return env


def _agree(subject: str) -> str:
    """'1 stories' as '1 story': the subject's template is the user's, written for any count."""
    return re.sub(r"(?<![\d.,])1 (stories|hits|rules|articles)\b",
                  lambda m: "1 " + {"stories": "story", "hits": "hit", "rules": "rule", "articles": "article"}[m[1]], subject)


def render(digest: Digest, *, sender: str, recipients: list[str], now: datetime,
           subject: str = "monitor digest {date}: {stories} stories, {hits} hits") -> EmailMessage:
    """The digest as a multipart/alternative message (text/plain and text/html). The subject is
    filled with our own counts and date only, never with a title."""
    env = _environment()
    context = {"digest": digest}
    message = EmailMessage(policy=SMTP)
    message["Subject"] = clean(_agree(subject.format(date=f"{digest.end:%Y-%m-%d}", stories=digest.stories,
                                                     hits=digest.hits, rules=len({s.rule for s in digest.sections + digest.older}))))
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = email.utils.make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or "monitor.invalid")
    message.set_content(env.get_template("digest.txt.j2").render(context))
    message.add_alternative(env.get_template("digest.html.j2").render(context), subtype="html")
    return message


def readable(message: EmailMessage) -> str:
    """The message as a person reads it in a terminal: its headers, then its text part decoded (the
    wire form is quoted-printable, since a line of Cyrillic passes 78 bytes)."""
    head = "".join(f"{name}: {message[name]}\n" for name in ("Subject", "From", "To", "Date") if message[name])
    return head + "\n" + message.get_body(("plain",)).get_content()


def password(smtp) -> str | None:
    """From the environment variable, a file, or a systemd credential named by the file's name."""
    if smtp.password_env:
        return os.environ.get(smtp.password_env)
    if smtp.password_file:
        path = Path(smtp.password_file)
        if not path.is_absolute() and os.environ.get("CREDENTIALS_DIRECTORY"):
            path = Path(os.environ["CREDENTIALS_DIRECTORY"]) / path
        return path.read_text(encoding="utf-8").strip()
    return None


def send(message: EmailMessage, smtp, sender: str, recipients: list[str], timeout: float = 60.0,
         before_data: Callable[[], None] | None = None) -> None:
    """Hand the message to the server. Raises DigestError unless the server accepted it.

    Accepted means the server answered 250 to DATA: from then on the message is the server's to
    deliver (RFC 5321 §6.1; every MTA treats it so), and mailing it again would give the
    recipients two copies. So what fails after that 250 (a 421 or a dropped connection at QUIT,
    recipients refused while the others were accepted) is logged as a warning naming the
    Message-ID, and send returns normally. What fails before it (connect, TLS, login, MAIL, RCPT,
    DATA answered 4xx/5xx, the connection lost while waiting for that answer) raises, and the
    caller tries again later: the server has not taken the message.

    `before_data` is called once the server has accepted the envelope, just before DATA: where
    the caller records the message as being sent. A crash before that point (a server silent
    until the timeout, a stop meanwhile) leaves no record, so the message is sent later; one
    after it leaves 'sending', which counts as sent, so it is never sent twice.
    """
    port = smtp.port or {"tls": 465, "starttls": 587}.get(smtp.security, 25)
    where = f"{smtp.host}:{port}"
    client = None
    try:
        try:
            if smtp.security == "tls":
                client = smtplib.SMTP_SSL(smtp.host, port, timeout=timeout, context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(smtp.host, port, timeout=timeout)
            _session(client, smtp, before_data)
            # MAIL, RCPT, DATA: returns once the server answered 250 to the message, raises before.
            refused = client.send_message(message, from_addr=sender, to_addrs=recipients)
        except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError is an OSError
            # No QUIT on the way out (the finally closes): a failed session may fail that too, and
            # smtplib's `with` would then raise the QUIT's error instead of this one.
            raise DigestError(f"digest: {where}: {type(exc).__name__}: {exc}") from None
        _accepted(client, {"message_id": message["Message-ID"], "server": where}, refused)
    finally:
        if client is not None:
            client.close()


def _session(client: smtplib.SMTP, smtp, before_data: Callable[[], None] | None) -> None:
    """STARTTLS and login as configured, and `before_data` hooked in just before DATA."""
    if smtp.security == "starttls":
        client.starttls(context=ssl.create_default_context())
    if smtp.username:
        client.login(smtp.username, password(smtp) or "")
    if before_data is not None:
        data = client.data  # send_message → sendmail → MAIL, RCPT…, then self.data(msg)

        def recorded_data(msg, data=data):
            before_data()
            return data(msg)

        client.data = recorded_data


def _accepted(client: smtplib.SMTP, context: dict, refused: dict) -> None:
    """After the server's 250 to DATA the message is sent: what fails now is only logged."""
    if refused:  # every recipient refused raises SMTPRecipientsRefused before DATA: these are some
        refusals = ", ".join(f"{address} {code}" for address, (code, _reply) in refused.items())
        log.warning("mail accepted for some recipients only; not sent again, the refused ones do not get it",
                    extra={**context, "refused": refusals})
    try:
        code, reply = client.quit()  # smtplib's quit() does not check for the 221 itself
    except (smtplib.SMTPException, OSError) as exc:
        late = f"{type(exc).__name__}: {exc}"
    else:
        late = None if code == 221 else f"{code} {reply.decode('utf-8', 'replace')}"
    if late:
        log.warning("mail accepted, then the session failed; counted as sent", extra={**context, "error": late})


@dataclass
class Outcome:
    message: EmailMessage
    digest: Digest
    sent: bool  # False: a dry run, or nothing to send


def deliver(store, config, rules: list, now: datetime, *, since: float | None = None, dry_run: bool = False) -> Outcome:
    """Build the digest of [start, now) and, unless dry_run, send it, recording it around the send.

    start is now − since, or the end of the last digest sent (at most a week back). The row is written
    'sending' when the server has taken the envelope, just before DATA, and marked 'sent' once it
    accepts the message (its 250 to DATA, even if the session fails after it; see send): a crash in
    between leaves 'sending', which counts as sent, so no period is mailed twice; a crash before
    leaves no row, so the period is sent later; a refusal marks it 'failed', so its hits go into
    the next attempt. Raises DigestError on a refusal.
    """
    settings = config.digest or DigestConfig()
    if not dry_run:
        require_mail(config)
    start = now - timedelta(seconds=since) if since else store.digest_period_start(now - timedelta(days=7))
    built = collect(store.digest_rows(start, now), rules, store.failing_feeds(now), start, now,
                    only=settings.rules, min_priority=settings.min_priority, **_reading(store, config))
    built.silent = store.silent_feeds(now)
    built.spikes = store.spikes(now, settings.spike_window, settings.spike_factor)
    # A dry run shows the message without a sender set: a From that says so, at a domain that cannot exist.
    sender = settings.sender or email.utils.formataddr(("monitor (digest.from not set)", "monitor@monitor.invalid"))
    recipients = list(settings.to) or ["analyst@localhost"]
    message = render(built, sender=sender, recipients=recipients, now=now, subject=settings.subject)
    if dry_run:
        return Outcome(message, built, sent=False)
    if not built.hits and not settings.send_empty:
        store.digest_empty(start, now, now)
        return Outcome(message, built, sent=False)
    rows: list[int] = []

    def sending() -> None:
        rows.append(store.digest_sending(start, now, recipients, message["Message-ID"], built.stories, now))

    try:
        send(message, settings.smtp, sender, recipients, before_data=sending)
    except DigestError as exc:
        if not rows:
            sending()
        store.digest_done(rows[0], now, error=str(exc))
        raise
    store.digest_done(rows[0], now)
    return Outcome(message, built, sent=True)


def _reading(store, config) -> dict:
    """What collect needs to show a story to a reader: place names in the digest's language, the
    archive's address in Datasette (a database is named by its file's stem there), the backlog age."""
    settings = config.digest or DigestConfig()
    archive = None
    if settings.archive_url:
        archive = f"{settings.archive_url.rstrip('/')}/{tilde(config.database.stem)}"
    return {"names": store.place_names(settings.language), "archive": archive, "older_than": settings.older_than}


def alert(store, config, rules: list, now: datetime, since: datetime) -> int:
    """Mail the hits of `alert: immediate` rules not alerted yet (matched since `since`), in one short
    message; returns how many. Marked 'sending' just before DATA (see send) and 'sent' once it
    accepts (its 250 to DATA, see send); a refusal forgets the marks, so the next cycle tries
    again. Raises DigestError."""
    names = [r.name for r in rules if r.alert]
    rows = store.unalerted(names, since)
    if not rows:
        return 0
    settings = config.digest
    built = collect(rows, rules, [], since, now, **_reading(store, config))
    built.title = "monitor alert"
    message = render(built, sender=settings.sender, recipients=list(settings.to), now=now,
                     subject=f"monitor alert: {plural(len(rows), 'new hit', 'new hits')} for "
                     + ", ".join(s.rule for s in built.sections + built.older))
    try:
        send(message, settings.smtp, settings.sender, list(settings.to),
             before_data=lambda: store.mark_alerts(rows, "sending", now))
    except DigestError:
        store.mark_alerts(rows, None, now)
        raise
    store.mark_alerts(rows, "sent", now)
    return len(rows)


def spike_alert(store, config, rules: list, now: datetime, already: dict[str, datetime]) -> list[str]:
    """Mail the rules spiking now (digest.spike_alert), each at most once per spike_window; returns
    the rules mailed. `already` remembers when each rule was last mailed. Raises DigestError."""
    settings = config.digest
    window = timedelta(seconds=settings.spike_window)
    spikes = [s for s in store.spikes(now, settings.spike_window, settings.spike_factor)
              if s[0] not in already or now - already[s[0]] >= window]
    if not spikes:
        return []
    start = now - window
    built = collect(store.digest_rows(start, now), rules, [], start, now, only=tuple(s[0] for s in spikes),
                    **_reading(store, config))
    built.spikes, built.title = spikes, "monitor: spike"
    message = render(built, sender=settings.sender, recipients=list(settings.to), now=now,
                     subject="monitor spike: " + ", ".join(f"{rule} {plural(recent, 'hit', 'hits')}" for rule, recent, _usual in spikes))
    send(message, settings.smtp, settings.sender, list(settings.to))
    for rule, _recent, _usual in spikes:
        already[rule] = now
    return [rule for rule, _recent, _usual in spikes]
