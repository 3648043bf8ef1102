// The database page's behaviour (static/app.js has the helpers every page uses).
"use strict";

(() => {
  const click = (selector, action) => { const el = $(selector); if (el) el.addEventListener("click", () => action().catch((e) => flash(e.message))); };
  click("#duplicate", async () => { const copy = await api("POST", `/dbs/${db}/duplicate`); location.href = "/dbs/" + copy.id; });
  click("#vacuum", async () => { const r = await api("POST", `/api/dbs/${db}/vacuum`); flash(`Vacuumed: ${counted(r.size, "byte")}`); });
  click("#regenerate-readonly", async () => { await api("POST", `/dbs/${db}/regenerate-readonly-id`); location.reload(); });
  handle($("#settings-form"), async (data, form) => {
    await api("PATCH", `/api/dbs/${db}/settings`, { visibility: data.visibility, schemaLocked: form.schemaLocked.checked });
    await api("PATCH", `/api/dbs/${db}`, { description: data.description });
    flash("Settings saved");
  });
  handle($("#new-table-form"), async (data) => {
    await api("PUT", `/api/dbs/${db}/tables/${encodeURIComponent(data.name)}`, { columns: [{ name: "id", sqliteDataType: "INTEGER", isPrimaryKey: true }, { name: "name", sqliteDataType: "TEXT" }] });
    location.href = `/dbs/${db}/tables/${encodeURIComponent(data.name)}`;
  });
  handle($("#chart-form"), async (data) => {
    await api("POST", `/api/dbs/${db}/charts`, { title: data.title, table: data.table, chartType: data.chartType, headers: [data.label, data.value] });
    location.reload();
  });
  $$("[data-delete-chart]").forEach((b) => b.addEventListener("click", async () => { await api("DELETE", `/api/dbs/${db}/charts/${b.dataset.deleteChart}`); location.reload(); }));
})();
