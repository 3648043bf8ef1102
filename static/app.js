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

// counted(1, "row") is "1 row", counted(12345, "row") "12,345 rows"; counted(n, "entry", "entries").
function counted(n, singular, plural) { return `${thousands(n)} ${n === 1 ? singular : plural || singular + "s"}`; }
function thousands(n) { return typeof n === "number" ? n.toLocaleString("en-US") : String(n); }

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
// Where the page's database answers: /dbs/<id>, or /readonly/<id> on a page opened by a read-only link.
const dbBase = document.body.dataset.dbBase || (db ? `/dbs/${db}` : "");

// The table page's extension points: page scripts loaded before static/pages/table.js add to these, and the
// table page calls them each time it shows rows. cell(td, column, row, context), row(tr, row, context),
// header(th, column, context); `context` has table, rowid, columns, result, reload() and error (the page's
// error line).
const tablePage = { cellDecorators: [], rowDecorators: [], headerDecorators: [] };

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
