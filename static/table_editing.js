// Editing on the table page, for a caller who may write a table: cells, row deletion, columns, new rows.
// It adds to the table page's decorators (static/app.js); static/cell_editing.js has the cell editor.
"use strict";

(() => {
  if (document.body.dataset.editable !== "yes") return;
  const db = document.body.dataset.db;
  const declaredTypes = Object.fromEntries($$("#sheet-columns [data-column]").map((el) => [el.dataset.column, { declared: el.dataset.type, notNull: el.dataset.notNull === "yes" }]));

  tablePage.cellDecorators.push((td, column, row, { table, rowid }) => {
    if (!rowid) return;
    editableCell(td, { name: column, ...(declaredTypes[column] || { declared: "", notNull: false }) }, row, async (typed) => {
      const query = `UPDATE ${quote(table)} SET ${quote(column)} = ${typed.sql} WHERE ${rowid} = ? RETURNING ${quote(column)} AS "value", ${rowid} AS "rowid"`;
      const saved = await api("POST", `${dbBase}/sql`, { query, params: [typed.value, row.__rowid] });
      if (!saved.rows.length) throw new Error("this row is no longer there (deleted by someone else?): reload the page");
      row.__rowid = saved.rows[0].rowid; // editing an INTEGER PRIMARY KEY moves the row
      return saved.rows[0].value;
    });
  });

  tablePage.headerDecorators.push((th, name, { table, error }) => {
    const drop = document.createElement("button");
    drop.type = "button"; drop.className = "link"; drop.textContent = " ✕"; drop.title = "Delete column " + name;
    drop.setAttribute("aria-label", "Delete column " + name);
    drop.addEventListener("click", async () => {
      if (!confirm(`Delete column ${name}?`)) return;
      try { await api("DELETE", `/api/dbs/${db}/tables/${encodeURIComponent(table)}/columns/${encodeURIComponent(name)}`); location.reload(); }
      catch (e) { error.textContent = e.message; }
    });
    th.append(drop);
  });

  tablePage.rowDecorators.push((tr, row, { table, rowid, reload }) => {
    if (!rowid) return;
    tr.append(deletableRow(row.__rowid, async () => {
      const deleted = await api("POST", `${dbBase}/sql`, { query: `DELETE FROM ${quote(table)} WHERE ${rowid} = ? RETURNING ${rowid} AS "rowid"`, params: [row.__rowid] });
      if (!deleted.rows.length) throw new Error("this row is no longer there (deleted by someone else?): reload the page");
      reload();
    }));
  });

  const table = document.body.dataset.table, error = $("#sheet-error");
  const addRow = $("#add-row");
  if (addRow) addRow.addEventListener("click", async () => {
    try { await api("POST", `${dbBase}/sql`, { query: `INSERT INTO ${quote(table)} DEFAULT VALUES` }); tablePage.reload(); } catch (e) { error.textContent = e.message; }
  });
  const addColumn = $("#add-column");
  if (addColumn) addColumn.addEventListener("click", async () => {
    const name = prompt("Name of the new column");
    if (!name) return;
    const type = prompt("Type (TEXT, INTEGER, REAL, BLOB)", "TEXT") || "TEXT";
    try { await api("PUT", `/api/dbs/${db}/tables/${encodeURIComponent(table)}/columns/${encodeURIComponent(name)}`, { sqliteDataType: type }); location.reload(); }
    catch (e) { error.textContent = e.message; }
  });
})();
