"""The pages in a real browser: headless Chromium (Debian's package) driven by Playwright, against
the app served by uvicorn on 127.0.0.1, with the real SMTP test server catching the sign-in
e-mail. Screenshots of each main page at 1280 px and 360 px go to artifacts/screenshots/.

Without Chromium or Playwright these tests skip and say why; DONDOC_REQUIRE_BROWSER=1 turns such
a skip into a failed run (tests/web/conftest.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications import jobs
from service.agencies import service as agency_service
from service.auth.passwords import hash_password
from service.clock import system_clock
from service.config import Settings
from service.database import SessionFactory, dispose_engines, make_engine
from service.main import create_app
from service.models import (
    Agency,
    AgencyGroupMember,
    AgencyKind,
    AgencyLevel,
    Plan,
    ReportObligation,
    UserRole,
)
from service.tasks import service as task_service
from service.tasks.schemas import ReportSubmit
from tests.factories import user
from tests.notifications.conftest import notify_settings, smtp  # noqa: F401  (fixtures)
from tests.notifications.smtp_sink import SmtpSink, free_port
from tests.tasks.builders import World, build_world

pytestmark = pytest.mark.browser

# Debian's package; DONDOC_CHROMIUM names another build (never one `playwright install` fetched).
CHROMIUM = Path(os.environ.get("DONDOC_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
THANH_LIEM = ROOT / "tests" / "fixtures" / "plans" / "thanh-liem-2021.txt"
WIDTHS = {"desktop": 1280, "phone": 360}
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _playwright() -> Any:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need Playwright for Python: pip install -e '.[test]'")
    return sync_playwright


class LiveServer:
    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = settings.model_copy(update={"public_url": self.url})
        config = uvicorn.Config(
            create_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        dispose_engines()


@pytest.fixture
def live(notify_settings: Settings) -> Iterator[LiveServer]:  # noqa: F811
    with LiveServer(notify_settings) as server:
        yield server


@pytest.fixture
def chromium() -> Iterator[Any]:
    sync_playwright = _playwright()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=LAUNCH_ARGS,
        )
        yield browser
        browser.close()


def _page(chromium: Any, width: int = 1280) -> Any:
    context = chromium.new_context(
        viewport={"width": width, "height": 900}, locale="vi-VN", accept_downloads=True
    )
    return context.new_page()


def _shoot(chromium: Any, context_page: Any, name: str, url: str) -> None:
    """The page at `url`, with the session of `context_page`, at both widths."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    state = context_page.context.storage_state()
    for label, width in WIDTHS.items():
        context = chromium.new_context(
            viewport={"width": width, "height": 800}, locale="vi-VN", storage_state=state
        )
        page = context.new_page()
        page.goto(url)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        # Nothing may stick out sideways on a phone (tables scroll inside their own box).
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} is {overflow}px wider than a {width}px screen"
        context.close()


def _send_queued_mail(settings: Settings) -> None:
    """One dispatch of the outbox, as the scheduler would (in a thread of its own: Playwright's
    sync API already runs an event loop in this one)."""

    def run() -> None:
        engine = make_engine(settings.effective_database_url)
        try:
            asyncio.run(jobs.dispatch(engine, settings=settings, clock=system_clock))
        finally:
            engine.dispose()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=60)


LINK = re.compile(r"http://127\.0\.0\.1:\d+/auth/link/\S+")


def _e_mailed_link(page: Any, live: LiveServer, sink: SmtpSink, email: str, *, button: str) -> str:
    """Ask for a sign-in link with the page's form; the link in the one e-mail that comes."""
    page.locator("#link-email").fill(email)
    page.get_by_role("button", name=button).click()
    page.get_by_role("status").wait_for()
    _send_queued_mail(live.settings)
    mail = sink.take()
    assert [message.to for message in mail] == [email]
    link = LINK.search(mail[0].text())
    assert link, mail[0].text()
    return link.group(0)


def test_focal_point_signs_in_by_email_updates_a_task_and_submits_a_report(
    live: LiveServer,
    smtp: SmtpSink,  # noqa: F811
    chromium: Any,
    session: Session,
) -> None:
    world: World = build_world(session)
    health = world.users["health"]
    health.email = "dau-moi.yte@example.vn"
    session.commit()

    page = _page(chromium)
    page.goto(f"{live.url}/sign-in")
    link = _e_mailed_link(page, live, smtp, health.email, button="Gửi liên kết đăng nhập")

    page.goto(link)
    assert page.url.endswith("/tasks")
    assert page.get_by_role("heading", name="Nhiệm vụ của tôi").is_visible()
    _shoot(chromium, page, "tasks", f"{live.url}/tasks")

    card = page.locator(f"#task-{world.health_task.id}")
    card.get_by_text("Cập nhật", exact=True).click()  # first click: open the form
    card.get_by_label("Trạng thái").select_option("dang_thuc_hien")
    card.get_by_label("Tiến độ (%)").fill("45")
    card.get_by_label("Kết quả thực hiện").fill("Đã khám cho 120 người cao tuổi")
    card.get_by_label("Tệp minh chứng").set_input_files(
        files=[{"name": "bien-ban.txt", "mimeType": "text/plain", "buffer": "Biên bản".encode()}]
    )
    card.get_by_role("button", name="Lưu cập nhật").click()  # second click: saved
    card = page.locator(f"#task-{world.health_task.id}")
    card.get_by_text("Đã lưu cập nhật nhiệm vụ.").wait_for()
    assert "45%" in card.inner_text()
    _shoot(chromium, page, "task", f"{live.url}/tasks/{world.health_task.id}")

    page.get_by_role("link", name="Báo cáo định kỳ").click()
    _shoot(chromium, page, "reports", page.url)
    page.get_by_role("link", name="Báo cáo 6 tháng đầu năm 2025").click()
    page.get_by_label("Nội dung báo cáo").fill("Hoàn thành 45% chỉ tiêu khám sức khỏe")
    page.get_by_role("button", name="Gửi báo cáo").click()
    page.get_by_text("Đã gửi báo cáo.").wait_for()
    assert "Đã gửi, chờ xem xét" in page.inner_text("main")
    _shoot(chromium, page, "report", page.url)
    page.context.close()


def test_a_used_sign_in_link_shows_a_page_that_sends_a_new_one(
    live: LiveServer,
    smtp: SmtpSink,  # noqa: F811
    chromium: Any,
    session: Session,
) -> None:
    world: World = build_world(session)
    health = world.users["health"]
    health.email = "dau-moi.yte@example.vn"
    session.commit()
    page = _page(chromium)
    page.goto(f"{live.url}/sign-in")
    link = _e_mailed_link(page, live, smtp, health.email, button="Gửi liên kết đăng nhập")
    page.goto(link)
    assert page.url.endswith("/tasks")
    page.context.close()

    # The same link again, in another browser (a forwarded e-mail, a second click later on).
    other = _page(chromium)
    answer = other.goto(link)

    assert answer is not None
    assert answer.status == 400
    alert = other.get_by_role("alert")
    assert "Liên kết đăng nhập này không dùng được nữa" in alert.inner_text()
    assert other.get_by_role("heading", name="Đăng nhập", exact=True).is_visible()
    _shoot(chromium, other, "link-invalid", link)
    fresh = _e_mailed_link(other, live, smtp, health.email, button="Gửi liên kết mới")
    assert fresh != link
    other.goto(fresh)
    assert other.url.endswith("/tasks")
    other.context.close()


def _fill_groups(session: Session) -> None:
    groups = session.scalars(select(Agency).where(Agency.is_group.is_(True))).all()
    for number, group in enumerate(groups):
        for commune in ("Xã Thanh Hà", "Xã Liêm Cần"):
            member = Agency(
                name=f"{commune} ({number})",
                level=AgencyLevel.COMMUNE,
                kind=AgencyKind.PEOPLE_COMMITTEE,
            )
            session.add(member)
            session.flush()
            session.add(AgencyGroupMember(group_id=group.id, member_id=member.id))
    session.commit()


def test_lead_officer_imports_reviews_activates_returns_a_report_and_downloads(
    live: LiveServer, chromium: Any, session: Session
) -> None:
    agency_service.ensure_seeded(session)
    lead_agency = agency_service.resolve(session, "Phòng Lao động - Thương binh và Xã hội")
    assert lead_agency is not None
    officer = user(
        session,
        UserRole.LEAD_OFFICE,
        lead_agency,
        email="thuong-truc@example.vn",
        full_name="Nguyễn Thị Thường Trực",
    )
    officer.password_hash = hash_password("mat-khau-thuong-truc")
    session.commit()
    _fill_groups(session)

    page = _page(chromium)
    page.goto(f"{live.url}/sign-in")
    _shoot(chromium, page, "sign-in", f"{live.url}/sign-in")
    page.get_by_text("Đăng nhập bằng mật khẩu").click()
    page.locator("#pw-email").fill(officer.email)
    page.get_by_label("Mật khẩu").fill("mat-khau-thuong-truc")
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(f"{live.url}/plans")

    page.get_by_label("Tệp kế hoạch").set_input_files(str(THANH_LIEM))
    page.get_by_role("button", name="Tải lên và đọc kế hoạch").click()
    page.get_by_role("heading", name=re.compile("Rà soát bản nháp")).wait_for()
    warning = page.locator("li", has_text="Không xác định được ngày ban hành kế hoạch.")
    assert "(đã xử lý)" not in warning.inner_text()
    _shoot(chromium, page, "review", page.url)

    page.locator("#d-issued").fill("15/03/2021")
    page.locator("#details").get_by_role("button", name="Lưu").click()
    page.get_by_text("(đã xử lý)").wait_for()

    page.get_by_role("button", name="Kích hoạt kế hoạch").click()
    page.get_by_text("Đã kích hoạt kế hoạch").wait_for()
    plan_id = int(page.url.split("/plans/")[1].split("?")[0].split("#")[0])
    _shoot(chromium, page, "dashboard", f"{live.url}/plans/{plan_id}")

    # A commune sends its report (through the same service the pages use).
    session.expire_all()
    obligation = session.scalars(
        select(ReportObligation).order_by(ReportObligation.due_on, ReportObligation.id)
    ).first()
    assert obligation is not None
    focal = user(session, UserRole.FOCAL_POINT, session.get(Agency, obligation.agency_id))
    session.commit()
    with SessionFactory(bind=session.get_bind()) as other:
        task_service.submit_report(
            other,
            user=other.get(type(focal), focal.id),  # type: ignore[arg-type]
            obligation_id=obligation.id,
            data=ReportSubmit(version=obligation.version, narrative="Báo cáo của xã"),
            files=[],
            clock=lambda: datetime.now(UTC),
            settings=live.settings,
        )
        other.commit()

    page.goto(f"{live.url}/plans/{plan_id}")
    page.locator("section", has_text="Báo cáo chờ xem xét (1)").get_by_role("link").first.click()
    page.get_by_label(re.compile("Ý kiến")).fill("Thiếu số liệu hộ cận nghèo")
    page.get_by_role("button", name="Trả lại để bổ sung").click()
    page.get_by_text("Đã trả lại báo cáo").wait_for()
    assert "Thiếu số liệu hộ cận nghèo" in page.inner_text("main")

    page.goto(f"{live.url}/plans/{plan_id}")
    page.get_by_label("Định dạng").select_option("docx")
    with page.expect_download() as download:
        page.get_by_role("button", name="Tải về").click()
    saved = Path(download.value.path())
    assert saved.read_bytes()[:2] == b"PK"
    assert download.value.suggested_filename.endswith(".docx")
    plan = session.get(Plan, plan_id)
    assert plan is not None
    page.context.close()
