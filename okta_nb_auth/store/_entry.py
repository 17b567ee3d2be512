"""What a token store keeps: :class:`EntryKey` (whose tokens) and :class:`StoreEntry` (the
tokens plus what a resumed session needs), and their versioned JSON form.

An entry is keyed by issuer, client id and user (``sub``), so two apps or two users never see
each other's tokens; a key without ``sub`` means "the default user of this app" (the one who
logged in last). ``lineage`` holds SHA-256 digests (never the tokens) of the refresh tokens
this entry held before, so an older copy of a login can be recognised and never written over
a newer one.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .._exceptions import StoreError
from .._models import TokenSet
from .._presenter import describe_user
from .._secret import digest

__all__ = ["FORMAT", "VERSION", "EntryKey", "StoreEntry", "digest", "dump_entry", "load_entry"]

FORMAT = "okta-nb-auth token entry"
VERSION = 1
#: How many earlier refresh tokens an entry remembers (as digests).
LINEAGE = 16
_TOKEN_FIELDS = ("access_token", "refresh_token", "id_token", "token_type", "scope")


@dataclass(frozen=True)
class EntryKey:
    """Whose tokens: the authorization server, the app and the user (``None``: the default)."""

    issuer: str
    client_id: str
    sub: str | None = None

    @property
    def app(self) -> EntryKey:
        """The key of this app's default user."""
        return EntryKey(self.issuer, self.client_id)

    def with_sub(self, sub: str) -> EntryKey:
        return EntryKey(self.issuer, self.client_id, sub)

    def name(self, kind: str = "entry") -> str:
        """A file-name-safe id: a hash, so issuers and user ids never become paths."""
        parts = [self.issuer, self.client_id] + ([] if kind == "app" else [self.sub or ""])
        return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True, repr=False)
class StoreEntry:
    """One stored login. ``refreshed_at`` is when the refresh token was last used (or the
    login time); ``lifetime`` the access token's full lifetime; ``revision`` changes on every
    save, so a reader can tell that someone else wrote the entry since it last looked."""

    key: EntryKey
    tokens: TokenSet
    scopes: tuple[str, ...]
    id_claims: Mapping[str, Any] | None = None
    saved_at: float = 0.0
    refreshed_at: float = 0.0
    lifetime: float = 0.0
    revision: str = field(default_factory=lambda: secrets.token_hex(8))
    lineage: tuple[str, ...] = ()

    def renewed(self, tokens: TokenSet, now: float, lifetime: float, **changes: Any) -> StoreEntry:
        """The next revision of this entry, remembering the refresh token it replaces."""
        lineage = self.lineage
        old = self.tokens.refresh_token
        if old and old != tokens.refresh_token:
            lineage = (*lineage, digest(old))[-LINEAGE:]
        fields = {"saved_at": now, "refreshed_at": now, "lifetime": lifetime, **changes}
        return replace(
            self, tokens=tokens, revision=secrets.token_hex(8), lineage=lineage, **fields
        )

    def superseded(self, tokens: TokenSet) -> bool:
        """True when ``tokens`` hold a refresh token this entry has already replaced."""
        return bool(tokens.refresh_token) and digest(tokens.refresh_token or "") in self.lineage

    def covers(self, scopes: tuple[str, ...]) -> bool:
        """True when this login asked for at least ``scopes``."""
        return set(scopes) <= set(self.scopes)

    @property
    def user(self) -> str | None:
        """Who logged in, for people (from the verified ID-token claims)."""
        if not self.id_claims:
            return None
        return describe_user(self.id_claims)

    def __repr__(self) -> str:
        return (
            f"StoreEntry(issuer={self.key.issuer!r}, client_id={self.key.client_id!r}, "
            f"user={self.user!r}, tokens={self.tokens!r})"
        )


def dump_entry(entry: StoreEntry) -> bytes:
    """The entry as versioned JSON (what a file or a keyring holds)."""
    tokens = entry.tokens
    document = {
        "format": FORMAT,
        "version": VERSION,
        "issuer": entry.key.issuer,
        "client_id": entry.key.client_id,
        "sub": entry.key.sub or "",
        "scopes": list(entry.scopes),
        "saved_at": entry.saved_at,
        "refreshed_at": entry.refreshed_at,
        "lifetime": entry.lifetime,
        "revision": entry.revision,
        "lineage": list(entry.lineage),
        "id_claims": dict(entry.id_claims) if entry.id_claims is not None else None,
        "tokens": {name: getattr(tokens, name) for name in _TOKEN_FIELDS}
        | {"expires_at": tokens.expires_at},
    }
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def load_entry(raw: bytes, where: str) -> StoreEntry:
    """Parse :func:`dump_entry`'s output; :class:`StoreError` says what is wrong with it."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _corrupt(where, "it is not valid JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _corrupt(where, "it is not an okta-nb-auth token entry")
    version = document.get("version")
    if version != VERSION:
        age = "a newer" if isinstance(version, int) and version > VERSION else "an unknown"
        raise StoreError(
            f"The stored login in {where} has {age} format (version {version!r}; this "
            f"okta-nb-auth reads version {VERSION}): upgrade okta-nb-auth, or log in again "
            "to replace it."
        )
    try:
        return _entry(document)
    except (KeyError, TypeError, ValueError, OverflowError):
        raise _corrupt(where, "a field is missing or has the wrong type") from None


def _entry(doc: dict[str, Any]) -> StoreEntry:
    raw_tokens = doc["tokens"]
    if not isinstance(raw_tokens, dict):
        raise TypeError("tokens")
    tokens = TokenSet(
        access_token=_text(raw_tokens["access_token"]),
        expires_at=_number(raw_tokens["expires_at"]),
        token_type=_text(raw_tokens.get("token_type") or "Bearer"),
        refresh_token=_optional_text(raw_tokens.get("refresh_token")),
        id_token=_optional_text(raw_tokens.get("id_token")),
        scope=_optional_text(raw_tokens.get("scope")),
    )
    claims = doc.get("id_claims")
    if claims is not None and not isinstance(claims, dict):
        raise TypeError("id_claims")
    return StoreEntry(
        key=EntryKey(_text(doc["issuer"]), _text(doc["client_id"]), str(doc["sub"])),
        tokens=tokens,
        scopes=tuple(_text(s) for s in doc["scopes"]),
        id_claims=claims,
        saved_at=_number(doc["saved_at"]),
        refreshed_at=_number(doc["refreshed_at"]),
        lifetime=_number(doc["lifetime"]),
        revision=_text(doc["revision"]),
        lineage=tuple(_text(d) for d in doc.get("lineage", ()))[-LINEAGE:],
    )


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("not a non-empty string")
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def _corrupt(where: str, why: str) -> StoreError:
    return StoreError(
        f"The stored login in {where} is unreadable ({why}), so it is not used: log in again "
        "to replace it."
    )
