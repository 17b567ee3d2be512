"""Okta's own ``okta-jwt-verifier``, unpatched, against the https dev server.

It refuses non-https issuers and has no 'insecure' switch, so it needs the TLS dev server; it
is given the CA only through the environment it already reads: ``SSL_CERT_FILE`` for its
async ``verify()`` (aiohttp builds its default SSL context at import, hence a subprocess) and
``REQUESTS_CA_BUNDLE`` for ``verify_sync()`` (requests). Tokens go to the child on stdin,
never on its command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from okta_nb_auth.devserver import DevServer

CHILD = """
import asyncio, json, sys
from okta_jwt_verifier import AccessTokenVerifier, IDTokenVerifier

job = json.load(sys.stdin)
access = AccessTokenVerifier(issuer=job["issuer"], audience=job["audience"])
ident = IDTokenVerifier(issuer=job["issuer"], client_id=job["client_id"])
if job["mode"] == "async":
    if job["access_token"]:
        asyncio.run(access.verify(job["access_token"]))
    asyncio.run(ident.verify(job["id_token"]))
else:
    if job["access_token"]:
        access.verify_sync(job["access_token"])
    ident.verify_sync(job["id_token"])
print("verified")
"""


@pytest.fixture(scope="module")
def tls_dev() -> Iterator[DevServer]:
    with DevServer(port=0, tls=True) as server:
        yield server


def verify_in_child(
    dev: DevServer, mode: str, *, org: bool = False, **env: str
) -> subprocess.CompletedProcess[str]:
    tokens = dev.login_as("ada@example.com", org=org)
    config = dev.config("native", org=org)
    job = {
        "mode": mode,
        "issuer": config.issuer,
        "client_id": config.client_id,
        "audience": "api://default",
        "access_token": None if org else str(tokens.access_token),  # org tokens: not for APIs
        "id_token": str(tokens.id_token),
    }
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    }
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", CHILD],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
    )


def test_async_verify_with_ssl_cert_file(tls_dev: DevServer) -> None:
    assert tls_dev.ca_bundle is not None
    done = verify_in_child(tls_dev, "async", SSL_CERT_FILE=tls_dev.ca_bundle)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "verified"


def test_sync_verify_with_requests_ca_bundle(tls_dev: DevServer) -> None:
    assert tls_dev.ca_bundle is not None
    done = verify_in_child(tls_dev, "sync", REQUESTS_CA_BUNDLE=tls_dev.ca_bundle)
    assert done.returncode == 0, done.stderr


def test_the_org_servers_id_token_verifies_too(tls_dev: DevServer) -> None:
    assert tls_dev.ca_bundle is not None
    done = verify_in_child(tls_dev, "async", org=True, SSL_CERT_FILE=tls_dev.ca_bundle)
    assert done.returncode == 0, done.stderr


def test_without_the_ca_the_verifier_refuses_the_server(tls_dev: DevServer) -> None:
    done = verify_in_child(tls_dev, "async")
    assert done.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in done.stderr


def test_a_plain_http_dev_server_is_refused_by_the_verifier() -> None:
    with DevServer(port=0) as plain:
        done = verify_in_child(plain, "async")
    assert done.returncode != 0
    assert "must start with 'https'" in done.stderr
