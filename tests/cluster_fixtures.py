"""The fixtures of the cluster test modules (a plugin of tests/conftest.py).

`backends`: one PostgreSQL and one moto (behind its gate) per module, or a skip (cluster_processes.backends_or_skip).
`cluster`: three started nodes with the server admin signed up, a fresh control plane and replica prefix per
test; their lease is the module's LEASE_SECONDS (default 3 s)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster_processes import Cluster, ClusterBackends, backends_or_skip, running_cluster

DEFAULT_LEASE_SECONDS = 3.0


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterBackends]:
    started = backends_or_skip(tmp_path_factory.mktemp("cluster-backends"))
    yield started
    started.stop()


@pytest.fixture
def cluster(backends: ClusterBackends, tmp_path, request: pytest.FixtureRequest) -> Iterator[Cluster]:  # type: ignore[no-untyped-def]
    lease = getattr(request.module, "LEASE_SECONDS", DEFAULT_LEASE_SECONDS)
    with running_cluster(tmp_path / "cluster", backends, lease_seconds=lease) as started:
        yield started
