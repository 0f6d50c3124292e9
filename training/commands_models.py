"""``llara models``, ``llara promote``, ``llara rollback`` and ``llara loop``: the published
versions and their aliases, moved by hand or by the gated decision procedure
(:mod:`llara_training.promotion`). Each prints JSON with ``--json``."""
from __future__ import annotations

import json
import logging
import sys
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("models")(models)
    app.command("promote")(promote)
    app.command("rollback")(rollback)
    app.command("loop")(loop)


def _store():
    from llara.config import get_settings
    from llara.store import open_store

    return open_store(get_settings().store_url)


def _quiet_logs() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("mlflow", "alembic", "urllib3", "botocore", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


KEY_METRICS = ("ndcg", "r_precision", "clicks")


def _run_metrics(store, run_id: str | None) -> dict[str, float]:
    """LLaRA's overall test metrics from the training run, when the run is in the store."""
    from llara.store import ObjectNotFound

    if not run_id:
        return {}
    try:
        doc = json.loads(store.get_bytes(f"runs/{run_id}/metrics.json"))
    except ObjectNotFound:
        return {}
    overall = doc.get("evaluation", {}).get("metrics", {}).get("llara", {}).get("overall", {})
    return {k: overall[k] for k in KEY_METRICS if k in overall}


def model_table(store) -> list[dict]:
    """Every published version: its aliases, creation time, source run, parity and metrics."""
    from llara import bundle
    from llara_training.promotion import OFFLINE, aliases, is_rejected, manifest_of

    pointers = aliases(store)
    offline: dict[str, dict] = {}
    for key in store.list(OFFLINE):  # offline scores cached by the promotion gate
        run = key[len(OFFLINE):].rsplit("-", 1)[0]
        offline[run] = json.loads(store.get_bytes(key))
    rows = []
    for version in bundle.list_versions(store):
        manifest = manifest_of(store, version)
        run = manifest.get("source_run")
        metrics = {f"test.{k}": v for k, v in _run_metrics(store, run).items()}
        metrics.update({f"offline.{k}": v for k, v in offline.get(run, {}).items()
                        if k in KEY_METRICS})
        rows.append({
            "version": version, "created": manifest.get("created"),
            "aliases": [a for a, p in pointers.items() if p and p["version"] == version],
            "source_run": run, "precision": manifest.get("precision"),
            "catalog_size": manifest.get("catalog_size"),
            "parity_passed": (manifest.get("parity") or {}).get("passed"),
            "rejected": is_rejected(store, version), "metrics": metrics})
    return rows


def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List published model versions with their aliases (staging, canary, production) and key
    metrics (training metrics from the manifest; offline gate scores where computed)."""
    store = _store()
    rows = model_table(store)
    if as_json:
        print(json.dumps({"store": store.url, "versions": rows}, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"models in {store.url}")
    for column in ("version", "aliases", "source run", "parity", "metrics"):
        table.add_column(column, overflow="fold")
    for row in rows:
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in sorted(row["metrics"].items()))
        table.add_row(row["version"], ",".join(row["aliases"]) + (" (rejected)" if
                      row["rejected"] else ""), str(row["source_run"]),
                      str(row["parity_passed"]), metrics)
    Console().print(table)
    if not rows:
        typer.echo("no published versions: run `llara train` then `llara publish`", err=True)


def promote(
    version: Annotated[str, typer.Argument(help="A published version (see `llara models`).")],
    to: Annotated[str, typer.Option("--to", help="Alias to point at it: staging, canary or "
                                    "production.")],
) -> None:
    """Point an alias at a version by hand (no gates; recorded and logged to MLflow like every
    decision). Serving picks it up by hot reload."""
    from llara import bundle
    from llara_training.promotion import LockBusy, manual_move

    if to not in bundle.ALIASES:
        typer.echo(f"error: --to must be one of {', '.join(bundle.ALIASES)}", err=True)
        raise typer.Exit(2)
    _quiet_logs()
    try:
        decision = manual_move(_store(), version, to)
    except (bundle.BundleError, LockBusy) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    print(json.dumps(decision.to_dict(), indent=2, default=str))


def rollback(
    alias: Annotated[str, typer.Argument(help="staging, canary or production.")],
) -> None:
    """Point an alias back at the version it held before (serving follows by hot reload)."""
    from llara import bundle
    from llara_training.promotion import LockBusy, manual_rollback

    if alias not in bundle.ALIASES:
        typer.echo(f"error: alias must be one of {', '.join(bundle.ALIASES)}", err=True)
        raise typer.Exit(2)
    _quiet_logs()
    try:
        decision = manual_rollback(_store(), alias)
    except (bundle.BundleError, LockBusy) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    print(json.dumps(decision.to_dict(), indent=2, default=str))


def loop(
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole pass as JSON.")] = False,
) -> None:
    """One pass of the continuous-training decision procedure: decide whether to train (and
    launch it), then gate canary -> production (online feedback) and staging -> canary
    (checksums, parity, offline metrics). Thresholds: LLARA_TRAIN_MIN_NEW_* and
    LLARA_PROMOTE_* environment variables."""
    from llara_training.promotion import loop_pass

    _quiet_logs()
    result = loop_pass(_store())
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return
    schedule = result["schedule"]
    typer.echo(f"schedule: {'train' if schedule['train'] else 'no training'} - "
               f"{schedule['reason']}" + (f" ({schedule['launched']})" if schedule['launched']
                                          else ""))
    for d in result["promotion"]:
        typer.echo(f"{d['stage']}: {d['action']} {d['version'] or ''} - {d['reason']}")
    typer.echo("aliases: " + ", ".join(f"{a}={v}" for a, v in result["aliases"].items()))
