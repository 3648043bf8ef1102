"""The cluster's parts that need no cluster: the gates of planned moves, the choice of a node, the history of
epochs on a real control plane, replica prefixes, and what cluster mode requires of the settings."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from airsequel.config import Settings
from airsequel.core.cluster.gates import DatabaseGates
from airsequel.core.cluster.node import setting_problems
from airsequel.core.cluster.placement import Node, least_loaded
from airsequel.core.layout import replica_path
from airsequel.core.registry.control_plane import ControlPlane
from airsequel.core.registry.epochs import epoch_at, epochs_before, record_epoch
from airsequel.core.storage.new_databases import new_record


def test_a_closed_gate_holds_new_requests_and_waits_for_those_in_flight():
    gates = DatabaseGates()
    assert gates.try_enter("k")
    closed = threading.Event()
    threading.Thread(target=lambda: gates.close("k", 5) and closed.set(), daemon=True).start()
    time.sleep(0.1)
    assert not closed.is_set()  # the request in flight is still running
    assert not gates.try_enter("k") and not gates.enter("k", 0.05)  # new ones wait (here: time out)
    gates.leave("k")
    assert closed.wait(2)
    let_in = threading.Event()
    threading.Thread(target=lambda: gates.enter("k", 5) and let_in.set(), daemon=True).start()
    time.sleep(0.1)
    assert not let_in.is_set()
    gates.open("k")
    assert let_in.wait(2)
    assert gates.try_enter("other")  # other databases were never held up


def test_a_close_that_times_out_opens_the_gate_again():
    gates = DatabaseGates()
    assert gates.try_enter("k")
    started = time.monotonic()
    assert gates.close("k", 0.2) is False
    assert 0.15 < time.monotonic() - started < 2
    assert gates.try_enter("k")  # open again: nothing was moved


def _node(node_id: str, *, alive: bool = True, draining: bool = False) -> Node:
    return Node(node_id, f"http://{node_id}", 1, time.time() + (60 if alive else -60), draining, "", {})


def test_a_new_database_goes_to_the_live_undrained_node_with_the_fewest():
    nodes = [_node("a"), _node("b"), _node("c", alive=False), _node("d", draining=True)]
    assert least_loaded(nodes, {"a": 3, "b": 1, "c": 0, "d": 0}) == "b"
    assert least_loaded(nodes, {"a": 1, "b": 1}) == "a"  # ties: the smaller id
    assert least_loaded(nodes, {}, excluding=frozenset({"a", "b"})) is None
    assert least_loaded([_node("c", alive=False)], {}) is None


def test_replica_prefixes_keep_epoch_zero_where_it_always_was():
    assert replica_path("k") == ("dbs", "k")
    assert replica_path("k", 3) == ("dbs", "k", "epochs", "3")
    assert replica_path("k", 3, handoff="01abc") == ("dbs", "k", "epochs", "3-handoff-01abc")
    assert replica_path(None, 7) == ("control",)


def test_the_epoch_of_a_moment_comes_from_the_history(tmp_path: Path):
    control = ControlPlane(tmp_path / "control.sqlite")
    try:
        record = new_record("h", owner=None, description=None, created_by=None)
        control.insert_database(record)
        key = record.file_key
        assert epoch_at(control, key, None, 0) == 0
        assert epoch_at(control, key, "2020-01-01T00:00:00Z", 0) == 0  # no history: the current epoch
        with control.transaction() as conn:
            record_epoch(conn, key, 1, "a")
        first = time.time()
        time.sleep(1.1)
        with control.transaction() as conn:
            record_epoch(conn, key, 2, "b", "01handoff")

        def at(moment: float) -> str:
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))

        assert epoch_at(control, key, at(first - 60), 2) == 0  # before epoch 1 began: the one before it
        assert epoch_at(control, key, at(time.time() + 60), 2) == 2
        assert epoch_at(control, key, None, 2) == 2
        assert epochs_before(control, key, 2) == [1, 0]
        assert epochs_before(control, key, 1) == [0]
    finally:
        control.close()


def test_cluster_mode_names_everything_it_lacks():
    settings = Settings.from_env(environ={}, cluster="1")
    problems = setting_problems(settings)
    assert len(problems) == 5
    assert any("postgresql://" in p for p in problems) and any("--node-id" in p for p in problems)
    assert setting_problems(Settings.from_env(environ={})) == []
    complete = Settings.from_env(
        environ={"AIRSEQUEL_SECRET_KEY": "s" * 40},
        cluster="yes",
        control_plane="postgresql://x@127.0.0.1/db",
        replica_url="s3://b/p",
        node_id="node-1",
        advertise_url="http://127.0.0.1:4185",
    )
    assert setting_problems(complete) == []
    assert setting_problems(Settings.from_env(environ={"AIRSEQUEL_SECRET_KEY": "s" * 40}, cluster="on", node_id="a b"))
