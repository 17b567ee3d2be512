"""The notebook side: a :class:`DaskBroker` answers its workers' asks from the session.

It subscribes to its topic with :meth:`distributed.Client.subscribe_topic`; each ask is
answered by :class:`~okta_nb_auth.brokers.Lending` (one refresh per token generation, however
many workers ask) in a thread, and the parcel goes back to the asking worker alone with
:meth:`distributed.Client.run`. A logout in the notebook is pushed to every worker that has
borrowed. The broker's id comes from the login (issuer, app, user), so a broker made again
for the same login (a restarted kernel) answers the asks of tasks already running.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import jwt
from distributed import Client

from .._auth import OktaAuth
from .._exceptions import ProtocolError
from ..brokers import Lending, LocalLender, Parcel
from ..store._link import login_sub
from ._worker import DaskAuth, deliver, register, topic, unregister

__all__ = ["DaskBroker"]

log = logging.getLogger("okta_nb_auth")
_brokers: dict[str, DaskBroker] = {}  # this process's broker for each id: the newest
_ASK = {"worker": str, "nonce": str, "refused": bool, "to": str}


def _user(holder: OktaAuth) -> str:
    """Whose login: the ``sub`` of the verified claims, else of the ID token or the access
    token (read unverified: it only names the broker); else this holder alone."""
    tokens = holder.tokens
    sub = None if tokens is None else login_sub(tokens, holder.id_claims)
    if sub is None and tokens is not None:
        try:
            sub = jwt.decode(tokens.access_token, options={"verify_signature": False}).get("sub")
        except jwt.PyJWTError:
            sub = None
    return sub if isinstance(sub, str) else f"holder {id(holder)}"


def broker_id(holder: OktaAuth) -> str:
    """Stable for one login: the issuer, the app, the grant and the user (``sub``)."""
    parts = (holder.config.issuer, holder.config.client_id, holder.grant, _user(holder))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _checked(msg: object) -> dict[str, Any]:
    if not isinstance(msg, dict) or not all(isinstance(msg.get(k), t) for k, t in _ASK.items()):
        raise ProtocolError("A malformed token request arrived on the broker's topic.")
    if not isinstance(msg.get("have"), (str, type(None))):
        raise ProtocolError("A malformed token request arrived on the broker's topic.")
    return msg


class DaskBroker:
    """Lends ``holder``'s access tokens to the workers of ``client``."""

    def __init__(self, holder: OktaAuth, client: Client, *, leeway: float, timeout: float) -> None:
        self.lending = Lending(holder, "the notebook's session")
        self.client = client
        self.id = broker_id(holder)
        self.topic = topic(self.id)
        #: Workers that have asked (a logout is pushed to them), and parcels sent.
        self.workers: set[str] = set()
        self.deliveries = 0
        self._answering: set[asyncio.Future[None]] = set()
        self.auth = DaskAuth(
            self.id, LocalLender(self.lending.answer), leeway=leeway, timeout=timeout
        )
        self.auth.broker = self
        previous = _brokers.get(self.id)
        if previous is not None:  # made again for the same login: the newest answers
            previous.close()
        _brokers[self.id] = self
        register(self.auth)
        client.subscribe_topic(self.topic, self._on_ask)  # type: ignore[no-untyped-call]
        holder.watch(self._on_change)

    def _on_ask(self, event: tuple[float, Any]) -> None:
        """Called on the client's event loop for each ask: answered in a task of its own, so
        a slow refresh or a vanished worker never holds up the client's other messages."""
        try:
            ask = _checked(event[1])
        except ProtocolError as exc:
            log.warning("%s Ignored.", exc)
            return
        self.workers.add(ask["worker"])
        task = asyncio.ensure_future(self._answer(ask))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _answer(self, ask: dict[str, Any]) -> None:
        answer = self.lending.answer
        parcel = await asyncio.to_thread(answer, ask["have"], ask["refused"], ask["to"])
        await self._send([ask["worker"]], ask["nonce"], parcel)

    async def _send(self, workers: list[str], nonce: str | None, parcel: Parcel) -> None:
        try:
            await self.client.run(deliver, self.id, nonce, parcel.to_wire(), workers=workers)
            self.deliveries += 1
        except Exception as exc:  # a worker that left asks again if it comes back
            log.info("Could not answer workers %s: %s", workers, type(exc).__name__)

    def _on_change(self) -> None:
        loop = self.client.loop
        if self.lending.holder.tokens is None and self.workers and loop is not None:
            loop.add_callback(self._push_logout)

    async def _push_logout(self) -> None:
        parcel = self.lending.ended("The notebook's session logged out.")
        await self._send(sorted(self.workers), None, parcel)

    def close(self) -> None:
        """Stop answering (the workers' next asks time out with a clear error)."""
        self.lending.holder.unwatch(self._on_change)
        unregister(self.auth)
        if _brokers.get(self.id) is self:
            del _brokers[self.id]
        try:
            self.client.unsubscribe_topic(self.topic)  # type: ignore[no-untyped-call]
        except Exception:  # closed already, or its client is (ClosedClientError): nothing to stop
            log.debug("The broker's topic was unsubscribed already")

    def __repr__(self) -> str:
        return (
            f"DaskBroker(id={self.id!r}, workers={len(self.workers)}, "
            f"answers={self.lending.answers}, deliveries={self.deliveries})"
        )
