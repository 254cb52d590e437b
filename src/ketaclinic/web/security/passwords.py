"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106's recommended variant)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ketaclinic.errors import InvalidInput

_hasher = PasswordHasher()
# Verified against when the account does not exist, so a wrong e-mail address takes as long to
# refuse as a wrong password and sign-in timing does not reveal who has an account.
_DUMMY_HASH = _hasher.hash("not a real password; only spends the same time")


def use_hashing_cost(*, time_cost: int, memory_cost_kib: int) -> None:
    """Change the Argon2 cost for new hashes. Only tests lower it, to keep the suite fast;
    production keeps argon2-cffi's defaults (RFC 9106 low-memory profile)."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; False (never an exception) otherwise."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash uses weaker parameters than today's, so sign-in can upgrade it."""
    return _hasher.check_needs_rehash(password_hash)


def check_password_rules(password: str, *, email: str, minimum_length: int) -> None:
    """Length over composition rules, as NIST SP 800-63B advises; refuse the obvious guesses."""
    if len(password) < minimum_length:
        raise InvalidInput(
            f"Choose a password of at least {minimum_length} characters; a short phrase is easy "
            "to remember.",
            field="password",
        )
    if len(password) > 256:
        raise InvalidInput("Choose a password of at most 256 characters.", field="password")
    if password.strip().lower() in {email.strip().lower(), email.split("@")[0].strip().lower()}:
        raise InvalidInput("The password must not be your e-mail address.", field="password")
