"""The scheduler process: APScheduler 3 triggers the jobs, the database decides what they do.

`dondoc scheduler` runs three jobs in one asyncio loop (AsyncIOScheduler):

- the sweep, every `sweep_minutes` (15) and once at start: what is due today becomes reminder
  events and, from the digest time on, e-mails; then everything queued is sent;
- the digest, every day at `digest_time` (07:30, Asia/Ho_Chi_Minh): the same pass, on the dot;
- the dispatch, every `dispatch_seconds` (15): sends what others queued (sign-in links, "đôn đốc").

`dondoc scheduler --once` runs one pass and exits, for cron and for tests. With
`scheduler_in_serve`, `dondoc serve` runs the same scheduler inside the web process
(one-machine installs; see `lifespan`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from notifications import jobs
from notifications.policy import parse_time_of_day
from notifications.sender import SmtpMailer
from service import observability
from service.clock import LOCAL_TZ, Clock, system_clock
from service.config import Settings
from service.database import get_engine
from service.i18n import t

logger = logging.getLogger(__name__)


class Runner:
    """The jobs of one process. One at a time: the 07:30 digest waits for a sweep in progress."""

    def __init__(
        self,
        engine: Engine,
        *,
        settings: Settings,
        clock: Clock = system_clock,
        mailer_factory: jobs.MailerFactory = SmtpMailer,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.mailer_factory = mailer_factory
        self._lock = asyncio.Lock()

    async def idle(self) -> None:
        """Wait for the job in progress, if any."""
        async with self._lock:
            pass

    async def full_pass(self) -> jobs.PassResult | None:
        async with self._lock:
            try:
                result = await jobs.run_pass(
                    self.engine,
                    settings=self.settings,
                    clock=self.clock,
                    mailer_factory=self.mailer_factory,
                )
            except Exception:
                logger.exception(t("notify.log_job_failed", job="sweep"))
                return None
        logger.info(summary(result))
        return result

    async def dispatch(self) -> jobs.DispatchResult | None:
        async with self._lock:
            try:
                result = await jobs.dispatch(
                    self.engine,
                    settings=self.settings,
                    clock=self.clock,
                    mailer_factory=self.mailer_factory,
                )
            except Exception:
                logger.exception(t("notify.log_job_failed", job="dispatch"))
                return None
        if result.sent or result.retrying or result.failed:
            logger.info(dispatch_summary(result))
        return result


def build_scheduler(runner: Runner) -> AsyncIOScheduler:
    """The three jobs, on the settings' intervals; the sweep also runs at once."""
    settings = runner.settings
    digest_at = parse_time_of_day(settings.digest_time)
    scheduler = AsyncIOScheduler(timezone=LOCAL_TZ)
    # A late run is still worth doing, but once: coalesce missed runs into one.
    options: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    scheduler.add_job(
        runner.full_pass,
        IntervalTrigger(minutes=settings.sweep_minutes, timezone=LOCAL_TZ),
        id="sweep",
        next_run_time=runner.clock().astimezone(LOCAL_TZ),
        **options,
    )
    scheduler.add_job(
        runner.full_pass,
        CronTrigger(hour=digest_at.hour, minute=digest_at.minute, timezone=LOCAL_TZ),
        id="digest",
        **options,
    )
    scheduler.add_job(
        runner.dispatch,
        IntervalTrigger(seconds=settings.dispatch_seconds, timezone=LOCAL_TZ),
        id="dispatch",
        **options,
    )
    return scheduler


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    engine: Engine | None = None,
    clock: Clock = system_clock,
    mailer_factory: jobs.MailerFactory = SmtpMailer,
) -> None:
    """Run the scheduler until `stop` is set, or until SIGINT/SIGTERM."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    runner = Runner(
        engine or get_engine(settings),
        settings=settings,
        clock=clock,
        mailer_factory=mailer_factory,
    )
    observability.watch_scheduler(runner, settings)
    scheduler = build_scheduler(runner)
    scheduler.start()
    logger.info(
        t(
            "notify.log_started",
            sweep=settings.sweep_minutes,
            digest=settings.digest_time,
            dispatch=settings.dispatch_seconds,
        )
    )
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        # Let a pass in progress finish its e-mail rather than cut it mid-batch.
        await runner.idle()
        logger.info(t("notify.log_stopped"))


def run_forever(settings: Settings) -> None:
    """`dondoc scheduler`."""
    asyncio.run(serve(settings))


def run_once(settings: Settings, *, clock: Clock = system_clock) -> jobs.PassResult:
    """`dondoc scheduler --once`: one sweep, compose and dispatch."""
    return asyncio.run(jobs.run_pass(get_engine(settings), settings=settings, clock=clock))


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """The scheduler inside the web process, when `scheduler_in_serve` is on."""
    settings = getattr(app.state, "settings", None)
    if not isinstance(settings, Settings) or not settings.scheduler_in_serve:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop=stop))
    try:
        yield
    finally:
        stop.set()
        await task


def summary(result: jobs.PassResult) -> str:
    """One line about a pass, for the log and the --once output."""
    return t(
        "notify.pass_summary",
        events=result.events,
        digests=result.composed.digests,
        alerts=result.composed.alerts,
        dropped=result.composed.dropped,
        dispatch=dispatch_summary(result.dispatched),
    )


def dispatch_summary(result: jobs.DispatchResult) -> str:
    return t(
        "notify.dispatch_summary",
        sent=result.sent,
        retrying=result.retrying,
        failed=result.failed,
    )
