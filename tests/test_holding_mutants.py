"""OktaAuth with a token store (StoreHolder), over a MemoryStore and the scripted in-process
Okta, pinned down to what a mutation run changes: which login from_store resumes and what it
takes from the entry (user, claims, lifetime, options), what a login or a refresh writes,
what on_tokens hears when the store holds something newer, and sessions and from_store
finding the one holder of a login."""

from __future__ import annotations

import gc
import time
from typing import Any

import httpx
import pytest
from fake_okta import CLIENT_ID, ISSUER, FakeOkta, id_claims, sign
from test_auth_unit import API, NOW, Clock, cache

from okta_nb_auth import (
    AuthSession,
    LoginRequired,
    OktaAuth,
    OktaConfig,
    ProtocolError,
    StoreWarning,
    TokenSet,
)
from okta_nb_auth._steps import LOCK, UNLOCK
from okta_nb_auth.store import EntryKey, MemoryStore, StoreEntry

CONFIG = OktaConfig(ISSUER, CLIENT_ID)
ADA, GRACE = "00uada", "00ugrace"


def login(sub: str = ADA, *, expires_in: float = 3600, at: float = NOW, n: int = 0) -> TokenSet:
    """A login of ``sub`` (its ID token names the user), ``n`` telling refreshes apart."""
    return TokenSet(
        f"at-{n}-{sub}-abcdefghijklmnopqrstuvwxyz",
        at + expires_in,
        refresh_token=f"rt-{n}-{sub}-abcdefghijklmnopqrst",
        id_token=sign(id_claims(at, sub=sub)),
    )


def holder(store: MemoryStore, tokens: TokenSet | None, **options: Any) -> OktaAuth:
    options.setdefault("clock", Clock())
    return OktaAuth(
        CONFIG, tokens, store=store, discovery=cache(), verify_id_tokens=False, **options
    )


def resume(store: MemoryStore, **options: Any) -> OktaAuth:
    options.setdefault("clock", Clock())
    return OktaAuth.from_store(CONFIG, store, discovery=cache(), verify_id_tokens=False, **options)


def stored(store: MemoryStore, sub: str | None = ADA) -> StoreEntry:
    entry = store.load(EntryKey(ISSUER, CLIENT_ID, sub))
    assert entry is not None
    return entry


def saved_elsewhere(store: MemoryStore, tokens: TokenSet, sub: str = ADA) -> None:
    """Another process refreshed the login and stored ``tokens``."""
    store.save(stored(store, sub).renewed(tokens, NOW, 3600))


def refreshes_now(auth: OktaAuth) -> bool:
    return next(auth._flow(httpx.Request("GET", API))) is LOCK


def forget_holders() -> None:
    gc.collect()  # the registry holds holders weakly: dropped ones no longer stand in


# ------------------------------------------------------------------ what is written


def test_a_login_stores_its_verified_claims() -> None:
    store = MemoryStore()
    holder(store, None).set_tokens(login(), id_claims={"sub": ADA, "mark": 1})
    assert stored(store).id_claims == {"sub": ADA, "mark": 1}


def test_a_store_attached_later_gets_the_login_and_its_claims() -> None:
    store = MemoryStore()
    auth = OktaAuth(CONFIG, discovery=cache())
    auth.set_tokens(login(), id_claims={"sub": ADA, "mark": 2})
    auth.attach_store(store)
    assert stored(store).id_claims == {"sub": ADA, "mark": 2}


def test_a_second_store_is_refused_with_a_warning_at_the_callers_line() -> None:
    tokens = login(at=time.time())
    first = AuthSession(CONFIG, tokens, store=MemoryStore())
    with pytest.warns(StoreWarning, match="already kept in memory") as record:
        again = AuthSession(CONFIG, tokens, store=MemoryStore())
    assert again.okta_auth is first.okta_auth
    assert [warning.filename for warning in record] == [__file__]
    first.close()
    again.close()


def test_a_refresh_stores_the_new_id_tokens_claims() -> None:
    fake, store = FakeOkta(), MemoryStore()
    old = login(expires_in=-1, at=time.time())
    auth = OktaAuth(CONFIG, old, store=store, discovery=cache())
    auth.set_tokens(old, id_claims={"sub": ADA})
    with AuthSession(CONFIG, okta_auth=auth, transport=fake.transport()) as session:
        assert session.get(API).status_code == 200
    claims = stored(store).id_claims
    assert claims is not None and claims["jti"] == "ID.fake-0001"


def test_a_kept_rotated_refresh_token_is_stored_with_the_holders_claims() -> None:
    fake, store, now = FakeOkta(), MemoryStore(), time.time()
    fake.rotate = True
    fake.token_script = [unusable_answer]
    auth = OktaAuth(CONFIG, store=store, discovery=cache(), verify_id_tokens=False)
    auth.set_tokens(login(expires_in=-1, at=now), id_claims={"sub": ADA, "mark": 9})
    newer = stored(store).renewed(login(n=1, expires_in=-1, at=now), now, 3600, id_claims=None)
    store.save(newer)  # another process refreshed, and stored no claims
    with AuthSession(CONFIG, okta_auth=auth, transport=fake.transport()) as session:
        with pytest.raises(ProtocolError):
            session.get(API)
    assert stored(store).tokens.refresh_token == "rotated-refresh-token-abcdefghijkl"
    assert stored(store).id_claims == {"sub": ADA, "mark": 9}


def unusable_answer(request: httpx.Request) -> httpx.Response:
    """A token answer without expires_in that still carries a rotated refresh token."""
    body = {"access_token": "a" * 40, "refresh_token": "rotated-refresh-token-abcdefghijkl"}
    return httpx.Response(200, json=body)


# ------------------------------------------------------------------ when the store is newer


def test_a_login_older_than_the_store_announces_only_the_newer_tokens() -> None:
    store = MemoryStore()
    holder(store, login(n=0))
    newer = login(n=1)
    saved_elsewhere(store, newer)
    seen: list[TokenSet] = []
    late = holder(store, None, on_tokens=seen.append)
    late.set_tokens(login(n=0), notify=True)
    assert late.tokens == newer and seen == [newer]


def test_a_refresh_that_finds_newer_tokens_in_the_store_takes_them_and_says_so() -> None:
    fake, store = FakeOkta(), MemoryStore()
    seen: list[TokenSet] = []
    now = time.time()
    auth = OktaAuth(
        CONFIG, login(expires_in=-1, at=now), store=store, discovery=cache(),
        on_tokens=seen.append, verify_id_tokens=False,
    )  # fmt: skip
    newer = login(n=1, at=now)
    saved_elsewhere(store, newer)
    with AuthSession(CONFIG, okta_auth=auth, transport=fake.transport()) as session:
        assert session.get(API).status_code == 200
    assert fake.token_calls == [] and seen == [newer]


def test_a_request_queued_before_an_adopted_login_does_not_refresh_again() -> None:
    store = MemoryStore()
    holder(store, login(expires_in=-1))
    forget_holders()
    clock = Clock()
    auth = resume(store, clock=clock)  # adopted from the store
    queued = auth._flow(httpx.Request("GET", API))
    assert next(queued) is LOCK  # expired: it waits for the lock
    saved_elsewhere(store, login(n=1))
    auth.set_tokens(login(n=0, expires_in=-1))  # an old login: the store's newer one is used
    assert auth.tokens is not None and auth.tokens.access_token.startswith("at-1")
    assert queued.send(None) is UNLOCK


# ------------------------------------------------------------------ from_store


def two_users(store: MemoryStore) -> None:
    holder(store, login(ADA))
    holder(store, login(GRACE))  # the last login: the app's default user
    forget_holders()


def test_from_store_resumes_the_user_asked_for_with_the_options_given() -> None:
    store = MemoryStore()
    two_users(store)
    auth = resume(store, user=ADA, leeway=5.0)
    assert auth.tokens == login(ADA) and auth.leeway == 5.0
    assert resume(store).tokens == login(GRACE)


def test_without_a_user_from_store_resumes_the_default_one_even_after_another() -> None:
    store = MemoryStore()
    two_users(store)
    ada = resume(store, user=ADA)
    assert resume(store) is not ada
    assert resume(store).tokens == login(GRACE)


def test_a_resumed_login_takes_the_stored_claims_quietly() -> None:
    store = MemoryStore()
    holder(store, None).set_tokens(login(), id_claims={"sub": ADA, "mark": 3})
    forget_holders()
    seen: list[TokenSet] = []
    auth = resume(store, on_tokens=seen.append)
    assert auth.id_claims == {"sub": ADA, "mark": 3} and seen == []


def test_a_resumed_login_is_refreshed_by_its_stored_lifetime() -> None:
    store = MemoryStore()
    holder(store, login(expires_in=100))
    forget_holders()
    clock = Clock()
    clock.now += 40  # 60 s left of a 100 s lifetime: leeway 50 s
    auth = resume(store, clock=clock)
    assert not refreshes_now(auth)
    clock.now += 15
    assert refreshes_now(auth)


def test_an_entry_without_a_lifetime_takes_it_from_the_holders_clock() -> None:
    store = MemoryStore()
    tokens = login(expires_in=100)
    store.save(StoreEntry(EntryKey(ISSUER, CLIENT_ID, ADA), tokens, CONFIG.scopes))
    clock = Clock()
    auth = resume(store, clock=clock)
    clock.now += 45  # 55 s left of 100: leeway 50 s
    assert not refreshes_now(auth)


def test_a_stored_login_resumes_while_it_can_refresh_or_its_token_lasts() -> None:
    store = MemoryStore()
    holder(store, login(expires_in=-10))  # expired, but with a refresh token
    forget_holders()
    assert resume(store).tokens is not None
    last = MemoryStore()
    still = TokenSet("at-only-abcdefghijklmnopqrstuvwxyz", NOW + 0.5, id_token=sign(id_claims()))
    holder(last, still)
    forget_holders()
    assert resume(last).tokens == still


def test_an_access_only_login_is_judged_by_the_holders_clock() -> None:
    store = MemoryStore()
    gone = TokenSet("at-only-abcdefghijklmnopqrstuvwxyz", NOW - 10, id_token=sign(id_claims()))
    holder(store, gone)  # expired by the holder's clock (not yet by the wall clock)
    forget_holders()
    with pytest.raises(LoginRequired):
        resume(store)


def test_without_a_stored_login_from_store_says_how_to_log_in() -> None:
    with pytest.raises(LoginRequired) as info:
        resume(MemoryStore())
    assert str(info.value) == (
        f"There is no usable stored login for the app {CLIENT_ID} at {ISSUER} (store: memory "
        "(this process only)). Log in first: login() in a notebook, or `okta-nb-auth login` "
        "in a terminal; both store the tokens."
    )


def test_a_resumed_login_has_one_holder_found_by_entry_and_by_tokens() -> None:
    store = MemoryStore()
    holder(store, login())
    forget_holders()
    auth = resume(store)
    assert resume(store) is auth
    assert AuthSession(CONFIG, auth.tokens).okta_auth is auth
