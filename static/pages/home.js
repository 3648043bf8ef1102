// The home page's behaviour (static/app.js has the helpers every page uses).
"use strict";

(() => {
  handle($("#create-form"), async (data) => {
    const body = { name: data.name, team: data.team };
    if (data.query.trim()) body.query = data.query;
    const created = await api("POST", "/api/dbs", body);
    location.href = "/dbs/" + created.id;
  });
  const drop = $("#drop"), input = $("input[type=file]", drop);
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => { input.files = e.dataTransfer.files; $("span", drop).textContent = input.files[0].name; });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  input.addEventListener("change", () => { if (input.files[0]) $("span", drop).textContent = input.files[0].name; });
  $("#upload-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target, error = $(".error", form), bar = $("#upload-progress"), percent = $("#upload-percent");
    error.textContent = "";
    const body = new FormData();
    body.append("file", input.files[0]);
    const request = new XMLHttpRequest();
    request.open("POST", "/dbs?team=" + encodeURIComponent(form.team.value));
    request.setRequestHeader("Accept", "application/json");
    bar.hidden = false; bar.value = 0;
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) { bar.value = Math.round((e.loaded / e.total) * 100); percent.textContent = bar.value + "%"; }
    });
    request.addEventListener("load", () => {
      let data = {};
      try { data = JSON.parse(request.responseText); } catch (e) { /* not JSON */ }
      if (request.status === 201) { bar.value = 100; percent.textContent = "100% — done"; location.href = "/dbs/" + data.id; }
      else { error.textContent = (data.errors || [request.statusText]).join("; "); }
    });
    request.addEventListener("error", () => { error.textContent = "The upload failed: network error"; });
    request.send(body);
  });
})();
