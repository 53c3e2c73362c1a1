"""daemon: the mail clocks: immediate alerts after each cycle, spikes, and the daily digest.

Mail goes through `writer`, on its own connection and thread, so a slow mail server never holds
up storing. A refusal is retried: the digest after 5 min × 2ⁿ up to 6 h, alerts at the next cycle.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from .. import digest as digest_stage
from ..config import Config
from ..errors import DigestError, StoreBusy, classify
from ..rules import RuleSet
from ..store import Store
from ..writer import Writer
from .policy import digest_slot, mail_configured, mail_retry_delay

log = logging.getLogger("monitor")


class Mailer:
    """What the mail clocks remember between ticks: the digest's refusals in a row and when it is
    tried again, and when each rule's spike was last mailed (in memory: a restart may mail a
    running spike once more)."""

    def __init__(self, writer: Writer, store: Store):
        self.writer, self.store = writer, store  # `store` is the loop's connection, for reads
        self._digest_failures = 0
        self._digest_retry_at: datetime | None = None
        self._spikes_mailed: dict[str, datetime] = {}  # rule → when its spike was last mailed

    async def digest_if_due(self, config: Config, rules: RuleSet, now: datetime, started: datetime) -> bool:
        """Send the digest when its time has come and its period has not been sent; a run missed
        while the daemon was down is caught up at start; a refusal is retried with backoff."""
        slot = digest_slot(now, config.digest)
        if slot is None or (self._digest_retry_at is not None and now < self._digest_retry_at):
            return False
        last = self.store.last_digest_end() or started  # a fresh archive waits for its first slot
        if last >= slot:
            return False
        try:
            outcome = await self.writer.run(digest_stage.deliver, config, list(rules.rules), now)
        except (DigestError, StoreBusy) as exc:
            self._digest_failures += 1
            delay = mail_retry_delay(self._digest_failures, classify(exc))
            self._digest_retry_at = now + timedelta(seconds=delay)
            log.warning("digest not sent, retrying later", extra={"error": str(exc), "retry_in": delay})
            return False
        self._digest_failures, self._digest_retry_at = 0, None
        log.info("digest sent" if outcome.sent else "digest period empty",
                 extra={"stories": outcome.digest.stories, "hits": outcome.digest.hits})
        return outcome.sent

    async def send_alerts(self, config: Config, rules: RuleSet, now: datetime, started: datetime) -> int:
        """Mail the new hits of `alert: immediate` rules, batched per cycle; a refusal is retried
        at the next cycle (the hits stay unmarked)."""
        if not mail_configured(config.digest):
            return 0
        try:
            sent = await self.writer.run(digest_stage.alert, config, list(rules.rules), now, started)
        except (DigestError, StoreBusy) as exc:
            log.warning("alert not sent, retrying next cycle", extra={"error": str(exc)})
            return 0
        if sent:
            log.info("alert sent", extra={"hits": sent})
        if config.digest.spike_alert:
            try:
                spiking = await self.writer.run(digest_stage.spike_alert, config, list(rules.rules), now,
                                                self._spikes_mailed)
            except (DigestError, StoreBusy) as exc:
                log.warning("spike alert not sent, retrying next cycle", extra={"error": str(exc)})
            else:
                for rule in spiking:
                    log.info("spike alert sent", extra={"rule": rule})
        return sent
