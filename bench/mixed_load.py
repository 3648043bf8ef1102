"""Workload 6 (and its 2-worker twin in 7): 16 connections, 80% reads / 20% writes over 16 databases.

The load comes from wrk with a Lua script, not from Python threads in the bench process: those shared the GIL and
the two cores with the servers, so the figure measured the client. Every request goes through `POST /dbs/<id>/sql`
to one of the 16 databases, chosen at random, and every request is different:
- a read (80%): `SELECT count(*) AS c FROM w WHERE id > N`, N random in [0, 1000];
- a write (20%): `INSERT INTO w(client, n) VALUES (T, K) RETURNING client, n`, T the wrk thread's number and K its
  own counter, so no two writes insert the same pair.

The script counts in Lua, per wrk thread: an answer of status 200 with `"errors":[]` and `"numChanges":1` is an
acknowledged write, and its (client, n) pair, read back from the RETURNING row, is kept; any other status, a body
with errors, and wrk's socket errors (connect, read, write, timeout) are errors. done() gathers the threads'
counts and pairs (setup(thread) / thread:get) and prints them. Afterwards every database's rows are read back:
lost = acknowledged pairs not stored (must be 0); stored may exceed acknowledged only by writes in flight when wrk
stopped (committed, their answer never read), reported as "in flight".
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

import httpx2

DATABASES = 16
CONNECTIONS = 16
WRITE_SHARE = 0.2

SCRIPT = r"""
local databases = %(databases)s
local write_share = %(write_share)s
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = %(authorization)s

local threads = {}
local numbered = 0
function setup(thread)
  thread:set("id", numbered)
  numbered = numbered + 1
  table.insert(threads, thread)
end

-- per thread (each has its own Lua state; thread:get reads these globals)
counter = 0
acknowledged = 0
errors = 0
first_error = ""
acks = {}

function init(args)
  math.randomseed(id * 7919 + os.time())
end

function request()
  local db = databases[math.random(#databases)]
  local body
  if math.random() < write_share then
    counter = counter + 1
    body = string.format(
      '{"query": "INSERT INTO w(client, n) VALUES (%%d, %%d) RETURNING client, n"}', id, counter)
  else
    body = string.format('{"query": "SELECT count(*) AS c FROM w WHERE id > %%d"}', math.random(0, 1000))
  end
  return wrk.format(nil, "/dbs/" .. db .. "/sql", nil, body)
end

local function failed(status, body)
  errors = errors + 1
  if first_error == "" then first_error = status .. " " .. string.sub(body or "", 1, 300) end
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"errors":[]', 1, true) then
    failed(status, body)
  elseif string.find(body, '"numChanges":1', 1, true) then
    local client, n = string.match(body, '"client":(%%d+),"n":(%%d+)')
    if client == nil then
      failed(status, body)
    else
      acknowledged = acknowledged + 1
      acks[#acks + 1] = client .. " " .. n
    end
  end
end

function done(summary, latency, requests)
  local acknowledged_all, errors_all = 0, 0
  local socket = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  for _, thread in ipairs(threads) do
    acknowledged_all = acknowledged_all + thread:get("acknowledged")
    errors_all = errors_all + thread:get("errors")
    local sample = thread:get("first_error")
    if sample ~= "" then io.write("FIRST_ERROR ", sample, "\n") end
    for _, pair in ipairs(thread:get("acks")) do io.write("ACK ", pair, "\n") end
  end
  io.write(string.format("RESULT %%f %%f %%f %%d %%d %%d %%d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, acknowledged_all, errors_all,
    socket))
end
"""


def mixed_load(
    base: str, auth: dict[str, str], seconds: int, label: str = "6. mixed 80/20, c=16 (wrk)"
) -> tuple[str, str, str, str]:
    """The workload's row: (name, req/s and p99, errors and writes acknowledged / stored, verdict)."""
    http = httpx2.Client(base_url=base, timeout=60, headers=auth)
    databases = [
        http.post(
            "/api/dbs",
            json={"name": f"mixed {i}", "query": "CREATE TABLE w(id INTEGER PRIMARY KEY, client INTEGER, n INTEGER)"},
        ).json()["id"]
        for i in range(DATABASES)
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            SCRIPT
            % {
                "databases": "{" + ", ".join(json.dumps(db) for db in databases) + "}",
                "write_share": WRITE_SHARE,
                "authorization": json.dumps(auth["Authorization"]),
            }
        )
    try:
        out = subprocess.run(
            ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--latency", "-s", script.name, base + "/"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    lines = out.splitlines()
    rps, _p50, p99, _total, acknowledged, errors, socket = next(
        line for line in lines if line.startswith("RESULT")
    ).split()[1:]
    acked = {tuple(map(int, line.split()[1:])) for line in lines if line.startswith("ACK ")}
    samples = [line[len("FIRST_ERROR ") :] for line in lines if line.startswith("FIRST_ERROR ")]
    if len(acked) != int(acknowledged):
        raise RuntimeError(f"{acknowledged} writes acknowledged but {len(acked)} distinct pairs read back")
    stored = set()
    for db in databases:
        stored |= stored_pairs(http, db)
    lost = len(acked - stored)
    in_flight = len(stored - acked)
    all_errors = int(errors) + int(socket)
    if samples:
        print("mixed load, first error of each wrk thread:", *samples, sep="\n  ", flush=True)
    return (
        label,
        f"{float(rps):,.0f} req/s, p99 {float(p99):.1f} ms",
        f"errors {all_errors} (socket {socket}); writes acknowledged {len(acked)}, stored {len(stored)}"
        f" (lost {lost}, in flight {in_flight})",
        "zero errors, zero lost" if not all_errors and not lost else "FAILED",
    )


def stored_pairs(http: httpx2.Client, db: str) -> set[tuple[int, int]]:
    """Every (client, n) row of the database's table `w`, read in pages under the server's row cap."""
    pairs: set[tuple[int, int]] = set()
    page, offset = 5000, 0
    while True:
        answer = http.post(
            f"/dbs/{db}/sql", json={"query": f"SELECT client, n FROM w ORDER BY id LIMIT {page} OFFSET {offset}"}
        ).json()
        if answer["errors"]:
            raise RuntimeError(f"reading back {db}: {answer['errors']}")
        pairs |= {(row["client"], row["n"]) for row in answer["rows"]}
        if len(answer["rows"]) < page:
            return pairs
        offset += page
