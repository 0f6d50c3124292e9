"""OpenWhisk web action ``health`` (GET /health): the same handler as the Chalice route.

The action is the route: OpenWhisk's ``__ow_path`` suffix is ignored and the request is
dispatched to ``/health`` of the process-wide ``llara.api`` Service (auth, canary, hot reload,
one JSON log line), which is reused while the container stays warm.
"""
from __future__ import annotations

from typing import Any


def main(args: dict[str, Any]) -> dict[str, Any]:
    from llara.api import service
    from llara.web import request_from_openwhisk, response_to_openwhisk

    request = request_from_openwhisk(args)
    request.path = "/health"
    return response_to_openwhisk(service().handle(request))
