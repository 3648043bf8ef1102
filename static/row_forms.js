// The table page's Add row and Add column forms (templates/pages/table_editing.html), for a caller who may write
// the table. Values are typed by their column as the cell editor types them (typedValue, storedHint in
// static/cell_editing.js); the table's columns come from #editing-schema (editingSchema, static/table_editing.js).
"use strict";

(() => {
  if (document.body.dataset.editable !== "yes") return;
  const db = document.body.dataset.db, table = document.body.dataset.table;

  // A dialog closes on Cancel and on Escape (the browser's own), and opens with its first field focused.
  function dialogFor(id) {
    const dialog = document.getElementById(id);
    if (!dialog) return null;
    $(".edit-cancel", dialog).addEventListener("click", () => dialog.close());
    return dialog;
  }
  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // --- Add row ---------------------------------------------------------------------------------------------
  // Each column gets a value, NULL, or (when SQLite has something to put there) is left out: its line says what
  // will be stored. The row is inserted by one INSERT: a refusal inserts nothing and its reason stays in the form.
  const rowDialog = dialogFor("row-dialog");
  const leftOut = (c) => (c.rowidAlias ? "left out: SQLite gives it the next rowid"
    : c.default !== null ? `left out: SQLite stores its default, ${c.default}`
    : !c.notNull ? "left out: stores NULL (no default)" : null);
  function describe(c) {
    const parts = [c.type || "untyped"];
    if (c.primaryKey) parts.push(editingSchema.primaryKey.length > 1 ? "part of the primary key" : "primary key");
    if (c.notNull) parts.push("NOT NULL");
    if (c.default !== null) parts.push(`default ${c.default}`);
    return parts.join(" · ");
  }

  function rowField(c, index) {
    const field = element("div", "row-field"), id = `row-field-${index}`;
    const label = element("label", null, c.name), about = element("span", "muted field-type", describe(c));
    // A text area of one line: Enter inserts the row, Shift+Enter starts a new line in the value.
    const input = element("textarea"), mode = element("select", "field-mode"), hint = element("div", "field-hint muted");
    label.htmlFor = id; input.id = id; input.rows = 1; input.autocomplete = "off";
    input.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); input.form.requestSubmit(); } });
    mode.setAttribute("aria-label", `How ${c.name} is set`);
    hint.setAttribute("aria-live", "polite");
    const omitted = leftOut(c);
    if (omitted) mode.append(new Option("leave out", "default"));
    mode.append(new Option("value", "value"), new Option("NULL", "null"));
    mode.value = omitted ? "default" : "value";
    input.placeholder = omitted ? "left out" : "a value is needed";
    const state = () => {
      if (mode.value === "default") return { omit: true };
      const typed = typedValue(c.type, mode.value === "null" ? null : input.value);
      return { typed };
    };
    function update() {
      const s = state();
      field.classList.toggle("left-out", Boolean(s.omit));
      hint.textContent = s.omit ? omitted : storedHint(c.type, s.typed, c.notNull);
    }
    input.addEventListener("input", () => { mode.value = "value"; update(); });
    mode.addEventListener("change", () => { if (mode.value === "value") input.focus(); update(); });
    field.append(label, about, input, mode, hint);
    update();
    return { field, input, column: c, state };
  }

  function openRowForm() {
    const form = $("#row-form"), error = $(".error", form);
    const fields = editingSchema.columns.filter((c) => !c.generated).map(rowField);
    $("#row-fields").replaceChildren(...fields.map((f) => f.field));
    error.textContent = "";
    rowDialog.showModal();
    const first = fields.find((f) => f.state().omit !== true) || fields[0];
    if (first) first.input.focus();
    form.onsubmit = async (event) => {
      event.preventDefault();
      error.textContent = "";
      const names = [], values = [], params = [];
      for (const f of fields) {
        const s = f.state();
        if (s.omit) continue;
        names.push(quote(f.column.name)); values.push(s.typed.sql); params.push(s.typed.value);
      }
      const rowid = document.body.dataset.rowid, returning = rowid && !editingSchema.withoutRowid ? `${rowid} AS "__rowid", *` : "*";
      const query = names.length
        ? `INSERT INTO ${quote(table)} (${names.join(", ")}) VALUES (${values.join(", ")}) RETURNING ${returning}`
        : `INSERT INTO ${quote(table)} DEFAULT VALUES RETURNING ${returning}`;
      const submit = $("button[type=submit]", form);
      submit.disabled = true;
      try {
        const inserted = await api("POST", `${dbBase}/sql`, { query, params });
        rowDialog.close();
        showAdded(inserted.rows[0] || {});
        tablePage.reload();
      } catch (e) { error.textContent = `Not inserted: ${e.message}`; }
      finally { submit.disabled = false; }
    };
  }

  // The new row, shown above the table (it may sort onto another page): every column as stored.
  function showAdded(row) {
    let panel = $("#row-added");
    if (!panel) {
      panel = element("section", "row-added"); panel.id = "row-added"; panel.setAttribute("aria-live", "polite");
      const sheet = $("#sheet");
      const anchor = sheet.closest("div") || sheet;
      anchor.before(panel);
    }
    const columns = Object.keys(row).filter((c) => c !== "__rowid");
    const heading = element("p", null, row.__rowid !== undefined ? `Row added (rowid ${row.__rowid}):` : "Row added:");
    const grid = element("table", "data");
    grid.append(element("thead"), element("tbody"));
    renderTable(grid, columns, [row]);
    const close = element("button", "link", "Dismiss"); close.type = "button";
    close.addEventListener("click", () => panel.remove());
    heading.append(" ", close);
    panel.replaceChildren(heading, grid);
    flash(row.__rowid !== undefined ? `Row ${row.__rowid} added` : "Row added");
  }

  const addRow = $("#add-row");
  if (addRow && rowDialog) addRow.addEventListener("click", openRowForm);

  // --- Add column ------------------------------------------------------------------------------------------
  // A name, one of the types the server accepts, a default (typed by the chosen type), NOT NULL (which needs a
  // default when the table has rows) and UNIQUE. The page reloads with the new column; a refusal stays in the form.
  const columnDialog = dialogFor("column-dialog");
  const addColumn = $("#add-column");
  if (addColumn && columnDialog) {
    const form = $("#column-form"), error = $(".error", form);
    const name = $("#column-name"), type = $("#column-type"), fallback = $("#column-default");
    const notNull = $("#column-not-null"), unique = $("#column-unique"), hint = $("#column-default-hint");
    function defaultValue() {
      if (fallback.value === "") return undefined;
      const typed = typedValue(type.value, fallback.value);
      if (typed.kind === "REAL" || (typed.kind === "INTEGER" && Number.isSafeInteger(Number(typed.value)))) return Number(typed.value);
      return fallback.value; // text, or a whole number past 2^53 (SQLite's affinity makes it a number in a numeric column)
    }
    function update() {
      const rows = editingSchema.rows;
      if (fallback.value === "") {
        hint.textContent = notNull.checked && rows > 0
          ? `NOT NULL needs a default for the table's ${counted(rows, "existing row")}`
          : `no default: new rows get NULL unless given a value${rows > 0 ? `; the ${counted(rows, "existing row")} get NULL` : ""}`;
      } else {
        const typed = typedValue(type.value, fallback.value);
        hint.textContent = `default: ${typed.kind === "TEXT" ? `TEXT '${typed.value.replace(/'/g, "''")}'` : `${typed.kind} ${typed.shown}`}`;
      }
    }
    [type, fallback, notNull].forEach((el) => el.addEventListener(el === fallback ? "input" : "change", () => { error.textContent = ""; update(); }));
    addColumn.addEventListener("click", () => {
      form.reset(); error.textContent = ""; update();
      columnDialog.showModal(); name.focus();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      if (!name.value.trim()) { error.textContent = "The column needs a name"; name.focus(); return; }
      if (notNull.checked && fallback.value === "" && editingSchema.rows > 0) {
        error.textContent = `A NOT NULL column needs a default: the table has ${counted(editingSchema.rows, "row")} already`;
        fallback.focus(); return;
      }
      const body = { sqliteDataType: type.value, isNonNull: notNull.checked, isUnique: unique.checked };
      const value = defaultValue();
      if (value !== undefined) body.default = value;
      const submit = $("button[type=submit]", form);
      submit.disabled = true;
      try {
        await api("PUT", `/api/dbs/${db}/tables/${encodeURIComponent(table)}/columns/${encodeURIComponent(name.value)}`, body);
        location.reload();
      } catch (e) { error.textContent = `Not added: ${e.message}`; submit.disabled = false; }
    });
  }
})();
