"""cli: the `monitor` command.

    monitor [--config PATH] [--verbose] COMMAND

Exit status: 0 on success (a failing feed is not a failure of `run`), 2 when the config or a rule
file is unusable, 1 when the database is unusable.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from . import config as config_mod
from .errors import ConfigError, MonitorError, RuleError, StoreError
from .rules import load_rules

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class EventFormatter(logging.Formatter):
    """One event per line: time, level, event, then key=value context (feed, url, rule, …)."""

    def format(self, record: logging.LogRecord) -> str:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
        context = " ".join(f"{k}={_quote(v)}" for k, v in record.__dict__.items() if k not in _STANDARD)
        line = f"{when} {record.levelname} {record.getMessage()}" + (f" {context}" if context else "")
        if record.exc_info:
            line += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        return line


def _quote(value) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)  # systemd's journal reads stderr
    handler.setFormatter(EventFormatter())
    root = logging.getLogger("monitor")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


@contextmanager
def _fatal_errors():
    """Turn the errors that make a command impossible into a message and an exit status."""
    try:
        yield
    except (ConfigError, RuleError) as exc:
        click.echo(f"monitor: {exc}", err=True)
        sys.exit(2)
    except StoreError as exc:
        click.echo(f"monitor: {exc}", err=True)
        sys.exit(1)


@click.group()
@click.version_option(__version__, prog_name="monitor")
@click.option("--config", "config_path", metavar="PATH", help="feeds.yaml to use (default: $MONITOR_CONFIG, then ./feeds.yaml).")
@click.option("-v", "--verbose", is_flag=True, help="Log debug events too.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Media monitor: polls news feeds, extracts and tags articles, archives them in SQLite."""
    ctx.obj = {"config_path": config_mod.config_path(config_path), "verbose": verbose}
    setup_logging(verbose)


def _load(ctx: click.Context):
    return config_mod.load(ctx.obj["config_path"])


@cli.command()
@click.option("--once", is_flag=True, help="Run one full cycle (every feed polled once) and exit.")
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """Run the daemon (or one cycle with --once)."""
    from .daemon import Monitor
    from .store import Store
    from .workers import Workers

    with _fatal_errors():
        config = _load(ctx)
        rules = load_rules(config.rules)
        with Store(config.database) as store, _workers(config) as workers:
            monitor = Monitor(config, store, rules, workers)
            if once:
                stats = asyncio.run(monitor.run_once())
                click.echo(
                    f"{stats.feeds} feeds polled ({stats.unchanged} unchanged, {stats.failed} failed), "
                    f"{stats.articles} new articles in {stats.seconds:.1f} s",
                    err=True,
                )
            else:
                asyncio.run(monitor.serve())


def _workers(config):
    from .workers import Workers

    f = config.fetch
    return Workers(f.extract_workers, memory_limit=f.extract_memory, tasks_per_worker=f.worker_tasks)


@cli.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the config and the rules; exit 2 on the first error."""
    with _fatal_errors():
        config = _load(ctx)
        rules = load_rules(config.rules)
    click.echo(f"{ctx.obj['config_path']}: ok ({len(config.feeds)} feeds, {len(rules)} rules in {config.rules})")


@cli.command()
@click.pass_context
def feeds(ctx: click.Context) -> None:
    """Show each feed's health: last status, error, articles, next poll."""
    from .store import Store

    with _fatal_errors():
        config = _load(ctx)
        with Store(config.database) as store:
            store.sync_feeds(config.feeds, _now())
            rows = store.health()
    table = Table(title=f"feeds in {config.database}")
    for column in ("feed", "status", "errors", "articles", "last success", "next poll", "last error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        if not row["active"]:
            continue
        status = str(row["status"] or "—")
        style = "red" if row["last_error"] else ("green" if row["status"] else "")
        table.add_row(
            row["name"], status, str(row["error_count"]), str(row["article_count"]),
            row["last_success"] or "never", row["next_poll"] or "now", row["last_error"] or "", style=style,
        )
    # Piped output is read by grep and scripts: don't wrap it to an imaginary 80 columns.
    Console(width=None if sys.stdout.isatty() else 240).print(table)


@cli.command()
@click.option("--database", type=click.Path(dir_okay=False), default="monitor-demo.db", show_default=True,
              help="Where the demo archive is written.")
def demo(database: str) -> None:
    """Run the whole pipeline offline on bundled sample feeds served on 127.0.0.1."""
    from .demo import run_demo

    with _fatal_errors():
        run_demo(Path(database), Console())


def _now():
    from .daemon import utcnow

    return utcnow()


def main() -> None:
    try:
        cli(prog_name="monitor")
    except MonitorError as exc:  # anything not handled by a command: still one clear line
        click.echo(f"monitor: {exc}", err=True)
        sys.exit(1)
