"""The challenge metrics against cases computed by hand."""
from __future__ import annotations

import math

import pytest

from llara_training.metrics import (
    case_metrics,
    clicks,
    ndcg,
    r_precision,
    r_precision_track,
    recall,
)

# item -> artist; items 1, 9 and 10 share artist "a"
ARTISTS = {1: "a", 2: "b", 3: "c", 4: "d", 5: "e", 6: "f", 7: "g", 8: "h", 9: "a", 10: "a"}


def lg(i: int) -> float:
    return 1 / math.log2(i + 1)


def test_mixed_ranking_by_hand():
    holdout, recs = [1, 2, 3], [1, 9, 2, 8, 3]
    assert r_precision_track(recs, holdout) == pytest.approx(2 / 3)  # top 3 = 1, 9, 2
    # 9 is not a hit but shares artist "a" with hold-out 1: a quarter credit
    assert r_precision(recs, holdout, ARTISTS) == pytest.approx((2 + 0.25) / 3)
    assert ndcg(recs, holdout) == pytest.approx((lg(1) + lg(3) + lg(5)) / (lg(1) + lg(2) + lg(3)))
    assert clicks(recs, holdout) == 0
    assert recall(recs, holdout) == 1.0


def test_no_overlap_is_all_zero_and_51_clicks():
    m = case_metrics([5, 6, 7, 8], [1, 2], ARTISTS)
    assert m == {"r_precision": 0.0, "r_precision_track": 0.0, "ndcg": 0.0, "clicks": 51.0,
                 "recall": 0.0}
    assert case_metrics([], [1], ARTISTS)["clicks"] == 51.0


def test_perfect_ranking_scores_one_and_artist_credit_never_exceeds_it():
    m = case_metrics([3, 1, 2, 7], [1, 2, 3], ARTISTS)
    assert m == {"r_precision": 1.0, "r_precision_track": 1.0, "ndcg": 1.0, "clicks": 0.0,
                 "recall": 1.0}


def test_artist_only_matches():
    # top |G| = 2: 9 (artist "a", like hold-out 1) and 8 (artist "h", no hold-out's): 1 artist
    assert r_precision([9, 8, 2], [1, 2], ARTISTS) == pytest.approx(0.25 / 2)
    assert r_precision_track([9, 8, 2], [1, 2]) == 0.0
    # two recommended tracks by the same matching artist earn one credit, not two
    assert r_precision([9, 10], [1, 2], ARTISTS) == pytest.approx(0.25 / 2)
    # an artist credit only inside the first |G| positions
    assert r_precision([5, 6, 9], [1, 2], ARTISTS) == 0.0
    assert ndcg([9, 8, 2], [1, 2]) == pytest.approx(lg(3) / (lg(1) + lg(2)))
    assert recall([9, 8, 2], [1, 2]) == 0.5


def test_duplicates_are_removed_after_truncation():
    # the official order: cut to k, then keep first occurrences
    assert r_precision_track([1, 1, 1, 2], [1, 2]) == 1.0
    assert ndcg([1, 1, 1, 2], [1, 2]) == 1.0
    assert recall([1, 1, 1, 2], [1, 2], k=3) == 0.5
    assert ndcg([1, 1, 1, 2], [1, 2], k=3) == pytest.approx(lg(1) / (lg(1) + lg(2)))


def test_clicks_count_pages_of_ten_within_top_k():
    filler = list(range(100, 1100))
    assert clicks(filler[:9] + [1], [1]) == 0  # rank 10 is still the first page
    assert clicks(filler[:10] + [1], [1]) == 1
    assert clicks(filler[:25] + [1], [1]) == 2
    assert clicks(filler[:499] + [1], [1]) == 49
    assert clicks(filler[:500] + [1], [1]) == 51  # the hit is rank 501: outside the top 500
    assert clicks(filler[:50] + [1], [1], k=50) == 6  # k / 10 + 1 for another k


def test_ideal_dcg_is_capped_at_k():
    holdout = list(range(1, 21))
    assert ndcg(holdout[:5], holdout, k=5) == 1.0
    assert ndcg(holdout[:5], holdout, k=500) == pytest.approx(
        sum(lg(i) for i in range(1, 6)) / sum(lg(i) for i in range(1, 21)))


def test_a_case_without_holdout_is_an_error():
    with pytest.raises(ValueError, match="held-out"):
        case_metrics([1], [], ARTISTS)
