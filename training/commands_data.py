"""Data commands: ``llara generate``, ``llara ingest``, ``llara status``."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from llara.store import StoreError


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
    app.command("ingest")(ingest)
    app.command("status")(status)
    app.command("dispatch")(dispatch)


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


def generate(
    playlists: Annotated[int, typer.Option("--playlists", "-n", min=1,
                                           help="How many playlists to write.")] = 10_000,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", file_okay=False,
        help="Folder for the mpd.slice.A-B.json files (default: $LLARA_HOME/mpd-synthetic).")]
    = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed writes the same "
                                      "bytes.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Write a synthetic MPD in the full format (slices of 1,000 playlists, every field)."""
    from rich.progress import Progress

    from llara.config import get_settings
    from llara.generate import SLICE_SIZE, generate_slices

    out = out or get_settings().home / "mpd-synthetic"
    out.mkdir(parents=True, exist_ok=True)
    written, total_bytes = [], 0
    with Progress(disable=as_json, transient=True) as progress:
        task = progress.add_task("generating", total=-(-playlists // SLICE_SIZE))
        for name, data in generate_slices(playlists, seed):
            (out / name).write_bytes(data)
            written.append(name)
            total_bytes += len(data)
            progress.advance(task)
    summary = {"out": str(out), "slices": len(written), "playlists": playlists,
               "bytes": total_bytes, "seed": seed}
    if as_json:
        print(orjson.dumps(summary).decode())
    else:
        typer.echo(f"wrote {playlists:,} playlists in {len(written)} slices "
                   f"({total_bytes / 1e6:,.1f} MB) to {out}")


def _slice_files(paths: list[Path]) -> list[Path]:
    files = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise typer.BadParameter(f"{path} does not exist", param_hint="FILES_OR_DIRS")
    return files


def ingest(
    paths: Annotated[list[Path], typer.Argument(metavar="FILES_OR_DIRS...",
                                                help="Slice files, or folders of *.json.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the store's counts as "
                                          "JSON.")] = False,
) -> None:
    """Upload slices to the raw prefix of the store and deliver their ObjectCreated event to
    the ETL handler (the same one the bucket notification invokes).

    Quarantined input is reported, not an error: the exit status is non-zero only for usage
    errors or an unreachable store.
    """
    from rich.progress import Progress

    from llara.config import get_settings
    from llara.etl import handle_event, object_created_event
    from llara.processed import store_status
    from llara.store import open_store

    files = _slice_files(paths)
    raw_prefix = get_settings().raw_prefix
    landed = quarantined = unreadable = 0
    try:
        store = open_store()
        store.check()
        with Progress(disable=as_json, transient=False) as progress:
            task = progress.add_task("ingesting", total=len(files))
            for path in files:
                key = raw_prefix + path.name
                store.put_bytes(key, path.read_bytes())
                for result in handle_event(object_created_event(store, [key]),
                                           store)["processed"]:
                    landed += result["playlists_ok"]
                    quarantined += result["playlists_quarantined"]
                    unreadable += result["status"] == "unreadable"
                progress.advance(task)
        counts = store_status(store)
    except StoreError as e:
        _fail(f"store unreachable: {e}")
    if as_json:
        print(orjson.dumps(counts).decode())
        return
    typer.echo(f"ingested {len(files)} files: {landed:,} playlists landed, "
               f"{quarantined:,} quarantined, {unreadable} unreadable files")
    _print_counts(counts, store.url)


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """What the store holds: slices, playlists, interactions and tracks (duplicates
    resolved) and what is in quarantine."""
    from llara.processed import store_status
    from llara.store import open_store

    try:
        store = open_store()
        counts = store_status(store)
    except StoreError as e:
        _fail(f"store unreachable: {e}")
    if as_json:
        print(orjson.dumps(counts).decode())
    else:
        _print_counts(counts, store.url)


def _print_counts(counts: dict[str, int], url: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"store {url}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in counts.items():
        table.add_row(key.replace("_", " "), f"{value:,}")
    Console(file=sys.stdout).print(table)


def dispatch(
    queue_url: Annotated[str, typer.Argument(help="SQS queue receiving the bucket's "
                                             "ObjectCreated notifications.")],
    forever: Annotated[bool, typer.Option("--forever", help="Keep polling (long polls of "
                                          "20 s) instead of stopping once the queue is "
                                          "empty.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON line per "
                                          "message.")] = False,
) -> None:
    """Drain S3 notifications from an SQS queue into the ETL handler (a local stand-in for
    the Lambda trigger; AWS_ENDPOINT_URL points it at MinIO/ElasticMQ or a test server)."""
    import boto3

    from llara.config import get_settings
    from llara.etl import default_store, drain_queue

    sqs = boto3.client("sqs", endpoint_url=get_settings().aws_endpoint_url)
    try:
        outcomes = drain_queue(queue_url, default_store(), sqs=sqs,
                               wait_seconds=20 if forever else 1,
                               max_empty_polls=10**12 if forever else 1)
        for outcome in outcomes:
            if as_json:
                print(orjson.dumps(outcome).decode(), flush=True)
            else:
                for result in outcome["processed"]:
                    typer.echo(f"{result['source']}: {result['status']}, "
                               f"{result['playlists_ok']} playlists landed, "
                               f"{result['playlists_quarantined']} quarantined")
    except StoreError as e:
        _fail(f"store unreachable: {e}")
