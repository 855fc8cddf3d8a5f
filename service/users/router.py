"""HTTP routes of the users domain, under /api."""

from fastapi import APIRouter

router = APIRouter(tags=["users"])
