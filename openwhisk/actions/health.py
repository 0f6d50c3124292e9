"""OpenWhisk web action ``health`` (GET /health): the same handler as the Chalice route, on
the process-wide ``llara.api`` Service (auth, canary, hot reload, one JSON log line), which is
reused while the container stays warm."""
from __future__ import annotations

from typing import Any


def main(args: dict[str, Any]) -> dict[str, Any]:
    from llara.api import handle_openwhisk

    return handle_openwhisk(args, "/health")
