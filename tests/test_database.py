"""The database layer: engine set-up, transactions, and the rules the schema enforces."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service.config import get_settings
from service.database import (
    DatabaseSetupError,
    SessionDep,
    SessionFactory,
    dispose_engines,
    get_engine,
    make_engine,
    session_scope,
    upgrade_database,
)
from service.models import (
    Agency,
    AgencyGroupMember,
    AgencyKind,
    AgencyLevel,
    Assignment,
    Attachment,
    DeadlineSource,
    ExtraHoliday,
    Notification,
    Plan,
    ReportDeadline,
    ReportObligation,
    SourceFormat,
    Task,
    TaskRole,
    TaskState,
    User,
    UserRole,
)

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


# --- Builders -----------------------------------------------------------------------------------


def add_agency(
    session: Session,
    name: str = "Phòng Y tế",
    *,
    level: AgencyLevel = AgencyLevel.DISTRICT,
    kind: AgencyKind = AgencyKind.DEPARTMENT,
    is_group: bool = False,
) -> Agency:
    agency = Agency(name=name, level=level, kind=kind, is_group=is_group)
    session.add(agency)
    session.flush()
    return agency


def add_plan(session: Session, sha256: str = "a" * 64) -> Plan:
    plan = Plan(
        title="Kế hoạch thực hiện công tác giảm nghèo năm 2025",
        source_filename="ke-hoach.txt",
        source_format=SourceFormat.TXT,
        source_sha256=sha256,
        extraction={"schema": "plan-extraction/1"},
    )
    session.add(plan)
    session.flush()
    return plan


def add_task(session: Session, *, plan: Plan, agency_id: int) -> Task:
    assignment = Assignment(plan=plan, ordinal="1", heading="Phòng Y tế:", position=0)
    task = Task(
        plan=plan,
        assignment=assignment,
        agency_id=agency_id,
        text="Chủ trì triển khai khám sàng lọc cho người dân.",
        role=TaskRole.CHU_TRI,
    )
    session.add(task)
    session.flush()
    return task


def add_deadline(session: Session, plan: Plan) -> ReportDeadline:
    deadline = ReportDeadline(
        plan=plan,
        kind="semiannual",
        label="Báo cáo 6 tháng",
        due_on=date(2025, 6, 10),
        source=DeadlineSource.PLAN,
    )
    session.add(deadline)
    session.flush()
    return deadline


def add_notification(session: Session, dedup_key: str, **fields: object) -> Notification:
    notification = Notification(
        dedup_key=dedup_key,
        recipient_email="dau.moi@example.vn",
        kind="reminder",
        subject="Nhắc hạn báo cáo",
        body_text="Còn 3 ngày làm việc đến hạn gửi báo cáo 6 tháng.",
        **fields,
    )
    session.add(notification)
    session.flush()
    return notification


# --- Engine set-up ------------------------------------------------------------------------------


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'nested' / 'dondoc.sqlite3'}"
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            journal_mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
            busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    finally:
        engine.dispose()

    assert (tmp_path / "data" / "nested").is_dir()
    assert journal_mode == "wal"
    assert foreign_keys == 1
    assert busy_timeout == 15_000


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    # psycopg2 is not installed; "postgresql://" and "postgres://" must still work.
    for url in ("postgresql://u@db/dondoc", "postgres://u@db/dondoc"):
        engine = make_engine(url)
        assert engine.dialect.driver == "psycopg"
        engine.dispose()


def test_get_engine_is_created_once_per_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DONDOC_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DONDOC_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        engine = get_engine()
        assert get_engine() is engine
        assert engine.url.database == str(tmp_path / "dondoc.sqlite3")
    finally:
        dispose_engines()
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("not a database url", "db.bad_url"),
        ("mysql+pymysql://u@db/dondoc", "db.unsupported_backend"),
    ],
)
def test_an_unusable_database_url_is_a_clear_error(url: str, code: str) -> None:
    with pytest.raises(DatabaseSetupError) as caught:
        make_engine(url)

    assert caught.value.code == code
    assert "cơ sở dữ liệu" in caught.value.message


def test_a_data_dir_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the directory should be")

    with pytest.raises(DatabaseSetupError) as caught:
        make_engine(f"sqlite:///{tmp_path / 'data' / 'dondoc.sqlite3'}")

    assert caught.value.code == "db.data_dir"
    assert "Không tạo được thư mục dữ liệu" in caught.value.message


def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(DatabaseSetupError) as caught:
        upgrade_database("postgresql+psycopg://dondoc:s3cret@127.0.0.1:1/dondoc")

    assert caught.value.code == "db.unreachable"
    assert caught.value.message.startswith("Không kết nối được tới cơ sở dữ liệu")
    assert "s3cret" not in caught.value.message


@pytest.mark.postgres
def test_postgresql_pool_survives_a_server_restart(postgres_database_url: str) -> None:
    engine = make_engine(postgres_database_url, pool_size=1)
    admin = make_engine(postgres_database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        # What a restart does to pooled connections: the server ends them.
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
    finally:
        engine.dispose()
        admin.dispose()


# --- Transactions -------------------------------------------------------------------------------


def count_holidays(engine: Engine) -> int:
    with SessionFactory(bind=engine) as session:
        return session.scalar(select(func.count()).select_from(ExtraHoliday)) or 0


def test_session_scope_commits_on_success(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(ExtraHoliday(day=date(2025, 9, 1), name="Nghỉ bù Quốc khánh"))

    assert count_holidays(engine) == 1


def job_that_fails_after_writing(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(ExtraHoliday(day=date(2025, 9, 1), name="Nghỉ bù Quốc khánh"))
        session.flush()
        raise RuntimeError("the job failed after writing")


def test_session_scope_rolls_back_on_error(engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="failed after writing"):
        job_that_fails_after_writing(engine)

    assert count_holidays(engine) == 0


@pytest.fixture
def client(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A tiny app whose routes use SessionDep, on the test database."""
    monkeypatch.setenv("DONDOC_DATABASE_URL", database_url)
    get_settings.cache_clear()
    app = FastAPI()

    @app.post("/holidays")
    def add_holiday(session: SessionDep) -> dict[str, str]:
        session.add(ExtraHoliday(day=date(2025, 9, 1), name="Nghỉ bù Quốc khánh"))
        return {"status": "ok"}

    @app.post("/holidays-then-refuse")
    def add_holiday_then_refuse(session: SessionDep) -> None:
        session.add(ExtraHoliday(day=date(2025, 9, 1), name="Nghỉ bù Quốc khánh"))
        session.flush()
        raise HTTPException(status_code=409, detail="refused")

    @app.post("/duplicate-on-commit")
    def duplicate_on_commit(session: SessionDep) -> dict[str, str]:
        # Unflushed: the unique violation surfaces only when get_session commits.
        for _ in range(2):
            session.add(ExtraHoliday(day=date(2025, 9, 1), name="Nghỉ bù Quốc khánh"))
        return {"status": "ok"}

    try:
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        dispose_engines()
        get_settings.cache_clear()


def test_request_commits_when_the_route_returns(client: TestClient, engine: Engine) -> None:
    assert client.post("/holidays").status_code == 200
    assert count_holidays(engine) == 1


def test_request_rolls_back_when_the_route_raises(client: TestClient, engine: Engine) -> None:
    assert client.post("/holidays-then-refuse").status_code == 409
    assert count_holidays(engine) == 0


def test_a_failed_commit_is_an_error_response_not_a_success(
    client: TestClient, engine: Engine
) -> None:
    assert client.post("/duplicate-on-commit").status_code == 500
    assert count_holidays(engine) == 0


# --- What the schema enforces -------------------------------------------------------------------


def test_task_for_an_unknown_agency_is_refused(session: Session) -> None:
    plan = add_plan(session)

    with pytest.raises(IntegrityError):
        add_task(session, plan=plan, agency_id=999_999)


def test_a_stale_task_write_raises_stale_data_error(engine: Engine) -> None:
    with session_scope(engine) as session:
        task_id = add_task(session, plan=add_plan(session), agency_id=add_agency(session).id).id

    with SessionFactory(bind=engine) as first, SessionFactory(bind=engine) as second:
        mine = first.get_one(Task, task_id)
        theirs = second.get_one(Task, task_id)
        mine.state, mine.progress = TaskState.DANG_THUC_HIEN, 40
        first.commit()

        theirs.state, theirs.progress = TaskState.HOAN_THANH, 100
        with pytest.raises(StaleDataError):
            second.commit()

    with SessionFactory(bind=engine) as session:
        saved = session.get_one(Task, task_id)
        assert (saved.state, saved.progress, saved.version) == (TaskState.DANG_THUC_HIEN, 40, 2)


def test_a_stale_obligation_write_raises_stale_data_error(engine: Engine) -> None:
    with session_scope(engine) as session:
        deadline = add_deadline(session, add_plan(session))
        obligation = ReportObligation(
            deadline=deadline, agency=add_agency(session), due_on=deadline.due_on
        )
        session.add(obligation)
        session.flush()
        obligation_id = obligation.id

    with SessionFactory(bind=engine) as first, SessionFactory(bind=engine) as second:
        first.get_one(ReportObligation, obligation_id).narrative = "Đã hoàn thành 6 tháng."
        theirs = second.get_one(ReportObligation, obligation_id)
        first.commit()

        theirs.review_comment = "Bổ sung số liệu."
        with pytest.raises(StaleDataError):
            second.commit()


def test_timestamps_come_back_timezone_aware_in_utc(engine: Engine) -> None:
    eight_am_in_hanoi = datetime(2025, 6, 5, 8, 0, tzinfo=HANOI)
    with session_scope(engine) as session:
        notification_id = add_notification(
            session, "reminder:1", next_attempt_at=eight_am_in_hanoi
        ).id

    with SessionFactory(bind=engine) as session:
        stored = session.get_one(Notification, notification_id)
        # The same instant, read back in UTC (not naive, not shifted by seven hours).
        assert stored.next_attempt_at == datetime(2025, 6, 5, 1, 0, tzinfo=UTC)
        assert stored.next_attempt_at.tzinfo is UTC
        # Defaults are aware UTC too.
        assert stored.created_at.tzinfo is UTC


def test_a_naive_timestamp_is_refused(session: Session) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        add_notification(session, "reminder:1", next_attempt_at=datetime(2025, 6, 5, 8, 0))


def test_the_outbox_dedup_key_is_unique(session: Session) -> None:
    add_notification(session, "reminder:obligation:1:d-3")

    with pytest.raises(IntegrityError):
        add_notification(session, "reminder:obligation:1:d-3")


def test_an_agency_owes_one_report_per_deadline(session: Session) -> None:
    deadline = add_deadline(session, add_plan(session))
    agency = add_agency(session)
    session.add(ReportObligation(deadline=deadline, agency=agency, due_on=deadline.due_on))
    session.flush()

    session.add(ReportObligation(deadline=deadline, agency=agency, due_on=deadline.due_on))
    with pytest.raises(IntegrityError):
        session.flush()


def test_progress_outside_0_to_100_is_refused(session: Session) -> None:
    task = add_task(session, plan=add_plan(session), agency_id=add_agency(session).id)

    task.progress = 101
    with pytest.raises(IntegrityError):
        session.flush()


def test_an_unknown_state_is_refused_by_the_database(session: Session) -> None:
    task = add_task(session, plan=add_plan(session), agency_id=add_agency(session).id)

    with pytest.raises(IntegrityError):
        session.execute(text("UPDATE tasks SET state = 'xong' WHERE id = :id"), {"id": task.id})


def test_user_email_is_stored_lower_case_and_unique(session: Session) -> None:
    session.add(User(email=" Dau.Moi@Example.VN ", full_name="Nguyễn Văn An", role=UserRole.ADMIN))
    session.flush()

    stored = session.scalars(select(User.email)).one()
    assert stored == "dau.moi@example.vn"

    session.add(User(email="DAU.MOI@example.vn", full_name="Trần Thị Bình", role=UserRole.ADMIN))
    with pytest.raises(IntegrityError):
        session.flush()


def test_an_attachment_belongs_to_exactly_one_owner(session: Session) -> None:
    session.add(
        Attachment(
            original_filename="bao-cao.pdf",
            stored_name="3f2a.pdf",
            content_type="application/pdf",
            size_bytes=1024,
            sha256="b" * 64,
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_the_same_plan_file_cannot_be_stored_twice(session: Session) -> None:
    add_plan(session, sha256="c" * 64)

    with pytest.raises(IntegrityError):
        add_plan(session, sha256="c" * 64)


def test_deleting_a_plan_deletes_its_assignments_tasks_and_deadlines(session: Session) -> None:
    plan = add_plan(session)
    add_task(session, plan=plan, agency_id=add_agency(session).id)
    add_deadline(session, plan)

    session.delete(plan)
    session.flush()
    session.expunge_all()

    for model in (Assignment, Task, ReportDeadline):
        assert session.scalar(select(func.count()).select_from(model)) == 0
    assert session.scalar(select(func.count()).select_from(Agency)) == 1


def test_a_group_lists_its_member_agencies(session: Session) -> None:
    group = add_agency(
        session, "UBND các xã, thị trấn", is_group=True, kind=AgencyKind.PEOPLE_COMMITTEE
    )
    communes = [
        add_agency(session, name, level=AgencyLevel.COMMUNE, kind=AgencyKind.PEOPLE_COMMITTEE)
        for name in ("UBND xã Thanh Hà", "UBND thị trấn Kiện Khê")
    ]
    session.add_all(AgencyGroupMember(group_id=group.id, member_id=c.id) for c in communes)
    session.flush()
    session.expire_all()

    assert [member.name for member in group.members] == [
        "UBND thị trấn Kiện Khê",
        "UBND xã Thanh Hà",
    ]
