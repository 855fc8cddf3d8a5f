"""Errors a plan file can raise on its way to an extraction: a code plus a Vietnamese message."""

from __future__ import annotations

from typing import Any

from service.i18n import t


class PlanError(Exception):
    """A plan that cannot be read or parsed. `code` is for programs, `message` for people."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        self.message = t(code, **params)
        super().__init__(self.message)
