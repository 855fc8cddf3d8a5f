"""The administrator's pages: agencies, users and focal points, days off, the outbox; and that
nobody else reaches them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import (
    Agency,
    AgencyAlias,
    ExtraHoliday,
    Notification,
    NotificationStatus,
    User,
    UserRole,
)
from tests.tasks.builders import World
from tests.web.conftest import Browser

PAGES = ["/admin/agencies", "/admin/users", "/admin/holidays", "/admin/outbox"]


@pytest.mark.parametrize("name", ["lead", "health", "leadership"])
def test_only_administrators_reach_the_admin_pages(
    browser: Browser, world: World, name: str
) -> None:
    browser.sign_in(world.users[name])
    for path in [
        *PAGES,
        f"/admin/agencies/{world.health.id}",
        f"/admin/users/{world.users['health'].id}",
    ]:
        page = browser.get(path)
        assert page.status_code == 403, path
        assert "không có quyền" in page.text


def test_every_admin_page_renders(browser: Browser, world: World) -> None:
    browser.sign_in(world.users["admin"])
    for path in [
        *PAGES,
        f"/admin/agencies/{world.health.id}",
        f"/admin/users/{world.users['health'].id}",
    ]:
        page = browser.get(path)
        assert page.status_code == 200, path
    assert "Phòng Y tế" in browser.get("/admin/agencies?q=Y tế").text
    assert browser.get("/admin/agencies/987654").status_code == 404
    assert browser.get("/admin/users?role=focal_point").text.count("Cán bộ health") == 1


def test_create_and_edit_an_agency_with_aliases(
    browser: Browser, world: World, session: Session
) -> None:
    browser.sign_in(world.users["admin"])
    taken = browser.post(
        "/admin/agencies",
        {"name": "Phòng Y tế", "level": "district", "kind": "department"},
        form_page="/admin/agencies",
    )
    assert taken.status_code == 409
    created = browser.post(
        "/admin/agencies",
        {
            "name": "Phòng Văn hóa và Thông tin",
            "level": "district",
            "kind": "department",
            "head_email": "truong-phong@vhtt.gov.vn",
            "aliases": "Phòng VH&TT\nPhòng Văn hoá - Thông tin",
        },
        form_page="/admin/agencies",
    )
    assert created.status_code == 303
    agency = session.scalars(
        select(Agency).where(Agency.name == "Phòng Văn hóa và Thông tin")
    ).one()
    spellings = set(
        session.scalars(select(AgencyAlias.alias).where(AgencyAlias.agency_id == agency.id))
    )
    assert {"Phòng VH&TT", "Phòng Văn hoá - Thông tin"} <= spellings
    bad_email = browser.post(
        f"/admin/agencies/{agency.id}",
        {
            "name": agency.name,
            "level": "district",
            "kind": "department",
            "head_email": "khong-hop-le",
            "is_active": "1",
        },
        form_page=f"/admin/agencies/{agency.id}",
    )
    assert bad_email.status_code == 422
    assert 'id="err-head_email"' in bad_email.text


def test_create_a_focal_point_and_pause_their_reminders(
    browser: Browser, world: World, session: Session
) -> None:
    browser.sign_in(world.users["admin"])
    missing_agency = browser.post(
        "/admin/users",
        {"email": "moi@example.vn", "full_name": "Đầu mối mới", "role": "focal_point"},
        form_page="/admin/users",
    )
    assert missing_agency.status_code == 422
    created = browser.post(
        "/admin/users",
        {
            "email": "Moi@Example.vn",
            "full_name": "Đầu mối mới",
            "role": "focal_point",
            "agency_id": str(world.health.id),
            "phone": "0912 345 678",
        },
        form_page="/admin/users",
    )
    assert created.status_code == 303
    account = session.scalars(select(User).where(User.email == "moi@example.vn")).one()
    assert account.role == UserRole.FOCAL_POINT
    assert account.agency_id == world.health.id
    paused = browser.post(
        f"/admin/users/{account.id}/pause",
        {"until": "30/06/2025"},
        form_page=f"/admin/users/{account.id}",
    )
    assert paused.status_code == 303
    assert (
        "Đang tạm dừng nhắc việc đến hết 30/06/2025."
        in browser.get(f"/admin/users/{account.id}").text
    )


def test_add_and_remove_an_extra_holiday(browser: Browser, world: World, session: Session) -> None:
    browser.sign_in(world.users["admin"])
    wrong = browser.post(
        "/admin/holidays", {"day": "2025-13-40", "name": "Nghỉ bù"}, form_page="/admin/holidays"
    )
    assert wrong.status_code == 422
    assert 'id="err-day"' in wrong.text
    added = browser.post(
        "/admin/holidays", {"day": "01/09/2025", "name": "Nghỉ bù"}, form_page="/admin/holidays"
    )
    assert added.status_code == 303
    page = browser.get("/admin/holidays?year=2025").text
    assert "01/09/2025" in page
    assert "Nghỉ bù" in page
    assert "02/09/2025" in page  # the built-in National Day
    removed = browser.post(
        "/admin/holidays/remove", {"day": "01/09/2025"}, form_page="/admin/holidays"
    )
    assert removed.status_code == 303
    assert session.scalars(select(ExtraHoliday)).all() == []


def test_retry_a_failed_email(browser: Browser, world: World, session: Session) -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    failed = Notification(
        dedup_key="test:failed",
        recipient_email="dau-moi@example.vn",
        kind="digest",
        subject="[Nhắc hạn] <b>thử</b>",
        body_text="x",
        status=NotificationStatus.FAILED,
        attempts=10,
        next_attempt_at=now,
        last_error="550 mailbox unavailable",
    )
    session.add(failed)
    session.commit()
    browser.sign_in(world.users["admin"])
    page = browser.get("/admin/outbox?status=failed").text
    assert "550 mailbox unavailable" in page
    assert "&lt;b&gt;thử&lt;/b&gt;" in page
    nothing = browser.post("/admin/outbox/retry", {}, form_page="/admin/outbox")
    assert nothing.status_code == 422
    retried = browser.post(
        "/admin/outbox/retry", {"ids": [str(failed.id)]}, form_page="/admin/outbox"
    )
    assert retried.status_code == 303
    session.expire_all()
    assert session.get(Notification, failed.id).status == NotificationStatus.PENDING  # type: ignore[union-attr]
