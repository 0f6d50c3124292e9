"""The bundle a warm function serves, swapped in the background when its alias moves.

Requests call :meth:`LiveModel.get`, which never waits for a reload: at most every
``reload_seconds`` it starts one background check of the alias pointer; when the pointer names
another manifest, the new bundle is downloaded, verified and fully loaded off the request path,
then swapped in with a single reference assignment. A request keeps the model it started with,
so nothing fails during a swap; a bundle that fails to load is logged and the old one stays.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from llara.bundle import BundleRef, fetch, resolve_ref
from llara.recommend import Recommender
from llara.store import Store

log = logging.getLogger("llara.live")


@dataclass(frozen=True)
class Loaded:
    ref: BundleRef | None  # None for a local folder bundle
    model: Recommender


class LiveModel:
    """One alias (or one local folder) and the Recommender currently behind it."""

    def __init__(self, *, store: Store | None = None, alias: str = "production",
                 folder: Path | None = None, cache_dir: Path | None = None,
                 fall_back_to_newest: bool = False, reload_seconds: float = 30.0,
                 threads: int = 1):
        if (store is None) == (folder is None):
            raise ValueError("serve from a store alias or from a local folder, not both")
        self.store, self.alias, self.folder = store, alias, folder
        self.cache_dir = cache_dir
        self.fall_back_to_newest = fall_back_to_newest
        self.reload_seconds = reload_seconds
        self.threads = threads
        self._loaded: Loaded | None = None
        self._load_lock = threading.Lock()
        self._checking = threading.Lock()
        self._last_check = 0.0
        self.last_error: str | None = None

    @property
    def name(self) -> str:
        return str(self.folder) if self.folder else self.alias

    def get(self) -> Recommender | None:
        """The current model (loading it on first use); None when there is none to serve."""
        loaded = self._loaded
        if loaded is None:
            return self._first_load()
        if self.store is not None and time.monotonic() - self._last_check >= self.reload_seconds:
            self._check_in_background()
        return loaded.model

    def _first_load(self) -> Recommender | None:
        with self._load_lock:
            if self._loaded is None:
                self._last_check = time.monotonic()
                try:
                    self._loaded = self._load(None)
                except Exception as e:  # noqa: BLE001 - answer 503 with the reason, not a 500
                    self.last_error = f"{type(e).__name__}: {e}"
                    log.warning("no bundle for %s: %s", self.name, e)
                    return None
            return self._loaded.model

    def _load(self, current: Loaded | None) -> Loaded | None:
        """The bundle the alias names now; ``current`` again when it has not moved."""
        if self.folder is not None:
            return Loaded(None, Recommender(self.folder, threads=self.threads))
        ref = resolve_ref(self.store, self.alias, fall_back_to_newest=self.fall_back_to_newest)
        if current is not None and current.ref == ref:
            return current
        path = fetch(self.store, ref, self.cache_dir)
        # fetch() verified every file against the manifest before the folder appeared.
        return Loaded(ref, Recommender(path, threads=self.threads, verify=False))

    def _check_in_background(self) -> None:
        if not self._checking.acquire(blocking=False):
            return  # a check is already running
        self._last_check = time.monotonic()
        threading.Thread(target=self._check, name=f"llara-reload-{self.alias}",
                         daemon=True).start()

    def _check(self) -> None:
        try:
            current = self._loaded
            fresh = self._load(current)
            if fresh is not current:
                self._loaded = fresh  # the atomic swap
                log.info("%s now serves %s", self.alias, fresh.model.version)
            self.last_error = None
        except Exception as e:  # noqa: BLE001 - keep serving the old bundle
            self.last_error = f"{type(e).__name__}: {e}"
            log.warning("reload of %s failed, keeping %s: %s", self.alias,
                        current.model.version if current else None, self.last_error)
        finally:
            self._last_check = time.monotonic()
            self._checking.release()

    def check_now(self) -> None:
        """Check the alias synchronously (tests, and ``llara serve`` at start)."""
        self._checking.acquire()  # waits for a background check in flight
        self._check()
