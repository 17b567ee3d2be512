"""A process of its own sharing the token store, for tests/test_store_processes.py.

Usage::

    python store_child.py '<config as JSON>' <whoami URL> [--debug] [--blocking-save]

It prints ``{"ready": <pid>}``, then reads one command a line from stdin and answers each with
exactly one JSON line on stdout (the tests synchronise on these lines, never on time):

``offset <seconds>``
    the session's clock becomes ``time.time() + seconds`` (to follow the dev server's clock)
    -> ``{"offset": seconds}``
``resume``
    ``AuthSession.from_store(config, store=FileStore(), clock=<that clock>)`` ->
    ``{"resumed": true}``
``resume-default``
    ``AuthSession.from_store(config)``: default store, real clock -> ``{"resumed": true}``
``get <n>``
    n GET requests to the whoami URL, one after the other -> ``{"statuses": [200, ...]}``
``state``
    ``{"refresh_digest": ...}``: the digest (never the token) of the refresh token held now

A command that fails answers ``{"error": <type>, "types": [<type and its bases>],
"message": ...}`` instead. Every answer carries ``"warnings"``: those given since the last
answer (the tests expect none). EOF on stdin closes the session and exits 0.

``--debug`` sends okta_nb_auth's DEBUG log to stderr (``DEBUG okta_nb_auth: <message>``).
``--blocking-save``: the store's ``save`` first prints ``{"saving": true}`` and then waits for
a line on stdin (the test kills the process there: Okta has answered the refresh, the store
has not been written).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from typing import Any

from okta_nb_auth import AuthSession, OktaConfig
from okta_nb_auth.store import FileStore, StoreEntry
from okta_nb_auth.store._entry import digest

_warnings: list[str] = []
#: Longer than any fault the tests hold a token call with: a call ends when the test says so
#: (or kills this process), never because a loaded machine was slow.
HTTP_TIMEOUT = 120.0


class Clock:
    """Real time plus an offset set by the ``offset`` command."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class BlockingSaveStore(FileStore):
    """A FileStore whose ``save`` announces itself, then waits for a line on stdin."""

    def save(self, entry: StoreEntry) -> None:
        reply({"saving": True})
        sys.stdin.readline()  # the test kills the process while it waits here
        super().save(entry)


def reply(answer: dict[str, Any]) -> None:
    """Write one answer line (with the warnings given since the last one)."""
    answer = {**answer, "warnings": list(_warnings)}
    _warnings.clear()
    print(json.dumps(answer), flush=True)


def _record_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    _warnings.append(f"{category.__name__}: {message}")


def _failure(exc: Exception) -> dict[str, Any]:
    types = [cls.__name__ for cls in type(exc).__mro__ if cls not in (object, BaseException)]
    return {"error": type(exc).__name__, "types": types, "message": str(exc)}


class Child:
    """The session and the clock, and what each command does."""

    def __init__(self, config: OktaConfig, url: str, store: FileStore) -> None:
        self.config, self.url, self.store = config, url, store
        self.clock = Clock()
        self.session: AuthSession | None = None

    def _adopt(self, session: AuthSession) -> dict[str, Any]:
        if self.session is not None:
            self.session.close()
        self.session = session
        return {"resumed": True}

    def _session(self) -> AuthSession:
        if self.session is None:
            raise RuntimeError("no session: send 'resume' first")
        return self.session

    def run(self, command: str, argument: str) -> dict[str, Any]:
        """Carry out one command; its answer."""
        if command == "offset":
            self.clock.offset = float(argument)
            return {"offset": self.clock.offset}
        if command == "resume":
            return self._adopt(
                AuthSession.from_store(
                    self.config, store=self.store, clock=self.clock, timeout=HTTP_TIMEOUT
                )
            )
        if command == "resume-default":
            return self._adopt(AuthSession.from_store(self.config))
        if command == "get":
            statuses: list[int] = []
            session = self._session()
            for _ in range(int(argument)):
                statuses.append(session.get(self.url).status_code)
            return {"statuses": statuses}
        if command == "state":
            tokens = self._session().tokens
            refresh = tokens.refresh_token if tokens is not None else None
            return {"refresh_digest": digest(refresh) if refresh else None}
        raise ValueError(f"unknown command {command!r}")

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def main(argv: list[str]) -> int:
    """Answer commands until stdin ends."""
    config = OktaConfig(**json.loads(argv[0]))
    flags = set(argv[2:])
    if "--debug" in flags:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("okta_nb_auth")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    warnings.simplefilter("always")
    warnings.showwarning = _record_warning
    store = BlockingSaveStore() if "--blocking-save" in flags else FileStore()
    child = Child(config, argv[1], store)
    reply({"ready": os.getpid()})
    try:
        while line := sys.stdin.readline():
            command, _, argument = line.strip().partition(" ")
            try:
                answer = child.run(command, argument)
            except Exception as exc:  # answered, so the test sees the typed error
                answer = _failure(exc)
            reply(answer)
    finally:
        child.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
