"""Fixtures of the ETL tests: generated slices (small and full-size) and helpers."""
from __future__ import annotations

import orjson
import pytest

from llara.generate import generate_slices


@pytest.fixture(scope="session")
def small_slice() -> dict:
    """A 30-playlist slice in the full format, as a parsed document (copy before mutating)."""
    name, data = next(generate_slices(30, seed=7, n_tracks=3000))
    return orjson.loads(data)


@pytest.fixture(scope="session")
def full_slice_bytes() -> bytes:
    """A full-size generated slice: 1,000 playlists, every field."""
    name, data = next(generate_slices(1000, seed=11))
    return data
