// The sql page's behaviour (static/app.js has the helpers every page uses).
"use strict";

(() => {
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
      const data = await api("POST", `${dbBase}/sql`, { query: form.query.value });
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
})();
