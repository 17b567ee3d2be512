"""No surface ever shows a full token or the client secret (issue 3, deliverable 7).

A confidential app on the dev server goes through login, refresh, a 401 replay, failures and
logout while every log record (all loggers, DEBUG) is captured; then every repr, str,
``_repr_html_``, exception and log line is searched for every token and the secret.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

from okta_nb_auth import (
    AsyncAuthSession,
    AuthSession,
    OktaAuth,
    OktaAuthError,
    OktaConfig,
    TokenSet,
)
from okta_nb_auth.devserver import DevServer

ADA = "ada@example.com"


def surfaces(obj: object) -> list[str]:
    texts = [repr(obj), str(obj), f"{obj}"]
    html = getattr(obj, "_repr_html_", None)
    if callable(html):
        texts.append(str(html()))
    return texts


def secrets_of(config: OktaConfig, token_sets: list[TokenSet]) -> set[str]:
    found = {config.client_secret or ""}
    for tokens in token_sets:
        found |= {t for t in (tokens.access_token, tokens.refresh_token, tokens.id_token) if t}
    found.discard("")
    return found


def log_texts(records: list[logging.LogRecord]) -> list[str]:
    texts = []
    for record in records:
        texts += [record.getMessage(), repr(record.args), record.exc_text or ""]
        if record.exc_info and record.exc_info[1] is not None:
            texts += surfaces(record.exc_info[1])
    return texts


def assert_hidden(texts: list[str], secrets: set[str]) -> None:
    assert secrets, "nothing to look for: the test would pass vacuously"
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"a secret leaked into: {text[:80]}…"


def test_nothing_shows_a_token_or_the_secret(
    fresh_dev: DevServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx, httpcore
    config = fresh_dev.config("web")
    assert config.client_secret
    seen: list[TokenSet] = [fresh_dev.login_as(ADA, "web")]
    errors: list[OktaAuthError] = []
    auth = OktaAuth(config, seen[0], on_tokens=seen.append, sleep=lambda _: None)
    texts: list[str] = []
    with AuthSession(config, okta_auth=auth) as session:
        session.refresh()
        fresh_dev.expire_access_tokens(ADA)
        replayed = session.get(f"{fresh_dev.api_url}/whoami")
        assert replayed.history  # the 401 is in the history ...
        texts += [r.text for r in replayed.history]  # ... but no token response is
        texts += [repr(r.request.headers) for r in [replayed, *replayed.history]]
        for fault in (503, 429):
            fresh_dev.inject_fault(fault, count=4)
            with pytest.raises(OktaAuthError) as info:
                session.refresh()
            errors.append(info.value)
            fresh_dev.clear_faults()
        texts += surfaces(session) + surfaces(session.okta_auth) + surfaces(session.tokens)
        session.logout()

    async def run_async() -> None:
        async with AsyncAuthSession(config, seen[-1]) as async_session:
            texts.extend(surfaces(async_session))

    anyio.run(run_async)
    wrong = fresh_dev.config("web", client_secret="wrong-secret-0123456789abcdef")
    for bad_config, tokens in ((wrong, seen[-1]), (config, seen[-1])):  # invalid_client, dead RT
        with AuthSession(bad_config, tokens) as bad, pytest.raises(OktaAuthError) as info:
            bad.refresh()
        errors.append(info.value)
        texts += surfaces(bad_config)
    assert {type(e).__name__ for e in errors} >= {"TransientError", "RateLimited", "ConfigError"}
    assert errors[-1].error == "invalid_grant"
    for error in errors:
        texts += [*surfaces(error), repr(error.args), str(error.error_description)]
    for tokens in seen:
        texts += surfaces(tokens)
    texts += surfaces(config)
    texts += log_texts(caplog.records)
    assert any("Stored new tokens" in t for t in texts)  # DEBUG records were captured
    assert_hidden(texts, secrets_of(config, seen) | {"wrong-secret-0123456789abcdef"})


def test_masked_repr_keeps_something_useful(fresh_dev: DevServer) -> None:
    tokens = fresh_dev.login_as(ADA)
    with AuthSession(fresh_dev.config(), tokens) as session:
        text = repr(session)
    assert "[masked]" in text and fresh_dev.issuer in text and "expires in" in text


def test_exception_attributes_carry_no_secret(fresh_dev: DevServer) -> None:
    config = fresh_dev.config("web")
    tokens: Any = fresh_dev.login_as(ADA, "web")
    fresh_dev.revoke_user(ADA)
    with AuthSession(config, tokens) as session, pytest.raises(OktaAuthError) as info:
        session.refresh()
    values = [str(v) for v in vars(info.value).values()]
    assert_hidden(values, secrets_of(config, [tokens]))
