"""The continuous-training loop end to end on generated data: uploaded slices through the ETL
into training, the trained model published to staging, gated to canary and production by real
offline evaluation and by simulated listener feedback through the real serving handlers, a
rollback that a running HTTP server follows without restart, and racing loop passes."""
from __future__ import annotations

import json
import random
import threading
import time
import urllib.request

import orjson
import pytest

from llara import bundle
from llara.web import Request

pytestmark = pytest.mark.slow


@pytest.fixture
def loop_env(world_store, monkeypatch):
    from llara.config import get_settings

    monkeypatch.setenv("LLARA_TRAIN_LAUNCHER", "none")
    monkeypatch.setenv("LLARA_PROMOTE_MIN_REQUESTS", "100")
    monkeypatch.setenv("LLARA_PROMOTE_MIN_EVENTS", "40")
    get_settings.cache_clear()
    return world_store


def _service(store, **settings):
    from llara.api import Service
    from llara.config import Settings

    return Service(Settings(**settings), store=store, rng=random.Random(0))


def _call(service, method, path, body=None):
    response = service.handle(Request(method, path, {"content-type": "application/json"},
                                      orjson.dumps(body) if body is not None else b""))
    return response.status, response.body


def simulate_listeners(service, requests: int, click: dict, skip: dict, seed: int = 0) -> dict:
    """Listeners ask for recommendations and react: a click on the first track with
    probability ``click[version]``, a skip of the second with ``skip[version]``."""
    rng = random.Random(seed)
    uris = service.production.get().track_uris
    served: dict[str, int] = {}
    for i in range(requests):
        status, body = _call(service, "POST", "/predict", {
            "playlist_name": f"mix {i % 7}", "k": 5,
            "tracks": [{"track_uri": u} for u in rng.sample(list(uris), 2)]})
        assert status == 200, body
        version, tracks = body["model_version"], body["recommended_tracks"]
        served[version] = served.get(version, 0) + 1
        for event, p, track in (("click", click[version], tracks[0]),
                                ("skip", skip[version], tracks[1])):
            if rng.random() < p:
                status, _ = _call(service, "POST", "/feedback", {
                    "request_id": body["request_id"], "track_uri": track["track_uri"],
                    "event": event})
                assert status == 202
    service.close()  # a clean shutdown writes every buffered served record
    return served


def _aliases(store):
    return {a: (p or {}).get("version") for a, p in
            ((a, bundle.read_alias(store, a)) for a in bundle.ALIASES)}


def _by_stage(result):
    return {d["stage"]: d for d in result["promotion"]}


def test_upload_train_staging_canary_production_and_retrain(world, loop_env):
    from mlflow import MlflowClient

    from llara.config import get_settings
    from llara.feedback import FeedbackLog
    from llara.schedule import decide
    from llara.schemas import FeedbackEvent
    from llara_training.pipeline import run_pipeline
    from llara_training.promotion import loop_pass

    from .conftest import tiny_config, upload_and_ingest

    store = loop_env
    # the training run recorded what it consumed, so nothing new: no training
    result = loop_pass(store)
    assert not result["schedule"]["train"] and "not enough new data" in result["schedule"]["reason"]
    steps = _by_stage(result)
    assert steps["canary->production"]["action"] == "hold"
    assert steps["staging->canary"]["action"] == "promote"
    assert steps["staging->canary"]["numbers"]["checksums_ok"] is True
    assert steps["staging->canary"]["numbers"]["parity_passed"] is True
    assert _aliases(store) == {"staging": world.good, "canary": world.good, "production": None}

    result = loop_pass(store)  # no production yet: the first canary becomes production
    assert _by_stage(result)["canary->production"]["action"] == "promote"
    assert _aliases(store)["production"] == world.good

    bundle.set_alias(store, "staging", world.other)  # the next training run's model
    steps = _by_stage(loop_pass(store))
    offline = steps["staging->canary"]["numbers"]["offline"]
    assert steps["staging->canary"]["action"] == "promote", steps["staging->canary"]["reason"]
    assert offline["staging"]["test_set"] == offline["production"]["test_set"]
    assert offline["staging"]["cases"] == offline["production"]["cases"] > 0
    assert _aliases(store)["canary"] == world.other

    # half the traffic on the canary, whose listeners click more and skip less
    service = _service(store, canary_percent=50, reload_seconds=0, served_batch_records=50)
    served = simulate_listeners(service, 320, click={world.other: 0.6, world.good: 0.3},
                                skip={world.other: 0.1, world.good: 0.3})
    assert min(served.values()) >= 100, served
    steps = _by_stage(loop_pass(store))
    decision = steps["canary->production"]
    assert decision["action"] == "promote", decision["reason"]
    assert decision["numbers"]["canary"]["ctr"] > decision["numbers"]["production"]["ctr"]
    assert _aliases(store)["production"] == world.other

    # every decision is in MLflow with its reason; the registry alias followed the pointer
    uri = get_settings().tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)  # a training run in this process set a global registry URI
    experiment = client.get_experiment_by_name("llara-promotion")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    assert {r.data.tags["llara.action"] for r in runs} == {"promote", "hold"}
    promoted = [r for r in runs if r.data.tags["llara.stage"] == "canary->production"
                and r.data.tags["llara.action"] == "promote" and "ctr" in r.data.tags[
                    "llara.reason"].lower()]
    assert promoted and promoted[0].data.metrics["canary.requests"] >= 100
    production = client.get_model_version_by_alias("llara", "production")
    assert production.tags["bundle_version"] == world.other

    # a new slice lands and goes through the ETL: the schedule decides to train
    upload_and_ingest(store, world.later_slices)
    FeedbackLog(store).append([FeedbackEvent(request_id="never-served", event="click",
                                             track_uri="spotify:track:" + "x" * 22)])
    result = loop_pass(store)
    assert result["schedule"]["train"] and result["schedule"]["new_sources"] == 1

    # the training job learns from the feedback, and records what it consumed
    run = run_pipeline(tiny_config(world.encoder, get_settings().tracking_uri), store=store,
                       progress=False)
    counts = json.loads(store.get_bytes(f"runs/{run.run_id}/metrics.json"))["feedback"]
    assert counts["pseudo_playlists"] > 50 and counts["hard_negatives"] > 10
    assert counts["unknown_request"] == 1  # kept in the store, not used, counted
    logged = client.get_run(run.mlflow_run_id).data.metrics
    assert logged["feedback.unknown_request"] == 1
    assert logged["feedback.pseudo_playlists"] == counts["pseudo_playlists"]
    assert not decide(store, min_new_slices=1, min_new_feedback=1)[0].train


def test_a_canary_worse_online_is_rolled_back_and_stays_out(world, loop_env):
    from llara_training.promotion import promotion_pass

    store = loop_env
    bundle.set_alias(store, "production", world.good)
    bundle.set_alias(store, "canary", world.other)
    bundle.set_alias(store, "staging", world.other)
    service = _service(store, canary_percent=50, reload_seconds=0, served_batch_records=50)
    simulate_listeners(service, 320, click={world.other: 0.15, world.good: 0.45},
                       skip={world.other: 0.5, world.good: 0.2}, seed=1)
    rollback, staging = promotion_pass(store)
    assert rollback.action == "rollback" and "significantly worse" in rollback.reason
    assert rollback.numbers["p_ctr_lower"] < 0.05
    assert _aliases(store) == {"staging": world.other, "canary": world.good,
                               "production": world.good}
    assert staging.action == "hold" and "rolled back from canary before" in staging.reason
    again = promotion_pass(store)  # a later pass does not bring it back
    assert [d.action for d in again] == ["hold", "hold"]
    assert _aliases(store)["canary"] == world.good


def test_a_model_worse_offline_never_leaves_staging(world, loop_env):
    from llara_training.promotion import promotion_pass

    from typer.testing import CliRunner

    from llara_training.cli import app

    store = loop_env
    bundle.set_alias(store, "production", world.good)
    bundle.set_alias(store, "staging", world.worse)
    result = CliRunner().invoke(app, ["loop", "--json"])  # one whole pass, as scheduled
    assert result.exit_code == 0, result.output
    staging = _by_stage(json.loads(result.stdout))["staging->canary"]
    assert staging["action"] == "hold" and "worse offline" in staging["reason"]
    offline = staging["numbers"]["offline"]
    assert offline["staging"]["ndcg"] < offline["production"]["ndcg"]
    _, again = promotion_pass(store)  # and the next pass (scores cached) holds it again
    assert again.action == "hold" and again.numbers["offline"] == offline
    assert _aliases(store) == {"staging": world.worse, "canary": None,
                               "production": world.good}


def test_rollback_reaches_a_running_server_without_restart(world, any_world_store):
    from typer.testing import CliRunner

    from llara.server import make_server
    from llara_training.cli import app

    store = any_world_store
    bundle.set_alias(store, "production", world.good)
    bundle.set_alias(store, "production", world.other)  # a release that goes wrong
    service = _service(store, reload_seconds=0.2)
    server = make_server(service, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    def health():
        with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
            return json.load(response)["model_version"]

    try:
        assert health() == world.other
        result = CliRunner().invoke(app, ["rollback", "production"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["numbers"]["moved_to"] == world.good
        deadline = time.monotonic() + 30
        while health() != world.good and time.monotonic() < deadline:
            time.sleep(0.1)
        assert health() == world.good
        request = urllib.request.Request(f"{url}/predict", data=json.dumps(
            {"playlist_name": "road trip", "k": 3, "tracks": [
                {"track_name": "Never Heard", "artist_name": "Nobody Yet"}]}).encode(),
            headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
        assert answer["model_version"] == world.good
    finally:
        server.shutdown()
        server.server_close()
        service.close()
    # the request's context was recorded for joining its feedback
    from llara.served import read_served

    record = next(r for r in read_served(store) if r["request_id"] == answer["request_id"])
    assert record["model_version"] == world.good and record["title"] == "road trip"
    assert record["unknown_seeds"] == [{"track_name": "Never Heard", "artist_name": "Nobody Yet"}]
    assert record["recommended"] == [t["track_uri"] for t in answer["recommended_tracks"]]
    listing = json.loads(CliRunner().invoke(app, ["models", "--json"]).stdout)
    rows = {row["version"]: row for row in listing["versions"]}
    assert set(rows) == {world.good, world.other, world.worse}
    assert rows[world.good]["aliases"] == ["staging", "production"]
    assert rows[world.good]["parity_passed"] is True
    assert 0 < rows[world.good]["metrics"]["test.ndcg"] <= 1


def test_two_loop_passes_at_once_promote_once(world, any_world_store):
    from llara_training.promotion import promotion_pass

    store = any_world_store  # staging holds the new model, no canary or production yet
    barrier = threading.Barrier(4)
    results = []

    def one_pass():
        barrier.wait()
        results.append(promotion_pass(store))

    threads = [threading.Thread(target=one_pass) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    decisions = [d for made in results for d in made]
    assert sum(d.action == "promote" for d in decisions) == 1
    assert _aliases(store)["canary"] == world.good
    recorded = [json.loads(store.get_bytes(k)) for k in store.list("state/promotion/decisions/")]
    assert len(recorded) == len(decisions)
