"""Secrets handed to people (sign-in links, API tokens): random, shown once, stored as a hash."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A URL-safe secret with 256 bits of randomness."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the database keeps: a token is high-entropy, so a plain SHA-256 is enough."""
    return hashlib.sha256(token.encode()).hexdigest()
