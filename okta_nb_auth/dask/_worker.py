"""The worker side: one :class:`DaskAuth` per broker per process, asking over Dask's events.

A task's ``auth`` argument unpickles to :func:`borrower`, which returns this process's one
:class:`DaskAuth` for that broker, so every task on a worker shares one lease and one
single-flight lock. Asking is :meth:`distributed.Worker.log_event` on the broker's topic
(nothing secret in it: the lease's key, whether the API refused it, a public key); the answer
comes back as :func:`deliver`, which the notebook runs on that worker with
:meth:`distributed.Client.run`; the token in it is sealed to this process's key.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from functools import partial
from typing import Any, NoReturn

from distributed import get_worker

from .._exceptions import ConfigError, TransientError
from .._steps import Call, Flow
from ..brokers import BorrowedAuth, Lender, Parcel

__all__ = ["DaskAuth", "DaskLender", "borrower", "deliver", "register", "topic"]

log = logging.getLogger("okta_nb_auth")
_auths: dict[str, DaskAuth] = {}
_guard = threading.Lock()


def topic(broker_id: str) -> str:
    """The Dask event topic on which borrowers ask the broker ``broker_id``."""
    return f"okta-nb-auth-{broker_id}"


class DaskAuth(BorrowedAuth):
    """An :class:`httpx.Auth` for Dask tasks: borrowed access tokens, never a refresh token.

    Pass it to tasks (``client.map(fetch, items, auth=dask_auth)``); it pickles to its
    broker's id alone and becomes, on each worker, that worker's one borrower. Use it as
    ``httpx.Client(auth=auth)``, ``auth.client()`` or ``auth.async_client()``.
    """

    #: The notebook's broker (in the notebook's process only; never pickled).
    broker: Any = None

    def __init__(self, broker_id: str, lender: Lender, *, leeway: float, timeout: float) -> None:
        super().__init__(lender, leeway=leeway)
        self.broker_id, self.timeout = broker_id, timeout

    def __reduce_ex__(self, protocol: Any) -> Any:
        return borrower, (self.broker_id, self.leeway, self.timeout)

    def __repr__(self) -> str:
        return f"DaskAuth(broker={self.broker_id!r}, lease={self.lease!r}, asks={self.asks})"


def register(auth: DaskAuth) -> None:
    """Make ``auth`` this process's borrower for its broker (the notebook's own, which asks
    its broker directly)."""
    with _guard:
        _auths[auth.broker_id] = auth


def unregister(auth: DaskAuth) -> None:
    with _guard:
        if _auths.get(auth.broker_id) is auth:
            del _auths[auth.broker_id]


def borrower(broker_id: str, leeway: float, timeout: float) -> DaskAuth:
    """This process's borrower for ``broker_id`` (what a pickled :class:`DaskAuth` becomes)."""
    with _guard:
        auth = _auths.get(broker_id)
        if auth is None:
            lender = DaskLender(broker_id, timeout)
            auth = _auths[broker_id] = DaskAuth(broker_id, lender, leeway=leeway, timeout=timeout)
        return auth


def deliver(broker_id: str, nonce: str | None, wire: dict[str, Any]) -> None:
    """Run on a worker by the broker: the answer to the ask ``nonce`` (None: news for every
    borrower, such as a logout). Never raises: a failure here would only be logged."""
    auth = _auths.get(broker_id)
    try:
        if auth is None:
            return
        if nonce is None:
            auth.drop()
        elif isinstance(auth.lender, DaskLender):
            auth.lender.deliver(nonce, wire)
    except Exception:  # pragma: no cover - defensive: deliver runs on the worker's event loop
        log.exception("Could not take a token broker's answer")


def _no_worker() -> NoReturn:
    raise ConfigError(
        "A DaskAuth borrows tokens inside Dask tasks, on the workers of the client given to "
        "session.for_dask(client); here there is no Dask worker. In the notebook itself, use "
        "the session."
    )


class DaskLender:
    """Asks the notebook's broker over Dask and waits (bounded) for its answer."""

    def __init__(self, broker_id: str, timeout: float) -> None:
        self.broker_id, self.timeout = broker_id, timeout
        self._answered = threading.Condition()
        self._waiting: dict[str, dict[str, Any] | None] = {}

    def borrow(self, have: str | None, refused: bool, recipient: str) -> Flow[Parcel]:
        call = Call(partial(self._ask, have, refused, recipient))
        yield call
        return call.get()

    def _ask(self, have: str | None, refused: bool, recipient: str) -> Parcel:
        try:
            worker = get_worker()
        except ValueError:
            _no_worker()
        nonce = secrets.token_hex(8)
        with self._answered:
            self._waiting[nonce] = None
        try:
            ask = {"worker": worker.address, "nonce": nonce, "have": have}
            worker.log_event(topic(self.broker_id), {**ask, "refused": refused, "to": recipient})
            return Parcel.from_wire(self._wait(nonce))
        finally:
            with self._answered:
                self._waiting.pop(nonce, None)

    def _wait(self, nonce: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        with self._answered:
            while (wire := self._waiting[nonce]) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TransientError(
                        f"The notebook's token broker did not answer within {self.timeout:g} s. "
                        "Is the notebook's kernel running, with its Dask client connected? "
                        "(After a kernel restart: dask_auth = session.for_dask(client) again.)"
                    )
                self._answered.wait(left)
            return wire

    def deliver(self, nonce: str, wire: dict[str, Any]) -> None:
        with self._answered:
            if nonce in self._waiting:
                self._waiting[nonce] = wire
                self._answered.notify_all()
