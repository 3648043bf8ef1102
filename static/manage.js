// What the home, database and team pages share for managing things: a question asked in the page before
// anything is deleted or replaced (never window.confirm), and the form that creates a team.
"use strict";

// askInPlace(after, {question, yes, no, onYes}): shows the question with its two buttons right after the element
// `after` (usually the button that asked), the focus on the safe answer; Escape or `no` puts everything back. onYes
// runs with the buttons disabled; if it throws, its message is shown in the question's place and the page stays.
function askInPlace(after, { question, yes, no = "Cancel", danger = true, onYes }) {
  const old = after.parentElement && after.parentElement.querySelector(".ask-in-place");
  if (old) old.remove();
  const box = document.createElement("div"), text = document.createElement("p"), reason = document.createElement("p");
  box.className = "ask-in-place"; box.setAttribute("role", "alertdialog"); box.setAttribute("aria-label", question);
  text.textContent = question; reason.className = "error"; reason.setAttribute("role", "alert");
  const button = (label) => { const b = document.createElement("button"); b.type = "button"; b.textContent = label; return b; };
  const go = button(yes), keep = button(no);
  go.className = danger ? "danger" : ""; keep.className = "secondary";
  const close = () => { box.remove(); after.hidden = false; after.focus(); };
  keep.addEventListener("click", close);
  box.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); close(); } });
  go.addEventListener("click", async () => {
    go.disabled = keep.disabled = true; reason.textContent = "";
    try { await onYes(); }
    catch (e) { reason.textContent = e.message; go.disabled = keep.disabled = false; keep.focus(); }
  });
  const buttons = document.createElement("p"); buttons.className = "ask-buttons"; buttons.append(go, " ", keep);
  box.append(text, buttons, reason);
  after.hidden = true;
  after.insertAdjacentElement("afterend", box);
  keep.focus();
  return box;
}

(() => {
  handle($("#team-form"), async (data) => {
    const team = await api("POST", "/api/teams", { name: data.name.trim() });
    location.href = "/teams/" + encodeURIComponent(team.name);
  });
})();
