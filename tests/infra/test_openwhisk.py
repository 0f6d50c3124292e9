"""The wskdeploy manifest, its deployment file and the packaged actions."""
from __future__ import annotations

import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "openwhisk"))
import package  # noqa: E402 - openwhisk/package.py
from ow_params import export_parameters  # noqa: E402

MANIFEST = package.load_manifest()
DEPLOYMENT = yaml.safe_load((ROOT / "openwhisk" / "deployment.yaml").read_text())
PACKAGE = MANIFEST["project"]["packages"]["llara"]
ACTIONS = package.manifest_actions(MANIFEST)
WEB_VALUES = (True, "true", "yes", "raw")


def test_the_issue_s_actions_are_declared():
    assert set(ACTIONS) == {"etl", "predict", "feedback", "health", "train-trigger"}


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_every_action_entry_exists_and_takes_args(name):
    spec = ACTIONS[name]
    source = ROOT / "openwhisk" / "actions" / f"{package.action_module(spec)}.py"
    assert source.is_file(), f"{name}: {source} is missing"
    module_spec = importlib.util.spec_from_file_location(f"ow_action_{name}", source)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    entry = getattr(module, spec.get("main", "main"))
    assert callable(entry)
    assert list(inspect.signature(entry).parameters) == ["args"]
    assert spec["function"].startswith("build/") and spec["function"].endswith(".zip")


def test_every_rule_names_a_declared_trigger_and_action():
    rules = PACKAGE["rules"]
    assert rules
    for name, rule in rules.items():
        assert rule["trigger"] in PACKAGE["triggers"], name
        assert rule["action"] in ACTIONS, name
    assert rules["llara-train-on-schedule"] == {"trigger": "llara-train-schedule",
                                                "action": "train-trigger"}


def test_every_api_route_maps_to_a_web_action():
    routes = []
    for api in PACKAGE["apis"].values():
        for base_path, paths in api.items():
            for rel_path, actions in paths.items():
                for action, options in actions.items():
                    assert action in ACTIONS, f"/{base_path}/{rel_path} -> unknown {action}"
                    assert ACTIONS[action].get("web") in WEB_VALUES, f"{action} is not a web action"
                    assert options["method"] in ("GET", "POST", "PUT", "DELETE", "PATCH")
                    routes.append((options["method"], f"/{base_path}/{rel_path}"))
    assert sorted(routes) == [("GET", "/llara/health"), ("POST", "/llara/feedback"),
                              ("POST", "/llara/predict")]
    assert ACTIONS["etl"]["web"] == "raw"  # MinIO's webhook posts to it


def test_schedule_is_an_alarm_with_a_valid_cron_from_the_deployment_file():
    assert PACKAGE["triggers"]["llara-train-schedule"]["feed"] == "/whisk.system/alarms/alarm"
    cron = DEPLOYMENT["project"]["packages"]["llara"]["triggers"]["llara-train-schedule"]["inputs"]["cron"]
    fields = cron.split()
    assert len(fields) == 5 and all(re.fullmatch(r"[\d*/,-]+", f) for f in fields), cron


def test_parameters_are_bound_at_deploy_time_never_literals():
    declared = PACKAGE["inputs"]
    assert all("value" not in spec for spec in declared.values()), "manifest inputs carry values"
    bound = DEPLOYMENT["project"]["packages"]["llara"]["inputs"]
    assert set(bound) == set(declared)
    secret = re.compile(r"SECRET|TOKEN|KEY|PASSWORD")
    for name, value in bound.items():
        if secret.search(name):
            assert str(value).startswith("$"), f"{name} must come from the environment"


def test_parameters_move_into_the_environment(monkeypatch):
    from llara.config import get_settings

    monkeypatch.setenv("LLARA_STORE", "/before")
    assert get_settings().store_url == "/before"
    rest = export_parameters({"LLARA_STORE": "/after", "AWS_ENDPOINT_URL": "http://minio:9000",
                              "__ow_method": "post", "limit": 5})
    assert rest == {"__ow_method": "post", "limit": 5}
    assert os.environ["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert get_settings().store_url == "/after"  # cached settings were refreshed


def _run_packaged(zip_path: Path, workdir: Path, args: dict) -> dict:
    """Unzip an action as OpenWhisk does and call its main(args) in a fresh interpreter."""
    folder = workdir / zip_path.stem
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(folder)
    script = (
        "import json, runpy, sys\n"
        "entry = runpy.run_path('__main__.py')['main']\n"
        "result = entry(json.loads(sys.stdin.read()))\n"
        "import llara\n"
        "print(json.dumps({'result': result, 'llara': llara.__file__}))\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LLARA_", "AWS_", "MLFLOW_"))}
    out = subprocess.run([sys.executable, "-c", script], cwd=folder, input=json.dumps(args),
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(answer["llara"]).resolve().is_relative_to(folder.resolve()), \
        "llara must come from the zip, not the checkout"
    return answer["result"]


def test_packaged_zips_hold_code_and_layer_only(tmp_path):
    built = package.build(tmp_path)
    assert set(built) == set(ACTIONS)
    for name, path in built.items():
        names = zipfile.ZipFile(path).namelist()
        module = package.action_module(ACTIONS[name])
        assert {"__main__.py", f"actions/{module}.py", "ow_params.py",
                "llara/__init__.py", "llara/web.py"} <= set(names)
        assert not any("__pycache__" in n or n.startswith("virtualenv/") for n in names)
        assert path.stat().st_size < package.CODE_SIZE_LIMIT
    # Reproducible: the same tree gives the same bytes.
    again = package.build(tmp_path / "again", only=["health"])
    assert again["health"].read_bytes() == built["health"].read_bytes()


def test_packaged_health_answers_from_the_store(tmp_path, exported):
    """The health zip, unpacked as OpenWhisk does, loads the aliased bundle from the store (its
    parameters bound as at deploy time) and answers a web request."""
    from llara.bundle import publish
    from llara.store import open_store

    bundle = exported[0].bundle
    store_dir = tmp_path / "store"
    version = publish(open_store(str(store_dir)), bundle, alias="production")["version"]
    zip_path = package.build(tmp_path / "build", only=["health"])["health"]
    response = _run_packaged(zip_path, tmp_path, {
        "__ow_method": "get", "__ow_path": "", "__ow_headers": {},
        "LLARA_STORE": str(store_dir), "LLARA_HOME": str(tmp_path / "home"),
        "LLARA_BUNDLE_CACHE": str(tmp_path / "cache"), "LLARA_MODEL_ALIAS": "production",
    })
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert body["status"] == "ok" and body["model_version"] == version


def test_packaged_health_without_a_model_is_a_503_not_a_crash(tmp_path):
    zip_path = package.build(tmp_path / "build", only=["health"])["health"]
    response = _run_packaged(zip_path, tmp_path, {
        "__ow_method": "get", "__ow_headers": {}, "LLARA_STORE": str(tmp_path / "empty"),
        "LLARA_HOME": str(tmp_path / "home"), "LLARA_BUNDLE_CACHE": str(tmp_path / "cache")})
    assert response["statusCode"] == 503
    assert "error" in json.loads(response["body"])


def test_packaged_train_trigger_decides_and_records(tmp_path):
    from llara.store import open_store

    store_dir = tmp_path / "store"
    store = open_store(str(store_dir))
    store.put_bytes("processed/playlists/slice-0.parquet", b"stand-in partition")
    zip_path = package.build(tmp_path / "build", only=["train-trigger"])["train-trigger"]
    params = {"LLARA_STORE": str(store_dir), "LLARA_HOME": str(tmp_path / "home"),
              "LLARA_TRAIN_LAUNCHER": "none", "source": "alarm"}
    first = _run_packaged(zip_path, tmp_path, params)
    assert first["train"] is True and first["new_sources"] == 1
    assert "recorded only" in first["reason"]
    second = _run_packaged(zip_path, tmp_path / "again", params)
    assert second["train"] is False  # the same data snapshot is launched at most once
    assert len(list(store.list("state/schedule/"))) >= 3  # two decisions and one claim


def test_virtualenv_layout_is_activated_and_size_checked(tmp_path):
    venv = tmp_path / "venv"
    site = venv / "lib" / f"python{package.RUNTIME_PYTHON}" / "site-packages"
    site.mkdir(parents=True)
    (site / "vendored_dep.py").write_text("ANSWER = 42\n")
    spec = ACTIONS["health"]
    path = package.build_action("health", spec, tmp_path / "out", venv=venv)
    folder = tmp_path / "unzipped"
    zipfile.ZipFile(path).extractall(folder)
    check = ("exec(open('virtualenv/bin/activate_this.py').read(), "
             "{'__file__': 'virtualenv/bin/activate_this.py'})\n"
             "import vendored_dep; print(vendored_dep.ANSWER)")
    out = subprocess.run([sys.executable, "-c", check], cwd=folder, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.strip() == "42", out.stderr
    with pytest.raises(package.PackagingError, match="code-size limit"):
        package.build_action("health", spec, tmp_path / "small", venv=venv, size_limit=10_000)


def test_packaging_reports_a_missing_action_file(tmp_path):
    with pytest.raises(package.PackagingError, match="does not exist"):
        package.build_action("ghost", {"function": "build/ghost.zip"}, tmp_path)
    with pytest.raises(package.PackagingError, match="not in manifest.yaml"):
        package.build(tmp_path, only=["ghost"])


def test_the_deploy_playbook_exports_every_variable_the_deployment_file_reads():
    values = DEPLOYMENT["project"]["packages"]["llara"]["inputs"].values()
    wanted = {m for v in values for m in re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", str(v))}
    plays = yaml.safe_load((ROOT / "infra" / "ansible" / "playbooks" / "openwhisk.yml").read_text())
    (deploy,) = [t for p in plays for t in p.get("tasks", [])
                 if "wskdeploy" in str(t.get("ansible.builtin.command", ""))]
    assert wanted and wanted <= set(deploy["environment"]), wanted - set(deploy["environment"])
    assert deploy.get("no_log") is True  # the environment carries secrets
