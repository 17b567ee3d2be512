"""TLS on demand for the dev server: a throwaway local CA, made with ``trustme`` at start.

The CA's private key never leaves this process: only its certificate (the CA bundle that
clients trust) is written to disk, ``0600`` in a ``0700`` directory, and removed at stop, so
a copy left behind cannot be used to sign anything. The server's own key reaches disk only
for the moment uvicorn loads it (a ``0600`` temporary file, deleted at once).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from ._server import DevServerError

__all__ = ["CA_FILE", "LocalTLS", "certificate_hosts"]

#: The CA bundle's file name inside ``ca_dir`` (stable, so SSL_CERT_FILE can point at it).
CA_FILE = "okta-nb-auth-dev-ca.pem"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def certificate_hosts(*extra: str | None) -> tuple[str, ...]:
    """The names the server certificate covers: the loopback names, plus ``extra`` hosts
    (the bound address, the public URL's host) unless they are wildcard addresses."""
    found = list(LOOPBACK_NAMES)
    for host in extra:
        name = (host or "").strip("[]")
        if name and name not in found and not _unspecified(name):
            found.append(name)
    return tuple(found)


def _unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _trustme() -> Any:
    try:
        import trustme
    except ImportError:
        raise DevServerError(
            "TLS needs trustme: pip install 'okta-nb-auth[devserver]' (or pip install trustme)"
        ) from None
    return trustme


def _ca_directory(ca_dir: str | os.PathLike[str] | None) -> tuple[Path, bool]:
    """The directory for the CA bundle, and whether this run created it (and so removes it)."""
    if ca_dir is None:
        return Path(tempfile.mkdtemp(prefix="okta-nb-auth-ca-")), True  # 0700, ours alone
    path = Path(ca_dir).expanduser()
    created = not path.exists()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path, created


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        os.chmod(path, 0o600)  # a file left by an earlier run may have been wider
        out.write(data)


def _cannot_write(where: object, exc: OSError) -> DevServerError:
    reason = exc.strerror or type(exc).__name__
    return DevServerError(
        f"cannot write the dev server's CA bundle in {where}: {reason}; pass a directory you "
        "can write with --ca-dir DIR (ca_dir=), or leave it out for a private temporary one"
    )


class LocalTLS:
    """A CA made for one run, a server certificate for ``hosts``, and the CA bundle on disk.

    ``ca_bundle`` is the PEM file clients trust (``SSL_CERT_FILE``, ``verify=``, ...).
    """

    def __init__(self, hosts: Iterable[str], ca_dir: str | os.PathLike[str] | None = None) -> None:
        trustme = _trustme()
        self._ca = trustme.CA(organization_name="okta-nb-auth dev server (throwaway)")
        self._leaf = self._ca.issue_cert(*hosts)
        self._temporary = ca_dir is None
        try:
            self._dir, self._made_dir = _ca_directory(ca_dir)
        except OSError as exc:
            raise _cannot_write(ca_dir, exc) from None
        self.ca_bundle = str(self._dir / CA_FILE)
        try:
            _write_private(Path(self.ca_bundle), self._ca.cert_pem.bytes())
        except OSError as exc:
            self.remove()
            raise _cannot_write(self._dir, exc) from None

    @classmethod
    def for_server(
        cls, host: str, public_url: str | None, ca_dir: str | os.PathLike[str] | None
    ) -> LocalTLS:
        """TLS for a server bound to ``host`` and reached at ``public_url`` (if any)."""
        public = urlsplit(public_url).hostname if public_url else None
        return cls(certificate_hosts(host, public), ca_dir)

    def uvicorn_config(self, app: Any, **options: Any) -> uvicorn.Config:
        """A loaded :class:`uvicorn.Config` serving https with this run's certificate."""
        with self._leaf.private_key_and_cert_chain_pem.tempfile() as pem:
            config = uvicorn.Config(app, ssl_certfile=pem, **options)
            config.load()  # reads the key now, so its file can go (Server.run skips loading)
        return config

    def remove(self) -> None:
        """Delete the CA bundle, and the directory when this run made it (a ``ca_dir`` of
        the caller's only when nothing else was put in it)."""
        Path(self.ca_bundle).unlink(missing_ok=True)
        if self._temporary:
            shutil.rmtree(self._dir, ignore_errors=True)
        elif self._made_dir:
            with contextlib.suppress(OSError):
                self._dir.rmdir()
