// The table page's view: filters, sort, page and page size, kept in the address (so a view can be bookmarked,
// shared, and Back works), and the SQL that shows it. Every value is a bound parameter; names are quoted.
// Address: ?contains:city=Tok&gt:population=1000&null:notes=&sort=name&desc=1&page=3&size=100&facet=country
// (a filter is `<operator>:<column>=<value>`; no other key has a colon).
"use strict";

const tableView = (() => {
  const SIZES = [25, 50, 100, 500], DEFAULT_SIZE = 50;
  // The filtered count counts at most this many rows, so that a filter on a huge table answers fast.
  const COUNT_CAP = 1_000_000;
  const OPERATORS = {
    eq: { label: "=", sql: (c, p) => `${c} = ${p}` },
    ne: { label: "≠", sql: (c, p) => `${c} IS NOT ${p}` }, // a NULL cell is "not equal" too
    lt: { label: "<", sql: (c, p) => `${c} < ${p}` },
    le: { label: "≤", sql: (c, p) => `${c} <= ${p}` },
    gt: { label: ">", sql: (c, p) => `${c} > ${p}` },
    ge: { label: "≥", sql: (c, p) => `${c} >= ${p}` },
    contains: { label: "contains", like: (v) => `%${v}%` },
    starts: { label: "starts with", like: (v) => `${v}%` },
    null: { label: "is null", none: "IS NULL" },
    notnull: { label: "is not null", none: "IS NOT NULL" },
  };
  const INTEGER = /^[+-]?\d+$/, NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

  function textual(declared) {
    const t = String(declared || "").toUpperCase();
    return !t.includes("INT") && (t.includes("CHAR") || t.includes("CLOB") || t.includes("TEXT"));
  }
  // A compared value: a number typed against a column that is not TEXT is compared as a number (exact for
  // 64-bit integers: SQLite casts the text), anything else as the text typed.
  function bound(declared, text) {
    const trimmed = text.trim();
    if (!textual(declared) && INTEGER.test(trimmed)) return { sql: "CAST(? AS INTEGER)", value: trimmed };
    if (!textual(declared) && NUMBER.test(trimmed) && Number.isFinite(Number(trimmed))) return { sql: "CAST(? AS REAL)", value: trimmed };
    return { sql: "?", value: text };
  }
  const likeEscaped = (text) => text.replace(/[\\%_]/g, (c) => "\\" + c);

  // A filter that does something: an operator without a value (is null), or one with a value typed.
  function complete(filter) { return Object.hasOwn(OPERATORS, filter.op) && (OPERATORS[filter.op].none || filter.value !== ""); }

  // ` WHERE …` and its parameters for `filters` ({column, op, value}); `types` maps a column to its declared type.
  function where(filters, types) {
    const parts = [], params = [];
    for (const f of filters.filter(complete)) {
      const op = OPERATORS[f.op], column = quote(f.column);
      if (op.none) parts.push(`${column} ${op.none}`);
      else if (op.like) { parts.push(`${column} LIKE ? ESCAPE '\\'`); params.push(op.like(likeEscaped(f.value))); }
      else { const b = bound(types[f.column], f.value); parts.push(op.sql(column, b.sql)); params.push(b.value); }
    }
    return { sql: parts.length ? ` WHERE ${parts.join(" AND ")}` : "", params };
  }

  // ` ORDER BY …`: the sorted column, then the rowid (when there is one) so that pages never overlap.
  function orderBy(state, rowid) {
    if (!state.sort) return "";
    const direction = state.desc ? "DESC" : "ASC";
    return ` ORDER BY ${quote(state.sort)} ${direction}${rowid ? `, ${rowid} ${direction}` : ""}`;
  }

  // The state in `search` (location.search), keeping only columns in `names`; `unknown` lists what was dropped.
  function parse(search, names) {
    const state = { filters: [], sort: null, desc: false, page: 1, size: DEFAULT_SIZE, facets: null, unknown: [] };
    const known = new Set(names);
    for (const [key, value] of new URLSearchParams(search)) {
      const colon = key.indexOf(":");
      if (colon > 0 && Object.hasOwn(OPERATORS, key.slice(0, colon))) {
        const column = key.slice(colon + 1);
        const op = key.slice(0, colon), filter = { column, op, value: OPERATORS[op].none ? "" : value };
        if (!known.has(column)) state.unknown.push(column); else if (complete(filter)) state.filters.push(filter);
      } else if (key === "sort") {
        if (known.has(value)) state.sort = value; else state.unknown.push(value);
      } else if (key === "desc") state.desc = value === "1";
      else if (key === "page") state.page = Math.max(1, parseInt(value, 10) || 1);
      else if (key === "size") state.size = SIZES.includes(Number(value)) ? Number(value) : DEFAULT_SIZE;
      else if (key === "facet") {
        state.facets = state.facets || [];
        if (known.has(value) && !state.facets.includes(value)) state.facets.push(value);
      }
    }
    return state;
  }

  // The query string of `state` (without "?"; empty for the plain first page).
  function serialize(state) {
    const params = new URLSearchParams();
    state.filters.filter(complete).forEach((f) => params.append(`${f.op}:${f.column}`, OPERATORS[f.op].none ? "" : f.value));
    if (state.sort) { params.set("sort", state.sort); if (state.desc) params.set("desc", "1"); }
    if (state.page > 1) params.set("page", String(state.page));
    if (state.size !== DEFAULT_SIZE) params.set("size", String(state.size));
    if (state.facets) (state.facets.length ? state.facets : [""]).forEach((c) => params.append("facet", c));
    return params.toString();
  }

  // --- downloads: rows as the server's table export writes them (CSV: CRLF lines, NULL empty, BLOBs base64) ---
  function csvField(value) {
    if (value === null || value === undefined) return "";
    const text = typeof value === "object" ? (value.$base64 !== undefined ? value.$base64 : JSON.stringify(value)) : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }
  function csv(columns, rows) {
    const lines = [columns.map(csvField).join(",")];
    rows.forEach((row) => lines.push(columns.map((c) => csvField(row[c])).join(",")));
    return lines.join("\r\n") + "\r\n";
  }

  return { SIZES, DEFAULT_SIZE, COUNT_CAP, OPERATORS, complete, where, orderBy, parse, serialize, csv };
})();
