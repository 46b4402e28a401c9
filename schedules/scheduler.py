"""The reminder scheduler inside `coordbot run`: APScheduler 3.11's AsyncIOScheduler in
Europe/Oslo, holding only jobs derived from the database, rebuilt from it at start and
whenever the registry changes.

Each distinct reminder time is one date job; when it fires it calls `fire_due`, which writes
the due reminders to the outbox (idempotently) and wakes the delivery workers. At start,
`fire_due` runs once as catch-up: a reminder missed while the bot was down goes out now if it
is still useful, marked late, and never twice (its outbox rows already exist if it went out).

Registry changes are noticed by a cheap check every `reminders.recheck_seconds` of the
registry's generation, which every write raises (any process, e.g. `coordbot registry
import`), and of the deadline marks; a change
rebuilds the jobs and cancels queued reminders of events that moved or were cancelled. An
in-process writer can call `registry_changed()` to rebuild at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, select

from bot.registry.marks import DeadlineDone
from bot.registry.tables import MetaEntry
from bot.services import Services
from schedules.fire import cancel_stale_reminders, current_plan, enqueue_due_reminders
from schedules.plan import upcoming

log = logging.getLogger(__name__)


class ReminderScheduler:
    """Component: reminder jobs on an AsyncIOScheduler, kept in step with the registry."""

    name = "reminders"

    def __init__(self, services: Services) -> None:
        self._services = services
        self._scheduler: AsyncIOScheduler | None = None
        self._watch: asyncio.Task[None] | None = None
        self._fingerprint: tuple[object, ...] | None = None
        self._lock = asyncio.Lock()
        self.fired = 0

    @property
    def scheduler(self) -> AsyncIOScheduler:
        """The running APScheduler (after start)."""
        if self._scheduler is None:
            raise RuntimeError("the reminder scheduler has not been started")
        return self._scheduler

    async def start(self) -> None:
        """Start APScheduler, build the jobs from the database and catch up."""
        self._scheduler = AsyncIOScheduler(
            timezone=self._services.zone,
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        )
        self._scheduler.start()
        await self.rebuild()
        self._watch = asyncio.create_task(self._watch_registry(), name="reminders:watch")

    async def stop(self) -> None:
        """Stop watching and shut APScheduler down (jobs live in the database, not here)."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    async def rebuild(self) -> None:
        """Replace every job with those of the current plan, cancel stale queued reminders,
        and send what is due now."""
        async with self._lock:
            self._fingerprint = await asyncio.to_thread(self._read_fingerprint)
            # Plan from a registry at least as new as that fingerprint: the cached snapshot
            # may be up to a second old (bot.registry.store), which the fingerprint would then
            # hide for good (say, in an instance that became the leader just after an edit).
            # Checked against the write counter, it is read again only if someone wrote.
            await asyncio.to_thread(self._services.registry.current)
            now = self._services.clock.now()
            plan = await asyncio.to_thread(current_plan, self._services, now)
            scheduler = self.scheduler
            scheduler.remove_all_jobs()
            # APScheduler runs on the wall clock; coordbot's clock may be fixed (bot.now for
            # demos, tests). A job goes at the same distance from the wall clock's now as its
            # reminder is from coordbot's now: the very time itself with the system clock.
            shift = datetime.now(UTC) - now
            for due in sorted({r.due for r in upcoming(plan, now)}):
                scheduler.add_job(
                    self.fire_due,
                    "date",
                    run_date=due + shift,
                    id=f"reminders@{due.isoformat()}",
                    name=due.isoformat(),
                    replace_existing=True,
                )
            cancelled = await asyncio.to_thread(cancel_stale_reminders, self._services, plan)
            if cancelled:
                log.info("cancelled %d queued reminder(s) of moved or cancelled events", cancelled)
        await self.fire_due()

    def job_times(self) -> list[datetime]:
        """When the scheduled jobs will run (for checks and `remind plan`)."""
        zone = self._services.zone
        return sorted(
            datetime.fromisoformat(job.name).astimezone(zone) for job in self.scheduler.get_jobs()
        )

    async def fire_due(self) -> int:
        """Queue every reminder due now; returns how many new outbox rows that made."""
        fired = await asyncio.to_thread(enqueue_due_reminders, self._services)
        added = sum(f.added for f in fired)
        if added:
            self._services.outbox.notify()
            self.fired += added
            for f in fired:
                if f.added:
                    log.info(
                        "reminder %s (%s)%s: %d message(s) queued",
                        f.reminder.event.key,
                        f.reminder.lead.text,
                        " late" if f.late else "",
                        f.added,
                    )
        return added

    async def registry_changed(self) -> None:
        """Rebuild now (call after writing the registry in this process)."""
        await self.rebuild()

    def _read_fingerprint(self) -> tuple[object, ...]:
        with self._services.db.session() as session:
            # The registry's generation rises on every write (bot.registry.bump_generation).
            generation = session.get(MetaEntry, "registry_generation")
            marks = session.execute(select(func.count(), func.max(DeadlineDone.marked_at))).one()
            return (generation.value if generation else None, *marks)

    async def check_registry(self) -> bool:
        """Rebuild if the registry or the deadline marks changed since the last build (in
        any process); True if it did."""
        fingerprint = await asyncio.to_thread(self._read_fingerprint)
        if fingerprint == self._fingerprint:
            return False
        log.info("registry or deadline marks changed: rebuilding reminder jobs")
        await self.registry_changed()
        return True

    async def _watch_registry(self) -> None:
        interval = self._services.config.reminders.recheck_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check_registry()
            except Exception:
                log.exception("checking the registry for changes failed")
