"""Keys for MQTT logins and their hashes, in the format Mosquitto reads.

A key is printed once when it is made and only its hash is stored. The hash is Mosquitto 2's
own password-file format, `$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512>`, so the
same stored value serves `verify_password` and the broker's password file unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ITERATIONS = 10_000
SALT_BYTES = 12
HASH_BYTES = 64
KEY_BYTES = 24  # 192 bits, printed as 32 url-safe characters
_PREFIX = "$7$"


class PasswordHashError(ValueError):
    """A stored hash is not in Mosquitto's `$7$` format."""


def new_key() -> str:
    """A fresh random key for a shop, an agent, a bridge or a controller."""
    return secrets.token_urlsafe(KEY_BYTES)


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """The `$7$` hash of `password` with a fresh random salt."""
    if not password:
        raise ValueError("an empty password cannot be hashed; choose one")
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, HASH_BYTES)
    return (
        f"{_PREFIX}{iterations}${base64.b64encode(salt).decode('ascii')}$"
        f"{base64.b64encode(digest).decode('ascii')}"
    )


def _parts(stored: str) -> tuple[int, bytes, bytes]:
    if not stored.startswith(_PREFIX):
        raise PasswordHashError("the stored hash is not a Mosquitto $7$ (PBKDF2-SHA512) hash")
    fields = stored[len(_PREFIX) :].split("$")
    if len(fields) != 3 or not fields[0].isdigit():
        raise PasswordHashError("the stored hash must be $7$<iterations>$<salt>$<hash>")
    try:
        salt = base64.b64decode(fields[1], validate=True)
        digest = base64.b64decode(fields[2], validate=True)
    except ValueError:
        raise PasswordHashError("the stored hash's salt or hash is not base64") from None
    return int(fields[0]), salt, digest


def verify_password(password: str, stored: str) -> bool:
    """True when `password` is the one `stored` was made from (constant-time compare)."""
    iterations, salt, digest = _parts(stored)
    candidate = hashlib.pbkdf2_hmac(
        "sha512", password.encode("utf-8"), salt, iterations, len(digest)
    )
    return hmac.compare_digest(candidate, digest)


def check_hash(stored: str) -> str:
    """`stored` if it is a well-formed `$7$` hash; PasswordHashError otherwise."""
    _parts(stored)
    return stored
