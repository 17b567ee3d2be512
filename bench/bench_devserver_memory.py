"""Benchmark: the dev server's memory and family revocation over many refreshes (issue 12, 5).

Runs a :class:`DevServer` in this process (rate limit raised), makes ``web`` rotate its refresh
tokens (``ROTATE``, idle window 10 min, access tokens 5 min) and drives 100,000 refreshes
(``--quick``: 5,000) from four threads, each following its own token family over loopback HTTP.
Every 250 refreshes the server's clock moves on two minutes, so tokens expire and the server
may prune them. It reports:

* the process's resident size (``VmRSS``) after the first 1,000 refreshes and at the end, and
  the growth in MiB (target: a few MiB; the event log filling to its 10,000 events is part of
  it, about 1.6 MiB);
* the time of ``/v1/revoke`` of a family's refresh token (which revokes the family's access
  tokens) after the first 1,000 refreshes and at the end: median of per-round medians, ratio
  end / start (target: flat);
* how many records the server keeps at the end and how many it pruned.

The two revocation figures are taken at two moments (before and after the load), each in
several rounds; the machine is shared, so they are noisy. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import threading
import time
from typing import Any

import httpx

from okta_nb_auth.devserver import DevServer

WARMUP = 1_000
THREADS = 4
STEP_EVERY = 250  # refreshes between clock steps
STEP_SECONDS = 120.0
APP_CHANGES = {"rotation": "ROTATE", "refresh_token_idle": 600, "access_token_ttl": 300}
TOKEN = "/oauth2/default/v1/token"
REVOKE = "/oauth2/default/v1/revoke"
MAX_FAILURES = 100
ROUNDS, PER_ROUND = 7, 15
RSS_TARGET_MIB = 5.0
REVOKE_TARGET = 1.25


def rss_mib() -> float:
    """This process's resident size now (Linux ``/proc``), after a full collection."""
    gc.collect()
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Load:
    """Refreshes from :data:`THREADS` threads, each along its own family, up to a total."""

    def __init__(self, dev: DevServer) -> None:
        self.dev = dev
        web = dev.app("web")
        assert web.client_secret is not None
        self.auth = (web.client_id, web.client_secret)
        self.lock = threading.Lock()
        self.done = 0
        self.failures = 0
        self.chains = [self._login() for _ in range(THREADS)]

    def _login(self) -> str:
        token = self.dev.login_as("ada@example.com", "web").refresh_token
        assert token is not None
        return token

    def run(self, total: int) -> None:
        """Go on until :attr:`done` reaches ``total`` (or too many calls failed)."""
        threads = [threading.Thread(target=self._worker, args=(i, total)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self.failures > MAX_FAILURES:
            raise SystemExit(f"{self.failures} refreshes failed; the benchmark stops")

    def _ticket(self, total: int) -> int | None:
        with self.lock:
            if self.done >= total or self.failures > MAX_FAILURES:
                return None
            self.done += 1
            return self.done

    def _worker(self, index: int, total: int) -> None:
        with httpx.Client(base_url=self.dev.base_url, auth=self.auth, timeout=30) as http:
            while (ticket := self._ticket(total)) is not None:
                if ticket % STEP_EVERY == 0:
                    self.dev.advance_clock(STEP_SECONDS)
                self._refresh(http, index)

    def _refresh(self, http: httpx.Client, index: int) -> None:
        form = {"grant_type": "refresh_token", "refresh_token": self.chains[index]}
        response = http.post(TOKEN, data=form)
        if response.status_code == 200:
            self.chains[index] = response.json()["refresh_token"]
            return
        with self.lock:
            self.failures += 1
        self.chains[index] = self._login()


def revocation_ms(dev: DevServer, load: Load) -> float:
    """Median over rounds of the median time of ``/v1/revoke`` of a fresh family's token."""
    medians = []
    with httpx.Client(base_url=dev.base_url, auth=load.auth, timeout=30) as http:
        for _ in range(ROUNDS):
            tokens = [load._login() for _ in range(PER_ROUND)]
            times = []
            for token in tokens:
                start = time.perf_counter()
                response = http.post(REVOKE, data={"token": token})
                times.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
            medians.append(statistics.median(times))
    return statistics.median(medians) * 1000


def kept(dev: DevServer) -> dict[str, int]:
    store = dev.authority.store
    with store.lock:
        return {
            "access": len(store.access),
            "refresh": len(store.refresh),
            "families": len(store.grants),
            "events": len(store.events),
            "pruned": store.sweeper.pruned,
        }


def measure(total: int) -> dict[str, Any]:
    config = {"server": {"rate_limit_per_minute": 10**9}}
    with DevServer(port=0, config=config) as dev:
        dev.configure_app("web", **APP_CHANGES)
        load = Load(dev)
        load.run(WARMUP)
        rss_start, revoke_start = rss_mib(), revocation_ms(dev, load)
        began = time.perf_counter()
        load.run(total)
        seconds = time.perf_counter() - began
        rss_end, revoke_end = rss_mib(), revocation_ms(dev, load)
        return {
            "rss": (rss_start, rss_end),
            "revoke": (revoke_start, revoke_end),
            "rate": (total - WARMUP) / seconds,
            "kept": kept(dev),
            "failures": load.failures,
            "dropped": dev.events_dropped,
        }


def _row(figure: str, value: str, baseline: str, ratio: float | None, target: str,
         met: bool | None, note: str) -> dict[str, object]:  # fmt: skip
    if met is False:
        note = f"LOSS: target {target} not met. {note}"
    return {
        "section": "Dev server memory", "figure": figure, "value": value, "baseline": baseline,
        "ratio": ratio, "target": target, "met": met, "note": note,
    }  # fmt: skip


def results(quick: bool = False) -> list[dict[str, object]]:
    total = 5_000 if quick else 100_000
    m = measure(total)
    (rss0, rss1), (rev0, rev1), k = m["rss"], m["revoke"], m["kept"]
    growth = rss1 - rss0
    per_refresh = growth * 2**20 / (total - WARMUP)
    shared = "in-process server and four client threads; a loaded, shared 2-core machine"
    return [
        _row(
            f"RSS growth over {total:,} refreshes (from the 1,000 mark to the end)",
            f"{growth:+.1f} MiB ({rss1:.1f} MiB at the end; {per_refresh:+.0f} B/refresh)",
            f"{rss0:.1f} MiB after 1,000",
            round(rss1 / rss0, 3),
            f"<= +{RSS_TARGET_MIB:.0f} MiB",
            growth <= RSS_TARGET_MIB,
            f"includes the event log filling to {k['events']:,} events "
            f"({m['dropped']:,} dropped); {shared}",
        ),
        _row(
            "family revocation (/v1/revoke of a refresh token), end vs after 1,000",
            f"{rev1:.2f} ms",
            f"{rev0:.2f} ms",
            round(rev1 / rev0, 3),
            f"<= {REVOKE_TARGET}",
            rev1 / rev0 <= REVOKE_TARGET,
            f"median of {ROUNDS} round medians of {PER_ROUND} calls each, at two moments "
            "(not interleaved); loopback HTTP included",
        ),
        _row(
            "records kept at the end (access, refresh, families)",
            f"{k['access']:,} / {k['refresh']:,} / {k['families']:,}",
            "",
            None,
            "",
            None,
            f"{k['pruned']:,} records pruned; {m['rate']:,.0f} refreshes/s; "
            f"{m['failures']} refreshes failed",
        ),
    ]


def table(rows: list[dict[str, object]]) -> str:
    head = ["figure", "value", "baseline", "ratio", "target", "met", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = ["" if row[name] is None else str(row[name]) for name in head]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 refreshes instead of 100,000")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("bench_devserver_memory: reads /proc/self/statm, so it runs on Linux only")
        return 0
    print("## Dev server memory\n")
    print(table(results(args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
