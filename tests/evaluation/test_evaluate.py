"""evaluate() on a toy set whose answer is computed by hand; the report files and MLflow."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from llara_training.data import Case, Catalog
from llara_training.evaluate import (
    EvaluationReport,
    evaluate,
    flat_metrics,
    log_to_mlflow,
    report_markdown,
    write_report,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def lg(i: int) -> float:
    return 1 / math.log2(i + 1)


@pytest.fixture
def catalog() -> Catalog:
    n = 12
    return Catalog.from_columns([f"spotify:track:{i:022d}" for i in range(n)],
                                [f"t{i}" for i in range(n)], [f"artist{i}" for i in range(n)],
                                [None] * n, [f"t{i} by artist{i}" for i in range(n)])


CASES = [
    Case(1, "title_only", "road trip", (), (1, 2)),
    Case(2, "first_5", None, (3, 4, 5, 6, 7), (8,)),
    Case(3, "title_first_25", "x", (0,), (9,)),
]


class Fixed:
    """The same list for every case, minus its seeds."""

    def __init__(self, name, items):
        self.name, self.items = name, items

    def recommend(self, cases, k):
        return [np.array([i for i in self.items if i not in c.seeds][:k]) for c in cases]


class Raw:
    """The same list for every case, seeds and all: breaks the contract."""

    name = "raw"

    def __init__(self, items):
        self.items = items

    def recommend(self, cases, k):
        return [np.array(self.items) for _ in cases]


class Oracle:
    name = "oracle"

    def recommend(self, cases, k):
        return [np.array(c.holdout[:k]) for c in cases]


def test_aggregates_by_hand(catalog):
    report = evaluate({"fixed": Fixed("fixed", [1, 8, 9, 2]), "oracle": Oracle(),
                       "nothing": Fixed("nothing", [10, 11])}, CASES, catalog)
    assert report.counts == {"overall": 3, "cold_start": 2, "title_only": 1, "first_5": 1,
                             "title_first_25": 1}
    fixed = report.metrics["fixed"]
    # case 1: top 2 = [1, 8] -> 1 hit; hits at ranks 1 and 4
    ndcg1 = (lg(1) + lg(4)) / (lg(1) + lg(2))
    ndcg2 = lg(2)  # case 2: 8 at rank 2 of [1, 8, 9, 2]
    ndcg3 = lg(3)  # case 3: 9 at rank 3
    assert fixed["title_only"]["ndcg"] == pytest.approx(ndcg1)
    assert fixed["cold_start"]["ndcg"] == pytest.approx((ndcg1 + ndcg2) / 2)
    assert fixed["overall"]["ndcg"] == pytest.approx((ndcg1 + ndcg2 + ndcg3) / 3)
    assert fixed["overall"]["r_precision_track"] == pytest.approx((0.5 + 0 + 0) / 3)
    assert fixed["overall"]["recall"] == pytest.approx(1.0)
    assert fixed["overall"]["clicks"] == 0.0
    assert fixed["overall"]["count"] == 3 and fixed["cold_start"]["count"] == 2
    assert report.metrics["oracle"]["overall"] == {
        "r_precision": 1.0, "r_precision_track": 1.0, "ndcg": 1.0, "clicks": 0.0,
        "recall": 1.0, "count": 3}
    nothing = report.metrics["nothing"]["overall"]
    assert nothing["clicks"] == 51.0 and nothing["ndcg"] == 0.0 and nothing["recall"] == 0.0
    assert set(report.seconds) == {"fixed", "oracle", "nothing"}
    assert EvaluationReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


def test_a_recommender_that_breaks_the_contract_is_an_error(catalog):
    with pytest.raises(ValueError, match="a seed was recommended"):
        evaluate({"bad": Raw([3, 8])}, CASES[1:2], catalog)
    with pytest.raises(ValueError, match="outside the catalog"):
        evaluate({"bad": Raw([99])}, CASES[:1], catalog)
    doubled = Fixed("doubled", [1])
    doubled.recommend = lambda cases, k: [np.array([1])] * (2 * len(cases))
    with pytest.raises(ValueError, match="2 lists for 1 cases"):
        evaluate({"doubled": doubled}, CASES[:1], catalog)
    with pytest.raises(ValueError, match="no evaluation case"):
        evaluate({"oracle": Oracle()}, [], catalog)


def test_report_files_in_the_store(store, catalog):
    report = evaluate({"llara": Oracle(), "popularity": Fixed("popularity", [1, 8, 9, 2])},
                      CASES, catalog)
    history = {"train_loss": [3.0, 2.1, 1.7], "val_ndcg": [0.1, 0.15, 0.17]}
    write_report(store, "run-1", report, history=history)
    keys = set(store.list("reports/run-1/"))
    assert keys == {f"reports/run-1/{n}" for n in
                    ("report.json", "report.md", "ndcg_by_category.png", "training_curves.png")}
    for key in keys:
        if key.endswith(".png"):
            assert store.get_bytes(key).startswith(PNG_SIGNATURE)
    saved = json.loads(store.get_bytes("reports/run-1/report.json"))
    assert saved["metrics"]["llara"]["cold_start"]["ndcg"] == 1.0
    assert saved["counts"]["overall"] == 3
    markdown = store.get_bytes("reports/run-1/report.md").decode()
    assert markdown == report_markdown(report)


def test_markdown_table_has_every_system_and_category(catalog):
    report = evaluate({"llara": Oracle(), "popularity": Fixed("popularity", [1, 8, 9, 2]),
                       "als": Fixed("als", [2])}, CASES, catalog)
    md = report_markdown(report)
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    for system in ("llara", "popularity", "als"):
        # overall, cold start and per-category tables each have a row per system
        assert sum(line.startswith(f"| {system} |") for line in rows) == 3
    assert "| llara | 1.0000 | 1.0000 | 1.0000 | 0.00 | 1.0000 |" in md
    assert "title_only (1)" in md and "first_5 (1)" in md and "title_first_25 (1)" in md


def test_flat_metrics_and_mlflow(tmp_path, catalog):
    import mlflow

    report = evaluate({"llara": Oracle(), "popularity": Fixed("popularity", [1, 8])},
                      CASES, catalog)
    flat = flat_metrics(report)
    assert flat["llara.cold_start.ndcg"] == 1.0
    assert flat["popularity.title_only.clicks"] == 0.0
    assert not any(name.endswith(".count") for name in flat)
    with pytest.raises(RuntimeError, match="active MLflow run"):
        log_to_mlflow(report)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        # artifacts under tmp_path too (a sqlite store defaults them to ./mlruns)
        experiment = mlflow.create_experiment(
            "evaluation-test", artifact_location=(tmp_path / "artifacts").as_uri())
        with mlflow.start_run(experiment_id=experiment) as run:
            log_to_mlflow(report)
        logged = mlflow.get_run(run.info.run_id)
        assert logged.data.metrics["llara.overall.ndcg"] == 1.0
        assert logged.data.metrics["popularity.cold_start.recall"] == pytest.approx(0.75)
        artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id,
                                                                          "report")}
        assert {"report/report.json", "report/report.md",
                "report/ndcg_by_category.png"} <= artifacts
    finally:
        mlflow.set_tracking_uri(None)
