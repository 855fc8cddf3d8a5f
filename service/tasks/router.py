"""HTTP routes of tasks and periodic reports, under /api.

Status updates and report submissions carry evidence files, so they accept either JSON (no
files) or a multipart form (the same fields, plus files under any field name).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.auth.dependencies import CallerDep, SettingsDep, app_settings
from service.clock import ClockDep
from service.database import SessionDep, in_transaction
from service.errors import AppError
from service.evidence import MAX_FILES, IncomingFile
from service.pagination import Page, PageDep
from service.tasks import service as task_service
from service.tasks.schemas import (
    MAX_ID,
    ObligationDetail,
    ObligationFilters,
    ObligationRead,
    ReportAccept,
    ReportReturn,
    ReportSubmit,
    StatusUpdateCreate,
    StatusUpdateRead,
    TaskFilters,
    TaskRead,
    TaskUpdated,
)

router = APIRouter()

# Every route is `async` and makes one worker-thread call: who the caller is, the service call
# and the commit (`in_transaction`). As sync routes with `CurrentUser`, FastAPI would hop to a
# thread for the sign-in check, the route, the response check and the commit: four times.

Model = TypeVar("Model", bound=BaseModel)

_MB = 1024 * 1024


@dataclass
class Submission(Generic[Model]):
    data: Model
    files: list[IncomingFile]
    form: FormData | None = None

    async def close(self) -> None:
        """Remove the spooled uploads (the route calls it once the service is done)."""
        if self.form is not None:
            await self.form.close()


def json_or_form(model: type[Model]) -> Callable[[Request], Awaitable[Submission[Model]]]:
    """A dependency reading `model` from a JSON body or from a multipart form with files.

    Uploaded files are spooled to temporary files by the form parser; the route closes them
    (`Submission.close`) when its service call is over (a request refused before the route
    runs leaves them to the garbage collector: they are unnamed temporary files), and nothing
    reaches the evidence store before the service has checked it. Not a generator dependency:
    FastAPI's cleanup machinery for one costs every JSON request too.
    """

    async def read(request: Request) -> Submission[Model]:
        settings = app_settings(request)
        # Refuse an obviously oversized body before spooling any of it.
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > (MAX_FILES * settings.max_upload_mb + 1) * _MB:
            raise AppError(
                "evidence.request_too_large",
                status=413,
                files=MAX_FILES,
                limit_mb=settings.max_upload_mb,
            )
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            try:
                # One file more than allowed, so the service can say how many are allowed.
                form = await request.form(max_files=MAX_FILES + 1, max_fields=50)
            except StarletteHTTPException:
                raise AppError("evidence.bad_form", status=400, files=MAX_FILES) from None
            try:
                fields: dict[str, Any] = {}
                files: list[IncomingFile] = []
                for name, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        # A browser sends an empty, unnamed part for a file input left empty.
                        if value.filename or value.size:
                            files.append(IncomingFile(filename=value.filename, stream=value.file))
                    elif value != "":
                        fields[name] = value
                return Submission(data=_validated(model, fields), files=files, form=form)
            except BaseException:
                await form.close()
                raise
        if content_type in ("application/json", ""):
            body = await request.body()
            try:
                data = model.model_validate_json(body or b"{}")
            except ValidationError as error:
                raise _invalid(error) from None
            return Submission(data=data, files=[])
        raise AppError("request.unsupported_media_type", status=415)

    return read


def _validated(model: type[Model], fields: dict[str, Any]) -> Model:
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        raise _invalid(error) from None


def _invalid(error: ValidationError) -> RequestValidationError:
    return RequestValidationError(
        [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
    )


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a JSON-or-multipart body (FastAPI cannot infer it from a dependency)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    form = {
        **schema,
        "properties": {
            **schema["properties"],
            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
        },
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "multipart/form-data": {"schema": form},
            },
        }
    }


PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
StatusUpdateBody = Annotated[
    Submission[StatusUpdateCreate], Depends(json_or_form(StatusUpdateCreate))
]
ReportSubmitBody = Annotated[Submission[ReportSubmit], Depends(json_or_form(ReportSubmit))]


# --- Tasks --------------------------------------------------------------------------------------


@router.get("/tasks", tags=["tasks"])
async def list_tasks(
    session: SessionDep,
    caller: CallerDep,
    page: PageDep,
    clock: ClockDep,
    settings: SettingsDep,
    filters: Annotated[TaskFilters, Query()],
) -> Page[TaskRead]:
    """Tasks the caller may see; `mine=true` is a focal point's own list."""
    return await in_transaction(
        session,
        lambda: task_service.list_tasks(
            session,
            user=caller.user(session, now=clock()),
            filters=filters,
            page=page,
            clock=clock,
            settings=settings,
        ),
    )


@router.get("/tasks/{task_id}", tags=["tasks"])
async def get_task(
    task_id: PathId, session: SessionDep, caller: CallerDep, clock: ClockDep, settings: SettingsDep
) -> TaskRead:
    return await in_transaction(
        session,
        lambda: task_service.get_task(
            session,
            user=caller.user(session, now=clock()),
            task_id=task_id,
            clock=clock,
            settings=settings,
        ),
    )


@router.post(
    "/tasks/{task_id}/updates",
    tags=["tasks"],
    status_code=201,
    openapi_extra=_body_doc(StatusUpdateCreate),
)
async def update_task(
    task_id: PathId,
    body: StatusUpdateBody,
    session: SessionDep,
    caller: CallerDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> TaskUpdated:
    """Report a task's state and progress, with a narrative and evidence files."""
    try:
        return await in_transaction(
            session,
            lambda: task_service.update_status(
                session,
                user=caller.user(session, now=clock()),
                task_id=task_id,
                data=body.data,
                files=body.files,
                clock=clock,
                settings=settings,
            ),
        )
    finally:
        await body.close()


@router.get("/tasks/{task_id}/updates", tags=["tasks"])
async def list_task_updates(
    task_id: PathId,
    session: SessionDep,
    caller: CallerDep,
    page: PageDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Page[StatusUpdateRead]:
    """A task's history, newest first."""
    return await in_transaction(
        session,
        lambda: task_service.list_updates(
            session,
            user=caller.user(session, now=clock()),
            task_id=task_id,
            page=page,
            clock=clock,
            settings=settings,
        ),
    )


# --- Report obligations -------------------------------------------------------------------------


@router.get("/obligations", tags=["reports"])
async def list_obligations(
    session: SessionDep,
    caller: CallerDep,
    page: PageDep,
    clock: ClockDep,
    filters: Annotated[ObligationFilters, Query()],
) -> Page[ObligationRead]:
    """Periodic reports the caller may see, soonest due first."""
    return await in_transaction(
        session,
        lambda: task_service.list_obligations(
            session, user=caller.user(session, now=clock()), filters=filters, page=page, clock=clock
        ),
    )


@router.get("/obligations/{obligation_id}", tags=["reports"])
async def get_obligation(
    obligation_id: PathId,
    session: SessionDep,
    caller: CallerDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> ObligationDetail:
    return await in_transaction(
        session,
        lambda: task_service.get_obligation(
            session,
            user=caller.user(session, now=clock()),
            obligation_id=obligation_id,
            clock=clock,
            settings=settings,
        ),
    )


@router.post(
    "/obligations/{obligation_id}/submit",
    tags=["reports"],
    openapi_extra=_body_doc(ReportSubmit),
)
async def submit_report(
    obligation_id: PathId,
    body: ReportSubmitBody,
    session: SessionDep,
    caller: CallerDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> ObligationDetail:
    """Send the agency's report for a deadline, with evidence files."""
    try:
        return await in_transaction(
            session,
            lambda: task_service.submit_report(
                session,
                user=caller.user(session, now=clock()),
                obligation_id=obligation_id,
                data=body.data,
                files=body.files,
                clock=clock,
                settings=settings,
            ),
        )
    finally:
        await body.close()


@router.post("/obligations/{obligation_id}/accept", tags=["reports"])
async def accept_report(
    obligation_id: PathId,
    data: ReportAccept,
    session: SessionDep,
    caller: CallerDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> ObligationDetail:
    return await in_transaction(
        session,
        lambda: task_service.accept_report(
            session,
            user=caller.user(session, now=clock()),
            obligation_id=obligation_id,
            data=data,
            clock=clock,
            settings=settings,
        ),
    )


@router.post("/obligations/{obligation_id}/return", tags=["reports"])
async def return_report(
    obligation_id: PathId,
    data: ReportReturn,
    session: SessionDep,
    caller: CallerDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> ObligationDetail:
    """Send a report back to its agency with a comment (required)."""
    return await in_transaction(
        session,
        lambda: task_service.return_report(
            session,
            user=caller.user(session, now=clock()),
            obligation_id=obligation_id,
            data=data,
            clock=clock,
            settings=settings,
        ),
    )


# --- Evidence files -----------------------------------------------------------------------------


@router.get(
    "/attachments/{attachment_id}",
    tags=["reports"],
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_attachment(
    attachment_id: PathId,
    session: SessionDep,
    caller: CallerDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> FileResponse:
    """An evidence file, as a download under the name it was uploaded with."""
    attachment, path = await in_transaction(
        session,
        lambda: task_service.get_attachment(
            session,
            user=caller.user(session, now=clock()),
            attachment_id=attachment_id,
            settings=settings,
        ),
    )
    return FileResponse(
        path,
        media_type=attachment.content_type,
        filename=attachment.original_filename,
        headers={"X-Content-Type-Options": "nosniff"},
    )
