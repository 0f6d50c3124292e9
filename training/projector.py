"""The projector: an MLP from a track's text embedding to its ALS item factor.

Trained on warm tracks (those with a factor), measured on held-out warm tracks, it gives every
cold track a behaviour vector, so cold tracks enter the LLaRA model as hybrid tokens too.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from llara_training.config import ProjectorConfig

log = logging.getLogger(__name__)


class Projector(nn.Module):
    """text embedding [N, E] -> behaviour [N, F] (the ALS item-factor space)."""

    def __init__(self, text_dim: int, behaviour_dim: int, hidden: int = 512):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(text_dim, hidden), nn.GELU(),
            nn.Linear(hidden, hidden), nn.GELU(),
            nn.Linear(hidden, behaviour_dim),
        )

    def forward(self, text_emb: torch.Tensor) -> torch.Tensor:
        return self.net(text_emb)


@dataclass
class ProjectorReport:
    train_tracks: int
    heldout_tracks: int
    mean_cosine: float  # projected vs true factor, held-out warm tracks
    neighbour_recall: float  # share of each track's true top-k ALS neighbours recovered
    neighbours: int
    chance_neighbour_recall: float  # what random vectors would score, for scale
    history: list[float]  # train loss per epoch

    def metrics(self) -> dict[str, float]:
        return {"projector.mean_cosine": self.mean_cosine,
                "projector.neighbour_recall": self.neighbour_recall,
                "projector.chance_neighbour_recall": self.chance_neighbour_recall}


def _loss(pred: torch.Tensor, target: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """MSE in units of the factors' spread, plus a cosine term: direction decides ranking."""
    mse = ((pred - target) / scale).pow(2).mean()
    cos = 1 - nn.functional.cosine_similarity(pred, target, dim=-1).mean()
    return mse + cos


def _neighbour_recall(query: np.ndarray, truth_vectors: np.ndarray, pool: np.ndarray,
                      k: int) -> float:
    """Mean share of the true top-k cosine neighbours (``truth_vectors`` vs ``pool``) that the
    top-k of ``query`` vs ``pool`` recovers; self-matches excluded by the caller's pool."""
    def unit(x):
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    pool = unit(pool)
    true_top = np.argpartition(-(unit(truth_vectors) @ pool.T), k, axis=1)[:, :k]
    got_top = np.argpartition(-(unit(query) @ pool.T), k, axis=1)[:, :k]
    hits = [len(set(a) & set(b)) for a, b in zip(true_top.tolist(), got_top.tolist())]
    return float(np.mean(hits) / k)


def train_projector(text_emb: np.ndarray, factors: np.ndarray, warm: np.ndarray,
                    config: ProjectorConfig = ProjectorConfig(), *,
                    device: str = "cpu") -> tuple[Projector, ProjectorReport]:
    """Fit on warm tracks minus a held-out share; report cosine and neighbour recall on it."""
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    warm_idx = np.flatnonzero(warm)
    if len(warm_idx) < 10:
        raise ValueError(f"the projector needs warm tracks to learn from, got {len(warm_idx)}")
    perm = rng.permutation(warm_idx)
    n_held = max(1, int(round(len(perm) * config.holdout_fraction)))
    held, fit = perm[:n_held], perm[n_held:]

    x = torch.as_tensor(text_emb[fit], dtype=torch.float32, device=device)
    y = torch.as_tensor(factors[fit], dtype=torch.float32, device=device)
    scale = y.std(dim=0).clamp(min=1e-6)
    projector = Projector(text_emb.shape[1], factors.shape[1], config.hidden).to(device)
    opt = torch.optim.AdamW(projector.parameters(), lr=config.lr,
                            weight_decay=config.weight_decay)
    steps = max(1, config.epochs * ((len(fit) + config.batch_size - 1) // config.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=steps)
    history = []
    projector.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(fit), device=device)
        total = 0.0
        for start in range(0, len(fit), config.batch_size):
            batch = order[start:start + config.batch_size]
            loss = _loss(projector(x[batch]), y[batch], scale)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(batch)
        history.append(total / len(fit))
    projector.eval()

    with torch.inference_mode():
        pred = projector(torch.as_tensor(text_emb[held], dtype=torch.float32,
                                         device=device)).cpu().numpy()
    true = factors[held]
    cos = np.sum(pred * true, 1) / np.maximum(
        np.linalg.norm(pred, axis=1) * np.linalg.norm(true, axis=1), 1e-12)
    # Neighbours among the fitted warm tracks; samples bound the cost on 200k catalogs.
    pool_idx = fit[rng.permutation(len(fit))[:20000]]
    probe = rng.permutation(len(held))[:2000]
    k = min(config.neighbours, len(pool_idx) - 1)
    report = ProjectorReport(
        train_tracks=len(fit), heldout_tracks=len(held), mean_cosine=float(cos.mean()),
        neighbour_recall=_neighbour_recall(pred[probe], true[probe], factors[pool_idx], k),
        neighbours=k,
        chance_neighbour_recall=k / len(pool_idx),
        history=history,
    )
    log.info("projector: held-out cosine %.3f, neighbour recall@%d %.3f", report.mean_cosine,
             k, report.neighbour_recall)
    return projector.cpu(), report
