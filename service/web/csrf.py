"""CSRF protection for the pages' forms: a token bound to the browser and to its session.

Every browser gets a random `dondoc_csrf` cookie (HttpOnly, SameSite=Lax) on its first page. A
form carries `csrf_token` = HMAC(secret key, that cookie + the session cookie). Another site can
neither read the cookie nor compute the HMAC, so it cannot forge a form; and because the session
cookie is part of it, a token from before sign-in (or from another account) stops working after.

This lives in the web layer rather than in service/auth: the API is called with bearer tokens
or JSON (which a cross-site form cannot send), and its cookie writes are already checked for
their Origin; only HTML forms need a token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from service.auth.sessions import SESSION_COOKIE
from service.config import Settings

CSRF_COOKIE = "dondoc_csrf"
CSRF_FIELD = "csrf_token"


def browser_secret(request: Request) -> str:
    """This browser's CSRF secret: its cookie, or a new one to be set on the response."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 16 <= len(existing) <= 128:
        return existing
    fresh = getattr(request.state, "new_csrf_secret", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.new_csrf_secret = fresh
    return str(fresh)


def token_for(request: Request, settings: Settings) -> str:
    """The token the page's forms carry."""
    return _token(settings, browser_secret(request), request.cookies.get(SESSION_COOKIE, ""))


def _token(settings: Settings, secret: str, session_cookie: str) -> str:
    key = settings.secret_key.get_secret_value().encode()
    message = f"csrf|{secret}|{session_cookie}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def is_valid(request: Request, settings: Settings, token: str | None) -> bool:
    secret = request.cookies.get(CSRF_COOKIE)
    if not secret or not token:
        return False
    expected = _token(settings, secret, request.cookies.get(SESSION_COOKIE, ""))
    return hmac.compare_digest(expected, token)


def set_cookie_if_new(request: Request, response: Response, settings: Settings) -> None:
    fresh = getattr(request.state, "new_csrf_secret", None)
    if fresh is None:
        return
    response.set_cookie(
        CSRF_COOKIE,
        fresh,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )
