"""Fixtures every test area shares: a real S3-protocol server (moto's, over HTTP), stores on
both backends, isolated settings, and the shared real MPD sample (skipped when absent)."""
from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MPD_SAMPLE = SHARED / "mpd-sample"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Each test gets its own LLARA_HOME and fresh cached settings; no env leaks in."""
    for name in list(os.environ):
        if name.startswith("LLARA_") or name in ("MLFLOW_TRACKING_URI",):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LLARA_HOME", str(tmp_path / "home"))
    from llara.config import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on loopback; yields its endpoint URL. Real HTTP, real S3 protocol."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """Environment pointing boto3 at the local S3 server, with throwaway credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-access-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")  # noqa: S105 - test-only
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    from llara.config import get_settings

    get_settings.cache_clear()
    return s3_server


@pytest.fixture
def s3_bucket(s3_env):
    """A fresh bucket on the local S3 server; yields its name."""
    import boto3

    name = f"llara-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_env).create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    """The same tests run against the local store and the S3 store."""
    from llara.store import open_store

    if request.param == "local":
        return open_store(str(tmp_path / "store"))
    bucket = request.getfixturevalue("s3_bucket")
    return open_store(f"s3://{bucket}/pfx")


@pytest.fixture(scope="session")
def mpd_sample() -> Path:
    if not (MPD_SAMPLE / "slices").is_dir():
        pytest.skip("../shared/mpd-sample is absent")
    return MPD_SAMPLE
