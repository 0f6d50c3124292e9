"""One object-store interface, two implementations: a local directory and S3 (boto3).

Keys are ``/``-separated relative paths (``processed/tracks/x.parquet``). Every write is
atomic: a reader sees the old object or the new one, never a partial one. The S3 store runs
unchanged against AWS, MinIO or any S3-protocol server.
"""
from __future__ import annotations

import os
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse


class StoreError(RuntimeError):
    """The store is unreachable or misconfigured."""


class ObjectNotFound(KeyError):
    """No object under that key."""


class Store(ABC):
    url: str

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Write atomically, replacing any object under ``key``."""

    @abstractmethod
    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Write only if nothing is under ``key``; True if this call wrote it."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix``, sorted."""

    @abstractmethod
    def size(self, key: str) -> int: ...

    def check(self) -> None:
        """Raise StoreError if the store cannot be reached."""
        next(iter(self.list("__probe__/")), None)


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or ".." in key.split("/"):
        raise ValueError(f"invalid store key: {key!r}")
    return key


class LocalStore(Store):
    """A directory tree; writes go to a temp file in the same folder, then ``os.replace``."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()
        self.url = f"file://{self.root}"

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise ObjectNotFound(key) from None

    def _write_temp(self, path: Path, data: bytes) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return tmp

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        tmp = self._write_temp(path, data)
        os.replace(tmp, path)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        tmp = self._write_temp(path, data)
        try:
            os.link(tmp, path)  # atomic, fails if the target exists
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def list(self, prefix: str = "") -> Iterator[str]:
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return iter(())
        keys = []
        for dirpath, _, files in os.walk(base):
            for name in files:
                if name.startswith(".") and name.endswith(".tmp"):
                    continue  # an in-flight atomic write
                key = os.path.relpath(os.path.join(dirpath, name), self.root).replace(os.sep, "/")
                if key.startswith(prefix):
                    keys.append(key)
        return iter(sorted(keys))


class S3Store(Store):
    """A bucket (and optional prefix) over boto3; the client is created lazily and reused."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._client = None
        self._lock = threading.Lock()

    @property
    def client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    self._client = boto3.client(
                        "s3",
                        endpoint_url=self.endpoint_url,
                        config=Config(retries={"max_attempts": 5, "mode": "standard"},
                                      max_pool_connections=32),
                    )
        return self._client

    def _key(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def _errors(self):
        from botocore.exceptions import BotoCoreError, ClientError

        return BotoCoreError, ClientError

    def get_bytes(self, key: str) -> bytes:
        BotoCoreError, ClientError = self._errors()
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as e:
            if e.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise ObjectNotFound(key) from None
            raise StoreError(f"{self.url}: {e}") from e
        except BotoCoreError as e:
            raise StoreError(f"{self.url}: {e}") from e

    def put_bytes(self, key: str, data: bytes) -> None:
        # A single PUT is atomic in S3: readers see the old object or the new one.
        BotoCoreError, ClientError = self._errors()
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except (BotoCoreError, ClientError) as e:
            raise StoreError(f"{self.url}: {e}") from e

    def put_if_absent(self, key: str, data: bytes) -> bool:
        BotoCoreError, ClientError = self._errors()
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*"
            )
            return True
        except ClientError as e:
            if e.response["Error"]["Code"] in ("PreconditionFailed", "412",
                                               "ConditionalRequestConflict"):
                return False
            raise StoreError(f"{self.url}: {e}") from e
        except BotoCoreError as e:
            raise StoreError(f"{self.url}: {e}") from e

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
            return True
        except ObjectNotFound:
            return False

    def size(self, key: str) -> int:
        BotoCoreError, ClientError = self._errors()
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))[
                "ContentLength"]
        except ClientError as e:
            if e.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound"):
                raise ObjectNotFound(key) from None
            raise StoreError(f"{self.url}: {e}") from e
        except BotoCoreError as e:
            raise StoreError(f"{self.url}: {e}") from e

    def delete(self, key: str) -> None:
        BotoCoreError, ClientError = self._errors()
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as e:
            raise StoreError(f"{self.url}: {e}") from e

    def list(self, prefix: str = "") -> Iterator[str]:
        BotoCoreError, ClientError = self._errors()
        keys = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix
            )
            for page in pages:
                keys.extend(obj["Key"][len(self.prefix):] for obj in page.get("Contents", ()))
        except (BotoCoreError, ClientError) as e:
            raise StoreError(f"{self.url}: {e}") from e
        return iter(sorted(keys))


def open_store(url: str | None = None) -> Store:
    """Open the store at ``url`` (default: the configured one)."""
    from llara.config import get_settings

    settings = get_settings()
    url = url or settings.store_url
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise StoreError(f"no bucket in store URL {url!r}")
        return S3Store(parsed.netloc, parsed.path, endpoint_url=settings.aws_endpoint_url)
    if parsed.scheme == "file":
        return LocalStore(parsed.path)
    if parsed.scheme in ("", ) or len(parsed.scheme) == 1:  # a plain path (or C:\ on Windows)
        return LocalStore(url)
    raise StoreError(f"unsupported store URL {url!r}: use a path, file://PATH or s3://bucket")
