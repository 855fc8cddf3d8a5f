"""The browser session: a signed cookie naming the user and when they signed in.

Nothing is stored on the server. The cookie carries the user id, the sign-in time and a short
fingerprint of the user's password hash, signed with `settings.secret_key`: a forged or altered
cookie fails the signature, an old one fails the age check, and changing (or removing) a
password ends every session opened before the change.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from service.config import Settings

SESSION_COOKIE = "dondoc_session"
_SALT = "dondoc.session.v1"


@dataclass(frozen=True)
class SessionClaims:
    user_id: int
    issued_at: datetime
    password_fingerprint: str


def password_fingerprint(settings: Settings, password_hash: str | None) -> str:
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, (password_hash or "").encode(), hashlib.sha256).hexdigest()[:16]


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key.get_secret_value(), salt=_SALT)


def encode(settings: Settings, claims: SessionClaims) -> str:
    return str(
        _serializer(settings).dumps(
            {
                "u": claims.user_id,
                "iat": int(claims.issued_at.timestamp()),
                "pw": claims.password_fingerprint,
            }
        )
    )


def decode(settings: Settings, cookie: str, *, now: datetime) -> SessionClaims | None:
    """The claims of a valid, unexpired cookie; None for anything else."""
    try:
        data = _serializer(settings).loads(cookie)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    user_id, issued, fingerprint = data.get("u"), data.get("iat"), data.get("pw")
    if (
        not isinstance(user_id, int)
        or not isinstance(issued, int)
        or not isinstance(fingerprint, str)
    ):
        return None
    issued_at = datetime.fromtimestamp(issued, UTC)
    # A little tolerance for a clock that stepped back; no more, or a cookie would outlive its age.
    if issued_at > now + timedelta(minutes=5):
        return None
    if now - issued_at > timedelta(hours=settings.session_hours):
        return None
    return SessionClaims(user_id, issued_at, fingerprint)
