"""Fixtures the importer fault tests share: a template store and a pool of its copies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import StorePool, build_template


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("template") / "template.duckdb")


@pytest.fixture(scope="module")
def pool(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorePool]:
    stores = StorePool(template, tmp_path_factory.mktemp("pool"))
    yield stores
    stores.close()
