"""Rules behind the notifications API: the outbox view, "đôn đốc", policies, holidays, pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notifications import ics, outbox
from notifications import repository as repo
from notifications.calendar import WorkingCalendar, load_calendar
from notifications.jobs import overrides_of, recipient_key
from notifications.policy import (
    Phase,
    PolicyError,
    ReminderPolicy,
    Rung,
    format_ladder,
    parse_audiences,
    policy_from_settings,
)
from notifications.rendering import (
    SIGN_IN_PLACEHOLDER,
    Item,
    UrgeContext,
    plan_label,
    render,
    task_label,
)
from notifications.schemas import (
    HolidayCreate,
    HolidayRead,
    OutboxRetry,
    OutboxSummary,
    PauseRead,
    PauseUpdate,
    PolicyFields,
    PolicyRead,
    PolicyUpdate,
    RungModel,
    UrgeCreate,
    UrgeOutcome,
    UrgeRecipient,
    UrgeResult,
)
from service.auth.scope import leads_plan, obligation_scope, task_scope
from service.clock import local_date
from service.config import Settings
from service.errors import AppError
from service.i18n import t
from service.models import (
    ExtraHoliday,
    Notification,
    NotificationStatus,
    ObligationStatus,
    Plan,
    PlanReminderPolicy,
    PlanStatus,
    User,
    UserRole,
)
from service.plans import repository as plan_repository

URGE_KIND = "urge"
# Tasks and reports due within this many days are listed in a "đôn đốc", besides overdue ones.
URGE_HORIZON_DAYS = 30


# --- The outbox --------------------------------------------------------------------------------


def list_outbox(
    session: Session, *, status: NotificationStatus | None, limit: int, offset: int
) -> tuple[list[Notification], int]:
    return outbox.page(session, status=status, limit=limit, offset=offset)


def outbox_summary(session: Session) -> OutboxSummary:
    return OutboxSummary.model_validate(outbox.counts(session))


def retry(session: Session, *, actor: User, data: OutboxRetry, now: datetime) -> int:
    """Queue failed e-mails again; all or nothing."""
    if data.all_failed:
        rows = list(
            session.scalars(
                select(Notification).where(Notification.status == NotificationStatus.FAILED)
            )
        )
    else:
        if not data.ids:
            raise AppError("notify.retry_nothing", status=422)
        wanted = sorted(set(data.ids))
        rows = list(session.scalars(select(Notification).where(Notification.id.in_(wanted))))
        missing = sorted(set(wanted) - {row.id for row in rows})
        if missing:
            raise AppError(
                "notify.outbox_not_found",
                status=404,
                details={"ids": missing},
                ids=", ".join(map(str, missing)),
            )
        not_failed = sorted(row.id for row in rows if row.status != NotificationStatus.FAILED)
        if not_failed:
            raise AppError(
                "notify.not_failed",
                status=409,
                details={"ids": not_failed},
                ids=", ".join(map(str, not_failed)),
            )
    for row in rows:
        outbox.requeue(session, notification=row, now=now)
    repo.add_audit(
        session,
        actor=actor,
        action="notification.retry",
        entity="notifications",
        entity_id=None,
        detail={"ids": [row.id for row in rows]},
    )
    return len(rows)


# --- Per-plan policy ---------------------------------------------------------------------------


def _plan_for(session: Session, *, user: User, plan_id: int) -> Plan:
    plan = plan_repository.visible(session, plan_id=plan_id, user=user)
    if plan is None:
        raise AppError("notify.plan_not_found", status=404)
    return plan


def _fields(policy: ReminderPolicy) -> PolicyFields:
    return PolicyFields(
        reminder_days=list(policy.before),
        on_the_day=policy.on_the_day,
        escalation_ladder=[
            RungModel(after=rung.after, audiences=sorted(rung.audiences), immediate=rung.immediate)
            for rung in policy.ladder
        ],
        repeat_every=policy.repeat_every,
        max_repeats=policy.max_repeats,
        enabled=policy.enabled,
    )


def _policy_read(plan_id: int, row: PlanReminderPolicy | None, settings: Settings) -> PolicyRead:
    base = policy_from_settings(settings)
    if row is None:
        return PolicyRead(plan_id=plan_id, overrides=PolicyUpdate(), effective=_fields(base))
    overrides = overrides_of(row)
    effective = base.with_overrides(overrides)
    return PolicyRead(
        plan_id=plan_id,
        overrides=PolicyUpdate(
            reminder_days=list(overrides.before) if overrides.before is not None else None,
            on_the_day=overrides.on_the_day,
            escalation_ladder=_fields(effective).escalation_ladder
            if overrides.ladder is not None
            else None,
            repeat_every=overrides.repeat_every,
            max_repeats=overrides.max_repeats,
            enabled=overrides.enabled,
        ),
        effective=_fields(effective),
    )


def get_policy(session: Session, *, user: User, plan_id: int, settings: Settings) -> PolicyRead:
    plan = _plan_for(session, user=user, plan_id=plan_id)
    return _policy_read(plan.id, session.get(PlanReminderPolicy, plan.id), settings)


def set_policy(
    session: Session, *, user: User, plan_id: int, data: PolicyUpdate, settings: Settings
) -> PolicyRead:
    """Replace a plan's overrides. Refused, with nothing written, if the result is unusable."""
    plan = _plan_for(session, user=user, plan_id=plan_id)
    if not leads_plan(user, plan):
        raise AppError("notify.policy_forbidden", status=403)
    ladder = (
        tuple(
            Rung(rung.after, parse_audiences(rung.audiences), rung.immediate)
            for rung in data.escalation_ladder
        )
        if data.escalation_ladder is not None
        else None
    )
    row = PlanReminderPolicy(
        plan_id=plan.id,
        reminder_days=",".join(map(str, data.reminder_days))
        if data.reminder_days is not None
        else None,
        on_the_day=data.on_the_day,
        escalation_ladder=format_ladder(ladder) if ladder is not None else None,
        repeat_every=data.repeat_every,
        max_repeats=data.max_repeats,
        enabled=data.enabled,
        updated_by_id=user.id,
    )
    try:
        policy_from_settings(settings).with_overrides(overrides_of(row))
    except PolicyError as error:
        raise AppError(error.code, status=422, **error.params) from error
    existing = session.get(PlanReminderPolicy, plan.id)
    if existing is not None:
        session.delete(existing)
        session.flush()
    session.add(row)
    repo.add_audit(
        session,
        actor=user,
        action="reminder_policy.set",
        entity="plans",
        entity_id=plan.id,
        detail=data.model_dump(mode="json", exclude_none=True),
    )
    return _policy_read(plan.id, row, settings)


def clear_policy(session: Session, *, user: User, plan_id: int) -> None:
    plan = _plan_for(session, user=user, plan_id=plan_id)
    if not leads_plan(user, plan):
        raise AppError("notify.policy_forbidden", status=403)
    existing = session.get(PlanReminderPolicy, plan.id)
    if existing is not None:
        session.delete(existing)
        repo.add_audit(
            session,
            actor=user,
            action="reminder_policy.clear",
            entity="plans",
            entity_id=plan.id,
            detail={},
        )
    session.flush()


# --- "Đôn đốc" ---------------------------------------------------------------------------------


def urge(
    session: Session, *, user: User, data: UrgeCreate, now: datetime, settings: Settings
) -> UrgeResult:
    """Remind the chosen agencies about a plan now, through the outbox.

    At most one per recipient, plan and day: a second click the same day reports
    `already_urged_today` instead of sending again.
    """
    plan = _plan_for(session, user=user, plan_id=data.plan_id)
    if not leads_plan(user, plan):
        raise AppError("notify.urge_forbidden", status=403)
    if plan.status != PlanStatus.ACTIVE:
        raise AppError("notify.plan_not_active", status=409)
    agency_ids = list(dict.fromkeys(data.agency_ids))
    outside = sorted(set(agency_ids) - repo.agencies_in_plan(session, plan_id=plan.id))
    if outside:
        raise AppError(
            "notify.agency_not_in_plan",
            status=422,
            details={"agency_ids": outside},
            ids=", ".join(map(str, outside)),
        )
    today = local_date(now)
    calendar = load_calendar(session)
    agencies = repo.agencies(session, agency_ids=agency_ids)
    focal = repo.users_of(session, role=UserRole.FOCAL_POINT, agency_ids=agency_ids)
    sender_agency = user.agency.name if user.agency else None
    result = UrgeResult(queued=0, recipients=[])
    for agency_id in agency_ids:
        agency = agencies[agency_id]
        items = _open_items(
            session,
            plan=plan,
            agency_name=agency.name,
            agency_id=agency_id,
            today=today,
            calendar=calendar,
        )
        people: list[tuple[str, repo.AnyRow | None]] = [
            (person.email, person)
            for person in focal
            if person.agency_id == agency_id and not _paused(person, today)
        ]
        if not people and agency.head_email and agency.head_email.strip():
            people = [(agency.head_email.strip().lower(), None)]
        if not people:
            result.recipients.append(
                UrgeRecipient(
                    agency_id=agency_id,
                    agency=agency.name,
                    email=None,
                    outcome=UrgeOutcome.NO_RECIPIENT,
                )
            )
            continue
        for email, person in people:
            rendered = render(
                "urge",
                UrgeContext(
                    recipient_name=person.full_name if person else None,
                    sender_name=user.full_name,
                    sender_agency=sender_agency,
                    agency=agency.name,
                    plan=plan_label(plan.number),
                    message=data.message or None,
                    items=items,
                    sign_in_link=SIGN_IN_PLACEHOLDER if person else None,
                    link_hours=settings.reminder_link_hours,
                    public_url=settings.public_url,
                ),
            )
            new_id = outbox.enqueue(
                session,
                dedup_key=f"{URGE_KIND}:{plan.id}:{agency_id}:{recipient_key(email)}:{today}",
                recipient_email=email,
                user_id=person.id if person else None,
                kind=URGE_KIND,
                subject=rendered.subject,
                body_text=rendered.text,
                body_html=rendered.html,
                now=now,
                sender=settings.smtp_sender,
            )
            outcome = UrgeOutcome.QUEUED if new_id else UrgeOutcome.ALREADY_URGED_TODAY
            result.queued += 1 if new_id else 0
            result.recipients.append(
                UrgeRecipient(agency_id=agency_id, agency=agency.name, email=email, outcome=outcome)
            )
    repo.add_audit(
        session,
        actor=user,
        action="notification.urge",
        entity="plans",
        entity_id=plan.id,
        detail={
            "agency_ids": agency_ids,
            "queued": result.queued,
            "message": data.message or None,
        },
    )
    return result


def _paused(user: repo.AnyRow, today: date) -> bool:
    return user.reminders_paused_until is not None and today <= user.reminders_paused_until


def _open_items(
    session: Session,
    *,
    plan: Plan,
    agency_name: str,
    agency_id: int,
    today: date,
    calendar: WorkingCalendar,
) -> list[Item]:
    """The agency's unsent reports and unfinished tasks in the plan, overdue or due soon."""
    horizon = today + timedelta(days=URGE_HORIZON_DAYS)
    items = [
        _urge_item(
            title=row.label,
            plan=plan,
            agency=agency_name,
            due_on=row.due_on,
            today=today,
            calendar=calendar,
            returned=(row.review_comment or "")
            if row.status == ObligationStatus.RETURNED
            else None,
        )
        for row in repo.open_obligations_of(
            session, plan_id=plan.id, agency_id=agency_id, due_before=horizon
        )
    ]
    items += [
        _urge_item(
            title=task_label(row.text),
            plan=plan,
            agency=agency_name,
            due_on=row.due_on,
            today=today,
            calendar=calendar,
            returned=None,
        )
        for row in repo.open_tasks_of(
            session, plan_id=plan.id, agency_id=agency_id, due_before=horizon
        )
    ]
    return sorted(items, key=lambda item: item.due_on)


def _urge_item(
    *,
    title: str,
    plan: Plan,
    agency: str,
    due_on: date,
    today: date,
    calendar: WorkingCalendar,
    returned: str | None,
) -> Item:
    overdue = today > due_on
    if overdue:
        left = -calendar.working_days_between(due_on, today)
        phase = Phase.OVERDUE
    else:
        left = calendar.working_days_between(today, calendar.last_working_day_on_or_before(due_on))
        phase = Phase.BEFORE if left > 0 else Phase.DUE
    return Item(
        title=title,
        plan=plan_label(plan.number),
        agency=agency,
        due_on=due_on,
        phase=phase,
        working_days_left=left,
        returned_comment=returned,
        on_due_day=today == due_on,
    )


# --- Holidays ----------------------------------------------------------------------------------


def list_holidays(session: Session, *, year: int) -> list[HolidayRead]:
    """The year's days off: the built-in public holidays and those an administrator added."""
    calendar = WorkingCalendar()
    built_in = []
    day = date(year, 1, 1)
    while day.year == year:
        name = calendar.holiday_name(day)
        if name:
            built_in.append(HolidayRead(day=day, name=name, source="built_in"))
        day += timedelta(days=1)
    extra = [
        HolidayRead(day=row.day, name=row.name, source="extra")
        for row in repo.extra_holidays(session, year=year)
    ]
    return sorted(built_in + extra, key=lambda holiday: (holiday.day, holiday.source))


def add_holiday(session: Session, *, actor: User, data: HolidayCreate) -> HolidayRead:
    if repo.extra_holiday(session, day=data.day) is not None:
        raise AppError("notify.holiday_exists", status=409, day=data.day.strftime("%d/%m/%Y"))
    row = ExtraHoliday(day=data.day, name=data.name)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as error:
        # Added by someone else meanwhile.
        raise AppError(
            "notify.holiday_exists", status=409, day=data.day.strftime("%d/%m/%Y")
        ) from error
    repo.add_audit(
        session,
        actor=actor,
        action="holiday.add",
        entity="extra_holidays",
        entity_id=row.id,
        detail={"day": data.day.isoformat(), "name": data.name},
    )
    return HolidayRead(day=row.day, name=row.name, source="extra")


def remove_holiday(session: Session, *, actor: User, day: date) -> None:
    row = repo.extra_holiday(session, day=day)
    if row is None:
        raise AppError("notify.holiday_not_found", status=404, day=day.strftime("%d/%m/%Y"))
    repo.add_audit(
        session,
        actor=actor,
        action="holiday.remove",
        entity="extra_holidays",
        entity_id=row.id,
        detail={"day": day.isoformat(), "name": row.name},
    )
    session.delete(row)
    session.flush()


# --- Pauses ------------------------------------------------------------------------------------

MAX_PAUSE_DAYS = 366


def pause(
    session: Session, *, actor: User, user_id: int, data: PauseUpdate, now: datetime
) -> PauseRead:
    """Pause (or resume) one person's reminders; an administrator's action."""
    user = session.get(User, user_id)
    if user is None:
        raise AppError("notify.user_not_found", status=404)
    today = local_date(now)
    if data.until is not None and not today <= data.until <= today + timedelta(days=MAX_PAUSE_DAYS):
        raise AppError(
            "notify.pause_out_of_range",
            status=422,
            today=today.strftime("%d/%m/%Y"),
            days=MAX_PAUSE_DAYS,
        )
    user.reminders_paused_until = data.until
    repo.add_audit(
        session,
        actor=actor,
        action="user.pause_reminders",
        entity="users",
        entity_id=user.id,
        detail={"until": data.until.isoformat() if data.until else None},
    )
    return PauseRead(user_id=user.id, reminders_paused_until=user.reminders_paused_until)


# --- Calendar feed -----------------------------------------------------------------------------

FEED_DAYS_BACK = 60
FEED_DAYS_AHEAD = 400
FEED_LIMIT = 2000


def calendar_feed(session: Session, *, user: User, now: datetime, settings: Settings) -> str:
    """The caller's open deadlines (as far as they may see) as an iCalendar file."""
    today = local_date(now)
    obligations, tasks = repo.open_deadlines(
        session,
        obligation_condition=obligation_scope(user),
        task_condition=task_scope(user),
        earliest=today - timedelta(days=FEED_DAYS_BACK),
        latest=today + timedelta(days=FEED_DAYS_AHEAD),
        limit=FEED_LIMIT,
    )
    events = [
        ics.Event(
            uid=f"obligation-{row.id}-{row.due_on:%Y%m%d}",
            day=row.due_on,
            summary=t(
                "notify.calendar_event",
                title=row.label,
                plan=plan_label(row.number),
                agency=row.agency,
            ),
        )
        for row in obligations
    ] + [
        ics.Event(
            uid=f"task-{row.id}-{row.due_on:%Y%m%d}",
            day=row.due_on,
            summary=t(
                "notify.calendar_event",
                title=task_label(row.text),
                plan=plan_label(row.number),
                agency=row.agency,
            ),
        )
        for row in tasks
    ]
    domain = parseaddr(settings.smtp_sender)[1].rpartition("@")[2] or "dondoc.invalid"
    return ics.calendar(
        sorted(events, key=lambda event: (event.day, event.uid)),
        now=now.astimezone(UTC),
        domain=domain,
    )
