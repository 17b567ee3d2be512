"""BorrowedAuth: an :class:`httpx.Auth` that signs with access tokens borrowed from a lender.

The other side of "one holder of the refresh token, many borrowers of access tokens": a
borrower (a Dask worker, a kernel on a JupyterHub) never holds a refresh token. It signs with
its :class:`~._lease.Lease` while that lasts beyond the margin, and asks its
:class:`Lender` for a fresh one when it is due or when the API answered 401 (then it replays
the request once). Requests in this process queue behind one ask (single-flight here); the
lender refreshes once for all its borrowers. Like :class:`~okta_nb_auth.OktaAuth`, all of it
is one request-yielding flow, so one piece of logic serves sync and async clients.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NoReturn, Protocol

import httpx

from .._exceptions import LoginRequired
from .._flowauth import FlowAuth
from .._secret import Secret, refuse_pickle
from .._steps import LOCK, UNLOCK, Flow
from ._lease import ENDED, Lease, Parcel
from ._seal import Opener

__all__ = ["BorrowedAuth", "Lender"]


class Lender(Protocol):
    """Where a borrower gets access tokens: a broker in another process, the Hub."""

    def borrow(self, have: str | None, refused: bool, recipient: str) -> Flow[Parcel]:
        """A flow returning a :class:`Parcel` fresher than the lease named ``have`` (None:
        none yet); ``refused``: the API answered that lease with a 401; ``recipient``: the
        public key to seal the token to."""
        ...


class BorrowedAuth(FlowAuth):
    """Sign requests with access tokens borrowed from ``lender``; ask again ``leeway``
    seconds before expiry (capped at half the token's lifetime) or after a 401."""

    def __init__(
        self, lender: Lender, *, leeway: float = 60.0, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__()
        self.lender, self.leeway, self._clock = lender, leeway, clock
        self._opener = Opener()
        self._lease: Lease | None = None
        self._suspect: str | None = None  # a lease asked for after a 401, not yet accepted
        #: Parcels asked for (each is one round trip to the lender).
        self.asks = 0

    @property
    def lease(self) -> Lease | None:
        """The borrowed token in use (its repr is masked), or None."""
        return self._lease

    def _usable(self) -> Lease | None:
        lease = self._lease
        return lease if lease is not None and lease.usable(self._clock()) else None

    def _signed(self, request: httpx.Request) -> Lease | None:
        lease = self._usable()
        if lease is not None:
            request.headers["Authorization"] = lease.header
        return lease

    def _after(
        self, request: httpx.Request, response: httpx.Response, lease: Lease
    ) -> Flow[None] | None:
        if response.status_code != 401 and self._suspect is None:
            return None
        return self._answered(request, response, lease)

    def _flow(self, request: httpx.Request) -> Flow[None]:
        lease = self._usable()
        if lease is None:
            lease = yield from self._renew(self._lease, refused=False)
        request.headers["Authorization"] = lease.header
        response = yield request
        assert response is not None
        yield from self._answered(request, response, lease)

    def _answered(
        self, request: httpx.Request, response: httpx.Response, lease: Lease
    ) -> Flow[None]:
        """A 401 on ``lease``: borrow once, replay once; a 401 on a lease borrowed for a 401
        goes back to the caller (no storm of asks on a persistent 401)."""
        if response.status_code != 401:
            if lease.key == self._suspect:
                self._suspect = None
            return
        if lease.key == self._suspect or not isinstance(request.stream, httpx.ByteStream):
            return
        fresh = yield from self._renew(lease, refused=True)
        self._suspect = fresh.key
        request.headers["Authorization"] = fresh.header
        answer = yield request
        if answer is not None and answer.status_code != 401:
            self._suspect = None

    def _renew(self, have: Lease | None, *, refused: bool) -> Flow[Lease]:
        """Single-flight in this process: the first request that finds ``have`` due asks the
        lender; the others use what it got."""
        yield LOCK
        current = self._lease
        if current is not None and current is not have and current.usable(self._clock()):
            yield UNLOCK
            return current
        self.asks += 1
        key = None if have is None else have.key
        parcel = yield from self.lender.borrow(key, refused, self._opener.public)
        lease = self.take(parcel)
        yield UNLOCK
        return lease

    def renew_flow(self) -> Flow[Lease]:
        """Ask the lender now, whatever the lease's expiry (for ``session.refresh()``)."""
        return self._renew(self._lease, refused=False)

    def take(self, parcel: Parcel) -> Lease:
        """Use what a lender sent: a new lease, or its error raised (a
        :class:`LoginRequired` also drops the current lease: the login has ended)."""
        if parcel.error == ENDED:
            self._lease = None
        parcel.raise_error()
        if parcel.sealed is None:
            raise LoginRequired("The lender sent no token: log in again where it runs.")
        token = self._opener.open(parcel.sealed, parcel.context)
        margin = min(self.leeway, max(parcel.lifetime, 0.0) / 2)
        header = Secret(f"Bearer {token}")
        lease = Lease(parcel.key, header, self._clock() + parcel.expires_in, margin)
        self._lease = lease
        return lease

    def drop(self) -> None:
        """Forget the current lease (the lender said the login ended): the next request asks."""
        self._lease = None

    def client(self, **httpx_kwargs: Any) -> httpx.Client:
        """An :class:`httpx.Client` signing with borrowed tokens."""
        return httpx.Client(auth=self, **httpx_kwargs)

    def async_client(self, **httpx_kwargs: Any) -> httpx.AsyncClient:
        """An :class:`httpx.AsyncClient` signing with borrowed tokens."""
        return httpx.AsyncClient(auth=self, **httpx_kwargs)

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        refuse_pickle(f"A {type(self).__name__} (it holds a borrowed access token)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lease={self._lease!r}, asks={self.asks})"
