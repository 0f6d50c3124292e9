"""Offline evaluation: every system on the same cases, the RecSys Challenge 2018 metrics per
category, overall and on the cold-start categories, and the report (JSON, Markdown, PNG plots)
in the store and in MLflow.

Report shape (``EvaluationReport.to_dict()``, also ``report.json``)::

    {"k": 500, "n_cases": 700, "counts": {"overall": 700, "cold_start": 280, "title_only": 70, ...},
     "metrics": {"llara": {"overall": {"r_precision": .., "r_precision_track": .., "ndcg": ..,
                                       "clicks": .., "recall": .., "count": 700},
                           "cold_start": {...}, "title_only": {...}, ...}, "popularity": {...}},
     "seconds": {"llara": 1.2, ...}}
"""
from __future__ import annotations

import io
import json
import logging
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from llara_training.data import Case, Catalog, Recommender
from llara_training.metrics import METRICS, case_metrics
from llara_training.split import CATEGORIES, COLD_START_CATEGORIES

log = logging.getLogger(__name__)

OVERALL, COLD_START = "overall", "cold_start"


@dataclass
class EvaluationReport:
    k: int
    counts: dict[str, int]  # cases per scope: overall, cold_start, each category present
    metrics: dict[str, dict[str, dict[str, float]]]  # system -> scope -> metric -> mean
    seconds: dict[str, float] = field(default_factory=dict)  # system -> recommend() time

    @property
    def systems(self) -> list[str]:
        return list(self.metrics)

    @property
    def categories(self) -> list[str]:
        return [c for c in CATEGORIES if c in self.counts]

    def to_dict(self) -> dict:
        return {"k": self.k, "n_cases": self.counts.get(OVERALL, 0), "counts": self.counts,
                "metrics": self.metrics, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: Mapping) -> EvaluationReport:
        return cls(k=data["k"], counts=dict(data["counts"]), metrics=dict(data["metrics"]),
                   seconds=dict(data.get("seconds", {})))


def _check(name: str, recs: list, cases: Sequence[Case], n_items: int, k: int) -> None:
    """A system that breaks the Recommender contract is a bug, not a low score."""
    if len(recs) != len(cases):
        raise ValueError(f"{name} returned {len(recs)} lists for {len(cases)} cases")
    for case, rec in zip(cases, recs):
        rec = np.asarray(rec)
        if len(rec) > k or (len(rec) and (rec.min() < 0 or rec.max() >= n_items)):
            raise ValueError(f"{name}: case {case.pid}: {len(rec)} items or an index outside "
                             f"the catalog of {n_items}")
        if set(rec.tolist()) & set(case.seeds):
            raise ValueError(f"{name}: case {case.pid}: a seed was recommended")


def _means(rows: list[dict[str, float]]) -> dict[str, float]:
    out = {m: float(np.mean([r[m] for r in rows])) for m in METRICS}
    out["count"] = len(rows)
    return out


def evaluate(systems: Mapping[str, Recommender], cases: Sequence[Case], catalog: Catalog,
             k: int = 500) -> EvaluationReport:
    """Score every system on ``cases``: per-category means, ``overall`` (all cases) and
    ``cold_start`` (the cases of :data:`~llara_training.split.COLD_START_CATEGORIES`)."""
    cases = [c for c in cases if c.holdout]
    if not cases:
        raise ValueError("no evaluation case with a held-out track")
    scopes: dict[str, list[int]] = {OVERALL: list(range(len(cases)))}
    cold = [i for i, c in enumerate(cases) if c.category in COLD_START_CATEGORIES]
    if cold:
        scopes[COLD_START] = cold
    for category in CATEGORIES:
        members = [i for i, c in enumerate(cases) if c.category == category]
        if members:
            scopes[category] = members
    artist_of = catalog.artist_names
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    seconds: dict[str, float] = {}
    for name, system in systems.items():
        start = time.perf_counter()
        recs = system.recommend(cases, k)
        seconds[name] = round(time.perf_counter() - start, 3)
        _check(name, recs, cases, len(catalog), k)
        per_case = [case_metrics(rec, c.holdout, artist_of, k) for rec, c in zip(recs, cases)]
        metrics[name] = {scope: _means([per_case[i] for i in idx]) for scope, idx in scopes.items()}
        log.info("evaluated %s on %d cases in %.2fs: ndcg %.4f", name, len(cases),
                 seconds[name], metrics[name][OVERALL]["ndcg"])
    return EvaluationReport(k=k, counts={s: len(i) for s, i in scopes.items()},
                            metrics=metrics, seconds=seconds)


# --------------------------------------------------------------------------------------------
# Writers

_COLUMNS = (("r_precision", "R-prec"), ("r_precision_track", "R-prec (track)"),
            ("ndcg", "NDCG"), ("clicks", "Clicks"), ("recall", "Recall@500"))


def report_markdown(report: EvaluationReport) -> str:
    """Markdown: systems x metrics overall and on cold start, then NDCG per category."""
    lines = [f"# Offline evaluation (RecSys Challenge 2018 metrics, top {report.k})", "",
             f"{report.counts.get(OVERALL, 0)} cases; cold start = "
             f"{', '.join(COLD_START_CATEGORIES)} ({report.counts.get(COLD_START, 0)} cases). "
             "Clicks: lower is better.", ""]
    for scope, heading in ((OVERALL, "Overall"), (COLD_START, "Cold start")):
        if scope not in report.counts:
            continue
        lines += [f"## {heading}", "",
                  "| system | " + " | ".join(label for _, label in _COLUMNS) + " |",
                  "|---|" + "---:|" * len(_COLUMNS)]
        for system in report.systems:
            values = report.metrics[system][scope]
            lines.append(f"| {system} | " + " | ".join(
                f"{values[m]:.2f}" if m == "clicks" else f"{values[m]:.4f}" for m, _ in _COLUMNS)
                + " |")
        lines.append("")
    categories = report.categories
    lines += ["## NDCG per category", "",
              "| system | " + " | ".join(f"{c} ({report.counts[c]})" for c in categories) + " |",
              "|---|" + "---:|" * len(categories)]
    for system in report.systems:
        lines.append(f"| {system} | " + " | ".join(
            f"{report.metrics[system][c]['ndcg']:.4f}" for c in categories) + " |")
    return "\n".join(lines) + "\n"


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def plot_category_ndcg(report: EvaluationReport, metric: str = "ndcg") -> bytes:
    """Grouped bars: one group per category (plus cold start and overall), one bar per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = report.categories + [s for s in (COLD_START, OVERALL) if s in report.counts]
    systems = report.systems
    width = 0.8 / max(len(systems), 1)
    x = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(groups)), 4.5))
    for j, system in enumerate(systems):
        ax.bar(x + (j - (len(systems) - 1) / 2) * width,
               [report.metrics[system][g][metric] for g in groups], width, label=system)
    ax.set_xticks(x, [g.replace("_", "\n", 1) for g in groups], fontsize=8)
    label = {"ndcg": "NDCG", "r_precision": "R-precision", "recall": "recall"}.get(metric, metric)
    ax.set_ylabel(label)
    ax.set_title(f"{label} by seed category (top {report.k})")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def plot_training_curves(history: Mapping[str, Sequence[float]]) -> bytes:
    """One panel per curve (e.g. ``{"train_loss": [...], "val_ndcg": [...]}``) by epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, values in history.items() if len(values)]
    if not names:
        raise ValueError("no training history to plot")
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        values = list(history[name])
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    return _png(fig)


def report_files(report: EvaluationReport,
                 history: Mapping[str, Sequence[float]] | None = None) -> dict[str, bytes]:
    """The report as ``{file name: bytes}``: report.json, report.md and the plots."""
    files = {
        "report.json": json.dumps(report.to_dict(), indent=2).encode(),
        "report.md": report_markdown(report).encode(),
        "ndcg_by_category.png": plot_category_ndcg(report),
    }
    if history and any(len(v) for v in history.values()):
        files["training_curves.png"] = plot_training_curves(history)
    return files


def write_report(store, run_id: str, report: EvaluationReport,
                 history: Mapping[str, Sequence[float]] | None = None) -> dict[str, bytes]:
    """Write the report files under ``reports/<run_id>/`` in ``store``; returns them."""
    files = report_files(report, history)
    for name, data in files.items():
        store.put_bytes(f"reports/{run_id}/{name}", data)
    return files


def flat_metrics(report: EvaluationReport) -> dict[str, float]:
    """``{"llara.cold_start.ndcg": 0.12, ...}``: every system x scope x metric, for MLflow."""
    return {f"{system}.{scope}.{metric}": float(value)
            for system, scopes in report.metrics.items()
            for scope, values in scopes.items()
            for metric, value in values.items() if metric != "count"}


def log_to_mlflow(report: EvaluationReport, files: Mapping[str, bytes] | None = None,
                  artifact_path: str = "report") -> None:
    """Log the flattened metrics and the report files to the active MLflow run."""
    import mlflow

    if mlflow.active_run() is None:
        raise RuntimeError("log_to_mlflow needs an active MLflow run (mlflow.start_run())")
    mlflow.log_metrics(flat_metrics(report))
    files = files if files is not None else report_files(report)
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        mlflow.log_artifacts(tmp, artifact_path=artifact_path)


# --------------------------------------------------------------------------------------------
# A trained run on any MPD playlists (``llara evaluate``)


def _train_user_items(store, run) -> tuple[object | None, str | None]:
    """The run's train playlists x its catalog, rebuilt from the store's processed data with
    the run's split settings (a run keeps counts and factors, not the matrix). ``None`` and
    a reason when the store holds no processed data."""
    import scipy.sparse as sp

    from llara.processed import read_processed
    from llara_training.split import build_dataset

    try:
        tables = read_processed(store)
    except Exception as e:  # noqa: BLE001 - any unreadable store state: skip, say why
        return None, f"processed data unreadable: {e}"
    if tables.interactions.num_rows == 0:
        return None, "the store holds no processed playlists"
    split = {k: v for k, v in run.config.get("data", {}).items()
             if k in ("seed", "val_fraction", "test_fraction")}
    data = build_dataset(tables, **split)
    to_run = np.array([run.catalog.index.get(u, -1) for u in data.catalog.uris], dtype=np.int64)
    rows = np.repeat(np.arange(len(data.train_items)), [len(x) for x in data.train_items])
    cols = to_run[np.concatenate(data.train_items)] if data.train_items else np.zeros(0, int)
    keep = cols >= 0
    matrix = sp.csr_matrix((np.ones(keep.sum(), np.float32), (rows[keep], cols[keep])),
                           shape=(len(data.train_items), len(run.catalog)))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix, None


def evaluate_run_on_tables(store, tables, *, run_id: str | None = None, k: int = 500,
                           seed: int = 0, progress: bool = True) -> tuple[EvaluationReport, dict]:
    """Evaluate a trained run (default: the latest) and the baselines on arbitrary playlists
    given as processed tables (``llara.etl.transform``). Tracks the run has never seen join
    an extended catalog: their text is encoded and LLaRA scores them through its cold item
    vectors (projector), so their hold-outs can be found. Returns the report and what was
    evaluated (run id, cases, new tracks, skipped systems)."""
    from llara_training.artifacts import load_run
    from llara_training.baselines import als_from_factors, baseline_systems
    from llara_training.model import LlaraRecommender, catalog_item_vectors
    from llara_training.split import cases_from_tables

    run = load_run(store, run_id)
    catalog, cases = cases_from_tables(tables, run.catalog, seed=seed)
    if not cases:
        raise ValueError("no playlist has a track left to hold out: nothing to evaluate")
    n_known, n_new = len(run.catalog), len(catalog) - len(run.catalog)
    encoder = run.text_encoder(store, progress=progress)
    text_emb = encoder.encode(list(catalog.texts))
    new_vectors = catalog_item_vectors(
        run.model, text_emb[n_known:],
        np.zeros((n_new, run.als_item_factors.shape[1]), np.float32), np.zeros(n_new, bool))
    item_vectors = np.concatenate([run.item_vectors, new_vectors.numpy()])
    titles = sorted({c.title for c in cases if c.title is not None})
    title_emb = dict(zip(titles, encoder.encode(titles)))
    counts = np.concatenate([run.popularity, np.zeros(n_new, run.popularity.dtype)])
    als_config = run.config.get("als", {})
    als = als_from_factors(run.als_item_factors,
                           regularization=als_config.get("regularization", 0.05),
                           alpha=als_config.get("alpha", 10.0))
    user_items, skipped = _train_user_items(store, run)
    systems = {"llara": LlaraRecommender(run.model, item_vectors, encoder.encode)}
    systems.update(baseline_systems(counts, als_model=als, train_user_items=user_items,
                                    item_embeddings=text_emb, title_embeddings=title_emb))
    report = evaluate(systems, cases, catalog, k=k)
    info = {"run_id": run.run_id, "cases": len(cases), "catalog": len(catalog),
            "new_tracks": n_new,
            "skipped": {"item_knn": skipped} if skipped else {}}
    return report, info
