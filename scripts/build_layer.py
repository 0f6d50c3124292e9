"""Build the serving layer as a Lambda-layer zip: ``python/`` holds the ``llara`` package and
the serving runtime's dependencies installed for the Lambda target (manylinux x86_64,
CPython 3.11), optionally ``llara-bundle/`` holds a model bundle (Lambda extracts layers to
``/opt``, so set ``LLARA_BUNDLE=/opt/llara-bundle``). Prints zipped and unzipped sizes as JSON
and fails when the unzipped size exceeds Lambda's 250 MB.

The serving runtime needs numpy, onnxruntime, tokenizers, rapidfuzz, pydantic(-settings) and
orjson (pinned to the versions installed here, the ones the tests ran). boto3 is left out by
default because the Lambda Python runtime provides it (``--with-boto3`` adds it); pyarrow is
not needed for serving (the bundle's catalog is JSON) and alone would take ~150 MB.

    python scripts/build_layer.py                      # build/llara-layer.zip
    python scripts/build_layer.py --bundle PATH         # with a bundle inside
    python scripts/build_layer.py --no-check            # skip the import-and-predict check
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER_LIMIT = 250 * 1024 * 1024  # AWS Lambda: function + layers, unzipped
RUNTIME = ["numpy", "onnxruntime", "tokenizers", "rapidfuzz", "pydantic", "pydantic-settings",
           "orjson"]
TARGET = ["--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64",
          "--implementation", "cp", "--python-version", "3.11", "--only-binary=:all:"]
# Parts of the dependencies nothing imports at run time.
PRUNE = ("tests", "__pycache__", "onnxruntime/transformers", "onnxruntime/tools",
         "onnxruntime/quantization", "onnxruntime/datasets", "numpy/f2py", "numpy/distutils")


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def install(target: Path, with_boto3: bool) -> None:
    requirements = [f"{name}=={version(name)}" for name in RUNTIME]
    if with_boto3:
        requirements.append(f"boto3=={version('boto3')}")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--target", str(target), *TARGET, *requirements], check=True)
    for pattern in PRUNE:
        for path in list(target.rglob(pattern.rsplit("/", 1)[-1])):
            if path.is_dir() and path.relative_to(target).as_posix().endswith(pattern):
                shutil.rmtree(path)
    shutil.copytree(ROOT / "layers" / "llara", target / "llara",
                    ignore=shutil.ignore_patterns("__pycache__"))


def check(python_dir: Path, bundle: Path | None) -> dict:
    """Import the layer alone (no site-packages) and, with a bundle, answer a request."""
    script = f"""
import sys, json
sys.path[:0] = [{str(python_dir)!r}]
import llara.api, llara.server
from llara.web import Request
out = {{"imports": "ok"}}
bundle = {str(bundle) if bundle else None!r}
if bundle:
    from llara.api import Service
    from llara.config import Settings
    service = Service(Settings(bundle=bundle))
    r = service.handle(Request("POST", "/predict", {{}}, b'{{"playlist_name": "road trip"}}'))
    out["predict_status"] = r.status
out["torch_loaded"] = "torch" in sys.modules
print(json.dumps(out))
"""
    env = {"PATH": os.environ.get("PATH", ""), "LLARA_HOME": str(python_dir.parent / "home")}
    done = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True,
                          env=env, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"the layer does not import on its own:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def build(out: Path = ROOT / "build" / "llara-layer.zip", *, bundle: Path | None = None,
          with_boto3: bool = False, run_check: bool = True) -> dict:
    work = out.parent / "layer"
    if work.exists():
        shutil.rmtree(work)
    python_dir = work / "python"
    install(python_dir, with_boto3)
    if bundle is not None:
        shutil.copytree(bundle, work / "llara-bundle")
    unzipped = _size(work)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(work.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(work).as_posix())
    report = {"zip": str(out), "zipped_bytes": out.stat().st_size, "unzipped_bytes": unzipped,
              "zipped_mb": round(out.stat().st_size / 2**20, 1),
              "unzipped_mb": round(unzipped / 2**20, 1), "limit_mb": LAYER_LIMIT // 2**20,
              "with_bundle": bundle is not None, "with_boto3": with_boto3,
              "largest": {p.name: round(_size(p) / 2**20, 1)
                          for p in sorted(python_dir.iterdir(), key=_size, reverse=True)[:6]
                          if p.is_dir()}}
    if run_check:
        report["check"] = check(python_dir, work / "llara-bundle" if bundle else None)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "llara-layer.zip")
    parser.add_argument("--bundle", type=Path, help="a bundle folder to ship inside the layer")
    parser.add_argument("--with-boto3", action="store_true",
                        help="include boto3 (the Lambda runtime already has it)")
    parser.add_argument("--no-check", action="store_true", help="skip the import check")
    args = parser.parse_args()
    report = build(args.out, bundle=args.bundle, with_boto3=args.with_boto3,
                   run_check=not args.no_check)
    print(json.dumps(report, indent=2))
    if report["unzipped_bytes"] > LAYER_LIMIT:
        raise SystemExit(f"layer is {report['unzipped_mb']} MB unzipped; Lambda allows 250 MB")


if __name__ == "__main__":
    main()
