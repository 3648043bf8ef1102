// The SQL page's behaviour (static/app.js has the helpers every page uses; static/code_editor.js the editor).
// Every request goes to `dbBase`, so the page works the same under a read-only link (/readonly/<id>).
"use strict";

(() => {
  const form = $("#sql-form"), status = $("#sql-status"), error = $("#sql-error"), result = $("#sql-result");
  const earlier = $("#sql-earlier"), truncatedNote = $("#sql-truncated");
  const downloads = $("#sql-downloads"), downloadNote = $("#sql-download-note");
  const more = $("#sql-more"), moreStatus = $("#sql-more-status"), moreButton = $("#sql-more-button");
  const historyToggle = $("#sql-history-toggle"), historyBox = $("#sql-history"), historyList = $("#sql-history-list");
  const HISTORY_SIZE = 20, FIRST_ROWS = 200, MORE_ROWS = 500;
  const draftKey = `airsequel.sql.draft:${dbBase}`, historyKey = `airsequel.sql.history:${dbBase}`;
  const dbName = document.body.dataset.dbName || "query";

  // --- storage (a browser that refuses localStorage still runs queries) ------------------------
  const load = (key, fallback) => { try { const v = localStorage.getItem(key); return v === null ? fallback : JSON.parse(v); } catch (e) { return fallback; } };
  const store = (key, value) => { try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* full or refused */ } };

  // --- the editor: the draft of the last visit, autocomplete from the schema -----------------
  const textarea = $("#sql-query");
  const draft = load(draftKey, null);
  if (typeof draft === "string" && draft.trim()) textarea.value = draft;
  const pageSchema = document.body.dataset.schema ? JSON.parse(document.body.dataset.schema) : null;
  const editor = createCodeEditor(textarea, {
    language: "sql",
    schema: pageSchema || {},
    lineWrapping: true,
    onRun: () => run(),
    onChange: (text) => store(draftKey, text),
  });
  if (!pageSchema) loadSchema();
  window.sqlPage = { editor, run: () => run() }; // for static/ask_in_words.js: a proposal lands in the editor
  async function loadSchema() {
    // A page without the schema in its data (e.g. one another page builds): ask the database itself.
    try {
      const data = await api("POST", `${dbBase}/sql`, { query:
        "SELECT m.name AS t, p.name AS c FROM sqlite_schema AS m, pragma_table_info(m.name) AS p" +
        " WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY m.name, p.cid" });
      const schema = {};
      data.rows.forEach((r) => { (schema[r.t] = schema[r.t] || []).push(r.c); });
      editor.setSchema(schema);
    } catch (e) { /* autocomplete then knows SQL's keywords only */ }
  }

  // --- recent queries ----------------------------------------------------------------------
  function remember(query) {
    const list = load(historyKey, []).filter((q) => typeof q === "string" && q !== query);
    list.unshift(query);
    store(historyKey, list.slice(0, HISTORY_SIZE));
    showHistory();
  }
  function showHistory() {
    const list = load(historyKey, []);
    $("#sql-history-empty").hidden = list.length > 0;
    $("#sql-history-clear").hidden = list.length === 0;
    historyList.replaceChildren(...list.map((query) => {
      const li = document.createElement("li"), button = document.createElement("button");
      button.type = "button"; button.textContent = query.replace(/\s+/g, " ").trim(); button.title = query;
      button.addEventListener("click", () => { editor.setValue(query); editor.focus(); });
      li.append(button);
      return li;
    }));
  }
  historyToggle.addEventListener("click", () => {
    const open = historyBox.hidden;
    historyBox.hidden = !open;
    historyToggle.setAttribute("aria-expanded", String(open));
    if (open) showHistory();
  });
  $("#sql-history-clear").addEventListener("click", () => { store(historyKey, []); showHistory(); });

  // --- results: a page of rows at a time ---------------------------------------------------
  // `columns` gives every column in order, a repeated name as its key in the rows (`id`, `id:1`).
  const columnsOf = (data) => data.columns || (data.rows.length ? Object.keys(data.rows[0]) : []);
  let shown = { columns: [], rows: [], rendered: 0, truncated: false };
  function rowElement(columns, row) {
    const tr = document.createElement("tr");
    columns.forEach((c) => { const td = document.createElement("td"); show(td, row[c]); tr.append(td); });
    return tr;
  }
  function renderMore(count) {
    const { columns, rows } = shown;
    const next = rows.slice(shown.rendered, shown.rendered + count);
    const fragment = document.createDocumentFragment();
    next.forEach((row) => fragment.append(rowElement(columns, row)));
    result.tBodies[0].append(fragment);
    shown.rendered += next.length;
    const left = rows.length - shown.rendered;
    more.hidden = left <= 0;
    moreStatus.textContent = `Showing ${thousands(shown.rendered)} of ${counted(rows.length, "row")}.`;
    moreButton.textContent = `Show ${thousands(Math.min(MORE_ROWS, left))} more`;
  }
  // A repeated column name is keyed name:1, name:2 in the rows: its header shows the name the query gave it.
  function nameHeaders(table, columns) {
    $$("thead th", table).forEach((th, i) => {
      const repeated = /^(.*):(\d+)$/.exec(columns[i] || "");
      if (repeated && columns.slice(0, i).includes(repeated[1])) { th.textContent = repeated[1]; th.title = `${columns[i]} in the JSON rows`; }
    });
  }
  function showResult(columns, rows, truncated) {
    shown = { columns, rows, rendered: 0, truncated };
    renderTable(result, columns, []);
    nameHeaders(result, columns);
    renderMore(FIRST_ROWS);
    downloads.hidden = columns.length === 0;
    downloadNote.textContent = truncated ? `Only the ${counted(rows.length, "row")} the server returned (the result was cut).` : "";
  }
  moreButton.addEventListener("click", () => renderMore(MORE_ROWS));
  // Scrolling near the end of the rows shows the next page by itself.
  if ("IntersectionObserver" in window) {
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !more.hidden) renderMore(MORE_ROWS);
    }, { rootMargin: "400px" }).observe(more);
  }
  function explainTruncation(data) {
    const cut = [data, ...(data.statements || [])].find((s) => s.truncated);
    truncatedNote.hidden = !cut;
    if (!cut) return;
    const limit = thousands(cut.rows.length);
    truncatedNote.textContent =
      `The result was cut at ${limit} rows: the server sends at most ${limit} rows per statement (its row limit), ` +
      "and the query returned more. To see the rest, add a LIMIT and OFFSET (e.g. LIMIT 1000 OFFSET " +
      `${cut.rows.length}) to page through them, narrow it down with WHERE, or export the whole table from the database's page.`;
  }
  function showEarlier(statements) {
    // A script of several statements: the rows of the ones before the last that returns rows.
    const withRows = statements.map((s, i) => [s, i]).filter(([s]) => s.columns.length);
    const before = withRows.slice(0, -1);
    earlier.replaceChildren(...before.map(([s, i]) => {
      const section = document.createElement("section"), title = document.createElement("h2");
      title.textContent = `Statement ${i + 1} of ${statements.length}: ${counted(s.rows.length, "row")}` + (s.truncated ? " · cut at the row limit" : "");
      const wrap = document.createElement("div"), table = document.createElement("table");
      wrap.className = "scroll"; table.className = "data";
      table.append(document.createElement("thead"), document.createElement("tbody"));
      renderTable(table, s.columns, s.rows.slice(0, FIRST_ROWS));
      nameHeaders(table, s.columns);
      wrap.append(table); section.append(title, wrap);
      if (s.rows.length > FIRST_ROWS) {
        const note = document.createElement("p");
        note.className = "muted";
        note.textContent = `The first ${thousands(FIRST_ROWS)} of its ${counted(s.rows.length, "row")}: run it alone to see them all.`;
        section.append(note);
      }
      return section;
    }));
    earlier.hidden = before.length === 0;
  }

  // --- downloads of the rows shown ----------------------------------------------------------
  const cellText = (value) => (value === null || value === undefined ? "" : typeof value === "object"
    ? (value.$base64 !== undefined ? value.$base64 : JSON.stringify(value)) : String(value));
  const csvField = (text) => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  function toCsv(columns, rows) {
    const lines = [columns.map(csvField).join(",")];
    rows.forEach((row) => lines.push(columns.map((c) => csvField(cellText(row[c]))).join(",")));
    return lines.join("\r\n") + "\r\n";
  }
  function download(text, type, extension) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const link = document.createElement("a");
    link.href = url; link.download = `${dbName}-query.${extension}`;
    document.body.append(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  $("#sql-download-csv").addEventListener("click", () => download(toCsv(shown.columns, shown.rows), "text/csv", "csv"));
  $("#sql-download-json").addEventListener("click", () =>
    download(JSON.stringify(shown.rows, null, 1) + "\n", "application/json", "json"));

  // --- running ------------------------------------------------------------------------------
  let running = false;
  async function run() {
    const query = editor.getValue();
    if (running || !query.trim()) return;
    running = true;
    const button = $("#sql-run");
    button.disabled = true;
    error.textContent = ""; status.textContent = "Running…";
    remember(query);
    try {
      const data = await api("POST", `${dbBase}/sql`, { query });
      showResult(columnsOf(data), data.rows, Boolean(data.truncated));
      showEarlier(data.statements || []);
      explainTruncation(data);
      const count = (data.statements || []).length;
      status.textContent = `${counted(data.rows.length, "row")} in ${(data.runtimeSeconds * 1000).toFixed(1)} ms` +
        (count > 1 ? ` · ${count} statements, the rows of the last one that returns rows` : "") +
        (data.affectedTables.length ? ` · changed: ${data.affectedTables.join(", ")} (${counted(data.numChanges, "row")})` : "") +
        (data.truncated ? " · cut at the row limit" : "");
    } catch (e) {
      status.textContent = ""; error.textContent = e.message;
      showResult([], [], false); showEarlier([]); truncatedNote.hidden = true;
    } finally { running = false; button.disabled = false; }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
})();
