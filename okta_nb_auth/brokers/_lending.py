"""Lending: the holder's side. One :class:`~okta_nb_auth.OktaAuth` answers every borrower.

A borrower says which lease it has (its key: a fingerprint of its access token) and whether
the API refused it. The holder refreshes once per generation, under
its own single-flight lock, whatever the number of borrowers asking; a borrower with an older
lease gets the current token. The token leaves sealed to the asking borrower's key.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from .._auth import OktaAuth
from .._exceptions import LoginRequired, OktaAuthError
from .._models import TokenSet
from .._secret import digest
from .._steps import Call, Flow
from ._lease import Parcel, failure
from ._seal import seal

__all__ = ["Lending", "LocalLender"]


class Lending:
    """Answers borrowers from ``holder`` (the only object holding the refresh token)."""

    def __init__(self, holder: OktaAuth, where: str = "the session lending tokens") -> None:
        self.holder, self.where = holder, where
        #: Answers given, and how many of them carried a token.
        self.answers = self.tokens_lent = 0

    @staticmethod
    def key(tokens: TokenSet | None) -> str:
        """A lease's key: a fingerprint of its access token (so a lending made again, after
        a kernel restart, still knows which borrowers hold its current token)."""
        return "" if tokens is None else digest(tokens.access_token)[:16]

    def _generation(self, have: str | None) -> int | None:
        """The holder's generation if ``have`` names its current token, else None."""
        generation, tokens = self.holder.generation, self.holder.tokens
        return generation if have and have == self.key(tokens) else None

    def answer(self, have: str | None, refused: bool, recipient: str) -> Parcel:
        """What a borrower holding the lease ``have`` gets (blocking: it may refresh)."""
        self.answers += 1
        holder = self.holder
        try:
            tokens, _ = holder.run(holder.lend_flow(self._generation(have), refused))
            expires_in = tokens.expires_in(holder._clock())
            parcel = Parcel(self.key(tokens), expires_in=expires_in, lifetime=holder.lifetime)
            sealed = seal(tokens.access_token, recipient, parcel.context)
        except LoginRequired as exc:
            return self.ended(f"{exc} (in {self.where})")
        except OktaAuthError as exc:
            return failure(self.key(holder.tokens), exc)
        self.tokens_lent += 1
        return Parcel(parcel.key, sealed, parcel.expires_in, parcel.lifetime)

    def ended(self, message: str) -> Parcel:
        """The parcel telling borrowers the login has ended, saying where to log in again."""
        advice = f"Log in again in {self.where}; borrowers then get its new tokens."
        return failure("", LoginRequired(f"{message} {advice}"))


class LocalLender:
    """A lender in this very process (a borrower next to its holder): asks directly."""

    def __init__(self, answer: Callable[[str | None, bool, str], Parcel]) -> None:
        self._answer = answer

    def borrow(self, have: str | None, refused: bool, recipient: str) -> Flow[Parcel]:
        call = Call(partial(self._answer, have, refused, recipient))
        yield call
        return call.get()
