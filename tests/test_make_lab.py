"""``make lab``, the README's first command, serves JupyterLab on 127.0.0.1, as root or not.

Two tests run the real ``lab`` target of the Makefile:

* in the repository, with ``VENV`` set to the environment running the tests (after ``make
  test``, the repository's ``.venv``): ``make -n lab`` must show that it would start
  JupyterLab at once (the install ``make test`` made is enough), with ``--allow-root``
  exactly when the tests run as root;
* in a fresh copy of the repository with no venv, as a normal user (``nobody`` when the tests
  run as root): ``make lab`` makes the venv, installs the notebooks' packages (not the dev
  toolchain) and starts JupyterLab.

Each waits until JupyterLab answers ``/api/status`` with the token from the URL it printed,
checks that it listens on 127.0.0.1 and nowhere else and that root did not stop it, then
sends SIGTERM to the process group of ``make`` and checks that no process of it is left.
Jupyter's config, data and runtime directories are in a temporary directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flow_helpers import free_port

ROOT = Path(__file__).parent.parent
ROOT_REFUSAL = "Running as root is not recommended"
LAB_ARGS = "--no-browser --ServerApp.port_retries=0"  # a taken port fails, not another port
START_TIMEOUT = 60.0
INSTALL_TIMEOUT = 900.0  # a fresh venv and the notebooks' packages first (about 30 s here)
STOP_TIMEOUT = 20.0
TCP_LISTEN = "0A"  # the state column of /proc/net/tcp
SIOCGIFADDR = 0x8915

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc and uses id -u")


def _make_env(tmp: Path) -> dict[str, str]:
    """The caller's environment with Jupyter's directories in ``tmp``; no display, no make flags.

    ``MAKEFLAGS`` from a ``make test`` around pytest could make this make silent (``-s``) or
    parallel; ``VENV`` is passed on the command line instead.
    """
    drop = ("JUPYTER", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DISPLAY", "WAYLAND_DISPLAY")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for name in ("config", "data", "runtime"):
        (tmp / name).mkdir()
        env[f"JUPYTER_{name.upper()}_DIR"] = str(tmp / name)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _make_command(port: int) -> list[str]:
    return ["make", "lab", f"VENV={sys.prefix}", f"LAB_PORT={port}", f"LAB_ARGS={LAB_ARGS}"]


def _dry_run(command: list[str], env: dict[str, str]) -> list[str]:
    """What ``make -n lab`` would run: only the JupyterLab command, or the test says why not."""
    done = subprocess.run(
        [*command[:2], "-n", *command[2:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, (
        f"`make lab` would install first (its stamp in {sys.prefix} is missing or older than "
        "pyproject.toml, or that is not a venv made by make): run `make install` (or "
        "`make test`) and run this test again. `make -n lab` says:\n" + done.stdout
    )
    return lines[0].split()


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of the TCP sockets listening on ``port`` (IPv4 and IPv6)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state != TCP_LISTEN or int(hex_port, 16) != port:
                    continue
                raw = bytes.fromhex(address)  # 32-bit words in host (little-endian) order
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
                found.add(socket.inet_ntop(family, words))
    return found


def _other_ipv4_addresses() -> list[str]:
    """This machine's IPv4 addresses that are not loopback, one per network interface."""
    addresses: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, request)
            except OSError:  # an interface without an IPv4 address
                continue
            address = socket.inet_ntoa(answer[20:24])
            if not address.startswith("127."):
                addresses.append(address)
    return addresses


def _wait_for_lab(
    proc: subprocess.Popen[bytes], log: Path, port: int, timeout: float
) -> tuple[str, str]:
    """Poll until JupyterLab answers ``/api/status`` with the token of the URL it printed.

    Returns that URL and its token.
    """
    url = re.compile(rf"http://127\.0\.0\.1:{port}/lab\?token=([0-9a-f]+)")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text()
        assert proc.poll() is None, f"make lab stopped (exit {proc.returncode}):\n{text}"
        printed = url.search(text)
        if printed:
            status = f"http://127.0.0.1:{port}/api/status?token={printed.group(1)}"
            try:
                if httpx.get(status, timeout=2, trust_env=False).status_code == 200:
                    return printed.group(0), printed.group(1)
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"make lab did not serve on 127.0.0.1:{port}:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> bool:
    """SIGTERM to the whole process group (make and JupyterLab); True if it had to be killed."""
    if proc.poll() is not None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
        return False
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def _processes_of(session: int, marks: tuple[str, ...]) -> Iterator[str]:
    """Live processes in ``session`` or whose command line holds one of ``marks``, outside the
    test run's own session (its pytest-xdist workers' command lines name the repository)."""
    ours = os.getsid(0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it has just gone
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, pgrp, session
        if fields[0] == "Z":
            continue
        if int(fields[3]) == session or (
            int(fields[3]) != ours and any(mark in cmdline for mark in marks)
        ):
            yield f"{entry.name}: {cmdline.strip()}"


def _leftovers(session: int, marks: tuple[str, ...]) -> list[str]:
    """Poll (briefly) until no such process is left; the ones still there at the deadline."""
    deadline = time.monotonic() + 10
    while True:
        left = list(_processes_of(session, marks))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def _serve_and_stop(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    timeout: float = START_TIMEOUT,
    **popen: Any,
) -> str:
    """Run ``make lab``, check what it serves and where, stop it; the log's text."""
    port = int(next(arg for arg in command if arg.startswith("LAB_PORT=")).split("=")[1])
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )
        try:
            lab_url, token = _wait_for_lab(proc, log_path, port, timeout)
            contents = f"http://127.0.0.1:{port}/api/contents?token={token}"
            served = httpx.get(contents, timeout=5, trust_env=False).json()["content"]
            assert "00_setup.ipynb" in {item["name"] for item in served}  # notebooks/
            assert _listening_addresses(port) == {"127.0.0.1"}
            for address in _other_ipv4_addresses():
                with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
                    sock.settimeout(5)
                    sock.connect((address, port))
        finally:
            killed = _stop(proc)
    text = log_path.read_text()
    assert not killed, f"make lab ignored SIGTERM for {STOP_TIMEOUT} s:\n{text}"
    assert ROOT_REFUSAL not in text
    assert lab_url in text
    # The checkout's own path would also match other tests' kernels and servers: marked by it
    # are only the processes of a fresh copy.
    marks = (f"--ServerApp.port={port}", str(log_path.parent), *([str(cwd)] if cwd != ROOT else []))
    left = _leftovers(proc.pid, marks)
    assert not left, "processes left by make lab:\n" + "\n".join(left)
    return text


@pytest.mark.slow
def test_make_lab_serves_jupyterlab_on_loopback_only(tmp_path: Path) -> None:
    env = _make_env(tmp_path)
    command = _make_command(free_port())
    planned = _dry_run(command, env)
    assert planned[:3] == [f"{sys.prefix}/bin/jupyter", "lab", "--ServerApp.ip=127.0.0.1"]
    assert ("--allow-root" in planned) == (os.geteuid() == 0), planned
    text = _serve_and_stop(command, ROOT, env, tmp_path / "make-lab.log")
    assert text.splitlines()[0].split() == planned  # make echoes what it runs


# ------------------------------------------------------------ a fresh clone, a normal user


def _fresh_copy(into: Path) -> None:
    """The repository's files (as they are now, tracked or new) with no venv: a fresh clone."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)


def _normal_user() -> tuple[int, int] | None:
    """(uid, gid) of ``nobody`` when the tests run as root, else None (already a normal user)."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def _memory_tmp() -> str | None:
    """/dev/shm when it is a writable memory file system that may run programs, else None.

    The fresh venv is some 20,000 files: written, and removed at the end, in memory rather
    than on a disk that may be slow at it (removing them took 50 s on a loaded CI disk).
    """
    shm = "/dev/shm"
    try:
        flags = os.statvfs(shm).f_flag
    except OSError:
        return None
    usable = os.access(shm, os.W_OK) and not flags & (os.ST_NOEXEC | os.ST_RDONLY)
    return shm if usable else None


@pytest.fixture
def public_tmp() -> Iterator[Path]:
    """A directory a normal user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="okta-nb-auth-make-lab-", dir=_memory_tmp()))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_make_lab_on_a_fresh_clone_as_a_normal_user(public_tmp: Path) -> None:
    """From nothing (no venv) as a normal user: ``make lab`` makes the venv, installs the
    notebooks' packages only (not the dev toolchain) and serves JupyterLab on 127.0.0.1.
    Run as root, the test runs make as ``nobody``; run as a normal user, as that user."""
    clone, home = public_tmp / "clone", public_tmp / "home"
    _fresh_copy(clone)
    home.mkdir()
    env = _make_env(home)
    env.update(HOME=str(home), PYTHONNOUSERSITE="1")
    user = _normal_user()
    popen: dict[str, Any] = {}
    if user is not None:
        # nobody cannot reach root's own Python (e.g. pyenv under /root): the system's one.
        env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
        subprocess.run(["chown", "-R", f"{user[0]}:{user[1]}", str(public_tmp)], check=True)
        popen = {"user": user[0], "group": user[1], "extra_groups": []}
    command = ["make", "lab", f"LAB_PORT={free_port()}", f"LAB_ARGS={LAB_ARGS}"]
    text = _serve_and_stop(command, clone, env, home / "make-lab.log", INSTALL_TIMEOUT, **popen)
    venv = clone / ".venv"
    assert (venv / ".lab-installed-stamp").exists() and (venv / "bin" / "jupyter").exists()
    for tool in ("pytest", "mypy", "ruff", "playwright"):
        assert not (venv / "bin" / tool).exists(), f"make lab installed the dev tool {tool}"
    assert "--allow-root" not in text.split("jupyter lab", 1)[1].splitlines()[0]
    assert (venv / "pyvenv.cfg").stat().st_uid == (os.geteuid() if user is None else user[0])
