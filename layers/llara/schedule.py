"""The scheduled training decision: train only when enough new data or feedback arrived.

Called by every scheduler (Chalice ``@app.schedule``, the OpenWhisk alarm trigger, a Knative
PingSource). It compares what is in the store now with the snapshot the last training run
recorded (``state/training/last.json``, written by the pipeline), decides, launches the batch
job when warranted, and records the decision and its reason under ``state/schedule/``.
Two passes at once launch at most one job: the launch is claimed with a conditional write.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llara.config import get_settings
from llara.store import ObjectNotFound, Store

log = logging.getLogger("llara.schedule")

SNAPSHOT_KEY = "state/training/last.json"
SOURCES_PREFIX = "processed/playlists/"
FEEDBACK_PREFIX = "feedback/"


@dataclass
class Snapshot:
    """What a training run consumed: processed sources and feedback objects."""

    run_id: str | None = None
    sources: list[str] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)


@dataclass
class Decision:
    train: bool
    reason: str
    new_sources: int
    new_feedback: int
    launched: str | None = None  # how the job was launched, when it was
    decided_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                  time.gmtime()))


def current_snapshot(store: Store) -> Snapshot:
    return Snapshot(sources=list(store.list(SOURCES_PREFIX)),
                    feedback=list(store.list(FEEDBACK_PREFIX)))


def last_snapshot(store: Store) -> Snapshot:
    try:
        return Snapshot(**json.loads(store.get_bytes(SNAPSHOT_KEY)))
    except ObjectNotFound:
        return Snapshot()


def record_training_snapshot(store: Store, snapshot: Snapshot) -> None:
    """Called by the training pipeline with what it read, once its run succeeded."""
    store.put_bytes(SNAPSHOT_KEY, json.dumps(asdict(snapshot), sort_keys=True).encode())


def decide(store: Store, *, min_new_slices: int, min_new_feedback: int) -> tuple[Decision, Snapshot]:
    now, last = current_snapshot(store), last_snapshot(store)
    new_sources = len(set(now.sources) - set(last.sources))
    new_feedback = len(set(now.feedback) - set(last.feedback))
    if not now.sources:
        reason = "no processed data in the store yet"
        train = False
    elif last.run_id is None:
        train, reason = True, "no training run recorded yet"
    elif min_new_slices and new_sources >= min_new_slices:
        train, reason = True, f"{new_sources} new slices >= {min_new_slices}"
    elif min_new_feedback and new_feedback >= min_new_feedback:
        train, reason = True, f"{new_feedback} new feedback objects >= {min_new_feedback}"
    else:
        train = False
        reason = (f"not enough new data: {new_sources} new slices (< {min_new_slices}), "
                  f"{new_feedback} new feedback objects (< {min_new_feedback})")
    return Decision(train, reason, new_sources, new_feedback), now


def _claim(store: Store, snapshot: Snapshot) -> bool:
    """One launch per distinct data snapshot, however many passes race for it."""
    digest = hashlib.sha256(json.dumps(asdict(snapshot), sort_keys=True).encode()).hexdigest()
    return store.put_if_absent(f"state/schedule/claims/{digest[:32]}.json",
                               json.dumps({"claimed_at": time.time()}).encode())


def launch_subprocess(store: Store) -> str:
    """Run ``llara train`` detached, against the same store; its log goes to LLARA_HOME."""
    settings = get_settings()
    logs = Path(settings.home) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"train-{time.strftime('%Y%m%dT%H%M%S')}.log"
    env = {**os.environ, "LLARA_STORE": store.url}
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llara_training.cli", "train", "--json"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    return f"subprocess pid={proc.pid} log={log_path}"


def launch_kubernetes_job() -> str:
    """Create a Job from the training CronJob's template (what `kubectl create job --from`
    does), through the in-cluster API with the pod's service-account token."""
    settings = get_settings()
    sa = Path("/var/run/secrets/kubernetes.io/serviceaccount")
    api = f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ.get('KUBERNETES_SERVICE_PORT', '443')}"
    headers = {"Authorization": f"Bearer {(sa / 'token').read_text().strip()}",
               "Content-Type": "application/json"}
    context = ssl.create_default_context(cafile=str(sa / "ca.crt"))
    ns, cron = settings.k8s_namespace, settings.k8s_cronjob

    def call(method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(api + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(req, context=context, timeout=30) as resp:
            return json.load(resp)

    template = call("GET", f"/apis/batch/v1/namespaces/{ns}/cronjobs/{cron}")["spec"]["jobTemplate"]
    name = f"{cron}-{uuid.uuid4().hex[:8]}"
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": name, "namespace": ns,
                        "labels": {**template.get("metadata", {}).get("labels", {}),
                                   "llara/trigger": "schedule"}},
           "spec": template["spec"]}
    call("POST", f"/apis/batch/v1/namespaces/{ns}/jobs", job)
    return f"kubernetes job {ns}/{name}"


def decide_and_launch(store: Store) -> Decision:
    """One scheduled pass: decide, launch if warranted, record the decision with its reason."""
    settings = get_settings()
    decision, snapshot = decide(store, min_new_slices=settings.train_min_new_slices,
                                min_new_feedback=settings.train_min_new_feedback)
    if decision.train:
        if not _claim(store, snapshot):
            decision.train = False
            decision.reason = "another pass already launched training on this data"
        elif settings.train_launcher == "subprocess":
            decision.launched = launch_subprocess(store)
        elif settings.train_launcher == "kubernetes":
            decision.launched = launch_kubernetes_job()
        else:
            decision.launched = None
            decision.reason += " (launcher 'none': recorded only)"
    record = json.dumps(asdict(decision), sort_keys=True).encode()
    store.put_bytes(f"state/schedule/{decision.decided_at}-{uuid.uuid4().hex[:8]}.json", record)
    log.info(json.dumps({"event": "schedule", **asdict(decision)}))
    return decision
