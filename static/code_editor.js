// A code editor (CodeMirror 6, vendored in static/vendor/codemirror-6.0.2/) in place of a <textarea>.
//
// Load the bundle, then this file, then the page's script:
//   <script src="/static/vendor/codemirror-6.0.2/codemirror.min.js"></script>
//   <script src="/static/code_editor.js"></script>
//
//   const editor = createCodeEditor(document.querySelector("#query"), {
//     language: "sql",                       // "sql" (SQLite's dialect), "javascript" or "typescript"
//     schema: { users: ["id", "name"] },     // SQL only: the tables and their columns, for autocomplete
//     onRun: (text) => run(text),            // Ctrl+Enter (Cmd+Enter on a Mac) calls it
//     onChange: (text) => save(text),        // after every change of the text
//     readOnly: false,
//     lineWrapping: false,                   // true: long lines wrap instead of scrolling sideways
//   });
//   editor.getValue(); editor.setValue("SELECT 1"); editor.setSchema({...}); editor.focus(); editor.destroy();
//   editor.view is CodeMirror's EditorView (null when the bundle did not load).
//
// The textarea stays in the form, hidden, and always holds the editor's text (an "input" event is sent on it
// after each change), so a form posts it as before. Its <label for=...> names the editor and focuses it when
// clicked. The textarea's `rows` is the editor's least height in lines.
//
// Why a shadow root: CodeMirror adds its styles at run time. On a document it does that with a <style>
// element, which our Content-Security-Policy (style-src 'self', no 'unsafe-inline', no nonce) refuses; in a
// shadow root it uses a constructed style sheet (adoptedStyleSheets), which the policy allows. So the editor
// lives in an open shadow root of a <div class="code-editor"> put after the textarea: the page's own CSS
// styles that div (border, width) but not the inside, which is styled by the theme below (it uses the page's
// CSS variables, which do reach inside). Tests find the editor's text in `.cm-content` (Playwright's selectors
// pierce open shadow roots).
//
// Without the bundle (it failed to load), the textarea is left visible and works as a plain textarea, and
// Ctrl+Enter in it still calls onRun.
"use strict";

const codeEditorTheme = {
  "&": { fontSize: "14px", backgroundColor: "#fff", color: "var(--fg, #1f2328)" },
  "&.cm-focused": { outline: "3px solid #93c5fd", outlineOffset: "2px" },
  ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", lineHeight: "1.5", overflow: "auto" },
  ".cm-gutters": { backgroundColor: "var(--bg, #f6f8fa)", borderRight: "1px solid var(--line, #d0d7de)", color: "var(--muted, #59636e)" },
  ".cm-tooltip.cm-tooltip-autocomplete > ul": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace" },
};

// The schema as lang-sql's namespaces, each name completed as SQL needs it: lang-sql quotes a name that needs
// quotes but does not double a quote inside it (a table named a"b would complete to "a"b"), so every name gets
// its own completion, quoted here.
function quotedSchema(schema) {
  const sqlName = (name) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : '"' + String(name).replace(/"/g, '""') + '"');
  const completion = (name, type) => ({ label: name, apply: sqlName(name), type });
  return Object.fromEntries(Object.entries(schema).map(([table, columns]) => [
    table, { self: completion(table, "type"), children: (columns || []).map((c) => completion(c, "property")) },
  ]));
}

function createCodeEditor(textarea, options) {
  const opts = options || {};
  const onRun = opts.onRun || (() => {});
  const onChange = opts.onChange || (() => {});
  const CM = window.CodeMirror;
  const label = textarea.id ? document.querySelector(`label[for="${CSS.escape(textarea.id)}"]`) : null;
  const sync = (text) => {
    textarea.value = text;
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    onChange(text);
  };
  if (!CM) {
    // The plain textarea, with the same keys.
    textarea.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); onRun(textarea.value); }
    });
    textarea.addEventListener("input", () => onChange(textarea.value));
    return {
      view: null,
      getValue: () => textarea.value,
      setValue: (text) => { textarea.value = text; onChange(text); },
      setSchema: () => {},
      focus: () => textarea.focus(),
      destroy: () => {},
    };
  }

  const languageOf = (schema) => {
    if (opts.language === "javascript") return CM.javascript();
    if (opts.language === "typescript") return CM.javascript({ typescript: true });
    return CM.sql({ dialect: CM.SQLite, schema: quotedSchema(schema || {}), upperCaseKeywords: true });
  };
  const language = new CM.Compartment();
  const lines = Math.max(2, Number(textarea.getAttribute("rows")) || 6);
  const extensions = [
    CM.Prec.highest(CM.keymap.of([{ key: "Mod-Enter", run: (view) => { CM.closeCompletion(view); onRun(view.state.doc.toString()); return true; } }])),
    CM.basicSetup,
    language.of(languageOf(opts.schema)),
    CM.EditorView.theme(codeEditorTheme),
    CM.EditorView.theme({ ".cm-content, .cm-gutter": { minHeight: `${lines * 1.5}em` } }),
    CM.EditorView.contentAttributes.of({ "aria-label": (label ? label.textContent : textarea.getAttribute("aria-label")) || "Code" }),
    // Typing over a selection that spans lines: Chromium's own editing would first merge the lines' elements
    // with a style attribute (which the policy refuses, and reports); the editor makes the change instead.
    CM.EditorView.domEventHandlers({
      beforeinput: (event, view) => {
        if (event.inputType !== "insertText" || !event.data || view.composing || view.state.selection.main.empty) return false;
        event.preventDefault();
        view.dispatch(view.state.replaceSelection(event.data), { userEvent: "input.type", scrollIntoView: true });
        return true;
      },
    }),
    CM.EditorView.updateListener.of((update) => { if (update.docChanged) sync(update.state.doc.toString()); }),
  ];
  if (opts.readOnly) extensions.push(CM.EditorState.readOnly.of(true));
  if (opts.lineWrapping) extensions.push(CM.EditorView.lineWrapping);

  const host = document.createElement("div");
  host.className = "code-editor";
  textarea.after(host);
  // Hidden by its style too: a stylesheet's `textarea { display: block }` would outdo the hidden attribute.
  const display = textarea.style.display;
  textarea.hidden = true;
  textarea.style.display = "none";
  const root = host.attachShadow({ mode: "open" });
  const view = new CM.EditorView({
    state: CM.EditorState.create({ doc: textarea.value, extensions }),
    parent: root,
    root,
  });
  const focusEditor = (e) => { if (e) e.preventDefault(); view.focus(); };
  if (label) label.addEventListener("click", focusEditor);

  return {
    view,
    getValue: () => view.state.doc.toString(),
    setValue: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    setSchema: (schema) => view.dispatch({ effects: language.reconfigure(languageOf(schema)) }),
    focus: () => view.focus(),
    destroy: () => {
      if (label) label.removeEventListener("click", focusEditor);
      view.destroy(); host.remove(); textarea.hidden = false; textarea.style.display = display;
    },
  };
}
