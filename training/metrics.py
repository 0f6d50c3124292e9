"""The RecSys Challenge 2018 metrics, over the top ``k`` (500) recommendations of one case.

Definitions follow the challenge rules (https://recsys-challenge.spotify.com/rules) and
Spotify's reference implementation of them (``metrics.py`` of the challenge tools, "Metrics
for the 2018 RecSys Challenge", C. De Boom, 2017), with G the set of held-out tracks and R the
recommendations, truncated to ``k`` first and then deduplicated keeping first occurrences:

* R-precision (track): ``|G ∩ R[1:|G|]| / |G|``.
* R-precision (official, with artist credit): the challenge's final evaluation gave a partial
  credit of 0.25 for an artist match (Zamani, Schedl, Lamere, Chen, "An Analysis of Approaches
  Taken in the ACM RecSys Challenge 2018 for Automatic Music Playlist Continuation", ACM TIST
  2019): ``(|S_T ∩ G_T| + 0.25 * |S_A ∩ G_A|) / |G_T|`` over the first ``|G|``
  recommendations. We read ``S_A`` as the distinct artists of the recommended tracks that are
  *not* track matches (``G_A``: the artists of the held-out tracks), so a track match is never
  credited twice and the score stays within [0, 1]; the track-only variant is reported too.
* NDCG: ``DCG / IDCG`` with ``DCG = sum_i rel_i / log2(i + 1)`` (i 1-based, binary relevance)
  and ``IDCG = sum_{i=1}^{min(|G|, k)} 1 / log2(i + 1)``.
* Recommended Songs clicks: ``floor((rank of the first relevant track - 1) / 10)``, and
  ``k / 10 + 1`` (51 for k = 500) when no relevant track is in the top ``k``.
* recall@k: ``|G ∩ R[1:k]| / |G|``.

Identity is the catalog index; artist identity is the artist name (real MPD samples often
lack ``artist_uri``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

METRICS: tuple[str, ...] = ("r_precision", "r_precision_track", "ndcg", "clicks", "recall")
ARTIST_CREDIT = 0.25


def _unique_top(recommended: Sequence[int] | np.ndarray, k: int) -> list[int]:
    """Truncate to ``k``, then keep the first occurrence of each item (the official order)."""
    return list(dict.fromkeys(np.asarray(recommended, dtype=np.int64)[:k].tolist()))


def _discounts(n: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, n + 2))


def r_precision_track(recommended, holdout, k: int = 500) -> float:
    truth = set(holdout)
    top = _unique_top(recommended, k)[: len(truth)]
    return sum(i in truth for i in top) / len(truth)


def r_precision(recommended, holdout, artist_of: Sequence, k: int = 500) -> float:
    """R-precision with the challenge's 0.25 artist credit; ``artist_of[i]`` is item i's artist."""
    truth = set(holdout)
    top = _unique_top(recommended, k)[: len(truth)]
    hits = [i for i in top if i in truth]
    truth_artists = {artist_of[i] for i in truth}
    artist_matches = {artist_of[i] for i in top if i not in truth} & truth_artists
    return (len(hits) + ARTIST_CREDIT * len(artist_matches)) / len(truth)


def ndcg(recommended, holdout, k: int = 500) -> float:
    truth = set(holdout)
    top = _unique_top(recommended, k)
    relevance = np.fromiter((i in truth for i in top), dtype=float, count=len(top))
    dcg = float(relevance @ _discounts(len(top))) if top else 0.0
    idcg = float(_discounts(min(len(truth), k)).sum())
    return dcg / idcg


def clicks(recommended, holdout, k: int = 500) -> float:
    truth = set(holdout)
    for rank, i in enumerate(_unique_top(recommended, k)):
        if i in truth:
            return float(rank // 10)
    return float(k // 10 + 1)


def recall(recommended, holdout, k: int = 500) -> float:
    truth = set(holdout)
    return sum(i in truth for i in _unique_top(recommended, k)) / len(truth)


def case_metrics(recommended, holdout, artist_of: Sequence, k: int = 500) -> dict[str, float]:
    """Every metric of one case, keyed as in :data:`METRICS`."""
    if len(holdout) == 0:
        raise ValueError("a case needs at least one held-out track to be scored")
    return {
        "r_precision": r_precision(recommended, holdout, artist_of, k),
        "r_precision_track": r_precision_track(recommended, holdout, k),
        "ndcg": ndcg(recommended, holdout, k),
        "clicks": clicks(recommended, holdout, k),
        "recall": recall(recommended, holdout, k),
    }
