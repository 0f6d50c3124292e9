"""The in-memory training data every training stage shares: the catalog, the train playlists,
and the evaluation cases. ``llara_training.split.build_dataset`` makes it from the processed
tables; models and baselines only ever see this."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Catalog:
    """Every known track, indexed 0..N-1 (warm and cold alike)."""

    uris: np.ndarray  # str, [N]
    track_names: np.ndarray  # str, [N]
    artist_names: np.ndarray  # str, [N]
    album_names: np.ndarray  # str or None, [N]
    texts: np.ndarray  # str, [N]: llara.schemas.track_text(...)
    index: dict[str, int] = field(repr=False)

    @classmethod
    def from_columns(cls, uris, track_names, artist_names, album_names, texts) -> Catalog:
        uris = np.asarray(uris, dtype=object)
        return cls(uris, np.asarray(track_names, dtype=object),
                   np.asarray(artist_names, dtype=object),
                   np.asarray(album_names, dtype=object), np.asarray(texts, dtype=object),
                   {u: i for i, u in enumerate(uris)})

    def __len__(self) -> int:
        return len(self.uris)


@dataclass(frozen=True)
class Case:
    """One evaluation playlist: what the recommender sees (title, seeds) and what it must find."""

    pid: int
    category: str  # e.g. "title_only", "title_first_5", "first_5" (see split.CATEGORIES)
    title: str | None  # None when the category hides the title
    seeds: tuple[int, ...]  # catalog indices, in playlist order
    holdout: tuple[int, ...]  # catalog indices to recover (order kept, duplicates removed)


@dataclass
class TrainingData:
    catalog: Catalog
    train_pids: np.ndarray  # [P]
    train_titles: list[str]  # [P]
    train_items: list[np.ndarray]  # [P] catalog indices in playlist order
    val_cases: list[Case]
    test_cases: list[Case]

    def user_items(self) -> sp.csr_matrix:
        """Train playlists x catalog, binary (a track counted once per playlist)."""
        rows = np.repeat(np.arange(len(self.train_items)), [len(x) for x in self.train_items])
        cols = np.concatenate(self.train_items) if self.train_items else np.zeros(0, int)
        m = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)),
                          shape=(len(self.train_items), len(self.catalog)))
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    def warm_mask(self) -> np.ndarray:
        """True for tracks that occur in at least one train playlist."""
        mask = np.zeros(len(self.catalog), dtype=bool)
        if self.train_items:
            mask[np.concatenate(self.train_items)] = True
        return mask


class Recommender(Protocol):
    """Anything evaluated side by side: LLaRA and every baseline."""

    name: str

    def recommend(self, cases: Sequence[Case], k: int) -> list[np.ndarray]:
        """For each case, up to ``k`` catalog indices, best first, never one of its seeds."""
        ...
