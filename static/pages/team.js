// The team page's behaviour (static/app.js has the helpers every page uses).
"use strict";

(() => {
  const team = document.body.dataset.team;
  handle($("#member-form"), async (data) => {
    await api("PATCH", `/api/teams/${encodeURIComponent(team)}/members/${encodeURIComponent(data.username)}`, { roles: [data.role] });
    location.reload();
  });
  $$("[data-remove-member]").forEach((b) => b.addEventListener("click", async () => {
    try { await api("DELETE", `/api/teams/${encodeURIComponent(team)}/members/${encodeURIComponent(b.dataset.removeMember)}`); location.reload(); }
    catch (e) { flash(e.message); }
  }));
  handle($("#token-form"), async (data, form) => {
    const permissions = Object.entries(data).filter(([k, v]) => k.startsWith("perm-") && v).map(([k, v]) => ({ db_id: k.slice(5), name: v }));
    const token = await api("POST", "/api/tokens", { name: data.name, team_name: team, permissions, expiration_utc: null, description: "" });
    $("#token-body").value = token.body;
    $("#token-secret").hidden = false;
    form.reset();
    const row = document.createElement("tr");
    row.innerHTML = "<td></td><td></td><td>never</td><td></td>";
    row.cells[0].textContent = token.name;
    row.cells[1].textContent = token.permissions.map((p) => `${p.db_name}: ${p.name}`).join(", ");
    const revoke = document.createElement("button");
    revoke.type = "button"; revoke.className = "link"; revoke.textContent = "Revoke"; revoke.dataset.revoke = token.id;
    revoke.addEventListener("click", () => revokeToken(revoke));
    row.cells[3].append(revoke);
    $("#tokens tbody").append(row);
  });
  async function revokeToken(button) {
    try { await api("DELETE", `/api/tokens/${button.dataset.revoke}`); button.closest("tr").remove(); flash("Token revoked"); }
    catch (e) { flash(e.message); }
  }
  $$("[data-revoke]").forEach((b) => b.addEventListener("click", () => revokeToken(b)));
})();
