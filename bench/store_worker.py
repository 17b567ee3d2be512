"""A worker process of ``bench_store``: one session, driven by JSON lines on stdin."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from typing import Any

from okta_nb_auth import AuthSession, OktaConfig, TokenSet
from okta_nb_auth.store import FileStore

__all__ = ["worker_main"]


class Worker:
    """One worker process's session, driven by JSON lines on stdin (answers on stdout)."""

    def __init__(self, start: dict[str, Any]) -> None:
        self.offset = float(start["offset"])
        self.url = str(start["url"])
        config = OktaConfig(**start["config"])
        if start["mode"] == "store":
            self.session = AuthSession.from_store(
                config, store=FileStore(start["store"]), clock=self.clock
            )
        else:
            tokens = TokenSet(**start["tokens"])
            self.session = AuthSession(config, tokens, clock=self.clock)

    def clock(self) -> float:
        """``time.time()`` shifted as the dev server's clock is."""
        return time.time() + self.offset

    def run(self, offset: float, count: int) -> dict[str, Any]:
        """Follow the server's clock to ``offset``, then make ``count`` API requests."""
        self.offset = offset
        errors: Counter[str] = Counter()
        ok = 0
        for _ in range(count):
            try:
                response = self.session.get(self.url)
            except Exception as exc:  # counted, not raised: the parent tallies failures
                errors[_describe_error(exc)] += 1
                continue
            if response.status_code == 200:
                ok += 1
            else:
                errors[f"HTTP {response.status_code}"] += 1
        return {"ok": ok, "failed": count - ok, "errors": dict(errors)}


def _describe_error(exc: Exception) -> str:
    """The exception's class, with its OAuth error code when it has one."""
    code = getattr(exc, "error", None)
    return f"{type(exc).__name__}({code})" if code else type(exc).__name__


def worker_main() -> None:
    """The ``--worker`` loop: a start line, then ``run`` lines until ``quit`` or EOF."""
    worker = Worker(json.loads(sys.stdin.readline()))
    _answer({"ready": True})
    for line in sys.stdin:
        message = json.loads(line)
        if message["op"] == "quit":
            break
        _answer(worker.run(float(message["offset"]), int(message["requests"])))
    worker.session.close()


def _answer(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    worker_main()
