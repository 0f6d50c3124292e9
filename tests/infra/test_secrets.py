"""No secret and no default credential anywhere in the repository."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Well-known defaults that must never be deployed. Stored as fragments so this file does not
# contain them whole: MinIO's default root account, OpenWhisk's public guest and system keys.
DEFAULT_CREDENTIALS = ["minio" + "admin", "23bc46b1-71f6-4ed5-8c54-" + "816aa4f8c502",  # pragma: allowlist secret
                       "789c46b1-71f6-4ed5-8c54-" + "816aa4f8c502"]  # pragma: allowlist secret
# What gets deployed; tests/ talk to a throwaway local S3 server and replay real MinIO event
# records, whose principalId is MinIO's default account name.
DEPLOYED = ("infra/", "openwhisk/", "functions/", "layers/", "training/", "scripts/", "docs/",
            "README.md", "Makefile", "pyproject.toml")


def repository_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [f for f in out.splitlines() if (ROOT / f).is_file()]


def test_detect_secrets_finds_nothing_beyond_the_reviewed_baseline(tmp_path):
    """The same scan CI's lint runs: every file, against .secrets.baseline's reviewed false
    positives (the hook rewrites moved line numbers, so it gets a copy)."""
    baseline = tmp_path / "baseline"
    shutil.copy(ROOT / ".secrets.baseline", baseline)
    assert all(not r.get("is_secret", False)
               for rs in json.loads(baseline.read_text())["results"].values() for r in rs)
    hook = Path(sys.executable).with_name("detect-secrets-hook")
    for _ in range(2):  # exit 3: only line numbers of known findings moved; check again
        out = subprocess.run([str(hook), "--baseline", str(baseline), *repository_files()],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
        if out.returncode != 3:
            break
    assert out.returncode == 0, out.stdout + out.stderr


def test_detect_secrets_would_catch_a_real_key(tmp_path):
    leaked = tmp_path / "leak.yaml"
    key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYzz"  # pragma: allowlist secret
    leaked.write_text(f'aws_secret_access_key: "{key}"\n')
    hook = Path(sys.executable).with_name("detect-secrets-hook")
    out = subprocess.run([str(hook), str(leaked)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0


def test_no_default_credentials_in_anything_deployed():
    found = []
    for name in repository_files():
        path = ROOT / name
        if not name.startswith(DEPLOYED):
            continue
        try:
            text = path.read_text(errors="ignore")
        except OSError:
            continue
        found += [f"{name}: {c}" for c in DEFAULT_CREDENTIALS if c in text]
    assert not found
