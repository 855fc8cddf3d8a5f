"""Changing a draft's years (or issue date) recomputes the deadlines computed from its reporting
regime; deadlines the reviewer typed or edited stay. Over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Settings
from service.i18n import t
from service.models import AuditLog, Plan, ReportDeadline, UserRole
from service.plans import review_deadlines
from service.plans.parser import parse_file
from tests.plans import gold
from tests.plans.test_import import FIXTURES, LABOUR_OFFICE, headers_for, upload
from tests.plans.test_import_review import Draft, audit_actions

EXTRA = FIXTURES / "extra"
RECOMPUTE = "plan.review.deadlines_recompute"


@pytest.fixture
def draft(client: TestClient, session: Session) -> Draft:
    return Draft(client, session)


def deadlines(draft: Draft) -> list[tuple[str, str, bool | None]]:
    return [(d["label"], d["due_on"], d["computed"]) for d in draft.review()["deadlines"]]


def patch(draft: Draft, change: dict[str, Any]) -> dict[str, Any]:
    response = draft.call("PATCH", "", change)
    assert response.status_code == 200, response.text
    return dict(response.json())


def recompute_rows(session: Session, plan_id: int) -> list[dict[str, Any]]:
    session.expire_all()
    rows = session.scalars(
        select(AuditLog.detail)
        .where(AuditLog.entity_id == plan_id, AuditLog.action == RECOMPUTE)
        .order_by(AuditLog.id)
    )
    return [dict(row) for row in rows]


# --- the regime read back from a draft ----------------------------------------------------------


# Every annotated plan (the two annotated non-plans expect an error instead).
PLAN_FILES = [
    gold.plan_file(path) for path in gold.gold_files() if "expect_error" not in gold.load(path)
]


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.stem)
def test_the_stored_regime_gives_back_the_parsers_deadlines(path: Path) -> None:
    """What the draft keeps (`reporting`) is enough to compute every deadline the parser did,
    monthly and quarterly days ("trước ngày 18 của tháng cuối quý") included."""
    calendar = Settings(environment="test").report_calendar()
    parsed = parse_file(path, calendar=calendar)
    meta = parsed.plan

    items = review_deadlines.regime_from(parsed.reporting)
    again, _ = review_deadlines.computed_deadlines(
        items,
        review_deadlines.Dates(meta.start_year, meta.end_year, meta.issued_on),
        calendar=calendar,
    )

    assert again == parsed.deadlines


# --- over HTTP ----------------------------------------------------------------------------------


def test_a_new_draft_marks_its_deadlines_as_computed(draft: Draft) -> None:
    assert deadlines(draft) == [
        ("Báo cáo 6 tháng đầu năm 2021", "2021-06-10", True),
        ("Báo cáo năm 2021", "2021-11-15", True),
    ]


def test_new_years_recompute_the_regime_deadlines(draft: Draft) -> None:
    before = draft.review()["deadlines"]

    patch(draft, {"start_year": 2022, "end_year": 2023})

    # The plan's own dates (trước ngày 10/6, trước ngày 15/11) for each new year.
    assert deadlines(draft) == [
        ("Báo cáo 6 tháng đầu năm 2022", "2022-06-10", True),
        ("Báo cáo năm 2022", "2022-11-15", True),
        ("Báo cáo 6 tháng đầu năm 2023", "2023-06-10", True),
        ("Báo cáo năm 2023", "2023-11-15", True),
    ]
    assert {d["source"] for d in draft.review()["deadlines"]} == {"plan"}
    assert audit_actions(draft.session, draft.id)[-2:] == ["plan.update", RECOMPUTE]
    (row,) = recompute_rows(draft.session, draft.id)
    assert row["before"] == {"start_year": 2021, "end_year": 2021}
    assert row["after"] == {"start_year": 2022, "end_year": 2023}
    assert [d["label"] for d in row["removed"]] == [d["label"] for d in before]
    assert len(row["added"]) == 4
    assert row["kept"] == []


def test_deadlines_typed_or_edited_by_hand_stay(draft: Draft) -> None:
    annual = next(d for d in draft.review()["deadlines"] if d["kind"] == "annual")
    edited = draft.call("PATCH", f"/deadlines/{annual['key']}", {"due_on": "2021-11-20"})
    added = draft.call(
        "POST",
        "/deadlines",
        {"kind": "other", "label": "Báo cáo sơ kết 9 tháng", "due_on": "2021-09-30"},
    )
    assert (edited.status_code, added.status_code) == (200, 201)

    patch(draft, {"start_year": 2021, "end_year": 2022})

    assert deadlines(draft) == [
        ("Báo cáo 6 tháng đầu năm 2021", "2021-06-10", True),
        ("Báo cáo sơ kết 9 tháng", "2021-09-30", False),
        # Edited by hand: kept as edited, and not computed a second time.
        ("Báo cáo năm 2021", "2021-11-20", False),
        ("Báo cáo 6 tháng đầu năm 2022", "2022-06-10", True),
        ("Báo cáo năm 2022", "2022-11-15", True),
    ]
    (row,) = recompute_rows(draft.session, draft.id)
    assert sorted(row["kept"]) == sorted(
        d["key"] for d in draft.review()["deadlines"] if d["computed"] is False
    )


def test_moving_the_years_away_keeps_hand_made_deadlines_of_the_old_year(draft: Draft) -> None:
    draft.call(
        "POST",
        "/deadlines",
        {"kind": "other", "label": "Báo cáo sơ kết 9 tháng", "due_on": "2021-09-30"},
    )

    patch(draft, {"start_year": 2024, "end_year": 2024})

    assert deadlines(draft) == [
        ("Báo cáo sơ kết 9 tháng", "2021-09-30", False),
        ("Báo cáo 6 tháng đầu năm 2024", "2024-06-10", True),
        ("Báo cáo năm 2024", "2024-11-15", True),
    ]


def test_a_computed_deadline_the_reviewer_removed_does_not_come_back(draft: Draft) -> None:
    semiannual = next(d for d in draft.review()["deadlines"] if d["kind"] == "semiannual")
    assert draft.call("DELETE", f"/deadlines/{semiannual['key']}").status_code == 200

    patch(draft, {"start_year": 2021, "end_year": 2022})

    assert deadlines(draft) == [
        ("Báo cáo năm 2021", "2021-11-15", True),
        ("Báo cáo 6 tháng đầu năm 2022", "2022-06-10", True),
        ("Báo cáo năm 2022", "2022-11-15", True),
    ]


def test_the_same_years_again_change_nothing(draft: Draft) -> None:
    before = draft.review()["deadlines"]

    patch(draft, {"start_year": 2021, "end_year": 2021, "title": "Kế hoạch giảm nghèo"})

    assert draft.review()["deadlines"] == before
    assert recompute_rows(draft.session, draft.id) == []


def test_a_later_issue_date_drops_deadlines_before_it(draft: Draft) -> None:
    """As at import: a deadline before the plan was issued is not one."""
    patch(draft, {"issued_on": "2021-07-01"})

    assert deadlines(draft) == [("Báo cáo năm 2021", "2021-11-15", True)]
    assert len(recompute_rows(draft.session, draft.id)) == 1


def test_clearing_the_years_leaves_the_deadlines_alone(draft: Draft) -> None:
    """Nothing to compute for: what is there stays until years are given again."""
    before = draft.review()["deadlines"]

    cleared = patch(draft, {"start_year": None, "end_year": None, "issued_on": "2021-03-15"})

    assert cleared["review"]["deadlines"] == before
    assert recompute_rows(draft.session, draft.id) == []

    patch(draft, {"start_year": 2022, "end_year": 2022})

    assert deadlines(draft) == [
        ("Báo cáo 6 tháng đầu năm 2022", "2022-06-10", True),
        ("Báo cáo năm 2022", "2022-11-15", True),
    ]


def test_years_given_in_review_lift_the_no_years_warning(draft: Draft) -> None:
    """A plan whose years the parser could not read: the reviewer types them, the deadlines
    are computed and the warning goes."""
    session = draft.session
    session.expire_all()
    plan = session.get(Plan, draft.id)
    assert plan is not None
    plan.start_year = plan.end_year = None
    plan.warnings = [*plan.warnings, t("warn.no_years")]
    stored = dict(plan.extraction)
    stored["deadlines"] = []
    plan.extraction = stored
    session.commit()

    given = patch(draft, {"start_year": 2021, "end_year": 2021})

    assert [d["label"] for d in given["review"]["deadlines"]] == [
        "Báo cáo 6 tháng đầu năm 2021",
        "Báo cáo năm 2021",
    ]
    assert t("warn.no_years") not in given["warnings"]
    (row,) = recompute_rows(session, draft.id)
    assert row["before"] == {"start_year": None, "end_year": None}
    assert row["removed"] == []


def test_a_draft_stored_before_deadlines_were_marked_is_recomputed_too(draft: Draft) -> None:
    """Drafts imported before `computed` existed: a deadline still exactly as the regime gives it
    counts as computed; one that differs was edited by hand."""
    annual = next(d for d in draft.review()["deadlines"] if d["kind"] == "annual")
    draft.call("PATCH", f"/deadlines/{annual['key']}", {"due_on": "2021-11-20"})
    session = draft.session
    session.expire_all()
    plan = session.get(Plan, draft.id)
    assert plan is not None
    stored = dict(plan.extraction)
    stored["deadlines"] = [
        {k: v for k, v in d.items() if k != "computed"} for d in stored["deadlines"]
    ]
    plan.extraction = stored
    session.commit()
    assert {d[2] for d in deadlines(draft)} == {None}

    patch(draft, {"start_year": 2022, "end_year": 2022})

    assert deadlines(draft) == [
        ("Báo cáo năm 2021", "2021-11-20", None),
        ("Báo cáo 6 tháng đầu năm 2022", "2022-06-10", True),
        ("Báo cáo năm 2022", "2022-11-15", True),
    ]


def test_quarterly_days_stated_by_the_plan_follow_the_new_year(
    client: TestClient, session: Session
) -> None:
    """ "hằng quý trước ngày 18 của tháng cuối quý": the 18th, not the default 20th."""
    lead = headers_for(session, UserRole.LEAD_OFFICE, LABOUR_OFFICE)
    response = upload(client, EXTRA / "b2-phuong-dong-son-chuyen-doi-so-2025.txt", lead)
    assert response.status_code == 201, response.text
    plan = response.json()
    url = f"/api/plans/{plan['id']}"

    changed = client.patch(url, json={"start_year": 2026, "end_year": 2026}, headers=lead)

    assert changed.status_code == 200, changed.text
    quarterly = [
        (d["label"], d["due_on"], d["source"])
        for d in changed.json()["review"]["deadlines"]
        if d["kind"] == "quarterly"
    ]
    assert quarterly == [
        ("Báo cáo quý I năm 2026", "2026-03-18", "plan"),
        ("Báo cáo quý II năm 2026", "2026-06-18", "plan"),
        ("Báo cáo quý III năm 2026", "2026-09-18", "plan"),
        ("Báo cáo quý IV năm 2026", "2026-12-18", "plan"),
    ]
    assert all(d["due_on"].startswith("2026") for d in changed.json()["review"]["deadlines"])


def test_a_refused_change_recomputes_nothing(draft: Draft) -> None:
    before = draft.review()

    response = draft.call("PATCH", "", {"start_year": 2025, "end_year": 2022})

    assert response.status_code == 422
    assert draft.review() == before
    assert recompute_rows(draft.session, draft.id) == []


def test_activation_uses_the_recomputed_deadlines(draft: Draft) -> None:
    draft.give_communes("Ủy ban nhân dân xã Thanh Hà")
    patch(draft, {"start_year": 2022, "end_year": 2022})

    response = draft.call("POST", "/activate")

    assert response.status_code == 200, response.text
    draft.session.expire_all()
    rows = draft.session.scalars(select(ReportDeadline).order_by(ReportDeadline.due_on)).all()
    assert [(r.label, r.due_on.isoformat()) for r in rows] == [
        ("Báo cáo 6 tháng đầu năm 2022", "2022-06-10"),
        ("Báo cáo năm 2022", "2022-11-15"),
    ]
