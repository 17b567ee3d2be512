"""The in-process registry of refresh-token holders: one :class:`~okta_nb_auth.OktaAuth` per
login, so sessions built from the same login or the same store entry (sync and async, in
several notebooks' cells) share one token state and never refresh one refresh token twice.

Holders are found by store entry and by the refresh tokens they hold or held (digests only).
The registry holds them weakly: a holder lives as long as a session uses it.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from .._models import TokenSet
from ._base import TokenStore
from ._entry import EntryKey, digest

if TYPE_CHECKING:
    from ._holding import StoreHolder as OktaAuth

__all__ = ["by_entry", "by_tokens", "note"]

_guard = threading.Lock()
_entries: weakref.WeakValueDictionary[tuple[object, ...], OktaAuth] = weakref.WeakValueDictionary()
_refresh: weakref.WeakValueDictionary[tuple[str, str, str], OktaAuth] = (
    weakref.WeakValueDictionary()
)


def _entry_id(store: TokenStore, key: EntryKey) -> tuple[object, ...]:
    return (*store.identity, key.issuer, key.client_id, key.sub)


def note(auth: OktaAuth, tokens: TokenSet | None, key: EntryKey | None) -> None:
    """``auth`` holds ``tokens`` (and, with a store, the entry ``key``, default user too)."""
    config = auth.config
    with _guard:
        if tokens is not None and tokens.refresh_token:
            _refresh[(config.issuer, config.client_id, digest(tokens.refresh_token))] = auth
        store = auth.store
        if store is not None and key is not None and key.sub is not None:
            _entries[_entry_id(store, key)] = auth
            _entries[_entry_id(store, key.app)] = auth


def by_tokens(issuer: str, client_id: str, tokens: TokenSet) -> OktaAuth | None:
    """The holder that holds, or held, ``tokens``' refresh token."""
    if not tokens.refresh_token:
        return None
    with _guard:
        return _refresh.get((issuer, client_id, digest(tokens.refresh_token)))


def by_entry(store: TokenStore, key: EntryKey) -> OktaAuth | None:
    """The holder of ``key``'s entry in ``store`` (``key.sub`` None: the last one to log in)."""
    with _guard:
        return _entries.get(_entry_id(store, key))
