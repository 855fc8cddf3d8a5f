"""Reading HTML forms: the CSRF check, uploaded files, dd/mm/yyyy dates, and errors by field.

A form is read once by `FormDep` (which refuses a missing or wrong CSRF token before anything
else happens), validated with the API's own Pydantic schemas, and handed to the same service
function the API calls. What goes wrong comes back as `FormErrors`: one Vietnamese sentence
per field, shown next to that field, and a sentence for the form as a whole.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.auth.dependencies import app_settings
from service.errors import AppError
from service.evidence import MAX_FILES, IncomingFile
from service.i18n import t
from service.web import csrf

Model = TypeVar("Model", bound=BaseModel)
Result = TypeVar("Result")

FORM = "_form"
_MB = 1024 * 1024
_DMY = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


class WebError(Exception):
    """A request a page cannot serve: shown as an error page with this status."""

    def __init__(self, status: int, key: str, **params: Any) -> None:
        self.status = status
        self.message = t(key, **params)
        super().__init__(self.message)


class SignInRequired(Exception):
    """No signed-in user: the page redirects to the sign-in form."""


@dataclass
class FormInput:
    values: dict[str, list[str]] = field(default_factory=dict)
    files: list[IncomingFile] = field(default_factory=list)
    uploads: list[UploadFile] = field(default_factory=list)

    def get(self, name: str, default: str = "") -> str:
        found = self.values.get(name)
        return found[-1].strip() if found else default

    def all(self, name: str) -> list[str]:
        return [value.strip() for value in self.values.get(name, []) if value.strip()]

    def checked(self, name: str) -> bool:
        return self.get(name) in ("1", "on", "true")


async def read_form(request: Request) -> AsyncIterator[FormInput]:
    """The posted form, after its CSRF token was checked; files stay spooled until the end."""
    settings = app_settings(request)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > (MAX_FILES * settings.max_upload_mb + 1) * _MB:
        raise WebError(413, "web.error.too_large", limit_mb=settings.max_upload_mb)
    try:
        form = await request.form(max_files=MAX_FILES + 1, max_fields=5000)
    except StarletteHTTPException:
        raise WebError(400, "web.error.bad_form", files=MAX_FILES) from None
    try:
        data = FormInput()
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                # A file input left empty still sends a part with no name and no bytes.
                if value.filename:
                    data.files.append(IncomingFile(filename=value.filename, stream=value.file))
                    data.uploads.append(value)
            else:
                data.values.setdefault(name, []).append(value)
        if not csrf.is_valid(request, settings, data.get(csrf.CSRF_FIELD) or None):
            raise WebError(403, "web.error.csrf")
        yield data
    finally:
        await form.close()


FormDep = Annotated[FormInput, Depends(read_form)]


# --- Errors by field -----------------------------------------------------------------------------


class FormErrors(dict[str, str]):
    """{field: sentence}; the key `_form` is for the form as a whole. `status`, `code` and
    `details` are the refusal's, when a service refused (422 for a form that did not validate)."""

    status: int = 422
    code: str | None = None
    details: dict[str, Any] | None = None

    @property
    def general(self) -> str | None:
        return self.get(FORM)


_TYPE_KEYS = {
    "missing": "web.field.required",
    "string_too_short": "web.field.required",
    "string_too_long": "web.field.too_long",
    "int_parsing": "web.field.not_number",
    "int_from_float": "web.field.not_number",
    "greater_than_equal": "web.field.too_small",
    "less_than_equal": "web.field.too_big",
    "enum": "web.field.bad_choice",
    "literal_error": "web.field.bad_choice",
    "date_parsing": "web.field.bad_date",
    "date_from_datetime_parsing": "web.field.bad_date",
    "bool_parsing": "web.field.bad_choice",
    "string_pattern_mismatch": "web.field.bad_format",
    "too_long": "web.field.too_many",
}


def validation_errors(error: ValidationError) -> FormErrors:
    errors = FormErrors()
    for item in error.errors(include_url=False):
        name = str(item["loc"][0]) if item["loc"] else FORM
        key = _TYPE_KEYS.get(item["type"], "web.field.invalid")
        context = item.get("ctx") or {}
        params = {"limit": context.get("ge", context.get("le", context.get("max_length", "")))}
        errors.setdefault(name, t(key, **params))
    if errors and FORM not in errors:
        errors[FORM] = t("web.field.check_below")
    return errors


def app_error(error: AppError) -> FormErrors:
    errors = FormErrors({FORM: error.message})
    errors.status, errors.code, errors.details = error.status, error.code, error.details
    name = error.details.get("field") if isinstance(error.details, dict) else None
    if isinstance(name, str):
        errors[name] = error.message
    return errors


def validate(model: type[Model], data: dict[str, Any]) -> Model:
    """`data` as `model`, or `InvalidForm` with the errors by field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidForm(validation_errors(error)) from None


class InvalidForm(Exception):
    def __init__(self, errors: FormErrors) -> None:
        self.errors = errors
        super().__init__(errors.general)


def attempt(session: Session, action: Callable[[], Result]) -> tuple[Result | None, FormErrors]:
    """Run a service call; on a refusal, undo whatever it started and return the errors.

    The request's transaction would otherwise commit on the way out, since the page answers
    normally (showing the errors) instead of raising.
    """
    try:
        return action(), FormErrors()
    except InvalidForm as invalid:
        session.rollback()
        return None, invalid.errors
    except AppError as error:
        session.rollback()
        if error.status in (401, 403, 404):
            # Not a mistake in the form: the page itself is out of reach.
            raise
        return None, app_error(error)


def parse_day(text: str, *, name: str) -> date | None:
    """A day typed as dd/mm/yyyy (or yyyy-mm-dd); empty is None; anything else is an error."""
    if not text.strip():
        return None
    match = _DMY.match(text)
    try:
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        match = _ISO.match(text)
        if match:
            return date(*(int(part) for part in match.groups()))
    except ValueError:
        pass
    raise InvalidForm(FormErrors({name: t("web.field.bad_date"), FORM: t("web.field.check_below")}))


def optional(form: FormInput, *names: str) -> dict[str, str]:
    """The named fields that were filled in (an empty field means "not given")."""
    return {name: form.get(name) for name in names if form.get(name)}


# --- Where to go next ----------------------------------------------------------------------------


def safe_next(target: str | None, default: str) -> str:
    """A path on this site only: never `//evil.example` or `https://...`."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def see_other(
    path: str, *, notice: str | None = None, anchor: str | None = None
) -> RedirectResponse:
    """Redirect after a successful POST, with a notice key shown on the next page."""
    if notice:
        path = f"{path}{'&' if '?' in path else '?'}{urlencode({'ok': notice})}"
    if anchor:
        path = f"{path}#{anchor}"
    return RedirectResponse(path, status_code=303)
