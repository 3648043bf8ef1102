// The database page's behaviour (static/app.js has the helpers every page uses, static/manage.js askInPlace).
"use strict";

(() => {
  const dbName = document.body.dataset.dbName;
  const click = (selector, action) => { const el = $(selector); if (el) el.addEventListener("click", () => action(el).catch((e) => flash(e.message))); };
  click("#duplicate", async () => { const copy = await api("POST", `/dbs/${db}/duplicate`); location.href = "/dbs/" + copy.id; });
  click("#vacuum", async () => { const r = await api("POST", `/api/dbs/${db}/vacuum`); flash(`Vacuumed: ${counted(r.size, "byte")}`); });
  const regenerate = $("#regenerate-readonly");
  if (regenerate) regenerate.addEventListener("click", () => {
    const newLink = async () => { await api("POST", `/dbs/${db}/regenerate-readonly-id`); location.reload(); };
    if (!$("#readonly-link")) { newLink().catch((e) => flash(e.message)); return; } // no link yet: nothing stops working
    // The words of the confirmation page of GET /dbs/<id>/regenerate-readonly-id.
    askInPlace(regenerate, {
      question: `${dbName} gets a new read-only link: the old one stops working for everyone who has it.`,
      yes: "Make a new link", no: "Keep the link", onYes: newLink,
    });
  });
  handle($("#settings-form"), async (data, form) => {
    await api("PATCH", `/api/dbs/${db}/settings`, { visibility: data.visibility, schemaLocked: form.schemaLocked.checked });
    await api("PATCH", `/api/dbs/${db}`, { description: data.description });
    flash("Settings saved");
  });
  handle($("#new-table-form"), async (data) => {
    await api("PUT", `/api/dbs/${db}/tables/${encodeURIComponent(data.name)}`, { columns: [{ name: "id", sqliteDataType: "INTEGER", isPrimaryKey: true }, { name: "name", sqliteDataType: "TEXT" }] });
    location.href = `/dbs/${db}/tables/${encodeURIComponent(data.name)}`;
  });

  // --- the database's name, and deleting it ------------------------------------------------
  handle($("#rename-db-form"), async (data) => {
    const name = data.name.trim();
    if (!name) throw new Error("Give the database a name");
    await api("PATCH", `/api/dbs/${db}`, { name });
    location.reload();
  });
  const deleteDb = $("#delete-db");
  if (deleteDb) deleteDb.addEventListener("click", () => askInPlace(deleteDb, {
    question: `Delete ${dbName}? Its tables, rows, charts and read-only link go with it, for everyone: this cannot be undone.`,
    yes: `Delete ${dbName}`, no: "Keep it",
    onYes: async () => { await api("DELETE", `/api/dbs/${db}`); location.href = "/"; },
  }));

  // --- tables: rename in place, delete after asking -----------------------------------------
  const tableUrl = (name) => `/api/dbs/${db}/tables/${encodeURIComponent(name)}`;
  $$("#table-list [data-rename-table]").forEach((button) => button.addEventListener("click", () => {
    const item = button.closest("li"), name = item.dataset.table;
    if ($(".rename-form", item)) return;
    const form = document.createElement("form"), label = document.createElement("label"), input = document.createElement("input");
    const save = document.createElement("button"), cancel = document.createElement("button"), error = document.createElement("p");
    form.className = "rename-form"; label.textContent = `New name for ${name} `;
    input.name = "name"; input.required = true; input.value = name; label.append(input);
    save.type = "submit"; save.textContent = "Rename";
    cancel.type = "button"; cancel.className = "secondary"; cancel.textContent = "Cancel";
    error.className = "error"; error.setAttribute("role", "alert");
    form.append(label, save, cancel, error);
    item.append(form);
    input.select();
    const close = () => { form.remove(); button.focus(); };
    cancel.addEventListener("click", close);
    form.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); close(); } });
    handle(form, async (data) => {
      const wanted = data.name.trim();
      if (wanted === name) { close(); return; }
      await api("PATCH", tableUrl(name), { name: wanted });
      location.reload();
    });
  }));
  $$("#table-list [data-delete-table]").forEach((button) => button.addEventListener("click", () => {
    const item = button.closest("li"), name = item.dataset.table, view = item.dataset.tableType === "View";
    askInPlace(button.parentElement, {
      question: view ? `Delete the view ${name}? Its rows stay in their tables.`
        : `Delete the table ${name} and all its rows? This cannot be undone.`,
      yes: `Delete ${name}`, no: "Keep it",
      onYes: async () => { await api("DELETE", tableUrl(name)); location.reload(); },
    });
  }));

  // --- charts: columns chosen from the chosen table's, checked before sending ---------------
  const chartForm = $("#chart-form");
  if (chartForm) {
    const table = chartForm.table, label = chartForm.label, value = chartForm.value, aggregate = chartForm.aggregate;
    const columns = () => JSON.parse(table.selectedOptions[0].dataset.columns || "[]");
    const fill = (select, list, empty) => {
      const keep = select.value;
      select.replaceChildren(...(empty ? [new Option(empty, "")] : []), ...list.map((c) => {
        const option = new Option(`${c.name}${c.type ? " (" + c.type + ")" : ""}`, c.name);
        return option;
      }));
      if (list.some((c) => c.name === keep)) select.value = keep;
      return list.some((c) => c.name === keep);
    };
    const refresh = () => {
      const all = columns(), summing = aggregate.value === "sum" || aggregate.value === "avg";
      fill(label, all);
      // sum and avg take numeric columns only; count may count rows (no column). A new choice of table
      // starts on its first numeric column as the values (its first column as the labels).
      const kept = fill(value, summing ? all.filter((c) => c.summable) : all, aggregate.value === "count" ? "(rows)" : null);
      const numeric = all.find((c) => c.summable && c.name !== label.value);
      if (!kept && aggregate.value !== "count" && numeric) value.value = numeric.name;
      value.required = aggregate.value !== "count";
    };
    table.addEventListener("change", refresh);
    aggregate.addEventListener("change", refresh);
    refresh();
    handle(chartForm, async (data) => {
      if (!data.label) throw new Error(`The table ${data.table} has no columns to chart`);
      if (!data.value && data.aggregate !== "count") {
        throw new Error(data.aggregate ? `${data.aggregate} needs a numeric values column: ${data.table} has none` : "Choose a values column");
      }
      const headers = data.value ? [data.label, data.value] : [data.label];
      const body = { title: data.title, table: data.table, chartType: data.chartType, headers, hideNullValues: chartForm.hideNullValues.checked };
      if (data.aggregate) body.aggregate = data.aggregate;
      await api("POST", `/api/dbs/${db}/charts`, body);
      location.reload();
    });
  }
  $$("[data-delete-chart]").forEach((b) => b.addEventListener("click", () => askInPlace(b, {
    question: "Delete this chart? Its data stays in the table.", yes: "Delete chart", no: "Keep it",
    onYes: async () => { await api("DELETE", `/api/dbs/${db}/charts/${b.dataset.deleteChart}`); location.reload(); },
  })));
})();
