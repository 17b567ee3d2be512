"""Discovery: the flow by hand, validation, caching, and the sync/async drivers."""

from __future__ import annotations

import httpx
import pytest
from fake_okta import FakeOkta

from okta_nb_auth import ConfigError, DiscoveryCache, ProtocolError, TransientError
from okta_nb_auth._discovery import afetch_metadata, discovery_flow, fetch_metadata
from okta_nb_auth._drive import run_sync

ISSUER = "https://dev-1.okta.com/oauth2/default"


def doc(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "issuer": ISSUER,
        "token_endpoint": f"{ISSUER}/v1/token",
        "jwks_uri": f"{ISSUER}/v1/keys",
        "revocation_endpoint": f"{ISSUER}/v1/revoke",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def run_by_hand(response: httpx.Response, cache: DiscoveryCache) -> object:
    flow = discovery_flow(ISSUER, cache)
    request = next(flow)
    assert str(request.url) == f"{ISSUER}/.well-known/openid-configuration"
    response.request = request
    with pytest.raises(StopIteration) as stop:
        flow.send(response)
    return stop.value.value


def test_fetch_validate_and_cache() -> None:
    cache = DiscoveryCache()
    metadata = run_by_hand(httpx.Response(200, json=doc()), cache)
    assert metadata.token_endpoint == f"{ISSUER}/v1/token"  # type: ignore[attr-defined]
    # Second time: no request at all.
    flow = discovery_flow(ISSUER, cache)
    with pytest.raises(StopIteration) as stop:
        next(flow)
    assert stop.value.value is metadata


def test_wrong_issuer_is_config_error_and_not_cached() -> None:
    cache = DiscoveryCache()
    with pytest.raises(ConfigError, match="issuer"):
        run_by_hand(httpx.Response(200, json=doc(issuer=ISSUER + "/")), cache)
    assert cache.get(ISSUER) is None


@pytest.mark.parametrize("missing", ["token_endpoint", "jwks_uri"])
def test_missing_required_field(missing: str) -> None:
    with pytest.raises(ProtocolError, match=missing):
        run_by_hand(httpx.Response(200, json=doc(**{missing: None})), DiscoveryCache())


def test_optional_endpoint_error_is_clear() -> None:
    metadata = run_by_hand(
        httpx.Response(200, json=doc(revocation_endpoint=None)), DiscoveryCache()
    )
    with pytest.raises(ConfigError, match="revocation_endpoint"):
        metadata.endpoint("revocation_endpoint")  # type: ignore[attr-defined]


def test_404_is_config_error() -> None:
    with pytest.raises(ConfigError, match="404"):
        run_by_hand(httpx.Response(404, json={"errorCode": "E0000007"}), DiscoveryCache())


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_trouble_is_transient(status: int) -> None:
    with pytest.raises(TransientError):
        run_by_hand(httpx.Response(status, content=b"<html>"), DiscoveryCache())


def test_html_200_is_transient() -> None:
    with pytest.raises(TransientError):
        run_by_hand(httpx.Response(200, content=b"<html>hi</html>"), DiscoveryCache())


def test_unreachable_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with (
        httpx.Client(transport=httpx.MockTransport(refuse)) as client,
        pytest.raises(TransientError, match="Could not reach") as info,
    ):
        run_sync(discovery_flow(ISSUER, DiscoveryCache()), client)
    assert isinstance(info.value.__cause__, TransientError)


def test_sync_driver_fetches_once() -> None:
    fake = FakeOkta(ISSUER)
    cache = DiscoveryCache()
    with httpx.Client(transport=fake.transport()) as client:
        first = fetch_metadata(ISSUER, client, cache)
        second = fetch_metadata(ISSUER, client, cache)
    assert first is second and fake.discovery_calls == 1


@pytest.mark.anyio
async def test_async_driver() -> None:
    fake = FakeOkta(ISSUER)
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        metadata = await afetch_metadata(ISSUER, client, DiscoveryCache())
    assert metadata.jwks_uri == f"{ISSUER}/v1/keys"
