"""HTTP routes of the agencies domain, under /api."""

from fastapi import APIRouter

router = APIRouter(tags=["agencies"])
