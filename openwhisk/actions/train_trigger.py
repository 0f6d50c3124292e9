"""OpenWhisk action for scheduled training, fired by the alarm trigger (manifest.yaml).

The decision itself is llara.schedule.decide_and_launch, shared by every scheduler: it trains
only when enough new data or feedback arrived, launches at most one job per data snapshot and
records the decision in the store. The alarm's payload carries nothing it needs.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any


def main(args: dict[str, Any]) -> dict[str, Any]:
    from llara.schedule import decide_and_launch
    from llara.store import open_store

    return asdict(decide_and_launch(open_store()))
