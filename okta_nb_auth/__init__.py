"""okta-nb-auth: log in to Okta from Jupyter and call Okta-protected APIs with fresh tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from .logins import LoginResult, choose_flow, device_login, pkce_login
from .store import FileStore, KeyringStore, MemoryStore, StoreEntry, TokenStore
from .widgets import LoginWidget, WaitTimeout, login

if TYPE_CHECKING:
    from .devserver import DevServer

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


def __getattr__(name: str) -> Any:
    # The dev server needs the 'devserver' extra (Starlette, uvicorn): import it on first use.
    if name == "DevServer":
        from .devserver import DevServer

        return DevServer
    raise AttributeError(f"module 'okta_nb_auth' has no attribute {name!r}")
