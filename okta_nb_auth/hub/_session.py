"""HubSession / AsyncHubSession: httpx clients signed in through JupyterHub, with no flow.

What ``AuthSession.from_hub()`` returns on a Hub: a client whose requests carry the Okta
access token the Hub holds for the signed-in user, borrowed through okta-nb-auth's token
service (:class:`~okta_nb_auth.hub._lender.HubLender`); the refresh token stays in the Hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import httpx

from .._exceptions import ConfigError
from .._secret import refuse_pickle
from ..brokers import BorrowedAuth
from ._hubapi import HubAccess
from ._lender import HubLender

__all__ = ["AsyncHubSession", "HubSession", "hub_access"]

NOT_ON_A_HUB = (
    "This kernel does not run on a JupyterHub (JUPYTERHUB_API_URL, JUPYTERHUB_API_TOKEN and "
    "JUPYTERHUB_USER are not all set): sign in with login() instead."
)


def hub_access(environ: Mapping[str, str] | None = None) -> HubAccess:
    """The Hub of this kernel, or :class:`ConfigError` saying there is none."""
    access = HubAccess.from_env(environ)
    if access is None:
        raise ConfigError(NOT_ON_A_HUB)
    return access


class _HubBase:
    borrowed: BorrowedAuth  # the client's auth
    hub: HubAccess

    def _setup(self, environ: Mapping[str, str] | None, leeway: float) -> BorrowedAuth:
        self.hub = hub_access(environ)
        self.borrowed = BorrowedAuth(HubLender(self.hub), leeway=leeway)
        return self.borrowed

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        refuse_pickle(f"A {type(self).__name__} (it holds a borrowed access token)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(user={self.hub.user!r}, lease={self.borrowed.lease!r})"


class HubSession(_HubBase, httpx.Client):
    """An :class:`httpx.Client` whose requests carry the Hub user's Okta access token."""

    def __init__(
        self, *, environ: Mapping[str, str] | None = None, leeway: float = 60.0, **httpx_kwargs: Any
    ) -> None:
        auth = self._setup(environ, leeway)
        super().__init__(auth=auth, **httpx_kwargs)
        auth.bind(self)

    def refresh(self) -> None:
        """Ask the Hub now (it lends the token it holds; it renews expired ones itself)."""
        self.borrowed.run(self.borrowed.renew_flow())


class AsyncHubSession(_HubBase, httpx.AsyncClient):
    """The :class:`httpx.AsyncClient` twin of :class:`HubSession`."""

    def __init__(
        self, *, environ: Mapping[str, str] | None = None, leeway: float = 60.0, **httpx_kwargs: Any
    ) -> None:
        auth = self._setup(environ, leeway)
        super().__init__(auth=auth, **httpx_kwargs)
        auth.bind(self)

    async def refresh(self) -> None:
        """Ask the Hub now (see :meth:`HubSession.refresh`)."""
        await self.borrowed.arun(self.borrowed.renew_flow())
