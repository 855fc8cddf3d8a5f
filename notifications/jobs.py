"""The scheduler's jobs: sweep (what is due today), compose (digests), dispatch (SMTP).

The scheduler only triggers; the database decides. Each job can run any number of times, from
any number of processes, and the dedup keys make the repeats no-ops:

- `sweep` finds open reports and tasks whose due date falls in the policy's window (an indexed
  range, so its cost follows what is due, not the size of the tables), asks the policy which
  step each audience is due for today, and inserts one `ReminderEvent` per recipient under a
  unique key (item, due date, cycle, step, recipient). A returned report starts a new cycle.
- `compose` re-reads each queued event's item (still open? same due date? recipient still
  reachable?), keeps the latest step per recipient and item, and from the digest time on turns
  each recipient's events into one e-mail a day ("digest:<recipient>:<day>"); rungs marked
  immediate get an e-mail of their own.
- `dispatch` claims due outbox rows in batches, sends each batch over one SMTP connection
  (`smtp_connections` batches side by side) and marks each e-mail as soon as the server answered.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import socket
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from notifications import outbox
from notifications import repository as repo
from notifications.calendar import WorkingCalendar, load_calendar
from notifications.policy import (
    Audience,
    Due,
    Phase,
    PolicyOverrides,
    ReminderPolicy,
    due_on_window,
    due_today,
    parse_days,
    parse_ladder,
    parse_time_of_day,
    policy_from_settings,
)
from notifications.rendering import (
    SIGN_IN_PLACEHOLDER,
    DigestContext,
    Item,
    plan_label,
    render,
    task_label,
)
from notifications.sender import DeliveryError, Mailer, SmtpMailer, build_message
from service.auth import repository as auth_repository
from service.auth.service import login_link_url
from service.auth.tokens import hash_token, new_token
from service.clock import Clock, local_date, to_local
from service.config import Settings
from service.database import session_scope
from service.i18n import t
from service.models import (
    AgencyKind,
    ObligationStatus,
    PlanReminderPolicy,
    PlanStatus,
    ReminderEvent,
    ReminderEventState,
    TaskState,
    User,
    UserRole,
)

logger = logging.getLogger(__name__)

DIGEST_KIND = "digest"
ALERT_KIND = "alert"

MailerFactory = Callable[[Settings], Mailer]


# --- Keys --------------------------------------------------------------------------------------


def recipient_key(email: str) -> str:
    """A short, stable stand-in for an address inside dedup keys (which must stay < 255)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def event_key(*, kind: str, item_id: int, due_on: date, cycle: str, step: str, email: str) -> str:
    return f"{kind}:{item_id}:{due_on.isoformat()}:{cycle}:{step}:{recipient_key(email)}"


def obligation_cycle(status: ObligationStatus, reviewed_at: datetime | None) -> str:
    """Reminders start again after a report is returned: each return is a new cycle."""
    if status == ObligationStatus.RETURNED:
        return f"r{int(reviewed_at.timestamp()) if reviewed_at else 0}"
    return "c0"


# --- Policies ----------------------------------------------------------------------------------


def overrides_of(row: PlanReminderPolicy) -> PolicyOverrides:
    return PolicyOverrides(
        before=parse_days(row.reminder_days) if row.reminder_days is not None else None,
        on_the_day=row.on_the_day,
        ladder=parse_ladder(row.escalation_ladder) if row.escalation_ladder is not None else None,
        repeat_every=row.repeat_every,
        max_repeats=row.max_repeats,
        enabled=row.enabled,
    )


def plan_policies(
    session: Session, *, settings: Settings
) -> tuple[ReminderPolicy, dict[int, ReminderPolicy]]:
    """The deployment's policy, and each plan's that overrides it."""
    base = policy_from_settings(settings)
    plans = {
        plan_id: base.with_overrides(overrides_of(row))
        for plan_id, row in repo.plan_policies(session).items()
    }
    return base, plans


# --- Sweep -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    email: str
    user_id: int | None


@dataclass(frozen=True)
class _Due:
    """An open report or task the sweep found in the window."""

    kind: str  # "obligation" | "task"
    id: int
    agency_id: int
    due_on: date
    cycle: str
    plan_id: int
    lead_agency_id: int | None
    report_to_agency_id: int | None


@dataclass
class _Recipients:
    """Who each audience is, for the agencies and plans of one sweep (a few queries in all)."""

    focal: dict[int, list[Recipient]]
    heads: dict[int, Recipient]
    lead: dict[int, list[Recipient]]
    # Leadership users by the UBND they belong to; None: leaders with no agency.
    leaders: dict[int | None, list[Recipient]]
    # The issuing UBND of each (lead agency, report-to agency) pair.
    issuers: dict[tuple[int | None, int | None], int | None]

    def of(self, audience: Audience, item: _Due) -> list[Recipient]:
        head = [self.heads[item.agency_id]] if item.agency_id in self.heads else []
        if audience == Audience.FOCAL_POINT:
            # Nobody reachable at the agency (no focal point, or all paused): its head.
            return self.focal.get(item.agency_id) or head
        if audience == Audience.AGENCY_HEAD:
            return head
        if audience == Audience.LEAD_OFFICE:
            lead_id = item.lead_agency_id
            return self.lead.get(lead_id, []) if lead_id is not None else []
        issuer = self.issuers.get((item.lead_agency_id, item.report_to_agency_id))
        return (self.leaders.get(issuer) if issuer is not None else None) or self.leaders.get(
            None, []
        )


def _paused(user: User | repo.AnyRow, today: date) -> bool:
    return user.reminders_paused_until is not None and today <= user.reminders_paused_until


def _issuer(
    lead_id: int | None, report_to_id: int | None, agencies: dict[int, repo.AnyRow]
) -> int | None:
    """The UBND that issued a plan: the one reports go to, else the lead office's or the
    report-to body's parent committee."""

    def parent(agency_id: int | None) -> int | None:
        agency = agencies.get(agency_id) if agency_id is not None else None
        return agency.parent_id if agency else None

    for candidate in (report_to_id, parent(lead_id), parent(report_to_id)):
        agency = agencies.get(candidate) if candidate is not None else None
        if agency is not None and agency.kind == AgencyKind.PEOPLE_COMMITTEE:
            return agency.id
    return None


def _recipients(session: Session, *, items: Sequence[_Due], today: date) -> _Recipients:
    def reachable(users: Iterable[repo.AnyRow]) -> list[repo.AnyRow]:
        return [user for user in users if not _paused(user, today)]

    agency_ids = {item.agency_id for item in items}
    pairs = {(item.lead_agency_id, item.report_to_agency_id) for item in items}
    plan_bodies = {agency_id for pair in pairs for agency_id in pair if agency_id is not None}
    known = repo.agencies(session, agency_ids=agency_ids | plan_bodies)
    parents = {agency.parent_id for agency in known.values() if agency.parent_id}
    known |= repo.agencies(session, agency_ids=parents - set(known))
    issuers = {pair: _issuer(pair[0], pair[1], known) for pair in pairs}

    focal: dict[int, list[Recipient]] = defaultdict(list)
    for user in reachable(repo.users_of(session, role=UserRole.FOCAL_POINT, agency_ids=agency_ids)):
        assert user.agency_id is not None
        focal[user.agency_id].append(Recipient(user.email, user.id))
    heads = {
        agency_id: Recipient(agency.head_email.strip().lower(), None)
        for agency_id, agency in known.items()
        if agency_id in agency_ids and agency.head_email and agency.head_email.strip()
    }
    lead_ids = {lead for lead, _ in pairs if lead is not None}
    lead: dict[int, list[Recipient]] = defaultdict(list)
    for user in reachable(repo.users_of(session, role=UserRole.LEAD_OFFICE, agency_ids=lead_ids)):
        assert user.agency_id is not None
        lead[user.agency_id].append(Recipient(user.email, user.id))
    issuer_ids = {issuer for issuer in issuers.values() if issuer is not None}
    leaders: dict[int | None, list[Recipient]] = defaultdict(list)
    for user in reachable(
        repo.users_of(session, role=UserRole.LEADERSHIP, agency_ids=issuer_ids, with_no_agency=True)
    ):
        leaders[user.agency_id].append(Recipient(user.email, user.id))
    return _Recipients(focal, heads, lead, leaders, issuers)


def sweep(session: Session, *, now: datetime, settings: Settings) -> int:
    """Queue every reminder and escalation due today; how many were new."""
    today = local_date(now)
    calendar = load_calendar(session)
    if not calendar.is_working_day(today):
        # Steps fall on working days; what a weekend would catch up on waits for Monday.
        return 0
    base, per_plan = plan_policies(session, settings=settings)
    earliest, latest = due_on_window([base, *per_plan.values()], today=today, calendar=calendar)
    items = [
        _Due(
            "obligation",
            row.id,
            row.agency_id,
            row.due_on,
            obligation_cycle(row.status, row.reviewed_at),
            row.plan_id,
            row.lead_agency_id,
            row.report_to_agency_id,
        )
        for row in repo.open_obligations_due(session, earliest=earliest, latest=latest)
    ] + [
        _Due(
            "task",
            row.id,
            row.agency_id,
            row.due_on,
            "c0",
            row.plan_id,
            row.lead_agency_id,
            row.report_to_agency_id,
        )
        for row in repo.open_tasks_due(session, earliest=earliest, latest=latest)
    ]
    if not items:
        return 0
    recipients = _recipients(session, items=items, today=today)
    schedules = _ScheduleCache(calendar, today)
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        for due in schedules.due(per_plan.get(item.plan_id, base), item.due_on):
            for recipient in recipients.of(due.audience, item):
                key = event_key(
                    kind=item.kind,
                    item_id=item.id,
                    due_on=item.due_on,
                    cycle=item.cycle,
                    step=due.step.name,
                    email=recipient.email,
                )
                rows.setdefault(
                    key,
                    {
                        "dedup_key": key,
                        "recipient_email": recipient.email,
                        "user_id": recipient.user_id,
                        "audience": due.audience.value,
                        "obligation_id": item.id if item.kind == "obligation" else None,
                        "task_id": item.id if item.kind == "task" else None,
                        "step": due.step.name,
                        "due_on": item.due_on,
                        "fire_on": today,
                        "immediate": due.step.immediate,
                        "state": ReminderEventState.QUEUED,
                        "created_at": now,
                    },
                )
    return repo.insert_events(session, list(rows.values()))


class _ScheduleCache:
    """Many items share a due date and a policy: work out each pair's steps once."""

    def __init__(self, calendar: WorkingCalendar, today: date) -> None:
        self._calendar = calendar
        self._today = today
        self._cache: dict[tuple[ReminderPolicy, date], list[Due]] = {}

    def due(self, policy: ReminderPolicy, due_on: date) -> list[Due]:
        key = (policy, due_on)
        if key not in self._cache:
            self._cache[key] = due_today(
                policy, due_on=due_on, today=self._today, calendar=self._calendar
            )
        return self._cache[key]


# --- Compose -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComposeResult:
    digests: int = 0
    alerts: int = 0
    dropped: int = 0


_ESCALATED = {Audience.AGENCY_HEAD.value, Audience.LEAD_OFFICE.value, Audience.LEADERSHIP.value}


def compose(session: Session, *, now: datetime, settings: Settings) -> ComposeResult:
    """Turn queued reminder events into e-mails: one digest per recipient per day."""
    local_now = to_local(now)
    if local_now.time() < parse_time_of_day(settings.digest_time):
        # Nothing goes out at night: the day's reminders wait for the digest time.
        return ComposeResult()
    today = local_now.date()
    calendar = load_calendar(session)
    if not calendar.is_working_day(today):
        # Days off stay quiet: what was found after Friday's digest goes out on Monday.
        return ComposeResult()
    events = repo.queued_events(session)
    if not events:
        return ComposeResult()
    obligations = repo.obligation_details(
        session, obligation_ids={e.obligation_id for e in events if e.obligation_id}
    )
    tasks = repo.task_details(session, task_ids={e.task_id for e in events if e.task_id})
    users = repo.users(session, user_ids={e.user_id for e in events if e.user_id})

    live: dict[tuple[str, str, int], ReminderEvent] = {}
    dropped: list[int] = []
    for event in events:
        if not _still_due(event, obligations, tasks, users, today):
            dropped.append(event.id)
            continue
        kind = "obligation" if event.obligation_id else "task"
        slot = (event.recipient_email, kind, event.obligation_id or event.task_id or 0)
        previous = live.get(slot)
        # One line per item: a later step supersedes an earlier one still waiting.
        if previous is None or (event.fire_on, event.id) > (previous.fire_on, previous.id):
            if previous is not None:
                dropped.append(previous.id)
            live[slot] = event
        else:
            dropped.append(event.id)
    repo.drop_events(session, event_ids=dropped)

    by_recipient: dict[str, list[ReminderEvent]] = defaultdict(list)
    for event in live.values():
        by_recipient[event.recipient_email].append(event)

    # Each e-mail with the events it carries; rendered first, queued in one batch.
    planned: list[tuple[outbox.Message, list[int]]] = []
    for email, mine in sorted(by_recipient.items()):
        user = users.get(mine[0].user_id) if mine[0].user_id else None
        for event in [e for e in mine if e.immediate]:
            item = _item(event, obligations, tasks, today, calendar)
            message = _digest(
                key=f"{ALERT_KIND}:{event.dedup_key}",
                kind=ALERT_KIND,
                email=email,
                user=user,
                items=[item],
                today=today,
                settings=settings,
            )
            planned.append((message, [event.id]))
        batch = [e for e in mine if not e.immediate]
        if batch:
            message = _digest(
                key=f"{DIGEST_KIND}:{recipient_key(email)}:{today.isoformat()}",
                kind=DIGEST_KIND,
                email=email,
                user=user,
                items=[_item(e, obligations, tasks, today, calendar) for e in batch],
                today=today,
                settings=settings,
            )
            planned.append((message, [e.id for e in batch]))
    queued = outbox.enqueue_many(
        session, [message for message, _ in planned], now=now, sender=settings.smtp_sender
    )
    # A recipient whose digest of the day is already out keeps these events for tomorrow's.
    repo.batch_events(
        session,
        [
            (event_id, queued[message.dedup_key])
            for message, event_ids in planned
            if message.dedup_key in queued
            for event_id in event_ids
        ],
    )
    alerts = sum(
        1 for message, _ in planned if message.kind == ALERT_KIND and message.dedup_key in queued
    )
    return ComposeResult(digests=len(queued) - alerts, alerts=alerts, dropped=len(dropped))


def _still_due(
    event: ReminderEvent,
    obligations: dict[int, Any],
    tasks: dict[int, Any],
    users: dict[int, User],
    today: date,
) -> bool:
    """Re-read before acting: an event queued earlier may no longer be worth an e-mail."""
    if event.user_id is not None:
        user = users.get(event.user_id)
        if user is None or not user.is_active or _paused(user, today):
            return False
    if event.obligation_id is not None:
        row = obligations.get(event.obligation_id)
        return bool(
            row is not None
            and row.plan_status == PlanStatus.ACTIVE
            and row.status in repo.OPEN_OBLIGATION
            and row.due_on == event.due_on
        )
    row = tasks.get(event.task_id or 0)
    return bool(
        row is not None
        and row.plan_status == PlanStatus.ACTIVE
        and row.state != TaskState.HOAN_THANH
        and row.due_on == event.due_on
    )


def _item(
    event: ReminderEvent,
    obligations: dict[int, Any],
    tasks: dict[int, Any],
    today: date,
    calendar: WorkingCalendar,
) -> Item:
    if event.obligation_id is not None:
        row = obligations[event.obligation_id]
        title = row.label
        returned = (row.review_comment or "") if row.status == ObligationStatus.RETURNED else None
    else:
        row = tasks[event.task_id or 0]
        title = task_label(row.text)
        returned = None
    due_on: date = row.due_on
    overdue = today > due_on
    if overdue:
        left = -calendar.working_days_between(due_on, today)
    else:
        left = calendar.working_days_between(today, calendar.last_working_day_on_or_before(due_on))
    phase = Phase.OVERDUE if overdue else (Phase.DUE if left <= 0 else Phase.BEFORE)
    return Item(
        title=title,
        plan=plan_label(row.number),
        agency=row.agency,
        due_on=due_on,
        phase=phase,
        working_days_left=left,
        escalated=event.audience in _ESCALATED,
        returned_comment=returned,
        on_due_day=today == due_on,
    )


def _digest(
    *,
    key: str,
    kind: str,
    email: str,
    user: User | None,
    items: list[Item],
    today: date,
    settings: Settings,
) -> outbox.Message:
    context = DigestContext(
        recipient_name=user.full_name if user else None,
        day=today,
        items=items,
        sign_in_link=SIGN_IN_PLACEHOLDER if user is not None else None,
        link_hours=settings.reminder_link_hours,
        public_url=settings.public_url,
    )
    rendered = render("digest", context)
    return outbox.Message(
        dedup_key=key,
        recipient_email=email,
        user_id=user.id if user else None,
        kind=kind,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
    )


# --- One pass: what the scheduler runs ---------------------------------------------------------


@dataclass(frozen=True)
class PassResult:
    events: int
    composed: ComposeResult
    dispatched: DispatchResult


def prepare(engine: Engine, *, now: datetime, settings: Settings) -> tuple[int, ComposeResult]:
    """Sweep and compose in one transaction: the day's reminders become outbox rows."""
    with session_scope(engine) as session:
        repo.lock_composer(session)
        events = sweep(session, now=now, settings=settings)
        composed = compose(session, now=now, settings=settings)
    return events, composed


async def run_pass(
    engine: Engine,
    *,
    settings: Settings,
    clock: Clock,
    mailer_factory: MailerFactory = SmtpMailer,
) -> PassResult:
    """Sweep, compose, then send everything due: `dondoc scheduler --once`."""
    events, composed = await asyncio.to_thread(prepare, engine, now=clock(), settings=settings)
    dispatched = await dispatch(
        engine, settings=settings, clock=clock, mailer_factory=mailer_factory
    )
    return PassResult(events, composed, dispatched)


# --- Dispatch ----------------------------------------------------------------------------------


@dataclass
class DispatchResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def worker_name() -> str:
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(3)}"


def _with_sign_in_link(
    session: Session, item: outbox.Claimed, *, now: datetime, settings: Settings
) -> outbox.Claimed:
    """A fresh one-time link in place of the placeholder: the stored e-mail never holds one."""
    if SIGN_IN_PLACEHOLDER not in item.body_text and SIGN_IN_PLACEHOLDER not in (
        item.body_html or ""
    ):
        return item
    link = settings.public_url
    user = auth_repository.user_by_id(session, user_id=item.user_id) if item.user_id else None
    if user is not None and user.is_active:
        token = new_token()
        auth_repository.add_login_token(
            session,
            user=user,
            token_hash=hash_token(token),
            expires_at=now + timedelta(hours=settings.reminder_link_hours),
        )
        link = login_link_url(settings, token)
    return replace(
        item,
        body_text=item.body_text.replace(SIGN_IN_PLACEHOLDER, link),
        body_html=item.body_html.replace(SIGN_IN_PLACEHOLDER, link) if item.body_html else None,
    )


class _Ledger:
    """Where one lane of a dispatcher claims rows and records each outcome at once.

    One thread and one connection of its own: in autocommit, so a mark is one statement and one
    round trip, and on PostgreSQL with `synchronous_commit = off`, so it does not wait for the
    disk. A killed sender cannot lose a mark PostgreSQL has acknowledged; only a crash of the
    database server can lose the last fraction of a second of them, and those e-mails go again
    (same Message-ID). Waiting for an fsync per message would cap delivery at the disk's rate.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._connection: Connection | None = None

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    def connection(self) -> Connection:
        if self._connection is None:
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET synchronous_commit = off")
            self._connection = connection
        return self._connection

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        await self.run(self._close)
        self._executor.shutdown(wait=False)


async def dispatch(
    engine: Engine,
    *,
    settings: Settings,
    clock: Clock,
    mailer_factory: MailerFactory = SmtpMailer,
    worker: str | None = None,
) -> DispatchResult:
    """Send every due outbox row until none is left or SMTP is down.

    `smtp_connections` lanes work side by side, each claiming its own batches and sending them
    over its own SMTP connection: a message costs a few round trips, so lanes overlap waits.
    """
    worker = worker or worker_name()
    result = DispatchResult()
    unreachable = asyncio.Event()

    async def lane(number: int) -> None:
        name = f"{worker}/{number}"
        ledger = _Ledger(engine)
        try:
            while not unreachable.is_set():
                batch = await ledger.run(_claim_batch, engine, name, clock(), settings)
                if not batch:
                    return
                reachable = await _send_batch(
                    ledger,
                    batch,
                    worker=name,
                    settings=settings,
                    clock=clock,
                    mailer_factory=mailer_factory,
                    result=result,
                )
                if not reachable:
                    unreachable.set()
        finally:
            await ledger.close()

    await asyncio.gather(*(lane(number) for number in range(settings.smtp_connections)))
    return result


class _Recorder:
    """Records a lane's outcomes while it keeps sending.

    "Sent" marks are written by one writer at a time, which takes every mark queued while its
    previous write was in flight: a mark costs no delivery time, and a sender killed mid-batch
    leaves unmarked only the e-mails of about one database round trip (sent again after the
    lease, with the same Message-ID). Failures are rare and written one by one, in order. A
    failed write is raised by the next call.
    """

    def __init__(self, ledger: _Ledger, *, worker: str, clock: Clock, result: DispatchResult):
        self._ledger = ledger
        self._worker = worker
        self._clock = clock
        self._result = result
        self._pending: list[int] = []
        self._writer: asyncio.Task[None] | None = None

    def sent(self, item: outbox.Claimed) -> None:
        self._pending.append(item.id)
        if self._writer is None or self._writer.done():
            if self._writer is not None:
                self._writer.result()
            self._writer = asyncio.ensure_future(self._write())

    async def _write(self) -> None:
        while self._pending:
            ids, self._pending = self._pending, []
            await self._ledger.run(
                _sent, self._ledger, ids, self._worker, self._clock(), self._result
            )

    async def drain(self) -> None:
        """Wait until every outcome so far is written."""
        writer, self._writer = self._writer, None
        if writer is not None:
            await writer

    async def failed(self, item: outbox.Claimed, error: DeliveryError, settings: Settings) -> None:
        await self.drain()
        await self._ledger.run(
            _failed, self._ledger, item, self._worker, self._clock(), error, settings, self._result
        )


async def _send_batch(
    ledger: _Ledger,
    batch: Sequence[outbox.Claimed],
    *,
    worker: str,
    settings: Settings,
    clock: Clock,
    mailer_factory: MailerFactory,
    result: DispatchResult,
) -> bool:
    """Send a claimed batch; False when the server could not be reached (stop for now)."""
    remaining = list(batch)
    claimed_at = clock()
    recorder = _Recorder(ledger, worker=worker, clock=clock, result=result)
    try:
        async with mailer_factory(settings) as mailer:
            while remaining:
                item = remaining[0]
                now = clock()
                if now - claimed_at > timedelta(seconds=settings.outbox_claim_seconds / 2):
                    # A slow server: keep the lease on what is left, drop what others took.
                    await recorder.drain()
                    held = await ledger.run(_renew, ledger, [r.id for r in remaining], worker, now)
                    remaining = [r for r in remaining if r.id in held]
                    claimed_at = now
                    continue
                message = build_message(
                    sender=settings.smtp_sender,
                    recipient=item.recipient_email,
                    subject=item.subject,
                    body_text=item.body_text,
                    body_html=item.body_html,
                    message_id=item.message_id,
                    now=now,
                )
                try:
                    await mailer.send(message)
                except DeliveryError as error:
                    if error.unreachable:
                        raise
                    await recorder.failed(item, error, settings)
                else:
                    recorder.sent(item)
                remaining.pop(0)
    except DeliveryError as error:
        logger.warning(t("notify.log_unreachable", detail=error.detail))
        for item in remaining:
            await recorder.failed(item, error, settings)
        return False
    finally:
        await recorder.drain()
    return True


def _claim_batch(
    engine: Engine, worker: str, now: datetime, settings: Settings
) -> list[outbox.Claimed]:
    """Claim a batch and mint the sign-in links its e-mails carry, in one committed step."""
    with session_scope(engine) as session:
        claimed = outbox.claim(
            session,
            worker=worker,
            now=now,
            limit=settings.smtp_batch_size,
            lease_seconds=settings.outbox_claim_seconds,
            sender=settings.smtp_sender,
        )
        return [_with_sign_in_link(session, item, now=now, settings=settings) for item in claimed]


def _renew(ledger: _Ledger, ids: list[int], worker: str, now: datetime) -> set[int]:
    return outbox.renew(ledger.connection(), ids=ids, worker=worker, now=now)


def _sent(
    ledger: _Ledger, ids: list[int], worker: str, now: datetime, result: DispatchResult
) -> None:
    marked = outbox.mark_sent(ledger.connection(), ids=ids, worker=worker, now=now)
    if marked < len(ids):
        logger.warning(t("notify.log_lost_claim", ids=", ".join(map(str, ids))))
    result.sent += len(ids)


def _failed(
    ledger: _Ledger,
    item: outbox.Claimed,
    worker: str,
    now: datetime,
    error: DeliveryError,
    settings: Settings,
    result: DispatchResult,
) -> None:
    status = outbox.mark_failed(
        ledger.connection(),
        claimed=item,
        worker=worker,
        now=now,
        error=error.detail,
        permanent=error.permanent,
        settings=settings,
    )
    if status == outbox.FAILED:
        result.failed += 1
    else:
        result.retrying += 1
