"""The LLaRA model: a playlist encoder over hybrid item tokens, trained with a curriculum.

Every track is a *hybrid token*: its frozen text embedding concatenated with a behaviour vector
(its ALS item factor when warm, the projector's estimate from its text when cold), mapped to
the model width by the *item tower*. A playlist (an optional title token, plus 0..S seed
tokens, which are item-tower vectors) goes through a small pre-norm Transformer with a [CLS]
token; the query is read off it. A track's score is ``query . item_vector(track)``, over the
whole catalog, warm and cold alike.

Curriculum (LLaRA, Liao et al. 2024): early in training item tokens are text-only (behaviour
zeroed); the probability of feeding the hybrid token rises linearly to 1 (see
:func:`curriculum_probability`). Cold-item simulation: a warm item's behaviour is replaced by
its projection at ``cold_item_rate``, so the tower learns to rank tracks known only by text.

Loss: sampled softmax over in-batch positives plus popularity-sampled negatives with logQ
correction; candidates that belong to the example's playlist are masked out (no false
negatives). Early stopping on validation NDCG.

Everything in :meth:`LlaraModel.query`, :meth:`LlaraModel.item_vectors` and
:meth:`LlaraModel.cold_item_vectors` is ONNX-exportable with dynamic batch and seed counts:
no data-dependent control flow, and a [CLS] token that is never masked, so S = 0 or a fully
masked row still attends to something and stays finite.
"""
from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from tqdm.auto import tqdm

from llara_training.config import LlaraConfig
from llara_training.data import Case, TrainingData
from llara_training.encode import use_bf16
from llara_training.projector import Projector

log = logging.getLogger(__name__)

# Seed counts of the RecSys Challenge 2018 categories; training draws its examples like them.
CHALLENGE_SEED_COUNTS = (0, 1, 5, 10, 25, 100)
# Additive attention bias of a masked key: large enough to zero it, finite so rows never NaN.
MASKED = -1e4


def curriculum_probability(step: int, total_steps: int) -> float:
    """P(hybrid item tokens instead of text-only ones) at ``step``: 0 at the start, rising
    linearly to 1 at ``total_steps``, then 1."""
    if total_steps <= 0:
        return 1.0
    return float(min(1.0, max(0.0, step / total_steps)))


def default_device(requested: str | None = None) -> str:
    return requested or ("cuda" if torch.cuda.is_available() else "cpu")


class _Block(nn.Module):
    """Pre-norm Transformer block with an explicit additive key mask (exports to plain ONNX
    ops: MatMul, Softmax, LayerNormalization)."""

    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.scale = 1.0 / math.sqrt(width // heads)
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * self.scale + bias  # [B, H, T, T]
        att = self.drop(att.softmax(dim=-1))
        x = x + self.drop(self.proj((att @ v).transpose(1, 2).flatten(2)))
        return x + self.drop(self.ff(self.norm2(x)))


class LlaraModel(nn.Module):
    """Item tower + playlist encoder. ``config`` is everything needed to rebuild it
    (``LlaraModel(**config)``); the state dict carries the weights and the behaviour scale."""

    def __init__(self, text_dim: int, behaviour_dim: int, width: int = 128, hidden: int = 256,
                 heads: int = 4, layers: int = 2, dropout: float = 0.1,
                 projector_hidden: int = 512):
        super().__init__()
        self.config = dict(text_dim=text_dim, behaviour_dim=behaviour_dim, width=width,
                           hidden=hidden, heads=heads, layers=layers, dropout=dropout,
                           projector_hidden=projector_hidden)
        self.projector = Projector(text_dim, behaviour_dim, projector_hidden)
        # 1 / spread of the ALS factors: behaviour enters the tower at unit scale.
        self.register_buffer("behaviour_scale", torch.ones(behaviour_dim))
        item_in = text_dim + behaviour_dim
        self.tower = nn.Sequential(nn.Linear(item_in, hidden), nn.GELU(), nn.Linear(hidden, width))
        self.tower_skip = nn.Linear(item_in, width)
        self.cls = nn.Parameter(torch.randn(1, 1, width) * 0.02)
        self.type_emb = nn.Parameter(torch.randn(2, width) * 0.02)  # title, seed
        self.title_in = nn.Linear(text_dim, width)
        self.seed_in = nn.Linear(width, width)
        self.blocks = nn.ModuleList(_Block(width, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(3 * width, width)

    # ---- item tower ------------------------------------------------------------------------
    def item_vectors(self, text_emb: torch.Tensor, behaviour: torch.Tensor) -> torch.Tensor:
        """[N, E] text embeddings, [N, F] raw behaviour (ALS factors) -> [N, D]."""
        x = torch.cat([text_emb, behaviour * self.behaviour_scale], dim=-1)
        return self.tower(x) + self.tower_skip(x)

    def cold_item_vectors(self, text_emb: torch.Tensor) -> torch.Tensor:
        """[N, E] -> [N, D], behaviour estimated from text by the projector."""
        return self.item_vectors(text_emb, self.projector(text_emb))

    def text_item_vectors(self, text_emb: torch.Tensor) -> torch.Tensor:
        """Text-only tokens (behaviour zeroed): the curriculum's starting point."""
        return self.item_vectors(text_emb, torch.zeros(
            text_emb.shape[0], self.behaviour_scale.shape[0], dtype=text_emb.dtype,
            device=text_emb.device))

    # ---- playlist encoder ------------------------------------------------------------------
    def query(self, title_emb: torch.Tensor, title_mask: torch.Tensor, seed_vecs: torch.Tensor,
              seed_mask: torch.Tensor) -> torch.Tensor:
        """title_emb [B, E], title_mask [B] (1 = has a title), seed_vecs [B, S, D] item vectors
        of the seeds, seed_mask [B, S] (1 = real seed); S may be 0. Returns [B, D]."""
        title_mask = title_mask.to(title_emb.dtype)
        seed_mask = seed_mask.to(seed_vecs.dtype)
        title_tok = self.title_in(title_emb) + self.type_emb[0]  # [B, D]
        seed_tok = self.seed_in(seed_vecs) + self.type_emb[1]  # [B, S, D]
        cls = self.cls.expand(title_emb.shape[0], -1, -1)
        x = torch.cat([cls, title_tok.unsqueeze(1), seed_tok], dim=1)
        keep = torch.cat([torch.ones_like(title_mask).unsqueeze(1), title_mask.unsqueeze(1),
                          seed_mask], dim=1)  # [B, 2 + S]; [CLS] always kept
        bias = ((1.0 - keep) * MASKED)[:, None, None, :]
        for block in self.blocks:
            x = block(x, bias)
        pooled = self.norm(x[:, 0])
        # Direct paths next to the attention output: the mean seed and the title token.
        seed_mean = (seed_vecs * seed_mask.unsqueeze(-1)).sum(dim=1) / seed_mask.sum(
            dim=1, keepdim=True).clamp(min=1.0)
        return self.head(torch.cat([pooled, seed_mean, title_tok * title_mask.unsqueeze(-1)],
                                   dim=-1))

    @classmethod
    def from_config(cls, config: Mapping) -> LlaraModel:
        return cls(**dict(config))


# ---- inference -----------------------------------------------------------------------------

@torch.inference_mode()
def catalog_item_vectors(model: LlaraModel, text_emb: np.ndarray | torch.Tensor,
                         behaviour: np.ndarray | torch.Tensor, warm: np.ndarray,
                         *, batch: int = 65536, device: str = "cpu") -> torch.Tensor:
    """[N, D] item vectors in catalog order: ``item_vectors`` for warm tracks (their ALS
    factors), ``cold_item_vectors`` for cold ones (behaviour from the projector)."""
    model.eval()
    text = torch.as_tensor(text_emb, dtype=torch.float32)
    beh = torch.as_tensor(behaviour, dtype=torch.float32)
    warm_t = torch.as_tensor(np.asarray(warm, dtype=bool))
    out = torch.empty(len(text), model.config["width"], dtype=torch.float32)
    for start in range(0, len(text), batch):
        sl = slice(start, start + batch)
        t = text[sl].to(device)
        b = torch.where(warm_t[sl].to(device).unsqueeze(1), beh[sl].to(device),
                        model.projector(t))
        out[sl] = model.item_vectors(t, b).float().cpu()
    return out


def _pad(rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Ragged index lists -> ([B, S] int64 padded with 0, [B, S] float32 mask)."""
    width = max((len(r) for r in rows), default=0)
    idx = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.float32)
    for i, r in enumerate(rows):
        idx[i, :len(r)] = r
        mask[i, :len(r)] = 1.0
    return idx, mask


class LlaraRecommender:
    """The trained model as a :class:`~llara_training.data.Recommender`: a query per case,
    scored against every catalog item vector, seeds excluded, top ``k``."""

    def __init__(self, model: LlaraModel, item_matrix: torch.Tensor,
                 encode_titles: Callable[[list[str]], np.ndarray], *, name: str = "llara",
                 chunk: int = 256, device: str = "cpu"):
        self.name = name
        self.model = model.eval().to(device)
        self.items = torch.as_tensor(item_matrix, dtype=torch.float32).to(device)
        self.encode_titles = encode_titles
        self.chunk = chunk
        self.device = device

    @torch.inference_mode()
    def queries(self, cases: Sequence[Case]) -> torch.Tensor:
        """[B, D] query vectors of ``cases``."""
        text_dim = self.model.config["text_dim"]
        titles = [c.title for c in cases]
        present = [t for t in titles if t]
        encoded = dict(zip(present, self.encode_titles(present))) if present else {}
        title_emb = torch.zeros(len(cases), text_dim)
        title_mask = torch.zeros(len(cases))
        for i, t in enumerate(titles):
            if t:
                title_emb[i] = torch.as_tensor(encoded[t])
                title_mask[i] = 1.0
        idx, mask = _pad([c.seeds for c in cases])
        seed_vecs = self.items[torch.as_tensor(idx, device=self.device)]
        return self.model.query(title_emb.to(self.device), title_mask.to(self.device),
                                seed_vecs, torch.as_tensor(mask, device=self.device))

    @torch.inference_mode()
    def recommend(self, cases: Sequence[Case], k: int) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        k = min(k, len(self.items))
        for start in range(0, len(cases), self.chunk):
            batch = cases[start:start + self.chunk]
            scores = self.queries(batch) @ self.items.T
            for row, case in enumerate(batch):
                if case.seeds:
                    scores[row, list(case.seeds)] = -torch.inf
            top = torch.topk(scores, k, dim=1)
            for row, case in enumerate(batch):
                keep = torch.isfinite(top.values[row])
                out.append(top.indices[row][keep].cpu().numpy().astype(np.int64))
        return out


# ---- training ------------------------------------------------------------------------------

@dataclass
class TrainHistory:
    loss: list[float] = field(default_factory=list)  # mean per epoch
    val_ndcg: list[float] = field(default_factory=list)  # per epoch
    curriculum: list[float] = field(default_factory=list)  # P(hybrid) at each epoch's end
    best_epoch: int = -1
    stopped_early: bool = False
    seconds: float = 0.0

    def curves(self) -> dict[str, list[float]]:
        return {"train_loss": self.loss, "val_ndcg": self.val_ndcg}


def _batch_seed_count(rng: np.random.Generator, max_seeds: int) -> int:
    """One seed count per batch (no padding waste): a challenge count most of the time,
    any count in between otherwise, so the encoder does not overfit six lengths."""
    if rng.random() < 0.7:
        return int(rng.choice([c for c in CHALLENGE_SEED_COUNTS if c <= max_seeds]))
    return int(rng.integers(0, max_seeds + 1))


def _sample_example(rng: np.random.Generator, items: np.ndarray, n_seeds: int,
                    positives: int, title_dropout: float) -> tuple[list[int], list[int], bool]:
    """(seeds, positives, show_title) of this playlist, like a challenge case with
    ``n_seeds`` seeds (fewer if the playlist is short): first-n, or random-n at 30%."""
    n = len(items)
    n_seeds = min(n_seeds, n - 1)
    if n_seeds and rng.random() < 0.3:
        chosen = np.sort(rng.choice(n, n_seeds, replace=False))
    else:
        chosen = np.arange(n_seeds)
    rest = np.setdiff1d(np.arange(n), chosen, assume_unique=True)
    seeds = items[chosen].tolist()
    seed_set = set(seeds)
    rest_items = [i for i in items[rest].tolist() if i not in seed_set] or items[rest].tolist()
    pos = rng.choice(rest_items, positives, replace=len(rest_items) < positives).tolist()
    show_title = n_seeds == 0 or rng.random() >= title_dropout
    return seeds, pos, show_title


def train_llara(data: TrainingData, text_emb: np.ndarray, behaviour: np.ndarray,
                warm: np.ndarray, projector: Projector, titles: Mapping[str, np.ndarray],
                config: LlaraConfig = LlaraConfig(), *, k: int = 500,
                progress: bool = True, feedback=None) -> tuple[LlaraModel, TrainHistory]:
    """Train on ``data``'s train playlists; early-stop on NDCG over ``data.val_cases``.

    ``text_emb`` [N, E] and ``behaviour`` [N, F] are in catalog order (behaviour of cold tracks
    is ignored: the projector's estimate replaces it); ``titles`` maps every train and
    validation title to its embedding. ``feedback`` (``feedback_signal.TrainWeights``) scales
    how many examples each train playlist yields and adds skipped tracks as hard negatives to
    the softmax denominator of their request's examples.
    """
    from llara_training.metrics import ndcg

    device = default_device(config.device)
    autocast = torch.autocast("cuda" if device.startswith("cuda") else "cpu",
                              dtype=torch.bfloat16, enabled=use_bf16(config.precision, device))
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    n_items, text_dim = text_emb.shape
    model = LlaraModel(text_dim, behaviour.shape[1], width=config.width, hidden=config.hidden,
                       heads=config.heads, layers=config.layers, dropout=config.dropout,
                       projector_hidden=projector.net[0].out_features)
    model.projector.load_state_dict(projector.state_dict())
    model.projector.requires_grad_(False)  # the projector stays the map into ALS space
    warm = np.asarray(warm, dtype=bool)
    spread = behaviour[warm].std(axis=0) if warm.any() else np.ones(behaviour.shape[1])
    model.behaviour_scale.copy_(torch.as_tensor(1.0 / np.maximum(spread, 1e-6)))
    model.to(device)

    text_t = torch.as_tensor(text_emb, dtype=torch.float32, device=device)
    with torch.inference_mode():
        projected = torch.cat([model.projector(text_t[s:s + 65536])
                               for s in range(0, n_items, 65536)])
    als_t = torch.as_tensor(behaviour, dtype=torch.float32, device=device)
    warm_t = torch.as_tensor(warm, device=device)
    # Behaviour fed at inference: the ALS factor when warm, the projection when cold.
    hybrid_beh = torch.where(warm_t.unsqueeze(1), als_t, projected.clone())

    playlists = [np.asarray(x, dtype=np.int64) for x in data.train_items]
    keep = [i for i, x in enumerate(playlists) if len(x) >= 2]
    if not keep:
        raise ValueError("no train playlist has two tracks: nothing to learn from")
    membership = sp.csr_matrix(data.user_items(), dtype=np.float32)
    counts = np.asarray(membership.sum(axis=0)).ravel()
    # Negatives: popularity^0.75 over warm tracks (word2vec-style smoothing).
    neg_p = np.power(counts, 0.75)
    neg_p /= neg_p.sum()
    pos_p = counts / counts.sum()
    title_dim_zero = np.zeros(text_dim, dtype=np.float32)
    title_rows = np.stack([np.asarray(titles[t], dtype=np.float32) if t else title_dim_zero
                           for t in data.train_titles]) if data.train_titles else None
    has_title = np.array([bool(t) for t in data.train_titles], dtype=np.float32)

    reps = np.full(len(keep), config.examples_per_playlist)
    if feedback is not None:  # feedback pseudo-playlists yield examples in proportion to weight
        reps = np.maximum(1, np.rint(reps * feedback.playlist_weights[keep])).astype(int)
    n_examples = int(reps.sum())
    steps_per_epoch = max(1, math.ceil(n_examples / config.batch_size))
    total_steps = steps_per_epoch * config.epochs
    curriculum_steps = int(round(total_steps * config.curriculum_fraction))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                            weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=total_steps,
                                                pct_start=0.1)

    def encode_val_titles(names: list[str]) -> np.ndarray:
        return np.stack([np.asarray(titles[n], dtype=np.float32) for n in names])

    val_cases = [c for c in data.val_cases if c.holdout][: config.val_cases]
    history = TrainHistory()
    best_state, best_ndcg, stale, step = None, -1.0, 0, 0
    started = time.perf_counter()
    for epoch in range(config.epochs):
        model.train()
        order = rng.permutation(np.repeat(keep, reps))
        losses = []
        bar = tqdm(range(steps_per_epoch), desc=f"llara epoch {epoch + 1}/{config.epochs}",
                   disable=not progress, leave=False)
        for b in bar:
            rows = order[b * config.batch_size:(b + 1) * config.batch_size]
            if len(rows) == 0:
                continue
            n_seeds = _batch_seed_count(rng, config.max_seeds)
            examples = [_sample_example(rng, playlists[r], n_seeds, config.positives,
                                        config.title_dropout) for r in rows]
            seeds_idx, seed_mask = _pad([e[0] for e in examples])
            pos_idx = np.asarray([e[1] for e in examples], dtype=np.int64)  # [B, P]
            negs = rng.choice(n_items, config.sampled_negatives, p=neg_p)
            candidates = np.concatenate([pos_idx.ravel(), negs])  # [C]
            hard_idx, hard_mask = _pad([feedback.hard_negatives.get(int(r), ()) if feedback
                                        else () for r in rows])  # [B, H]; H = 0 without
            # Every item of the batch goes through the tower once.
            unique, inverse = np.unique(np.concatenate([seeds_idx.ravel(), candidates,
                                                        hard_idx.ravel()]), return_inverse=True)
            u = torch.as_tensor(unique, device=device)
            p_hybrid = curriculum_probability(step, curriculum_steps)
            hybrid = torch.rand(len(unique), device=device) < p_hybrid
            simulate_cold = torch.rand(len(unique), device=device) < config.cold_item_rate
            beh = torch.where((simulate_cold | ~warm_t[u]).unsqueeze(1), projected[u], als_t[u])
            beh = beh * hybrid.unsqueeze(1)  # text-only tokens: behaviour zeroed
            show = np.array([e[2] for e in examples], dtype=np.float32) * has_title[rows]
            title_emb = torch.as_tensor(title_rows[rows], device=device)
            inv = torch.as_tensor(inverse, device=device)
            n_seed_slots = seeds_idx.size
            with autocast:
                vecs = model.item_vectors(text_t[u], beh)
                seed_vecs = vecs[inv[:n_seed_slots]].view(*seeds_idx.shape, vecs.shape[1])
                cand_vecs = vecs[inv[n_seed_slots:n_seed_slots + len(candidates)]].float()
                hard_vecs = vecs[inv[n_seed_slots + len(candidates):]].float()
                q = model.query(title_emb, torch.as_tensor(show, device=device), seed_vecs,
                                torch.as_tensor(seed_mask, device=device)).float()
            logits = q @ cand_vecs.T  # [B, C], fp32
            if config.logq_correction:
                expected = (pos_idx.size * pos_p[candidates]
                            + config.sampled_negatives * neg_p[candidates])
                logits = logits - torch.as_tensor(np.log(np.maximum(expected, 1e-12)),
                                                  dtype=logits.dtype, device=device)
            pos_logits = logits.gather(1, torch.arange(pos_idx.size, device=device).view(
                pos_idx.shape))  # [B, P]: row b's own positives are columns b*P..b*P+P-1
            in_playlist = torch.as_tensor(
                membership[rows][:, candidates].toarray() > 0, device=device)
            negative_logits = logits.masked_fill(in_playlist, -torch.inf)
            if hard_idx.shape[1]:  # skipped tracks (feedback) join with their multiplicity
                hard_logits = (q.unsqueeze(1) * hard_vecs.view(*hard_idx.shape, -1)).sum(-1)
                hard_logits = (hard_logits + math.log(feedback.hard_negative_weight)).masked_fill(
                    torch.as_tensor(hard_mask == 0, device=device), -torch.inf)
                negative_logits = torch.cat([negative_logits, hard_logits], dim=1)
            negatives_lse = torch.logsumexp(negative_logits, dim=1)
            loss = nn.functional.softplus(negatives_lse.unsqueeze(1) - pos_logits).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            step += 1
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", hybrid=f"{p_hybrid:.2f}")
        history.loss.append(float(np.mean(losses)) if losses else float("nan"))
        history.curriculum.append(curriculum_probability(step, curriculum_steps))

        model.eval()
        if val_cases:
            with torch.inference_mode(), autocast:
                items = model.item_vectors(text_t, hybrid_beh).float()
            recs = LlaraRecommender(model, items, encode_val_titles, device=device).recommend(
                val_cases, k)
            score = float(np.mean([ndcg(r, c.holdout, k) for r, c in zip(recs, val_cases)]))
        else:
            score = -history.loss[-1]  # no validation split: the train loss decides
        history.val_ndcg.append(score)
        log.info("llara epoch %d: loss %.4f, val ndcg %.4f, P(hybrid) %.2f", epoch + 1,
                 history.loss[-1], score, history.curriculum[-1])
        if score > best_ndcg:
            best_ndcg, best_state, history.best_epoch, stale = score, copy.deepcopy(
                model.state_dict()), epoch, 0
        elif step >= curriculum_steps:  # patience counts once tokens are fully hybrid
            stale += 1
            if stale >= config.patience:
                history.stopped_early = epoch + 1 < config.epochs
                break
    model.load_state_dict(best_state)
    model.eval().cpu()
    history.seconds = time.perf_counter() - started
    return model, history

