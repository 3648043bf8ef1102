"""Issue 16, point 17: HTML pages carry a Content-Security-Policy (scripts and styles from this server
only, no framing), X-Frame-Options, nosniff and a Referrer-Policy; downloads stay attachments with
nosniff, under a policy that allows nothing. (tests/browser checks the pages still work under it.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airsequel.http.pages import asset_directory
from airsequel.http.security_headers import CONTENT_POLICY, PAGE_POLICY
from tests.helpers import create_db

ALWAYS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin"}


def assert_always(headers) -> None:
    for name, value in ALWAYS.items():
        assert headers[name] == value, name


@pytest.mark.parametrize("path", ["/login", "/signup", "/api/docs", "/", "/dbs/{db}", "/dbs/{db}/graphql"])
def test_pages_carry_the_page_policy(client, path):
    db = create_db(client, "CREATE TABLE t(a)")
    page = client.get(path.format(db=db))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == PAGE_POLICY
    assert "script-src 'self'" in PAGE_POLICY and "frame-ancestors 'none'" in PAGE_POLICY
    assert "unsafe-inline" not in PAGE_POLICY and "unsafe-eval" not in PAGE_POLICY
    assert_always(page.headers)


def test_json_downloads_and_refusals_carry_the_empty_policy(client):
    db = create_db(client, "CREATE TABLE t(a); INSERT INTO t VALUES (1)")
    for response in (
        client.get("/api/dbs"),
        client.get(f"/dbs/{db}/download"),
        client.get(f"/api/dbs/{db}/tables/t/export"),
        client.get("/api/dbs/nope"),
    ):
        assert response.headers["content-security-policy"] == CONTENT_POLICY, response.url
        assert_always(response.headers)
    download = client.get(f"/dbs/{db}/download")
    assert download.headers["content-disposition"].startswith("attachment;")
    client.patch("/api/settings", json={"allowedHosts": ["db.example.org", "testserver"]})
    refused = client.get("/api/status", headers={"Host": "evil.example"})
    assert refused.status_code == 403 and refused.headers["content-security-policy"] == CONTENT_POLICY


def test_a_route_s_own_policy_is_kept(client):
    db = create_db(client, "CREATE TABLE t(label TEXT, n INTEGER); INSERT INTO t VALUES ('a', 1)")
    chart = client.post(
        f"/api/dbs/{db}/charts", json={"chartType": "BarChart", "table": "t", "headers": ["label", "n"], "title": "x"}
    )
    assert chart.status_code in (200, 201), chart.text
    chart_id = chart.json().get("ulid") or chart.json().get("id")
    svg = client.get(f"/api/dbs/{db}/charts/{chart_id}/svg")
    assert svg.status_code == 200
    assert svg.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"


INLINE = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>|<style[\s>]|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def test_templates_have_no_inline_scripts_styles_or_handlers():
    found = [
        f"{path.name}: {match[0]}"
        for path in Path(asset_directory("templates")).rglob("*.html")
        for match in INLINE.finditer(path.read_text())
    ]
    assert found == []
