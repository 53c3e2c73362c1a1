"""rematch: the rules and places applied again to the archive, one transaction per batch, resumable.

The run is a row of `jobs` keyed by its arguments (since, rule, and a fingerprint of the rules' queries):
the same command after a stop resumes after the last article it did; another one starts afresh.
What is shown meanwhile (a progress bar, the final line) is the caller's.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from .errors import RuleError
from .places import load_gazetteer
from .rules import tag

JOB = "rematch"


@dataclass
class Job:
    """How far a rematch is: `done` counts the articles of the runs it resumes too."""

    total: int
    done: int
    done_before: int  # by the runs it resumes
    resumed: bool
    seconds: float = 0.0  # this run's
    interrupted: bool = False

    @property
    def rate(self) -> float:
        """Articles a second in this run."""
        return (self.done - self.done_before) / max(1e-9, self.seconds)


def check_since(since: str | None) -> None:
    """`--since` is a date such as 2026-11-01 (a time after it is ignored); ValueError otherwise."""
    if since:
        try:
            date.fromisoformat(since[:10])
        except ValueError:
            raise ValueError("must be a date such as 2026-11-01") from None


def job_args(ruleset, since: str | None, rule: str | None) -> str:
    """What a run is keyed by: a run with other rules, or other queries, starts afresh."""
    fingerprint = hashlib.sha256("\n".join(f"{r.name}={r.query}" for r in ruleset.rules).encode()).hexdigest()[:16]
    return json.dumps({"since": since, "rule": rule, "rules": fingerprint})


def rematch(open_store: Callable, ruleset, folder, *, since: str | None, rule: str | None, batch: int,
            clock: Callable[[], datetime], stopping: Callable[[], bool],
            progress: Callable[[Job], None] = lambda job: None) -> Job:
    """Re-tag the archive's articles (published or fetched since `since`) with `ruleset` and the
    gazetteer; with `rule`, only that rule's matches are replaced. `progress` is called once the job
    is known and after each batch; `stopping` is asked before each batch. Raises RuleError when
    `rule` is not in the rules of `folder`."""
    if rule and rule not in {r.name for r in ruleset.rules}:
        raise RuleError(f"no rule named {rule!r} in {folder}")
    gazetteer = load_gazetteer()
    with open_store() as store:
        store.sync_places(gazetteer.places)
        row = store.job(JOB, job_args(ruleset, since, rule), lambda: store.count_since(since))
        job = Job(total=row["total"], done=row["done"], done_before=row["done"], resumed=row["resumed"])
        last_id, started = row["last_id"], time.perf_counter()
        progress(job)
        while not stopping():
            rows = store.articles_after(last_id, since, batch)
            if not rows:
                break
            tagged = []
            for article in rows:
                matches, places = tag(ruleset, gazetteer, title=article["title"], text=article["text"],
                                      lang=article["lang"], feed=article["feed"])
                tagged.append((article["id"], matches, places))
            store.retag(JOB, tagged, rule, clock())
            last_id, job.done = rows[-1]["id"], job.done + len(rows)
            job.seconds = time.perf_counter() - started
            progress(job)
        job.seconds = time.perf_counter() - started
        job.interrupted = stopping()
        if not job.interrupted:
            store.finish_job(JOB)
    return job
