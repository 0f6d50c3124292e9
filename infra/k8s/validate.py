"""Render every Kubernetes manifest of the repository and validate it against the Kubernetes
schema, offline (the schemas ship inside the kubernetes-validate package).

- Every folder with a kustomization.yaml (infra/k8s/**, openwhisk/knative/**) is rendered with
  `kubectl kustomize`, exactly as Argo CD renders it; plain manifests (Argo CD Applications)
  are read as they are.
- Each document is validated strictly (unknown fields are errors) for KUBERNETES_VERSION, the
  version kubespray installs.
- Custom resources (Argo CD, Knative) have no schema offline: their kinds must be in
  CUSTOM_KINDS and are listed; any other kind without a schema is an error, so a typo in
  apiVersion or kind cannot pass as a custom resource. A Knative Service's revision template is
  a Kubernetes PodSpec less a few fields, so it is validated as a Pod.

    python infra/k8s/validate.py [--out DIR]   # DIR receives the rendered YAML (for checkov)
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_VERSION = "1.31.0"
MANIFEST_ROOTS = [ROOT / "infra" / "k8s", ROOT / "openwhisk" / "knative"]
# Plain manifests outside any kustomization (applied by Ansible or by hand).
PLAIN_GLOBS = ["infra/k8s/argocd/*.yaml", "infra/k8s/argocd/apps/*.yaml",
               "infra/k8s/argocd/optional/*.yaml"]
NOT_MANIFESTS = {"helm-values"}  # Helm values files: input to charts, not resources
CUSTOM_KINDS = {
    ("argoproj.io/v1alpha1", "Application"),
    ("argoproj.io/v1alpha1", "AppProject"),
    ("serving.knative.dev/v1", "Service"),
    ("sources.knative.dev/v1", "PingSource"),
    ("operator.knative.dev/v1beta1", "KnativeServing"),
    ("operator.knative.dev/v1beta1", "KnativeEventing"),
}


def kustomizations() -> list[Path]:
    found = []
    for root in MANIFEST_ROOTS:
        for path in sorted(root.rglob("kustomization.yaml")):
            if not NOT_MANIFESTS & set(path.relative_to(ROOT).parts):
                found.append(path.parent)
    return found


def render(folder: Path) -> str:
    result = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"kubectl kustomize {folder.relative_to(ROOT)}: {result.stderr.strip()}")
    return result.stdout


def sources() -> dict[str, str]:
    """Name -> YAML text of every rendered kustomization and plain manifest."""
    rendered = {str(f.relative_to(ROOT)): render(f) for f in kustomizations()}
    for pattern in PLAIN_GLOBS:
        for path in sorted(ROOT.glob(pattern)):
            rendered[str(path.relative_to(ROOT))] = path.read_text()
    return rendered


KNATIVE_ONLY_FIELDS = ("containerConcurrency", "timeoutSeconds", "responseStartTimeoutSeconds",
                       "idleTimeoutSeconds")


def knative_pod(service: dict) -> dict:
    """A Knative Service's revision template as the Pod it becomes (Knative names the container
    and fills the probe port with the container's port, so the copy does too)."""
    template = service["spec"]["template"]
    spec = {k: v for k, v in template["spec"].items() if k not in KNATIVE_ONLY_FIELDS}
    for container in spec.get("containers", []):
        container.setdefault("name", "user-container")  # Knative's default container name
        port = (container.get("ports") or [{"containerPort": 8080}])[0]["containerPort"]
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if "httpGet" in container.get(probe, {}):
                container[probe]["httpGet"].setdefault("port", port)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": service["metadata"]["name"], **template.get("metadata", {})},
            "spec": spec}


def validate(name: str, text: str) -> tuple[list[str], list[str]]:
    """(errors, custom resources skipped) of one YAML stream."""
    errors, custom = [], []
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        ident = f"{name}: {doc.get('kind')} {doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            if (doc.get("apiVersion"), doc.get("kind")) in CUSTOM_KINDS:
                custom.append(f"{ident} ({doc['apiVersion']})")
                if doc["apiVersion"] == "serving.knative.dev/v1":
                    errors += validate(f"{name} (revision template)",
                                       yaml.safe_dump(knative_pod(doc)))[0]
            else:
                errors.append(f"{ident}: no schema for {doc.get('apiVersion')} {doc.get('kind')}")
        except kubernetes_validate.ValidationError as e:
            where = "/".join(str(p) for p in e.path)
            errors.append(f"{ident}: {where}: {e.message}")
    return errors, custom


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write each rendered stream here (for checkov)")
    args = parser.parse_args(argv)
    try:
        streams = sources()
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    all_errors, count = [], 0
    for name, text in streams.items():
        errors, custom = validate(name, text)
        all_errors += errors
        count += sum(1 for d in yaml.safe_load_all(text) if d)
        for line in custom:
            print(f"  custom resource, no schema offline: {line}")
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / (name.replace("/", "__") + ".yaml")).write_text(text)
    for line in all_errors:
        print(f"  INVALID {line}", file=sys.stderr)
    print(f"kubernetes-validate {KUBERNETES_VERSION} (strict): {count} documents from "
          f"{len(streams)} sources, {len(all_errors)} invalid")
    return 1 if all_errors else 0


if __name__ == "__main__":
    sys.exit(main())
