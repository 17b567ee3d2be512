"""Tasks the Dask tests run on their workers (pickled by value: workers cannot import tests/).

Each returns plain data: what the API answered, or which typed error the borrowed auth raised.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from okta_nb_auth import OktaAuthError


def _answer(response: httpx.Response) -> dict[str, Any]:
    user = response.json().get("sub") if response.status_code == 200 else None
    return {"status": response.status_code, "user": user, "retried": len(response.history)}


def _error(exc: OktaAuthError) -> dict[str, Any]:
    return {"status": None, "error": type(exc).__name__, "message": str(exc)}


def call_api(_: int, auth: httpx.Auth, url: str, calls: int = 1, pause: float = 0.0) -> Any:
    """``calls`` GETs of ``url`` (``pause`` s of "work" between them); the last answer, or
    the first non-200 one, or the typed error."""
    try:
        with httpx.Client(auth=auth, timeout=20) as http:
            for n in range(calls):
                answer = _answer(http.get(url))
                if answer["status"] != 200 or n == calls - 1:
                    return answer
                time.sleep(pause)  # the task's own work between two calls
    except OktaAuthError as exc:
        return _error(exc)
    return None


async def call_api_async(_: int, auth: Any, url: str) -> Any:
    """One GET of ``url`` with an async client (the task runs on the worker's event loop)."""
    try:
        async with auth.async_client(timeout=20) as http:
            return _answer(await http.get(url))
    except OktaAuthError as exc:
        return _error(exc)
