"""OpenWhisk action for the ETL, the same handler as the Chalice function.

As a web action it receives MinIO webhook deliveries (``__ow_method``, ``__ow_headers``,
``__ow_body``; Bearer-token authenticated like every other wiring). Invoked directly, by a
trigger or ``wsk action invoke``, its parameters are the bucket event itself.
"""
from __future__ import annotations

from typing import Any


def main(args: dict[str, Any]) -> dict[str, Any]:
    from llara import etl
    from llara.web import Router, request_from_openwhisk, response_to_openwhisk

    if "__ow_method" not in args:  # a trigger or direct invocation: the event is the args
        try:
            return etl.handle_event(args)
        except etl.EventError as e:
            return {"error": str(e)}
    router = Router()
    router.route("POST", "/")(etl.webhook)
    request = request_from_openwhisk(args)
    request.path = "/"  # the action is the route; any sub-path OpenWhisk passes is ignored
    return response_to_openwhisk(router.dispatch(request))
