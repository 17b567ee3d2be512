"""The issuer's OpenID discovery document: fetched once per issuer, validated, cached.

:func:`discovery_flow` is a generator that yields the one request it needs and receives the
response, so the same code serves sync and async callers (see :mod:`okta_nb_auth._drive`).
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ._drive import run_async, run_sync
from ._exceptions import ConfigError, ProtocolError, TransientError
from ._jwks import KeySets
from ._protocol import json_body

__all__ = [
    "DISCOVERY_CACHE",
    "DiscoveryCache",
    "ServerMetadata",
    "afetch_metadata",
    "discovery_flow",
    "fetch_metadata",
    "parse_metadata",
]

_REQUIRED = ("token_endpoint", "jwks_uri")


@dataclass(frozen=True)
class ServerMetadata:
    """The fields of a discovery document this package uses; ``raw`` has all of them."""

    issuer: str
    token_endpoint: str
    jwks_uri: str
    revocation_endpoint: str | None = None
    device_authorization_endpoint: str | None = None
    authorization_endpoint: str | None = None
    #: RFC 9126 §5: where to push an authorization request (Okta's ``/v1/par``), if offered.
    pushed_authorization_request_endpoint: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def endpoint(self, name: str) -> str:
        """An optional endpoint by its discovery name, or a :class:`ConfigError` saying so."""
        value = self.raw.get(name)
        if not isinstance(value, str) or not value:
            raise ConfigError(
                f"The discovery document of {self.issuer} has no {name!r}; this authorization "
                "server does not support that operation."
            )
        return value


def discovery_url(issuer: str) -> str:
    """``{issuer}/.well-known/openid-configuration`` (the issuer has no trailing slash)."""
    return f"{issuer}/.well-known/openid-configuration"


def _check_endpoint(issuer: str, name: str, url: str) -> None:
    """An endpoint must be an absolute URL we can send to, https unless the issuer is not."""
    try:
        parsed: httpx.URL | None = httpx.URL(url)
        host = parsed.host if parsed is not None else ""  # decodes IDNA: may raise
    except (httpx.InvalidURL, ValueError, TypeError):
        parsed, host = None, ""
    secure_enough = parsed is not None and (
        parsed.scheme == "https" or (parsed.scheme == "http" and issuer.startswith("http:"))
    )
    if parsed is None or not secure_enough or not host:
        raise ProtocolError(
            f"The discovery document of {issuer} gives an unusable {name!r} (not an absolute "
            "https URL): this server is not behaving like Okta. Check the issuer URL."
        )


def parse_metadata(issuer: str, response: httpx.Response) -> ServerMetadata:
    """Validate a discovery response against the configured ``issuer`` (sans-I/O)."""
    if response.status_code == 404:
        raise ConfigError(
            f"{discovery_url(issuer)} answered 404: no authorization server has this issuer. "
            "Check the issuer URL (for a custom server it ends in /oauth2/<id>).",
            status_code=404,
        )
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientError(
            f"The discovery document answered HTTP {response.status_code}; retry later.",
            status_code=response.status_code,
        )
    if not response.is_success:
        raise ProtocolError(
            f"The discovery document answered HTTP {response.status_code}.",
            status_code=response.status_code,
        )
    doc = json_body(response)
    if not isinstance(doc, dict):
        raise ProtocolError("The discovery document is not a JSON object.")
    if doc.get("issuer") != issuer:
        raise ConfigError(
            f"The discovery document says its issuer is {doc.get('issuer')!r}, but the "
            f"configuration says {issuer!r}. Use exactly the server's issuer (tokens are "
            "checked against it)."
        )
    missing = [name for name in _REQUIRED if not isinstance(doc.get(name), str)]
    if missing:
        raise ProtocolError(f"The discovery document of {issuer} lacks {', '.join(missing)}.")
    for name in _REQUIRED:
        _check_endpoint(issuer, name, doc[name])

    def optional(name: str) -> str | None:
        value = doc.get(name)
        if not isinstance(value, str) or not value:
            return None
        _check_endpoint(issuer, name, value)
        return value

    return ServerMetadata(
        issuer=issuer,
        token_endpoint=doc["token_endpoint"],
        jwks_uri=doc["jwks_uri"],
        revocation_endpoint=optional("revocation_endpoint"),
        device_authorization_endpoint=optional("device_authorization_endpoint"),
        authorization_endpoint=optional("authorization_endpoint"),
        pushed_authorization_request_endpoint=optional("pushed_authorization_request_endpoint"),
        raw=doc,
    )


class DiscoveryCache:
    """Validated metadata per issuer, and the issuers' signing keys (:attr:`key_sets`).
    Thread-safe: a plain dict guarded by a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, ServerMetadata] = {}
        #: The JWKS caches of the issuers whose metadata this cache holds (see :class:`KeySets`).
        self.key_sets = KeySets()

    def get(self, issuer: str) -> ServerMetadata | None:
        """The cached metadata for ``issuer``, if any."""
        with self._lock:
            return self._entries.get(issuer)

    def put(self, metadata: ServerMetadata) -> None:
        """Remember validated metadata (only validated documents are ever cached)."""
        with self._lock:
            self._entries[metadata.issuer] = metadata

    def forget(self, issuer: str) -> None:
        """Forget ``issuer``'s metadata and keys (another server now answers at its URL)."""
        with self._lock:
            self._entries.pop(issuer, None)
        self.key_sets.forget(issuer)

    def clear(self) -> None:
        """Forget everything (for example after an authorization server was reconfigured)."""
        with self._lock:
            self._entries.clear()
        self.key_sets.clear()


#: The process-wide cache: discovery documents and key sets are public and change rarely.
DISCOVERY_CACHE = DiscoveryCache()


def _unreachable(url: httpx.URL, exc: TransientError) -> str:
    """The message for a discovery request that failed on the network: the driver's text,
    whose own advice for a stopped server on this computer is not to be contradicted."""
    detail = str(exc).rstrip()
    if not detail.endswith((".", "!", "?")):
        detail += "."
    message = f"Could not reach {url}: {detail}"
    if url.host in ("127.0.0.1", "localhost", "::1"):
        return message  # it says to start the dev server again; the network is not at fault
    return f"{message} Check the network and the issuer."


def discovery_flow(
    issuer: str, cache: DiscoveryCache | None = None
) -> Generator[httpx.Request, httpx.Response, ServerMetadata]:
    """Return cached metadata, or yield the discovery request and validate its response."""
    cache = DISCOVERY_CACHE if cache is None else cache
    cached = cache.get(issuer)
    if cached is not None:
        return cached
    request = httpx.Request(
        "GET",
        discovery_url(issuer),
        headers={"Accept": "application/json"},
        extensions={"okta_nb_auth": "discovery"},
    )
    try:
        response = yield request
    except TransientError as exc:  # thrown in by the driver for network failures
        raise TransientError(_unreachable(request.url, exc)) from exc
    metadata = parse_metadata(issuer, response)
    cache.put(metadata)
    return metadata


def fetch_metadata(
    issuer: str, client: httpx.Client, cache: DiscoveryCache | None = None
) -> ServerMetadata:
    """The issuer's validated metadata, fetched with ``client`` at most once per cache."""
    return run_sync(discovery_flow(issuer, cache), client)


async def afetch_metadata(
    issuer: str, client: httpx.AsyncClient, cache: DiscoveryCache | None = None
) -> ServerMetadata:
    """The async twin of :func:`fetch_metadata`."""
    return await run_async(discovery_flow(issuer, cache), client)
