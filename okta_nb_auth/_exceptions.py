"""The one error tree of okta-nb-auth.

::

    OktaAuthError                  root; carries Okta's ``error`` / ``error_description`` as data
    ├── ConfigError                fix a setting (issuer, client, app grant types, scopes)
    ├── LoginRequired              the user must log in again (``invalid_grant``, no refresh token)
    │   ├── LoginCancelled         a login was stopped (cancel, log out, a second login, Ctrl-C)
    │   └── LoginTimeout           the device code expired or the browser redirect never came
    │       └── WaitTimeout        widget.wait() gave up; the login goes on (a TimeoutError)
    ├── TransientError             retry later; the current tokens are kept
    │   ├── RateLimited            HTTP 429, with ``retry_at`` from ``X-Rate-Limit-Reset``
    │   └── KeyFetchError          the signing keys (JWKS) could not be fetched
    ├── ProtocolError              the server's answer is not what OAuth/OIDC promises
    ├── TokenVerificationError     a token failed signature or claim checks
    ├── StoreError                 the token store cannot be used (the session goes on in memory)
    └── PicklingRefused            an object holding a token or secret was pickled (a TypeError too)

    StoreWarning (a UserWarning)   what a store problem costs, while the session carries on

Messages never contain a token or a client secret: only Okta's ``error`` code, its
``error_description`` and our advice on how to fix the problem.
"""

from __future__ import annotations

__all__ = [
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
]


class OktaAuthError(Exception):
    """Root of every error this package raises.

    ``error`` and ``error_description`` are Okta's fields when the error came from an
    OAuth endpoint; ``status_code`` is the HTTP status, when there was a response.
    """

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        error_description: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error = error
        self.error_description = error_description
        self.status_code = status_code

    def __str__(self) -> str:
        return self.message

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing a stack trace: these errors are the user's
        # to fix (or to retry), and the message says how, so a traceback only hides it.
        return [f"{type(self).__name__}: {self.message}"]

    def __repr__(self) -> str:
        parts = [repr(self.message)]
        if self.error is not None:
            parts.append(f"error={self.error!r}")
        if self.status_code is not None:
            parts.append(f"status_code={self.status_code!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class ConfigError(OktaAuthError):
    """A setting is wrong: in ``OktaConfig``, in the Okta app, or in the authorization server."""


class LoginRequired(OktaAuthError):
    """The session cannot continue without a new login (retrying will not help)."""


class LoginCancelled(LoginRequired):
    """A login was stopped before it finished (a cancel, a log-out, a newer login, Ctrl-C)."""


class LoginTimeout(LoginRequired):
    """A login took too long: the device code expired, or no browser redirect arrived."""


class TransientError(OktaAuthError):
    """A temporary failure (5xx, 429, network, a non-JSON body): retry later."""

    def __init__(self, message: str, *, retry_at: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        #: Epoch seconds before which a retry is pointless, when the server said so.
        self.retry_at = retry_at


class RateLimited(TransientError):
    """HTTP 429: Okta's rate limit was hit; ``retry_at`` comes from ``X-Rate-Limit-Reset``."""


class KeyFetchError(TransientError):
    """The issuer's signing keys could not be fetched (the token itself may be fine)."""


class ProtocolError(OktaAuthError):
    """The server answered, but not with what the OAuth/OIDC specifications promise."""


class TokenVerificationError(OktaAuthError):
    """A token failed verification: signature, algorithm, issuer, audience, expiry, nonce."""


class StoreError(OktaAuthError):
    """A token store (file, keyring) cannot be read or written, or holds something unusable.

    Sessions never fail because of it: they turn it into a :class:`StoreWarning` and carry
    on with the tokens in memory.
    """


class PicklingRefused(OktaAuthError, TypeError):
    """Tokens and secrets never leave the process through pickle (a Dask task, a
    multiprocessing queue, a pickle file); the message names the safe way instead."""


class StoreWarning(UserWarning):
    """A token store problem that the session survives (it carries on in memory)."""
