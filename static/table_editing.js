// Editing on the table page, for a caller who may write a table: cells, row deletion, column deletion. It adds to
// the table page's decorators (static/app.js); static/cell_editing.js has the cell editor and the row's Delete,
// static/row_forms.js the Add row and Add column forms. The page's #editing-schema (templates/pages/table_editing.html)
// says each column's type, default and key, and whether the schema is locked.
"use strict";

// What the editing scripts know of the table: { columns: [{ name, type, notNull, default, primaryKey, rowidAlias,
// generated }], withoutRowid, primaryKey, schemaLocked, rows, storageTypes, otherTypes }.
const editingSchema = (() => {
  const el = document.getElementById("editing-schema");
  return el ? JSON.parse(el.dataset.schema) : { columns: [], primaryKey: [], withoutRowid: false, schemaLocked: true, rows: 0 };
})();

// How a shown row is found again: by its rowid, or by all its primary-key columns in a WITHOUT ROWID table.
// { where: SQL with one ? per param, params, returning: SQL naming the key again after a change, moved(row,
// returned): the row's key after a change (editing a key column moves the row), label } — or null when the row
// cannot be found exactly (no key shown, a BLOB in the key, or a whole number too large to arrive exact).
// A whole number past 2^53 arrives rounded (JSON numbers are doubles here): it could name another row, so it is no key.
const exactKey = (v) => v !== undefined && v !== null && typeof v !== "object" && !(typeof v === "number" && Number.isInteger(v) && !Number.isSafeInteger(v));
function rowKey(row, rowid) {
  if (rowid) {
    if (!exactKey(row.__rowid)) return null;
    return {
      where: `${rowid} = ?`, params: [row.__rowid], returning: `${rowid} AS "__rowid"`, label: `row ${row.__rowid}`,
      moved: (returned) => { row.__rowid = returned.__rowid; },
    };
  }
  const key = editingSchema.withoutRowid ? editingSchema.primaryKey : [];
  if (!key.length || key.some((k) => !(k in row) || !exactKey(row[k]))) return null;
  return {
    where: key.map((k) => `${quote(k)} = ?`).join(" AND "),
    params: key.map((k) => row[k]),
    returning: key.map((k, i) => `${quote(k)} AS "__key${i}"`).join(", "),
    label: "row " + key.map((k) => `${k} ${JSON.stringify(row[k])}`).join(", "),
    moved: (returned) => key.forEach((k, i) => { row[k] = returned[`__key${i}`]; }),
  };
}

(() => {
  if (document.body.dataset.editable !== "yes") return;
  const db = document.body.dataset.db;
  const declaredTypes = Object.fromEntries(editingSchema.columns.map((c) => [c.name, { declared: c.type, notNull: c.notNull, generated: c.generated }]));
  const gone = "this row is no longer there (changed or deleted by someone else?): reload the page";
  const found = (row, rowid) => {
    const key = rowKey(row, rowid);
    if (!key) throw new Error("this row's key is too large to be found exactly here: change it on the SQL page");
    return key;
  };

  tablePage.cellDecorators.push((td, column, row, { table, rowid }) => {
    const key = rowKey(row, rowid), info = declaredTypes[column];
    if (!key || !info || info.generated) return;
    editableCell(td, { name: column, ...info }, row, async (typed) => {
      const current = found(row, rowid); // the key as it is now: an earlier edit may have moved the row
      const query = `UPDATE ${quote(table)} SET ${quote(column)} = ${typed.sql} WHERE ${current.where} RETURNING ${quote(column)} AS "value", ${current.returning}`;
      const saved = await api("POST", `${dbBase}/sql`, { query, params: [typed.value, ...current.params] });
      if (!saved.rows.length) throw new Error(gone);
      current.moved(saved.rows[0]);
      return saved.rows[0].value;
    });
  });

  tablePage.rowDecorators.push((tr, row, { table, rowid, reload }) => {
    const key = rowKey(row, rowid);
    if (!key) { if (rowid || editingSchema.withoutRowid) tr.append(document.createElement("td")); return; }
    tr.append(deletableRow(key.label.replace(/^row /, ""), async () => {
      const current = found(row, rowid);
      const deleted = await api("POST", `${dbBase}/sql`, { query: `DELETE FROM ${quote(table)} WHERE ${current.where} RETURNING ${current.returning}`, params: current.params });
      if (!deleted.rows.length) throw new Error(gone);
      reload();
    }));
  });

  // The header's cell above the rows' Delete buttons, added once per header row.
  tablePage.headerDecorators.push((th, name, { rowid }) => {
    const tr = th.parentElement;
    if (!tr || (!rowid && !editingSchema.withoutRowid) || tr.querySelector("th.row-actions")) return;
    const actions = document.createElement("th");
    actions.className = "row-actions"; actions.scope = "col";
    actions.setAttribute("aria-label", "Row actions"); // no heading text: the buttons below say what they do
    tr.append(actions);
  });

  // A column's ✕ asks first, in place, like a row's Delete: "Delete column x?" with Delete and Keep (the focus on
  // Keep, Escape keeps); a refusal is shown in the header cell and the column stays. A locked schema has no ✕.
  if (!editingSchema.schemaLocked) tablePage.headerDecorators.push((th, name, { table }) => {
    if (!declaredTypes[name]) return;
    const button = (text, label) => { const b = document.createElement("button"); b.type = "button"; b.className = "link"; b.textContent = text; b.setAttribute("aria-label", label); return b; };
    const drop = button("✕", `Delete column ${name}`), place = document.createElement("span"), reason = document.createElement("div");
    drop.title = `Delete column ${name}`; drop.classList.add("column-drop");
    reason.className = "cell-error"; reason.setAttribute("role", "alert");
    function idle() { place.replaceChildren(drop); if (reason.textContent) place.append(reason); }
    drop.addEventListener("click", () => {
      const question = document.createElement("span"), yes = button("Delete", `Yes, delete column ${name}`), keep = button("Keep", `Keep column ${name}`);
      question.className = "row-confirm"; question.textContent = `Delete column ${name} and its values? `;
      yes.classList.add("danger");
      question.append(yes, " ", keep);
      reason.textContent = "";
      place.replaceChildren(question);
      keep.focus();
      keep.addEventListener("click", () => { idle(); drop.focus(); });
      question.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); idle(); drop.focus(); } });
      yes.addEventListener("click", async () => {
        yes.disabled = keep.disabled = true;
        try { await api("DELETE", `/api/dbs/${db}/tables/${encodeURIComponent(table)}/columns/${encodeURIComponent(name)}`); location.reload(); }
        catch (e) { reason.textContent = `Not deleted: ${e.message}`; idle(); drop.focus(); }
      });
    });
    place.className = "column-actions";
    idle();
    th.append(place);
  });
})();
