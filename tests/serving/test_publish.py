"""The MLflow Model Registry side of publishing (a real MLflow registry on sqlite)."""
from __future__ import annotations

from llara.bundle import read_manifest


def test_register_aliases_the_runs_version_or_creates_one(bundle_dir, tmp_path):
    from mlflow import MlflowClient

    from llara_training.publish import register

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("llara")
    run = client.create_run(experiment, run_name="run-test")
    client.create_registered_model("llara")
    trained = client.create_model_version("llara", source="runs:/x/model", run_id=run.info.run_id)
    manifest = read_manifest(bundle_dir)

    out = register(manifest, store_url="s3://bucket/pfx", alias="staging", tracking_uri=uri)
    assert out == {"name": "llara", "version": str(trained.version), "alias": "staging"}
    staged = client.get_model_version_by_alias("llara", "staging")
    assert str(staged.version) == str(trained.version)
    assert staged.tags["bundle_version"] == manifest["version"]
    assert float(staged.tags["parity.top50_overlap"]) >= 0.9

    # A run training never registered gets a version whose source is the bundle.
    other = register({**manifest, "source_run": "unregistered-run"},
                     store_url="s3://bucket/pfx", alias="canary", tracking_uri=uri)
    assert other["version"] != out["version"]
    created = client.get_model_version_by_alias("llara", "canary")
    assert created.source == f"s3://bucket/pfx/models/{manifest['version']}"
    # Moving an alias leaves the other where it was.
    assert str(client.get_model_version_by_alias("llara", "staging").version) == out["version"]
