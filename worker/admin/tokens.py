"""Admin bearer tokens from the settings: who holds each one, and what they may do.

    RESOLVER_ADMIN_TOKEN   one operator token, named "admin"
    RESOLVER_ADMIN_TOKENS  name:role:token,name:role:token,...   (role: viewer or operator)

A mistake stops start-up with a message naming the entry by its position, never by its text:
the text holds the token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

# Long enough not to be guessed; the log mask and the list syntax rule out ':' and ','.
MIN_TOKEN_CHARS = 16
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_TOKEN = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no space


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"

    @property
    def may_write(self) -> bool:
        return self is Role.OPERATOR


@dataclass(frozen=True)
class Principal:
    """Whoever presented a valid token: the name goes into audit records."""

    name: str
    role: Role
    # Derived from the token, so a web session ends when its token is replaced; reveals nothing.
    fingerprint: str = field(default="", repr=False)


class TokenConfigError(ValueError):
    """The token settings are wrong. The message never contains a token."""


@dataclass(frozen=True)
class _Entry:
    principal: Principal
    digest: bytes  # SHA-256 of the token: equal lengths, so the comparison leaks no length
    source: str  # where it was configured, for error messages


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def _entry(name: str, role: Role, token: str, source: str) -> _Entry:
    digest = _digest(token)
    fingerprint = hashlib.sha256(b"session:" + digest).hexdigest()[:16]
    return _Entry(Principal(name, role, fingerprint), digest, source)


class TokenBook:
    """The configured tokens. `identify` compares against every one in constant time."""

    def __init__(self, entries: Iterable[_Entry]) -> None:
        self._entries = tuple(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def identify(self, presented: str | None) -> Principal | None:
        if not presented:
            return None
        candidate = _digest(presented)
        found: Principal | None = None
        # No early return: the time taken does not tell which entry, if any, matched.
        for entry in self._entries:
            if hmac.compare_digest(candidate, entry.digest):
                found = entry.principal
        return found

    def session_holder(self, name: object, fingerprint: object) -> Principal | None:
        """Who a signed-in web session belongs to, while their token is still configured."""
        if not isinstance(name, str) or not isinstance(fingerprint, str):
            return None
        for entry in self._entries:
            if entry.principal.name == name and hmac.compare_digest(
                    entry.principal.fingerprint.encode(), fingerprint.encode()):
                return entry.principal
        return None


def parse_tokens(admin_token: str | None, admin_tokens: str | None) -> TokenBook:
    entries: list[_Entry] = []
    if admin_token:
        source = "RESOLVER_ADMIN_TOKEN"
        _check_secret(admin_token.strip(), source)
        entries.append(_entry("admin", Role.OPERATOR, admin_token.strip(), source))
    for index, raw in enumerate((admin_tokens or "").split(","), start=1):
        if not raw.strip():
            continue
        entries.append(_parse_entry(raw.strip(), f"RESOLVER_ADMIN_TOKENS entry {index}"))
    _check_unique(entries)
    return TokenBook(entries)


def _parse_entry(raw: str, where: str) -> _Entry:
    parts = raw.split(":")
    if len(parts) != 3:
        raise TokenConfigError(f"{where}: expected name:role:token (three parts separated by ':')")
    name, role, secret = (part.strip() for part in parts)
    if not _NAME.match(name):
        raise TokenConfigError(f"{where}: the name must be 1 to 64 letters, digits, '_', '.', "
                               f"'@' or '-'")
    try:
        parsed_role = Role(role.lower())
    except ValueError:
        raise TokenConfigError(f"{where}: the role must be viewer or operator") from None
    _check_secret(secret, where)
    return _entry(name, parsed_role, secret, where)


def _check_secret(secret: str, where: str) -> None:
    if not _TOKEN.match(secret):
        raise TokenConfigError(f"{where}: the token must be printable ASCII without spaces")
    if ":" in secret or "," in secret:
        raise TokenConfigError(f"{where}: the token must not contain ',' or ':'")
    if len(secret) < MIN_TOKEN_CHARS:
        raise TokenConfigError(f"{where}: the token is too short; use at least "
                               f"{MIN_TOKEN_CHARS} characters")


def _check_unique(entries: list[_Entry]) -> None:
    names: set[str] = set()
    digests: set[bytes] = set()
    for entry in entries:
        if entry.principal.name in names:
            raise TokenConfigError(f"{entry.source}: the name {entry.principal.name!r} is "
                                   f"already taken (\"admin\" is RESOLVER_ADMIN_TOKEN's)")
        if entry.digest in digests:
            raise TokenConfigError(f"{entry.source}: the token repeats another entry's token")
        names.add(entry.principal.name)
        digests.add(entry.digest)
