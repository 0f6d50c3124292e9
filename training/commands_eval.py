"""``llara evaluate``: the trained model and the baselines on your own MPD-format playlists."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from llara.store import StoreError


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_playlists)


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


def read_playlist_files(path: Path):
    """The playlists of a slice file, or of every ``*.json`` below a folder, validated by the
    ETL's rules into processed tables. Returns (tables, files read, notes on what was skipped:
    unreadable files and rejected playlists, with reasons)."""
    from llara.etl import UnreadableObject, parse_slice, transform

    files = sorted(p for p in path.rglob("*.json") if p.is_file()) if path.is_dir() else [path]
    if not files:
        raise typer.BadParameter(f"no *.json file under {path}", param_hint="--playlists")
    playlists, notes = [], []
    for file in files:
        try:
            playlists.extend(parse_slice(file.read_bytes()))
        except UnreadableObject as e:
            notes.append(f"{file}: skipped, {e}")
    if not playlists:
        raise typer.BadParameter("no readable playlists: " + "; ".join(notes),
                                 param_hint="--playlists")
    result = transform(playlists, source="evaluate")
    notes.extend(f"playlist #{r.index}: rejected, {r.reason}" for r in result.rejected)
    return result.tables, files, notes


def evaluate_playlists(
    playlists: Annotated[Path, typer.Option(
        "--playlists", "-p", exists=True, metavar="FILE_OR_DIR",
        help="An MPD slice (mpd.slice.A-B.json, full or trimmed fields) or a folder of them.")],
    run: Annotated[str | None, typer.Option(
        "--run", help="Run id under runs/ in the store (default: the latest run).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    k: Annotated[int, typer.Option(min=1, help="Recommendations scored per playlist.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the category assignment and of the "
                                      "random-seed categories.")] = 0,
    out: Annotated[Path | None, typer.Option(
        "--out", file_okay=False,
        help="Also write report.json, report.md and the plots to this folder.")] = None,
) -> None:
    """Evaluate the trained model and the baselines (popularity, ALS fold-in, item kNN,
    text kNN) on any MPD-format playlists, RecSys Challenge 2018 style: each playlist gets a
    seed category (title only, title + first 1, ..., title + 100 random), the rest of it is
    held out, and R-precision, NDCG, clicks and recall@500 are reported overall, on the
    cold-start categories and per category. Tracks the model has never seen are encoded from
    their text and can be recommended."""
    import logging

    from llara.store import open_store
    from llara_training.evaluate import evaluate_run_on_tables, report_files

    tables, files, notes = read_playlist_files(playlists)
    for note in notes[:20]:
        typer.secho(note, fg="yellow", err=True)
    if len(notes) > 20:
        typer.secho(f"... and {len(notes) - 20} more", fg="yellow", err=True)
    logging.basicConfig(level=logging.WARNING)
    try:
        store = open_store()
        report, info = evaluate_run_on_tables(store, tables, run_id=run, k=k, seed=seed,
                                              progress=not as_json)
    except LookupError as e:
        _fail(str(e))
    except StoreError as e:
        _fail(f"store unreachable: {e}")
    except ValueError as e:
        _fail(str(e))
    info = {**info, "files": len(files), "playlists": tables["playlists"].num_rows,
            "skipped_input": len(notes)}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in report_files(report).items():
            (out / name).write_bytes(data)
    if as_json:
        print(orjson.dumps({**info, **report.to_dict()},
                           option=orjson.OPT_SERIALIZE_NUMPY).decode())
        return
    _print_report(report, info)


def _print_report(report, info: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from llara_training.evaluate import COLD_START, OVERALL

    console = Console(file=sys.stdout)
    console.print(f"run [bold]{info['run_id']}[/] on {info['cases']:,} playlists "
                  f"({info['new_tracks']:,} tracks new to the model)")
    for system, reason in info.get("skipped", {}).items():
        console.print(f"[yellow]{system} skipped: {reason}[/]")
    table = Table(title=f"RecSys Challenge 2018 metrics over the top {report.k} "
                        "(clicks: lower is better)")
    table.add_column("system", no_wrap=True)
    for label in ("R-prec", "track R-prec", "NDCG", "clicks", "recall",
                  "cold NDCG", "cold R-prec"):
        table.add_column(label, justify="right")
    for system in report.systems:
        overall = report.metrics[system][OVERALL]
        cold = report.metrics[system].get(COLD_START)
        table.add_row(system, *(f"{overall[m]:.4f}" for m in
                                ("r_precision", "r_precision_track", "ndcg")),
                      f"{overall['clicks']:.2f}", f"{overall['recall']:.4f}",
                      f"{cold['ndcg']:.4f}" if cold else "-",
                      f"{cold['r_precision']:.4f}" if cold else "-")
    console.print(table)
    # Categories as rows: ten of them never fit across a terminal, five systems do.
    per_category = Table(title="NDCG per seed category")
    per_category.add_column("category (cases)", no_wrap=True)
    for system in report.systems:
        per_category.add_column(system, justify="right")
    for category in report.categories:
        per_category.add_row(f"{category} ({report.counts[category]})",
                             *(f"{report.metrics[s][category]['ndcg']:.4f}"
                               for s in report.systems))
    console.print(per_category)
