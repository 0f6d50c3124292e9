"""`make lint-infra` as a test, so the README's test command covers it: every static check of
the infrastructure (terraform, checkov, kubernetes-validate, yamllint, ansible, detect-secrets).
The first run installs the linters' virtualenv (.venv-infra, about a minute)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_lint_infra_passes():
    out = subprocess.run(["bash", "scripts/lint_infra.sh"], cwd=ROOT, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "lint-infra: all checks passed" in out.stdout


@pytest.mark.slow
def test_manifest_validation_rejects_what_kubernetes_would():
    """The validator behind the lint is not a rubber stamp: a misspelt field, a missing required
    field and an unknown kind all fail (run in the linters' virtualenv made by the lint)."""
    python = ROOT / ".venv-infra" / "bin" / "python"
    if not python.exists():
        pytest.skip(".venv-infra is missing: run scripts/lint_infra.sh (make lint-infra) first")
    script = """
import sys
sys.path.insert(0, "infra/k8s")
import validate
bad = '''
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: c, image: i, imagePullPolicy: Always, resourcez: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {ports: [{}]}
---
apiVersion: apps/v1
kind: Deploymnt
metadata: {name: typo}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: k}
spec: {template: {spec: {containers: [{image: i, envv: []}]}}}
'''
errors, custom = validate.validate("bad", bad)
print(len(errors)); print(*errors, sep="\\n")
"""
    out = subprocess.run([str(python), "-c", script], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    count, *errors = out.stdout.splitlines()
    assert int(count) == 4, errors
    assert any("resourcez" in e for e in errors)
    assert any("Deploymnt" in e for e in errors)
    assert any("envv" in e for e in errors)
