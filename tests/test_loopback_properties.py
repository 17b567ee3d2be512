"""Property tests: whatever reaches the PKCE login (a pasted text, a redirect URL, a request
to the listener), the answer is a code or an OktaAuthError, never another exception; and the
login's verdict follows its rule (one right ``state``, then the error, then one code)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
from fake_okta import CLIENT_ID, ISSUER, FakeOkta
from flow_helpers import free_port, in_thread, raw_get, result_of, status_of
from hypothesis import example, given, settings
from hypothesis import strategies as st

from okta_nb_auth import (
    AuthSession,
    LoginCancelled,
    LoginRequired,
    OktaAuthError,
    OktaConfig,
    ProtocolError,
)
from okta_nb_auth.logins import AuthCodeLogin

BOUNDED = settings(max_examples=150, deadline=None, database=None)
AUTHORIZE = f"{ISSUER}/v1/authorize"
STATE = object()  # stands for the login's own state in generated queries
HUGE = "x" * 1_000_000
URLS = st.text() | st.builds(lambda q: f"http://127.0.0.1:1/callback?{q}", st.text())
PRINTABLE = st.text(st.characters(exclude_categories=["Cs"]))  # what UTF-8 can encode
PARAMS = st.lists(
    st.tuples(
        st.sampled_from(["state", "code", "error", "error_description"]) | PRINTABLE,
        st.just(STATE) | PRINTABLE,
    ),
    max_size=8,
)


@contextmanager
def pkce_login() -> Iterator[AuthCodeLogin]:
    config = OktaConfig(
        issuer=ISSUER, client_id=CLIENT_ID, redirect_uri=f"http://127.0.0.1:{free_port()}/cb"
    )
    with AuthSession(config, transport=FakeOkta().transport()) as session:
        login = AuthCodeLogin(config, session, AUTHORIZE)
        try:
            yield login
        finally:
            login.close()


def expected(pairs: list[tuple[str, str]], state: str) -> str | type[OktaAuthError] | None:
    """The rule: None (stray) unless exactly one state, this login's; then Okta's error ends
    the login; then it needs exactly one code. Blank values count as absent."""
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        if value:
            values.setdefault(key, []).append(value)
    if values.get("state") != [state]:
        return None
    if "error" in values:
        return LoginRequired
    codes = values.get("code", [])
    return codes[0] if len(codes) == 1 else ProtocolError


def test_any_text_gives_a_code_or_a_typed_error() -> None:
    with pkce_login() as login:

        @BOUNDED
        @given(URLS)
        @example(f"http://127.0.0.1:1/cb?state={HUGE}")
        @example("http://127.0.0.1:1/cb?" + "a=b&" * 10_000)
        @example("http://[::1/cb?state=x&code=y")
        @example("\x00" * 100_000)
        @example("?state=\udcff&code=x")
        @example("?state=%C3%A9&code=x")
        def check(text: str) -> None:
            for call in (login.code_from_redirect, login.paste):
                try:
                    result = call(text)
                except OktaAuthError:
                    continue
                assert result is None or isinstance(result, str)
            verdict = login.judge(text.partition("?")[2])
            assert verdict is None or isinstance(verdict, (str, OktaAuthError))

        check()


def test_the_verdict_follows_the_rule() -> None:
    with pkce_login() as login:

        @BOUNDED
        @given(PARAMS)
        @example([("state", STATE), ("state", STATE), ("code", "c")])
        @example([("state", "\u00e9t\u00e9"), ("code", "c")])
        @example([("state", STATE), ("code", "\x00\u2603 +&=%")])
        def check(generated: list[tuple[str, object]]) -> None:
            pairs = [(k, login._state if v is STATE else str(v)) for k, v in generated]
            query = urlencode(pairs)
            rule = expected(pairs, login._state)
            verdict = login.judge(query)
            if rule is None or isinstance(rule, str):
                assert verdict == rule
            else:
                assert type(verdict) is rule
            try:
                code: object = login.code_from_redirect(f"{login.redirect_uri}?{query}")
            except OktaAuthError as exc:
                code = type(exc)
            assert code == (ProtocolError if rule is None else rule)

        check()


def test_the_listener_answers_any_stray_query_and_the_login_goes_on() -> None:
    with pkce_login() as login:
        cancel = threading.Event()
        login.open_listener()
        thread, out = in_thread(lambda: login.wait(cancel=cancel, timeout=300))
        host = f"127.0.0.1:{login.port}"

        @BOUNDED
        @given(st.binary(max_size=3000))
        @example(b"state=%C3%A9&code=x")
        @example(b"state=\xc3\xa9&code=x")
        @example(b"state=a&state=b&code=x")
        def check(query: bytes) -> None:
            target = "/cb?" + query.replace(b"\r", b"").replace(b"\n", b"").decode("latin-1")
            answer = raw_get(login.port, target, host)
            assert status_of(answer) == 400
            assert login._state.encode() not in answer

        check()
        assert thread.is_alive()  # no stray ended the login...
        cancel.set()
        with pytest.raises(LoginCancelled):  # ...only the cancel does
            result_of(thread, out)
