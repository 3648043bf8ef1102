// "Ask in words" (templates/pages/ask_in_words.html): a question goes to POST /api/dbs/<id>/prompt, which asks the
// operator's language model for SQL. On the SQL page (data-ask-into="editor") the proposed SQL lands in the editor,
// to be read and run there; elsewhere it is shown with the rows it read (the server runs a proposal read-only: a
// write is only shown) and a link that opens it in the SQL editor.
"use strict";

(() => {
  const box = $("#ask");
  if (!box) return;
  const form = $("#ask-form"), status = $("#ask-status"), error = $("#ask-error"), answer = $("#ask-answer");
  const intoEditor = box.dataset.askInto === "editor";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("button[type=submit]", form);
    error.textContent = ""; status.textContent = "Asking the model…"; button.disabled = true;
    try {
      const proposal = await api("POST", `/api/dbs/${db}/prompt`, { prompt: form.prompt.value });
      status.textContent = `${proposal.model} proposed:`;
      if (proposal.errors.length) error.textContent = `This SQL fails: ${proposal.errors.join("; ")}`;
      if (intoEditor && window.sqlPage) {
        window.sqlPage.editor.setValue(proposal.sql);
        window.sqlPage.editor.focus();
        status.textContent = `${proposal.model} proposed the SQL now in the editor: ${proposal.explanation || ""}`.trim() +
          (proposal.writes ? " It writes to the database: read it before you run it." : " Run it with Ctrl+Enter.");
        return;
      }
      answer.hidden = false;
      $("#ask-explanation").textContent = proposal.explanation || "";
      $("#ask-sql").textContent = proposal.sql;
      const rows = proposal.result ? proposal.result.rows : [];
      const columns = proposal.result ? proposal.result.columns : [];
      renderTable($("#ask-rows"), columns, rows);
      $("#ask-rows").closest(".scroll").hidden = !columns.length;
      $("#ask-note").textContent = proposal.writes
        ? "It writes to the database, so it was not run: open it in the SQL editor to read it and run it."
        : (proposal.executed ? counted(rows.length, "row") + (proposal.result.truncated ? " (cut at the row limit)" : "") : "");
      $("#ask-open").onclick = () => {
        // The SQL page starts from its saved draft (static/pages/sql.js): this proposal becomes it.
        try { localStorage.setItem(`airsequel.sql.draft:/dbs/${db}`, JSON.stringify(proposal.sql)); } catch (e) { /* refused */ }
      };
    } catch (e) {
      status.textContent = ""; error.textContent = e.message; answer.hidden = true;
    } finally { button.disabled = false; }
  });
})();
