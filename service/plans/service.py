"""Rules of the plans domain: import a file as a draft, review the draft, activate it, close it.

Import parses the file, resolves the names it can, keeps the file (storage.py) and stores a
draft whose editable state lives in `plan.extraction` (see api_schemas.Draft). Review edits
only that JSON. Activation turns it into Assignment, Task, ReportDeadline and ReportObligation
rows in the request's one transaction.

Who: `plan_scope` decides what a user can see (else 404); `leads_plan` who may change it
(else 403); only a draft can be reviewed or activated (else 409).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import storage
from service.agencies import service as agency_service
from service.agencies.schemas import AgencyCreate
from service.auth.scope import can_write, leads_plan
from service.config import Settings, get_settings
from service.errors import AppError
from service.i18n import t
from service.models import (
    Agency,
    Assignment,
    DeadlineSource,
    Plan,
    PlanStatus,
    ReportDeadline,
    ReportObligation,
    SourceFormat,
    Task,
    User,
    UserRole,
)
from service.pagination import Page, PageParams
from service.plans import repository, review_deadlines
from service.plans.api_schemas import (
    AssignmentMerge,
    AssignmentRead,
    AssignmentSplit,
    AssignmentUpdate,
    DeadlineCreate,
    DeadlineRef,
    DeadlineUpdate,
    Draft,
    DraftAssignment,
    DraftDeadline,
    DraftTask,
    MemberAdd,
    MemberAgencyCreate,
    MemberMap,
    MemberRead,
    PlanCounts,
    PlanRead,
    PlanReview,
    PlanSummary,
    PlanUpdate,
    TaskCreate,
    TaskUpdate,
    UnresolvedMember,
)
from service.plans.errors import PlanError
from service.plans.registry import Registry, RegistryError, default_registry, fold
from service.plans.schemas import PlanExtraction

PLANS_FOLDER = "plans"
_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f]")
MAX_PARENT_DEPTH = 20


# --- import -------------------------------------------------------------------------------------


def import_plan(
    session: Session,
    *,
    data: bytes,
    filename: str,
    settings: Settings,
    actor: User | None,
    registry: Registry | None = None,
) -> Plan:
    """Store `data` as a draft plan. `actor` None is the operator at the command line.

    Nothing is written before the file has parsed; the stored file is removed again if the
    transaction does not commit.
    """
    if actor is not None:
        _check_may_import(actor)
    storage.check_size(len(data), settings=settings)
    sha256 = hashlib.sha256(data).hexdigest()
    existing = repository.id_by_sha256(session, sha256=sha256)
    if existing is not None:
        raise _duplicate(session, plan_id=existing, actor=actor)
    name = clean_filename(filename)
    extraction = _parse(data, name, settings=settings, registry=registry)
    agency_service.ensure_seeded(session, registry=registry)

    resolver = _Resolver(session, registry)
    draft = _new_draft(extraction, resolver)
    warnings = list(extraction.warnings)
    lead = resolver.agency(
        extraction.lead_agency, _canonical_of(extraction, extraction.lead_agency)
    )
    report_to = resolver.agency(
        extraction.report_to, _canonical_of(extraction, extraction.report_to)
    )
    lead_id = _lead_agency_id(actor, parsed=lead, warnings=warnings)

    stored = storage.save(
        session, data, settings=settings, folder=PLANS_FOLDER, suffix=f".{extraction.source.format}"
    )
    meta = extraction.plan
    plan = Plan(
        title=meta.title,
        number=meta.number,
        issuer=meta.issuer,
        issued_on=meta.issued_on,
        start_year=meta.start_year,
        end_year=meta.end_year,
        status=PlanStatus.DRAFT,
        lead_agency_id=lead_id,
        report_to_agency_id=report_to.id if report_to else None,
        source_filename=name,
        source_format=SourceFormat(extraction.source.format),
        source_sha256=sha256,
        source_path=stored.path,
        extraction=draft.model_dump(mode="json"),
        warnings=warnings,
        created_by_id=actor.id if actor else None,
    )
    try:
        repository.add(session, plan)
    except IntegrityError:
        # The same file, imported by someone else between our check and our insert? This
        # transaction is spoiled: look in a fresh one. Any other violation is a plain error.
        duplicate = repository.committed_duplicate(session, sha256=sha256, user=actor)
        if duplicate is None:
            raise
        plan_id, visible = duplicate
        if not visible:
            raise AppError("plan.duplicate_elsewhere", status=409) from None
        raise AppError(
            "plan.duplicate", status=409, details={"plan_id": plan_id}, plan_id=plan_id
        ) from None
    repository.add_audit(
        session,
        actor=actor,
        action="plan.import",
        plan_id=plan.id,
        detail={"filename": name, "sha256": sha256, "size": stored.size, "path": stored.path},
    )
    return plan


def _lead_agency_id(
    actor: User | None, *, parsed: Agency | None, warnings: list[str]
) -> int | None:
    """The draft's lead agency: the one the plan names; for a lead office, always its own (any
    other would make a draft its importer could not see any more), with a warning if it differs.
    """
    if actor is None or actor.role != UserRole.LEAD_OFFICE or actor.agency is None:
        return parsed.id if parsed else None
    if parsed is not None and parsed.id != actor.agency.id:
        warnings.append(
            t("plan_warn.lead_set_to_importer", parsed=parsed.name, agency=actor.agency.name)
        )
    return actor.agency.id


def _check_may_import(actor: User) -> None:
    if actor.role == UserRole.ADMIN:
        return
    if actor.role != UserRole.LEAD_OFFICE or actor.agency_id is None:
        raise AppError("auth.forbidden", status=403)


def _duplicate(session: Session, *, plan_id: int, actor: User | None) -> AppError:
    """409 naming the existing plan when the caller may see it (it is someone else's otherwise)."""
    if actor is None or repository.is_visible(session, plan_id=plan_id, user=actor):
        return AppError("plan.duplicate", status=409, details={"plan_id": plan_id}, plan_id=plan_id)
    return AppError("plan.duplicate_elsewhere", status=409)


def _parse(
    data: bytes, filename: str, *, settings: Settings, registry: Registry | None
) -> PlanExtraction:
    from service.plans.parser import parse_bytes

    try:
        return parse_bytes(data, filename, registry=registry, calendar=settings.report_calendar())
    except RegistryError as error:
        # The registry data file is broken: the operator's problem, not the uploader's.
        raise AppError(error.code, status=500, **error.params) from error
    except PlanError as error:
        raise AppError(error.code, status=422, **error.params) from error


def clean_filename(filename: str) -> str:
    """The uploaded name as a label only: no directories, no control characters, bounded."""
    base = PureWindowsPath(PurePosixPath(filename or "").name).name
    base = _UNSAFE_NAME_CHARS.sub("", unicodedata.normalize("NFC", base)).strip(" .")
    if len(base) > 200:
        stem, dot, suffix = base.rpartition(".")
        base = (
            f"{stem[: 200 - len(suffix) - 1]}.{suffix}" if dot and len(suffix) <= 10 else base[:200]
        )
    return base or "ke-hoach"


def _canonical_of(extraction: PlanExtraction, name: str | None) -> str | None:
    if name is None:
        return None
    for assignment in extraction.assignments:
        for member, canonical in zip(assignment.members, assignment.canonical, strict=True):
            if member == name:
                return canonical
    return None


class _Resolver:
    """Resolves names once per import: the same member often appears in several places."""

    def __init__(self, session: Session, registry: Registry | None) -> None:
        self.session = session
        self.registry = registry or default_registry()
        self._cache: dict[tuple[str, str | None], Agency | None] = {}

    def agency(self, name: str | None, canonical: str | None = None) -> Agency | None:
        if not name:
            return None
        key = (name, canonical)
        if key not in self._cache:
            self._cache[key] = agency_service.resolve(
                self.session, name, canonical=canonical, registry=self.registry
            )
        return self._cache[key]


def _new_draft(extraction: PlanExtraction, resolver: _Resolver) -> Draft:
    data: dict[str, Any] = dict(extraction.to_json_dict())
    next_key = 1
    for assignment in data["assignments"]:
        assignment["key"] = next_key
        next_key += 1
        ids = []
        for member, canonical in zip(assignment["members"], assignment["canonical"], strict=True):
            agency = resolver.agency(member, canonical)
            ids.append(agency.id if agency else None)
        assignment["agency_ids"] = ids
        for task in assignment["tasks"]:
            task["key"] = next_key
            # A row of an assignment table may carry its own date ("Quý II/2025").
            task["due_on"] = task.get("due_on")
            next_key += 1
    for deadline in data["deadlines"]:
        deadline["key"] = next_key
        deadline["computed"] = True
        next_key += 1
    data["review"] = {"next_key": next_key}
    return Draft.model_validate(data)


# --- reading ------------------------------------------------------------------------------------


def list_plans(
    session: Session,
    *,
    user: User,
    page: PageParams,
    status: PlanStatus | None = None,
    q: str | None = None,
) -> Page[PlanSummary]:
    rows, total = repository.page(
        session,
        user=user,
        limit=page.limit,
        offset=page.offset,
        status=status,
        q=(q or "").strip() or None,
    )
    return Page(
        items=[PlanSummary.model_validate(row) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


def get_plan(session: Session, *, plan_id: int, user: User) -> Plan:
    plan = repository.visible(session, plan_id=plan_id, user=user)
    if plan is None:
        raise AppError("plan.not_found", status=404, details={"plan_id": plan_id})
    return plan


def to_read(session: Session, plan: Plan) -> PlanRead:
    read = PlanRead.model_validate(plan)
    if plan.status == PlanStatus.DRAFT:
        read.review = review_of(session, _draft(plan))
    else:
        read.counts = PlanCounts(
            **dict(
                zip(
                    ("assignments", "tasks", "deadlines", "obligations"),
                    repository.counts(session, plan_id=plan.id),
                    strict=True,
                )
            )
        )
    return read


def review_of(session: Session, draft: Draft) -> PlanReview:
    agencies, members = _agencies_of(session, draft)
    assignments: list[AssignmentRead] = []
    unresolved: list[UnresolvedMember] = []
    empty_groups: list[str] = []
    for assignment in draft.assignments:
        rows: list[MemberRead] = []
        for index, (name, canonical, agency_id) in enumerate(
            zip(assignment.members, assignment.canonical, assignment.agency_ids, strict=True)
        ):
            agency = agencies.get(agency_id) if agency_id is not None else None
            usable = agency is not None and agency.is_active
            if not usable:
                unresolved.append(
                    UnresolvedMember(
                        assignment_key=assignment.key,
                        ordinal=assignment.ordinal,
                        index=index,
                        name=name,
                    )
                )
            group_size = len(members.get(agency.id, [])) if agency and agency.is_group else None
            if usable and group_size == 0 and agency and agency.name not in empty_groups:
                empty_groups.append(agency.name)
            rows.append(
                MemberRead(
                    index=index,
                    name=name,
                    canonical=canonical,
                    agency_id=agency.id if usable and agency else None,
                    agency_name=agency.name if usable and agency else None,
                    is_group=bool(agency and agency.is_group),
                    member_count=group_size,
                )
            )
        assignments.append(
            AssignmentRead(
                key=assignment.key,
                ordinal=assignment.ordinal,
                heading=assignment.heading,
                is_request=assignment.is_request,
                is_lead=assignment.is_lead,
                members=rows,
                tasks=assignment.tasks,
            )
        )
    return PlanReview(
        assignments=assignments,
        deadlines=sorted(draft.deadlines, key=lambda d: (d.due_on, d.kind, d.key)),
        unresolved=unresolved,
        empty_groups=empty_groups,
    )


def _agencies_of(session: Session, draft: Draft) -> tuple[dict[int, Agency], dict[int, list[int]]]:
    ids = {i for a in draft.assignments for i in a.agency_ids if i is not None}
    agencies = agency_service.get_many(session, agency_ids=ids)
    groups = [a.id for a in agencies.values() if a.is_group]
    return agencies, agency_service.active_members(session, group_ids=groups)


def source_file(
    session: Session, *, plan_id: int, user: User, settings: Settings
) -> tuple[bytes, str, SourceFormat]:
    plan = get_plan(session, plan_id=plan_id, user=user)
    if not plan.source_path:
        raise AppError("storage.missing", status=404)
    return (
        storage.read(plan.source_path, settings=settings),
        plan.source_filename,
        plan.source_format,
    )


# --- review -------------------------------------------------------------------------------------


def _led_plan(session: Session, *, plan_id: int, user: User) -> Plan:
    """The plan locked for a change by its lead office: 404 if unseen, 403 if not theirs."""
    plan = repository.visible(session, plan_id=plan_id, user=user, for_update=True)
    if plan is None:
        raise AppError("plan.not_found", status=404, details={"plan_id": plan_id})
    if not (can_write(user) and leads_plan(user, plan)):
        raise AppError("auth.forbidden", status=403)
    return plan


def _led_draft(session: Session, *, plan_id: int, user: User) -> Plan:
    plan = _led_plan(session, plan_id=plan_id, user=user)
    if plan.status != PlanStatus.DRAFT:
        raise AppError(
            "plan.not_draft",
            status=409,
            details={"status": plan.status.value},
            status_text=_status_text(plan.status),
        )
    return plan


def _status_text(status: PlanStatus) -> str:
    return t(f"plan_status.{status.value}")


def _draft(plan: Plan) -> Draft:
    return Draft.model_validate(plan.extraction)


def _save(
    session: Session,
    plan: Plan,
    draft: Draft,
    *,
    user: User,
    action: str,
    detail: dict[str, object],
) -> Plan:
    # A new dict, so the JSON column sees the change (in-place edits are not tracked).
    plan.extraction = draft.model_dump(mode="json")
    repository.add_audit(session, actor=user, action=action, plan_id=plan.id, detail=detail)
    return plan


def _take_key(draft: Draft) -> int:
    key = draft.review.next_key
    draft.review.next_key += 1
    return key


def _assignment(draft: Draft, key: int) -> tuple[int, DraftAssignment]:
    for index, assignment in enumerate(draft.assignments):
        if assignment.key == key:
            return index, assignment
    raise AppError("plan.assignment_not_found", status=404, details={"key": key})


def _task(draft: Draft, key: int) -> tuple[DraftAssignment, int, DraftTask]:
    for assignment in draft.assignments:
        for index, task in enumerate(assignment.tasks):
            if task.key == key:
                return assignment, index, task
    raise AppError("plan.task_not_found", status=404, details={"key": key})


def _deadline(draft: Draft, key: int) -> tuple[int, DraftDeadline]:
    for index, deadline in enumerate(draft.deadlines):
        if deadline.key == key:
            return index, deadline
    raise AppError("plan.deadline_not_found", status=404, details={"key": key})


def _member_index(assignment: DraftAssignment, index: int) -> int:
    if not 0 <= index < len(assignment.members):
        raise AppError("plan.member_not_found", status=404, details={"index": index})
    return index


def update_plan(
    session: Session,
    *,
    plan_id: int,
    data: PlanUpdate,
    user: User,
    calendar: dict[str, str] | None = None,
) -> Plan:
    """Metadata of a draft: title, number, date, years, lead, report-to and parent plan.

    New years or a new issue date recompute the deadlines computed from the reporting regime
    (`calendar`: the deployment's default report dates, as at import); deadlines typed or
    edited by hand stay. Clearing the years leaves the deadlines alone.
    """
    plan = _led_draft(session, plan_id=plan_id, user=user)
    dates_before = _dates(plan)
    sent = data.model_fields_set
    start = data.start_year if "start_year" in sent else plan.start_year
    end = data.end_year if "end_year" in sent else plan.end_year
    if start is not None and end is not None and start > end:
        raise AppError("plan.bad_years", status=422, start=start, end=end)
    if "lead_agency_id" in sent:
        _check_lead(session, user=user, agency_id=data.lead_agency_id)
    if "report_to_agency_id" in sent and data.report_to_agency_id is not None:
        agency_service.get_agency(session, agency_id=data.report_to_agency_id)
    if "parent_plan_id" in sent and data.parent_plan_id is not None:
        _check_parent(session, plan=plan, parent_id=data.parent_plan_id, user=user)
    for field in sent:
        setattr(plan, field, getattr(data, field))
    repository.add_audit(
        session,
        actor=user,
        action="plan.update",
        plan_id=plan.id,
        detail=data.model_dump(mode="json", exclude_unset=True),
    )
    dates = _dates(plan)
    # Without any year there is nothing to compute for: the deadlines stay as they are.
    has_years = dates.start_year is not None or dates.end_year is not None
    if dates != dates_before and has_years:
        _recompute_deadlines(
            session,
            plan,
            old=dates_before,
            user=user,
            calendar=calendar if calendar is not None else get_settings().report_calendar(),
        )
    return plan


def _dates(plan: Plan) -> review_deadlines.Dates:
    return review_deadlines.Dates(plan.start_year, plan.end_year, plan.issued_on)


def _recompute_deadlines(
    session: Session,
    plan: Plan,
    *,
    old: review_deadlines.Dates,
    user: User,
    calendar: dict[str, str],
) -> None:
    """The regime's deadlines for the plan's new dates, in place of those for the old ones."""
    draft = _draft(plan)
    new = _dates(plan)
    result = review_deadlines.recompute(
        draft, old=old, new=new, calendar=calendar, next_key=lambda: _take_key(draft)
    )
    # The regime's warnings about the dates ("no years") follow them.
    warnings = [w for w in plan.warnings if w not in result.old_warnings]
    warnings += [w for w in result.new_warnings if w not in warnings]
    if warnings != plan.warnings:
        plan.warnings = warnings
    if not result.changed:
        return
    removed = {deadline.key for deadline in result.removed}
    draft.deadlines = [d for d in draft.deadlines if d.key not in removed] + result.added
    _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.deadlines_recompute",
        detail={
            "before": {"start_year": old.start_year, "end_year": old.end_year},
            "after": {"start_year": new.start_year, "end_year": new.end_year},
            "issued_on": [
                old.issued_on.isoformat() if old.issued_on else None,
                new.issued_on.isoformat() if new.issued_on else None,
            ],
            "removed": [d.model_dump(mode="json") for d in result.removed],
            "added": [d.model_dump(mode="json") for d in result.added],
            "kept": [d.key for d in result.kept],
        },
    )


def _check_lead(session: Session, *, user: User, agency_id: int | None) -> None:
    if agency_id is not None:
        agency_service.get_agency(session, agency_id=agency_id)
    # A lead office cannot hand its draft to another agency (or to none): it would lose it.
    if user.role != UserRole.ADMIN and agency_id != user.agency_id:
        raise AppError("plan.lead_elsewhere", status=403)


def _check_parent(session: Session, *, plan: Plan, parent_id: int, user: User) -> None:
    if not repository.is_visible(session, plan_id=parent_id, user=user):
        raise AppError("plan.not_found", status=404, details={"plan_id": parent_id})
    current: int | None = parent_id
    for _ in range(MAX_PARENT_DEPTH):
        if current is None:
            return
        if current == plan.id:
            raise AppError("plan.parent_cycle", status=422)
        current = repository.parent_id(session, plan_id=current)
    raise AppError("plan.parent_cycle", status=422)


def update_assignment(
    session: Session, *, plan_id: int, key: int, data: AssignmentUpdate, user: User
) -> Plan:
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    _, assignment = _assignment(draft, key)
    for field in data.model_fields_set:
        setattr(assignment, field, getattr(data, field))
    if data.is_lead:
        # One standing agency per plan.
        for other in draft.assignments:
            other.is_lead = other.key == key
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.assignment_update",
        detail={"key": key, **data.model_dump(mode="json", exclude_unset=True)},
    )


def delete_assignment(session: Session, *, plan_id: int, key: int, user: User) -> Plan:
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    index, assignment = _assignment(draft, key)
    if len(draft.assignments) == 1:
        raise AppError("plan.last_assignment", status=422)
    del draft.assignments[index]
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.assignment_delete",
        detail={"key": key, "heading": assignment.heading},
    )


def merge_assignments(
    session: Session, *, plan_id: int, key: int, data: AssignmentMerge, user: User
) -> Plan:
    """Move the other assignment's members and tasks into this one; the other one goes."""
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    if data.other_key == key:
        raise AppError("plan.merge_self", status=422)
    _, target = _assignment(draft, key)
    other_index, other = _assignment(draft, data.other_key)
    present = {fold(m) for m in target.members}
    for name, canonical, agency_id in zip(
        other.members, other.canonical, other.agency_ids, strict=True
    ):
        if fold(name) not in present:
            target.members.append(name)
            target.canonical.append(canonical)
            target.agency_ids.append(agency_id)
            present.add(fold(name))
    target.tasks.extend(other.tasks)
    target.is_lead = target.is_lead or other.is_lead
    target.heading = data.heading or f"{target.heading}; {other.heading}"
    del draft.assignments[other_index]
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.assignment_merge",
        detail={"key": key, "other_key": data.other_key},
    )


def split_assignment(
    session: Session, *, plan_id: int, key: int, data: AssignmentSplit, user: User
) -> Plan:
    """Move some members to a new assignment right after this one, each keeping every task."""
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    position, assignment = _assignment(draft, key)
    moving = sorted({_member_index(assignment, i) for i in data.members})
    if len(moving) == len(assignment.members):
        raise AppError("plan.split_all", status=422)
    staying = [i for i in range(len(assignment.members)) if i not in moving]

    new = DraftAssignment(
        key=_take_key(draft),
        ordinal=assignment.ordinal,
        heading=", ".join(assignment.members[i] for i in moving),
        members=[assignment.members[i] for i in moving],
        canonical=[assignment.canonical[i] for i in moving],
        agency_ids=[assignment.agency_ids[i] for i in moving],
        is_request=assignment.is_request,
        is_lead=False,
        tasks=[task.model_copy(update={"key": _take_key(draft)}) for task in assignment.tasks],
    )
    assignment.heading = ", ".join(assignment.members[i] for i in staying)
    assignment.members = [assignment.members[i] for i in staying]
    assignment.canonical = [assignment.canonical[i] for i in staying]
    assignment.agency_ids = [assignment.agency_ids[i] for i in staying]
    draft.assignments.insert(position + 1, new)
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.assignment_split",
        detail={"key": key, "new_key": new.key, "members": new.members},
    )


def add_member(session: Session, *, plan_id: int, key: int, data: MemberAdd, user: User) -> Plan:
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    _, assignment = _assignment(draft, key)
    registry = default_registry()
    match = registry.match(data.name)
    if data.agency_id is not None:
        agency: Agency | None = _usable_agency(session, data.agency_id)
    else:
        agency = agency_service.resolve(
            session, data.name, canonical=match.canonical if match else None, registry=registry
        )
    assignment.members.append(data.name)
    assignment.canonical.append(match.canonical if match else None)
    assignment.agency_ids.append(agency.id if agency else None)
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.member_add",
        detail={"key": key, "name": data.name, "agency_id": agency.id if agency else None},
    )


def remove_member(session: Session, *, plan_id: int, key: int, index: int, user: User) -> Plan:
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    _, assignment = _assignment(draft, key)
    _member_index(assignment, index)
    if len(assignment.members) == 1:
        raise AppError("plan.last_member", status=422)
    name = assignment.members.pop(index)
    assignment.canonical.pop(index)
    assignment.agency_ids.pop(index)
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.member_remove",
        detail={"key": key, "index": index, "name": name},
    )


def map_member(
    session: Session, *, plan_id: int, key: int, index: int, data: MemberMap, user: User
) -> Plan:
    """Point a member's name at an agency, everywhere that name occurs in this draft."""
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    _, assignment = _assignment(draft, key)
    name = assignment.members[_member_index(assignment, index)]
    agency = _usable_agency(session, data.agency_id)
    mapped = _map_everywhere(draft, name, agency.id)
    remembered = data.remember and agency_service.remember_alias(session, agency=agency, alias=name)
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.member_map",
        detail={"name": name, "agency_id": agency.id, "members": mapped, "alias": remembered},
    )


def create_member_agency(
    session: Session,
    *,
    plan_id: int,
    key: int,
    index: int,
    data: MemberAgencyCreate,
    user: User,
) -> Plan:
    """A new agency for a name nobody knows yet; the name as written becomes its alias."""
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    _, assignment = _assignment(draft, key)
    name = assignment.members[_member_index(assignment, index)]
    agency = agency_service.create_agency(
        session,
        data=AgencyCreate(
            name=data.name or name,
            level=data.level,
            kind=data.kind,
            parent_id=data.parent_id,
            is_group=data.is_group,
            head_email=data.head_email,
            aliases=[name],
        ),
        actor=user,
    )
    mapped = _map_everywhere(draft, name, agency.id)
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.member_create_agency",
        detail={"name": name, "agency_id": agency.id, "members": mapped},
    )


def _usable_agency(session: Session, agency_id: int) -> Agency:
    agency = agency_service.get_agency(session, agency_id=agency_id)
    if not agency.is_active:
        raise AppError("agency.inactive", status=422, name=agency.name)
    return agency


def _map_everywhere(draft: Draft, name: str, agency_id: int) -> int:
    key = fold(name)
    mapped = 0
    for assignment in draft.assignments:
        for i, member in enumerate(assignment.members):
            if fold(member) == key:
                assignment.agency_ids[i] = agency_id
                mapped += 1
    return mapped


def add_task(session: Session, *, plan_id: int, key: int, data: TaskCreate, user: User) -> Plan:
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    _, assignment = _assignment(draft, key)
    task = DraftTask(key=_take_key(draft), **data.model_dump())
    assignment.tasks.append(task)
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.task_add",
        detail={"assignment_key": key, **task.model_dump(mode="json")},
    )


def update_task(session: Session, *, plan_id: int, key: int, data: TaskUpdate, user: User) -> Plan:
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    _, _, task = _task(draft, key)
    before = task.model_dump(mode="json")
    for field in data.model_fields_set:
        setattr(task, field, getattr(data, field))
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.task_update",
        detail={"key": key, "before": before, "after": task.model_dump(mode="json")},
    )


def delete_task(session: Session, *, plan_id: int, key: int, user: User) -> Plan:
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    assignment, index, task = _task(draft, key)
    if len(assignment.tasks) == 1:
        raise AppError("plan.last_task", status=422)
    del assignment.tasks[index]
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.task_delete",
        detail={"key": key, "text": task.text},
    )


def add_deadline(session: Session, *, plan_id: int, data: DeadlineCreate, user: User) -> Plan:
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    _check_deadline_free(draft, kind=data.kind, due_on=data.due_on, key=None)
    deadline = DraftDeadline(
        key=_take_key(draft), source="plan", computed=False, **data.model_dump()
    )
    draft.deadlines.append(deadline)
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.deadline_add",
        detail=deadline.model_dump(mode="json"),
    )


def update_deadline(
    session: Session, *, plan_id: int, key: int, data: DeadlineUpdate, user: User
) -> Plan:
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    _, deadline = _deadline(draft, key)
    before = deadline.model_dump(mode="json")
    for field in data.model_fields_set:
        setattr(deadline, field, getattr(data, field))
    if data.model_fields_set:
        # Edited by hand: a change of the plan's years leaves it as it is now.
        deadline.computed = False
    _check_deadline_free(draft, kind=deadline.kind, due_on=deadline.due_on, key=key)
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.deadline_update",
        detail={"key": key, "before": before, "after": deadline.model_dump(mode="json")},
    )


def delete_deadline(session: Session, *, plan_id: int, key: int, user: User) -> Plan:
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    index, deadline = _deadline(draft, key)
    del draft.deadlines[index]
    if deadline.computed is not False:
        # Removed on purpose: a recomputation for other years must not bring it back.
        draft.review.removed_deadlines.append(DeadlineRef(kind=deadline.kind, label=deadline.label))
    return _save(
        session,
        plan,
        draft,
        user=user,
        action="plan.review.deadline_delete",
        detail=deadline.model_dump(mode="json"),
    )


def _check_deadline_free(draft: Draft, *, kind: str, due_on: object, key: int | None) -> None:
    for other in draft.deadlines:
        if other.key != key and other.kind == kind and other.due_on == due_on:
            raise AppError("plan.deadline_exists", status=409, label=other.label)


# --- activation and after -----------------------------------------------------------------------


def activate(
    session: Session, *, plan_id: int, user: User, now: datetime
) -> tuple[Plan, PlanCounts]:
    """Create every assignment, task, deadline and obligation of a reviewed draft, at once."""
    plan = _led_draft(session, plan_id=plan_id, user=user)
    draft = _draft(plan)
    review = review_of(session, draft)
    if review.unresolved:
        raise AppError(
            "plan.unresolved_members",
            status=422,
            details={"members": [m.model_dump() for m in review.unresolved]},
            names=_names(m.name for m in review.unresolved),
        )
    if review.empty_groups:
        raise AppError(
            "plan.empty_groups",
            status=422,
            details={"groups": review.empty_groups},
            names=_names(review.empty_groups),
        )
    if plan.lead_agency_id is None:
        raise AppError("plan.no_lead", status=422)

    agencies, members = _agencies_of(session, draft)
    assignments: list[Assignment] = []
    tasks: list[Task] = []
    with_tasks: dict[int, None] = {}
    for position, item in enumerate(draft.assignments):
        row = Assignment(
            plan_id=plan.id,
            ordinal=item.ordinal,
            heading=item.heading,
            is_request=item.is_request,
            is_lead=item.is_lead,
            position=position,
        )
        assignments.append(row)
        concrete: dict[int, None] = {}
        for agency_id in item.agency_ids:
            assert agency_id is not None  # unresolved members were refused above
            fanned = members[agency_id] if agencies[agency_id].is_group else [agency_id]
            concrete.update(dict.fromkeys(fanned))
        for task in item.tasks:
            for agency_id in concrete:
                tasks.append(
                    Task(
                        plan_id=plan.id,
                        assignment=row,
                        agency_id=agency_id,
                        text=task.text,
                        role=task.role,
                        co_agencies=list(task.co_agencies),
                        due_on=task.due_on,
                    )
                )
                with_tasks[agency_id] = None
    deadlines = [
        ReportDeadline(
            plan_id=plan.id,
            kind=item.kind,
            label=item.label,
            due_on=item.due_on,
            source=DeadlineSource(item.source),
        )
        for item in sorted(draft.deadlines, key=lambda d: (d.due_on, d.kind))
    ]
    repository.add_rows(session, [*assignments, *tasks, *deadlines])
    obligations = [
        ReportObligation(deadline_id=deadline.id, agency_id=agency_id, due_on=deadline.due_on)
        for deadline in deadlines
        for agency_id in with_tasks
    ]
    repository.add_rows(session, obligations)
    plan.status = PlanStatus.ACTIVE
    plan.activated_at = now
    created = PlanCounts(
        assignments=len(assignments),
        tasks=len(tasks),
        deadlines=len(deadlines),
        obligations=len(obligations),
    )
    repository.add_audit(
        session, actor=user, action="plan.activate", plan_id=plan.id, detail=created.model_dump()
    )
    return plan, created


def _names(names: Iterable[str]) -> str:
    return ", ".join(f"“{name}”" for name in dict.fromkeys(names))


def close(session: Session, *, plan_id: int, user: User, now: datetime) -> Plan:
    """An active plan is finished: it stays readable, nothing more is due."""
    plan = _led_plan(session, plan_id=plan_id, user=user)
    if plan.status != PlanStatus.ACTIVE:
        raise AppError(
            "plan.not_active",
            status=409,
            details={"status": plan.status.value},
            status_text=_status_text(plan.status),
        )
    plan.status = PlanStatus.CLOSED
    plan.closed_at = now
    repository.add_audit(session, actor=user, action="plan.close", plan_id=plan.id, detail={})
    return plan


def delete_draft(session: Session, *, plan_id: int, user: User, settings: Settings) -> None:
    """Discard a draft (a wrong file, a bad parse): its row, and its file once that commits."""
    plan = _led_draft(session, plan_id=plan_id, user=user)
    detail = {"filename": plan.source_filename, "sha256": plan.source_sha256}
    path = plan.source_path
    repository.delete(session, plan)
    if path:
        storage.remove_after_commit(session, path, settings=settings)
    repository.add_audit(session, actor=user, action="plan.delete", plan_id=plan_id, detail=detail)
