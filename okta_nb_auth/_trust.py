"""Advice for our own requests (discovery, token, keys) that meet an untrusted certificate.

A session's token, discovery and key requests are sent with :func:`send_own` /
:func:`asend_own`; when one fails because the server's certificate is not trusted, the error is
a :class:`ConfigError` saying how to trust it (the dev server's CA bundle, ``OKTA_CA_BUNDLE``).
Only these requests pay for the check: an API request goes through httpx untouched.
"""

from __future__ import annotations

import ssl

import httpx

from ._config import CA_BUNDLE_ENV
from ._exceptions import ConfigError

__all__ = ["asend_own", "ca_context", "send_own", "untrusted_certificate"]

_PLAIN = object()  # a client that is not a session: its errors are left as they are


def ca_context(ca_bundle: str) -> ssl.SSLContext:
    """An SSL context trusting the CAs in ``ca_bundle`` (httpx's ``verify=``), or a
    :class:`ConfigError` saying which file could not be used."""
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except OSError as exc:  # ssl.SSLError too: not a PEM file
        raise ConfigError(
            f"The CA bundle {ca_bundle!r} cannot be used ({exc.strerror or exc}): point "
            f"ca_bundle (or {CA_BUNDLE_ENV}) at a PEM file, such as the TLS dev server's "
            "dev.ca_bundle (it exists while that server runs)."
        ) from None


def _certificate_problem(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    seen: BaseException | None = exc
    for _ in range(8):  # httpx -> httpcore -> ssl: a short chain
        if seen is None or isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def untrusted_certificate(
    ca_bundle: str | None, request: httpx.Request, exc: httpx.ConnectError
) -> ConfigError | None:
    """For one of our own requests (discovery, token, keys) that failed because the server's
    certificate is not trusted (by ``ca_bundle``, when the session trusts one): a
    :class:`ConfigError` saying how to trust it."""
    problem = _certificate_problem(exc)
    if problem is None or "okta_nb_auth" not in request.extensions:
        return None
    where = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
    reason = problem.verify_message or problem.reason or "certificate verify failed"
    if ca_bundle is None:
        fix = (
            "If it is the dev server with TLS (--tls, tls=True), pass the dev server's CA "
            f"bundle: OktaConfig(..., ca_bundle=dev.ca_bundle), or set {CA_BUNDLE_ENV} to the "
            f"path it printed. Behind a proxy that inspects TLS, set {CA_BUNDLE_ENV} (or "
            "SSL_CERT_FILE) to your organisation's CA bundle."
        )
    else:
        fix = (
            f"The CA bundle {ca_bundle!r} does not vouch for it. The dev server makes a "
            "new CA at every start: pass the dev server's CA bundle of this run (dev.ca_bundle, "
            "or the path it printed)."
        )
    return ConfigError(f"The TLS certificate of {where} is not trusted ({reason}). {fix}")


def _advice(
    client: httpx.Client | httpx.AsyncClient, request: httpx.Request, exc: httpx.ConnectError
) -> ConfigError | None:
    # A session says which CA it trusts (``_ca_bundle``, None when it trusts none of its own).
    ca_bundle = getattr(client, "_ca_bundle", _PLAIN)
    if ca_bundle is _PLAIN:
        return None
    assert ca_bundle is None or isinstance(ca_bundle, str)
    return untrusted_certificate(ca_bundle, request, exc)


def send_own(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    """Send one of our own requests without auth; with a session, an untrusted certificate
    raises the :class:`ConfigError` of :func:`untrusted_certificate`."""
    try:
        return client.send(request, auth=None)
    except httpx.ConnectError as exc:
        problem = _advice(client, request, exc)
        if problem is None:
            raise
        raise problem from exc


async def asend_own(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """The async twin of :func:`send_own`."""
    try:
        return await client.send(request, auth=None)
    except httpx.ConnectError as exc:
        problem = _advice(client, request, exc)
        if problem is None:
            raise
        raise problem from exc
