"""Score every catalog item against a query vector and keep the top k.

Scoring a million items is memory-bound, so the method was chosen by measurement
(``scripts/bench_serve.py``; 1M x 128 items, one core): an ONNX Runtime graph doing
DynamicQuantizeLinear -> MatMulInteger over an int8 ``[D, N]`` matrix -> per-item scale ->
TopK took 13 ms, against 42 ms for numpy fp32 matvec + argpartition, 27 ms for faiss SQ8 and
36 ms for faiss flat fp32. The matrix is the graph's external data, memory-mapped, and read
again here (also memory-mapped) to look up the vectors of seed tracks.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort


def session_options(threads: int = 1) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


class ItemScorer:
    """Top-k over the bundle's item matrix (int8 with per-item scales, or fp32)."""

    def __init__(self, folder: Path, items: dict[str, Any], options: ort.SessionOptions):
        self.count = int(items["count"])
        self.dim = int(items["dim"])
        dtype = np.dtype(items["dtype"])
        self.matrix = np.memmap(folder / items["file"], dtype=dtype, mode="r",
                                shape=(self.dim, self.count))
        self.scales = (np.fromfile(folder / items["scales"], dtype=np.float32)
                       if items.get("scales") else None)
        self.session = ort.InferenceSession(str(folder / "scorer.onnx"), options,
                                            providers=["CPUExecutionProvider"])

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """Item vectors [len(rows), D] float32 (dequantised), e.g. for seed tracks."""
        rows = np.asarray(rows, dtype=np.int64)
        vectors = np.asarray(self.matrix[:, rows].T, dtype=np.float32)
        if self.scales is not None:
            vectors = vectors * self.scales[rows, None]
        return vectors

    def top_k(self, query: np.ndarray, k: int, exclude: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best rows (best first) and their scores, never one of ``exclude``."""
        exclude = np.unique(exclude) if exclude is not None and len(exclude) else None
        wanted = min(self.count, k + (0 if exclude is None else len(exclude)))
        if wanted <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores, rows = self.session.run(
            None, {"query": np.asarray(query, np.float32).reshape(1, self.dim),
                   "k": np.array([wanted], dtype=np.int64)})
        scores, rows = scores[0], rows[0]
        if exclude is not None:
            keep = ~np.isin(rows, exclude)
            scores, rows = scores[keep], rows[keep]
        return rows[:k], scores[:k]
