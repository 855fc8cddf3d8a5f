"""HTTP routes of the plans domain, under /api."""

from fastapi import APIRouter

router = APIRouter(tags=["plans"])
