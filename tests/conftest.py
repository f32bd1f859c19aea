from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from httpserver import FixtureServer

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def http_server() -> Iterator[FixtureServer]:
    server = FixtureServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
