"""The `dondoc` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service.config import get_settings
from service.i18n import t
from service.plans.errors import PlanError
from service.plans.schemas import PlanExtraction

app = typer.Typer(
    help="dondoc: theo dõi, đôn đốc thực hiện kế hoạch của UBND.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SAMPLE_PLAN = Path(__file__).parent / "plans" / "samples" / "thanh-liem-2021.txt"


def fail(message: str, code: int = 2) -> None:
    typer.echo(t("cli.error", message=message), err=True)
    raise typer.Exit(code)


@app.callback()
def main() -> None:
    """dondoc."""


@app.command()
def parse(
    file: Annotated[Path | None, typer.Argument(help="Tệp kế hoạch: .txt, .docx hoặc .pdf")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="In kết quả theo hợp đồng JSON")] = False,
    sample: Annotated[bool, typer.Option("--sample", help="Đọc kế hoạch mẫu kèm theo")] = False,
) -> None:
    """Đọc một kế hoạch và in các khối phân công, nhiệm vụ, hạn báo cáo."""
    from service.plans.parser import parse_file

    path = SAMPLE_PLAN if sample or file is None else file
    try:
        result = parse_file(path, calendar=get_settings().report_calendar())
    except PlanError as error:
        fail(error.message)
        return
    if as_json:
        json.dump(result.to_json_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        typer.echo(summary(result))


def summary(result: PlanExtraction) -> str:
    """The readable form of an extraction, for people at a terminal."""
    unknown = t("cli.unknown")
    plan = result.plan
    years = (
        f"{plan.start_year}–{plan.end_year}"
        if plan.start_year and plan.end_year and plan.start_year != plan.end_year
        else str(plan.start_year or plan.end_year or unknown)
    )
    section = result.implementation_section
    lines = [
        t("cli.summary_title", title=plan.title or unknown),
        t("cli.summary_number", number=plan.number or unknown),
        t("cli.summary_issuer", issuer=plan.issuer or unknown),
        t(
            "cli.summary_date",
            date=plan.issued_on.strftime("%d/%m/%Y") if plan.issued_on else unknown,
        ),
        t("cli.summary_years", years=years),
        t(
            "cli.summary_section",
            numeral=section.numeral or "",
            heading=section.heading,
            line=section.line,
        ),
        t("cli.summary_lead", lead=result.lead_agency or unknown),
        t("cli.summary_report_to", report_to=result.report_to or unknown),
        t("cli.summary_assignments", count=len(result.assignments)),
    ]
    for assignment in result.assignments:
        flags = [t("cli.summary_flag_lead")] if assignment.is_lead else []
        if assignment.is_request:
            flags.append(t("cli.summary_flag_request"))
        lines.append(
            t(
                "cli.summary_assignment",
                ordinal=assignment.ordinal,
                heading=assignment.heading,
                tasks=len(assignment.tasks),
                flags=f" ({', '.join(flags)})" if flags else "",
            )
        )
    lines.append(t("cli.summary_deadlines"))
    for deadline in result.deadlines or []:
        lines.append(
            t(
                "cli.summary_deadline",
                due_on=deadline.due_on.strftime("%d/%m/%Y"),
                label=deadline.label,
                source=t("cli.summary_default_source") if deadline.source == "default" else "",
            )
        )
    if not result.deadlines:
        lines.append(f"  {t('cli.summary_none')}")
    lines.append(t("cli.summary_warnings"))
    lines.extend(f"  - {warning}" for warning in result.warnings)
    if not result.warnings:
        lines.append(f"  {t('cli.summary_none')}")
    return "\n".join(lines)


# --- plans import, agencies sync ----------------------------------------------------------------

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

    from service.agencies.schemas import CommunesResult
    from service.plans.api_schemas import PlanRead

plans_app = typer.Typer(help="Kế hoạch: nhập tệp thành bản nháp để rà soát.", no_args_is_help=True)
agencies_app = typer.Typer(help="Danh mục cơ quan trong cơ sở dữ liệu.", no_args_is_help=True)
app.add_typer(plans_app, name="plans")
app.add_typer(agencies_app, name="agencies")


@plans_app.command("import")
def plans_import(
    file: Annotated[Path, typer.Argument(help="Tệp kế hoạch: .txt, .docx hoặc .pdf")],
    as_email: Annotated[
        str | None,
        typer.Option("--as", help="E-mail người nhập (quản trị viên hoặc cơ quan thường trực)"),
    ] = None,
) -> None:
    """Nhập một kế hoạch thành bản nháp; in số bản nháp, các cảnh báo và việc cần làm tiếp."""
    from sqlalchemy import select

    from service import storage
    from service.errors import AppError
    from service.models import User
    from service.plans import service as plan_service

    settings = get_settings()
    try:
        storage.check_size(file.stat().st_size, settings=settings)
        data = file.read_bytes()
    except FileNotFoundError:
        fail(t("read.not_found", path=file))
    except OSError:
        fail(t("read.unreadable", path=file))
    except AppError as error:
        fail(error.message)

    def run(session: Session) -> list[str]:
        actor = None
        if as_email:
            actor = session.scalar(
                select(User).where(User.email == as_email.strip().lower(), User.is_active)
            )
            if actor is None:
                raise AppError("plans_cli.unknown_user", email=as_email)
        plan = plan_service.import_plan(
            session, data=data, filename=file.name, settings=settings, actor=actor
        )
        return import_report(plan_service.to_read(session, plan))

    # Printed only once the transaction has committed: never a success the database lacks.
    typer.echo("\n".join(_in_transaction(run)))


def import_report(plan: PlanRead) -> list[str]:
    """What `dondoc plans import` prints about the stored draft."""
    lines = [t("plans_cli.imported", id=plan.id, title=plan.title or t("plans_cli.no_title"))]
    if plan.warnings:
        lines.append(t("plans_cli.warnings", count=len(plan.warnings)))
        lines.extend(f"  - {warning}" for warning in plan.warnings)
    review = plan.review
    if review is not None and (review.unresolved or review.empty_groups):
        lines.append(t("plans_cli.unresolved", count=len(review.unresolved)))
        lines.extend(
            t("plans_cli.unresolved_item", ordinal=m.ordinal, name=m.name)
            for m in review.unresolved
        )
        lines.extend(t("plans_cli.empty_group_item", name=name) for name in review.empty_groups)
        lines.append(t("plans_cli.next_steps", id=plan.id))
    else:
        lines.append(t("plans_cli.ready", id=plan.id))
    return lines


@agencies_app.command("sync")
def agencies_sync() -> None:
    """Nạp danh mục cơ quan (agencies.toml) vào cơ sở dữ liệu; chạy lại không thay đổi gì thêm."""
    from service.agencies import service as agency_service

    def run(session: Session) -> list[str]:
        result = agency_service.sync_registry(session)
        lines = [
            t(
                "agencies_cli.synced",
                created=result.created,
                updated=result.updated,
                aliases=result.aliases_added,
            )
        ]
        if result.conflicts:
            names = ", ".join(f"“{name}”" for name in result.conflicts)
            lines.append(t("agencies_cli.conflicts", count=len(result.conflicts), names=names))
        return lines

    typer.echo("\n".join(_in_transaction(run)))


@agencies_app.command("communes")
def agencies_communes(
    province: Annotated[
        str,
        typer.Argument(help="Tỉnh, thành phố: tên (có hoặc không dấu) hoặc mã số, ví dụ Gia Lai"),
    ],
    group: Annotated[
        str | None,
        typer.Option(
            "--group", help="Nhóm nhận các xã làm thành viên (mặc định: UBND các xã, phường)"
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Chỉ in những gì sẽ thay đổi, không ghi gì")
    ] = False,
) -> None:
    """Tạo UBND của mọi xã, phường, đặc khu của một tỉnh theo danh mục đơn vị hành chính và đưa
    vào nhóm; chạy lại không thay đổi gì thêm."""
    from pydantic import ValidationError

    from service.agencies import service as agency_service
    from service.agencies.schemas import CommunesImport

    try:
        data = CommunesImport(province=province, group=group, dry_run=dry_run)
    except ValidationError:
        fail(t("agency_units_cli.bad_input"))
        return

    def run(session: Session) -> list[str]:
        return communes_report(agency_service.import_communes(session, data=data, actor=None))

    typer.echo("\n".join(_in_transaction(run)))


def communes_report(result: CommunesResult) -> list[str]:
    """What `dondoc agencies communes` prints."""
    lines = [
        t(
            "agency_units_cli.province",
            province=result.province,
            units=result.units,
            data_version=result.data_version,
        )
    ]
    changes: list[str] = []
    if result.created:
        changes.append(t("agency_units_cli.created", count=len(result.created)))
        changes.extend(t("agency_units_cli.created_item", name=name) for name in result.created)
    if result.updated:
        changes.append(
            t(
                "agency_units_cli.updated",
                count=len(result.updated),
                names=", ".join(result.updated),
            )
        )
    if result.aliases_added:
        changes.append(t("agency_units_cli.aliases", count=result.aliases_added))
    if result.members_added:
        changes.append(
            t("agency_units_cli.members", count=result.members_added, group=result.group)
        )
    if changes:
        lines.append(t("agency_units_cli.dry_run" if result.dry_run else "agency_units_cli.done"))
        lines.extend(changes)
        if result.created:
            lines.append(
                t("agency_units_cli.parent", parent=result.parent)
                if result.parent
                else t("agency_units_cli.no_parent")
            )
    else:
        lines.append(t("agency_units_cli.unchanged", group=result.group))
    if result.inactive:
        names = ", ".join(result.inactive)
        lines.append(t("agency_units_cli.inactive", count=len(result.inactive), names=names))
    if result.other_members:
        lines.append(
            t(
                "agency_units_cli.other_members",
                group=result.group,
                count=len(result.other_members),
                names=", ".join(result.other_members),
            )
        )
    if result.conflicts:
        names = ", ".join(f"“{name}”" for name in result.conflicts)
        lines.append(t("agency_units_cli.conflicts", count=len(result.conflicts), names=names))
    return lines


def _in_transaction(run: Callable[[Session], list[str]]) -> list[str]:
    """`run` in one committed transaction; its errors as one sentence and an exit code:
    2 for what the user can fix (bad file, unknown e-mail, duplicate), 1 for the server's."""
    from sqlalchemy.exc import SQLAlchemyError

    from service.database import DatabaseSetupError, get_engine, session_scope
    from service.errors import AppError

    try:
        with session_scope(get_engine()) as session:
            return run(session)
    except AppError as error:
        fail(error.message, code=2 if error.status < 500 else 1)
    except PlanError as error:
        fail(error.message)
    except DatabaseSetupError as error:
        fail(error.message, code=1)
    except SQLAlchemyError as error:
        detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        fail(t("plans_cli.database", detail=detail), code=1)
    return []


# --- serve, db upgrade, users create, tokens create ---------------------------------------------

db_app = typer.Typer(help="Cơ sở dữ liệu.", no_args_is_help=True)
users_app = typer.Typer(help="Tài khoản người dùng.", no_args_is_help=True)
tokens_app = typer.Typer(help="Mã API cho chương trình tích hợp.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Địa chỉ lắng nghe")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Cổng")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="Nạp kế hoạch mẫu và tài khoản mẫu để dùng thử")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(min=1, max=64, help="Số tiến trình phục vụ (mỗi nhân CPU một tiến trình)"),
    ] = 1,
) -> None:
    """Chạy dịch vụ (cơ sở dữ liệu được nâng cấp trước khi chạy)."""
    import uvicorn

    from service.auth import commands

    try:
        if demo and get_settings().environment == "production":
            raise commands.CommandError(t("auth_cli.demo_in_production"))
        commands.upgrade()
        if demo:
            typer.echo(commands.load_demo(get_settings()))
    except commands.CommandError as error:
        fail(error.message, code=error.exit_code)
    typer.echo(t("auth_cli.listening", url=f"http://{host}:{port}"))
    # uvloop and httptools (dependencies) are picked up by uvicorn's defaults. Its own access
    # log is off: the app writes one JSON line per request (service/observability.py).
    uvicorn.run(
        "service.main:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Đưa cơ sở dữ liệu lên cấu trúc mới nhất (tạo mới nếu chưa có)."""
    from service.auth import commands

    try:
        commands.upgrade()
    except commands.CommandError as error:
        fail(error.message, code=error.exit_code)
    typer.echo(t("auth_cli.upgraded"))


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="E-mail đăng nhập")],
    role: Annotated[str, typer.Option(help="admin | lead_office | focal_point | leadership")],
    agency: Annotated[
        str | None, typer.Option(help="Tên hoặc mã số cơ quan (đầu mối, thường trực: bắt buộc)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Họ và tên")] = None,
    phone: Annotated[str | None, typer.Option(help="Số điện thoại")] = None,
    password: Annotated[
        bool, typer.Option("--password", help="Đặt mật khẩu (được hỏi, không hiện khi gõ)")
    ] = False,
) -> None:
    """Tạo tài khoản. Không có --password: người dùng đăng nhập bằng liên kết gửi qua e-mail."""
    from service.auth import commands

    secret = None
    if password:
        secret = typer.prompt(
            t("auth_cli.password_prompt"),
            hide_input=True,
            confirmation_prompt=t("auth_cli.password_again"),
        )
    try:
        typer.echo(
            commands.create_user(
                email=email,
                role=role,
                agency=agency,
                full_name=name,
                phone=phone,
                password=secret,
            )
        )
    except commands.CommandError as error:
        fail(error.message, code=error.exit_code)


@tokens_app.command("create")
def tokens_create(
    email: Annotated[str, typer.Argument(help="E-mail của tài khoản dùng mã")],
    name: Annotated[str, typer.Option(help="Tên gợi nhớ của mã, ví dụ tên chương trình")],
) -> None:
    """Tạo mã API và in ra một lần duy nhất (không xem lại được)."""
    from service.auth import commands

    try:
        token = commands.create_token(email=email, name=name)
    except commands.CommandError as error:
        fail(error.message, code=error.exit_code)
        return
    typer.echo(t("auth_cli.token_shown_once"), err=True)
    typer.echo(token)


@app.command()
def scheduler(
    once: Annotated[
        bool, typer.Option("--once", help="Quét một lượt, gửi thư rồi thoát (dùng với cron)")
    ] = False,
) -> None:
    """Nhắc hạn, chuyển cấp và gửi thư: chạy liên tục, hoặc một lượt với --once."""
    from sqlalchemy.exc import SQLAlchemyError

    from notifications import scheduler as notification_scheduler
    from service.database import DatabaseSetupError

    settings = get_settings()
    try:
        if once:
            typer.echo(notification_scheduler.summary(notification_scheduler.run_once(settings)))
        else:
            notification_scheduler.run_forever(settings)
    except DatabaseSetupError as error:
        fail(error.message, code=1)
    except SQLAlchemyError as error:
        detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        fail(t("notify.cli_database", detail=detail), code=1)


# --- report -------------------------------------------------------------------------------------

REPORT_FORMATS = ("docx", "xlsx", "csv", "html")


@app.command()
def report(
    plan_id: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="Mã số kế hoạch")],
    deadline: Annotated[
        str,
        typer.Option(help="Mã số kỳ báo cáo, hoặc today: số liệu tính đến hôm nay"),
    ] = "today",
    report_format: Annotated[
        str, typer.Option("--format", help="docx, xlsx, csv hoặc html")
    ] = "docx",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Tệp ghi ra (mặc định: tên tự đặt, thư mục hiện tại)"),
    ] = None,
) -> None:
    """Lập báo cáo tổng hợp của kế hoạch (DOCX, XLSX, CSV hoặc HTML) và ghi ra tệp."""
    from service.clock import system_clock
    from service.reports import service as report_service
    from service.reports.schemas import ReportFormat

    chosen = report_format.strip().lower()
    if chosen not in REPORT_FORMATS:
        fail(
            t("consolidated_cli.bad_format", value=report_format, formats=", ".join(REPORT_FORMATS))
        )
        return
    deadline_id: int | None = None
    if deadline.strip().lower() != "today":
        if not deadline.strip().isdigit() or not 1 <= int(deadline) < 2**31:
            fail(t("consolidated_cli.bad_deadline", value=deadline))
            return
        deadline_id = int(deadline)
    settings = get_settings()
    files: list[report_service.RenderedReport] = []

    def run(session: Session) -> list[str]:
        files.append(
            report_service.export(
                session,
                user=None,
                plan_id=plan_id,
                deadline_id=deadline_id,
                report_format=ReportFormat(chosen),
                clock=system_clock,
                settings=settings,
            )
        )
        return []

    _in_transaction(run)
    rendered = files[0]
    target = output or Path(rendered.filename)
    try:
        target.write_bytes(rendered.content)
    except OSError as error:
        fail(t("consolidated_cli.cannot_write", path=target, detail=error.strerror or error))
        return
    typer.echo(t("consolidated_cli.written", format=chosen.upper(), path=target))


# --- export, import -----------------------------------------------------------------------------


@app.command("export")
def export_deployment(
    file: Annotated[Path, typer.Argument(help="Tệp ghi ra (JSON lines; đuôi .gz: nén gzip)")],
) -> None:
    """Xuất toàn bộ dữ liệu (mọi bảng, mọi tệp đính kèm) ra một tệp, để sao lưu hoặc chuyển máy."""
    from service import portability
    from service.clock import system_clock

    settings = get_settings()
    summary = _portable(
        lambda engine: portability.export_deployment(
            engine, file, settings=settings, now=system_clock()
        )
    )
    for path in summary.missing_files:
        typer.echo(t("portability.missing_file", path=path), err=True)
    typer.echo(
        t(
            "portability.exported",
            rows=summary.total_rows,
            tables=len(summary.rows),
            files=summary.files,
            path=file,
            revision=summary.revision,
        )
    )


@app.command("import")
def import_deployment(
    file: Annotated[Path, typer.Argument(help="Tệp do “dondoc export” tạo ra")],
) -> None:
    """Nhập bản xuất vào một cơ sở dữ liệu trống cùng phiên bản cấu trúc (tất cả hoặc không gì)."""
    from service import portability

    settings = get_settings()
    summary = _portable(
        lambda engine: portability.import_deployment(engine, file, settings=settings)
    )
    typer.echo(
        t(
            "portability.imported",
            rows=summary.total_rows,
            tables=len(summary.rows),
            files=summary.files,
            path=file,
            revision=summary.revision,
        )
    )


if TYPE_CHECKING:
    from sqlalchemy import Engine

    from service.portability import Summary


def _portable(run: Callable[[Engine], Summary]) -> Summary:
    """`run` on the configured database; its errors as one sentence and an exit code."""
    from sqlalchemy.exc import SQLAlchemyError

    from service.database import DatabaseSetupError, get_engine
    from service.portability import PortabilityError

    try:
        return run(get_engine())
    except PortabilityError as error:
        fail(error.message, code=2 if error.user_error else 1)
    except DatabaseSetupError as error:
        fail(error.message, code=1)
    except SQLAlchemyError as error:
        detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        fail(t("portability.database", detail=detail), code=1)
    raise AssertionError("unreachable: fail() exits")
