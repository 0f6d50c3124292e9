"""OpenWhisk parameters -> the environment the llara settings read.

wskdeploy binds the deployment's configuration (LLARA_STORE, AWS_ENDPOINT_URL, the MinIO keys,
tokens) as package parameters, which OpenWhisk passes in every action's ``args``, while
``llara.config.Settings`` reads environment variables, as on Chalice and Knative. This wrapper,
called by each action zip's ``__main__.py``, moves those parameters into ``os.environ`` before
the action runs, so the action sees only its own input and the settings see the configuration.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any

# Names that configure the process rather than describe the request.
SETTING_PREFIXES = ("LLARA_", "AWS_", "MLFLOW_", "HF_")

Action = Callable[[dict[str, Any]], dict[str, Any]]


def export_parameters(args: dict[str, Any]) -> dict[str, Any]:
    """Move setting parameters from ``args`` into the environment; return the rest."""
    settings = {k: v for k, v in args.items() if k.startswith(SETTING_PREFIXES)}
    changed = False
    for name, value in settings.items():
        value = "" if value is None else str(value)
        if os.environ.get(name) != value:
            os.environ[name] = value
            changed = True
    if changed:  # a warm container whose bound parameters changed re-reads its settings
        from llara.config import get_settings

        get_settings.cache_clear()
    return {k: v for k, v in args.items() if k not in settings}


def with_parameters_as_environment(action: Action) -> Action:
    @wraps(action)
    def main(args: dict[str, Any]) -> dict[str, Any]:
        return action(export_parameters(args))

    return main
