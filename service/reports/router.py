"""HTTP route of the consolidated report: `GET /api/plans/{plan_id}/report`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from service.auth.dependencies import CurrentUser, SettingsDep
from service.clock import ClockDep
from service.database import SessionDep
from service.reports import service as report_service
from service.reports.schemas import ReportFormat

router = APIRouter(tags=["reports"])

# Ids are 32-bit integers in the database: a larger one is a bad request, not a server error.
MAX_ID = 2**31 - 1

# The page embeds nothing from elsewhere: no scripts, its own inline styles only.
_PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

_MEDIA_TYPES = (
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/csv",
    "text/html",
)


@router.get(
    "/plans/{plan_id}/report",
    summary="Báo cáo tổng hợp kết quả thực hiện kế hoạch",
    response_class=Response,
    responses={
        200: {
            "description": "Báo cáo ở định dạng yêu cầu (DOCX, XLSX, CSV hoặc trang HTML)",
            "content": {media_type: {} for media_type in _MEDIA_TYPES},
        },
        403: {"description": "Không phải cơ quan thường trực của kế hoạch"},
        404: {"description": "Không có kế hoạch hoặc kỳ báo cáo này"},
        409: {"description": "Kế hoạch còn là bản nháp"},
    },
)
def consolidated_report(
    plan_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    settings: SettingsDep,
    deadline_id: Annotated[
        int | None,
        Query(description="Kỳ báo cáo; bỏ trống: số liệu tính đến hôm nay", ge=1, le=MAX_ID),
    ] = None,
    report_format: Annotated[
        ReportFormat, Query(alias="format", description="docx, xlsx, csv hoặc html")
    ] = ReportFormat.HTML,
) -> Response:
    rendered = report_service.export(
        session,
        user=user,
        plan_id=plan_id,
        deadline_id=deadline_id,
        report_format=report_format,
        clock=clock,
        settings=settings,
        links=True,
    )
    if report_format == ReportFormat.HTML:
        headers = {"content-security-policy": _PAGE_POLICY, "cache-control": "no-store"}
    else:
        headers = {
            "content-disposition": f'attachment; filename="{rendered.filename}"',
            "cache-control": "no-store",
        }
    return Response(rendered.content, media_type=rendered.media_type, headers=headers)
