from pathlib import Path

import pytest

from catalog.management.commands.seed_catalog import SEED_GENRES, SEED_SONGS
from catalog.services import ImportReport, songs_import

CATALOG_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"


@pytest.fixture
def seeded_catalog(db) -> ImportReport:
    """The bundled Kaggle catalog: 686 songs, with genres."""
    return songs_import(csv_file=SEED_SONGS, genres_file=SEED_GENRES)
