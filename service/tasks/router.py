"""HTTP routes of the tasks domain, under /api."""

from fastapi import APIRouter

router = APIRouter(tags=["tasks"])
