"""Configuration layers and the secret key."""
from __future__ import annotations

import pytest
from flask import Flask

from participation.config import load_config


def make(tmp_path, **overrides) -> Flask:
    app = Flask("linli_test", instance_path=str(tmp_path / "instance"))
    load_config(app, overrides or None)
    return app


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("LINLI_SECRET_KEY", raising=False)
    first = make(tmp_path).config["SECRET_KEY"]
    second = make(tmp_path).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0


def test_default_database_is_sqlite_in_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    uri = make(tmp_path).config["SQLALCHEMY_DATABASE_URI"]
    assert uri == f"sqlite:///{tmp_path / 'instance' / 'linli.sqlite'}"


def test_database_url_and_prefixed_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("LINLI_PAGE_SIZE", "20")
    app = make(tmp_path)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert app.config["PAGE_SIZE"] == 20


def test_instance_config_file_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("LINLI_PAGE_SIZE", raising=False)
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text("PAGE_SIZE = 7\n")
    assert make(tmp_path).config["PAGE_SIZE"] == 7


@pytest.mark.parametrize("key", [None, "dev", "short-key", "changeme"])
def test_production_refuses_weak_secret_keys(tmp_path, monkeypatch, key):
    monkeypatch.delenv("LINLI_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        make(tmp_path, PRODUCTION=True, SECRET_KEY=key)


STRONG_KEY = "k" * 20 + "9f3a0c2e5b7d1f4a6c8e"


def test_production_with_strong_key_sets_secure_cookies_and_trusted_host(tmp_path):
    app = make(tmp_path, PRODUCTION=True, SECRET_KEY=STRONG_KEY,
               BASE_URL="https://linli.example.gov.cn")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["TRUSTED_HOSTS"] == ["linli.example.gov.cn"]


def test_production_needs_a_base_url(tmp_path):
    with pytest.raises(RuntimeError, match="BASE_URL"):
        make(tmp_path, PRODUCTION=True, SECRET_KEY=STRONG_KEY)


def test_several_workers_starting_at_once_share_one_secret_key(tmp_path, monkeypatch):
    import threading

    monkeypatch.delenv("LINLI_SECRET_KEY", raising=False)
    keys, start = [], threading.Barrier(8)

    def worker():
        start.wait()
        keys.append(make(tmp_path).config["SECRET_KEY"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) >= 32
