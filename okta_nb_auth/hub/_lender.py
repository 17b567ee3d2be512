"""HubLender: a kernel on JupyterHub borrows its user's Okta access token from the Hub.

A :class:`~okta_nb_auth.brokers.Lender` for :class:`~okta_nb_auth.brokers.BorrowedAuth`: its
flow asks okta-nb-auth's token service on the Hub (found through the Hub's API) with the
server's own token. The Hub refreshes the user's tokens itself (OAuthenticator's
``refresh_user``: once a token has expired, at most every ``auth_refresh_age`` seconds), so
a kernel cannot get a new token early: it uses each one until it expires or an API refuses
it, then asks again, a few times with a pause while the Hub has not refreshed yet, and then
says to sign in to the Hub again.
"""

from __future__ import annotations

import httpx

from .._exceptions import LoginRequired
from .._secret import digest
from .._steps import Flow, Sleep
from ..brokers import Parcel
from ..brokers._seal import seal
from ._hubapi import HubAccess, answer_token, service_url

__all__ = ["STALE", "HubLender"]

STALE = (
    "The Hub has not refreshed your Okta login: its refresh token was refused, or the Hub "
    "refreshes only every auth_refresh_age seconds (an admin can lower it). Sign in to the "
    "Hub again (File > Log Out, then log in)."
)


class HubLender:
    """Asks the Hub's token service for the user's access token; ``tries`` answers with a
    dead token (the one refused, or an expired one), ``pause`` seconds apart, before
    :class:`LoginRequired`."""

    def __init__(self, access: HubAccess, *, tries: int = 4, pause: float = 1.0) -> None:
        self.access, self.tries, self.pause = access, tries, pause
        self._url: str | None = None

    def _ask(self) -> Flow[tuple[str, float]]:
        if self._url is None:
            found = yield self.access.service_request()
            assert found is not None
            self._url = service_url(self.access, found)
        answer = yield httpx.Request("GET", self._url, headers=self.access.headers())
        assert answer is not None
        return answer_token(self.access, answer)

    def borrow(self, have: str | None, refused: bool, recipient: str) -> Flow[Parcel]:
        for attempt in range(self.tries):
            if attempt:
                yield Sleep(self.pause * attempt)
            token, expires_in = yield from self._ask()
            key = digest(token)[:16]
            if expires_in > 0 and not (refused and key == have):
                # Lifetime 0: no margin. The Hub renews only expired tokens, so asking
                # ahead of expiry would only bring the same token back.
                return Parcel(key, seal(token, recipient, f"{key}|{expires_in!r}|0.0"), expires_in)
        raise LoginRequired(STALE)
