// Cell editing and row deletion on the table page (used by static/table_editing.js).
"use strict";

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
