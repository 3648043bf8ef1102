// The table page's behaviour: reading and showing rows (static/app.js has the helpers every page uses).
// What is done to the rows once shown (editing, links) comes from the scripts that add to `tablePage`.
"use strict";

(() => {
  const table = document.body.dataset.table;
  // SQLite returns at most 2,000 columns: a table that wide has no room for its rowid beside `*`, so its rows are read-only here.
  const rowid = $$("#filter-column option").length < 2000 ? document.body.dataset.rowid : "";
  const sheet = $("#sheet"), error = $("#sheet-error");
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
      const result = await api("POST", `${dbBase}/sql`, { query: sql, params });
      const columns = result.rows.length ? Object.keys(result.rows[0]).filter((c) => c !== "__rowid") : $$("#filter-column option").map((o) => o.value);
      const context = { table, rowid, columns, result, reload: load, error };
      renderTable(sheet, columns, result.rows, (td, column, row) => tablePage.cellDecorators.forEach((f) => f(td, column, row, context)));
      $$("th", sheet).forEach((th) => {
        const name = th.textContent, button = document.createElement("button");
        button.className = "sort"; button.type = "button";
        button.textContent = name + (state.order === name ? (state.desc ? " ▼" : " ▲") : "");
        button.addEventListener("click", () => { state.desc = state.order === name ? !state.desc : false; state.order = name; load(); });
        th.replaceChildren(button);
        tablePage.headerDecorators.forEach((f) => f(th, name, context));
      });
      $$("tbody tr", sheet).forEach((tr, i) => tablePage.rowDecorators.forEach((f) => f(tr, result.rows[i], context)));
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
  tablePage.reload = load;
  load();
})();
