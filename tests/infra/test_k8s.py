"""The Kubernetes manifests as Argo CD renders them (`kubectl kustomize`), checked against what
the rest of LLaRA++ expects of them. Schema validation itself is in scripts/lint_infra.sh."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
ENVIRONMENTS = ("staging", "canary", "production")

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None,
                                reason="kubectl (for kubectl kustomize) is not installed")


def render(path: Path) -> list[dict]:
    out = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def find(docs: list[dict], kind: str, name: str) -> dict:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def containers(doc: dict) -> list[dict]:
    spec = doc["spec"]
    while "template" in spec or "jobTemplate" in spec:
        spec = (spec.get("jobTemplate") or spec["template"])["spec"]
    return spec["containers"]


def argocd_applications() -> list[dict]:
    docs = []
    for path in sorted((K8S / "argocd").rglob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return [d for d in docs if d["kind"] == "Application"]


@pytest.mark.parametrize("app", argocd_applications(), ids=lambda a: a["metadata"]["name"])
def test_every_argocd_application_points_at_a_folder_that_renders(app):
    source = app["spec"]["source"]
    assert app["spec"]["project"] == "llara"
    assert source["targetRevision"] == "main"
    folder = ROOT / source["path"]
    assert folder.is_dir(), f"{source['path']} does not exist"
    if (folder / "kustomization.yaml").exists():
        namespaces = {d["metadata"].get("namespace") for d in render(folder)
                      if d["kind"] != "Namespace" and d["metadata"].get("namespace")}
        assert namespaces <= {app["spec"]["destination"]["namespace"]}


def test_the_app_of_apps_covers_platform_training_and_every_environment():
    apps = {a["metadata"]["name"]: a for a in argocd_applications()}
    assert apps["llara"]["spec"]["source"]["path"] == "infra/k8s/argocd/apps"
    under_root = {p.stem for p in (K8S / "argocd" / "apps").glob("*.yaml")}
    assert under_root == {"llara-platform", "llara-training"} | {f"llara-{e}" for e in ENVIRONMENTS}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_serves_its_own_alias(env):
    docs = render(K8S / "envs" / env)
    service = find(docs, "Service", "llara")
    assert service["metadata"]["namespace"] == f"llara-{env}"
    template = service["spec"]["template"]
    container = template["spec"]["containers"][0]
    env_vars = {e["name"]: e.get("value") for e in container["env"]}
    assert env_vars["LLARA_MODEL_ALIAS"] == env
    assert env_vars["LLARA_STORE"].startswith("s3://")
    assert {"secretRef": {"name": "llara-functions"}} in container["envFrom"]
    annotations = template["metadata"]["annotations"]
    assert int(annotations["autoscaling.knative.dev/target"]) > 0  # concurrency target
    assert "autoscaling.knative.dev/min-scale" in annotations
    assert template["metadata"]["labels"]["llara.io/role"] == "function"
    namespace = find(docs, "Namespace", f"llara-{env}")
    assert namespace["metadata"]["labels"]["llara.io/tenant"] == "true"


def test_training_cronjob_is_the_one_the_scheduler_launches_and_requests_a_gpu():
    from llara.config import Settings

    settings = Settings()
    docs = render(K8S / "training")
    cron = find(docs, "CronJob", settings.k8s_cronjob)
    assert cron["metadata"]["namespace"] == settings.k8s_namespace
    assert cron["spec"]["suspend"] is True  # the scheduled decision launches it
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]
    assert pod["metadata"]["labels"]["llara.io/role"] == "training"
    (container,) = pod["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["LLARA_STORE"].startswith("s3://") and env["AWS_ENDPOINT_URL"].startswith("http")
    assert env["MLFLOW_TRACKING_URI"].startswith("http://mlflow.")
    role = find(docs, "Role", "llara-train-launcher")
    verbs = {(r["resources"][0], v) for r in role["rules"] for v in r["verbs"]}
    assert verbs == {("cronjobs", "get"), ("jobs", "create")}  # what launch_kubernetes_job does


def _all_rendered() -> list[dict]:
    docs = []
    for kustomization in sorted(ROOT.glob("infra/k8s/**/kustomization.yaml")) + \
            sorted(ROOT.glob("openwhisk/knative/**/kustomization.yaml")):
        docs += render(kustomization.parent)
    return docs


def _secret_names_ansible_creates() -> set[str]:
    names = set()
    for playbook in (ROOT / "infra" / "ansible" / "playbooks").glob("*.yml"):
        text = playbook.read_text()
        for play in yaml.safe_load(text):
            for task in play.get("tasks", []):
                definition = (task.get("kubernetes.core.k8s") or {}).get("definition")
                if isinstance(definition, dict) and definition.get("kind") == "Secret":
                    names.add(definition["metadata"]["name"])
                for item in task.get("loop", []) if isinstance(task.get("loop"), list) else []:
                    if isinstance(item, dict) and "data" in item and "name" in item:
                        names.add(item["name"])
    return names


def test_secrets_are_referenced_never_inlined_and_ansible_creates_each_one():
    docs = _all_rendered()
    assert not [d for d in docs if d["kind"] == "Secret"], "a Secret is inlined in a manifest"
    referenced = set()

    def walk(node):
        if isinstance(node, dict):
            for key in ("secretRef", "secretKeyRef"):
                if key in node:
                    referenced.add(node[key]["name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for doc in docs:
        walk(doc)
        annotations = doc["metadata"].get("annotations") or {}
        if "nginx.ingress.kubernetes.io/auth-secret" in annotations:
            referenced.add(annotations["nginx.ingress.kubernetes.io/auth-secret"])
    assert referenced, "no secret references found"
    missing = referenced - _secret_names_ansible_creates()
    assert not missing, f"referenced but created by no playbook: {sorted(missing)}"


def test_only_functions_and_training_reach_minio_and_mlflow():
    docs = render(K8S / "platform")
    policies = {d["metadata"]["name"]: d for d in docs if d["kind"] == "NetworkPolicy"}
    deny = policies["default-deny-ingress"]["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress"] and "ingress" not in deny
    allowed_roles = {"function", "training", "admin"}
    for target, port in (("minio", 9000), ("mlflow", 5000)):
        (policy,) = [p for p in policies.values()
                     if p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == target]
        (rule,) = policy["spec"]["ingress"]
        assert [p["port"] for p in rule["ports"]] == [port]
        for peer in rule["from"]:
            pods = peer.get("podSelector", {})
            namespaces = peer.get("namespaceSelector", {}).get("matchLabels", {})
            roles = [set(e["values"]) for e in pods.get("matchExpressions", [])
                     if e["key"] == "llara.io/role"]
            labels = pods.get("matchLabels", {})
            assert (roles and roles[0] <= allowed_roles and namespaces == {"llara.io/tenant": "true"}) \
                or labels in ({"user-action-pod": "true"}, {"app.kubernetes.io/name": "mlflow"},
                              {"llara.io/role": "admin"}) \
                or (namespaces == {"kubernetes.io/metadata.name": "ingress-nginx"} and not pods), peer
            assert peer != {} and pods != {} or namespaces, f"{target}: peer admits everything"
    postgres = policies["postgresql-from-mlflow"]["spec"]["ingress"][0]["from"]
    assert postgres == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "mlflow"}}}]


def test_every_workload_runs_unprivileged_with_limits():
    for doc in _all_rendered():
        if doc["kind"] not in ("Deployment", "StatefulSet", "CronJob", "Job", "Service") or \
                (doc["kind"] == "Service" and doc["apiVersion"] == "v1"):
            continue
        for container in containers(doc):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, doc["metadata"]["name"]
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["limits"]["memory"]
            image = container["image"]
            assert ":" in image and not image.endswith(":latest"), image
