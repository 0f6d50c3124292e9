"""``llara evaluate`` end to end: a real (tiny, untrained-weights) run saved with the run
artifacts, the real MiniLM encoder, processed data through the ETL, playlists from a file
with tracks the model has never seen."""
from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from .conftest import make_tables

SYSTEMS = {"llara", "popularity", "als", "item_knn", "text_knn"}
METRIC_KEYS = {"r_precision", "r_precision_track", "ndcg", "clicks", "recall", "count"}


def slice_bytes(tables, pids=None, extra_playlists=()) -> bytes:
    """An MPD slice (trimmed fields, like the shared sample) from processed-style tables."""
    tracks = tables["tracks"]
    meta = {u: (n, a) for u, n, a in zip(tracks.column("track_uri").to_pylist(),
                                          tracks.column("track_name").to_pylist(),
                                          tracks.column("artist_name").to_pylist())}
    names = dict(zip(tables["playlists"].column("pid").to_pylist(),
                     tables["playlists"].column("name").to_pylist()))
    inter = tables["interactions"].sort_by([("pid", "ascending"), ("pos", "ascending")])
    by_pid: dict[int, list[dict]] = {}
    for pid, uri in zip(inter.column("pid").to_pylist(), inter.column("track_uri").to_pylist()):
        if pids is None or pid in pids:
            name, artist = meta[uri]
            by_pid.setdefault(pid, []).append(
                {"track_uri": uri, "track_name": name, "artist_name": artist})
    playlists = [{"pid": pid, "name": names[pid], "num_followers": 10, "tracks": t}
                 for pid, t in by_pid.items()]
    return orjson.dumps({"info": {"slice": "0-999"},
                         "playlists": playlists + list(extra_playlists)})


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory):
    """A store holding processed toy playlists and one saved run; yields (home, tables)."""
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("LLARA_HOME", str(home))
    from llara.config import get_settings

    get_settings.cache_clear()
    from llara.etl import process_object
    from llara.processed import read_processed
    from llara.store import open_store
    from llara_training.als import fit_als
    from llara_training.artifacts import save_run
    from llara_training.baselines import item_counts
    from llara_training.config import AlsConfig, TrainConfig
    from llara_training.encode import TextEncoder
    from llara_training.model import LlaraModel, catalog_item_vectors
    from llara_training.split import build_dataset

    tables = make_tables(n_playlists=160, n_genres=4, tracks_per_genre=40, lengths=(10, 60))
    store = open_store()
    store.put_bytes("raw/toy.json", slice_bytes(tables))
    assert process_object(store, "raw/toy.json").status != "unreadable"
    data = build_dataset(read_processed(store))
    als = fit_als(data.user_items(), AlsConfig(factors=8, iterations=3), progress=False)
    encoder = TextEncoder(store=store, progress=False)
    text_emb = encoder.encode(list(data.catalog.texts))
    import torch

    torch.manual_seed(0)
    model = LlaraModel(text_dim=text_emb.shape[1], behaviour_dim=8, width=16, hidden=32,
                       heads=2, layers=1, projector_hidden=32).eval()
    vectors = catalog_item_vectors(model, text_emb, als.item_factors, als.warm).numpy()
    save_run(store, "run-1", model=model, catalog=data.catalog,
             popularity=item_counts(data.user_items()).astype(np.int64), item_vectors=vectors,
             als_item_factors=als.item_factors, encoder=encoder.describe(), metrics={},
             config=TrainConfig().model_dump())
    yield home, tables, data
    get_settings.cache_clear()
    mp.undo()


@pytest.fixture
def cli_env(trained_home, monkeypatch):
    monkeypatch.setenv("LLARA_HOME", str(trained_home[0]))
    from llara.config import get_settings

    get_settings.cache_clear()
    return trained_home


@pytest.mark.slow
def test_evaluate_json_on_playlists_with_unseen_tracks(cli_env, tmp_path):
    from llara_training.cli import app

    _, tables, data = cli_env
    test_pids = {c.pid for c in data.test_cases + data.val_cases}
    newcomers = [{"pid": 90_000 + j, "name": "brand new",
                  "tracks": [{"track_uri": f"spotify:track:{'Y' * 18}{j:02d}{t:02d}",
                              "track_name": f"fresh {j}-{t}", "artist_name": "debutant"}
                             for t in range(14)]}
                 for j in range(3)]
    path = tmp_path / "mine.json"
    path.write_bytes(slice_bytes(tables, test_pids, newcomers))
    result = CliRunner().invoke(app, ["evaluate", "--playlists", str(path), "--json",
                                      "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["run_id"] == "run-1"
    assert doc["new_tracks"] == 3 * 14
    assert doc["cases"] == doc["counts"]["overall"] == len(test_pids) + 3
    assert set(doc["metrics"]) == SYSTEMS
    for system in SYSTEMS:
        overall = doc["metrics"][system]["overall"]
        assert set(overall) == METRIC_KEYS and 0 <= overall["ndcg"] <= 1
        assert 0 <= overall["clicks"] <= 51
    # popularity and ALS know the toy world: they must beat nothing at all
    assert doc["metrics"]["als"]["overall"]["ndcg"] > 0.05
    assert (tmp_path / "report" / "ndcg_by_category.png").read_bytes()[:4] == b"\x89PNG"

    table = CliRunner().invoke(app, ["evaluate", "--playlists", str(path), "--run", "run-1"],
                               env={"COLUMNS": "80"})
    assert table.exit_code == 0, table.output
    for system in SYSTEMS:
        assert system in table.stdout
    assert "NDCG per seed category" in table.stdout and "title_first_10 (" in table.stdout
    assert "…" not in table.stdout  # nothing truncated on an 80-column terminal


def test_evaluate_errors_are_clear(tmp_path):
    from llara_training.cli import app

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(app, ["evaluate", "--playlists", str(bad)])
    assert result.exit_code == 2 and "no readable playlists" in result.output
    good = tmp_path / "good.json"
    good.write_bytes(slice_bytes(make_tables(n_playlists=5, n_genres=1, tracks_per_genre=20)))
    result = CliRunner().invoke(app, ["evaluate", "--playlists", str(good)])
    assert result.exit_code == 1 and "llara train" in result.output  # no run yet
    result = CliRunner().invoke(app, ["evaluate", "--playlists", str(tmp_path / "missing")])
    assert result.exit_code == 2
