// The team page's behaviour (static/app.js has the helpers every page uses, static/manage.js askInPlace).
"use strict";

(() => {
  const team = document.body.dataset.team;
  const teamUrl = `/api/teams/${encodeURIComponent(team)}`;
  const lastAdmin = $("#members tr[data-last-admin]");

  // --- members -------------------------------------------------------------------------------
  handle($("#member-form"), async (data) => {
    const username = data.username.trim();
    if (lastAdmin && lastAdmin.dataset.member.toLowerCase() === username.toLowerCase() && data.role !== "Admin") {
      throw new Error(`${lastAdmin.dataset.member} is the team's last Admin: make another member Admin first`);
    }
    await api("PATCH", `${teamUrl}/members/${encodeURIComponent(username)}`, { roles: [data.role] });
    location.reload();
  });
  $$("[data-remove-member]").forEach((b) => b.addEventListener("click", () => {
    const username = b.dataset.removeMember, leaving = "leave" in b.dataset;
    askInPlace(b, {
      question: leaving ? `Leave ${team}? You lose access to the team's databases until an Admin adds you again.`
        : `Remove ${username} from ${team}? They lose access to the team's databases.`,
      yes: leaving ? `Leave ${team}` : `Remove ${username}`, no: leaving ? "Stay" : "Keep",
      onYes: async () => {
        await api("DELETE", `${teamUrl}/members/${encodeURIComponent(username)}`);
        if (leaving) location.href = "/"; else location.reload();
      },
    });
  }));

  // --- tokens --------------------------------------------------------------------------------
  const tokenForm = $("#token-form");
  if (!tokenForm) return;
  const dateLabel = $("#token-date-label"), dateInput = tokenForm.date;
  const day = (offset) => { const d = new Date(); d.setUTCDate(d.getUTCDate() + offset); return d.toISOString().slice(0, 10); };
  dateInput.min = day(0);
  tokenForm.expires.addEventListener("change", () => {
    dateLabel.hidden = tokenForm.expires.value !== "date";
    if (!dateLabel.hidden) { if (!dateInput.value) dateInput.value = day(30); dateInput.focus(); }
  });
  function expiration(data) {
    if (!data.expires) return null;
    if (data.expires === "date") {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(data.date || "")) throw new Error("Choose the date the token expires");
      if (data.date < day(0)) throw new Error("The expiry date is past: choose today or a later day");
      return `${data.date}T23:59:59Z`;
    }
    const when = new Date(Date.now() + Number(data.expires) * 86400000);
    return when.toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  handle(tokenForm, async (data, form) => {
    const name = data.name.trim();
    if (!name) throw new Error("Give the token a name");
    const permissions = Object.entries(data).filter(([k, v]) => k.startsWith("perm-") && v).map(([k, v]) => ({ db_id: k.slice(5), name: v }));
    if (!permissions.length) throw new Error("Choose read, write or insert for at least one database: a token without access could do nothing");
    const token = await api("POST", "/api/tokens", { name, team_name: team, permissions, expiration_utc: expiration(data), description: "" });
    $("#token-body").value = token.body;
    $("#token-secret").hidden = false;
    form.reset();
    dateLabel.hidden = true;
    const empty = $("#tokens tr.no-tokens");
    if (empty) empty.remove();
    const row = document.createElement("tr");
    const cells = [token.name, token.permissions.map((p) => `${p.db_name}: ${p.name}`).join(", "),
      (token.expiration_utc || "never").slice(0, 16).replace("T", " "), "never", ""];
    cells.forEach((text) => { const td = document.createElement("td"); td.textContent = text; row.append(td); });
    const revoke = document.createElement("button");
    revoke.type = "button"; revoke.className = "link"; revoke.textContent = "Revoke"; revoke.dataset.revoke = token.id;
    revoke.setAttribute("aria-label", `Revoke ${token.name}`);
    revoke.addEventListener("click", () => revokeToken(revoke));
    row.cells[4].className = "token-actions";
    row.cells[4].append(revoke);
    $("#tokens tbody").append(row);
  });
  function revokeToken(button) {
    const name = button.closest("tr").cells[0].textContent;
    askInPlace(button, {
      question: `Revoke ${name}? Every script using it stops working at once.`, yes: "Revoke", no: "Keep",
      onYes: async () => {
        await api("DELETE", `/api/tokens/${button.dataset.revoke}`);
        const body = button.closest("tbody");
        button.closest("tr").remove();
        if (!body.rows.length) {
          const row = document.createElement("tr"), td = document.createElement("td");
          row.className = "no-tokens"; td.colSpan = 5; td.className = "muted"; td.textContent = "No tokens."; row.append(td); body.append(row);
        }
        flash(`Token ${name} revoked`);
      },
    });
  }
  $$("[data-revoke]").forEach((b) => b.addEventListener("click", () => revokeToken(b)));
})();
