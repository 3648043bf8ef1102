"""Issue 16, point 19: ids cannot be guessed from each other.

python-ulid's `ULID()` is monotonic within a millisecond (the next id is the previous one plus one),
and a database's file key used to be made just before its id, so it was the id minus one."""

from __future__ import annotations

import itertools

from starlette.testclient import TestClient
from ulid import ULID

from airsequel.config import Settings
from airsequel.core import ids
from tests.helpers import create_db

CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def _random_part(ulid_text: str) -> int:
    return int(ULID.from_str(ulid_text.upper())) & ((1 << 80) - 1)


def test_ids_made_in_a_tight_loop_are_not_neighbours() -> None:
    for make in (ids.new_database_id, ids.new_ulid):
        made = [make() for _ in range(1000)]
        assert len(set(made)) == 1000
        # Many share a millisecond; their random parts must still be far apart. Two fresh 80-bit values
        # within ±1000 of each other: chance about 1e-18 per pair, 5e-13 over all pairs.
        values = sorted(_random_part(one) for one in made)
        gaps = [b - a for a, b in itertools.pairwise(values)]
        assert min(gaps) > 1000, "two ids in a tight loop are neighbours: the random part is monotonic"
        # and as whole integers too (ids in the same millisecond differ only in the random part)
        whole = sorted(int(ULID.from_str(one.upper())) for one in made)
        assert min(b - a for a, b in itertools.pairwise(whole)) > 1000
        assert all(len(one) == 26 and set(one) <= set(CROCKFORD) and one == one.lower() for one in made)


def test_python_ulid_default_is_the_monotonic_one_we_avoid() -> None:
    """Keeps the reason for ids.new_ulid true: if python-ulid changes, this says so."""
    first, second = ULID(), ULID()
    if first.timestamp == second.timestamp:
        assert int(second) - int(first) == 1


def test_file_keys_and_readonly_ids_are_random_text() -> None:
    keys = [ids.new_file_key() for _ in range(1000)]
    readonly = [ids.new_readonly_id() for _ in range(1000)]
    assert len(set(keys)) == 1000 and len(set(readonly)) == 1000
    assert all(len(key) == 26 and set(key) <= set(CROCKFORD) and ids.is_valid_id(key) for key in keys)
    assert all(len(one) == 16 and ids.is_valid_id(one) for one in readonly)
    # no time prefix: keys made in the same instant do not share their first characters
    assert len({key[:6] for key in keys}) > 900


def test_a_databases_file_key_shares_nothing_with_its_id(client: TestClient, settings: Settings) -> None:
    made = [create_db(client, name=f"db{n}") for n in range(20)]
    keys = sorted(path.name for path in (settings.data_dir / "dbs").iterdir())
    assert len(keys) == 20
    for db_id in made:
        id_value = int(ULID.from_str(db_id.upper()))
        for key in keys:
            assert key != db_id
            assert not key.startswith(db_id[:6]), "the file key carries the id's creation time"
            key_value = int(ULID.from_str(key.upper())) if key[0] in "01234567" else None
            if key_value is not None:
                assert abs(key_value - id_value) > 1000, "the file key is derivable from the public id"
    # consecutive databases' public ids are not neighbours either
    values = sorted(_random_part(db_id) for db_id in made)
    assert min(b - a for a, b in itertools.pairwise(values)) > 1000
    # a regenerated id is not derived from the old one
    regenerated = client.post(f"/dbs/{made[0]}/regenerate-db-id").json()["id"]
    assert abs(int(ULID.from_str(regenerated.upper())) - int(ULID.from_str(made[0].upper()))) > 1000
