"""Benchmark: the dev server's token throughput against raw RS256 signing, in the same run.

Run with ``make bench`` or ``.venv/bin/python bench/bench_devserver.py [--quick]``. It starts
``okta-nb-auth devserver --port 0`` as a separate process (its work does not share this
process's GIL), with the rate limit raised through a config file, and measures in shuffled
rounds:

* the baseline: the raw RS256 signing rate of one thread in this process, ``jwt.encode`` of
  the claims of a token the dev server issued, with a 2048-bit key as the dev server's, the
  key object prepared once and the dev server's ``{"alg", "kid"}`` header;
* the dev server's rate of successful ``client_credentials`` grants (app ``service``, Basic
  auth, one access token: one signature) and ``refresh_token`` grants (app ``web``, Basic auth,
  STATIC rotation, each client with its own refresh token; an access token and an ID token: two
  signatures) with 1, 4 and 16 concurrent clients (threads sharing one ``httpx.Client`` pool,
  started behind a barrier).

How it counts: a grant is one HTTP 200 from ``/v1/token``; its signatures are 1 for client
credentials and 2 for a refresh. The target (issue 12: >= 0.5x the raw signing rate) is judged
on signatures/s; for refresh the grants/s ratio is printed too (its ceiling is 0.5x: the
server cannot sign faster than one thread, since ``cryptography`` holds the GIL while it
signs). Per server CPU second: signatures per CPU second of the server process (psutil)
against signatures per CPU second of the signing loop. Every figure is the median of
per-round ratios. Failed requests are counted and reported. The machine is shared, so figures
measured under load are noisy.

Nothing here asserts a time: it prints figures for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import psutil
import raw_http
from cryptography.hazmat.primitives.asymmetric import rsa

CLI = Path(sys.executable).parent / "okta-nb-auth"
GRANTS = ("client_credentials", "refresh_token")
#: The JWTs a successful grant's body must carry; each is one signature.
TOKENS = {
    "client_credentials": (b'"access_token"',),
    "refresh_token": (b'"access_token"', b'"id_token"'),
}
SIGNATURES = {grant: len(tokens) for grant, tokens in TOKENS.items()}
CLIENTS = (1, 4, 16)
TARGET = 0.5
FORM = "application/x-www-form-urlencoded"
CONFIG = "[server]\nrate_limit_per_minute = 1000000000\n"
Row = dict[str, object]
MAX_REQUESTS = 1_000_000  # bound on one cell's requests per client, whatever the clock does


@dataclass
class Cell:
    """One measured run: successes, failures, wall seconds, server CPU seconds."""

    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    cpu: float = 0.0


@dataclass
class Samples:
    rate: list[float] = field(default_factory=list)
    ratio: list[float] = field(default_factory=list)
    cpu_ratio: list[float] = field(default_factory=list)
    failed: int = 0


@contextmanager
def dev_server() -> Iterator[tuple[str, psutil.Process]]:
    """Run the dev server CLI with the rate limit raised; yield its base URL and process."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.toml"
        config.write_text(CONFIG)
        proc = subprocess.Popen(
            [str(CLI), "devserver", "--port", "0", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.startswith("READY "):
                raise SystemExit(f"dev server did not start: {line!r}")
            yield line.split()[1].removesuffix("/oauth2/default"), psutil.Process(proc.pid)
        finally:
            proc.terminate()
            proc.communicate(timeout=10)


class Grants:
    """One token request per grant type and client, encoded once (the client's share of the
    CPU is kept small: it runs on the same two cores as the server)."""

    def __init__(self, base: str, clients: int) -> None:
        admin = httpx.Client(base_url=base + "/admin")
        self.token_url = base + "/oauth2/default/v1/token"
        self.auth = {app: self._basic(admin, app) for app in ("service", "web")}
        self.refresh = [self._login(admin) for _ in range(clients)]
        admin.close()

    @staticmethod
    def _basic(admin: httpx.Client, app: str) -> str:
        settings = admin.get(f"/apps/{app}").json()
        pair = f"{settings['client_id']}:{settings['client_secret']}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    @staticmethod
    def _login(admin: httpx.Client) -> str:
        body = admin.post("/login_as", json={"app": "web"}).json()
        return str(body["refresh_token"])

    def request(self, grant: str, client: int) -> bytes:
        """The bytes of ``client``'s ``grant`` request, as httpx would send them."""
        if grant == "client_credentials":
            form, app = {"grant_type": grant, "scope": "demo.read"}, "service"
        else:
            form, app = {"grant_type": grant, "refresh_token": self.refresh[client]}, "web"
        headers = {"Authorization": self.auth[app], "Content-Type": FORM}
        return raw_http.post_request(self.token_url, urlencode(form).encode(), headers)


def run_cell(grants: Grants, server: psutil.Process, grant: str, clients: int, t: float) -> Cell:
    """``clients`` threads post ``grant`` for ``t`` seconds, started behind a barrier, each on
    its own keep-alive connection (``raw_http``: the load generator's CPU stays small)."""
    barrier = threading.Barrier(clients + 1)
    counts = [Cell() for _ in range(clients)]

    def work(index: int) -> None:
        request, expected = grants.request(grant, index), TOKENS[grant]
        connection = raw_http.Connection(grants.token_url)
        try:
            barrier.wait()
            _post_until(connection, request, expected, counts[index], time.perf_counter() + t)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before, started = _cpu(server), time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    return Cell(
        ok=sum(c.ok for c in counts),
        failed=sum(c.failed for c in counts),
        seconds=time.perf_counter() - started,
        cpu=_cpu(server) - cpu_before,
    )


def _post_until(
    connection: raw_http.Connection,
    request: bytes,
    expected: tuple[bytes, ...],
    count: Cell,
    deadline: float,
) -> None:
    """Post ``request`` until ``deadline``; a success is a 200 that carries every token of
    ``expected`` (so each counted signature is in a body the client received)."""
    for _ in range(MAX_REQUESTS):
        if time.perf_counter() >= deadline:
            break
        try:
            status, body = connection.exchange(request)
        except (OSError, raw_http.HttpError):  # the connection is unusable: this client stops
            count.failed += 1
            return
        ok = status == 200 and all(name in body for name in expected)
        count.ok += ok
        count.failed += not ok


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def sample_claims(grants: Grants) -> dict[str, Any]:
    """The claims of an access token the dev server issued (unverified: only its shape)."""
    connection = raw_http.Connection(grants.token_url)
    try:
        _, body = connection.exchange(grants.request("client_credentials", 0))
    finally:
        connection.close()
    token = json.loads(body)["access_token"]
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def signing_rate(claims: dict[str, Any], key: rsa.RSAPrivateKey, t: float) -> tuple[float, float]:
    """Signatures per wall second and per CPU second of one thread signing for ``t`` s."""
    headers = {"kid": "k" * 43, "typ": None}
    count, started, cpu = 0, time.perf_counter(), time.process_time()
    deadline = started + t
    while time.perf_counter() < deadline and count < MAX_REQUESTS:
        jwt.encode(claims, key, algorithm="RS256", headers=headers)
        count += 1
    return count / (time.perf_counter() - started), count / (time.process_time() - cpu)


def measure(
    quick: bool, seed: int | None = None, rounds: int | None = None
) -> tuple[dict[str, Samples], list[float], int]:
    default, t = (1, 0.8) if quick else (5, 3.0)
    rounds = rounds or default
    rng = random.Random(seed)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    samples = {f"{g}/{n}": Samples() for g in GRANTS for n in CLIENTS}
    baseline: list[float] = []
    with dev_server() as (base, server):
        grants = Grants(base, max(CLIENTS))
        claims = sample_claims(grants)
        for grant in GRANTS:  # warm up the server's code paths
            run_cell(grants, server, grant, max(CLIENTS), 0.2)
        for _ in range(rounds):
            _round(rng, t, grants, server, claims, key, samples, baseline)
    return samples, baseline, rounds


def _round(
    rng: random.Random,
    t: float,
    grants: Grants,
    server: psutil.Process,
    claims: dict[str, Any],
    key: rsa.RSAPrivateKey,
    samples: dict[str, Samples],
    baseline: list[float],
) -> None:
    """One round: the signing baseline and every cell, in a shuffled order."""
    cells: list[tuple[str, int] | None] = [None, *((g, n) for g in GRANTS for n in CLIENTS)]
    rng.shuffle(cells)
    cells_done: dict[str, Cell] = {}
    sign = (0.0, 0.0)
    for cell in cells:
        if cell is None:
            sign = signing_rate(claims, key, t)
        else:
            cells_done[f"{cell[0]}/{cell[1]}"] = run_cell(grants, server, *cell, t)
    baseline.append(sign[0])
    for name, done in cells_done.items():
        sigs = done.ok * SIGNATURES[name.split("/")[0]]
        entry = samples[name]
        entry.rate.append(done.ok / done.seconds)
        entry.ratio.append(sigs / done.seconds / sign[0])
        entry.cpu_ratio.append(sigs / done.cpu / sign[1] if done.cpu > 0 else 0.0)
        entry.failed += done.failed


def _row(figure: str, value: str, baseline: str, ratio: float, target: bool, note: str) -> Row:
    met = ratio >= TARGET if target else None
    if met is False:
        note = f"LOSS: {TARGET - ratio:.2f} short of {TARGET}x. " + note
    return {
        "section": "dev-server throughput",
        "figure": figure,
        "value": value,
        "baseline": baseline,
        "ratio": round(ratio, 3),
        "target": f">= {TARGET}" if target else "",
        "met": met,
        "note": note.strip(),
    }


def rows(samples: dict[str, Samples], baseline: list[float], rounds: int) -> list[Row]:
    sign = statistics.median(baseline)
    base = f"{sign:.0f} signatures/s (one thread, PyJWT RS256, 2048-bit key)"
    out: list[Row] = []
    for name, entry in samples.items():
        grant, clients = name.split("/")
        per_grant = SIGNATURES[grant]
        rate = statistics.median(entry.rate)
        ratio = statistics.median(entry.ratio)
        failed = f"{entry.failed} failed requests. " if entry.failed else ""
        label = f"{grant}, {clients} client{'s' if clients != '1' else ''}"
        note = f"{failed}median of {rounds} shuffled round(s)"
        out.append(
            _row(
                f"{label}: signatures/s vs raw signing",
                f"{rate * per_grant:.0f} signatures/s ({rate:.0f} grants/s)",
                base,
                ratio,
                True,
                note,
            )
        )
        if per_grant > 1:
            out.append(
                _row(
                    f"{label}: grants/s vs raw signing",
                    f"{rate:.0f} grants/s",
                    base,
                    ratio / per_grant,
                    False,
                    f"a refresh signs {per_grant} JWTs: ceiling {1 / per_grant}x",
                )
            )
        out.append(
            _row(
                f"{label}: signatures per server CPU-s vs raw signing per CPU-s",
                "",
                "",
                statistics.median(entry.cpu_ratio),
                False,
                "share of the server's CPU that is signing",
            )
        )
    return out


def results(quick: bool = False) -> list[Row]:
    """The bench contract: one dict per figure (see the module docstring)."""
    samples, baseline, rounds = measure(quick)
    return rows(samples, baseline, rounds)


def _print(table: list[Row]) -> None:
    keys = ("figure", "value", "baseline", "ratio", "target", "met", "note")
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in table:
        print("| " + " | ".join("" if row[k] is None else str(row[k]) for k in keys) + " |")


def main(argv: list[str] | None = None, out: Callable[[list[Row]], None] = _print) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 short round (under a minute)")
    parser.add_argument("--seed", type=int, default=None, help="shuffle seed (default random)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5, quick 1)")
    args = parser.parse_args(argv)
    samples, baseline, rounds = measure(args.quick, args.seed, args.rounds)
    out(rows(samples, baseline, rounds))


if __name__ == "__main__":
    main()
