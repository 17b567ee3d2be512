"""okta-nb-auth: log in to Okta from Jupyter and call Okta-protected APIs with fresh tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._exceptions import (
    ConfigError,
    KeyFetchError,
    LoginRequired,
    OktaAuthError,
    ProtocolError,
    RateLimited,
    TokenVerificationError,
    TransientError,
)
from ._models import TokenSet

if TYPE_CHECKING:
    from .devserver import DevServer

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DevServer",
    "KeyFetchError",
    "LoginRequired",
    "OktaAuthError",
    "ProtocolError",
    "RateLimited",
    "TokenSet",
    "TokenVerificationError",
    "TransientError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # The dev server needs the 'devserver' extra (Starlette, uvicorn): import it on first use.
    if name == "DevServer":
        from .devserver import DevServer

        return DevServer
    raise AttributeError(f"module 'okta_nb_auth' has no attribute {name!r}")
