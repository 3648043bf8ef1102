// The table page's links (loaded before static/pages/table.js): a foreign-key cell links to the row it references,
// with that row's label beside it where its table has an obvious one (a TEXT column named name, title, label...);
// each row gets a last cell linking to the row's own page; the heading links to the table's schema.
// The labels of a page of rows come from one bounded query (one UNION ALL over the keys), not one per cell.
"use strict";

(() => {
  const table = document.body.dataset.table;
  const rowPage = (name, query) => `${dbBase}/rows/${encodeURIComponent(name)}?${query}`;
  const style = document.createElement("link");
  style.rel = "stylesheet"; style.href = "/static/rows.css";
  document.head.append(style);
  const heading = $("main h1");
  if (heading) {
    const schema = document.createElement("a");
    schema.href = `${dbBase}/schema/${encodeURIComponent(table)}`;
    schema.className = "schema-link"; schema.id = "schema-link"; schema.textContent = "Schema";
    heading.append(" ", schema);
  }

  let links = null; // {foreignKeys, primaryKey} once known
  const known = api("GET", `${dbBase}/foreign-keys/${encodeURIComponent(table)}`).then((data) => { links = data; }).catch(() => { links = { foreignKeys: [], primaryKey: [] }; });
  let pending = [], pendingRows = []; // the cells and rows of the page shown, while the keys are not known yet
  let shownResult = null, labelled = []; // the rows shown now, and their label spans waiting for the labels

  const isKeyValue = (v) => v !== null && v !== undefined && typeof v !== "object";

  function decorate(td, column, row, context) {
    const key = links.foreignKeys.find((k) => k.columns.includes(column));
    if (!key) return;
    if (key.columns.every((c) => isKeyValue(row[c]))) foreignKeyLink(td, column, row, key);
    // An editable cell shows its value as text again once an edit ends (saved, refused or cancelled): link it again,
    // to the row its value now references, with that row's label (one query for the edited cell).
    if (td.classList.contains("editable")) new MutationObserver(() => {
      if (td.classList.contains("editing") || td.classList.contains("saving") || td.querySelector("a.foreign-key")) return;
      if (!key.columns.every((c) => isKeyValue(row[c]))) return;
      foreignKeyLink(td, column, row, key);
      const waiting = labelled; labelled = [];
      if (waiting.length) fetchLabels(waiting).catch(() => waiting.forEach((item) => item.label.remove()));
    }).observe(td, { childList: true });
  }

  // The value's text (the cell's first child, as show() writes it) becomes the link; anything after it stays.
  function foreignKeyLink(td, column, row, key) {
    const text = td.firstChild;
    if (!text || text.nodeType !== Node.TEXT_NODE) return;
    const target = Object.fromEntries(key.targetColumns.map((t, i) => [t, row[key.columns[i]]]));
    const a = document.createElement("a");
    a.className = "foreign-key";
    a.href = rowPage(key.table, "key=" + encodeURIComponent(JSON.stringify(target)));
    a.textContent = text.textContent;
    a.title = `The row of ${key.table} it references`;
    // A click or Enter on the link follows it: not an edit of the (editable) cell.
    a.addEventListener("click", (e) => e.stopPropagation());
    a.addEventListener("keydown", (e) => e.stopPropagation());
    text.replaceWith(a);
    if (key.labelColumn && key.columns.length === 1) {
      const label = document.createElement("span");
      label.className = "fk-label";
      a.after(label);
      labelled.push({ key, value: row[column], label });
    }
  }

  // A last cell with a link to the row's own page (by rowid, or by the primary key of a WITHOUT ROWID table).
  function rowQuery(row, context) {
    if (context.rowid && row.__rowid !== undefined && row.__rowid !== null) return "rowid=" + encodeURIComponent(row.__rowid);
    if (links.primaryKey.length && links.primaryKey.every((c) => isKeyValue(row[c]))) {
      return "key=" + encodeURIComponent(JSON.stringify(Object.fromEntries(links.primaryKey.map((c) => [c, row[c]]))));
    }
    return null;
  }
  function rowLink(tr, row, context) {
    const query = rowQuery(row, context);
    if (!query) return;
    const head = tr.closest("table").tHead.rows[0];
    if (head && !head.querySelector(".row-link-head")) {
      const th = document.createElement("th");
      th.className = "row-link-head"; th.setAttribute("aria-label", "Row page");
      head.append(th);
    }
    const td = document.createElement("td"), a = document.createElement("a");
    td.className = "row-link-cell";
    a.className = "row-link"; a.href = rowPage(table, query); a.textContent = "Row ›";
    // An edit of the key moves the row (table_editing.js updates `row`): the link follows it when it is used.
    const follow = () => { const now = rowQuery(row, context); if (now) a.href = rowPage(table, now); };
    ["mouseenter", "focus", "mousedown", "touchstart"].forEach((type) => a.addEventListener(type, follow));
    a.title = "Open this row's page: every column, and the rows that reference it";
    td.append(a);
    tr.append(td);
  }

  // One query for the labels of every foreign-key value on the page: at most one row per distinct value (the
  // referenced columns are a primary key or UNIQUE), so at most as many rows as the page has cells.
  async function fetchLabels(waiting) {
    const groups = new Map();
    for (const item of waiting) {
      const values = groups.get(item.key) || new Map();
      values.set(String(item.value), item.value);
      groups.set(item.key, values);
    }
    const parts = [], params = [];
    let bound = 0, index = 0;
    const keys = [...groups.keys()];
    for (const key of keys) {
      const values = [...groups.get(key).values()];
      parts.push(`SELECT ${index++} AS k, ${quote(key.targetColumns[0])} AS v, substr(${quote(key.labelColumn)}, 1, 200) AS l FROM ${quote(key.table)} WHERE ${quote(key.targetColumns[0])} IN (${values.map(() => "?").join(", ")})`);
      params.push(...values);
      bound += values.length;
    }
    if (!parts.length) return;
    const result = await api("POST", `${dbBase}/sql`, { query: parts.join(" UNION ALL ") + ` LIMIT ${bound}`, params });
    const found = new Map(result.rows.map((r) => [`${r.k}\u0000${String(r.v)}`, r.l]));
    for (const item of waiting) {
      const label = found.get(`${keys.indexOf(item.key)}\u0000${String(item.value)}`);
      if (label !== undefined && label !== null) item.label.textContent = String(label);
      else item.label.remove();
    }
  }

  tablePage.cellDecorators.push((td, column, row, context) => {
    if (context.result !== shownResult) { // a new page of rows
      shownResult = context.result; pending = []; pendingRows = []; labelled = [];
      const result = context.result;
      queueMicrotask(() => {
        if (result !== shownResult) return;
        const waiting = labelled; labelled = [];
        if (waiting.length) fetchLabels(waiting).catch(() => waiting.forEach((item) => item.label.remove()));
      });
    }
    if (links) decorate(td, column, row, context);
    else pending.push([td, column, row, context]);
  });

  tablePage.rowDecorators.push((tr, row, context) => {
    if (links) rowLink(tr, row, context);
    else pendingRows.push([tr, row, context]);
  });

  known.then(() => {
    const cells = pending, rows = pendingRows; pending = []; pendingRows = [];
    cells.forEach((args) => decorate(...args));
    rows.forEach((args) => rowLink(...args));
    const waiting = labelled; labelled = [];
    if (waiting.length) fetchLabels(waiting).catch(() => waiting.forEach((item) => item.label.remove()));
  });
})();
