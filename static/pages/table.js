// The table page's behaviour: reading and showing rows, with filters, facets, sort and pages kept in the address
// (static/table_view.js builds the SQL; static/app.js has the helpers every page uses). What is done to the rows
// once shown (editing, links) comes from the scripts that add to `tablePage`.
"use strict";

(() => {
  const table = document.body.dataset.table;
  const columnList = $$("#sheet-columns [data-column]").map((el) => el.dataset.column);
  const types = Object.fromEntries($$("#sheet-columns [data-column]").map((el) => [el.dataset.column, el.dataset.type]));
  // SQLite returns at most 2,000 columns: a table that wide has no room for its rowid beside `*`, so its rows are read-only here.
  const rowid = columnList.length < 2000 ? document.body.dataset.rowid : "";
  const sheet = $("#sheet"), error = $("#sheet-error");
  let state = tableView.parse(location.search, columnList);
  let total = null, capped = false, countFailure = "", loading = 0;

  // --- the address ------------------------------------------------------------------------
  function go(change, { replace = false } = {}) {
    change(state);
    const query = tableView.serialize(state);
    const url = location.pathname + (query ? "?" + query : "");
    if (url !== location.pathname + location.search) history[replace ? "replaceState" : "pushState"](null, "", url);
    load();
  }
  window.addEventListener("popstate", () => { state = tableView.parse(location.search, columnList); showFilters(); load(); });

  // --- filters ----------------------------------------------------------------------------
  const rows = $("#filter-rows"), template = $(".filter-row", rows).cloneNode(true);
  template.querySelectorAll("[id]").forEach((el) => el.removeAttribute("id"));
  function setUpRow(row, filter) {
    const op = $(".filter-op", row), value = $(".filter-value", row);
    if (!op.options.length) Object.entries(tableView.OPERATORS).forEach(([key, o]) => op.append(new Option(o.label, key)));
    $(".filter-column", row).value = filter.column; op.value = filter.op; value.value = filter.value;
    value.hidden = Boolean(tableView.OPERATORS[filter.op].none);
    return row;
  }
  function showFilters() {
    const filters = state.filters.length ? state.filters : [{ column: columnList[0], op: "contains", value: "" }];
    const first = $(".filter-row", rows);
    first.querySelector(".filter-column").disabled = !columnList.length;
    $$(".filter-row", rows).slice(1).forEach((r) => r.remove());
    setUpRow(first, filters[0]);
    filters.slice(1).forEach((f) => rows.append(setUpRow(template.cloneNode(true), f)));
  }
  function filtersShown() {
    return $$(".filter-row", rows).map((r) => {
      const op = $(".filter-op", r).value;
      return { column: $(".filter-column", r).value, op, value: tableView.OPERATORS[op].none ? "" : $(".filter-value", r).value };
    });
  }
  let typing;
  function applyFilters(replace) {
    clearTimeout(typing);
    const shown = filtersShown().filter(tableView.complete);
    if (JSON.stringify(shown) === JSON.stringify(state.filters)) return;
    go((s) => { s.filters = shown; s.page = 1; }, { replace });
  }
  rows.addEventListener("input", (e) => {
    if (!e.target.classList.contains("filter-value")) return;
    clearTimeout(typing); typing = setTimeout(() => applyFilters(false), 300);
  });
  rows.addEventListener("change", (e) => {
    const row = e.target.closest(".filter-row");
    if (e.target.classList.contains("filter-op")) $(".filter-value", row).hidden = Boolean(tableView.OPERATORS[e.target.value].none);
    if (!e.target.classList.contains("filter-value")) applyFilters(false);
  });
  rows.addEventListener("click", (e) => {
    if (!e.target.classList.contains("filter-remove")) return;
    const all = $$(".filter-row", rows), index = all.indexOf(e.target.closest(".filter-row"));
    const kept = filtersShown().filter((f, i) => i !== index);
    // Shown again from what is kept: the first line (the one with the ids) stays the first.
    if (all.length > 1) { all.slice(1).forEach((r) => r.remove()); kept.forEach((f, i) => (i ? rows.append(setUpRow(template.cloneNode(true), f)) : setUpRow(all[0], f))); }
    else $(".filter-value", all[0]).value = "";
    applyFilters(false);
    $(".filter-column", rows).focus();
  });
  $("#filters").addEventListener("submit", (e) => { e.preventDefault(); applyFilters(false); });
  $("#add-filter").addEventListener("click", () => {
    const row = setUpRow(template.cloneNode(true), { column: columnList[0], op: "contains", value: "" });
    rows.append(row); $(".filter-column", row).focus();
  });
  $("#clear-filters").addEventListener("click", () => { go((s) => { s.filters = []; s.page = 1; }); showFilters(); });
  function addFilter(filter) {
    if (state.filters.some((f) => JSON.stringify(f) === JSON.stringify(filter))) return;
    go((s) => { s.filters = [...s.filters, filter]; s.page = 1; });
    showFilters();
  }

  // --- pages --------------------------------------------------------------------------------
  const pages = () => (total === null || capped ? null : Math.max(1, Math.ceil(total / state.size)));
  $("#page-size").addEventListener("change", (e) => {
    const first = (state.page - 1) * state.size; // keep the first row shown on the page shown
    go((s) => { s.size = Number(e.target.value); s.page = Math.floor(first / s.size) + 1; });
  });
  $("#first").addEventListener("click", () => go((s) => { s.page = 1; }));
  $("#prev").addEventListener("click", () => go((s) => { s.page = Math.max(1, s.page - 1); }));
  $("#next").addEventListener("click", () => go((s) => { s.page += 1; }));
  $("#last").addEventListener("click", () => { if (pages()) go((s) => { s.page = pages(); }); });
  function showPager(shown) {
    const count = pages(), from = (state.page - 1) * state.size + 1, to = from + shown - 1;
    const where = count ? ` · page ${thousands(state.page)} of ${thousands(count)}` : ` · page ${thousands(state.page)}`;
    $("#page-label").textContent = shown === 0 ? (state.page > 1 ? `No rows on page ${thousands(state.page)}` : state.filters.length ? "No rows match" : "No rows")
      : (shown === 1 ? `row ${thousands(from)}` : `rows ${thousands(from)}–${thousands(to)}`) + where;
    $("#first").disabled = $("#prev").disabled = state.page <= 1;
    $("#next").disabled = count ? state.page >= count : shown < state.size;
    $("#last").disabled = !count || state.page >= count;
    const n = total === null ? null : capped ? `more than ${thousands(tableView.COUNT_CAP)}` : total;
    $("#row-count").textContent = n === null ? `Rows not counted: ${countFailure || "no answer"}` : state.filters.length
      ? (capped ? `${n} matching rows` : counted(n, "matching row")) : counted(n, "row");
  }

  // --- long values ----------------------------------------------------------------------------
  const dialog = $("#cell-dialog");
  const asText = (value) => (value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value));
  // After the rows are laid out: a cell whose value does not fit its one line (or has several) is "long"; one that
  // cannot be edited opens its whole value in a dialog on a click or Enter (an editable cell's editor shows it whole).
  function markLong(candidates) {
    const wrapped = sheet.classList.contains("wrapped");
    sheet.classList.remove("wrapped");
    const long = candidates.filter(({ td, text }) => text.includes("\n") || td.scrollWidth > td.clientWidth);
    sheet.classList.toggle("wrapped", wrapped);
    long.forEach(({ td, column, text }) => {
      td.classList.add("long");
      if (td.classList.contains("editable")) return;
      td.title = text.length > 2000 ? text.slice(0, 2000) + "…" : text;
      td.tabIndex = 0;
      const open = (e) => {
        if (e.target.closest("a, button")) return; // a link or control inside the cell does its own thing
        $("#cell-dialog-title").textContent = column; $("#cell-dialog-value").textContent = text; dialog.showModal();
      };
      td.addEventListener("click", open);
      td.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); open(e); } });
    });
  }
  $("#wrap-cells").addEventListener("change", (e) => sheet.classList.toggle("wrapped", e.target.checked));

  // --- rows -----------------------------------------------------------------------------------
  async function load() {
    const mine = ++loading;
    error.textContent = "";
    $("#page-size").value = String(state.size);
    if (state.unknown.length) error.textContent = `This table has no column ${state.unknown.map((c) => `“${c}”`).join(", ")}: left out of the view.`;
    const filter = tableView.where(state.filters, types);
    const from = `FROM ${quote(table)}${filter.sql}`;
    const select = `SELECT ${rowid ? rowid + " AS __rowid, " : ""}* ${from}${tableView.orderBy(state, rowid)} LIMIT ${state.size} OFFSET ${(state.page - 1) * state.size}`;
    const countQuery = state.filters.length
      ? `SELECT count(*) AS n FROM (SELECT 1 ${from} LIMIT ${tableView.COUNT_CAP + 1})` : `SELECT count(*) AS n FROM ${quote(table)}`;
    countFailure = "";
    const counting = api("POST", `${dbBase}/sql`, { query: countQuery, params: filter.params }).catch((e) => { countFailure = e.message; return null; });
    try {
      const result = await api("POST", `${dbBase}/sql`, { query: select, params: filter.params });
      const counts = await counting;
      if (mine !== loading) return; // a newer view was asked for meanwhile
      total = counts ? counts.rows[0].n : null;
      capped = total !== null && total > tableView.COUNT_CAP;
      if (!result.rows.length && total && pages() && state.page > pages()) { go((s) => { s.page = pages(); }, { replace: true }); return; }
      // The answer's own column order (a row's keys put a name like "2024" first), without the rowid it added.
      const columns = result.columns && result.columns.length ? result.columns.slice(rowid ? 1 : 0) : columnList;
      const context = { table, rowid, columns, result, reload: load, error };
      const candidates = [];
      renderTable(sheet, columns, result.rows, (td, column, row) => {
        tablePage.cellDecorators.forEach((f) => f(td, column, row, context));
        const text = asText(row[column]);
        if (text.length > 20 || text.includes("\n")) candidates.push({ td, column, text });
      });
      $$("th", sheet).forEach((th) => {
        const name = th.textContent, button = document.createElement("button");
        button.className = "sort"; button.type = "button";
        button.textContent = name + (state.sort === name ? (state.desc ? " ▼" : " ▲") : "");
        button.title = `Sort by ${name}`;
        if (state.sort === name) th.setAttribute("aria-sort", state.desc ? "descending" : "ascending");
        button.addEventListener("click", () => go((s) => { s.desc = s.sort === name ? !s.desc : false; s.sort = name; s.page = 1; }));
        th.replaceChildren(button);
        tablePage.headerDecorators.forEach((f) => f(th, name, context));
      });
      $$("tbody tr", sheet).forEach((tr, i) => tablePage.rowDecorators.forEach((f) => f(tr, result.rows[i], context)));
      markLong(candidates);
      showPager(result.rows.length);
    } catch (e) { if (mine === loading) error.textContent = e.message; }
    if (mine === loading) tablePage.facets(state, filter, total);
  }

  // --- downloads: the whole view (every page), in pages of the SQL endpoint's size ---------------
  const DOWNLOAD_CAP = 100_000, CHUNK = 10_000;
  async function download(format) {
    const status = $("#download-status"), buttons = [$("#download-csv"), $("#download-json")];
    const filter = tableView.where(state.filters, types), order = tableView.orderBy(state, rowid);
    const all = [];
    let columns = columnList, cut = false;
    buttons.forEach((b) => { b.disabled = true; });
    try {
      for (;;) {
        status.textContent = `Preparing ${format.toUpperCase()}: ${counted(all.length, "row")}…`;
        const want = Math.min(CHUNK, DOWNLOAD_CAP - all.length);
        const query = `SELECT * FROM ${quote(table)}${filter.sql}${order} LIMIT ${want} OFFSET ${all.length}`;
        const part = await api("POST", `${dbBase}/sql`, { query, params: filter.params });
        if (part.columns && part.columns.length) columns = part.columns;
        all.push(...part.rows);
        if (!part.rows.length || (part.rows.length < want && !part.truncated)) break;
        if (all.length >= DOWNLOAD_CAP) { cut = true; break; }
      }
      const text = format === "csv" ? tableView.csv(columns, all) : JSON.stringify(all, null, 1);
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text], { type: format === "csv" ? "text/csv" : "application/json" }));
      link.download = `${table}.${format}`;
      document.body.append(link); link.click(); link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      status.textContent = `Downloaded ${counted(all.length, "row")} as ${format.toUpperCase()}` +
        (cut ? ` (the first ${thousands(DOWNLOAD_CAP)}: a download from this page stops there)` : "");
      if (cut && document.body.dataset.db) { // the server's own export streams a whole table of any size
        const whole = document.createElement("a");
        whole.href = `/api/dbs/${document.body.dataset.db}/tables/${encodeURIComponent(table)}/export`;
        whole.textContent = "the whole table as CSV";
        status.append(" · ", whole);
      }
    } catch (e) { status.textContent = `Download failed: ${e.message}`; }
    finally { buttons.forEach((b) => { b.disabled = false; }); }
  }
  $("#download-csv").addEventListener("click", () => download("csv"));
  $("#download-json").addEventListener("click", () => download("json"));

  tablePage.reload = load;
  function removeFilter(filter) {
    go((s) => { s.filters = s.filters.filter((f) => JSON.stringify(f) !== JSON.stringify(filter)); s.page = 1; });
    showFilters();
  }
  tablePage.view = { addFilter, removeFilter, setFacets: (columns) => go((s) => { s.facets = columns; }) };
  tablePage.facets = tablePage.facets || (() => {});
  showFilters();
  load();
})();
