"""Lending: what a holder of tokens offers brokers that lend its access tokens to others.

:class:`~okta_nb_auth.OktaAuth` is a :class:`Lendable`: a broker (the Dask one, say) asks it,
on behalf of a borrower in another process, for a token fresher than the borrower's, and it
refreshes at most once per token generation however many borrowers ask (its single-flight
lock). See :mod:`okta_nb_auth.brokers`.
"""

from __future__ import annotations

from ._exceptions import LoginRequired
from ._models import TokenSet
from ._signing import Signing
from ._steps import Flow

__all__ = ["Lendable"]


class Lendable(Signing):
    """The lending half of :class:`~okta_nb_auth.OktaAuth` (which refreshes)."""

    _generation: int
    _lifetime: float

    def _seen(self) -> tuple[int, int]:
        raise NotImplementedError

    def _refresh_steps(self, seen: tuple[int, int]) -> Flow[None]:
        raise NotImplementedError

    def _refresh_or_keep(self, seen: tuple[int, int]) -> Flow[None]:
        raise NotImplementedError

    def lend_flow(self, generation: int | None, refused: bool) -> Flow[tuple[TokenSet, int]]:
        """For brokers lending access tokens to other processes: a borrower holding
        ``generation`` wants a fresh token (``refused``: the API answered it with a 401).
        Refresh once if that is the current generation or the token is due here; a borrower
        with an older copy gets the current one. Returns the tokens and their generation;
        raises :class:`LoginRequired` when there is no login."""
        if self._tokens is None and self.grant != "client_credentials":
            raise LoginRequired("There is no login (it was logged out or never made).")
        if generation == self._generation and refused:
            yield from self._refresh_steps(self._seen())
        elif generation == self._generation or self._needs_refresh():
            yield from self._refresh_or_keep(self._seen())
        if self._tokens is None:  # logged out meanwhile
            raise LoginRequired("The login was logged out.")
        return self._tokens, self._generation

    @property
    def generation(self) -> int:
        """Bumped by every new token set (what a borrower's copy is compared with)."""
        return self._generation

    @property
    def lifetime(self) -> float:
        """The current access token's lifetime in seconds, as it was issued."""
        return self._lifetime
