// Facets on the table page: the most common values of a few columns in the current view, with their counts;
// a click adds that value's filter. The columns are the ones chosen (?facet=) or, by default, the first few
// with few distinct values. Every count is over a LIMITed sample of the view, so a huge table stays fast.
"use strict";

(() => {
  const SAMPLE = 10_000, SUGGEST_SAMPLE = 1_000, SUGGEST_COLUMNS = 40, SUGGESTED = 3, MAX_DISTINCT = 20, TOP = 10;
  const table = document.body.dataset.table;
  const candidates = $$("#sheet-columns [data-column]").filter((el) => !/BLOB/i.test(el.dataset.type)).map((el) => el.dataset.column);
  let suggested = null, shown = [], run = 0;

  // The first columns of a sample whose values repeat: 2 to MAX_DISTINCT distinct values, each seen twice on average.
  async function suggest(from, params) {
    const columns = candidates.slice(0, SUGGEST_COLUMNS);
    if (!columns.length) return [];
    const counts = columns.map((c, i) => `count(DISTINCT ${quote(c)}) AS "${i}"`).join(", ");
    const query = `SELECT count(*) AS n, ${counts} FROM (SELECT ${columns.map(quote).join(", ")} ${from} LIMIT ${SUGGEST_SAMPLE})`;
    const row = (await api("POST", `${dbBase}/sql`, { query, params })).rows[0];
    return columns.filter((c, i) => row[i] >= 2 && row[i] <= MAX_DISTINCT && row[i] * 2 <= row.n).slice(0, SUGGESTED);
  }

  function valueText(value) { return value === null ? "NULL" : typeof value === "object" ? "BLOB" : String(value); }

  function render(box, results, sampled, filters) {
    box.replaceChildren(...results.map(({ column, rows, failure }) => {
      const facet = document.createElement("section"), heading = document.createElement("h3"), hide = document.createElement("button");
      facet.className = "facet"; facet.dataset.column = column;
      heading.textContent = column;
      if (sampled) { const note = document.createElement("small"); note.className = "muted"; note.textContent = ` in the first ${thousands(SAMPLE)} rows`; heading.append(note); }
      hide.type = "button"; hide.className = "link facet-hide"; hide.textContent = "✕";
      hide.title = `Hide the facet of ${column}`;
      hide.setAttribute("aria-label", hide.title);
      hide.addEventListener("click", () => tablePage.view.setFacets(shown.filter((c) => c !== column)));
      heading.append(" ", hide);
      const list = document.createElement("ul");
      if (failure) { const li = document.createElement("li"); li.className = "error"; li.textContent = failure; list.append(li); }
      (rows || []).slice(0, TOP).forEach(({ v, n }) => {
        const li = document.createElement("li"), count = document.createElement("span");
        const value = document.createElement(v !== null && typeof v === "object" ? "span" : "button");
        value.textContent = valueText(v);
        if (value.tagName === "BUTTON") {
          value.type = "button"; value.className = "link facet-value"; value.title = `Show only rows where ${column} is ${valueText(v)}`;
          const filter = v === null ? { column, op: "null", value: "" } : { column, op: "eq", value: String(v) };
          const on = filters.some((f) => f.column === filter.column && f.op === filter.op && f.value === filter.value);
          value.setAttribute("aria-pressed", String(on)); // a second click takes the filter off
          if (on) value.title = `Show rows with any ${column} again`;
          value.addEventListener("click", () => (on ? tablePage.view.removeFilter(filter) : tablePage.view.addFilter(filter)));
        }
        if (v === null) value.classList.add("null");
        count.className = "muted facet-count"; count.textContent = thousands(n);
        li.append(value, " ", count); list.append(li);
      });
      if (rows && rows.length > TOP) { const li = document.createElement("li"); li.className = "muted"; li.textContent = "and more…"; list.append(li); }
      if (rows && !rows.length) { const li = document.createElement("li"); li.className = "muted"; li.textContent = "No rows"; list.append(li); }
      facet.append(heading, list);
      return facet;
    }));
  }

  // Called by the table page each time it shows rows: `filter` is its WHERE clause, `total` its row count (or null).
  tablePage.facets = async (state, filter, total) => {
    const mine = ++run, box = $("#facets");
    const from = `FROM ${quote(table)}${filter.sql}`;
    try {
      if (state.facets === null && suggested === null) suggested = await suggest(from, filter.params).catch(() => []);
      const columns = state.facets === null ? suggested : state.facets;
      const results = await Promise.all(columns.map((column) => {
        const query = `SELECT v, count(*) AS n FROM (SELECT ${quote(column)} AS v ${from} LIMIT ${SAMPLE}) GROUP BY v ORDER BY n DESC, v LIMIT ${TOP + 1}`;
        return api("POST", `${dbBase}/sql`, { query, params: filter.params })
          .then((r) => ({ column, rows: r.rows }), (e) => ({ column, failure: e.message }));
      }));
      if (mine !== run) return;
      shown = columns;
      render(box, results, total === null || total > SAMPLE, state.filters);
    } catch (e) { if (mine === run) box.textContent = e.message; }
  };

  const by = $("#facet-by");
  if (by) by.addEventListener("change", () => {
    if (by.value && !shown.includes(by.value)) tablePage.view.setFacets([...shown, by.value]);
    by.value = "";
  });
})();
