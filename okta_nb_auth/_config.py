"""Configuration: :class:`OktaConfig`, frozen and validated, with :meth:`OktaConfig.from_env`.

No I/O happens here: the endpoints come later from the issuer's discovery document.
"""

from __future__ import annotations

import ipaddress
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

import httpx

from ._exceptions import ConfigError
from ._secret import Secret, refuse_pickle

if TYPE_CHECKING:
    from ._client_auth import ClientKey

__all__ = [
    "CA_BUNDLE_ENV",
    "DEFAULT_SCOPES",
    "DEV_REDIRECT_URI",
    "INSECURE_HTTP_ENV",
    "REDIRECT_URI_ENV",
    "OktaConfig",
    "is_dev_issuer",
]

#: What a notebook user needs: an ID token, the profile claims, and a refresh token.
DEFAULT_SCOPES: tuple[str, ...] = ("openid", "email", "profile", "offline_access")

#: Set to ``1`` to allow ``http://`` issuers on a non-loopback (classroom) network.
INSECURE_HTTP_ENV = "OKTA_NB_AUTH_ALLOW_INSECURE_HTTP"

#: A PEM file of CAs to trust instead of the default ones (the TLS dev server's CA bundle).
CA_BUNDLE_ENV = "OKTA_CA_BUNDLE"

#: The redirect URI of the browser (PKCE) flow; ``OKTA_REDIRECTURI`` is read too.
REDIRECT_URI_ENV = "OKTA_REDIRECT_URI"

#: The dev server's native-app redirect, and the one the tutorial tells Okta users to register.
DEV_REDIRECT_URI = "http://127.0.0.1:8765/callback"

_SECRET_METHODS = ("client_secret_basic", "client_secret_post")
_AUTH_METHODS = (*_SECRET_METHODS, "private_key_jwt", "none")


def _mask_secret(secret: str | None) -> str | None:
    # Not even a prefix of a client secret is shown: unlike a token, it never expires.
    return None if secret is None else "[masked]"


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_dev_issuer(issuer: str) -> bool:
    """True for a plain-http issuer on a loopback host: a server on this computer (the dev
    server), never an Okta org, which is always https on a public name."""
    try:
        parts = urlsplit(issuer.strip())
    except ValueError:  # not a URL at all: certainly no dev server (OktaConfig says why)
        return False
    return parts.scheme == "http" and _is_loopback(parts.hostname or "")


def _check_redirect_uri(redirect_uri: str | None) -> str | None:
    if redirect_uri is None:
        return None
    if not isinstance(redirect_uri, str):
        raise ConfigError(f"redirect_uri must be a string URL, not {type(redirect_uri).__name__}.")
    uri = redirect_uri.strip()
    if not uri:
        return None
    parts = _split(uri, "redirect URI")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(
            f"The redirect URI {uri!r} is not an absolute http(s) URL. Use the Sign-in redirect "
            f"URI registered on the Okta app, such as {DEV_REDIRECT_URI!r} (set "
            f"{REDIRECT_URI_ENV} or OktaConfig(redirect_uri=...))."
        )
    if parts.fragment:
        raise ConfigError(
            f"The redirect URI {uri!r} has a fragment ('#…'), which OAuth does not allow: drop "
            f"it from {REDIRECT_URI_ENV} (or OktaConfig(redirect_uri=...))."
        )
    return uri


def _check_ca_bundle(ca_bundle: object) -> str | None:
    if ca_bundle is None:
        return None
    if isinstance(ca_bundle, os.PathLike):
        ca_bundle = os.fspath(ca_bundle)
    if not isinstance(ca_bundle, str):
        raise ConfigError(
            f"ca_bundle must be the path of a PEM file, not {type(ca_bundle).__name__}: for the "
            "TLS dev server, pass dev.ca_bundle."
        )
    return ca_bundle.strip() or None


def _check_text(name: str, value: str) -> None:
    """Client ids and secrets are RFC 6749's VSCHARs (printable ASCII and space): a pasted
    newline or a non-breaking space is the usual slip, and would break the request."""
    if not all(0x20 <= ord(c) < 0x7F for c in value):
        raise ConfigError(
            f"{name} holds a control character (a newline?) or a non-ASCII character; copy it "
            "again from the Okta app's General tab."
        )


def _check_scopes(scopes: object) -> tuple[str, ...]:
    if isinstance(scopes, str):  # a common slip: "openid email" instead of a tuple
        scopes = tuple(scopes.split())
    found = tuple(scopes) if isinstance(scopes, Iterable) else None
    if found is None or not all(isinstance(s, str) and s and s.isprintable() for s in found):
        raise ConfigError("scopes must be scope names, such as ('openid', 'offline_access').")
    if any(" " in s for s in found):
        raise ConfigError("Each scope is one name: pass ('openid', 'email'), not 'openid email'.")
    return found


def _check_path(issuer: str, path: str) -> None:
    # Pasting an endpoint or a half issuer is the usual mistake (the article's bug #3).
    segments = path.strip("/").split("/") if path.strip("/") else []
    if ".well-known" in segments or "v1" in segments:
        raise ConfigError(
            f"{issuer!r} looks like an endpoint URL, not an issuer: use the part before "
            "'/v1/…' or '/.well-known/…', such as 'https://dev-123456.okta.com/oauth2/default'."
        )
    if segments == ["oauth2"]:
        raise ConfigError(
            f"{issuer!r} lacks the authorization server id: use '…/oauth2/default' (or your "
            "server's id) for a custom server, or drop '/oauth2' for the org server."
        )


def _split(url: str, what: str) -> SplitResult:
    """``urlsplit`` that also checks the port and that httpx can send to the URL; a
    :class:`ConfigError` naming ``what`` otherwise (never ValueError or httpx.InvalidURL)."""
    try:
        if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
            raise ValueError("whitespace or control characters")
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port out of range or not a number
        _ = httpx.URL(url).host  # what the first request will do: IDNA, ports, characters
    except (ValueError, httpx.InvalidURL) as exc:
        raise ConfigError(
            f"The {what} {url[:200]!r} is not a valid URL ({exc}). Copy it again from the "
            "Okta Admin Console."
        ) from None
    return parts


def _normalise_issuer(issuer: object, allow_insecure_http: bool) -> str:
    if not isinstance(issuer, str):
        raise ConfigError(f"The issuer must be a string URL, not {type(issuer).__name__}.")
    issuer = issuer.strip().rstrip("/")
    parts = _split(issuer, "issuer")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(
            f"The issuer {issuer!r} is not an absolute URL. Use your Okta org's URL, such as "
            "'https://dev-123456.okta.com/oauth2/default' (custom authorization server) or "
            "'https://dev-123456.okta.com' (org authorization server)."
        )
    if parts.query or parts.fragment:
        raise ConfigError("The issuer must not contain a query string or a fragment.")
    _check_path(issuer, parts.path)
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        if not (allow_insecure_http or os.environ.get(INSECURE_HTTP_ENV) == "1"):
            raise ConfigError(
                f"The issuer {issuer!r} uses plain http on a non-loopback host, which would send "
                "tokens and secrets unencrypted. Use https, or, on a trusted classroom network "
                f"only, pass allow_insecure_http=True or set {INSECURE_HTTP_ENV}=1."
            )
        warnings.warn(
            f"Using the plain-http issuer {issuer!r}: tokens travel unencrypted.",
            UserWarning,
            stacklevel=4,
        )
    return issuer


def _signing_key(
    private_key: object, key_id: object, method: str, has_secret: bool
) -> tuple[Any, ClientKey | None]:
    # Only private_key_jwt needs the signing code: other apps never import it.
    if private_key is None and key_id is None and method != "private_key_jwt":
        return None, None
    from ._client_auth import client_key

    return client_key(private_key, key_id, method, has_secret)


@dataclass(frozen=True, repr=False)
class OktaConfig:
    """Where and as whom to talk to Okta.

    ``issuer`` is the authorization server's issuer exactly as Okta reports it, without a
    trailing slash (a trailing slash is removed). ``token_endpoint_auth_method`` defaults to
    ``client_secret_basic`` when a secret is given, ``private_key_jwt`` when ``private_key`` is
    (PEM text or a cryptography RSA/EC private key, checked here; ``key_id`` is its ``kid``
    in the app's JWKS), and ``none`` (public client) otherwise.
    ``audience`` is the access-token audience of a custom authorization server; it defaults
    to ``api://default`` for the ``default`` server (see :attr:`expected_audience`).
    ``redirect_uri`` is the app's Sign-in redirect URI for the browser (PKCE) flow, an absolute
    http(s) URL; the flow's listener needs a loopback one, such as ``http://127.0.0.1:8765/callback``.
    ``ca_bundle`` is the path of a PEM file of CAs to trust instead of the default ones, such
    as the TLS dev server's ``dev.ca_bundle``; sessions pass it to httpx as ``verify=`` (unset,
    httpx's defaults apply, which honour ``SSL_CERT_FILE``).
    """

    issuer: str
    client_id: str
    client_secret: str | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    redirect_uri: str | None = None
    token_endpoint_auth_method: str | None = None
    audience: str | None = None
    allow_insecure_http: bool = field(default=False, compare=False)
    ca_bundle: str | None = None
    private_key: Any = None
    key_id: str | None = None
    _client_key: ClientKey | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.client_id or not isinstance(self.client_id, str):
            raise ConfigError("client_id is empty: copy it from the Okta app's General tab.")
        _check_text("client_id", self.client_id)
        issuer = _normalise_issuer(self.issuer, self.allow_insecure_http)
        object.__setattr__(self, "issuer", issuer)
        object.__setattr__(self, "redirect_uri", _check_redirect_uri(self.redirect_uri))
        object.__setattr__(self, "scopes", _check_scopes(self.scopes))
        object.__setattr__(self, "ca_bundle", _check_ca_bundle(self.ca_bundle))
        if self.client_secret is not None:
            if not isinstance(self.client_secret, str):
                raise ConfigError("client_secret must be a string (or None for a public app).")
            _check_text("client_secret", self.client_secret)
            object.__setattr__(self, "client_secret", Secret(self.client_secret))
        if self.audience is not None and not isinstance(self.audience, str):
            raise ConfigError("audience must be a string, such as 'api://default'.")
        method = self.token_endpoint_auth_method
        if method is not None and not isinstance(method, str):
            raise ConfigError("token_endpoint_auth_method must be a string or None.")
        if method is None:
            method = "client_secret_basic" if self.client_secret else "none"
            method = "private_key_jwt" if self.private_key is not None else method
        if method not in _AUTH_METHODS:
            raise ConfigError(
                f"token_endpoint_auth_method {method!r} is not supported; use one of "
                f"{', '.join(_AUTH_METHODS)}."
            )
        if method in _SECRET_METHODS and not self.client_secret:
            raise ConfigError(
                f"token_endpoint_auth_method {method!r} needs client_secret; a public (native) "
                "app uses 'none'."
            )
        kept, key = _signing_key(self.private_key, self.key_id, method, bool(self.client_secret))
        object.__setattr__(self, "private_key", kept)
        object.__setattr__(self, "_client_key", key)
        object.__setattr__(self, "token_endpoint_auth_method", method)

    @property
    def auth_method(self) -> str:
        """The effective client authentication method (never None after construction)."""
        return self.token_endpoint_auth_method or "none"

    @property
    def is_custom_server(self) -> bool:
        """True for a custom authorization server (``…/oauth2/{id}``), False for the org one."""
        return "/oauth2/" in urlsplit(self.issuer).path + "/"

    @property
    def expected_audience(self) -> str | None:
        """The access-token ``aud`` to require, or None when it cannot be known.

        Only custom servers issue access tokens meant for your API; ``api://default`` is the
        audience of the server whose id is literally ``default``. Any other custom server has
        an audience chosen by its admin, so it must be configured explicitly.
        """
        if self.audience is not None:
            return self.audience
        if urlsplit(self.issuer).path.rstrip("/").endswith("/oauth2/default"):
            return "api://default"
        return None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> OktaConfig:
        """Build a config from ``OKTA_*`` environment variables.

        Reads ``OKTA_ISSUER`` or the article's ``OKTA_DOMAIN``; ``OKTA_CLIENT_ID`` or
        ``OKTA_CLIENTID``; ``OKTA_CLIENT_SECRET`` or ``OKTA_CLIENTSECRET`` (optional);
        ``OKTA_SCOPES`` (space-separated, optional); ``OKTA_REDIRECT_URI`` or
        ``OKTA_REDIRECTURI`` (optional: the browser flow's redirect URI); ``OKTA_CA_BUNDLE``
        (optional: a PEM file of CAs to trust, such as the TLS dev server's). Without a redirect
        URI, a dev-server issuer (plain http on a loopback host, see :func:`is_dev_issuer`) gets
        :data:`DEV_REDIRECT_URI`, its native app's; an Okta org gets none (no guessing).
        Keyword ``overrides`` win.
        """
        env = os.environ if environ is None else environ

        def first(*names: str) -> str | None:
            return next((env[n].strip() for n in names if env.get(n, "").strip()), None)

        values: dict[str, object] = {
            "issuer": first("OKTA_ISSUER", "OKTA_DOMAIN"),
            "client_id": first("OKTA_CLIENT_ID", "OKTA_CLIENTID"),
            "client_secret": first("OKTA_CLIENT_SECRET", "OKTA_CLIENTSECRET"),
        }
        scopes = first("OKTA_SCOPES")
        if scopes:
            values["scopes"] = tuple(scopes.replace(",", " ").split())
        redirect_uri = first(REDIRECT_URI_ENV, "OKTA_REDIRECTURI")
        if redirect_uri:
            values["redirect_uri"] = redirect_uri
        ca_bundle = first(CA_BUNDLE_ENV)
        if ca_bundle:
            values["ca_bundle"] = ca_bundle
        values.update(overrides)
        issuer = values.get("issuer")
        if "redirect_uri" not in values and isinstance(issuer, str) and is_dev_issuer(issuer):
            values["redirect_uri"] = DEV_REDIRECT_URI
        missing = [
            names
            for key, names in (
                ("issuer", "OKTA_ISSUER (or OKTA_DOMAIN)"),
                ("client_id", "OKTA_CLIENT_ID (or OKTA_CLIENTID)"),
            )
            if not values.get(key)
        ]
        if missing:
            raise ConfigError(
                f"Missing environment variable(s): {', '.join(missing)}. Set them to your Okta "
                "issuer URL and the app's client id (Okta Admin Console > Applications)."
            )
        return cls(**values)  # type: ignore[arg-type]

    def __reduce_ex__(self, protocol: Any) -> Any:
        if self.client_secret is not None:
            refuse_pickle("An OktaConfig with a client_secret")
        if self.private_key is not None:
            refuse_pickle("An OktaConfig with a private_key")
        return super().__reduce_ex__(protocol)

    def __copy__(self) -> OktaConfig:
        return self  # frozen

    def __deepcopy__(self, memo: Any) -> OktaConfig:
        return self

    def __repr__(self) -> str:
        return (
            f"OktaConfig(issuer={self.issuer!r}, client_id={self.client_id!r}, "
            f"client_secret={_mask_secret(self.client_secret)!r}, scopes={self.scopes!r}, "
            f"redirect_uri={self.redirect_uri!r}, "
            f"token_endpoint_auth_method={self.token_endpoint_auth_method!r}, "
            f"audience={self.audience!r}{self._ca_repr()}{self._key_repr()})"
        )

    def _ca_repr(self) -> str:
        # Only when set, so the repr of a config without one stays as it always was.
        return "" if self.ca_bundle is None else f", ca_bundle={self.ca_bundle!r}"

    def _key_repr(self) -> str:
        # Never a byte of the key, not even of its PEM header.
        if self.private_key is None:
            return ""
        return f", private_key='[masked]', key_id={self.key_id!r}"

    __str__ = __repr__
