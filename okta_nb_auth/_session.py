"""AuthSession / AsyncAuthSession: httpx clients whose requests carry fresh Okta tokens.

Thin on purpose: constructors and conveniences. Every behaviour (refresh, single-flight,
401 replay, retries, verification) lives in :class:`~okta_nb_auth.OktaAuth`. The session
binds itself to its ``OktaAuth``, so token calls use the session's transport, proxy and TLS
settings, and ``transport=`` injection covers both API and token calls. A token, discovery or
key request that meets an untrusted certificate raises a :class:`ConfigError` saying how to
trust it (see :mod:`okta_nb_auth._trust`); API requests go through httpx untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import httpx

from ._auth import OktaAuth
from ._config import OktaConfig
from ._exceptions import ConfigError, LoginRequired
from ._models import TokenSet
from ._secret import refuse_pickle
from ._trust import ca_context
from .store import _holders
from .store._select import StoreChoice, resolve_store

if TYPE_CHECKING:
    from .dask import DaskAuth
    from .hub import AsyncHubSession, HubSession

__all__ = ["AsyncAuthSession", "AuthSession"]


def _chained(
    first: Callable[[TokenSet], object] | None, then: Callable[[TokenSet], object] | None
) -> Callable[[TokenSet], object] | None:
    if first is None or then is None or first is then:
        return first or then

    def both(tokens: TokenSet) -> None:
        first(tokens)
        then(tokens)

    return both


def _options(leeway: float, clock: Callable[[], float] | None) -> dict[str, Any]:
    return {"leeway": leeway} if clock is None else {"leeway": leeway, "clock": clock}


def _make_auth(
    config: OktaConfig,
    tokens: TokenSet | None,
    leeway: float,
    on_tokens: Callable[[TokenSet], object] | None,
    okta_auth: OktaAuth | None,
    clock: Callable[[], float] | None = None,
    store: StoreChoice = None,
) -> OktaAuth:
    if okta_auth is not None:
        if clock is not None:
            raise ValueError("pass clock= to the OktaAuth you share, not to the session")
        if store is not None:
            raise ValueError("pass store= to the OktaAuth you share, not to the session")
        if tokens is not None:
            okta_auth.set_tokens(tokens)
        okta_auth.on_tokens = _chained(okta_auth.on_tokens, on_tokens)
        return okta_auth
    chosen = resolve_store(store)
    shared = None if tokens is None else _holders.by_tokens(config.issuer, config.client_id, tokens)
    if isinstance(shared, OktaAuth) and shared.config == config and shared.tokens is not None:
        # The same login (these tokens, or ones it has refreshed since): one holder, so one
        # refresh token is never refreshed twice.
        shared.on_tokens = _chained(shared.on_tokens, on_tokens)
        if chosen is not None:
            shared.attach_store(chosen)
        return shared
    options = _options(leeway, clock)
    return OktaAuth(config, tokens, on_tokens=on_tokens, store=chosen, **options)


def _cc_auth(config: OktaConfig, scopes: Iterable[str] | None, kwargs: dict[str, Any]) -> OktaAuth:
    chosen = tuple(config.scopes if scopes is None else scopes)
    return OktaAuth(
        config, grant="client_credentials", scopes=chosen, leeway=kwargs.pop("leeway", 60.0)
    )


def _with_ca(config: OktaConfig, httpx_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``verify=`` from ``config.ca_bundle``, unless the caller chose ``verify`` (or a
    transport) themselves."""
    if config.ca_bundle is None or "verify" in httpx_kwargs or "transport" in httpx_kwargs:
        return httpx_kwargs
    return {**httpx_kwargs, "verify": ca_context(config.ca_bundle)}


S = TypeVar("S", bound="_SessionBase")


class _SessionBase:
    """What the sync and async sessions share: construction, ``tokens``, a masked repr.

    It comes first in each session's bases, so ``super().__init__`` reaches
    :class:`httpx.Client` or :class:`httpx.AsyncClient`.
    """

    okta_auth: OktaAuth
    _ca_bundle: str | None  # the config's CA, when this session trusts it (no verify= given)

    def __init__(
        self,
        config: OktaConfig,
        tokens: TokenSet | None = None,
        *,
        leeway: float = 60.0,
        on_tokens: Callable[[TokenSet], object] | None = None,
        okta_auth: OktaAuth | None = None,
        clock: Callable[[], float] | None = None,
        store: StoreChoice = None,
        **httpx_kwargs: Any,
    ) -> None:
        auth = _make_auth(config, tokens, leeway, on_tokens, okta_auth, clock, store)
        options = _with_ca(config, httpx_kwargs)
        super().__init__(auth=auth, **options)  # type: ignore[call-arg]
        self._ca_bundle = config.ca_bundle if options is not httpx_kwargs else None
        self.okta_auth = auth
        auth.bind(self)  # type: ignore[arg-type]

    @classmethod
    def client_credentials(
        cls: type[S], config: OktaConfig, scopes: Iterable[str] | None = None, **httpx_kwargs: Any
    ) -> S:
        """A session for a service app: gets a token with ``client_credentials`` and a new
        one when it expires (there is no refresh token)."""
        auth = _cc_auth(config, scopes, httpx_kwargs)
        return cls(config, okta_auth=auth, **httpx_kwargs)

    @classmethod
    def from_store(
        cls: type[S],
        config: OktaConfig,
        *,
        store: StoreChoice = "default",
        user: str | None = None,
        leeway: float = 60.0,
        on_tokens: Callable[[TokenSet], object] | None = None,
        clock: Callable[[], float] | None = None,
        **httpx_kwargs: Any,
    ) -> S:
        """A signed-in session from the stored login (after a kernel restart, or a login in
        another process), sharing this process's holder of it if there is one. Raises
        :class:`~okta_nb_auth.LoginRequired`, saying how to log in, when nothing is stored.

        ``store``: a store object or ``"default"`` (``$OKTA_NB_AUTH_STORE``, else the file
        store), ``"file"``, ``"keyring"``, ``"memory"``. ``user``: a ``sub`` (default: whoever
        logged in last with this app).
        """
        chosen = resolve_store(store)
        if chosen is None:
            raise LoginRequired(
                f"There is no token store to resume from (store={store!r} gave none): log in "
                "first, or choose a store that works (the file store is the default)."
            )
        auth = OktaAuth.from_store(config, chosen, user=user, **_options(leeway, clock))
        return cls(config, okta_auth=auth, on_tokens=on_tokens, **httpx_kwargs)

    @property
    def tokens(self) -> TokenSet | None:
        """The current tokens (their repr is masked)."""
        return self.okta_auth.tokens

    def for_dask(self, client: Any = None, **options: Any) -> DaskAuth:
        """Lend this session's access tokens to the workers of a Dask ``client`` (default:
        the current one): pass the returned auth to tasks (``client.map(fetch, items,
        auth=dask_auth)``). The refresh token stays here; workers borrow access tokens and
        this session refreshes once for all of them. ``options``: ``leeway``, ``timeout``
        (see :func:`okta_nb_auth.dask.share`). Needs the ``dask`` extra."""
        try:
            from .dask import share
        except ImportError as exc:
            raise ConfigError(
                "Lending tokens to Dask workers needs Dask's distributed scheduler: "
                "pip install 'okta-nb-auth[dask]'"
            ) from exc
        return share(self, client, **options)

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        name = type(self).__name__
        article = "An" if name[:1] in "AEIOU" else "A"
        refuse_pickle(f"{article} {name} (it holds the login's refresh token)")

    def __repr__(self) -> str:
        auth = self.okta_auth
        return (
            f"{type(self).__name__}(issuer={auth.config.issuer!r}, "
            f"client_id={auth.config.client_id!r}, grant={auth.grant!r}, tokens={auth.tokens!r})"
        )

    __str__ = __repr__


class AuthSession(_SessionBase, httpx.Client):
    """An :class:`httpx.Client` for an Okta-protected API, refreshing tokens as needed.

    ``AuthSession(config, tokens=None, *, leeway=60, on_tokens=None, okta_auth=None,
    clock=None, **httpx_kwargs)``. ``tokens`` come from a login (for example
    ``dev.login_as()`` or the device flow); ``on_tokens`` is called with the new
    :class:`TokenSet` after every refresh (the counterpart of NextAuth's ``jwt`` callback:
    store them there). Pass ``okta_auth=`` to share one :class:`OktaAuth` between sessions or
    to tune it (retries); its own config and leeway are then used. ``clock`` (default
    ``time.time``) is injectable, for tests and for the tutorial's fast-forwarded dev server.
    Other keyword arguments go to :class:`httpx.Client`; without ``verify=``, the config's
    ``ca_bundle`` (if any) is the CA the session trusts.
    """

    @classmethod
    def from_hub(cls, **options: Any) -> HubSession:
        """On JupyterHub: a client signed in with the Hub's Okta login, with no flow. It
        borrows the user's access token from the Hub (okta-nb-auth's token service); the
        refresh token stays in the Hub. ``options``: ``leeway``, httpx's. Raises
        :class:`~okta_nb_auth.ConfigError` off a Hub or on a Hub not set up for it."""
        from .hub import HubSession

        return HubSession(**options)

    def refresh(self) -> TokenSet:
        """Refresh now, whatever the expiry; returns the new tokens."""
        return self.okta_auth.run(self.okta_auth.refresh_flow())

    def logout(self) -> None:
        """Revoke the refresh and access tokens at Okta, then forget them."""
        self.okta_auth.run(self.okta_auth.logout_flow())


class AsyncAuthSession(_SessionBase, httpx.AsyncClient):
    """The :class:`httpx.AsyncClient` twin of :class:`AuthSession`, with the same arguments."""

    @classmethod
    def from_hub(cls, **options: Any) -> AsyncHubSession:
        """The async twin of :meth:`AuthSession.from_hub`."""
        from .hub import AsyncHubSession

        return AsyncHubSession(**options)

    async def refresh(self) -> TokenSet:
        """Refresh now, whatever the expiry; returns the new tokens."""
        return await self.okta_auth.arun(self.okta_auth.refresh_flow())

    async def logout(self) -> None:
        """Revoke the refresh and access tokens at Okta, then forget them."""
        await self.okta_auth.arun(self.okta_auth.logout_flow())
