"""Refresh-token rotation with a store, over the scripted in-process Okta: the rotated
refresh token is saved before the new access token is used for any request, so a crash (or
another process) right after the refresh never finds only the rotated-out token stored."""

from __future__ import annotations

import time

import httpx
import pytest
from fake_okta import CLIENT_ID, ISSUER, FakeOkta, id_claims, sign

from okta_nb_auth import (
    AsyncAuthSession,
    AuthSession,
    DiscoveryCache,
    OktaAuth,
    OktaConfig,
    TokenSet,
)
from okta_nb_auth.store import EntryKey, MemoryStore, StoreEntry
from okta_nb_auth.store._entry import digest

API = "https://api.example.com/data"
CONFIG = OktaConfig(ISSUER, CLIENT_ID)


class RecordingStore(MemoryStore):
    """A MemoryStore that notes each save in ``order``."""

    def __init__(self, order: list[str]) -> None:
        super().__init__()
        self.order = order

    def save(self, entry: StoreEntry) -> None:
        self.order.append("save")
        super().save(entry)


class Recorded:
    """The fake Okta behind a transport that notes each token and API call in ``order``, and
    the Authorization header of each API call (as a digest)."""

    def __init__(self) -> None:
        self.fake = FakeOkta()
        self.fake.rotate = True
        self.order: list[str] = []
        self.api_auth: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v1/token"):
            self.order.append("token")
        elif request.url.host == "api.example.com":
            self.order.append("api")
            self.api_auth.append(digest(request.headers.get("Authorization", "")))
        return self.fake.handle(request)


def expired_login() -> TokenSet:
    return TokenSet(
        access_token="at-old-abcdefghijklmnopqrstuvwxyz",
        expires_at=time.time() - 1,
        refresh_token="rt-old-abcdefghijklmnopqrst",
        id_token=sign(id_claims()),
    )


def holder(recorded: Recorded) -> tuple[OktaAuth, RecordingStore]:
    store = RecordingStore(recorded.order)
    auth = OktaAuth(CONFIG, expired_login(), discovery=DiscoveryCache(), store=store)
    assert recorded.order == ["save"]  # the login itself
    recorded.order.clear()
    return auth, store


def assert_saved_first(recorded: Recorded, store: RecordingStore, status: int) -> None:
    assert status == 200
    assert recorded.order == ["token", "save", "api"]
    saved = store.load(EntryKey(ISSUER, CLIENT_ID))
    assert (
        saved is not None and saved.tokens.refresh_token == "refresh-token-number-0001-abcdefghijkl"
    )
    assert recorded.api_auth == [digest(f"Bearer {saved.tokens.access_token}")]


def test_the_rotated_refresh_token_is_saved_before_the_new_access_token_is_used() -> None:
    recorded = Recorded()
    auth, store = holder(recorded)
    transport = httpx.MockTransport(recorded.handle)
    with AuthSession(CONFIG, okta_auth=auth, transport=transport) as session:
        status = session.get(API).status_code
    assert_saved_first(recorded, store, status)


@pytest.mark.anyio
async def test_an_async_session_saves_the_rotated_refresh_token_first_too() -> None:
    recorded = Recorded()
    auth, store = holder(recorded)
    transport = httpx.MockTransport(recorded.handle)
    async with AsyncAuthSession(CONFIG, okta_auth=auth, transport=transport) as session:
        status = (await session.get(API)).status_code
    assert_saved_first(recorded, store, status)
