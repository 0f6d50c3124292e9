"""Infra test fixtures: the serving area's tiny real bundle (built once per session through the
real export), reused to check that a packaged OpenWhisk action answers from the store."""
from __future__ import annotations

from serving.conftest import exported, tiny_encoder_dir  # noqa: F401 - fixtures
