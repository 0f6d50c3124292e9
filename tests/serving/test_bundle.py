"""Atomic publication, alias pointers, rollback, integrity checks (both store backends)."""
from __future__ import annotations

import threading

import orjson
import pytest

from llara.bundle import (
    BundleError,
    BundleIntegrityError,
    fetch,
    list_versions,
    publish,
    read_alias,
    resolve_ref,
    rollback,
    set_alias,
    sha256_bytes,
)
from llara.recommend import Recommender

from .helpers import variant


def test_publish_then_alias_then_load(store, bundle_dir, tmp_path):
    manifest = publish(store, bundle_dir, alias="staging")
    version = manifest["version"]
    assert list_versions(store) == [version]
    pointer = read_alias(store, "staging")
    assert pointer["version"] == version and pointer["previous"] is None
    assert pointer["manifest_sha256"] == sha256_bytes(
        store.get_bytes(f"models/{version}/manifest.json"))
    local = fetch(store, resolve_ref(store, "staging"), tmp_path / "cache")
    assert Recommender(local).version == version
    assert fetch(store, resolve_ref(store, "staging"), tmp_path / "cache") == local  # cached
    # Publishing the same bundle again is a no-op; no alias -> production falls back to newest.
    assert publish(store, bundle_dir)["version"] == version
    with pytest.raises(BundleError):
        resolve_ref(store, "production")
    assert resolve_ref(store, "production", fall_back_to_newest=True).version == version


def test_alias_moves_keep_previous_and_roll_back(store, bundle_dir, tmp_path):
    v1 = publish(store, bundle_dir, alias="production")["version"]
    v2 = publish(store, variant(bundle_dir, tmp_path / "v2", "2031-01-01T00:00:00Z"),
                 alias="production")["version"]
    assert v1 != v2 and list_versions(store) == sorted([v1, v2])
    pointer = read_alias(store, "production")
    assert pointer["version"] == v2 and pointer["previous"]["version"] == v1
    assert rollback(store, "production")["version"] == v1
    assert read_alias(store, "production")["previous"]["version"] == v2
    with pytest.raises(BundleError, match="not published"):
        set_alias(store, "production", "20990101T000000Z-nothere")


def test_a_published_version_is_immutable(store, bundle_dir, tmp_path):
    publish(store, bundle_dir)
    other = variant(bundle_dir, tmp_path / "other", "2031-01-01T00:00:00Z")
    forged = orjson.loads((other / "manifest.json").read_bytes())
    forged["version"] = orjson.loads((bundle_dir / "manifest.json").read_bytes())["version"]
    forged["metrics"] = {"forged": True}
    (other / "manifest.json").write_bytes(orjson.dumps(forged))
    with pytest.raises(BundleError, match="immutable"):
        publish(store, other)


def test_tampered_files_are_refused(store, bundle_dir, tmp_path):
    version = publish(store, bundle_dir, alias="production")["version"]
    store.put_bytes(f"models/{version}/items.int8", b"\0" * 10)
    with pytest.raises(BundleIntegrityError, match="items.int8"):
        fetch(store, resolve_ref(store, "production"), tmp_path / "cache")
    assert not any((tmp_path / "cache").glob(f"{version}*/manifest.json"))  # nothing half-kept
    # A pointer whose checksum does not match the manifest is refused too.
    pointer = read_alias(store, "production") | {"manifest_sha256": "0" * 64}
    store.put_bytes("models/production.json", orjson.dumps(pointer))
    with pytest.raises(BundleIntegrityError, match="pointer"):
        fetch(store, resolve_ref(store, "production"), tmp_path / "cache2")


def test_local_bundle_with_a_wrong_file_is_refused(bundle_dir, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(bundle_dir, broken)
    (broken / "tokenizer.json").write_text("{}")
    with pytest.raises(BundleIntegrityError, match="tokenizer.json"):
        Recommender(broken)


def test_readers_never_see_a_half_written_bundle(store, bundle_dir, tmp_path):
    """A reader polling during publication sees no bundle or the complete one, nothing else;
    an upload that dies before its manifest is invisible."""
    v1 = orjson.loads((bundle_dir / "manifest.json").read_bytes())["version"]
    for name in ("encoder.onnx", "query.onnx"):  # a publisher that crashed mid-upload
        store.put_bytes(f"models/{v1}/{name}", (bundle_dir / name).read_bytes())
    assert list_versions(store) == []
    outcomes, done = [], threading.Event()

    def reader():
        n = 0
        while not done.is_set() or n == 0:
            n += 1
            try:
                ref = resolve_ref(store, "production", fall_back_to_newest=True)
            except BundleError:
                outcomes.append("none")
                continue
            fetch(store, ref, tmp_path / f"cache{n}")  # raises on any partial/mismatched file
            outcomes.append("complete")

    thread = threading.Thread(target=reader)
    thread.start()
    publish(store, bundle_dir, alias="production")
    done.set()
    thread.join(timeout=60)
    assert set(outcomes) <= {"none", "complete"} and outcomes
