"""The store contract, proven on both backends (local folder and S3 over HTTP)."""
from __future__ import annotations

import threading

import pytest

from llara.store import LocalStore, ObjectNotFound, S3Store, StoreError, open_store


def test_roundtrip_and_listing(store):
    store.put_bytes("a/b/one.json", b"1")
    store.put_bytes("a/two.json", b"22")
    store.put_bytes("z.json", b"")
    assert store.get_bytes("a/b/one.json") == b"1"
    assert store.size("a/two.json") == 2
    assert list(store.list("a/")) == ["a/b/one.json", "a/two.json"]
    assert list(store.list("a/b")) == ["a/b/one.json"]
    assert "z.json" in list(store.list())
    assert store.exists("z.json") and not store.exists("nope")


def test_overwrite_replaces(store):
    store.put_bytes("k", b"old")
    store.put_bytes("k", b"new")
    assert store.get_bytes("k") == b"new"


def test_missing_key(store):
    with pytest.raises(ObjectNotFound):
        store.get_bytes("missing/key")
    with pytest.raises(ObjectNotFound):
        store.size("missing/key")
    store.delete("missing/key")  # not an error


def test_delete(store):
    store.put_bytes("d/x", b"x")
    store.delete("d/x")
    assert not store.exists("d/x")
    assert list(store.list("d/")) == []


def test_put_if_absent_has_one_winner(store):
    results = []

    def attempt(i: int) -> None:
        results.append((store.put_if_absent("lock", str(i).encode()), i))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for ok, i in results if ok]
    assert len(winners) == 1
    assert store.get_bytes("lock") == str(winners[0]).encode()


@pytest.mark.parametrize("bad", ["", "/abs", "a/../b"])
def test_rejects_unsafe_keys(store, bad):
    with pytest.raises(ValueError):
        store.put_bytes(bad, b"x")


def test_local_writes_leave_no_temp_files(tmp_path):
    store = LocalStore(tmp_path)
    for i in range(5):
        store.put_bytes("x/y", str(i).encode())
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["y"]


def test_open_store_urls(tmp_path, s3_env):
    assert isinstance(open_store(str(tmp_path)), LocalStore)
    assert isinstance(open_store(f"file://{tmp_path}"), LocalStore)
    s3 = open_store("s3://bucket/some/prefix")
    assert isinstance(s3, S3Store) and s3.prefix == "some/prefix/"
    with pytest.raises(StoreError):
        open_store("ftp://host/x")


def test_unreachable_s3_is_a_store_error(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    from llara.config import get_settings

    get_settings.cache_clear()
    store = open_store("s3://nobucket")
    store.client.meta.config.retries = {"max_attempts": 1}
    with pytest.raises(StoreError):
        store.check()
