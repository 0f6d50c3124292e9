"""``llara publish`` and ``llara serve``. Heavy imports stay inside the commands: ``llara serve``
loads only the layer (onnxruntime, numpy, tokenizers), never torch or transformers."""
from __future__ import annotations

import json
import signal
import tempfile
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("publish")(publish)
    app.command("serve")(serve)


def publish(
    run: str = typer.Option(None, "--run", help="Run id under runs/ (default: the latest run)."),
    alias: str = typer.Option("staging", "--alias",
                              help="Alias to point at the new bundle (staging, canary, "
                                   "production); '' for none."),
    work_dir: Path = typer.Option(None, "--work-dir",
                                  help="Where the export is built (default: a temp folder)."),
    registry: bool = typer.Option(True, "--registry/--no-registry",
                                  help="Register the version and alias in MLflow."),
) -> None:
    """Export a trained run to an ONNX QInt8 bundle (parity-gated), publish it atomically to
    models/<version>/ in the store, move the alias, and register it in the MLflow registry."""
    from llara.config import get_settings
    from llara.store import open_store
    from llara_training.export import ParityError
    from llara_training.publish import publish_run

    settings = get_settings()
    store = open_store(settings.store_url)
    with tempfile.TemporaryDirectory(prefix="llara-export-") as tmp:
        try:
            summary = publish_run(store, run, alias=alias or None,
                                  work_dir=work_dir or Path(tmp),
                                  tracking_uri=settings.tracking_uri if registry else None)
        except ParityError as e:
            typer.echo(f"export refused: {e}", err=True)
            raise typer.Exit(2) from None
        except LookupError as e:
            typer.echo(str(e), err=True)
            raise typer.Exit(1) from None
    typer.echo(json.dumps(summary, indent=2, default=str))


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    bundle: Path = typer.Option(None, "--bundle", envvar="LLARA_BUNDLE",
                                help="Serve this local bundle folder instead of the store's "
                                     "alias."),
) -> None:
    """Serve POST /predict, POST /feedback and GET /health over HTTP from the bundle behind
    the LLARA_MODEL_ALIAS alias (default production; falls back to the newest version)."""
    from llara.api import Service
    from llara.config import get_settings
    from llara.server import make_server

    settings = get_settings()
    if bundle is not None:
        settings = settings.model_copy(update={"bundle": bundle})
    service = Service(settings)
    model = service.production.get()
    if model is None:
        typer.echo(f"nothing to serve: {service.production.last_error}", err=True)
        raise typer.Exit(1)
    server = make_server(service, host, port)
    url = f"http://{host}:{server.server_address[1]}"
    typer.echo(f"llara serving {model.version} ({model.catalog_size} tracks) on {url}", err=True)
    typer.echo(f"try: curl -s {url}/predict -H 'content-type: application/json' -d "
               "'{\"playlist_name\": \"summer road trip\", \"k\": 5}'", err=True)
    # SIGTERM (a container stop) ends like Ctrl-C, so buffered request records are written.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        service.close()
