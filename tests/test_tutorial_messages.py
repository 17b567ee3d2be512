"""Messages a learner reads after a common slip: one sentence each, read as written."""

from __future__ import annotations

import httpx
import pytest

from okta_nb_auth import TransientError
from okta_nb_auth._discovery import DiscoveryCache, fetch_metadata
from okta_nb_auth.devserver import DevServer


def test_discovery_of_a_stopped_dev_server_says_to_start_it_again() -> None:
    with DevServer(port=0) as dev:
        issuer = dev.issuer
    with httpx.Client() as client, pytest.raises(TransientError) as info:
        fetch_metadata(issuer, client, DiscoveryCache())
    message = str(info.value)
    assert message.startswith(f"Could not reach {issuer}/.well-known/openid-configuration: ")
    assert "Nothing answers at 127.0.0.1:" in message
    assert message.endswith("for example by running the notebook's first cell.")
    assert ".." not in message and "Check the network" not in message


def test_discovery_of_an_unreachable_org_says_to_check_the_network() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    issuer = "https://dev-123456.okta.com/oauth2/default"
    with (
        httpx.Client(transport=httpx.MockTransport(refuse)) as client,
        pytest.raises(TransientError) as info,
    ):
        fetch_metadata(issuer, client, DiscoveryCache())
    assert str(info.value) == (
        f"Could not reach {issuer}/.well-known/openid-configuration: Network error talking to "
        "dev-123456.okta.com: ConnectError. Retry later. Check the network and the issuer."
    )
