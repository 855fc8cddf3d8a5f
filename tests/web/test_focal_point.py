"""A focal point's pages: sign-in, "Nhiệm vụ của tôi", updating a task, reports, history."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth.sessions import SESSION_COOKIE
from service.config import Settings
from service.i18n import t
from service.models import ObligationStatus, ReportObligation, StatusUpdate, Task, TaskState
from tests.tasks.builders import World
from tests.web.conftest import Browser


def test_anonymous_page_shows_the_sign_in_form(browser: Browser) -> None:
    page = browser.get("/tasks")
    assert page.status_code == 401
    assert "Đăng nhập" in page.text
    assert 'name="next" value="/tasks"' in page.text


def test_my_tasks_grouped_by_plan_with_deadline_days_and_colour(
    browser: Browser, world: World
) -> None:
    page = browser.sign_in(world.users["health"]).get("/tasks")
    assert page.status_code == 200
    assert "Nhiệm vụ của tôi" in page.text
    assert world.plan.title in page.text
    assert "Khám sức khỏe định kỳ cho người cao tuổi thuộc hộ nghèo" in page.text
    assert "30/09/2025" in page.text
    assert "Đang thực hiện trong hạn" in page.text
    # Another agency's task is not on my list.
    assert "Tổng hợp kết quả thực hiện" not in page.text
    assert "ngày làm việc" in page.text


def _task(session: Session, task_id: int) -> Task:
    session.expire_all()
    row = session.get(Task, task_id)
    assert row is not None
    return row


def test_update_a_task_from_the_list_and_see_it_in_the_history(
    browser: Browser, world: World, session: Session
) -> None:
    browser.sign_in(world.users["health"])
    task = world.health_task
    answer = browser.post(
        f"/tasks/{task.id}/update",
        {
            "version": str(task.version),
            "state": "dang_thuc_hien",
            "progress": "40",
            "narrative": "Đã khám cho 120 người",
            "return_to": "/tasks",
        },
        form_page="/tasks",
        files=[("files", ("bien-ban.txt", "Biên bản khám".encode(), "text/plain"))],
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/tasks?ok=task_saved#task-{task.id}"
    assert "Đã lưu cập nhật nhiệm vụ." in browser.get("/tasks?ok=task_saved").text
    saved = _task(session, task.id)
    assert (saved.state, saved.progress) == (TaskState.DANG_THUC_HIEN, 40)

    history = browser.get(f"/tasks/{task.id}").text
    assert "Đã khám cho 120 người" in history
    assert "bien-ban.txt" in history
    assert "Cán bộ health" in history


def test_htmx_update_answers_with_the_task_card_only(
    browser: Browser, world: World, session: Session
) -> None:
    browser.sign_in(world.users["health"])
    task = world.health_task
    answer = browser.post(
        f"/tasks/{task.id}/update",
        {"version": str(task.version), "state": "hoan_thanh", "return_to": "/tasks"},
        form_page="/tasks",
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith("<article")
    assert "Hoàn thành đúng hạn" in answer.text
    assert "Hoàn thành ngày 02/06/2025" in answer.text
    assert _task(session, task.id).progress == 100


def test_errors_are_shown_next_to_the_field_and_nothing_is_saved(
    browser: Browser, world: World, session: Session
) -> None:
    browser.sign_in(world.users["health"])
    task = world.health_task
    page = browser.post(
        f"/tasks/{task.id}/update",
        {"version": str(task.version), "state": "gap_vuong_mac", "progress": "30"},
        form_page="/tasks",
    )
    assert page.status_code == 422
    assert f'id="t{task.id}-err-blocked_reason"' in page.text
    assert "cần ghi rõ vướng mắc" in page.text
    assert 'aria-invalid="true"' in page.text

    page = browser.post(
        f"/tasks/{task.id}/update",
        {"version": str(task.version), "state": "dang_thuc_hien", "progress": "150"},
        form_page="/tasks",
    )
    assert page.status_code == 422
    assert f'id="t{task.id}-err-progress"' in page.text
    assert "không được lớn hơn 100" in page.text
    assert session.scalars(select(StatusUpdate)).all() == []
    assert _task(session, task.id).state == TaskState.CHUA_TRIEN_KHAI


def test_a_stale_version_shows_the_current_state_and_re_applies(
    browser: Browser, world: World, session: Session
) -> None:
    browser.sign_in(world.users["health"])
    task = world.health_task
    stale = str(task.version)
    first = browser.post(
        f"/tasks/{task.id}/update",
        {"version": stale, "state": "dang_thuc_hien", "progress": "20"},
        form_page="/tasks",
    )
    assert first.status_code == 303
    conflict = browser.post(
        f"/tasks/{task.id}/update",
        {"version": stale, "state": "dang_thuc_hien", "progress": "60", "narrative": "Của tôi"},
        form_page="/tasks",
    )
    assert conflict.status_code == 409
    assert "vừa được người khác cập nhật trước bạn" in conflict.text
    assert "Hiện tại: Đang thực hiện, tiến độ 20%" in conflict.text
    assert "Của tôi" in conflict.text  # what the person typed is kept
    current = _task(session, task.id)
    assert current.progress == 20
    assert f'name="version" value="{current.version}"' in conflict.text

    again = browser.post(
        f"/tasks/{task.id}/update",
        {"version": str(current.version), "state": "dang_thuc_hien", "progress": "60"},
        form_page="/tasks",
    )
    assert again.status_code == 303
    assert _task(session, task.id).progress == 60


def test_another_agencys_task_is_not_found(browser: Browser, world: World) -> None:
    browser.sign_in(world.users["outsider"])
    assert browser.get(f"/tasks/{world.health_task.id}").status_code == 404
    answer = browser.post(
        f"/tasks/{world.health_task.id}/update",
        {"version": "1", "state": "hoan_thanh"},
        form_page="/tasks",
    )
    assert answer.status_code == 404
    assert browser.get(f"/reports/{world.health_report.id}").status_code == 404
    assert browser.get("/tasks/999999").status_code == 404
    assert browser.get("/tasks/abc").status_code == 404


def test_a_form_without_a_valid_csrf_token_is_refused(
    browser: Browser, world: World, session: Session
) -> None:
    browser.sign_in(world.users["health"])
    browser.token("/tasks")
    task = world.health_task
    for token in (None, "0" * 64):
        fields = {"version": str(task.version), "state": "hoan_thanh"}
        if token:
            fields["csrf_token"] = token
        answer = browser.client.post(f"/tasks/{task.id}/update", data=fields)
        assert answer.status_code == 403
        assert "Biểu mẫu đã hết hạn" in answer.text
    assert _task(session, task.id).state == TaskState.CHUA_TRIEN_KHAI


def test_a_token_from_another_session_is_refused(
    browser: Browser, world: World, session: Session
) -> None:
    token = browser.sign_in(world.users["outsider"]).token("/tasks")
    browser.sign_in(world.users["health"])
    task = world.health_task
    answer = browser.client.post(
        f"/tasks/{task.id}/update",
        data={"csrf_token": token, "version": str(task.version), "state": "hoan_thanh"},
    )
    assert answer.status_code == 403


def test_hostile_text_is_escaped(browser: Browser, world: World) -> None:
    browser.sign_in(world.users["health"])
    task = world.health_task
    browser.post(
        f"/tasks/{task.id}/update",
        {
            "version": str(task.version),
            "state": "dang_thuc_hien",
            "narrative": "<script>alert('x')</script>",
        },
        form_page="/tasks",
    )
    page = browser.get(f"/tasks/{task.id}").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_submit_a_report_and_see_it_returned_with_the_comment(
    browser: Browser, world: World, session: Session
) -> None:
    report = world.health_report
    browser.sign_in(world.users["health"])
    listing = browser.get("/reports").text
    assert "Báo cáo 6 tháng đầu năm 2025" in listing
    assert "Cần gửi" in listing

    empty = browser.post(
        f"/reports/{report.id}/submit",
        {"version": str(report.version), "narrative": "  "},
        form_page=f"/reports/{report.id}",
    )
    assert empty.status_code == 422
    assert 'id="err-narrative"' in empty.text

    sent = browser.post(
        f"/reports/{report.id}/submit",
        {"version": str(report.version), "narrative": "Đã hoàn thành 80% chỉ tiêu"},
        form_page=f"/reports/{report.id}",
    )
    assert sent.status_code == 303
    page = browser.get(f"/reports/{report.id}").text
    assert "Đã gửi, chờ xem xét" in page
    assert "Gửi đúng hạn" in page

    session.expire_all()
    current = session.get(ReportObligation, report.id)
    assert current is not None
    lead = Browser(browser.client, browser.settings, browser.clock).sign_in(world.users["lead"])
    returned = lead.post(
        f"/reports/{report.id}/review",
        {"version": str(current.version), "decision": "return", "comment": "Thiếu số liệu quý II"},
        form_page=f"/reports/{report.id}",
    )
    assert returned.status_code == 303

    browser.sign_in(world.users["health"])
    page = browser.get("/reports").text
    assert "Bị trả lại, cần gửi lại" in page
    assert "Thiếu số liệu quý II" in page
    session.expire_all()
    assert session.get(ReportObligation, report.id).status == ObligationStatus.RETURNED  # type: ignore[union-attr]


def test_returning_a_report_needs_a_comment(
    browser: Browser, world: World, session: Session
) -> None:
    report = world.health_report
    browser.sign_in(world.users["health"])
    browser.post(
        f"/reports/{report.id}/submit",
        {"version": str(report.version), "narrative": "Báo cáo"},
        form_page=f"/reports/{report.id}",
    )
    session.expire_all()
    version = session.get(ReportObligation, report.id).version  # type: ignore[union-attr]
    browser.sign_in(world.users["lead"])
    page = browser.post(
        f"/reports/{report.id}/review",
        {"version": str(version), "decision": "return", "comment": ""},
        form_page=f"/reports/{report.id}",
    )
    assert page.status_code == 422
    assert 'id="err-comment"' in page.text
    accepted = browser.post(
        f"/reports/{report.id}/review",
        {"version": str(version), "decision": "accept"},
        form_page=f"/reports/{report.id}",
    )
    assert accepted.status_code == 303
    assert "Đã tiếp nhận" in browser.get(f"/reports/{report.id}").text


def test_sign_in_with_a_password_lands_on_the_home_page(
    browser: Browser, world: World, session: Session
) -> None:
    from service.auth.passwords import hash_password

    health = world.users["health"]
    health.password_hash = hash_password("mat-khau-dung-roi")
    session.commit()
    wrong = browser.post("/sign-in/password", {"email": health.email, "password": "sai-mat-khau"})
    assert wrong.status_code == 401
    assert "E-mail hoặc mật khẩu không đúng." in wrong.text
    right = browser.post(
        "/sign-in/password", {"email": health.email, "password": "mat-khau-dung-roi"}
    )
    assert right.status_code == 303
    assert right.headers["location"] == "/tasks"
    assert browser.get("/tasks").status_code == 200
    out = browser.post("/sign-out", form_page="/tasks")
    assert out.status_code == 303
    assert browser.get("/tasks").status_code == 401


def test_sign_in_link_is_queued_and_opens_the_home_page(
    browser: Browser, world: World, session: Session
) -> None:
    from service.models import Notification

    health = world.users["health"]
    sent = browser.post("/sign-in/link", {"email": health.email})
    assert sent.status_code == 200
    assert "liên kết" in sent.text.lower()
    unknown = browser.post("/sign-in/link", {"email": "khong-co@example.vn"})
    assert unknown.status_code == 200
    bad = browser.post("/sign-in/link", {"email": "khong-phai-email"})
    assert bad.status_code == 422
    assert 'id="link-err-email"' in bad.text

    mail = session.scalars(select(Notification)).one()
    link = next(word for word in mail.body_text.split() if "/auth/link/" in word)
    opened = browser.get(link[link.index("/auth/link/") :])
    assert opened.status_code == 303
    assert opened.headers["location"] == "/"
    home = browser.get("/")
    assert home.headers["location"] == "/tasks"


# A browser's Accept header (Chromium's for a page) and an API client's.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
API_ACCEPT = "application/json"


def _link_from_last_mail(session: Session) -> str:
    from service.models import Notification

    session.expire_all()
    mail = session.scalars(select(Notification).order_by(Notification.id.desc())).first()
    assert mail is not None
    link = next(word for word in mail.body_text.split() if "/auth/link/" in word)
    return link[link.index("/auth/link/") :]


def _assert_stale_link_page(page: httpx.Response) -> None:
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert t("web.sign_in.link_invalid") in page.text
    # The normal layout, and the form for a new link right there.
    assert '<link rel="stylesheet" href="/static/app.css">' in page.text
    assert 'action="/sign-in/link"' in page.text
    assert t("web.sign_in.send_new_link") in page.text
    assert "set-cookie" not in page.headers or SESSION_COOKIE not in page.headers["set-cookie"]


def test_a_used_unknown_or_expired_link_in_a_browser_is_a_page_offering_a_new_one(
    browser: Browser, world: World, session: Session, settings: Settings
) -> None:
    health = world.users["health"]
    browser.client.headers["accept"] = BROWSER_ACCEPT
    assert browser.post("/sign-in/link", {"email": health.email}).status_code == 200
    link = _link_from_last_mail(session)
    assert browser.get(link).status_code == 303
    browser.client.cookies.clear()

    used = browser.get(link)
    unknown = browser.get("/auth/link/khong-co-lien-ket-nay")

    _assert_stale_link_page(used)
    _assert_stale_link_page(unknown)
    assert browser.get("/tasks").status_code == 401  # not signed in by either

    # Expired: a fresh link opened after its time is up.
    assert browser.post("/sign-in/link", {"email": health.email}).status_code == 200
    fresh = _link_from_last_mail(session)
    browser.clock.advance(timedelta(minutes=settings.login_link_minutes, seconds=1))
    _assert_stale_link_page(browser.get(fresh))

    # The page's form sends a new link, which works.
    again = browser.post("/sign-in/link", {"email": health.email}, form_page=fresh)
    assert again.status_code == 200
    assert t("auth.link_sent") in again.text
    newest = _link_from_last_mail(session)
    assert newest not in (link, fresh)
    assert browser.get(newest).status_code == 303
    assert browser.get("/tasks").status_code == 200


def test_a_refused_link_stays_json_for_an_api_client(
    browser: Browser, world: World, session: Session
) -> None:
    assert browser.post("/sign-in/link", {"email": world.users["health"].email}).status_code == 200
    link = _link_from_last_mail(session)
    assert browser.get(link, headers={"accept": API_ACCEPT}).status_code == 303
    browser.client.cookies.clear()

    for accept in (API_ACCEPT, "*/*", "text/html, application/json"):
        refused = browser.get(link, headers={"accept": accept})
        assert refused.status_code == 400, accept
        assert refused.headers["content-type"] == "application/json", accept
        assert refused.json()["error"]["code"] == "auth.link_invalid"
        assert refused.json()["error"]["message"] == t("auth.link_invalid")
