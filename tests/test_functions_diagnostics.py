"""Which imports keep a saved version from being type-checked (the check runs outside the sandbox, so it must
not be led to read the server's files): every specifier that names a local path, none that names a remote,
npm, JSR, node: or data: module, nor a built-in lib."""

from __future__ import annotations

from airsequel.core.functions.diagnostics import local_imports


def test_local_specifiers_are_found_in_every_form_of_import():
    code = """/// <reference lib="deno.ns" />
/// <reference path="../z.d.ts" />
/// <reference types="npm:@types/node" />
import a from "./x.ts";
import type { T } from '../../etc/types.ts';
export * from "/etc/y";
export { b } from "file:///etc/b.js";
const c = await import("data:text/javascript,export default 1");
const d = await import(`/etc/passwd`);
import "https://deno.land/std/version.ts";
import e from "npm:left-pad";
import f from "jsr:@std/path";
import g from "node:fs";
"""
    assert local_imports(code) == [
        "./x.ts",
        "../../etc/types.ts",
        "/etc/y",
        "file:///etc/b.js",
        "/etc/passwd",
        "../z.d.ts",
    ]


def test_code_without_imports_has_none():
    assert local_imports("export default (c) => ({ data: c.data })") == []
