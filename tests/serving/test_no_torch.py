"""The serving path imports no torch and no transformers (the layer's size and cold start
depend on it): a fresh interpreter imports every adapter and answers a request."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import importlib.util, json, sys
from pathlib import Path

def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

root = Path(sys.argv[1])
import llara.api, llara.server, llara.recommend, llara.bundle, llara.live, llara.feedback
chalice_app = load("app", root / "functions" / "app.py")
actions = {a: load(a, root / "openwhisk" / "actions" / f"{a}.py")
           for a in ("predict", "feedback", "health")}
result = actions["predict"].main({"__ow_method": "post", "__ow_headers": {},
    "__ow_body": json.dumps({"playlist_name": "x", "tracks": [
        {"track_name": "Unknown Song", "artist_name": "Unknown Band"}]})})
heavy = sorted(m for m in sys.modules
               if m.split(".")[0] in ("torch", "transformers", "mlflow", "llara_training"))
print(json.dumps({"status": result["statusCode"], "heavy": heavy}))
"""


def test_serving_imports_no_torch_or_transformers(bundle_dir, tmp_path):
    env = {"LLARA_BUNDLE": str(bundle_dir), "LLARA_HOME": str(tmp_path),
           "PATH": "/usr/bin:/bin", "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] == 200
    assert report["heavy"] == []
