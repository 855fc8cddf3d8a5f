"""Password hashing with argon2id: hash on set, verify on sign-in, rehash when parameters change."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id profile (19 MiB, 2 passes, 1 lane): ~0.1 s per check on a small server.
# The library's default (64 MiB, 3 passes, 4 lanes) costs 4x the memory per concurrent sign-in,
# which a flood of attempts with many different e-mails would turn into memory pressure.
# Changing these rehashes each password at its owner's next sign-in (`needs_rehash`).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verified against when the e-mail is unknown or has no password, so a wrong e-mail takes as long
# to refuse as a wrong password and the timing does not tell which accounts exist.
_DUMMY_HASH = _hasher.hash("dondoc: no such account")

MIN_LENGTH = 8
MAX_LENGTH = 256


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; always spends one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
