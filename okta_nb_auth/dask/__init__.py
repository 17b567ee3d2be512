"""Dask: workers call Okta-protected APIs with access tokens borrowed from the notebook.

``dask_auth = session.for_dask(client)`` (or ``okta_nb_auth.dask.share(session, client)``),
then ``client.map(fetch, items, auth=dask_auth)``: each task signs with
``httpx.Client(auth=auth)``. The notebook's session stays the only holder of the refresh
token; workers hold an access token and its expiry, ask the notebook's broker for a fresh one
when it is due or after a 401, and the notebook refreshes once for all of them. Needs the
``dask`` extra: ``pip install 'okta-nb-auth[dask]'``.
"""

from __future__ import annotations

from typing import Any

from distributed import Client, default_client

from .._auth import OktaAuth
from ._broker import DaskBroker
from ._worker import DaskAuth

__all__ = ["DaskAuth", "DaskBroker", "share"]


def share(
    session: Any, client: Client | None = None, *, leeway: float = 60.0, timeout: float = 30.0
) -> DaskAuth:
    """Lend ``session``'s access tokens (an :class:`~okta_nb_auth.AuthSession`, its async
    twin or an :class:`~okta_nb_auth.OktaAuth`) to the workers of ``client`` (default: the
    current Dask client). ``leeway``: workers ask this many seconds before expiry (capped at
    half the lifetime); ``timeout``: how long a worker waits for the notebook's answer.
    Returns the :class:`DaskAuth` to pass to tasks; its ``broker`` attribute (notebook only)
    counts the asks answered."""
    holder = session if isinstance(session, OktaAuth) else getattr(session, "okta_auth", None)
    if not isinstance(holder, OktaAuth):
        raise TypeError("share() takes an AuthSession, an AsyncAuthSession or an OktaAuth")
    client = client or default_client()  # type: ignore[no-untyped-call]
    broker = DaskBroker(holder, client, leeway=leeway, timeout=timeout)
    return broker.auth
