"""The served-request log /predict writes so feedback can be joined: batching, durability."""
from __future__ import annotations

import threading
import time

import pytest

from llara.served import ServedLog, read_served


def test_batches_by_size_and_writes_unique_objects(store):
    log = ServedLog(store, max_records=10, max_seconds=60)
    for i in range(10):
        log.record(request_id=f"r{i}", model_version="v1")
    deadline = time.monotonic() + 10
    while log.written < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert log.written == 10  # a full batch, written off the request path
    for i in range(10, 15):
        log.record(request_id=f"r{i}", model_version="v1")
    time.sleep(0.3)
    assert log.written == 10  # neither full nor old: still buffered
    log.close()  # the rest goes out at shutdown
    records = list(read_served(store))
    assert sorted(r["request_id"] for r in records) == sorted(f"r{i}" for i in range(15))
    assert all(r["served_at"] and r["model_version"] == "v1" for r in records)
    assert len(list(store.list("served/"))) == 2


def test_flushes_by_age(tmp_path):
    from llara.store import open_store

    store = open_store(str(tmp_path / "s"))
    log = ServedLog(store, max_records=1000, max_seconds=0.2)
    log.record(request_id="only")
    deadline = time.monotonic() + 10
    while not list(store.list("served/")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r["request_id"] for r in read_served(store)] == ["only"]
    log.close()


def test_concurrent_writers_lose_nothing(tmp_path):
    from llara.store import open_store

    store = open_store(str(tmp_path / "s"))
    log = ServedLog(store, max_records=7, max_seconds=0.05)

    def work(t):
        for i in range(50):
            log.record(request_id=f"{t}-{i}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    ids = [r["request_id"] for r in read_served(store)]
    assert len(ids) == len(set(ids)) == 400


def test_a_failed_write_keeps_the_records(tmp_path):
    from llara.store import LocalStore

    class Flaky(LocalStore):
        fail = True

        def put_if_absent(self, key, data):
            if self.fail:
                raise OSError("disk unavailable")
            return super().put_if_absent(key, data)

    store = Flaky(tmp_path / "s")
    log = ServedLog(store, max_records=1000, max_seconds=60)
    log.record(request_id="a")
    log.record(request_id="b")
    with pytest.raises(OSError):
        log.flush()
    store.fail = False
    log.close()
    assert [r["request_id"] for r in read_served(store)] == ["a", "b"]


def test_synchronous_mode_writes_each_record(tmp_path):
    from llara.store import open_store

    store = open_store(str(tmp_path / "s"))
    log = ServedLog(store, max_records=1)
    log.record(request_id="x")
    assert [r["request_id"] for r in read_served(store)] == ["x"]


def test_a_failed_synchronous_write_never_fails_the_request(tmp_path):
    from llara.store import LocalStore

    class Down(LocalStore):
        down = True

        def put_if_absent(self, key, data):
            if self.down:
                raise OSError("store unreachable")
            return super().put_if_absent(key, data)

    store = Down(tmp_path / "s")
    log = ServedLog(store, max_records=1)
    log.record(request_id="a")  # no exception reaches the caller
    store.down = False
    log.record(request_id="b")
    assert sorted(r["request_id"] for r in read_served(store)) == ["a", "b"]
