"""Limits on the dev server's own controls: no fault that hangs it, no unbounded admin body."""

from __future__ import annotations

import httpx
import pytest
from devserver_helpers import JSON

from okta_nb_auth.devserver import DevServer, SettingsError


@pytest.mark.parametrize(
    "fault", [{"status": 503, "count": 10_001}, {"latency": 121.0}], ids=["count", "latency"]
)
def test_unbounded_faults_are_refused(dev: DevServer, fault: dict[str, float]) -> None:
    with pytest.raises(SettingsError, match="at most 10000 calls"):
        dev.inject_fault(**fault)  # type: ignore[arg-type]
    answer = httpx.post(dev.base_url + "/admin/faults", json=fault)
    assert answer.status_code == 400
    assert "at most 120 s of latency" in answer.json()["error_description"]
    dev.inject_fault(503, count=10_000, latency=0.0)  # the largest allowed still works
    dev.clear_faults()


def test_oversized_admin_body_is_refused(dev: DevServer) -> None:
    body = b'{"user": "' + b"a" * 70_000 + b'"}'
    answer = httpx.post(dev.base_url + "/admin/auto_approve", content=body, headers=JSON)
    assert answer.status_code == 400
    assert "larger than 65536 bytes" in answer.json()["error_description"]
    assert dev.auto_approve is None
