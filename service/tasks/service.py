"""The rules of tasks and periodic reports: who may change what, when, and what a change means.

- A task's state and progress agree: chưa triển khai is 0 %, hoàn thành is 100 %, and 100 % is
  only ever hoàn thành; gặp vướng mắc needs its reason. Timeliness is derived, never stored.
- Every change names the version the client last saw; a stale one gets 409 with the current
  state, never a silent overwrite. Each status update appends to the task's history and to the
  audit log.
- An agency submits its report for a deadline; the plan's lead office accepts it or returns it
  with a comment, and a returned report counts as not submitted until it is sent again.

Checks come before writes: a refused request writes nothing, no row and no file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import ColumnElement, Row, false
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from service import evidence
from service.auth.scope import (
    can_write,
    leads_plan,
    obligation_scope,
    task_scope,
    task_scope_of,
)
from service.clock import Clock, local_date, today_local
from service.config import Settings
from service.database import SessionFactory
from service.errors import AppError
from service.evidence import IncomingFile
from service.i18n import t
from service.models import (
    Attachment,
    ObligationStatus,
    PlanStatus,
    ReportDeadline,
    ReportObligation,
    StatusUpdate,
    Task,
    TaskState,
    User,
    UserRole,
)
from service.pagination import Page, PageParams
from service.tasks import repository
from service.tasks.repository import AnyRow
from service.tasks.schemas import (
    AttachmentRead,
    ObligationDetail,
    ObligationFilters,
    ObligationRead,
    ReportAccept,
    ReportReturn,
    ReportSubmit,
    StatusUpdateCreate,
    StatusUpdateRead,
    TaskCounts,
    TaskFilters,
    TaskRead,
    TaskUpdated,
)
from service.tasks.timeliness import Timeliness, timeliness_sql
from service.tasks.timeliness import timeliness as timeliness_of_dates

# --- Tasks --------------------------------------------------------------------------------------


def list_tasks(
    session: Session,
    *,
    user: User,
    filters: TaskFilters,
    page: PageParams,
    clock: Clock,
    settings: Settings,
) -> Page[TaskRead]:
    """The tasks `user` may see, filtered, soonest due first; `mine` narrows to their agency."""
    _check_range(filters.due_after, filters.due_before)
    today = today_local(clock)
    conditions = [task_scope(user)]
    if filters.mine:
        conditions.append(_own_agency(user, Task.agency_id))
    if filters.plan_id is not None:
        conditions.append(Task.plan_id == filters.plan_id)
    if filters.agency_id is not None:
        conditions.append(Task.agency_id == filters.agency_id)
    if filters.state is not None:
        conditions.append(Task.state == filters.state)
    if filters.timeliness is not None:
        timeliness = timeliness_sql(today=today, due_soon_days=settings.due_soon_days)
        conditions.append(timeliness == filters.timeliness.value)
    if filters.due_after is not None:
        conditions.append(Task.due_on >= filters.due_after)
    if filters.due_before is not None:
        conditions.append(Task.due_on <= filters.due_before)
    if filters.q and filters.q.strip():
        conditions.append(repository.text_contains(session, Task.text, filters.q))
    rows, total = repository.list_tasks(
        session, conditions=conditions, limit=page.limit, offset=page.offset
    )
    items = [_task_read(row, today=today, settings=settings) for row in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


def get_task(
    session: Session, *, user: User, task_id: int, clock: Clock, settings: Settings
) -> TaskRead:
    row = repository.get_task(session, task_id=task_id, scope=task_scope_of(user))
    if row is None:
        raise AppError("task.not_found", status=404)
    return _task_read(row, today=today_local(clock), settings=settings)


def update_status(
    session: Session,
    *,
    user: User,
    task_id: int,
    data: StatusUpdateCreate,
    files: Sequence[IncomingFile],
    clock: Clock,
    settings: Settings,
) -> TaskUpdated:
    """Record a focal point's report on a task: new state and progress, narrative, evidence."""
    now = clock()
    today = local_date(now)
    row = repository.get_task(session, task_id=task_id, scope=task_scope_of(user))
    if row is None:
        raise AppError("task.not_found", status=404)
    _require_writer(user)
    if row.plan_status != PlanStatus.ACTIVE:
        raise AppError("task.plan_not_active", status=409)
    if data.version != row.version:
        _task_conflict(_task_read(row, today=today, settings=settings))
    progress = _progress_for(data, current=row.progress)
    blocked_reason = _reason_for(data)
    checked = evidence.check_files(files, max_upload_mb=settings.max_upload_mb)

    completed_on: date | None = None
    if data.state == TaskState.HOAN_THANH:
        was_done = row.state == TaskState.HOAN_THANH
        completed_on = row.completed_on if was_done and row.completed_on is not None else today
    narrative = data.narrative or None
    update_id = repository.record_status_update(
        session,
        task_id=task_id,
        version=data.version,
        user_id=user.id,
        at=now,
        state=data.state,
        progress=progress,
        blocked_reason=blocked_reason,
        completed_on=completed_on,
        narrative=narrative,
        audit={
            "version": data.version,
            "from": {"state": row.state.value, "progress": row.progress},
            "to": {"state": data.state.value, "progress": progress},
            "attachments": [file.display_name for file in checked],
        },
    )
    if update_id is None:
        # Someone saved between our read and our write: answer as if we had seen it.
        _task_conflict(
            _fresh_task(session, user=user, task_id=task_id, clock=clock, settings=settings)
        )
    attachments = (
        evidence.save_attachments(
            session, data_dir=settings.data_dir, files=checked, status_update_id=update_id
        )
        if checked
        else []
    )
    task = {
        **row._mapping,
        "state": data.state,
        "progress": progress,
        "blocked_reason": blocked_reason,
        "completed_on": completed_on,
        "version": data.version + 1,
        "updated_at": now,
    }
    return TaskUpdated(
        task=_task_read(task, today=today, settings=settings),
        update=StatusUpdateRead(
            id=update_id,
            task_id=task_id,
            user_id=user.id,
            user_name=user.full_name,
            created_at=now,
            state=data.state,
            state_label=t(f"task_state.{data.state.value}"),
            progress=progress,
            narrative=narrative,
            blocked_reason=blocked_reason,
            attachments=[_attachment_read(attachment) for attachment in attachments],
        ),
    )


def list_updates(
    session: Session,
    *,
    user: User,
    task_id: int,
    page: PageParams,
    clock: Clock,
    settings: Settings,
) -> Page[StatusUpdateRead]:
    """A task's history, newest first (found only if the task is in the caller's scope)."""
    get_task(session, user=user, task_id=task_id, clock=clock, settings=settings)
    rows, total = repository.list_updates(
        session, task_id=task_id, limit=page.limit, offset=page.offset
    )
    items = [
        _update_read(row[0], user_name=row.user_name, attachments=row[0].attachments)
        for row in rows
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


def _progress_for(data: StatusUpdateCreate, *, current: int) -> int:
    """Progress agreeing with the state; an omitted progress takes the state's or stays."""
    if data.state == TaskState.HOAN_THANH:
        if data.progress not in (None, 100):
            raise AppError("task.done_needs_full_progress", status=422, details=_field("progress"))
        return 100
    if data.state == TaskState.CHUA_TRIEN_KHAI:
        if data.progress not in (None, 0):
            raise AppError("task.not_started_has_progress", status=422, details=_field("progress"))
        return 0
    progress = current if data.progress is None else data.progress
    if progress == 100:
        raise AppError("task.full_progress_needs_done", status=422, details=_field("progress"))
    return progress


def _reason_for(data: StatusUpdateCreate) -> str | None:
    """The blocker's description: required when blocked, dropped in every other state."""
    if data.state != TaskState.GAP_VUONG_MAC:
        return None
    if not data.blocked_reason:
        raise AppError("task.reason_required", status=422, details=_field("blocked_reason"))
    return data.blocked_reason


def _task_conflict(current: TaskRead | None) -> NoReturn:
    if current is None:
        raise AppError("task.not_found", status=404)
    raise AppError("task.conflict", status=409, details={"task": current.model_dump(mode="json")})


def _fresh_task(
    session: Session, *, user: User, task_id: int, clock: Clock, settings: Settings
) -> TaskRead | None:
    """The task as committed now, read outside this request's failed transaction."""
    with SessionFactory(bind=session.get_bind()) as fresh:
        try:
            return get_task(fresh, user=user, task_id=task_id, clock=clock, settings=settings)
        except AppError:
            return None


def _task_read(row: AnyRow | Mapping[str, Any], *, today: date, settings: Settings) -> TaskRead:
    """A task row (its columns, agency name, plan title) as the API shows it, timeliness
    derived."""
    task = row._mapping if isinstance(row, Row) else row
    state: TaskState = task["state"]
    timeliness = timeliness_of_dates(
        state=state,
        due_on=task["due_on"],
        completed_on=task["completed_on"],
        today=today,
        due_soon_days=settings.due_soon_days,
    )
    return TaskRead(
        id=task["id"],
        plan_id=task["plan_id"],
        plan_title=task["plan_title"],
        assignment_id=task["assignment_id"],
        agency_id=task["agency_id"],
        agency_name=task["agency_name"],
        text=task["text"],
        role=task["role"],
        co_agencies=list(task["co_agencies"] or []),
        due_on=task["due_on"],
        state=state,
        state_label=t(f"task_state.{state.value}"),
        progress=task["progress"],
        blocked_reason=task["blocked_reason"],
        completed_on=task["completed_on"],
        timeliness=timeliness,
        timeliness_label=t(f"timeliness.{timeliness.value}"),
        version=task["version"],
        updated_at=task["updated_at"],
    )


def _update_read(
    update: StatusUpdate, *, user_name: str, attachments: Sequence[Attachment]
) -> StatusUpdateRead:
    return StatusUpdateRead(
        id=update.id,
        task_id=update.task_id,
        user_id=update.user_id,
        user_name=user_name,
        created_at=update.created_at,
        state=update.state,
        state_label=t(f"task_state.{update.state.value}"),
        progress=update.progress,
        narrative=update.narrative,
        blocked_reason=update.blocked_reason,
        attachments=[_attachment_read(attachment) for attachment in attachments],
    )


# --- Report obligations -------------------------------------------------------------------------


def list_obligations(
    session: Session,
    *,
    user: User,
    filters: ObligationFilters,
    page: PageParams,
    clock: Clock,
) -> Page[ObligationRead]:
    """The reports `user` may see, soonest due first; `mine` narrows to their agency."""
    _check_range(filters.due_after, filters.due_before)
    conditions = [obligation_scope(user)]
    if filters.mine:
        conditions.append(_own_agency(user, ReportObligation.agency_id))
    if filters.plan_id is not None:
        conditions.append(ReportDeadline.plan_id == filters.plan_id)
    if filters.deadline_id is not None:
        conditions.append(ReportObligation.deadline_id == filters.deadline_id)
    if filters.agency_id is not None:
        conditions.append(ReportObligation.agency_id == filters.agency_id)
    if filters.status is not None:
        conditions.append(ReportObligation.status == filters.status)
    if filters.due_after is not None:
        conditions.append(ReportObligation.due_on >= filters.due_after)
    if filters.due_before is not None:
        conditions.append(ReportObligation.due_on <= filters.due_before)
    rows, total = repository.list_obligations(
        session, conditions=conditions, limit=page.limit, offset=page.offset
    )
    today = today_local(clock)
    items = [_obligation_read(row, today=today) for row in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


def get_obligation(
    session: Session, *, user: User, obligation_id: int, clock: Clock, settings: Settings
) -> ObligationDetail:
    row = _find_obligation(session, user=user, obligation_id=obligation_id)
    return _obligation_detail(session, row, today=today_local(clock), settings=settings)


def submit_report(
    session: Session,
    *,
    user: User,
    obligation_id: int,
    data: ReportSubmit,
    files: Sequence[IncomingFile],
    clock: Clock,
    settings: Settings,
) -> ObligationDetail:
    """An agency sends its report for a deadline: stamped now, on time or late by Vietnam's day."""
    row = _find_obligation(session, user=user, obligation_id=obligation_id)
    obligation: ReportObligation = row[0]
    _require_writer(user)
    if user.role != UserRole.ADMIN and user.agency_id != obligation.agency_id:
        raise AppError("report.not_your_agency", status=403)
    _require_active(row)
    if obligation.status == ObligationStatus.SUBMITTED:
        raise AppError("report.already_submitted", status=409)
    _refuse_closed(obligation)
    now = clock()
    today = local_date(now)
    _check_obligation_version(session, row, data.version, today=today, settings=settings)
    checked = evidence.check_files(files, max_upload_mb=settings.max_upload_mb)

    before = obligation.status.value
    obligation.status = ObligationStatus.SUBMITTED
    obligation.submitted_at = now
    obligation.submitted_by_id = user.id
    obligation.narrative = data.narrative
    _touch(obligation, now)
    tasks = repository.task_states(session, plan_id=row.Plan.id, agency_id=obligation.agency_id)
    repository.add_audit(
        session,
        at=now,
        actor=user,
        action="report.submit",
        entity="report_obligations",
        entity_id=obligation.id,
        detail={
            "version": data.version,
            "from": before,
            "on_time": today <= obligation.due_on,
            "attachments": [file.display_name for file in checked],
            # What the report reported: the agency's tasks as they stood when it was sent.
            "tasks": [
                {
                    "id": task.id,
                    "state": task.state.value,
                    "progress": task.progress,
                    "due_on": task.due_on.isoformat() if task.due_on else None,
                    "completed_on": task.completed_on.isoformat() if task.completed_on else None,
                }
                for task in tasks
            ],
        },
    )
    _flush_obligation(
        session, user=user, obligation_id=obligation_id, today=today, settings=settings
    )
    evidence.save_attachments(
        session, data_dir=settings.data_dir, files=checked, obligation_id=obligation.id
    )
    return _obligation_detail(session, row, today=today, settings=settings)


def accept_report(
    session: Session,
    *,
    user: User,
    obligation_id: int,
    data: ReportAccept,
    clock: Clock,
    settings: Settings,
) -> ObligationDetail:
    """The plan's lead office accepts a submitted report."""
    return _review(
        session,
        user=user,
        obligation_id=obligation_id,
        version=data.version,
        accepted=True,
        comment=None,
        clock=clock,
        settings=settings,
    )


def return_report(
    session: Session,
    *,
    user: User,
    obligation_id: int,
    data: ReportReturn,
    clock: Clock,
    settings: Settings,
) -> ObligationDetail:
    """The plan's lead office sends a report back with a comment; it is pending again."""
    return _review(
        session,
        user=user,
        obligation_id=obligation_id,
        version=data.version,
        accepted=False,
        comment=data.comment,
        clock=clock,
        settings=settings,
    )


def _review(
    session: Session,
    *,
    user: User,
    obligation_id: int,
    version: int,
    accepted: bool,
    comment: str | None,
    clock: Clock,
    settings: Settings,
) -> ObligationDetail:
    row = _find_obligation(session, user=user, obligation_id=obligation_id)
    obligation: ReportObligation = row[0]
    _require_writer(user)
    if not leads_plan(user, row.Plan):
        raise AppError("report.review_forbidden", status=403)
    _require_active(row)
    if obligation.status in (ObligationStatus.PENDING, ObligationStatus.RETURNED):
        raise AppError("report.not_submitted", status=409)
    _refuse_closed(obligation)
    now = clock()
    today = local_date(now)
    _check_obligation_version(session, row, version, today=today, settings=settings)

    obligation.status = ObligationStatus.ACCEPTED if accepted else ObligationStatus.RETURNED
    obligation.reviewed_at = now
    obligation.reviewed_by_id = user.id
    obligation.review_comment = comment
    _touch(obligation, now)
    repository.add_audit(
        session,
        at=now,
        actor=user,
        action="report.accept" if accepted else "report.return",
        entity="report_obligations",
        entity_id=obligation.id,
        detail={"version": version, "comment": comment},
    )
    _flush_obligation(
        session, user=user, obligation_id=obligation_id, today=today, settings=settings
    )
    return _obligation_detail(session, row, today=today, settings=settings)


def _find_obligation(session: Session, *, user: User, obligation_id: int) -> AnyRow:
    row = repository.get_obligation(
        session, obligation_id=obligation_id, scope=obligation_scope(user)
    )
    if row is None:
        raise AppError("report.not_found", status=404)
    return row


def _require_active(row: AnyRow) -> None:
    if row.Plan.status != PlanStatus.ACTIVE:
        raise AppError("report.plan_not_active", status=409)


def _refuse_closed(obligation: ReportObligation) -> None:
    if obligation.status == ObligationStatus.ACCEPTED:
        raise AppError("report.already_accepted", status=409)
    if obligation.status == ObligationStatus.WAIVED:
        raise AppError("report.waived", status=409)


def _check_obligation_version(
    session: Session, row: AnyRow, version: int, *, today: date, settings: Settings
) -> None:
    if version != row[0].version:
        _report_conflict(_obligation_detail(session, row, today=today, settings=settings))


def _flush_obligation(
    session: Session, *, user: User, obligation_id: int, today: date, settings: Settings
) -> None:
    try:
        session.flush()
    except StaleDataError:
        with SessionFactory(bind=session.get_bind()) as fresh:
            row = repository.get_obligation(
                fresh, obligation_id=obligation_id, scope=obligation_scope(user)
            )
            if row is None:
                raise AppError("report.not_found", status=404) from None
            _report_conflict(_obligation_detail(fresh, row, today=today, settings=settings))


def _report_conflict(current: ObligationDetail) -> NoReturn:
    raise AppError(
        "report.conflict", status=409, details={"obligation": current.model_dump(mode="json")}
    )


def _obligation_read(row: AnyRow, *, today: date) -> ObligationRead:
    obligation: ReportObligation = row[0]
    sent = obligation.status in (ObligationStatus.SUBMITTED, ObligationStatus.ACCEPTED)
    on_time = (
        local_date(obligation.submitted_at) <= obligation.due_on
        if sent and obligation.submitted_at is not None
        else None
    )
    waiting = obligation.status in (ObligationStatus.PENDING, ObligationStatus.RETURNED)
    return ObligationRead(
        id=obligation.id,
        plan_id=row.Plan.id,
        plan_title=row.Plan.title,
        deadline_id=obligation.deadline_id,
        kind=row.ReportDeadline.kind,
        label=row.ReportDeadline.label,
        agency_id=obligation.agency_id,
        agency_name=row.agency_name,
        due_on=obligation.due_on,
        status=obligation.status,
        status_label=t(f"obligation_status.{obligation.status.value}"),
        submitted_at=obligation.submitted_at,
        submitted_by_id=obligation.submitted_by_id,
        narrative=obligation.narrative,
        on_time=on_time,
        overdue=waiting and today > obligation.due_on,
        reviewed_at=obligation.reviewed_at,
        reviewed_by_id=obligation.reviewed_by_id,
        review_comment=obligation.review_comment,
        version=obligation.version,
    )


def _obligation_detail(
    session: Session, row: AnyRow, *, today: date, settings: Settings
) -> ObligationDetail:
    obligation: ReportObligation = row[0]
    counts = repository.count_tasks(
        session,
        plan_id=row.Plan.id,
        agency_id=obligation.agency_id,
        today=today,
        due_soon_days=settings.due_soon_days,
    )
    by_state = dict.fromkeys(TaskState, 0)
    by_timeliness = dict.fromkeys(Timeliness, 0)
    for count in counts:
        by_state[TaskState(count.state)] += count.tasks
        by_timeliness[Timeliness(count.timeliness)] += count.tasks
    attachments = repository.obligation_attachments(session, obligation_id=obligation.id)
    return ObligationDetail(
        **_obligation_read(row, today=today).model_dump(),
        attachments=[_attachment_read(attachment) for attachment in attachments],
        tasks=TaskCounts(
            total=sum(by_state.values()), by_state=by_state, by_timeliness=by_timeliness
        ),
    )


# --- Attachments --------------------------------------------------------------------------------


def get_attachment(
    session: Session, *, user: User, attachment_id: int, settings: Settings
) -> tuple[Attachment, Path]:
    """An evidence file the caller may see, and where its bytes are."""
    attachment = repository.get_attachment(
        session,
        attachment_id=attachment_id,
        task_scope=task_scope(user),
        obligation_scope=obligation_scope(user),
    )
    if attachment is None:
        raise AppError("attachment.not_found", status=404)
    path = evidence.attachment_path(settings.data_dir, attachment)
    if not path.is_file():
        raise AppError("attachment.missing", status=410)
    return attachment, path


def _attachment_read(attachment: Attachment) -> AttachmentRead:
    return AttachmentRead(
        id=attachment.id,
        filename=attachment.original_filename,
        content_type=attachment.content_type,
        size_bytes=attachment.size_bytes,
        sha256=attachment.sha256,
        url=f"/api/attachments/{attachment.id}",
    )


# --- Shared -------------------------------------------------------------------------------------


def _touch(row: Task | ReportObligation, now: datetime) -> None:
    """Stamp `updated_at` with the injected clock, even when it equals the stored value (a
    column left out of the UPDATE would get its wall-clock `onupdate` instead)."""
    row.updated_at = now
    flag_modified(row, "updated_at")


def _require_writer(user: User) -> None:
    if not can_write(user):
        raise AppError("auth.forbidden", status=403)


def _own_agency(user: User, column: Any) -> ColumnElement[bool]:
    return column == user.agency_id if user.agency_id is not None else false()


def _check_range(after: date | None, before: date | None) -> None:
    if after is not None and before is not None and after > before:
        raise AppError(
            "task.bad_date_range",
            status=422,
            after=after.strftime("%d/%m/%Y"),
            before=before.strftime("%d/%m/%Y"),
        )


def _field(name: str) -> dict[str, Any]:
    return {"field": name}
