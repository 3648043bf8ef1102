// The pages' behaviour: small, no build step. Every change goes through the JSON API.
"use strict";

async function api(method, url, body) {
  const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
  const response = await fetch(url, options);
  const text = await response.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { errors: [text] }; }
  // POST /sql answers an error of the SQL itself with 200 and `errors`: a failure all the same.
  if (!response.ok || (Array.isArray(data.errors) && data.errors.length)) {
    const messages = (data.errors || []).map((e) => (typeof e === "string" ? e : e.message));
    throw new Error(messages.join("; ") || `${response.status} ${response.statusText}`);
  }
  return data;
}

function $(selector, root) { return (root || document).querySelector(selector); }
function $$(selector, root) { return Array.from((root || document).querySelectorAll(selector)); }
function flash(message) { const el = $("#flash"); el.textContent = message; el.hidden = false; }
function quote(name) { return '"' + String(name).replace(/"/g, '""') + '"'; }
function formData(form) { return Object.fromEntries(new FormData(form).entries()); }

function handle(form, action) {
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $(".error", form);
    if (error) error.textContent = "";
    const button = $("button[type=submit]", form);
    if (button) button.disabled = true;
    try { await action(formData(form), form); }
    catch (e) { if (error) error.textContent = e.message; else flash(e.message); }
    finally { if (button) button.disabled = false; }
  });
}

function renderTable(table, columns, rows, cell) {
  const head = document.createElement("tr");
  columns.forEach((c) => { const th = document.createElement("th"); th.textContent = c; head.append(th); });
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    columns.forEach((c) => { const td = document.createElement("td"); show(td, row[c]); if (cell) cell(td, c, row); tr.append(td); });
    return tr;
  }));
}

function show(td, value) {
  td.classList.toggle("null", value === null);
  td.textContent = value === null ? "NULL" : (typeof value === "object" ? JSON.stringify(value) : String(value));
}

// --- every page -----------------------------------------------------------------------------
$$("[data-copy]").forEach((button) => button.addEventListener("click", async () => {
  const input = $(button.dataset.copy);
  input.select();
  try { await navigator.clipboard.writeText(input.value); } catch (e) { document.execCommand("copy"); }
  button.textContent = "Copied";
}));
const logout = $("#logout");
if (logout) logout.addEventListener("click", async () => { await api("POST", "/api/logout"); location.href = "/login"; });

const page = document.body.dataset.page;
const db = document.body.dataset.db;

// --- login / sign-up ------------------------------------------------------------------------
if (page === "login") {
  handle($("#auth-form"), async (data, form) => {
    if (form.dataset.signup === "yes") await api("POST", "/api/users", data);
    await api("POST", "/api/login", { username: data.username, password: data.password });
    location.href = "/";
  });
}
if (page === "reset") {
  handle($("#reset-form"), async (data, form) => {
    await api("POST", "/api/users/reset-password/submit", { resetKey: form.dataset.key, password: data.password });
    location.href = "/login";
  });
}

// --- home -----------------------------------------------------------------------------------
if (page === "home") {
  handle($("#create-form"), async (data) => {
    const body = { name: data.name, team: data.team };
    if (data.query.trim()) body.query = data.query;
    const created = await api("POST", "/api/dbs", body);
    location.href = "/dbs/" + created.id;
  });
  const drop = $("#drop"), input = $("input[type=file]", drop);
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => { input.files = e.dataTransfer.files; $("span", drop).textContent = input.files[0].name; });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  input.addEventListener("change", () => { if (input.files[0]) $("span", drop).textContent = input.files[0].name; });
  $("#upload-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target, error = $(".error", form), bar = $("#upload-progress"), percent = $("#upload-percent");
    error.textContent = "";
    const body = new FormData();
    body.append("file", input.files[0]);
    const request = new XMLHttpRequest();
    request.open("POST", "/dbs?team=" + encodeURIComponent(form.team.value));
    request.setRequestHeader("Accept", "application/json");
    bar.hidden = false; bar.value = 0;
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) { bar.value = Math.round((e.loaded / e.total) * 100); percent.textContent = bar.value + "%"; }
    });
    request.addEventListener("load", () => {
      let data = {};
      try { data = JSON.parse(request.responseText); } catch (e) { /* not JSON */ }
      if (request.status === 201) { bar.value = 100; percent.textContent = "100% — done"; location.href = "/dbs/" + data.id; }
      else { error.textContent = (data.errors || [request.statusText]).join("; "); }
    });
    request.addEventListener("error", () => { error.textContent = "The upload failed: network error"; });
    request.send(body);
  });
}

// --- database -------------------------------------------------------------------------------
if (page === "database") {
  const click = (selector, action) => { const el = $(selector); if (el) el.addEventListener("click", () => action().catch((e) => flash(e.message))); };
  click("#duplicate", async () => { const copy = await api("POST", `/dbs/${db}/duplicate`); location.href = "/dbs/" + copy.id; });
  click("#vacuum", async () => { const r = await api("POST", `/api/dbs/${db}/vacuum`); flash(`Vacuumed: ${r.size} bytes`); });
  click("#regenerate-readonly", async () => { await api("POST", `/dbs/${db}/regenerate-readonly-id`); location.reload(); });
  handle($("#settings-form"), async (data, form) => {
    await api("PATCH", `/api/dbs/${db}/settings`, { visibility: data.visibility, schemaLocked: form.schemaLocked.checked });
    await api("PATCH", `/api/dbs/${db}`, { description: data.description });
    flash("Settings saved");
  });
  handle($("#new-table-form"), async (data) => {
    await api("PUT", `/api/dbs/${db}/tables/${encodeURIComponent(data.name)}`, { columns: [{ name: "id", sqliteDataType: "INTEGER", isPrimaryKey: true }, { name: "name", sqliteDataType: "TEXT" }] });
    location.href = `/dbs/${db}/tables/${encodeURIComponent(data.name)}`;
  });
  handle($("#chart-form"), async (data) => {
    await api("POST", `/api/dbs/${db}/charts`, { title: data.title, table: data.table, chartType: data.chartType, headers: [data.label, data.value] });
    location.reload();
  });
  $$("[data-delete-chart]").forEach((b) => b.addEventListener("click", async () => { await api("DELETE", `/api/dbs/${db}/charts/${b.dataset.deleteChart}`); location.reload(); }));
}

// --- cell editing (table page) ----------------------------------------------------------------
// An edit is typed by the column's declared type, as SQLite's affinity rules read it: numbers go to numeric and
// untyped columns as numbers, text columns get text, and the editor says what will be stored before it is.
function affinity(declared) {
  const t = String(declared || "").toUpperCase();
  if (t.includes("INT")) return "INTEGER";
  if (t.includes("CHAR") || t.includes("CLOB") || t.includes("TEXT")) return "TEXT";
  if (t === "" || t.includes("BLOB")) return "NONE";
  if (t.includes("REAL") || t.includes("FLOA") || t.includes("DOUB")) return "REAL";
  return "NUMERIC";
}

const INTEGER_TEXT = /^[+-]?\d+$/, NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INT64_MIN = -(2n ** 63n), INT64_MAX = 2n ** 63n - 1n;

// What typing `text` (or choosing NULL: text === null) stores in a column of `declared` type:
// { sql: the expression bound to `value`, value, kind: the SQLite storage class, shown: the display text }.
function typedValue(declared, text) {
  const a = affinity(declared);
  if (text === null || (text === "" && a !== "TEXT")) return { sql: "?", value: null, kind: "NULL", shown: null };
  const trimmed = text.trim();
  if (a !== "TEXT" && INTEGER_TEXT.test(trimmed) && BigInt(trimmed) >= INT64_MIN && BigInt(trimmed) <= INT64_MAX) {
    // Bound as text and cast by SQLite: exact for every 64-bit integer (a JavaScript number is not past 2^53).
    const kind = a === "REAL" ? "REAL" : "INTEGER";
    return { sql: "CAST(? AS INTEGER)", value: trimmed, kind, shown: String(BigInt(trimmed)) + (kind === "REAL" ? ".0" : "") };
  }
  if (a !== "TEXT" && NUMBER_TEXT.test(trimmed) && Number.isFinite(Number(trimmed))) {
    const n = Number(trimmed), whole = Number.isInteger(n) && Math.abs(n) < 2 ** 53 && (a === "INTEGER" || a === "NUMERIC");
    return { sql: "CAST(? AS REAL)", value: trimmed, kind: whole ? "INTEGER" : "REAL", shown: whole ? String(n) : String(n) + (Number.isInteger(n) ? ".0" : "") };
  }
  return { sql: "?", value: text, kind: "TEXT", shown: text };
}

function storedHint(declared, typed, notNull) {
  const type = declared ? `${declared} column` : "untyped column";
  if (typed.kind === "NULL") return notNull ? `${type}: NULL, which it refuses (NOT NULL)` : `${type}: stores NULL`;
  if (typed.kind === "TEXT") {
    const warn = affinity(declared) === "INTEGER" || affinity(declared) === "REAL" ? " (not a number)" : ""; // NUMERIC holds dates too
    return typed.value === "" ? `${type}: stores empty TEXT ''` : `${type}: stores TEXT${warn}`;
  }
  return `${type}: stores ${typed.kind} ${typed.shown}`;
}

// Make `td` (showing row[column]) editable: click, Enter or F2 opens an editor; Enter saves, Shift+Enter is a new
// line, Escape cancels, leaving it saves only a changed value, NULL sets NULL. `save(typed)` runs the UPDATE and
// returns the value stored once the server has accepted it; a refusal puts the old value back with the server's reason beside it.
function editableCell(td, column, row, save) {
  const value = row[column.name];
  if (value !== null && typeof value === "object") { td.title = "A BLOB: not edited as text here"; return; }
  td.tabIndex = 0;
  td.classList.add("editable");
  td.title = `${column.declared || "untyped"} · click or Enter to edit`;
  td.addEventListener("click", () => open());
  td.addEventListener("keydown", (e) => { if (!td.classList.contains("editing") && (e.key === "Enter" || e.key === "F2")) { e.preventDefault(); open(); } });

  function open() {
    if (td.classList.contains("editing") || td.classList.contains("saving")) return;
    const old = row[column.name], oldText = old === null ? "" : String(old);
    const editor = document.createElement("div"), area = document.createElement("textarea");
    const nullButton = document.createElement("button"), hint = document.createElement("div");
    editor.className = "cell-editor";
    area.value = oldText; area.rows = Math.min(6, oldText.split("\n").length);
    area.setAttribute("aria-label", `Value of ${column.name}`);
    nullButton.type = "button"; nullButton.className = "cell-null"; nullButton.textContent = "NULL";
    nullButton.title = "Set this cell to NULL";
    hint.className = "cell-hint muted"; hint.setAttribute("aria-live", "polite");
    let chosenNull = false, done = false;
    const current = () => typedValue(column.declared, chosenNull ? null : area.value);
    const update = () => { hint.textContent = storedHint(column.declared, current(), column.notNull); };
    editor.append(area, nullButton, hint);
    td.classList.remove("null"); td.classList.add("editing");
    td.replaceChildren(editor);
    update(); area.focus(); area.select();
    $("#flash").hidden = true;

    function close(value) { done = true; td.classList.remove("editing"); show(td, value); }
    async function commit() {
      if (done) return;
      const typed = current();
      if (chosenNull ? old === null : area.value === oldText) { close(old); return; } // nothing changed: nothing sent
      close(typed.shown);
      td.classList.add("saving");
      try {
        const stored = await save(typed);
        row[column.name] = stored; show(td, stored);
        td.classList.add("saved"); setTimeout(() => td.classList.remove("saved"), 1500);
        flash(`Saved ${column.name}: ${typed.kind === "NULL" ? "NULL" : typed.kind + " " + typed.shown}`);
      } catch (e) {
        show(td, old);
        const reason = document.createElement("div");
        reason.className = "cell-error"; reason.setAttribute("role", "alert");
        reason.textContent = `Not saved: ${e.message}`;
        td.append(reason);
        $("#flash").hidden = true;
      } finally { td.classList.remove("saving"); }
    }
    area.addEventListener("input", () => { chosenNull = false; update(); });
    area.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Escape") { e.preventDefault(); close(old); td.focus(); }
      else if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); commit().then(() => td.focus()); }
    });
    nullButton.addEventListener("mousedown", (e) => e.preventDefault()); // keep the focus: a click is not a blur
    nullButton.addEventListener("click", (e) => { e.stopPropagation(); chosenNull = true; commit().then(() => td.focus()); });
    nullButton.addEventListener("keydown", (e) => { e.stopPropagation(); if (e.key === "Escape") { close(old); td.focus(); } });
    editor.addEventListener("click", (e) => e.stopPropagation());
    editor.addEventListener("focusout", (e) => { if (!editor.contains(e.relatedTarget)) commit(); });
  }
}

// A row's Delete button asks first, in place: "Delete this row?" with Delete and Keep (the focus on Keep, Escape
// keeps). `remove()` deletes it; a refusal is shown beside the button and the row stays.
function deletableRow(rowid, remove) {
  const td = document.createElement("td"), reason = document.createElement("div");
  td.className = "row-actions"; reason.className = "cell-error"; reason.setAttribute("role", "alert");
  const button = (text, label) => { const b = document.createElement("button"); b.type = "button"; b.className = "link"; b.textContent = text; b.setAttribute("aria-label", label); return b; };
  const del = button("Delete", `Delete row ${rowid}`);
  function idle() { td.replaceChildren(del); if (reason.textContent) td.append(reason); }
  del.addEventListener("click", () => {
    const question = document.createElement("span"), yes = button("Delete", `Yes, delete row ${rowid}`), keep = button("Keep", `Keep row ${rowid}`);
    question.className = "row-confirm"; question.textContent = "Delete this row? ";
    yes.classList.add("danger");
    question.append(yes, " ", keep);
    reason.textContent = "";
    td.replaceChildren(question);
    keep.focus();
    keep.addEventListener("click", () => { idle(); del.focus(); });
    question.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); idle(); del.focus(); } });
    yes.addEventListener("click", async () => {
      yes.disabled = keep.disabled = true;
      try { await remove(); }
      catch (e) { reason.textContent = `Not deleted: ${e.message}`; idle(); del.focus(); }
    });
  });
  idle();
  return td;
}

// --- table ----------------------------------------------------------------------------------
if (page === "table") {
  const table = document.body.dataset.table, editable = document.body.dataset.editable === "yes";
  // SQLite returns at most 2,000 columns: a table that wide has no room for its rowid beside `*`, so its rows are read-only here.
  const rowid = $$("#filter-column option").length < 2000 ? document.body.dataset.rowid : "";
  const sheet = $("#sheet"), error = $("#sheet-error");
  const declaredTypes = Object.fromEntries($$("#sheet-columns [data-column]").map((el) => [el.dataset.column, { declared: el.dataset.type, notNull: el.dataset.notNull === "yes" }]));
  const state = { offset: 0, order: null, desc: false, size: 50 };
  async function load() {
    error.textContent = "";
    const params = [];
    let sql = `SELECT ${rowid ? rowid + " AS __rowid, " : ""}* FROM ${quote(table)}`;
    const text = $("#filter-text").value;
    if (text) { sql += ` WHERE CAST(${quote($("#filter-column").value)} AS TEXT) LIKE ?`; params.push("%" + text + "%"); }
    if (state.order) sql += ` ORDER BY ${quote(state.order)} ${state.desc ? "DESC" : "ASC"}`;
    sql += ` LIMIT ${state.size} OFFSET ${state.offset}`;
    try {
      const result = await api("POST", `/dbs/${db}/sql`, { query: sql, params });
      const columns = result.rows.length ? Object.keys(result.rows[0]).filter((c) => c !== "__rowid") : $$("#filter-column option").map((o) => o.value);
      renderTable(sheet, columns, result.rows, (td, column, row) => {
        if (!editable || !rowid) return;
        editableCell(td, { name: column, ...(declaredTypes[column] || { declared: "", notNull: false }) }, row, async (typed) => {
          const query = `UPDATE ${quote(table)} SET ${quote(column)} = ${typed.sql} WHERE ${rowid} = ? RETURNING ${quote(column)} AS "value", ${rowid} AS "rowid"`;
          const saved = await api("POST", `/dbs/${db}/sql`, { query, params: [typed.value, row.__rowid] });
          if (!saved.rows.length) throw new Error("this row is no longer there (deleted by someone else?): reload the page");
          row.__rowid = saved.rows[0].rowid; // editing an INTEGER PRIMARY KEY moves the row
          return saved.rows[0].value;
        });
      });
      $$("th", sheet).forEach((th) => {
        const name = th.textContent, button = document.createElement("button");
        button.className = "sort"; button.type = "button";
        button.textContent = name + (state.order === name ? (state.desc ? " ▼" : " ▲") : "");
        button.addEventListener("click", () => { state.desc = state.order === name ? !state.desc : false; state.order = name; load(); });
        th.replaceChildren(button);
        if (editable) {
          const drop = document.createElement("button");
          drop.type = "button"; drop.className = "link"; drop.textContent = " ✕"; drop.title = "Delete column " + name;
          drop.setAttribute("aria-label", "Delete column " + name);
          drop.addEventListener("click", async () => {
            if (!confirm(`Delete column ${name}?`)) return;
            try { await api("DELETE", `/api/dbs/${db}/tables/${encodeURIComponent(table)}/columns/${encodeURIComponent(name)}`); location.reload(); }
            catch (e) { error.textContent = e.message; }
          });
          th.append(drop);
        }
      });
      if (editable && rowid) {
        $$("tbody tr", sheet).forEach((tr, i) => {
          const row = result.rows[i];
          tr.append(deletableRow(row.__rowid, async () => {
            const deleted = await api("POST", `/dbs/${db}/sql`, { query: `DELETE FROM ${quote(table)} WHERE ${rowid} = ? RETURNING ${rowid} AS "rowid"`, params: [row.__rowid] });
            if (!deleted.rows.length) throw new Error("this row is no longer there (deleted by someone else?): reload the page");
            load();
          }));
        });
      }
      $("#page-label").textContent = `rows ${state.offset + 1}–${state.offset + result.rows.length}`;
      $("#next").disabled = result.rows.length < state.size;
      $("#prev").disabled = state.offset === 0;
    } catch (e) { error.textContent = e.message; }
  }
  $("#next").addEventListener("click", () => { state.offset += state.size; load(); });
  $("#prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.size); load(); });
  let timer;
  $("#filter-text").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { state.offset = 0; load(); }, 250); });
  $("#filter-column").addEventListener("change", load);
  const addRow = $("#add-row");
  if (addRow) addRow.addEventListener("click", async () => {
    try { await api("POST", `/dbs/${db}/sql`, { query: `INSERT INTO ${quote(table)} DEFAULT VALUES` }); load(); } catch (e) { error.textContent = e.message; }
  });
  const addColumn = $("#add-column");
  if (addColumn) addColumn.addEventListener("click", async () => {
    const name = prompt("Name of the new column");
    if (!name) return;
    const type = prompt("Type (TEXT, INTEGER, REAL, BLOB)", "TEXT") || "TEXT";
    try { await api("PUT", `/api/dbs/${db}/tables/${encodeURIComponent(table)}/columns/${encodeURIComponent(name)}`, { sqliteDataType: type }); location.reload(); }
    catch (e) { error.textContent = e.message; }
  });
  load();
}

// --- SQL editor -----------------------------------------------------------------------------
if (page === "sql") {
  const form = $("#sql-form"), status = $("#sql-status"), error = $("#sql-error"), result = $("#sql-result");
  const earlier = $("#sql-earlier");
  // `columns` gives every column in order, a repeated name as its key in the rows (`id`, `id:1`).
  const columnsOf = (data) => data.columns || (data.rows.length ? Object.keys(data.rows[0]) : []);
  function showEarlier(statements) {
    // A script of several statements: the rows of the ones before the last that returns rows.
    const withRows = statements.map((s, i) => [s, i]).filter(([s]) => s.columns.length);
    const shown = withRows.slice(0, -1);
    earlier.replaceChildren(...shown.map(([s, i]) => {
      const section = document.createElement("section"), title = document.createElement("h2");
      title.textContent = `Statement ${i + 1} of ${statements.length}: ${s.rows.length} row(s)` + (s.truncated ? " · truncated" : "");
      const wrap = document.createElement("div"), table = document.createElement("table");
      wrap.className = "scroll"; table.className = "data";
      table.append(document.createElement("thead"), document.createElement("tbody"));
      renderTable(table, s.columns, s.rows);
      wrap.append(table); section.append(title, wrap);
      return section;
    }));
    earlier.hidden = shown.length === 0;
  }
  async function run() {
    error.textContent = ""; status.textContent = "Running…";
    try {
      const data = await api("POST", `/dbs/${db}/sql`, { query: form.query.value });
      renderTable(result, columnsOf(data), data.rows);
      showEarlier(data.statements || []);
      const count = (data.statements || []).length;
      status.textContent = `${data.rows.length} row(s) in ${(data.runtimeSeconds * 1000).toFixed(1)} ms` +
        (count > 1 ? ` · ${count} statements, the rows of the last one that returns rows` : "") +
        (data.affectedTables.length ? ` · changed: ${data.affectedTables.join(", ")} (${data.numChanges} rows)` : "") +
        (data.truncated ? " · truncated" : "");
    } catch (e) { status.textContent = ""; error.textContent = e.message; renderTable(result, [], []); showEarlier([]); }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  form.query.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } });
}

// --- team -----------------------------------------------------------------------------------
if (page === "team") {
  const team = document.body.dataset.team;
  handle($("#member-form"), async (data) => {
    await api("PATCH", `/api/teams/${encodeURIComponent(team)}/members/${encodeURIComponent(data.username)}`, { roles: [data.role] });
    location.reload();
  });
  $$("[data-remove-member]").forEach((b) => b.addEventListener("click", async () => {
    try { await api("DELETE", `/api/teams/${encodeURIComponent(team)}/members/${encodeURIComponent(b.dataset.removeMember)}`); location.reload(); }
    catch (e) { flash(e.message); }
  }));
  handle($("#token-form"), async (data, form) => {
    const permissions = Object.entries(data).filter(([k, v]) => k.startsWith("perm-") && v).map(([k, v]) => ({ db_id: k.slice(5), name: v }));
    const token = await api("POST", "/api/tokens", { name: data.name, team_name: team, permissions, expiration_utc: null, description: "" });
    $("#token-body").value = token.body;
    $("#token-secret").hidden = false;
    form.reset();
    const row = document.createElement("tr");
    row.innerHTML = "<td></td><td></td><td>never</td><td></td>";
    row.cells[0].textContent = token.name;
    row.cells[1].textContent = token.permissions.map((p) => `${p.db_name}: ${p.name}`).join(", ");
    const revoke = document.createElement("button");
    revoke.type = "button"; revoke.className = "link"; revoke.textContent = "Revoke"; revoke.dataset.revoke = token.id;
    revoke.addEventListener("click", () => revokeToken(revoke));
    row.cells[3].append(revoke);
    $("#tokens tbody").append(row);
  });
  async function revokeToken(button) {
    try { await api("DELETE", `/api/tokens/${button.dataset.revoke}`); button.closest("tr").remove(); flash("Token revoked"); }
    catch (e) { flash(e.message); }
  }
  $$("[data-revoke]").forEach((b) => b.addEventListener("click", () => revokeToken(b)));
}
