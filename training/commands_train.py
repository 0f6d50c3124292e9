"""``llara train``: the batch training job (see :mod:`llara_training.pipeline`)."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("train")(train)


def train(
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", exists=True, dir_okay=False,
        help="YAML or JSON training config (keys of llara_training.config.TrainConfig: "
        "encoder, als, projector, llara, data, tracking, k, store). Unset keys keep "
        "their defaults.")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print {run_id, model_name, model_version, metrics, timings} as JSON "
        "on stdout (progress and logs go to stderr).")] = False,
) -> None:
    """Train on the processed data in the store: text embeddings, ALS, projector and the LLaRA
    model; evaluate it against the baselines on the test split; save the run, the report
    and the registered model (MLflow). Uses the GPU when present."""
    from pydantic import ValidationError

    from llara.store import StoreError
    from llara_training.config import TrainConfig

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("mlflow", "alembic", "urllib3", "botocore", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = TrainConfig.from_file(config) if config else TrainConfig()
    except (ValidationError, ValueError, OSError) as e:
        typer.secho(f"error: invalid config {config}: {e}", fg="red", err=True)
        raise typer.Exit(2) from None

    from llara_training.evaluate import report_markdown
    from llara_training.pipeline import run_pipeline

    try:
        result = run_pipeline(settings, progress=sys.stderr.isatty())
    except (StoreError, ValueError) as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(result.summary(), default=float))
        return
    typer.echo(report_markdown(result.report))
    typer.echo(f"\nrun {result.run_id}: model {result.model_name!r} version "
               f"{result.model_version}; stages: "
               + ", ".join(f"{k} {v:.0f}s" for k, v in result.timings.items()))
