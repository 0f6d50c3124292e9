"""Implicit-feedback matrix factorisation: ``implicit``'s ALS on train playlists x tracks.

Confidence weighting (Hu, Koren, Volinsky 2008): a playlist containing a track is an observed
preference with confidence ``1 + alpha``; every other cell is a zero preference with confidence
1, so the model learns from negatives too. The fitted model is returned whole: the LLaRA model
reads its item factors, the ALS fold-in baseline wraps the model itself.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from llara_training.config import AlsConfig

log = logging.getLogger(__name__)


def gpu_available() -> bool:
    try:
        import implicit.gpu

        return bool(implicit.gpu.HAS_CUDA)
    except ImportError:
        return False


@dataclass
class AlsResult:
    model: object  # implicit.cpu.als.AlternatingLeastSquares (moved to CPU)
    item_factors: np.ndarray  # float32 [N, F]; rows of tracks without interactions are zero
    warm: np.ndarray  # bool [N]: tracks with at least one train interaction
    used_gpu: bool
    seconds: float


def fit_als(user_items: sp.csr_matrix, config: AlsConfig = AlsConfig(), *,
            progress: bool = True) -> AlsResult:
    """Fit ALS on ``user_items`` (train playlists x catalog, binary)."""
    from implicit.als import AlternatingLeastSquares

    from threadpoolctl import threadpool_limits

    use_gpu = gpu_available() if config.use_gpu is None else config.use_gpu
    started = time.perf_counter()
    # implicit parallelises over users itself; a BLAS thread pool under it only contends.
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=config.factors, regularization=config.regularization, alpha=config.alpha,
            iterations=config.iterations, use_gpu=use_gpu, random_state=config.random_state,
            calculate_training_loss=False)
        model.fit(sp.csr_matrix(user_items, dtype=np.float32), show_progress=progress)
    if use_gpu:
        model = model.to_cpu()
    warm = np.asarray(user_items.getnnz(axis=0)).ravel() > 0
    factors = np.asarray(model.item_factors, dtype=np.float32).copy()
    # An item nobody played keeps its random initialisation in implicit: not a behaviour.
    factors[~warm] = 0.0
    seconds = time.perf_counter() - started
    log.info("ALS: %d playlists x %d tracks (%d warm), %d factors, %.1fs%s",
             user_items.shape[0], user_items.shape[1], warm.sum(), config.factors, seconds,
             " on GPU" if use_gpu else "")
    return AlsResult(model=model, item_factors=factors, warm=warm, used_gpu=use_gpu,
                     seconds=seconds)
