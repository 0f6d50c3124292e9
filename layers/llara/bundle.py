"""The published model bundle: its format, atomic publication, alias pointers, and loading.

A bundle is a folder, ``models/<version>/`` in the store::

    manifest.json     written LAST; lists every other file with its sha256 and size
    encoder.onnx      text -> embedding (mean pooling and L2 normalisation inside the graph)
    query.onnx        title embedding + seeds (catalog vectors or cold text embeddings) -> query
    scorer.onnx       query -> top-k (item matrix as external data: items.<dtype>, item_scales.f32)
    items.int8        [D, N] item matrix (int8 with a per-item scale, or items.f32 for fp32)
    item_scales.f32   [N] per-item dequantisation scale (int8 bundles only)
    tokenizer.json    the encoder's tokenizer (``tokenizers`` library)
    catalog.json.gz   columns track_uri, track_name, artist_name, name_key, artist_key (row i = item i)

An alias pointer ``models/<alias>.json`` is ``{"version", "manifest_sha256", "previous",
"updated"}``; ``previous`` is the pointer it replaced (for rollback). Publication writes every
file, verifies it from the store, writes the manifest (only if absent: a version is immutable),
and moves the pointer last, so a reader that follows a pointer (or a manifest) always finds a
complete bundle, and refuses one whose checksums do not match.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from llara.store import ObjectNotFound, Store

FORMAT = "llara-bundle/1"
MANIFEST = "manifest.json"
PREFIX = "models/"
ALIASES = ("staging", "canary", "production")


class BundleError(RuntimeError):
    """No such bundle or alias, or a bundle that cannot be published."""


class BundleIntegrityError(BundleError):
    """A file does not match the checksum its manifest (or pointer) promises."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---------------------------------------------------------------- writing a local bundle
def finish_manifest(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Checksum every file in ``folder``, name the version, and write manifest.json last."""
    files = {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
             for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    content = sha256_bytes(dumps(files))
    created = manifest.get("created") or utc_now()
    stamp = created.replace("-", "").replace(":", "")
    manifest = {**manifest, "format": FORMAT, "created": created, "files": files,
                "version": manifest.get("version") or f"{stamp}-{content[:10]}"}
    (folder / MANIFEST).write_bytes(dumps(manifest))
    return manifest


def read_manifest(folder: Path, *, verify: bool = True) -> dict[str, Any]:
    """A local bundle's manifest; with ``verify``, every file's checksum is checked."""
    try:
        manifest = orjson.loads((folder / MANIFEST).read_bytes())
    except FileNotFoundError:
        raise BundleError(f"{folder} has no {MANIFEST}: not a bundle") from None
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{folder}: unsupported bundle format {manifest.get('format')!r}")
    if verify:
        for name, meta in manifest["files"].items():
            path = folder / name
            if not path.is_file() or sha256_file(path) != meta["sha256"]:
                raise BundleIntegrityError(f"{folder}/{name} does not match its manifest")
    return manifest


# ---------------------------------------------------------------- publishing to a store
def publish(store: Store, folder: Path, alias: str | None = None) -> dict[str, Any]:
    """Upload a local bundle as ``models/<version>/`` and optionally point ``alias`` at it.

    Idempotent for the same bundle; refuses to overwrite a different bundle of that version.
    """
    manifest = read_manifest(folder, verify=True)
    version = manifest["version"]
    manifest_bytes = (folder / MANIFEST).read_bytes()
    manifest_key = f"{PREFIX}{version}/{MANIFEST}"
    if store.exists(manifest_key):
        if sha256_bytes(store.get_bytes(manifest_key)) != sha256_bytes(manifest_bytes):
            raise BundleError(f"version {version} is already published with other content; "
                              "a published version is immutable")
    else:
        for name, meta in manifest["files"].items():
            key = f"{PREFIX}{version}/{name}"
            store.put_bytes(key, (folder / name).read_bytes())
            if sha256_bytes(store.get_bytes(key)) != meta["sha256"]:
                raise BundleIntegrityError(f"{store.url}/{key} does not match after upload")
        if not store.put_if_absent(manifest_key, manifest_bytes):
            raise BundleError(f"version {version} was published concurrently")
    if alias:
        set_alias(store, alias, version)
    return manifest


def alias_key(alias: str) -> str:
    if not alias or "/" in alias or alias.startswith("."):
        raise BundleError(f"invalid alias {alias!r}")
    return f"{PREFIX}{alias}.json"


def read_alias(store: Store, alias: str) -> dict[str, Any] | None:
    try:
        return orjson.loads(store.get_bytes(alias_key(alias)))
    except ObjectNotFound:
        return None


def set_alias(store: Store, alias: str, version: str) -> dict[str, Any]:
    """Point ``alias`` at a published, verified ``version``; the old pointer becomes ``previous``."""
    manifest_bytes = _published_manifest(store, version)
    current = read_alias(store, alias)
    previous = ({"version": current["version"], "manifest_sha256": current["manifest_sha256"]}
                if current and current.get("version") != version else
                (current or {}).get("previous"))
    pointer = {"alias": alias, "version": version,
               "manifest_sha256": sha256_bytes(manifest_bytes),
               "previous": previous, "updated": utc_now()}
    store.put_bytes(alias_key(alias), dumps(pointer))
    return pointer


def rollback(store: Store, alias: str) -> dict[str, Any]:
    """Point ``alias`` back at the version it pointed to before."""
    current = read_alias(store, alias)
    if not current or not current.get("previous"):
        raise BundleError(f"alias {alias!r} has no previous version to roll back to")
    return set_alias(store, alias, current["previous"]["version"])


def _published_manifest(store: Store, version: str) -> bytes:
    try:
        return store.get_bytes(f"{PREFIX}{version}/{MANIFEST}")
    except ObjectNotFound:
        raise BundleError(f"version {version!r} is not published in {store.url}") from None


def list_versions(store: Store) -> list[str]:
    """Published versions (those with a manifest), oldest first (versions sort by time)."""
    return sorted(key[len(PREFIX):-len(MANIFEST) - 1] for key in store.list(PREFIX)
                  if key.endswith(f"/{MANIFEST}") and key.count("/") == 2)


@dataclass(frozen=True)
class BundleRef:
    """Which bundle to load: a version and the manifest checksum it must have."""

    version: str
    manifest_sha256: str
    alias: str | None = None


def resolve_ref(store: Store, alias: str, *, fall_back_to_newest: bool = False) -> BundleRef:
    pointer = read_alias(store, alias)
    if pointer:
        return BundleRef(pointer["version"], pointer["manifest_sha256"], alias)
    if fall_back_to_newest:
        versions = list_versions(store)
        if versions:
            newest = versions[-1]
            return BundleRef(newest, sha256_bytes(_published_manifest(store, newest)), None)
    raise BundleError(f"no alias {alias!r} and no published bundle in {store.url}")


def fetch(store: Store, ref: BundleRef, cache_dir: Path) -> Path:
    """A verified local copy of a published bundle (downloaded once per version).

    The copy is assembled in a temporary folder and renamed into place only when every file
    matched, so a cache folder that exists is complete.
    """
    target = Path(cache_dir) / f"{ref.version}-{ref.manifest_sha256[:12]}"
    if (target / MANIFEST).is_file():
        return target
    manifest_bytes = _published_manifest(store, ref.version)
    if sha256_bytes(manifest_bytes) != ref.manifest_sha256:
        raise BundleIntegrityError(
            f"manifest of {ref.version} does not match the pointer's checksum")
    manifest = orjson.loads(manifest_bytes)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        for name, meta in manifest["files"].items():
            data = store.get_bytes(f"{PREFIX}{ref.version}/{name}")
            if sha256_bytes(data) != meta["sha256"]:
                raise BundleIntegrityError(f"{ref.version}/{name} does not match its manifest")
            (tmp / name).write_bytes(data)
        (tmp / MANIFEST).write_bytes(manifest_bytes)
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished the same version first
            if not (target / MANIFEST).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
