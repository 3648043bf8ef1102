// The functions page: lists the database's functions, edits one (a new version at each save, with Deno's
// diagnostics), puts an earlier version back in force, runs it through /fns/<id> and shows its last calls.
// static/app.js has the helpers (api, $, flash, counted); static/code_editor.js the editor. Every text from the
// server goes in through textContent: nothing is parsed as HTML.
"use strict";

(() => {
  if (document.body.dataset.mayManage !== "yes") return;
  const base = `/api/dbs/${db}/functions`;
  const TEMPLATE = [
    "export default async function (context) {",
    "  // context: functionId, databaseId, method, headers, data, env, sql(query, params), graphql(query, variables)",
    "  const { rows } = await context.sql(\"SELECT 1 AS one\");",
    "  return { data: rows };",
    "}",
    "",
  ].join("\n");

  const form = $("#fn-form"), heading = $("#fn-heading"), status = $("#fn-status"), error = $("#fn-error");
  const items = $("#fn-items"), empty = $("#fn-empty"), deleteButton = $("#fn-delete");
  const diagnosticsBox = $("#fn-diagnostics"), diagnosticsList = $("#fn-diagnostics-list");
  const versionsCard = $("#fn-versions-card"), versionSelect = $("#fn-version");
  const runCard = $("#fn-run-card"), runForm = $("#fn-run-form"), result = $("#fn-result"), runStatus = $("#fn-run-status");
  const invocationsList = $("#fn-invocations"), invocationsEmpty = $("#fn-invocations-empty");
  const content = $("#fn-content");
  content.value = TEMPLATE;
  const editor = createCodeEditor(content, { language: "typescript", onRun: () => form.requestSubmit() });
  const bodyEditor = $("#fn-body");
  let functions = [];
  let current = null; // the function shown, as the API gave it; null: a new one

  function element(tag, text, className) {
    const el = document.createElement(tag);
    if (text !== undefined) el.textContent = text;
    if (className) el.className = className;
    return el;
  }

  async function loadList(selectId) {
    functions = (await api("GET", base)).functions;
    items.replaceChildren(...functions.map((f) => {
      const li = element("li");
      const button = element("button", f.name);
      button.type = "button";
      button.dataset.id = f.id;
      button.setAttribute("aria-current", String(current !== null && f.id === (selectId || current.id)));
      button.append(element("span", `${f.permission === "write" ? "reads and writes" : "reads"}${f.public ? " · public" : ""} · version ${f.versionNumber}`, "muted"));
      button.addEventListener("click", () => open(f.id));
      li.append(button);
      return li;
    }));
    empty.hidden = functions.length > 0;
  }

  function showDiagnostics(diagnostics) {
    diagnosticsList.replaceChildren(...diagnostics.map((d) => {
      const where = d.line ? `line ${d.line}${d.column ? `:${d.column}` : ""} · ` : "";
      return element("li", `${where}${d.source} ${d.code}: ${d.message}`, d.severity === "error" ? "error" : "");
    }));
    diagnosticsBox.hidden = diagnostics.length === 0;
  }

  function fill(f) {
    current = f;
    heading.textContent = f ? f.name : "New function";
    $("#fn-name").value = f ? f.name : "";
    $("#fn-description").value = f && f.description ? f.description : "";
    $("#fn-language").value = f ? f.language : "typescript";
    $("#fn-permission").value = f ? f.permission : "read";
    $("#fn-public").checked = f ? f.public : false;
    editor.setValue(f ? f.content : TEMPLATE);
    deleteButton.hidden = !f;
    versionsCard.hidden = !f;
    runCard.hidden = !f;
    result.hidden = true;
    error.textContent = "";
    showDiagnostics(f ? f.diagnostics : []);
    $$("button[data-id]", items).forEach((b) => b.setAttribute("aria-current", String(!!f && b.dataset.id === f.id)));
    if (!f) return;
    $("#fn-url").textContent = `${location.origin}/fns/${f.id}`;
    versionSelect.replaceChildren(...f.versions.map((id, index) => {
      const option = element("option", `${index + 1}${id === f.currentVersion ? " (in force)" : ""}`);
      option.value = id;
      option.selected = id === f.version;
      return option;
    }));
    loadInvocations();
  }

  async function open(id) {
    try { fill(await api("GET", `${base}/${id}`)); }
    catch (e) { flash(e.message); }
  }

  function fields() {
    return {
      name: $("#fn-name").value,
      description: $("#fn-description").value || null,
      language: $("#fn-language").value,
      permission: $("#fn-permission").value,
      public: $("#fn-public").checked,
      content: editor.getValue(),
    };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const save = $("#fn-save");
    save.disabled = true;
    status.textContent = "Saving and checking with Deno…";
    try {
      let id;
      if (current) {
        await api("PATCH", `${base}/${current.id}`, fields());
        id = current.id;
      } else {
        id = (await api("POST", base, fields())).id;
      }
      const saved = await api("GET", `${base}/${id}`);
      await loadList(id);
      fill(saved);
      const problems = saved.diagnostics.length;
      status.textContent = `Saved as version ${saved.versionNumber}${problems ? `, with ${counted(problems, "diagnostic")}` : ", no diagnostics"}.`;
    } catch (e) {
      status.textContent = "";
      error.textContent = e.message;
    } finally {
      save.disabled = false;
    }
  });

  $("#fn-new").addEventListener("click", () => { fill(null); status.textContent = ""; $("#fn-name").focus(); });

  deleteButton.addEventListener("click", async () => {
    if (!current || !confirm(`Delete the function ${current.name} with its versions and calls?`)) return;
    try {
      const name = current.name;
      await api("DELETE", `${base}/${current.id}`);
      fill(null);
      await loadList();
      flash(`Deleted ${name}.`);
    } catch (e) { error.textContent = e.message; }
  });

  versionSelect.addEventListener("change", async () => {
    if (!current) return;
    try {
      const shown = await api("GET", `${base}/${current.id}/versions/${versionSelect.value}`);
      fill(shown);
      status.textContent = shown.version === shown.currentVersion ? "" : `Showing version ${shown.versionNumber}; saving makes a new version from it.`;
    } catch (e) { flash(e.message); }
  });

  $("#fn-republish").addEventListener("click", async () => {
    if (!current) return;
    try {
      await api("POST", `${base}/${current.id}/republish`, { runtime: "deno", version: versionSelect.value });
      const shown = await api("GET", `${base}/${current.id}`);
      await loadList(shown.id);
      fill(shown);
      status.textContent = `Version ${shown.versionNumber} is in force.`;
    } catch (e) { error.textContent = e.message; }
  });

  runForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current) return;
    const method = $("#fn-method").value;
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    const text = bodyEditor.value.trim();
    if (text && method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.body = text;
    }
    const button = $("#fn-run");
    button.disabled = true;
    runStatus.textContent = "Running…";
    const started = performance.now();
    try {
      const response = await fetch(`/fns/${current.id}`, options);
      const answer = await response.text();
      let shown = answer;
      try {
        const parsed = JSON.parse(answer);
        shown = response.ok ? JSON.stringify(parsed, null, 2) : (parsed.errors || [answer]).join("\n");
      } catch (e) { /* not JSON: shown as it came */ }
      result.textContent = shown;
      result.classList.toggle("failed", !response.ok);
      result.hidden = false;
      runStatus.textContent = `${response.status} ${response.ok ? "OK" : response.statusText} in ${thousands(Math.round(performance.now() - started))} ms`;
    } catch (e) {
      runStatus.textContent = "";
      result.textContent = e.message;
      result.classList.add("failed");
      result.hidden = false;
    } finally {
      button.disabled = false;
      loadInvocations();
    }
  });

  async function loadInvocations() {
    if (!current) return;
    const id = current.id;
    let invocations;
    try { invocations = (await api("GET", `${base}/${id}/invocations?limit=20`)).invocations; }
    catch (e) { return; }
    if (!current || current.id !== id) return;
    invocationsEmpty.hidden = invocations.length > 0;
    invocationsList.replaceChildren(...invocations.map((call) => {
      const li = element("li");
      const when = new Date(call.createdUtc).toLocaleString();
      li.append(element("span", `${when} · ${call.method} · ${call.ok ? "ok" : "failed"} · ${thousands(call.runtimeMs)} ms`, call.ok ? "" : "failed"));
      const lines = call.logs.map((line) => `${line.stream === "stderr" ? "! " : ""}${line.message}`);
      if (!call.ok && call.error) lines.push(call.error);
      else lines.push(`→ ${call.data}`);
      li.append(element("pre", lines.join("\n")));
      return li;
    }));
  }

  loadList().then(() => {
    const wanted = new URLSearchParams(location.search).get("function");
    if (wanted && functions.some((f) => f.id === wanted)) open(wanted);
    else if (functions.length) open(functions[0].id);
  }).catch((e) => flash(e.message));
})();
