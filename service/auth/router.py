"""HTTP routes of the auth domain, under /api."""

from fastapi import APIRouter

router = APIRouter(tags=["auth"])
