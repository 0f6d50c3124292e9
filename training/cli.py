"""The ``llara`` command. Each area registers its commands from its own module; heavy
libraries (torch, transformers, mlflow) are imported inside commands, so ``llara serve``
and ``llara status`` start fast."""
from __future__ import annotations

import typer

app = typer.Typer(
    name="llara",
    help="LLaRA++: a cold-start music recommender served as functions over object storage.\n\n"
    "Configuration comes from environment variables (LLARA_STORE, AWS_ENDPOINT_URL, "
    "MLFLOW_TRACKING_URI, ...); with none set, everything lives under ./.llara.",
    no_args_is_help=True,
    rich_markup_mode="markdown",  # docstrings wrap as paragraphs, not at their source line breaks
    pretty_exceptions_enable=False,
)

from llara_training import commands_data  # noqa: E402 - commands register onto ``app``

commands_data.register(app)

from llara_training import commands_serve  # noqa: E402

commands_serve.register(app)

from llara_training import commands_eval  # noqa: E402

commands_eval.register(app)

from llara_training import commands_train  # noqa: E402

commands_train.register(app)

from llara_training import commands_models  # noqa: E402

commands_models.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
