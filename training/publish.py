"""``llara publish``: export a run, publish its bundle atomically, register it in MLflow.

The bundle goes to ``models/<version>/`` (``llara.bundle.publish``: files, verification, the
manifest last, the alias pointer after that). In the MLflow Model Registry the run's registered
model version (created by training) gets the alias and tags naming the bundle; when training did
not register one, a version is created whose source is the bundle in the store.
"""
from __future__ import annotations

import logging
from typing import Any

from llara.bundle import publish as publish_bundle
from llara.store import Store

log = logging.getLogger("llara_training.publish")
MODEL_NAME = "llara"


def register(manifest: dict[str, Any], *, store_url: str, alias: str | None,
             tracking_uri: str, model_name: str = MODEL_NAME) -> dict[str, Any]:
    """Tag the run's registered model version with the bundle and set ``alias`` on it."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    run_id = manifest.get("source_run")
    mlflow_run = _mlflow_run_id(client, run_id)
    found = client.search_model_versions(f"run_id='{mlflow_run}'") if mlflow_run else []
    if found:
        version = max(found, key=lambda v: int(v.version))
        model_name = version.name
    else:
        try:
            client.create_registered_model(model_name)
        except MlflowException:
            pass  # it exists
        version = client.create_model_version(
            model_name, source=f"{store_url.rstrip('/')}/models/{manifest['version']}",
            run_id=mlflow_run, description=f"llara bundle {manifest['version']}")
    tags = {"bundle_version": manifest["version"], "bundle_precision": manifest["precision"],
            "bundle_store": store_url, "source_run": str(run_id)}
    for key, value in manifest.get("parity", {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            tags[f"parity.{key}"] = str(value)
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version.version, key, value)
    if alias:
        client.set_registered_model_alias(model_name, alias, version.version)
    return {"name": model_name, "version": str(version.version), "alias": alias}


def _mlflow_run_id(client, run_id: str | None) -> str | None:
    """The MLflow run of our run id: named by it, or tagged ``llara.run_id`` with it."""
    if not run_id:
        return None
    experiments = [e.experiment_id for e in client.search_experiments()]
    for condition in (f"attributes.run_name = '{run_id}'", f"tags.`llara.run_id` = '{run_id}'"):
        runs = client.search_runs(experiments, filter_string=condition, max_results=1)
        if runs:
            return runs[0].info.run_id
    return None


def publish_run(store: Store, run_id: str | None, *, alias: str | None, work_dir,
                tracking_uri: str | None) -> dict[str, Any]:
    """Export ``run_id`` (default: latest), publish the bundle, register it; a summary."""
    from pathlib import Path

    from llara_training.export import export_run

    result = export_run(store, run_id, Path(work_dir))
    manifest = publish_bundle(store, result.bundle, alias=alias)
    summary: dict[str, Any] = {
        "version": manifest["version"], "alias": alias, "store": store.url,
        "source_run": manifest.get("source_run"), "catalog_size": manifest["catalog_size"],
        "parity": result.parity}
    if tracking_uri:
        summary["registry"] = register(manifest, store_url=store.url, alias=alias,
                                       tracking_uri=tracking_uri)
    return summary
