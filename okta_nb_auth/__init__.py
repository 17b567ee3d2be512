"""okta-nb-auth: log in to Okta from Jupyter and call Okta-protected APIs with fresh tokens.

The public names are resolved on first access (PEP 562), so ``import okta_nb_auth`` loads
neither the login flows nor the widget nor the dev server: a kernel that only calls APIs with
a stored login never pays for them, and ``okta_nb_auth.login`` loads them when it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import attach as _attach

if TYPE_CHECKING:
    from ._auth import OktaAuth
    from ._config import DEFAULT_SCOPES, OktaConfig
    from ._discovery import DiscoveryCache, ServerMetadata
    from ._exceptions import (
        ConfigError,
        KeyFetchError,
        LoginCancelled,
        LoginRequired,
        LoginTimeout,
        OktaAuthError,
        PicklingRefused,
        ProtocolError,
        RateLimited,
        StoreError,
        StoreWarning,
        TokenVerificationError,
        TransientError,
    )
    from ._models import TokenSet
    from ._protocol import make_pkce, pkce_challenge
    from ._session import AsyncAuthSession, AuthSession
    from ._verify import TokenVerifier, verify_access_token
    from .devserver import DevServer
    from .logins import LoginResult, choose_flow, device_login, pkce_login
    from .store import FileStore, KeyringStore, MemoryStore, StoreEntry, TokenStore
    from .widgets import LoginWidget, WaitTimeout, login

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_SCOPES",
    "AsyncAuthSession",
    "AuthSession",
    "ConfigError",
    "DevServer",
    "DiscoveryCache",
    "FileStore",
    "KeyFetchError",
    "KeyringStore",
    "LoginCancelled",
    "LoginRequired",
    "LoginResult",
    "LoginTimeout",
    "LoginWidget",
    "MemoryStore",
    "OktaAuth",
    "OktaAuthError",
    "OktaConfig",
    "PicklingRefused",
    "ProtocolError",
    "RateLimited",
    "ServerMetadata",
    "StoreEntry",
    "StoreError",
    "StoreWarning",
    "TokenSet",
    "TokenStore",
    "TokenVerificationError",
    "TokenVerifier",
    "TransientError",
    "WaitTimeout",
    "__version__",
    "choose_flow",
    "device_login",
    "login",
    "make_pkce",
    "pkce_challenge",
    "pkce_login",
    "verify_access_token",
]

# Where each public name lives, imported on first access. The dev server needs the
# 'devserver' extra (Starlette, uvicorn): its ImportError surfaces on first use, as before.
_MODULES = {
    "._auth": ("OktaAuth",),
    "._config": ("DEFAULT_SCOPES", "OktaConfig"),
    "._discovery": ("DiscoveryCache", "ServerMetadata"),
    "._exceptions": (
        "ConfigError",
        "KeyFetchError",
        "LoginCancelled",
        "LoginRequired",
        "LoginTimeout",
        "OktaAuthError",
        "PicklingRefused",
        "ProtocolError",
        "RateLimited",
        "StoreError",
        "StoreWarning",
        "TokenVerificationError",
        "TransientError",
    ),
    "._models": ("TokenSet",),
    "._protocol": ("make_pkce", "pkce_challenge"),
    "._session": ("AsyncAuthSession", "AuthSession"),
    "._verify": ("TokenVerifier", "verify_access_token"),
    ".devserver": ("DevServer",),
    ".logins": ("LoginResult", "choose_flow", "device_login", "pkce_login"),
    ".store": ("FileStore", "KeyringStore", "MemoryStore", "StoreEntry", "TokenStore"),
    ".widgets": ("LoginWidget", "WaitTimeout", "login"),
}

if not TYPE_CHECKING:  # type checkers see the imports above, and no catch-all attribute
    __getattr__, __dir__ = _attach(__name__, _MODULES)
