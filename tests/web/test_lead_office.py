"""The lead office's pages: import, review (warnings, mapping, dates), activation, the dashboard,
"đôn đốc", the reminder policy; and who may see them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.agencies import service as agency_service
from service.models import (
    Agency,
    AgencyGroupMember,
    AgencyKind,
    AgencyLevel,
    Notification,
    Plan,
    PlanReminderPolicy,
    PlanStatus,
    Task,
    UserRole,
)
from tests.factories import user
from tests.tasks.builders import World, add_agency
from tests.web.conftest import Browser

FIXTURES = Path(__file__).parents[1] / "fixtures" / "plans"
THANH_LIEM = FIXTURES / "thanh-liem-2021.txt"


@pytest.fixture
def lead(session: Session) -> tuple[Agency, object]:
    agency_service.ensure_seeded(session)
    agency = agency_service.resolve(session, "Phòng Lao động - Thương binh và Xã hội")
    assert agency is not None
    person = user(session, UserRole.LEAD_OFFICE, agency, full_name="Cán bộ thường trực")
    session.commit()
    return agency, person


def _import(browser: Browser, path: Path = THANH_LIEM) -> int:
    answer = browser.post(
        "/plans/import",
        form_page="/plans",
        files=[("file", (path.name, path.read_bytes(), "text/plain"))],
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith("/plans/")
    return int(location.split("/")[2].split("?")[0])


def _fill_groups(session: Session) -> None:
    """Give every group the plan names two communes, as an administrator would."""
    groups = session.scalars(select(Agency).where(Agency.is_group.is_(True))).all()
    for number, group in enumerate(groups):
        for commune in ("Xã Thanh Hà", "Xã Liêm Cần"):
            member = Agency(
                name=f"{commune} {number}",
                level=AgencyLevel.COMMUNE,
                kind=AgencyKind.PEOPLE_COMMITTEE,
            )
            session.add(member)
            session.flush()
            session.add(AgencyGroupMember(group_id=group.id, member_id=member.id))
    session.commit()


def test_import_review_fix_a_warning_and_activate(
    browser: Browser, lead: tuple[Agency, object], session: Session
) -> None:
    browser.sign_in(lead[1])  # type: ignore[arg-type]
    assert "Chưa có kế hoạch nào" in browser.get("/plans").text
    plan_id = _import(browser)

    review = browser.get(f"/plans/{plan_id}").text
    assert "Rà soát bản nháp" in review
    assert "Không xác định được ngày ban hành kế hoạch." in review
    assert "Nhóm chưa có thành viên" in review

    bad = browser.post(
        f"/plans/{plan_id}/details",
        {"title": "Kế hoạch giảm nghèo", "issued_on": "31/02/2021"},
        form_page=f"/plans/{plan_id}",
    )
    assert bad.status_code == 422
    assert 'id="d-err-issued_on"' in bad.text
    fixed = browser.post(
        f"/plans/{plan_id}/details",
        {"title": "Kế hoạch giảm nghèo bền vững năm 2021", "issued_on": "15/03/2021"},
        form_page=f"/plans/{plan_id}",
    )
    assert fixed.status_code == 303
    review = browser.get(f"/plans/{plan_id}").text
    assert "15/03/2021" in review
    assert '<li class="resolved">Không xác định được ngày ban hành kế hoạch. (đã xử lý)' in review

    blocked = browser.post(f"/plans/{plan_id}/activate", form_page=f"/plans/{plan_id}")
    assert blocked.status_code == 422
    assert "chưa có cơ quan thành viên" in blocked.text

    _fill_groups(session)
    activated = browser.post(f"/plans/{plan_id}/activate", form_page=f"/plans/{plan_id}")
    assert activated.status_code == 303
    plan = session.get(Plan, plan_id)
    assert plan is not None
    assert plan.status == PlanStatus.ACTIVE
    dashboard = browser.get(f"/plans/{plan_id}").text
    assert "Theo dõi từng cơ quan" in dashboard
    assert "Báo cáo 6 tháng đầu năm 2021" in dashboard
    assert "Chưa báo cáo" in dashboard  # a 2021 plan: its reports are missing
    assert "Gửi đôn đốc" in dashboard


def test_same_file_twice_points_to_the_existing_plan(
    browser: Browser, lead: tuple[Agency, object]
) -> None:
    browser.sign_in(lead[1])  # type: ignore[arg-type]
    plan_id = _import(browser)
    again = browser.post(
        "/plans/import",
        form_page="/plans",
        files=[("file", (THANH_LIEM.name, THANH_LIEM.read_bytes(), "text/plain"))],
    )
    assert again.status_code == 409
    assert f'href="/plans/{plan_id}"' in again.text


def test_an_unreadable_file_is_refused_next_to_the_field(
    browser: Browser, lead: tuple[Agency, object], session: Session
) -> None:
    browser.sign_in(lead[1])  # type: ignore[arg-type]
    answer = browser.post(
        "/plans/import",
        form_page="/plans",
        files=[("file", ("anh.png", b"\x89PNG\r\n\x1a\n" + bytes(200), "image/png"))],
    )
    assert answer.status_code == 422
    assert 'id="err-file"' in answer.text
    assert session.scalars(select(Plan)).all() == []


def test_map_an_unknown_name_and_set_a_task_deadline(
    browser: Browser, lead: tuple[Agency, object], session: Session
) -> None:
    browser.sign_in(lead[1])  # type: ignore[arg-type]
    plan_id = _import(browser)
    plan = session.get(Plan, plan_id)
    assert plan is not None
    first = plan.extraction["assignments"][0]
    task_key = first["tasks"][0]["key"]
    wrong = browser.post(
        f"/plans/{plan_id}/tasks/{task_key}",
        {"text": "Rà soát hộ nghèo", "role": "chu_tri", "due_on": "hôm qua"},
        form_page=f"/plans/{plan_id}",
    )
    assert wrong.status_code == 422
    assert f'id="task-{task_key}-err-due_on"' in wrong.text
    saved = browser.post(
        f"/plans/{plan_id}/tasks/{task_key}",
        {"text": "Rà soát hộ nghèo", "role": "chu_tri", "due_on": "30/06/2021"},
        form_page=f"/plans/{plan_id}",
    )
    assert saved.status_code == 303
    assert saved.headers["location"].endswith(f"#task-{task_key}")
    assert "30/06/2021" in browser.get(f"/plans/{plan_id}").text

    target = add_agency(session, "Ban Chỉ đạo giảm nghèo huyện")
    session.commit()
    mapped = browser.post(
        f"/plans/{plan_id}/assignments/{first['key']}/members/0/map",
        {"agency_id": str(target.id), "remember": "1"},
        form_page=f"/plans/{plan_id}",
    )
    assert mapped.status_code == 303
    assert "→ Ban Chỉ đạo giảm nghèo huyện" in browser.get(f"/plans/{plan_id}").text


def test_who_sees_the_dashboard(browser: Browser, world: World, session: Session) -> None:
    path = f"/plans/{world.plan.id}"
    for name, status in [
        ("lead", 200),
        ("admin", 200),
        ("leadership", 200),
        ("health", 403),
        ("outsider", 404),
        ("outsider_lead", 404),
    ]:
        page = browser.sign_in(world.users[name]).get(path)
        assert page.status_code == status, name
        if status == 200:
            assert "Phòng Y tế" in page.text
            assert ("Gửi đôn đốc" in page.text) == (name in ("lead", "admin"))
    assert (
        browser.sign_in(world.users["outsider_lead"])
        .get("/plans")
        .text.count(
            world.plan.title  # type: ignore[arg-type]
        )
        == 0
    )


def test_urge_chosen_agencies(browser: Browser, world: World, session: Session) -> None:
    user(session, UserRole.FOCAL_POINT, world.health, email="dau-moi-y-te@example.vn")
    session.commit()
    browser.sign_in(world.users["lead"])
    none = browser.post(f"/plans/{world.plan.id}/urge", {}, form_page=f"/plans/{world.plan.id}")
    assert none.status_code == 422
    assert 'id="u-err-agency_ids"' in none.text
    sent = browser.post(
        f"/plans/{world.plan.id}/urge",
        {"agency_ids": [str(world.health.id)], "message": "Đề nghị gửi báo cáo đúng hạn"},
        form_page=f"/plans/{world.plan.id}",
    )
    assert sent.status_code == 200
    assert "Kết quả đôn đốc" in sent.text
    assert "Đã xếp thư" in sent.text
    recipients = {row.recipient_email for row in session.scalars(select(Notification))}
    assert "dau-moi-y-te@example.vn" in recipients


def test_leadership_cannot_urge_nor_change_the_policy(
    browser: Browser, world: World, session: Session
) -> None:
    browser.sign_in(world.users["leadership"])
    answer = browser.post(
        f"/plans/{world.plan.id}/urge",
        {"agency_ids": [str(world.health.id)]},
        form_page=f"/plans/{world.plan.id}",
    )
    assert answer.status_code == 403
    policy = browser.post(
        f"/plans/{world.plan.id}/policy",
        {
            "reminder_days": "5,2",
            "escalation_ladder": "2=lead_office",
            "repeat_every": "3",
            "max_repeats": "1",
        },
        form_page=f"/plans/{world.plan.id}/policy",
    )
    assert policy.status_code == 403
    assert session.scalars(select(Notification)).all() == []
    assert session.scalars(select(PlanReminderPolicy)).all() == []


def test_set_and_clear_a_plan_reminder_policy(
    browser: Browser, world: World, session: Session
) -> None:
    browser.sign_in(world.users["lead"])
    page = browser.get(f"/plans/{world.plan.id}/policy")
    assert page.status_code == 200
    assert 'value="7,3,1"' in page.text
    bad = browser.post(
        f"/plans/{world.plan.id}/policy",
        {
            "reminder_days": "5,x",
            "escalation_ladder": "1=focal_point",
            "repeat_every": "3",
            "max_repeats": "1",
            "enabled": "1",
        },
        form_page=f"/plans/{world.plan.id}/policy",
    )
    assert bad.status_code == 422
    assert 'id="err-reminder_days"' in bad.text
    good = browser.post(
        f"/plans/{world.plan.id}/policy",
        {
            "reminder_days": "5,2",
            "escalation_ladder": "2=lead_office",
            "repeat_every": "3",
            "max_repeats": "1",
            "enabled": "1",
            "on_the_day": "1",
        },
        form_page=f"/plans/{world.plan.id}/policy",
    )
    assert good.status_code == 303
    assert 'value="5,2"' in browser.get(f"/plans/{world.plan.id}/policy").text
    cleared = browser.post(
        f"/plans/{world.plan.id}/policy/clear", form_page=f"/plans/{world.plan.id}/policy"
    )
    assert cleared.status_code == 303
    session.expire_all()
    assert session.scalars(select(PlanReminderPolicy)).all() == []


def test_focal_point_cannot_import(browser: Browser, world: World, session: Session) -> None:
    browser.sign_in(world.users["health"])
    answer = browser.post(
        "/plans/import",
        form_page="/tasks",
        files=[("file", (THANH_LIEM.name, THANH_LIEM.read_bytes(), "text/plain"))],
    )
    assert answer.status_code == 403
    assert session.scalars(select(Plan).where(Plan.status == PlanStatus.DRAFT)).all() == []
    assert session.scalars(select(Task)).all()  # the world's tasks are untouched


def test_overdue_list_of_a_plan_and_of_one_agency(
    browser: Browser, world: World, session: Session
) -> None:
    from datetime import date

    from tests.tasks.builders import add_task

    add_task(
        session, world.plan, world.health, text="Báo cáo số liệu quý I", due_on=date(2025, 3, 31)
    )
    add_task(session, world.plan, world.lead, text="Hội nghị sơ kết", due_on=date(2025, 5, 20))
    session.commit()
    browser.sign_in(world.users["lead"])
    dashboard = browser.get(f"/plans/{world.plan.id}").text
    assert f'href="/plans/{world.plan.id}/overdue"' in dashboard
    page = browser.get(f"/plans/{world.plan.id}/overdue").text
    assert "Báo cáo số liệu quý I" in page
    assert "Hội nghị sơ kết" in page
    assert "31/03/2025" in page
    # 31/03 to 02/06/2025: 45 weekdays less 30/4, 1/5 and the 2/5 bridge day.
    assert "Quá hạn 42 ngày làm việc" in page
    one = browser.get(f"/plans/{world.plan.id}/overdue?agency_id={world.health.id}").text
    assert "Báo cáo số liệu quý I" in one
    assert "Hội nghị sơ kết" not in one
    assert (
        browser.sign_in(world.users["health"]).get(f"/plans/{world.plan.id}/overdue").status_code
        == 403
    )
    assert (
        browser.sign_in(world.users["outsider_lead"])
        .get(f"/plans/{world.plan.id}/overdue")
        .status_code
        == 404
    )


def test_urge_every_late_agency_at_once(browser: Browser, world: World, session: Session) -> None:
    from datetime import date

    from tests.tasks.builders import add_task

    add_task(session, world.plan, world.health, text="Việc đã quá hạn", due_on=date(2025, 5, 2))
    user(session, UserRole.FOCAL_POINT, world.health, email="y-te@example.vn")
    user(session, UserRole.FOCAL_POINT, world.lead, email="ldtbxh@example.vn")
    session.commit()
    browser.sign_in(world.users["lead"])
    dashboard = browser.get(f"/plans/{world.plan.id}").text
    assert "Mọi cơ quan đang chậm (1)" in dashboard
    sent = browser.post(
        f"/plans/{world.plan.id}/urge", {"all_late": "1"}, form_page=f"/plans/{world.plan.id}"
    )
    assert sent.status_code == 200
    recipients = {row.recipient_email for row in session.scalars(select(Notification))}
    # Phòng Y tế is late (an overdue task); the lead's own agency is not, so it is not urged.
    assert recipients == {"y-te@example.vn", world.users["health"].email}


def test_merge_split_add_and_remove_members_of_assignments(
    browser: Browser, lead: tuple[Agency, object], session: Session
) -> None:
    browser.sign_in(lead[1])  # type: ignore[arg-type]
    plan_id = _import(browser)

    def assignments() -> list[dict[str, object]]:
        session.expire_all()
        plan = session.get(Plan, plan_id)
        assert plan is not None
        return list(plan.extraction["assignments"])

    first, second = assignments()[:2]
    count = len(assignments())
    merged = browser.post(
        f"/plans/{plan_id}/assignments/{first['key']}/merge",
        {"other_key": str(second["key"])},
        form_page=f"/plans/{plan_id}",
    )
    assert merged.status_code == 303
    now = assignments()
    assert len(now) == count - 1
    members = now[0]["members"]
    assert isinstance(members, list)
    assert len(members) >= 2

    split = browser.post(
        f"/plans/{plan_id}/assignments/{first['key']}/split",
        {"members": ["1"]},
        form_page=f"/plans/{plan_id}",
    )
    assert split.status_code == 303
    assert len(assignments()) == count

    added = browser.post(
        f"/plans/{plan_id}/assignments/{first['key']}/members",
        {"name": "Phòng Tư pháp"},
        form_page=f"/plans/{plan_id}",
    )
    assert added.status_code == 303
    assert "Phòng Tư pháp" in assignments()[0]["members"]  # type: ignore[operator]
    index = assignments()[0]["members"].index("Phòng Tư pháp")  # type: ignore[union-attr]
    removed = browser.post(
        f"/plans/{plan_id}/assignments/{first['key']}/members/{index}/delete",
        form_page=f"/plans/{plan_id}",
    )
    assert removed.status_code == 303
    assert "Phòng Tư pháp" not in assignments()[0]["members"]  # type: ignore[operator]

    nothing = browser.post(
        f"/plans/{plan_id}/assignments/{first['key']}/split", {}, form_page=f"/plans/{plan_id}"
    )
    assert nothing.status_code == 422
