"""Mutation testing (``make mutation``): mutmut 3 over the token-handling modules.

Each group of modules runs against its own test files only, in a scratch copy of the
package and tests under ``.mutation/<group>/`` (mutmut then mutates a further copy in
``.mutation/<group>/mutants/``), so the tracked sources are never touched and other work in
the checkout goes on undisturbed. Afterwards it prints, per module and in total,

    killed / (mutants - equivalent)

where the equivalent mutants (no test can tell them apart from the original) are listed,
with a reason each, in ``bench/mutation-equivalents.txt``. An entry names the mutant and a
piece of its mutated line; when the line no longer matches (the function changed, so mutmut
renumbered its mutants), the entry is reported as stale and not excluded.

Not mutated: debug and info log lines (diagnostics). Not run: the tests in DESELECTED (a
warning's stack level, which mutmut's trampolines change). Timeouts count as killed.

Usage: ``python bench/mutation.py [--group NAME ...] [--keep] [--report-only]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
EQUIVALENTS = ROOT / "bench" / "mutation-equivalents.txt"
BIN = Path(sys.executable).parent
TARGET = 0.95


@dataclass(frozen=True)
class Group:
    """Modules mutated together, and the test files that are theirs."""

    modules: tuple[str, ...]
    tests: tuple[str, ...]


GROUPS: dict[str, Group] = {
    "auth": Group(
        (
            "okta_nb_auth/_auth.py",
            "okta_nb_auth/_signing.py",
            "okta_nb_auth/_fetch.py",
            "okta_nb_auth/store/_holding.py",
        ),
        (
            "tests/test_auth_unit.py",
            "tests/test_auth_fast_path.py",
            "tests/test_auth_mutants.py",
            "tests/test_fetch_mutants.py",
            "tests/test_holding_mutants.py",
            "tests/test_session_unit.py",
            "tests/test_auth_state.py",
            "tests/test_rotated_token_kept.py",
            "tests/test_session_devserver.py",
            "tests/test_store_rotation_order.py",
            "tests/test_store_sessions.py",
        ),
    ),
    "verify": Group(
        ("okta_nb_auth/_verify.py",),
        (
            "tests/test_verify.py",
            "tests/test_verify_claims.py",
            "tests/test_verify_mutants.py",
            "tests/test_keys_once.py",
            "tests/test_key_sets.py",
        ),
    ),
    "jwks": Group(
        ("okta_nb_auth/_jwks.py",),
        ("tests/test_jwks.py", "tests/test_jwks_mutants.py", "tests/test_key_sets.py"),
    ),
    "protocol": Group(
        ("okta_nb_auth/_protocol.py",),
        ("tests/test_protocol.py", "tests/test_protocol_mutants.py"),
    ),
    "models": Group(
        ("okta_nb_auth/_models.py",), ("tests/test_models.py", "tests/test_models_mutants.py")
    ),
    "grants": Group(
        ("okta_nb_auth/devserver/_grants.py",),
        (
            "tests/test_devserver_refresh.py",
            "tests/test_devserver_device.py",
            "tests/test_devserver_tokens.py",
            "tests/test_devserver_token_errors.py",
            "tests/test_devserver_authcode.py",
            "tests/test_devserver_client_credentials.py",
            "tests/test_grants_mutants.py",
        ),
    ),
}

#: Tests left out of the mutation run, with the reason: mutmut's trampoline adds stack frames
#: around every function of a mutated module, so a warning's ``stacklevel`` points elsewhere.
DESELECTED = (
    "tests/test_holding_mutants.py"
    "::test_a_second_store_is_refused_with_a_warning_at_the_callers_line",
)

#: mutmut's statuses that count as a detected mutant.
DETECTED = {"killed", "timeout", "segfault", "caught by type check"}


def _toml_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def _deselect(group: Group) -> tuple[str, ...]:
    chosen = [test for test in DESELECTED if test.split("::")[0] in group.tests]
    return tuple(arg for test in chosen for arg in ("--deselect", test))


def _config(group: Group) -> str:
    """The scratch copy's pyproject.toml: the project's pytest settings and mutmut's."""
    return (
        "[tool.pytest.ini_options]\n"
        'addopts = "-ra --strict-markers -p no:cacheprovider"\n'
        # A test that fails half-way (as it should, against a mutant) may leave a socket
        # for the garbage collector; mutmut's own forced-failure run must not crash on it.
        'filterwarnings = ["error", "ignore:Exception ignored in. <socket.socket'
        ':pytest.PytestUnraisableExceptionWarning"]\n'
        'markers = ["slow: takes more than a few seconds"]\n\n'
        "[tool.mutmut]\n"
        'source_paths = ["okta_nb_auth"]\n'
        f"only_mutate = {_toml_list(group.modules)}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(group.tests)}\n"
        f"pytest_add_cli_args = {_toml_list(_deselect(group))}\n"
        "use_git_change_detection = false\n"
        'also_copy = ["README.md", "notebooks"]\n'
        # Debug and info log lines are diagnostics, not behaviour: not mutated.
        'do_not_mutate_patterns = ["^\\\\s*log\\\\.(debug|info)\\\\("]\n'
    )


def prepare(name: str, group: Group, keep: bool) -> Path:
    """A scratch copy of the package and the tests, with the group's configuration."""
    where = WORK / name
    if where.exists() and not keep:
        shutil.rmtree(where)
    where.mkdir(parents=True, exist_ok=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("okta_nb_auth", "tests", "notebooks"):  # conftest reads notebooks/
        shutil.copytree(ROOT / folder, where / folder, ignore=skip, dirs_exist_ok=True)
    shutil.copy2(ROOT / "README.md", where / "README.md")  # a test runs the README's example
    (where / "pyproject.toml").write_text(_config(group))
    return where


def run(name: str, where: Path) -> tuple[float, bool]:
    """Run mutmut in ``where`` (its output goes to mutmut.log there): the seconds it took, and
    whether it finished."""
    started = time.monotonic()
    with open(where / "mutmut.log", "w") as log:
        code = subprocess.call(
            [str(BIN / "mutmut"), "run"], cwd=where, stdout=log, stderr=subprocess.STDOUT
        )
    seconds = time.monotonic() - started
    print(f"{name}: mutmut ran in {seconds:.0f} s (exit {code}; log: {where / 'mutmut.log'})")
    return seconds, code == 0


def statuses(where: Path, module: str) -> dict[str, str]:
    """Mutant name -> mutmut's status, for one module of a finished run."""
    from mutmut.stats import status_by_exit_code

    meta = where / "mutants" / (module + ".meta")
    if not meta.exists():
        return {}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {key: status_by_exit_code[code] for key, code in codes.items()}


def load_equivalents() -> dict[str, tuple[str, str]]:
    """Mutant name -> (a piece of its mutated line, why it is equivalent)."""
    found: dict[str, tuple[str, str]] = {}
    for line in EQUIVALENTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, rest = line.split(" | ", 1)  # the piece of line may itself hold " | "
            snippet, reason = rest.rsplit(" | ", 1)
            found[name.strip()] = (snippet.strip(), reason.strip())
    return found


def mutated_lines(where: Path, mutant: str) -> str:
    """The added lines of ``mutmut show``'s diff for ``mutant``."""
    shown = subprocess.run(
        [str(BIN / "mutmut"), "show", mutant], cwd=where, capture_output=True, text=True
    ).stdout
    added = (line for line in shown.splitlines() if line.startswith("+"))
    return "\n".join(line[1:] for line in added if not line.startswith("+++"))


@dataclass
class Score:
    """One module's tally."""

    module: str
    counts: Counter[str]
    equivalent: int
    survivors: list[str]

    @property
    def killed(self) -> int:
        return sum(self.counts[s] for s in DETECTED)

    @property
    def scored(self) -> int:
        return sum(self.counts.values()) - self.equivalent

    def line(self) -> str:
        rate = self.killed / self.scored if self.scored else 1.0
        total = sum(self.counts.values())
        return (
            f"{self.module:36} {self.killed:4d} / ({total:4d} - {self.equivalent:3d} eq) "
            f"= {rate:6.1%}"
        )


def score(
    where: Path, module: str, equivalents: dict[str, tuple[str, str]], used: set[str]
) -> Score:
    """Tally one module; the equivalents it matched go into ``used``."""
    found = statuses(where, module)
    counts = Counter(found.values())
    survivors, equivalent = [], 0
    for mutant, status in sorted(found.items()):
        if status in DETECTED:
            continue
        if mutant in equivalents:
            snippet = equivalents[mutant][0]
            if snippet in mutated_lines(where, mutant):
                equivalent += 1
                used.add(mutant)
                continue
            print(f"  stale equivalent (its line no longer holds {snippet!r}): {mutant}")
        survivors.append(f"{mutant} ({status})")
    return Score(module, counts, equivalent, survivors)


def report(scores: list[Score]) -> bool:
    """Print the per-module and total scores and the survivors; True when on target."""
    print("\nmodule                               killed / (total - equivalent)")
    for s in scores:
        print(s.line())
    killed = sum(s.killed for s in scores)
    scored = sum(s.scored for s in scores)
    total = sum(sum(s.counts.values()) for s in scores)
    equivalent = sum(s.equivalent for s in scores)
    rate = killed / scored if scored else 1.0
    print(f"{'TOTAL':36} {killed:4d} / ({total:4d} - {equivalent:3d} eq) = {rate:6.1%}")
    survivors = [name for s in scores for name in s.survivors]
    if survivors:
        listing = WORK / "survivors.txt"
        listing.write_text("".join(f"{name}\n" for name in survivors))
        print(f"\n{len(survivors)} surviving non-equivalent mutants (also in {listing}):")
        for name in survivors[:40]:
            print(f"  {name}")
        print("See one with: cd .mutation/<group> && ../../.venv/bin/mutmut show NAME")
    return rate >= TARGET


def unused(equivalents: dict[str, tuple[str, str]], used: set[str], modules: list[str]) -> None:
    """Say which listed equivalents of the scored modules no longer survive at all."""
    prefixes = tuple(module.removesuffix(".py").replace("/", ".") + "." for module in modules)
    for name in sorted(set(equivalents) - used):
        if name.startswith(prefixes):
            print(f"  listed as equivalent but not a survivor (killed or renumbered): {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", choices=sorted(GROUPS))
    parser.add_argument("--keep", action="store_true", help="reuse earlier results")
    parser.add_argument("--report-only", action="store_true", help="score the last run")
    args = parser.parse_args()
    names = args.group or list(GROUPS)
    equivalents, used = load_equivalents(), set[str]()
    scores, seconds, finished = [], 0.0, True
    for name in names:
        group, where = GROUPS[name], WORK / name
        if not args.report_only:
            where = prepare(name, group, args.keep)
            took, ok = run(name, where)
            seconds, finished = seconds + took, finished and ok
        scores.extend(score(where, module, equivalents, used) for module in group.modules)
    on_target = report(scores)
    unused(equivalents, used, [m for name in names for m in GROUPS[name].modules])
    if not args.report_only:
        print(f"\nmutmut time: {seconds:.0f} s ({os.cpu_count()} cores)")
    if not finished:
        print("A mutmut run did not finish: see its mutmut.log.")
    return 0 if on_target and finished else 1


if __name__ == "__main__":
    sys.exit(main())
