"""Settings from environment variables, with an embedded local default.

With nothing set, everything lives under one folder (``./.llara``): the object store as a
directory tree and MLflow as a sqlite file beside it, so the whole system runs with no server.
"""
from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LLARA_", extra="ignore")

    home: Path = Field(
        default=Path(".llara"),
        description="Local data folder for the embedded default (store, MLflow sqlite, caches).",
    )
    store: str | None = Field(
        default=None,
        description="Object store URL: a folder path, file://PATH, or s3://bucket[/prefix]. "
        "Default: <home>/store.",
    )
    raw_prefix: str = Field(default="raw/", description="Where uploaded MPD slices land.")
    webhook_token: str | None = Field(
        default=None, description="Bearer token MinIO webhook deliveries must present."
    )
    api_key: str | None = Field(
        default=None, description="When set, /predict and /feedback require it in x-api-key."
    )
    log_level: str = Field(default="INFO", description="Log level of the structured JSON logs.")

    # Serving (llara.api): which bundle answers, and how it is kept fresh.
    bundle: Path | None = Field(
        default=None, description="Serve this local bundle folder instead of the store's alias.")
    model_alias: str = Field(
        default="production",
        description="Alias whose bundle serves (falls back to the newest published version).")
    canary_percent: float = Field(
        default=0.0, ge=0.0, le=100.0,
        description="Share of /predict requests (0-100) served by the 'canary' alias bundle.")
    reload_seconds: float = Field(
        default=30.0, ge=0.0,
        description="How often (at most) a warm function checks whether its alias moved.")
    bundle_cache: Path = Field(
        default=Path(tempfile.gettempdir()) / "llara-bundles",
        description="Local folder holding verified copies of downloaded bundles.")
    ort_threads: int = Field(default=1, ge=1, description="ONNX Runtime threads per session.")
    served_batch_records: int = Field(
        default=256, ge=1, description="/predict request records (for joining feedback) are "
        "written in batches of this many; 1 writes each synchronously (llara.served).")
    served_flush_seconds: float = Field(
        default=5.0, gt=0.0, description="... or when the oldest buffered record is this old.")
    train_min_new_slices: int = Field(
        default=1, ge=0, description="Scheduled training runs when at least this many new "
        "processed slices arrived since the last run ...")
    train_min_new_feedback: int = Field(
        default=1000, ge=0, description="... or at least this many new feedback objects.")
    train_launcher: str = Field(
        default="subprocess", pattern="^(subprocess|kubernetes|none)$",
        description="How the schedule launches training: a local subprocess, a Kubernetes Job "
        "from the llara-train CronJob's template, or none (decide and record only).")
    k8s_namespace: str = Field(default="llara", description="Namespace of the training CronJob.")
    k8s_cronjob: str = Field(default="llara-train", description="CronJob whose template a "
                             "scheduled training Job copies.")

    # Not LLARA_-prefixed: these names are the ecosystem's own conventions.
    mlflow_tracking_uri: str | None = Field(
        default=None,
        validation_alias="MLFLOW_TRACKING_URI",
        description="MLflow tracking server URL. Default: sqlite:///<home>/mlflow.db.",
    )
    aws_endpoint_url: str | None = Field(
        default=None,
        validation_alias="AWS_ENDPOINT_URL",
        description="S3 endpoint for MinIO or a local S3 server; unset for AWS.",
    )

    @property
    def store_url(self) -> str:
        return self.store or str(self.home / "store")

    @property
    def tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process (functions reuse them on warm starts)."""
    return Settings()
