"""Where the file store keeps logins: ``$OKTA_NB_AUTH_CACHE/tokens``, else the ``tokens``
folder of the user's cache directory for okta-nb-auth (``platformdirs``). platformdirs is
pointed into ``tmp_path``, so no test touches the real user directories."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from okta_nb_auth import TokenSet
from okta_nb_auth.store import CACHE_ENV, EntryKey, FileStore, StoreEntry, resolve_store

KEY = EntryKey("https://issuer.example", "client", "sub")


def fake_platformdirs(monkeypatch: pytest.MonkeyPatch, base: Path) -> list[str]:
    """platformdirs' user directories under ``base``; the names of those asked for, in order,
    each with its app name and app author."""
    asked: list[str] = []
    for kind in ("user_cache_dir", "user_data_dir", "user_config_dir", "user_state_dir"):

        def directory(
            appname: str | None = None, appauthor: object = None, *a: object, _kind: str = kind
        ) -> str:
            asked.append(f"{_kind}({appname!r}, appauthor={appauthor!r})")
            return str(base / _kind / str(appname))

        monkeypatch.setattr(platformdirs, kind, directory)
    return asked


def save_a_login(store: FileStore) -> None:
    tokens = TokenSet("access-for-the-location-test", 2e9, refresh_token="refresh-for-it")
    store.save(StoreEntry(KEY, tokens, ("openid",)))


def test_without_okta_nb_auth_cache_the_store_is_in_the_user_cache_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CACHE_ENV)
    asked = fake_platformdirs(monkeypatch, tmp_path)
    store = FileStore()
    root = tmp_path / "user_cache_dir" / "okta-nb-auth"
    assert asked == ["user_cache_dir('okta-nb-auth', appauthor=False)"]
    assert (store.root, store.directory, store.location) == (
        root,
        root / "tokens",
        str(root / "tokens"),
    )
    default = resolve_store("default")
    assert isinstance(default, FileStore) and default.directory == store.directory
    save_a_login(store)
    assert FileStore().load(KEY) is not None
    assert {p.relative_to(tmp_path).parts[:3] for p in tmp_path.rglob("*") if p.is_file()} == {
        ("user_cache_dir", "okta-nb-auth", "tokens")
    }


@pytest.mark.parametrize("configured", ["{tmp}/my-cache", "~/my-cache", "  {tmp}/my-cache  "])
def test_okta_nb_auth_cache_moves_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: str
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(CACHE_ENV, configured.format(tmp=tmp_path))
    asked = fake_platformdirs(monkeypatch, tmp_path / "platformdirs")
    store = FileStore()
    assert (store.root, store.directory) == (
        tmp_path / "my-cache",
        tmp_path / "my-cache" / "tokens",
    )
    save_a_login(store)
    assert FileStore().load(KEY) is not None
    assert asked == [] and not (tmp_path / "platformdirs").exists()
    assert {p.parent for p in tmp_path.rglob("*.json")} == {tmp_path / "my-cache" / "tokens"}
