"""cli: the `monitor` command.

    monitor [--config PATH] [--database PATH] [--verbose] COMMAND

Exit status: 0 on success (a failing feed is not a failure of `run`), 2 when the config or a rule
file is unusable, 1 when the database is unusable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import sys
import time
from contextlib import closing, contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from . import config as config_mod
from .errors import ConfigError, MonitorError, RuleError, StoreError, pointed
from .rules import explain_error, load_rules
from .text import plural

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class EventFormatter(logging.Formatter):
    """One event per line: time, level, event, then key=value context (feed, url, rule, …).

    Under systemd (`journal=True`) the journal stamps each line itself, so the time is left out and
    the line starts with its syslog priority (<3> error … <7> debug), which journald reads as the
    entry's priority: `journalctl -p warning -u monitor` then shows only the trouble."""

    PRIORITIES = {"CRITICAL": 2, "ERROR": 3, "WARNING": 4, "INFO": 6, "DEBUG": 7}

    def __init__(self, journal: bool = False):
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(f"{k}={_quote(v)}" for k, v in record.__dict__.items() if k not in _STANDARD)
        line = f"{record.levelname} {record.getMessage()}" + (f" {context}" if context else "")
        if record.exc_info:
            line += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        if self.journal:
            return f"<{self.PRIORITIES.get(record.levelname, 6)}>{line}"
        return time.strftime("%Y-%m-%dT%H:%M:%SZ ", time.gmtime(record.created)) + line


def _quote(value) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def setup_logging(verbose: bool = False, quiet: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)  # systemd's journal reads stderr
    handler.setFormatter(EventFormatter(journal=_stderr_is_journal()))
    root = logging.getLogger("monitor")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    root.propagate = False


def _stderr_is_journal() -> bool:
    """systemd sets JOURNAL_STREAM=device:inode of the stream it connected; it is only ours if
    stderr is still that stream (not redirected to a file by a script run from the service)."""
    try:
        device, inode = (int(part) for part in os.environ.get("JOURNAL_STREAM", "").split(":"))
        stat = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (stat.st_dev, stat.st_ino) == (device, inode)


@contextmanager
def _fatal_errors():
    """Turn the errors that make a command impossible into a message and an exit status."""
    try:
        yield
    except RuleError as exc:
        click.echo(f"monitor: {explain_error(exc)}", err=True)
        sys.exit(2)
    except ConfigError as exc:
        click.echo(f"monitor: {pointed(exc)}", err=True)
        sys.exit(2)
    except StoreError as exc:
        click.echo(f"monitor: {exc}", err=True)
        sys.exit(1)


def _remember_database(ctx: click.Context, _param, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(dict)["database"] = Path(value)


def database_option(command):
    """`--database PATH`, the same on `monitor` and on each command that reads or writes the archive:
    `monitor --database X serve` and `monitor serve --database X` mean one thing."""
    return click.option("--database", metavar="PATH", type=click.Path(dir_okay=False), expose_value=False,
                        callback=_remember_database,
                        help="The archive (SQLite file) to use instead of the config's `database`.")(command)


@click.group()
@click.version_option(__version__, prog_name="monitor")
@click.option("--config", "config_path", metavar="PATH", help="feeds.yaml to use (default: $MONITOR_CONFIG, then ./feeds.yaml).")
@database_option
@click.option("-v", "--verbose", is_flag=True, help="Log debug events too.")
@click.option("-q", "--quiet", is_flag=True, help="Log only warnings and errors.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool, quiet: bool) -> None:
    """Media monitor: polls news feeds, extracts and tags articles, archives them in SQLite."""
    if verbose and quiet:
        raise click.UsageError("--verbose and --quiet contradict each other")
    ctx.obj = {**(ctx.obj or {}), "config_path": config_mod.config_path(config_path), "verbose": verbose}
    setup_logging(verbose, quiet)


def _load(ctx: click.Context, *, feeds: bool = True):
    """The config, with --database over its `database`. A command that needs no feed list
    (`feeds=False`) runs on an archive named by --database without any config file."""
    path, database = ctx.obj["config_path"], ctx.obj.get("database")
    if not feeds and database is not None and not path.exists():
        config = config_mod.without_file(database)
    else:
        try:
            config = config_mod.load(path)
        except ConfigError as exc:
            if path.exists() or feeds:
                raise
            raise ConfigError(f"{exc.reason}; give --database PATH to read an archive without one", file=exc.file) from None
    return config if database is None else dataclasses.replace(config, database=database)


def _require_archive(config) -> None:
    """A command that must not create an archive names the missing file instead of making it."""
    if not config.database.is_file():
        raise StoreError(f"no archive at {config.database}: run `monitor run --once` (or `monitor demo`) "
                                   "to make one, or name another with --database PATH")


def _archive_store(config):
    from .store import Store

    _require_archive(config)
    return Store(config.database, story_window=config.story_window)


@cli.command()
@click.option("--once", is_flag=True, help="Run one full cycle (every feed polled once) and exit.")
@database_option
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """Run the daemon (or one cycle with --once)."""
    from .daemon import Monitor
    from .systemd import Notifier
    from .writer import open_store

    early = ctx.obj.get("early_signals")
    with _fatal_errors(), closing(Notifier()) as notifier:
        config = _load(ctx)
        if config.digest is not None and config.digest.to:  # the daemon mails them: say now what is missing
            config_mod.require_mail(config)
        rules = load_rules(config.rules)

        def waiting(seconds: float, why: str) -> None:  # systemd's start timeout is stretched meanwhile
            notifier.send(status=f"ARCHIVE {why.upper()} at start for {seconds:.0f} s: "
                          + ("no room for its schema" if why == "full" else "another writer holds the lock") + "; waiting",
                          extend_timeout_usec=10_000_000)

        store = open_store(config.database, story_window=config.story_window, waiting=waiting,
                           stopping=lambda: early is not None and early.stop)
        if store is None:
            logging.getLogger("monitor").info("stopped before start: the archive could not be opened yet")
            return
        with store, _workers(config) as workers, Monitor(config, store, rules, workers) as monitor:
            if once:
                stats = _run_once_watched(monitor, len(config.feeds))
                click.echo(
                    f"{plural(stats.feeds, 'feed', 'feeds')} polled ({stats.unchanged} unchanged, {stats.failed} failed), "
                    f"{plural(stats.articles, 'new article', 'new articles')} in {stats.seconds:.1f} s",
                    err=True,
                )
            else:
                asyncio.run(monitor.serve(notifier, early))


def _run_once_watched(monitor, total: int):
    """One cycle; a progress bar when a person watches (stderr is a terminal), logs otherwise."""
    if not sys.stderr.isatty():
        return asyncio.run(monitor.run_once())
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("polling"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[news]} new"),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("poll", total=total, news=0)
        news = 0

        def advance(result) -> None:
            nonlocal news
            news += result.new_articles
            bar.update(task, advance=1, news=news)

        return asyncio.run(monitor.run_once(advance))


def _workers(config):
    from .workers import Workers

    f = config.fetch
    return Workers(f.extract_workers, memory_limit=f.extract_memory, tasks_per_worker=f.worker_tasks)


@cli.command()
@database_option
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the config and the rules; exit 2 on the first error. Says whether the archive exists;
    one named with --database must (exit 1)."""
    with _fatal_errors():
        config = _load(ctx)
        if config.digest is not None and config.digest.to:  # as `run` checks it: the daemon mails them
            config_mod.require_mail(config)
        rules = load_rules(config.rules)
        if not len(rules):
            raise RuleError(f"rules folder {config.rules} holds no rules (*.yaml): the daemon would archive "
                            "articles and never match one")
        if "database" in ctx.obj:
            _require_archive(config)
    click.echo(f"{ctx.obj['config_path']}: ok ({len(config.feeds)} feeds, {len(rules)} rules in {config.rules})")
    made = "" if config.database.is_file() else ": not made yet (`monitor run` makes it)"
    click.echo(f"archive {config.database}{made}")


@cli.group(invoke_without_command=True)
@database_option
@click.pass_context
def feeds(ctx: click.Context) -> None:
    """Show each feed's health: last status, error, articles, next poll (or manage the feeds)."""
    if ctx.invoked_subcommand is not None:
        return
    from .health import feed_health

    with _fatal_errors():
        config = _load(ctx)
        with _archive_store(config) as store:
            healths = feed_health(store, config.feeds, _now())
    table = Table(title=f"feeds in {config.database}")
    for column in ("feed", "kind", "state", "status", "errors", "articles", "last success", "next poll", "last error"):
        table.add_column(column, overflow="fold")
    for health in healths:
        row = health.row
        table.add_row(
            row["name"], row["kind"], health.state, str(row["status"] or "—"), str(row["error_count"]), str(row["article_count"]),
            row["last_success"] or "never", row["next_poll"] or "now", row["last_error"] or "", style=_STYLES[health.level],
        )
    # Piped output is read by grep and scripts: don't wrap it to an imaginary 80 columns.
    Console(width=None if sys.stdout.isatty() else 240).print(table)


_STYLES = {"failing": "red", "stale": "yellow", "new": "", "ok": "green"}
_RELOAD = "reload the daemon (systemctl reload monitor) to"


@feeds.command("add")
@click.argument("url")
@click.option("--name", metavar="NAME", help="The feed's name (default: a slug of the title found, else its host and path).")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="A tag for the feed; repeat for more.")
@click.option("--interval", metavar="DURATION", help="How often it is polled, e.g. 30m (default: the config's).")
@click.option("--no-check", is_flag=True, help="Add URL as it is: no request, no discovery.")
@click.pass_context
def feeds_add(ctx: click.Context, url: str, name: str | None, tags: tuple[str, ...], interval: str | None,
              no_check: bool) -> None:
    """Add a feed to the config: URL is the feed, or a page of the site that announces it."""
    from . import feeds as feeds_mod
    from .errors import ParseError

    try:
        config_mod.check_url(url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="URL") from None
    if interval is not None:
        try:
            config_mod.parse_duration(interval)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--interval") from None
    path = ctx.obj["config_path"]
    entry = feeds_mod.Entry(url.strip(), name=name, tags=tags, interval=interval)
    with _fatal_errors():
        config = _load(ctx)
        feeds_mod.add_feeds(path, [entry], dry_run=True)  # a duplicate is refused before any request
        if not no_check:
            try:
                found = feeds_mod.find_feed(entry.url, config.fetch)
            except ParseError as exc:
                click.echo(f"monitor: {exc.reason}", err=True)
                sys.exit(1)
            title = f' "{found.title}"' if found.title else ""
            what = {"feed": "items", "sitemap": "URLs", "page": "article links"}[found.type]
            click.echo(f"found {found.url}{title} ({found.format}, {found.items} {what})", err=True)
            if found.type != "feed":
                click.echo(f"no feed with items there: added as `type: {found.type}`, crawled politely", err=True)
            entry = feeds_mod.entry_found(found, name=name, tags=tags, interval=interval)
        added = feeds_mod.add_feed(path, entry)
    click.echo(f"added {added.name} ({added.url}) to {path}; {_RELOAD} poll it", err=True)


@feeds.command("remove")
@click.argument("name_or_url", metavar="NAME_OR_URL")
@click.pass_context
def feeds_remove(ctx: click.Context, name_or_url: str) -> None:
    """Remove a feed from the config by name or URL; its articles stay in the archive."""
    from . import feeds as feeds_mod

    path = ctx.obj["config_path"]
    with _fatal_errors():
        gone = feeds_mod.remove_feed(path, name_or_url)
    click.echo(f"removed {gone.name} ({gone.url}) from {path}; its articles stay in the archive; "
               f"{_RELOAD} stop polling it", err=True)


@feeds.command("import")
@click.argument("opml", metavar="FILE.opml")
@click.pass_context
def feeds_import(ctx: click.Context, opml: str) -> None:
    """Add the feeds of an OPML file: folders become tags, feeds already there are skipped."""
    from . import feeds as feeds_mod

    path = ctx.obj["config_path"]
    with _fatal_errors():
        entries = feeds_mod.read_opml(opml)
        added, skipped = feeds_mod.add_feeds(path, entries, skip_present=True)
    for skip in skipped:
        click.echo(f"skipped {skip.url}: {skip.reason}", err=True)
    then = f"; {_RELOAD} poll them" if added else ""
    click.echo(f"imported {opml}: {len(added)} added, {len(skipped)} skipped{then}", err=True)


@feeds.command("export")
@click.option("--output", metavar="FILE", type=click.Path(dir_okay=False), help="Write to FILE, not standard output.")
@click.pass_context
def feeds_export(ctx: click.Context, output: str | None) -> None:
    """Write the config's feeds as OPML 2.0: name, URL, tags as categories."""
    from . import feeds as feeds_mod

    with _fatal_errors():
        config = _load(ctx)
    data = feeds_mod.write_opml(config.feeds, title=f"monitor feeds ({config.path.name})")
    if output is None:
        click.echo(data, nl=False)
        return
    try:
        Path(output).write_bytes(data)
    except OSError as exc:
        raise click.FileError(output, hint=exc.strerror) from None
    click.echo(f"exported {len(config.feeds)} feeds to {output}", err=True)


@cli.command()
@click.option("--database", type=click.Path(dir_okay=False), default="monitor-demo.db", show_default=True,
              help="Where the demo archive is written.")
def demo(database: str) -> None:
    """Run the whole pipeline offline on bundled sample feeds served on 127.0.0.1."""
    from .demo import run_demo

    with _fatal_errors():
        run_demo(Path(database), Console())


@cli.group()
def rules() -> None:
    """Check rule files and try rules on text."""


def _rules_dir(ctx: click.Context, given: str | None) -> Path:
    if given:
        return Path(given)
    return _load(ctx).rules


@rules.command("check")
@click.option("--rules", "rules_dir", metavar="DIR", help="Rule folder (default: the config's `rules`).")
@click.pass_context
def rules_check(ctx: click.Context, rules_dir: str | None) -> None:
    """Compile every rule; a syntax error shows file:line:column and a caret under the spot."""
    with _fatal_errors():
        folder = _rules_dir(ctx, rules_dir)
        ruleset = load_rules(folder)
    click.echo(f"{folder}: ok ({len(ruleset)} rules, {len(ruleset.sets)} sets, {len(ruleset.index.words)} words)")


@rules.command("test")
@click.option("--rules", "rules_dir", metavar="DIR", help="Rule folder (default: the config's `rules`).")
@click.option("--jsonl", "jsonl", type=click.File("r", encoding="utf-8"), metavar="FILE",
              help='Lines of {"id", "title", "text", "lang"?}; prints {"id", "rules", "places"} per line.')
@click.argument("source", required=False)
@click.pass_context
def rules_test(ctx: click.Context, rules_dir: str | None, jsonl, source: str | None) -> None:
    """Run the rules and place tagging on text: SOURCE is a file, a URL, or - for standard input."""
    import json

    from . import trial as trial_stage
    from .errors import FeedError
    from .places import load_gazetteer

    with _fatal_errors():
        ruleset = load_rules(_rules_dir(ctx, rules_dir))
    gazetteer = load_gazetteer()
    if jsonl is not None:
        try:
            for tagged in trial_stage.tag_cases(ruleset, gazetteer, jsonl):
                click.echo(json.dumps(tagged, ensure_ascii=False))
        except trial_stage.BadCase as exc:
            click.echo(f"monitor: {jsonl.name}:{exc}", err=True)
            sys.exit(2)
        return
    if not source:
        raise click.UsageError("give --jsonl FILE, a FILE, a URL, or - for standard input")
    try:
        trial = trial_stage.try_source(ruleset, gazetteer, source)
    except FeedError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.FileError(source, hint=exc.strerror) from None
    title, text, lang = trial.sample.title, trial.sample.text, trial.sample.lang
    console = Console(width=None if sys.stdout.isatty() else 120)
    console.print(f"[bold]{title or '(no title)'}[/]  ({len(text.split())} words{', ' + lang if lang else ''})")
    console.print(f"\n[bold]rules[/]: {len(trial.matches)} of {len(ruleset)} matched")
    for m in trial.matches:
        console.print(f"  [green]{m.rule}[/] in {m.field or 'metadata'}: {', '.join(m.terms) or '(filters only)'}")
        if m.snippet:
            console.print(f"      {m.snippet}", markup=False)
    console.print(f"\n[bold]places[/]: {', '.join(trial.places) or 'none'}")
    names = {p.code: p.name_en for p in gazetteer.places}
    for hit in trial.hits:
        console.print(f"  {hit.code} {names.get(hit.code, '')}: \"{hit.name}\" ({hit.via}, {hit.field})", markup=False)


@rules.command("eval")
@click.option("--rules", "rules_dir", metavar="DIR", help="Rule folder (default: the config's `rules`).")
@click.option("--rule", "only", multiple=True, metavar="NAME",
              help="Score this rule (repeatable; default: every rule the cases are labelled with).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the counts and every error.")
@click.option("--no-errors", is_flag=True, help="Only the tables, not each miss and false hit.")
@click.option("--fail-under", type=click.FloatRange(0, 1), metavar="F1",
              help="Exit 1 when a scored rule, or places in a language, has an F1 below this.")
@click.argument("labelled", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def rules_eval(ctx: click.Context, rules_dir: str | None, only: tuple[str, ...], as_json: bool, no_errors: bool,
               fail_under: float | None, labelled: tuple[str, ...]) -> None:
    """Score the rules and the place tagger on labelled cases (JSON lines of {"id", "title", "text",
    "lang"?, "rules", "places", "settlements"?}): precision, recall and F1 per rule and per place,
    then every miss and false hit with its text and what fired."""
    import json

    from .evaluation import below, evaluate, read_cases, render
    from .places import load_gazetteer

    with _fatal_errors():
        ruleset = load_rules(_rules_dir(ctx, rules_dir))
        cases = []
        for path in labelled:
            cases += read_cases(Path(path).read_text(encoding="utf-8").splitlines(), path)
        unknown = sorted(set(only) - {r.name for r in ruleset.rules})
        if unknown:
            raise click.UsageError(f"no rule named {unknown[0]!r} in the rule set")
    report = evaluate(ruleset, load_gazetteer(), cases, only)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
    else:
        click.echo(render(report, errors=not no_errors), nl=False)
    low = below(report, fail_under) if fail_under is not None else []
    if low:
        click.echo(f"monitor: F1 under {fail_under}: {', '.join(low)}", err=True)
        sys.exit(1)


@cli.command()
@click.option("--since", metavar="DATE", help="Only articles published (or fetched) on or after DATE (YYYY-MM-DD).")
@click.option("--rule", "rule_name", metavar="NAME", help="Re-apply only this rule (places are re-tagged too).")
@click.option("--rules", "rules_dir", metavar="DIR", help="Rule folder (default: the config's `rules`): a draft's, to backtest it.")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(min=1), help="Articles per transaction.")
@database_option
@click.pass_context
def rematch(ctx: click.Context, since: str | None, rule_name: str | None, rules_dir: str | None, batch: int) -> None:
    """Re-apply the rules and places to the archive: resumable, one transaction per batch."""
    import signal

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from . import rematch as rematch_stage

    try:
        rematch_stage.check_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    columns = (TextColumn("rematch"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    bar = Progress(*columns, console=Console(stderr=True))
    tasks = []

    def shown(job) -> None:
        if not tasks:  # the job is known: say whether it resumes, then show the bar
            if job.resumed:
                click.echo(f"resuming: {job.done:,} of {job.total:,} articles were done", err=True)
            bar.start()
            tasks.append(bar.add_task("rematch", total=job.total, completed=job.done, rate=""))
        else:
            bar.update(tasks[0], completed=job.done, rate=f"{job.rate:,.0f} articles/s")

    with _fatal_errors():
        config = _load(ctx, feeds=False)
        folder = Path(rules_dir) if rules_dir else config.rules
        ruleset = load_rules(folder)
        stopping = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.append(True))
        try:
            job = rematch_stage.rematch(lambda: _archive_store(config), ruleset, folder, since=since, rule=rule_name,
                                        batch=batch, clock=_now, stopping=lambda: bool(stopping), progress=shown)
        finally:
            bar.stop()
    if job.interrupted:
        click.echo(f"interrupted after {job.done:,} of {job.total:,} articles; run the same command again to resume", err=True)
        sys.exit(130)
    click.echo(f"rematched {job.done:,} articles ({job.done - job.done_before:,} in this run, "
               f"{job.rate:,.0f} articles/s)", err=True)


@cli.command()
@click.option("--since", metavar="DURATION", help="The period: hits of the last 24h, 7d, … (default: since the last digest sent, at most a week).")
@click.option("--dry-run", is_flag=True, help="Build the message and mark nothing as sent.")
@click.option("--send", "send_", is_flag=True, help="Send it (what happens without --dry-run; for scripts that say so).")
@click.option("--output", type=click.File("w", encoding="utf-8"), metavar="FILE", help="Write the RFC 5322 message to FILE.")
@database_option
@click.pass_context
def digest(ctx: click.Context, since: str | None, dry_run: bool, send_: bool, output) -> None:
    """Build the digest of a period's hits and send it (or, with --dry-run, only show it)."""
    from . import digest as digest_stage

    if dry_run and send_:
        raise click.UsageError("--dry-run and --send contradict each other")
    try:
        period = config_mod.parse_duration(since) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    with _fatal_errors():
        if not dry_run and not ctx.obj["config_path"].exists():
            raise ConfigError("no such file: mail needs the `digest:` settings of a config "
                              "(or `--dry-run` to read the digest of an archive without one)", file=str(ctx.obj["config_path"]))
        config = _load(ctx, feeds=not dry_run)
        if not dry_run:
            config_mod.require_mail(config)
        ruleset = load_rules(config.rules)
        with _archive_store(config) as store:
            try:
                outcome = digest_stage.deliver(store, config, list(ruleset.rules), _now(), since=period, dry_run=dry_run)
            except digest_stage.DigestError as exc:
                click.echo(f"monitor: {exc}; the hits stay for the next attempt", err=True)
                sys.exit(1)
    if output is not None:
        output.write(outcome.message.as_string())
    elif dry_run:
        click.echo(digest_stage.readable(outcome.message))
    built = outcome.digest
    counts = f"{plural(built.stories, 'story', 'stories')}, {plural(built.hits, 'hit', 'hits')}"
    if outcome.sent:
        click.echo(f"digest sent to {outcome.message['To']}: {counts}", err=True)
    elif dry_run:
        click.echo(f"{counts}; nothing marked as sent", err=True)
    else:
        click.echo("no hits in the period: nothing sent (digest.send_empty is false)", err=True)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@database_option
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Browse the archive in Datasette, with our metadata, facets and canned queries (read-only)."""
    import os

    from .serve import RULES_ENV, command

    with _fatal_errors():
        config = _load(ctx, feeds=False)
        _require_archive(config)
    try:
        import datasette  # noqa: F401 - the extra
    except ImportError:
        raise click.ClickException("Datasette is not installed: pip install 'monitor[datasette]'") from None
    # Datasette under our launcher (monitor.serve): our metadata, SQLite's limits on its connections,
    # a lane for ad-hoc SQL, writes refused; `python -m datasette` would load none of them. The search
    # box's @sets are those of the config's rules.
    os.execve(sys.executable, command(config.database, host, port), {**os.environ, RULES_ENV: str(config.rules.resolve())})


@cli.command()
@click.argument("query")
@click.option("--since", default="7d", show_default=True, metavar="DURATION",
              help="Articles published (fetched, when no time was given) in the last 30m, 24h, 7d, …")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), metavar="N",
              help="At most N articles, newest first.")
@database_option
@click.pass_context
def search(ctx: click.Context, query: str, since: str, limit: int) -> None:
    """Search the archive as the workbench's search box does: any text, words in every inflection, the rule language."""
    from datetime import timedelta

    from rich.text import Text

    from . import search as search_stage
    from .model import iso

    try:
        period = config_mod.parse_duration(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    with _fatal_errors():
        config = _load(ctx, feeds=False)
        sets = search_stage.load_sets(config.rules)
        with _archive_store(config) as store:
            rows = search_stage.find(store.db.conn, query, sets, since=iso(_now() - timedelta(seconds=period)), limit=limit)
    if not rows:
        click.echo(f"no articles match in the last {since}")
        return
    box = search_stage.translate(query, sets)
    terminal = sys.stdout.isatty()
    table = Table(title=f"{plural(len(rows), 'article', 'articles')}, newest first", title_justify="left")
    table.add_column("time", no_wrap=True)
    table.add_column("feed", max_width=12, overflow="ellipsis", no_wrap=True)
    table.add_column("title", ratio=2)
    table.add_column("snippet", ratio=3)
    for _id, when, feed, title, text in rows:
        snippet, marks = box.snippet(title or "", text or "", context=60)
        if terminal:
            cell = Text(snippet)
            for start, end in marks:
                cell.stylize("bold reverse", start, end)
        else:  # a pipe or a file keeps no style: the hits marked **so**, as in the workbench
            cell = Text(search_stage.marked(snippet, marks))
        table.add_row((when or "")[:16].replace("T", " "), feed, title, cell)
    Console(width=None if terminal else 80).print(table)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (bytes, counts, UTC times) for scripts.")
@database_option
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Show the archive's size and counts: file and WAL, free pages, articles, hits, stories, last prune and VACUUM."""
    import json

    with _fatal_errors():
        config = _load(ctx, feeds=False)
        with _archive_store(config) as store:
            s = store.stats()
            s["writable"] = store.writable()
            s["free_bytes"] = store.free_bytes()
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    rows = _stats_rows(s)
    table = Table(title=f"archive {config.database}")
    table.add_column("what")
    table.add_column("value", overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console(width=None if sys.stdout.isatty() else 240).print(table)


def _stats_rows(s: dict) -> list[tuple[str, str]]:
    """The lines of `monitor stats`: what, and its value as a person reads it."""
    share = s["free_pages"] / s["pages"] if s["pages"] else 0.0
    last_prune = s["last_prune"] and f"{s['last_prune']} ({s['last_prune_articles']:,} articles deleted)"
    return [
        ("archive", "writable" if s["writable"] else "FULL: no new page can be written; free space on its disk, "
                                                      "or raise its quota"),
        ("free disk space", _bytes(s["free_bytes"])),
        ("database file", _bytes(s["file_bytes"])),
        ("write-ahead log", _bytes(s["wal_bytes"])),
        ("free pages", f"{s['free_pages']:,} of {s['pages']:,} ({share:.0%})"),
        ("feeds", f"{s['feeds_active']:,} active ({s['feeds']:,} in all)"),
        ("articles", f"{s['articles']:,}"),
        ("articles with hits", f"{s['articles_with_hits']:,}"),
        ("hits (matches)", f"{s['matches']:,}"),
        ("stories", f"{s['stories']:,}"),
        ("place tags", f"{s['place_tags']:,} on {s['articles_with_places']:,} articles"),
        ("sightings", f"{s['sightings']:,}"),
        ("digests sent", f"{s['digests_sent']:,}"),
        ("oldest article", s["oldest_article"] or "—"),
        ("newest article", s["newest_article"] or "—"),
        ("last prune", last_prune or "never"),
        ("last VACUUM", s["last_vacuum"] or "never"),
    ]


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,} bytes"


@cli.command()
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.option("--vacuum", "vacuum_", is_flag=True, help="Then compact the file with VACUUM, due or not.")
@database_option
@click.pass_context
def prune(ctx: click.Context, dry_run: bool, vacuum_: bool) -> None:
    """Delete the articles older than archive.keep_unmatched that matched no rule (hits and their stories stay)."""
    with _fatal_errors():
        config = _load(ctx, feeds=False)
        keep = config.archive.keep_unmatched
        with _archive_store(config) as store:
            if keep is None:
                click.echo("archive.keep_unmatched is never: nothing is pruned")
            else:
                r = store.prune(_now(), keep, dry_run=dry_run)
                verb = "would delete" if dry_run else "deleted"
                click.echo(f"{verb} {r['articles']:,} articles fetched before {r['cutoff']} that matched nothing "
                           f"({r['places']:,} place tags; {r['stories_dropped']:,} stories dropped, "
                           f"{r['stories_updated']:,} updated)")
            if vacuum_ and not dry_run:
                v = store.vacuum(_now())
                click.echo(f"vacuumed: {_bytes(v['bytes_before'])} -> {_bytes(v['bytes_after'])}")


def _now():
    from .daemon import utcnow

    return utcnow()


def main(early_signals=None) -> None:
    """The command line; `early_signals` (monitor.systemd.EarlySignals) holds what `run` was sent
    while it started."""
    try:
        cli(prog_name="monitor", obj={"early_signals": early_signals})
    except MonitorError as exc:  # anything not handled by a command: still one clear line
        click.echo(f"monitor: {exc}", err=True)
        sys.exit(1)
