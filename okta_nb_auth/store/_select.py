"""Which store a ``store=`` argument means: a store object, ``None`` (nothing kept), or a name.

Names: ``"default"`` (``$OKTA_NB_AUTH_STORE``; else ``"keyring"`` when keyring is installed
and recommends its backend, such as macOS Keychain; else ``"file"``), ``"file"``,
``"keyring"``, ``"memory"`` (this process only) and ``"none"``.
"""

from __future__ import annotations

import os
import warnings

from .._exceptions import ConfigError, StoreError, StoreWarning
from ._base import MemoryStore, TokenStore

__all__ = ["STORE_ENV", "StoreChoice", "resolve_store"]

STORE_ENV = "OKTA_NB_AUTH_STORE"
StoreChoice = TokenStore | str | None
_NAMES = ("default", "file", "keyring", "memory", "none")
_PROCESS_MEMORY = MemoryStore()


def _default_name() -> str:
    from ._keyring import recommended_backend

    return "keyring" if recommended_backend() else "file"


def resolve_store(store: StoreChoice) -> TokenStore | None:
    """The store object for ``store`` (None: keep nothing); :class:`ConfigError` for an
    unknown name. A keyring without a working backend gives a warning and None."""
    if store is None or isinstance(store, TokenStore):
        return store
    name = store
    if name == "default":
        name = os.environ.get(STORE_ENV, "").strip().lower() or _default_name()
    if name not in _NAMES or name == "default":
        raise ConfigError(
            f"Unknown token store {store!r} (from {STORE_ENV} or store=): use one of "
            "'file', 'keyring', 'memory', 'none', or a store object."
        )
    if name == "file":
        from ._file import FileStore

        return FileStore()
    if name == "memory":
        return _PROCESS_MEMORY
    if name == "keyring":
        from ._keyring import KeyringStore

        try:
            return KeyringStore()
        except StoreError as exc:
            warnings.warn(f"{exc} Tokens are kept in memory only.", StoreWarning, stacklevel=3)
    return None
