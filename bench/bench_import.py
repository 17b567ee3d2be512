"""Benchmark: what ``import okta_nb_auth`` costs a fresh interpreter, against ``import httpx``.

Every case is a whole fresh ``python -c ...`` process (interpreter start-up included, nothing
subtracted). A round runs every case once in a random order; each case's figure is the median
over rounds of its per-round ratio to ``import httpx`` in the same round. The time is the
child's CPU time (user + system, from the OS's accounting of the reaped child), which a loaded
machine disturbs less than wall time; the median wall ratio is given in the note.

Bytecode: the children write and read ``.pyc`` files under a private temporary
``PYTHONPYCACHEPREFIX`` (one warm-up run per case fills it), so every package, httpx and this
one alike, starts from cached bytecode as after an install. One row repeats the session import
with ``PYTHONDONTWRITEBYTECODE=1`` and no cache (this package compiled from source at every
start, httpx from its installed ``.pyc``) to show what a source checkout without bytecode pays.

Targets (issue 12): ``import okta_nb_auth`` and ``from okta_nb_auth import AuthSession`` at
most 1.5x ``import httpx``; the floor is ``import httpx, jwt, anyio``, the dependencies alone.
Nothing here asserts a time: ``tests/test_import_cost.py`` checks which modules are loaded.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SECTION = "Import"
TARGET = 1.5
CLI = Path(sys.executable).parent / "okta-nb-auth"
BASELINE = "import httpx"


@dataclass(frozen=True)
class Case:
    """One command, timed as a whole process; ``target`` None is a row for information."""

    figure: str
    argv: tuple[str, ...]
    target: float | None = None
    cached: bool = True  # False: PYTHONDONTWRITEBYTECODE=1, no bytecode cache of our own


def _python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


SESSION = Case(
    "from okta_nb_auth import AuthSession", _python("from okta_nb_auth import AuthSession"), TARGET
)
FLOOR = Case(
    "import httpx, jwt, anyio (the dependencies' floor)", _python("import httpx, jwt, anyio")
)
CASES = (
    Case(BASELINE, _python(BASELINE)),
    Case("import okta_nb_auth", _python("import okta_nb_auth"), TARGET),
    SESSION,
    FLOOR,
    Case(
        "import okta_nb_auth; okta_nb_auth.login (the login code, when used)",
        _python("import okta_nb_auth; okta_nb_auth.login"),
    ),
    Case("okta-nb-auth --help", (str(CLI), "--help")),
    Case(
        "from okta_nb_auth import AuthSession, no bytecode cache",
        SESSION.argv,
        cached=False,
    ),
)


@dataclass(frozen=True)
class Sample:
    cpu: float
    wall: float


def _env(case: Case, cache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONPYCACHE")}
    if case.cached:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(case: Case, env: Mapping[str, str]) -> Sample:
    """Run the case's command once; its CPU time is the growth of the reaped children's."""
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(case.argv, env=env, capture_output=True, timeout=60, check=False)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"{case.figure!r} failed: {done.stderr.decode()[-500:]}")
    return Sample(cpu, wall)


def measure(rounds: int, seed: int | None = None) -> dict[str, list[Sample]]:
    """``rounds`` shuffled rounds of every case, after one warm-up run each (fills the cache)."""
    order = random.Random(seed)
    samples: dict[str, list[Sample]] = {case.figure: [] for case in CASES}
    with tempfile.TemporaryDirectory(prefix="bench-import-pyc-") as cache:
        envs = {case.figure: _env(case, cache) for case in CASES}
        for case in CASES:
            run_once(case, envs[case.figure])
        for _ in range(rounds):
            for case in order.sample(CASES, len(CASES)):
                samples[case.figure].append(run_once(case, envs[case.figure]))
    return samples


def _ratios(ours: list[Sample], base: list[Sample], cpu: bool = True) -> list[float]:
    if cpu:
        return [a.cpu / b.cpu for a, b in zip(ours, base, strict=True)]
    return [a.wall / b.wall for a, b in zip(ours, base, strict=True)]


def _ms(samples: list[Sample]) -> str:
    return f"{statistics.median(s.cpu for s in samples) * 1000:.1f} ms CPU"


def _note(case: Case, ratios: list[float], walls: list[float], met: bool | None) -> str:
    q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios * 3)
    note = f"{len(ratios)} rounds; round ratios p25-p75 {q1:.3f}-{q3:.3f}; "
    note += f"wall ratio {statistics.median(walls):.3f}"
    if not case.cached:
        note += "; ours compiled from source each start, httpx from its installed .pyc"
    if met is False:
        note = f"LOSS: {statistics.median(ratios):.3f}x, over {case.target}x; " + note
    return note


def row(case: Case, samples: dict[str, list[Sample]]) -> dict[str, object]:
    ours, base = samples[case.figure], samples[BASELINE]
    ratios = _ratios(ours, base)
    ratio = statistics.median(ratios)
    met = None if case.target is None else ratio <= case.target
    return {
        "section": SECTION,
        "figure": case.figure,
        "value": _ms(ours),
        "baseline": f"{_ms(base)} ({BASELINE})",
        "ratio": round(ratio, 3),
        "target": "" if case.target is None else f"<= {case.target}",
        "met": met,
        "note": _note(case, ratios, _ratios(ours, base, cpu=False), met),
    }


def floor_row(samples: dict[str, list[Sample]]) -> dict[str, object]:
    """Our own code's share: the session import against the dependencies alone."""
    ours, floor = samples[SESSION.figure], samples[FLOOR.figure]
    ratios = _ratios(ours, floor)
    return {
        "section": SECTION,
        "figure": "from okta_nb_auth import AuthSession vs its dependencies alone",
        "value": _ms(ours),
        "baseline": f"{_ms(floor)} (import httpx, jwt, anyio)",
        "ratio": round(statistics.median(ratios), 3),
        "target": "",
        "met": None,
        "note": f"this package's own modules; {len(ratios)} rounds",
    }


def results(quick: bool = False) -> list[dict[str, object]]:
    """The bench contract: one row per case (the baseline itself excepted) and the floor row."""
    samples = measure(rounds=6 if quick else 40)
    rows = [row(case, samples) for case in CASES if case.figure != BASELINE]
    return [*rows, floor_row(samples)]


def table(rows: list[dict[str, object]]) -> str:
    keys = ("figure", "value", "baseline", "ratio", "target", "met", "note")
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for item in rows:
        cells = ("" if item[key] is None else str(item[key]) for key in keys)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 rounds instead of 40")
    args = parser.parse_args()
    print(f"## {SECTION}\n")
    print(table(results(quick=args.quick)))


if __name__ == "__main__":
    main()
