"""Pagination for list endpoints: `?limit=&offset=` in, `{items, total, limit, offset}` out."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")

MAX_LIMIT = 200


class PageParams(BaseModel):
    limit: int = 50
    offset: int = 0


# `async`: FastAPI runs a sync dependency in a worker thread, a hop for no I/O.
async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Số dòng mỗi trang")] = 50,
    offset: Annotated[int, Query(ge=0, description="Bỏ qua bao nhiêu dòng")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
