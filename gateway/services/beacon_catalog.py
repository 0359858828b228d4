"""The dataset catalog as the Beacon service sees it: reloaded only when it changed.

Every variant look-up brings back the catalog stamp (count and summed revisions of the
datasets) in the same round trip, so a policy change made by any process takes effect on
the very next query, while an unchanged catalog costs nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.datasets import Dataset
from gateway.storage.datasets import DatasetRepository
from gateway.storage.variants import CatalogStamp


class DatasetCatalog:
    def __init__(self) -> None:
        self._stamp: CatalogStamp | None = None
        self._datasets: list[Dataset] = []

    async def datasets(self, connection: AsyncConnection, stamp: CatalogStamp) -> list[Dataset]:
        if stamp != self._stamp:
            # Loaded after the stamp was read, so never older than it; at worst the next
            # query reloads once more.
            self._datasets = await DatasetRepository(connection).all()
            self._stamp = stamp
        return self._datasets
