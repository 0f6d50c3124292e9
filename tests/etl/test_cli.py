"""``llara generate | ingest | status`` through the real Typer app."""
from __future__ import annotations

import orjson
from typer.testing import CliRunner

from llara_training.cli import app

runner = CliRunner()
KEYS = ["slices", "playlists", "interactions", "tracks", "quarantined_playlists",
        "quarantined_files"]


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout.strip().splitlines()[-1])


def test_generate_ingest_status(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "gen"
    gen = _json(runner.invoke(app, ["generate", "--playlists", "1500", "--out", str(out),
                                    "--seed", "2", "--json"]))
    assert gen["slices"] == 2 and sorted(p.name for p in out.iterdir()) == [
        "mpd.slice.0-999.json", "mpd.slice.1000-1999.json"]
    (out / "broken.json").write_bytes(b"{\"playlists\": [")
    doc = orjson.loads((out / "mpd.slice.1000-1999.json").read_bytes())
    doc["playlists"][0]["tracks"][0]["track_uri"] = "not a uri"
    (tmp_path / "fixed").mkdir()
    (tmp_path / "fixed" / "mpd.slice.1000-1999.json").write_bytes(orjson.dumps(doc))

    counts = _json(runner.invoke(app, ["ingest", str(out), "--json"]))
    entries = sum(len(p["tracks"]) for p in doc["playlists"]) + sum(
        len(p["tracks"]) for p in orjson.loads(
            (out / "mpd.slice.0-999.json").read_bytes())["playlists"])
    assert list(counts) == KEYS
    assert counts == {**counts, "slices": 2, "playlists": 1500, "interactions": entries,
                      "quarantined_playlists": 0, "quarantined_files": 1}
    # Re-ingesting a slice with one bad playlist: quarantined, not an error.
    counts = _json(runner.invoke(app, ["ingest", str(tmp_path / "fixed" /
                                                     "mpd.slice.1000-1999.json"), "--json"]))
    assert (counts["playlists"], counts["quarantined_playlists"]) == (1499, 1)
    assert _json(runner.invoke(app, ["status", "--json"])) == counts
    human = runner.invoke(app, ["status"])
    assert human.exit_code == 0 and "1,499" in human.stdout


def test_usage_errors_and_unreachable_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["ingest", str(tmp_path / "missing.json")]).exit_code == 2
    assert runner.invoke(app, ["generate", "--playlists", "0"]).exit_code == 2
    monkeypatch.setenv("LLARA_STORE", "s3://no-such-bucket-here")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    from llara.config import get_settings

    get_settings.cache_clear()
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 1 and "store unreachable" in result.output


def test_dispatch_drains_a_queue(s3_bucket, s3_env, small_slice, monkeypatch, tmp_path):
    import boto3

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LLARA_STORE", f"s3://{s3_bucket}")
    from llara.config import get_settings

    get_settings.cache_clear()
    sqs = boto3.client("sqs", endpoint_url=s3_env)
    queue = sqs.create_queue(QueueName=f"{s3_bucket}-cli")["QueueUrl"]
    event = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": s3_bucket}, "object": {"key": "raw/a.json"}}}]}
    boto3.client("s3", endpoint_url=s3_env).put_object(Bucket=s3_bucket, Key="raw/a.json",
                                                       Body=orjson.dumps(small_slice))
    sqs.send_message(QueueUrl=queue, MessageBody=orjson.dumps(event).decode())
    result = runner.invoke(app, ["dispatch", queue, "--json"])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.strip().splitlines()
    assert orjson.loads(line)["processed"][0]["playlists_ok"] == 30
    assert _json(runner.invoke(app, ["status", "--json"]))["playlists"] == 30


def test_ingest_into_an_s3_store_with_a_prefix(s3_bucket, small_slice, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LLARA_STORE", f"s3://{s3_bucket}/team/a")
    from llara.config import get_settings

    get_settings.cache_clear()
    path = tmp_path / "mpd.slice.0-999.json"
    path.write_bytes(orjson.dumps(small_slice))
    counts = _json(runner.invoke(app, ["ingest", str(path), "--json"]))
    assert (counts["slices"], counts["playlists"]) == (1, 30)
    import boto3

    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(
        Bucket=s3_bucket, Prefix="team/a/")["Contents"]]
    assert "team/a/raw/mpd.slice.0-999.json" in keys
    assert "team/a/processed/playlists/mpd.slice.0-999.json.parquet" in keys
