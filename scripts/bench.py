"""`make bench`: every area's benchmark in one run, one JSON document on stdout.

Each ``scripts/bench_<area>.py`` exposes ``run() -> dict``; progress goes to stderr so stdout
stays machine-readable. Pass area names to run a subset: ``python scripts/bench.py etl serve``.
"""
from __future__ import annotations

import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

AREAS = ("etl", "train", "serve", "loop")
HERE = Path(__file__).resolve().parent


def _load(area: str):
    spec = importlib.util.spec_from_file_location(f"bench_{area}", HERE / f"bench_{area}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(areas: list[str]) -> dict:
    result = {
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                    "platform": platform.platform()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    for area in areas:
        print(f"[bench] {area} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        result[area] = _load(area).run()
        result[area]["bench_wall_s"] = round(time.perf_counter() - t0, 1)
    return result


if __name__ == "__main__":
    chosen = sys.argv[1:] or list(AREAS)
    unknown = set(chosen) - set(AREAS)
    if unknown:
        sys.exit(f"unknown bench areas {sorted(unknown)}; choose from {AREAS}")
    print(json.dumps(main(chosen), indent=2))
