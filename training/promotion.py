"""Metric-gated promotion staging -> canary -> production, and rollback.

A published bundle moves between the aliases ``staging``, ``canary`` and ``production`` only by
moving alias pointers (``llara.bundle.set_alias``: one atomic PUT; serving swaps models by hot
reload, ``llara.live``). The MLflow registry aliases follow.

* **staging -> canary** when the canary slot is free (no canary, or canary == production, or
  the last canary was rolled back) and the staging version

  - has intact bundle files (every checksum verified from the store: ``llara.bundle.fetch``),
  - passed its export parity gates (``manifest["parity"]["passed"]``),
  - is not worse offline than production beyond ``offline_tolerance`` (relative) on each of
    ``offline_metrics``, both models scored by ``llara_training.evaluate`` on *the same*
    evaluation cases: the test split of the processed data in the store now (cached per run
    and test-set fingerprint under ``state/promotion/offline/``);
  - and was never rolled back from canary before.

* **canary -> production** from online feedback since the canary pointer last moved, per
  ``model_version`` (``llara.served`` records joined with ``/feedback`` events):
  click-through rate (share of served requests with a click, like or play) and skip rate
  (share of feedback events that are skips). With fewer than ``min_requests`` requests or
  ``min_events`` feedback events on either side: hold. Otherwise one-sided two-proportion
  z-tests at level ``alpha`` ask whether the canary's CTR is lower, or its skip rate higher,
  than production's: if either is significant the canary is rolled back (pointed at
  production's version, and the version is marked rejected), else it is promoted.

Every decision (promote, hold, rollback) is recorded in the store (``state/promotion/
decisions/``) and logged to MLflow (experiment ``llara-promotion``) with its numbers and reason.
Two passes at once cannot both move pointers: a pass holds an epoch lock (``state/promotion/
locks/<n>.json`` created with put-if-absent; a lock older than ``lock_ttl_seconds`` is stale
and the next epoch can be taken) and checks before every move that no later epoch exists.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import math
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from llara import bundle
from llara.store import ObjectNotFound, Store

log = logging.getLogger("llara_training.promotion")

STATE = "state/promotion/"
LOCKS = STATE + "locks/"
DECISIONS = STATE + "decisions/"
REJECTED = STATE + "rejected/"
OFFLINE = STATE + "offline/"
POSITIVE_EVENTS = frozenset({"click", "like", "play"})
HIGHER_IS_BETTER = {"ndcg": True, "r_precision": True, "r_precision_track": True,
                    "recall": True, "clicks": False}


class PromotionSettings(BaseSettings):
    """Gate thresholds, from LLARA_PROMOTE_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="LLARA_PROMOTE_", extra="ignore")

    offline_metrics: list[str] = Field(
        default=["ndcg", "r_precision"],
        description="Overall LLaRA metrics compared offline (JSON list in the environment).")
    offline_tolerance: float = Field(
        default=0.02, ge=0, description="Relative amount by which staging may trail production "
        "on an offline metric and still pass (0.02: 2%).")
    min_requests: int = Field(
        default=200, ge=1, description="Served requests each of canary and production needs "
        "before the online gate decides.")
    min_events: int = Field(
        default=50, ge=1, description="Feedback events each side needs before it decides.")
    alpha: float = Field(default=0.05, gt=0, lt=1,
                         description="Level of the one-sided two-proportion z-tests.")
    offline_max_playlists: int = Field(
        default=5000, ge=1, description="Test-split playlists both models are scored on (a "
        "stable hash picks them, so the same data gives the same cases).")
    lock_ttl_seconds: float = Field(
        default=1800.0, gt=0, description="A promotion lock older than this is stale.")
    tracking: bool = Field(default=True, description="Log every decision to MLflow.")
    experiment: str = Field(default="llara-promotion", description="MLflow experiment.")
    model_name: str = Field(default="llara", description="MLflow registered model name.")


# ------------------------------------------------------------------------------ decisions
@dataclass
class Decision:
    action: str  # promote | hold | rollback
    stage: str  # staging->canary | canary->production | manual
    version: str | None
    reason: str
    target: str | None = None  # the alias that moved (promote/rollback)
    replaced: str | None = None  # the version the alias held before
    numbers: dict[str, Any] = field(default_factory=dict)
    decided_at: str = field(default_factory=bundle.utc_now)
    mlflow_run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_decision(store: Store, decision: Decision,
                    settings: PromotionSettings | None = None) -> Decision:
    """Store the decision and log it to MLflow (its numbers as metrics, its reason as a tag)."""
    settings = settings or PromotionSettings()
    if settings.tracking:
        try:
            decision.mlflow_run_id = _log_to_mlflow(decision, settings)
        except Exception as e:  # noqa: BLE001 - the store record below still keeps it
            log.warning("could not log the decision to MLflow: %s", e)
            decision.numbers["mlflow_error"] = str(e)[:200]
    key = f"{DECISIONS}{decision.decided_at}-{uuid.uuid4().hex[:8]}.json"
    store.put_bytes(key, json.dumps(decision.to_dict(), sort_keys=True, default=str).encode())
    log.info(json.dumps({"event": "promotion", **decision.to_dict()}, default=str))
    return decision


def _log_to_mlflow(decision: Decision, settings: PromotionSettings) -> str:
    from mlflow import MlflowClient

    from llara.config import get_settings

    uri = get_settings().tracking_uri
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(settings.experiment)
    experiment_id = (experiment.experiment_id if experiment else
                     client.create_experiment(settings.experiment))
    run = client.create_run(experiment_id, run_name=f"{decision.action} {decision.stage}",
                            tags={"llara.action": decision.action,
                                  "llara.stage": decision.stage,
                                  "llara.version": str(decision.version),
                                  "llara.target": str(decision.target),
                                  "llara.replaced": str(decision.replaced),
                                  "llara.reason": decision.reason[:5000]})
    flat = _flatten(decision.numbers)
    for key, value in flat.items():
        if isinstance(value, bool):
            value = float(value)
        if isinstance(value, int | float) and math.isfinite(value):
            client.log_metric(run.info.run_id, key, float(value))
        elif value is not None:
            client.log_param(run.info.run_id, key, str(value)[:500])
    client.set_terminated(run.info.run_id)
    if decision.action in ("promote", "rollback") and decision.target:
        _move_registry_alias(client, settings.model_name, decision.target, decision.numbers.get(
            "moved_to", decision.version))
    return run.info.run_id


def _move_registry_alias(client, model_name: str, alias: str, bundle_version: str | None) -> None:
    """Point the registry alias at the model version tagged with this bundle (if any)."""
    if not bundle_version:
        return
    try:
        found = client.search_model_versions(f"name='{model_name}'")
    except Exception:  # noqa: BLE001 - no registered model yet
        return
    for version in found:
        if version.tags.get("bundle_version") == bundle_version:
            client.set_registered_model_alias(model_name, alias, version.version)
            return


def _flatten(numbers: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in numbers.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def decisions(store: Store, limit: int | None = None) -> list[dict[str, Any]]:
    """Recorded decisions, oldest first (the last ``limit``)."""
    keys = list(store.list(DECISIONS))
    if limit is not None:
        keys = keys[-limit:]
    return [json.loads(store.get_bytes(k)) for k in keys]


# ------------------------------------------------------------------------------ the lock
class LockBusy(RuntimeError):
    """Another pass holds the promotion lock."""


class LockLost(RuntimeError):
    """This pass's lock went stale and another pass took a later epoch."""


class PromotionLock:
    """An epoch lock in the store: epoch n+1 can be created (put-if-absent) only when epoch n
    is released or stale, so at most one pass holds the current epoch."""

    def __init__(self, store: Store, ttl_seconds: float, clock: Callable[[], float] = time.time):
        self.store, self.ttl, self.clock = store, ttl_seconds, clock
        self.epoch: int | None = None

    def _latest(self) -> tuple[int, dict[str, Any] | None, bool]:
        latest, released = 0, set()
        for key in self.store.list(LOCKS):
            name = key[len(LOCKS):]
            number = int(name.split(".", 1)[0])
            if name.endswith(".released"):
                released.add(number)
            latest = max(latest, number)
        if latest == 0:
            return 0, None, True
        try:
            holder = json.loads(self.store.get_bytes(f"{LOCKS}{latest:012d}.json"))
        except ObjectNotFound:
            holder = None
        return latest, holder, latest in released

    def acquire(self) -> None:
        latest, holder, released = self._latest()
        if holder and not released and self.clock() - holder["acquired_at"] < self.ttl:
            raise LockBusy(f"promotion lock epoch {latest} is held by {holder['owner']} since "
                           f"{holder['acquired_at']:.0f}")
        body = json.dumps({"owner": f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
                           "acquired_at": self.clock(), "replaced_stale": bool(
                               holder and not released)}).encode()
        if not self.store.put_if_absent(f"{LOCKS}{latest + 1:012d}.json", body):
            raise LockBusy(f"another pass took promotion lock epoch {latest + 1}")
        self.epoch = latest + 1

    def check(self) -> None:
        """Raise LockLost if a later epoch exists (this pass went stale and was replaced)."""
        if self.epoch is None or self._latest()[0] != self.epoch:
            raise LockLost(f"promotion lock epoch {self.epoch} was taken over")

    def release(self) -> None:
        if self.epoch is not None:
            self.store.put_if_absent(f"{LOCKS}{self.epoch:012d}.released", b"{}")
            self.epoch = None

    def __enter__(self) -> PromotionLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# ------------------------------------------------------------------------------ gates
def manifest_of(store: Store, version: str) -> dict[str, Any]:
    return orjson.loads(store.get_bytes(f"{bundle.PREFIX}{version}/{bundle.MANIFEST}"))


def verify_checksums(store: Store, version: str) -> tuple[bool, str]:
    """Download every file of the published bundle and check it against its manifest."""
    pointer_sha = bundle.sha256_bytes(store.get_bytes(
        f"{bundle.PREFIX}{version}/{bundle.MANIFEST}"))
    with tempfile.TemporaryDirectory(prefix="llara-verify-") as tmp:
        try:
            bundle.fetch(store, bundle.BundleRef(version, pointer_sha), Path(tmp))
        except bundle.BundleError as e:
            return False, str(e)
    return True, "every file matches its manifest checksum"


def parity_passed(manifest: dict[str, Any]) -> tuple[bool, str]:
    parity = manifest.get("parity") or {}
    if parity.get("passed") is True:
        return True, "export parity gates passed"
    return False, f"export parity gates not passed: {parity or 'no parity figures'}"


OfflineEvaluator = Callable[[Store, list[str], int], dict[str, dict[str, float]]]


def evaluate_offline(store: Store, versions: list[str], max_playlists: int = 5000
                     ) -> dict[str, dict[str, float]]:
    """Overall LLaRA metrics of each version's source run on the same cases: the test split
    (by the first version's split settings) of the processed data in the store now, at most
    ``max_playlists`` of them (chosen by a stable hash of the pid)."""
    from llara.processed import read_processed
    from llara_training.artifacts import load_run
    from llara_training.evaluate import evaluate_run_on_tables
    from llara_training.split import TEST, split_of, stable_unit

    runs = {}
    for version in versions:
        run_id = manifest_of(store, version).get("source_run")
        if not run_id or not store.exists(f"runs/{run_id}/model.pt"):
            raise LookupError(f"version {version}: its training run {run_id!r} is not in the "
                              "store, so it cannot be evaluated offline")
        runs[version] = run_id
    split = load_run(store, runs[versions[0]]).config.get("data", {})
    split = {k: split[k] for k in ("seed", "val_fraction", "test_fraction") if k in split}
    tables = read_processed(store)
    import pyarrow as pa
    import pyarrow.compute as pc

    pids = [p for p in set(tables.playlists.column("pid").to_pylist())
            if split_of(p, **split) == TEST]
    pids = sorted(pids, key=lambda p: stable_unit("promotion", p))[:max_playlists]
    keep = pa.array(sorted(pids), type=pa.int64())
    test = dataclasses.replace(
        tables, interactions=tables.interactions.filter(
            pc.is_in(tables.interactions.column("pid"), keep)),
        playlists=tables.playlists.filter(pc.is_in(tables.playlists.column("pid"), keep)))
    fingerprint = hashlib.sha256(
        (json.dumps(split, sort_keys=True) + ",".join(map(str, sorted(pids)))).encode()
    ).hexdigest()[:16]
    scores = {}
    for version, run_id in runs.items():
        key = f"{OFFLINE}{run_id}-{fingerprint}.json"
        try:
            scores[version] = json.loads(store.get_bytes(key))
            continue
        except ObjectNotFound:
            pass
        report, info = evaluate_run_on_tables(store, test, run_id=run_id,
                                              seed=int(split.get("seed", 0)), progress=False)
        overall = {k: float(v) for k, v in report.metrics["llara"]["overall"].items()}
        overall.update(cases=float(info["cases"]))
        store.put_bytes(key, json.dumps(overall).encode())
        scores[version] = overall
    for version in scores:
        scores[version] = {**scores[version], "test_set": fingerprint}
    return scores


def offline_gate(candidate: dict[str, Any], production: dict[str, Any],
                 settings: PromotionSettings) -> tuple[bool, str]:
    """Is ``candidate`` not worse than ``production`` beyond the tolerance on every metric?"""
    worse = []
    for metric in settings.offline_metrics:
        c, p = candidate.get(metric), production.get(metric)
        if c is None or p is None:
            return False, f"offline metric {metric!r} missing"
        higher = HIGHER_IS_BETTER.get(metric, True)
        limit = p * (1 - settings.offline_tolerance) if higher else p * (1 + settings.offline_tolerance)
        if (c < limit) if higher else (c > limit):
            worse.append(f"{metric} {c:.4f} vs production {p:.4f} (limit {limit:.4f})")
    if worse:
        return False, "worse offline than production: " + "; ".join(worse)
    return True, "offline metrics within tolerance of production: " + ", ".join(
        f"{m} {candidate[m]:.4f} vs {production[m]:.4f}" for m in settings.offline_metrics)


# ------------------------------------------------------------------------------ online
def _parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def online_stats(store: Store, versions: list[str], since: str | None = None
                 ) -> dict[str, dict[str, float]]:
    """Per model version, over requests served at or after ``since``: requests, feedback
    events, click-through rate and skip rate (see the module docstring)."""
    from llara.served import read_served
    from llara_training.feedback_signal import read_feedback

    start = _parse_time(since)
    version_of = {}
    stats = {v: {"requests": 0, "positive_requests": 0, "events": 0, "skips": 0}
             for v in versions}
    for record in read_served(store):
        if record.get("model_version") not in stats:
            continue
        if start is not None and _parse_time(record.get("served_at")) < start:
            continue
        version_of[record["request_id"]] = record["model_version"]
        stats[record["model_version"]]["requests"] += 1
    positive: set[str] = set()
    seen: set[tuple] = set()
    for event in read_feedback(store)[0]:
        version = version_of.get(event.get("request_id"))
        marker = (event.get("request_id"), event.get("track_uri"), event.get("event"))
        if version is None or marker in seen:
            continue
        seen.add(marker)
        stats[version]["events"] += 1
        if event.get("event") == "skip":
            stats[version]["skips"] += 1
        elif event.get("event") in POSITIVE_EVENTS and event["request_id"] not in positive:
            positive.add(event["request_id"])
            stats[version]["positive_requests"] += 1
    for s in stats.values():
        s["ctr"] = s["positive_requests"] / s["requests"] if s["requests"] else float("nan")
        s["skip_rate"] = s["skips"] / s["events"] if s["events"] else float("nan")
    return stats


def one_sided_z(successes_a: int, n_a: int, successes_b: int, n_b: int) -> tuple[float, float]:
    """Pooled two-proportion z statistic of p_a - p_b and P(Z <= z) (small: a is lower)."""
    from scipy.stats import norm

    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return 0.0, 0.5
    z = (successes_a / n_a - successes_b / n_b) / se
    return z, float(norm.cdf(z))


def online_gate(canary: dict[str, float], production: dict[str, float],
                settings: PromotionSettings) -> tuple[str, str, dict[str, float]]:
    """('promote' | 'hold' | 'rollback', reason, test figures)."""
    short = [f"{name} has {s['requests']} requests/{s['events']} feedback events"
             for name, s in (("canary", canary), ("production", production))
             if s["requests"] < settings.min_requests or s["events"] < settings.min_events]
    if short:
        return "hold", (f"not enough online evidence yet (need {settings.min_requests} requests "
                        f"and {settings.min_events} feedback events each): " + "; ".join(short)), {}
    z_ctr, p_ctr = one_sided_z(canary["positive_requests"], canary["requests"],
                               production["positive_requests"], production["requests"])
    z_skip, p_skip_lower = one_sided_z(canary["skips"], canary["events"], production["skips"],
                                       production["events"])
    p_skip = 1 - p_skip_lower  # P(canary's skip rate is this much higher by chance)
    tests = {"z_ctr": z_ctr, "p_ctr_lower": p_ctr, "z_skip": z_skip, "p_skip_higher": p_skip,
             "alpha": settings.alpha}
    summary = (f"CTR {canary['ctr']:.3f} vs {production['ctr']:.3f} (one-sided p={p_ctr:.3g}), "
               f"skip rate {canary['skip_rate']:.3f} vs {production['skip_rate']:.3f} "
               f"(one-sided p={p_skip:.3g}), alpha {settings.alpha}")
    if p_ctr < settings.alpha or p_skip < settings.alpha:
        return "rollback", "canary is significantly worse online: " + summary, tests
    return "promote", "canary is not worse online: " + summary, tests


# ------------------------------------------------------------------------------ the procedure
def aliases(store: Store) -> dict[str, dict[str, Any] | None]:
    return {alias: bundle.read_alias(store, alias) for alias in bundle.ALIASES}


def _version(pointer: dict[str, Any] | None) -> str | None:
    return pointer["version"] if pointer else None


def is_rejected(store: Store, version: str) -> bool:
    return store.exists(f"{REJECTED}{version}.json")


def staging_to_canary(store: Store, lock: PromotionLock, settings: PromotionSettings,
                      evaluator: OfflineEvaluator = evaluate_offline) -> Decision:
    pointers = aliases(store)
    staging, canary, production = (_version(pointers[a]) for a in bundle.ALIASES)
    stage = "staging->canary"
    if staging is None:
        return Decision("hold", stage, None, "nothing in staging")
    if staging in (canary, production):
        return Decision("hold", stage, staging, f"staging {staging} is already "
                        f"{'canary' if staging == canary else 'production'}")
    if is_rejected(store, staging):
        return Decision("hold", stage, staging, f"{staging} was rolled back from canary before")
    if canary is not None and canary != production and not is_rejected(store, canary):
        return Decision("hold", stage, staging,
                        f"canary slot busy: {canary} is still under online evaluation")
    numbers: dict[str, Any] = {}
    ok, why = verify_checksums(store, staging)
    numbers["checksums_ok"] = ok
    if not ok:
        return Decision("hold", stage, staging, f"bundle checksums bad: {why}", numbers=numbers)
    manifest = manifest_of(store, staging)
    ok, why = parity_passed(manifest)
    numbers["parity_passed"] = ok
    numbers["parity"] = {k: v for k, v in (manifest.get("parity") or {}).items()
                         if isinstance(v, int | float)}
    if not ok:
        return Decision("hold", stage, staging, why, numbers=numbers)
    if production is None:
        reason = "no production model yet: checksums and parity suffice"
    else:
        try:
            scores = evaluator(store, [staging, production], settings.offline_max_playlists)
        except LookupError as e:
            return Decision("hold", stage, staging, f"cannot compare offline: {e}",
                            numbers=numbers)
        numbers["offline"] = {"staging": scores[staging], "production": scores[production],
                              "tolerance": settings.offline_tolerance}
        ok, reason = offline_gate(scores[staging], scores[production], settings)
        if not ok:
            return Decision("hold", stage, staging, reason, numbers=numbers)
    lock.check()
    bundle.set_alias(store, "canary", staging)
    return Decision("promote", stage, staging, reason, target="canary", replaced=canary,
                    numbers=numbers)


def canary_to_production(store: Store, lock: PromotionLock,
                         settings: PromotionSettings) -> Decision:
    pointers = aliases(store)
    canary, production = _version(pointers["canary"]), _version(pointers["production"])
    stage = "canary->production"
    if canary is None:
        return Decision("hold", stage, None, "no canary")
    if canary == production:
        return Decision("hold", stage, canary, "canary is already production")
    if is_rejected(store, canary):
        return Decision("hold", stage, canary, f"canary {canary} was rolled back")
    if production is None:
        lock.check()
        bundle.set_alias(store, "production", canary)
        return Decision("promote", stage, canary, "no production model yet",
                        target="production")
    since = pointers["canary"].get("updated")
    stats = online_stats(store, [canary, production], since=since)
    action, reason, tests = online_gate(stats[canary], stats[production], settings)
    numbers = {"canary": stats[canary], "production": stats[production], **tests,
               "since": since, "min_requests": settings.min_requests,
               "min_events": settings.min_events}
    if action == "hold":
        return Decision("hold", stage, canary, reason, numbers=numbers)
    lock.check()
    if action == "promote":
        bundle.set_alias(store, "production", canary)
        return Decision("promote", stage, canary, reason, target="production",
                        replaced=production, numbers=numbers)
    store.put_bytes(f"{REJECTED}{canary}.json", json.dumps(
        {"version": canary, "reason": reason, "at": bundle.utc_now()}).encode())
    bundle.set_alias(store, "canary", production)
    numbers["moved_to"] = production
    return Decision("rollback", stage, canary, reason + f"; canary now serves {production}",
                    target="canary", replaced=canary, numbers=numbers)


def promotion_pass(store: Store, settings: PromotionSettings | None = None, *,
                   evaluator: OfflineEvaluator = evaluate_offline) -> list[Decision]:
    """Both gates, under the lock: first the running canary (promote, hold or roll back),
    then staging into a free canary slot. Every decision is recorded."""
    settings = settings or PromotionSettings()
    lock = PromotionLock(store, settings.lock_ttl_seconds)
    try:
        lock.acquire()
    except LockBusy as e:
        return [record_decision(store, Decision("hold", "loop", None, str(e)), settings)]
    try:
        made = []
        for gate in (lambda: canary_to_production(store, lock, settings),
                     lambda: staging_to_canary(store, lock, settings, evaluator)):
            try:
                decision = gate()
            except LockLost as e:
                decision = Decision("hold", "loop", None, str(e))
            made.append(record_decision(store, decision, settings))
        return made
    finally:
        lock.release()


def manual_move(store: Store, version: str, alias: str,
                settings: PromotionSettings | None = None) -> Decision:
    """``llara promote VERSION --to ALIAS``: move the pointer by hand (no gates), recorded."""
    settings = settings or PromotionSettings()
    with PromotionLock(store, settings.lock_ttl_seconds) as lock:
        before = _version(bundle.read_alias(store, alias))
        lock.check()
        bundle.set_alias(store, alias, version)
        if alias == "canary" and is_rejected(store, version):
            store.delete(f"{REJECTED}{version}.json")  # an operator's explicit second chance
    return record_decision(store, Decision("promote", "manual", version, f"by hand to {alias}",
                                           target=alias, replaced=before), settings)


def manual_rollback(store: Store, alias: str,
                    settings: PromotionSettings | None = None) -> Decision:
    """``llara rollback ALIAS``: back to the version the alias held before."""
    settings = settings or PromotionSettings()
    with PromotionLock(store, settings.lock_ttl_seconds) as lock:
        before = _version(bundle.read_alias(store, alias))
        lock.check()
        pointer = bundle.rollback(store, alias)
    return record_decision(store, Decision(
        "rollback", "manual", before, f"{alias} rolled back by hand to {pointer['version']}",
        target=alias, replaced=before, numbers={"moved_to": pointer["version"]}), settings)


def loop_pass(store: Store, settings: PromotionSettings | None = None, *,
              evaluator: OfflineEvaluator = evaluate_offline) -> dict[str, Any]:
    """``llara loop``: one pass of the whole decision procedure: the scheduled training
    decision (``llara.schedule``), then canary -> production and staging -> canary."""
    from llara.schedule import decide_and_launch

    schedule = decide_and_launch(store)
    made = promotion_pass(store, settings, evaluator=evaluator)
    return {"schedule": asdict(schedule), "promotion": [d.to_dict() for d in made],
            "aliases": {a: _version(p) for a, p in aliases(store).items()}}
