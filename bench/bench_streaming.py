"""Benchmark: peak memory of a streamed upload and download through AuthSession vs plain httpx.

A tiny HTTP sink on 127.0.0.1 (a thread of this process) swallows a chunked upload and
serves a download of the same size. Each transfer runs in a fresh child process (this script
with ``--child``) that makes one small warm-up request, then measures the transfer's
``tracemalloc`` peak (what Python allocated while it ran) and its RSS high-water mark. The
upload body is a generator of 64 KiB chunks of one buffer; the download is read with
``iter_bytes``. Clients: ``httpx.Client`` with a static header, ``AuthSession`` (a valid token:
no refresh) and Authlib's ``OAuth2Client`` as an anchor. Shuffled rounds; ratio = median of
per-round ratios against plain httpx.

    .venv/bin/python bench/bench_streaming.py [--quick]
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import benchkit
from benchkit import Row, median_ratio, row

__all__ = ["results"]

SECTION = "streaming"
CHUNK = 64 * 1024
MiB = 1024 * 1024
CLIENTS = ("plain", "AuthSession", "Authlib")
DIRECTIONS = ("upload", "download")


class Sink(BaseHTTPRequestHandler):
    """POST: read a chunked (or sized) body and drop it; GET /bytes/N: send N bytes."""

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        received = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while size := int(self.rfile.readline().split(b";")[0], 16):
                received += len(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
        else:
            received = len(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self._answer(json.dumps({"received": received}).encode())

    def do_GET(self) -> None:
        total = int(self.path.rsplit("/", 1)[-1])
        self.send_response(200)
        self.send_header("Content-Length", str(total))
        self.end_headers()
        block = b"x" * CHUNK
        for start in range(0, total, CHUNK):
            self.wfile.write(block[: min(CHUNK, total - start)])

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


# ------------------------------------------------------------------ the child process


def _client(kind: str) -> Any:
    import httpx

    token = "bench." + "t" * 800  # about as long as an Okta JWT
    if kind == "plain":
        return httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    if kind == "AuthSession":
        from okta_nb_auth import AuthSession, OktaConfig, TokenSet

        config = OktaConfig(issuer="https://bench.okta.test/oauth2/default", client_id="bench")
        tokens = TokenSet(access_token=token, expires_at=time.time() + 3600, refresh_token="r")
        return AuthSession(config, tokens, timeout=60)
    with warnings.catch_warnings(record=True):  # record: Authlib re-enables its warning
        warnings.simplefilter("ignore")
        from authlib.integrations.httpx_client import OAuth2Client
    expires = int(time.time()) + 3600
    return OAuth2Client(
        client_id="bench",
        token={"access_token": token, "token_type": "Bearer", "expires_at": expires},
        timeout=60,
    )


def child(kind: str, direction: str, base: str, size: int) -> dict[str, float]:
    import tracemalloc

    client = _client(kind)
    client.get(f"{base}/bytes/16").raise_for_status()  # warm-up: connection, imports
    block = b"u" * CHUNK

    def body() -> Iterator[bytes]:
        for _ in range(size // CHUNK):
            yield block

    tracemalloc.start()
    if direction == "upload":
        response = client.post(base + "/upload", content=body())
        moved = int(response.raise_for_status().json()["received"])
    else:
        moved = 0
        with client.stream("GET", f"{base}/bytes/{size}") as response:
            for chunk in response.iter_bytes():
                moved += len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    client.close()
    if moved != size:
        raise SystemExit(f"moved {moved} bytes, expected {size}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {"peak": peak, "rss": rss}


# ------------------------------------------------------------------ the parent


def run_child(kind: str, direction: str, base: str, size: int) -> dict[str, float]:
    args = [sys.executable, __file__, "--child", kind, direction, base, str(size)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{kind} {direction} failed: {tail}")
    answer: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def measure(rounds: int, size: int) -> tuple[dict[tuple[str, str], list[dict[str, float]]], str]:
    """Every (client, direction) once per round, shuffled; Authlib's failure kept as a note."""
    data: dict[tuple[str, str], list[dict[str, float]]] = {}
    problem = ""
    jobs = [(kind, direction) for kind in CLIENTS for direction in DIRECTIONS]
    rng = random.Random()
    with sink() as base:
        for _ in range(rounds):
            rng.shuffle(jobs)
            for kind, direction in jobs:
                try:
                    figures = run_child(kind, direction, base, size)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    if kind != "Authlib":
                        raise
                    problem = str(exc)
                    continue
                data.setdefault((kind, direction), []).append(figures)
    return data, problem


def _mib(values: list[float]) -> float:
    return statistics.median(values) / MiB


def _text(figures: list[dict[str, float]]) -> str:
    peak = _mib([f["peak"] for f in figures])
    return f"peak {peak:.2f} MiB (RSS high-water {_mib([f['rss'] for f in figures]):.0f} MiB)"


def _rows(
    direction: str, data: dict[tuple[str, str], list[dict[str, float]]], size: int
) -> list[Row]:
    ours, plain = data["AuthSession", direction], data["plain", direction]
    ratio = median_ratio([f["peak"] for f in ours], [f["peak"] for f in plain])
    extra = _mib([f["peak"] for f in ours]) - _mib([f["peak"] for f in plain])
    within = ratio <= 1.10 or extra < 1.0  # equal within 10 % or under 1 MiB more
    rows = [
        row(
            SECTION,
            f"{size // MiB} MiB streamed {direction}: AuthSession vs plain httpx",
            _text(ours),
            baseline=_text(plain),
            ratio=ratio,
            target="<= 1.10 or < 1 MiB more",
            met=within,
            note=f"{extra:+.2f} MiB vs plain (tracemalloc peak during the transfer)",
        )
    ]
    authlib = data.get(("Authlib", direction))
    if authlib:
        rows.append(
            row(
                SECTION,
                f"{size // MiB} MiB streamed {direction}: AuthSession vs Authlib OAuth2Client",
                _text(ours),
                baseline=_text(authlib),
                ratio=median_ratio([f["peak"] for f in ours], [f["peak"] for f in authlib]),
                target="no more than Authlib (+1 MiB)",
                met=_mib([f["peak"] for f in ours]) <= _mib([f["peak"] for f in authlib]) + 1.0,
                note="Authlib as an anchor",
            )
        )
    return rows


def results(quick: bool = False) -> list[Row]:
    """The section's rows (contract of ``bench/report.py``)."""
    rounds, size = (1, 2 * MiB) if quick else (3, 64 * MiB)
    data, problem = measure(rounds, size)
    rows: list[Row] = []
    for direction in DIRECTIONS:
        rows += _rows(direction, data, size)
    if problem:
        rows.append(row(SECTION, "Authlib OAuth2Client", "", note=f"not available: {problem}"))
    rows.append(row(SECTION, "set-up", "", note=f"{rounds} round(s), one child process each"))
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        kind, direction, base, size = sys.argv[2:6]
        print(json.dumps(child(kind, direction, base, int(size))))
    else:
        benchkit.main(results, __doc__)
