"""Workloads 2a and 2b (issue 19): aggregates through GraphQL against the same answers written by hand in SQL through
`POST /sql`, in one run, the two taking turns; every request different (a varying id bound).

(a) parents with a filtered, counted list of children: 20 artists from a varying id, each with the number of
    its albums since 2000 (`R_aggregate`: one statement for the artists, one GROUP BY for their albums);
(b) a grouped aggregate: the albums of 100 artists from a varying id, grouped by genre with count, avg, max.

Data: 10,000 artists with 10 albums each (an index on the foreign key, as any schema with this query has)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2

ARTISTS = 10_000
SCHEMA = f"""
CREATE TABLE artists (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE albums (
  id INTEGER PRIMARY KEY, title TEXT NOT NULL, artist_id INTEGER REFERENCES artists(id),
  genre TEXT, year INTEGER, price REAL
);
CREATE INDEX albums_artist ON albums(artist_id);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {ARTISTS})
INSERT INTO artists SELECT x, 'artist ' || x FROM n;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {ARTISTS * 10})
INSERT INTO albums SELECT x, 'album ' || x, (x - 1) / 10 + 1, 'genre ' || (x * 7 % 12), 1960 + x * 13 % 64,
  (x * 37 % 2000) / 100.0 FROM n;
"""

RELATIONSHIP_GQL = (
    "{ artists(limit: 20, where: {id: {_gte: __N__}}) { name "
    "albums_by_artist_id_aggregate(where: {year: {_gte: 2000}}) { aggregate { count } } } }"
)
RELATIONSHIP_SQL = (
    "SELECT a.name, (SELECT count(*) FROM albums b WHERE b.artist_id = a.id AND b.year >= 2000) AS count "
    "FROM artists a WHERE a.id >= __N__ ORDER BY a.id LIMIT 20"
)
GROUPED_GQL = (
    "{ albums_group_by(by: [genre], where: {artist_id: {_gte: __N__, _lt: __M__}}) "
    "{ keys { genre } aggregate { count avg { price } max { year } } } }"
)
GROUPED_SQL = (
    "SELECT genre, count(*) AS count, avg(price) AS avg_price, max(year) AS max_year FROM albums "
    "WHERE artist_id >= __N__ AND artist_id < __M__ GROUP BY genre ORDER BY genre"
)


def check_answers(http: httpx2.Client, db_id: str, auth: dict[str, str]) -> None:
    """Both forms give the same numbers (n = 500), so the figures compare like with like."""

    def gql(query: str) -> Any:
        answer = http.post(f"/dbs/{db_id}/graphql", headers=auth, json={"query": query.replace("__N__", "500")})
        assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
        return answer.json()["data"]

    def sql(query: str) -> list[dict[str, Any]]:
        text = query.replace("__N__", "500").replace("__M__", "600")
        answer = http.post(f"/dbs/{db_id}/sql", headers=auth, json={"query": text})
        assert answer.status_code == 200, answer.text
        return answer.json()["rows"]

    artists = gql(RELATIONSHIP_GQL)["artists"]
    assert [(a["name"], a["albums_by_artist_id_aggregate"]["aggregate"]["count"]) for a in artists] == [
        (r["name"], r["count"]) for r in sql(RELATIONSHIP_SQL)
    ]
    groups = gql(GROUPED_GQL.replace("__M__", "600"))["albums_group_by"]
    assert [(g["keys"]["genre"], g["aggregate"]["count"], g["aggregate"]["max"]["year"]) for g in groups] == [
        (r["genre"], r["count"], r["max_year"]) for r in sql(GROUPED_SQL)
    ]


def aggregate_workloads(
    http: httpx2.Client,
    base: str,
    auth: dict[str, str],
    *,
    runs: int,
    seconds: int,
    wrk: Callable[..., dict[str, float]],
    in_turns: Callable[[int, dict[str, Callable[[], dict[str, float]]]], dict[str, dict[str, float]]],
    fmt: Callable[[dict[str, float]], str],
) -> list[tuple[str, str, str, str]]:
    created = http.post("/api/dbs", headers=auth, json={"name": "aggregates", "query": SCHEMA})
    assert created.status_code == 201, created.text
    db_id = created.json()["id"]
    check_answers(http, db_id, auth)
    headers = {**auth, "Content-Type": "application/json"}
    span = (1, ARTISTS - 120)
    rows: list[tuple[str, str, str, str]] = []

    def load(route: str, text: str) -> Callable[[], dict[str, float]]:
        body = json.dumps({"query": text})
        url = f"{base}/dbs/{db_id}/{route}"
        return lambda: wrk(url, connections=16, seconds=seconds, method="POST", body=body, headers=headers, vary=span)

    for label, gql, sql in [
        ("2a. GraphQL 20 parents with a filtered child count", RELATIONSHIP_GQL, RELATIONSHIP_SQL),
        ("2b. GraphQL grouped aggregate (12 groups of 1,000 rows)", GROUPED_GQL, GROUPED_SQL),
    ]:
        turns = in_turns(runs, {"graphql": load("graphql", gql), "sql": load("sql", sql)})
        ours, hand = turns["graphql"], turns["sql"]
        rows.append(
            (
                f"{label}, c=16",
                fmt(ours),
                f"the same by hand through /sql {fmt(hand)}",
                f"{ours['rps'] / hand['rps']:.0%} of /sql (target 80%)",
            )
        )
    return rows
