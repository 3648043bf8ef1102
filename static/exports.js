// The database page's exports (templates/pages/exports_section.html): start an export job of the database or of one
// table through POST /api/exports, follow its progress (polling GET /api/exports/<id>), then offer its file.
"use strict";

(() => {
  const form = $("#export-form"), list = $("#export-jobs");
  if (!form || !list) return;
  const FORMATS = { "text/csv": "CSV", "application/json": "JSON", "application/x-ndjson": "NDJSON", "application/xlsx": "XLSX" };

  function showJob(item, job) {
    const status = $(".export-status", item), bar = $("progress", item), download = $(".export-download", item);
    // The answer to the POST has no progress yet; the job's own answers do.
    const { rows_done: done, rows_total: total, fraction } = job.progress || { rows_done: 0, rows_total: 0, fraction: 0 };
    bar.value = fraction;
    bar.setAttribute("aria-valuetext", `${Math.round(fraction * 100)}%`);
    if (job.status === "SUCCESS") {
      status.textContent = `Done: ${counted(done, "row")}`;
      bar.value = 1;
      const size = job.dataFile && typeof job.dataFile.size === "number" ? ` (${thousands(job.dataFile.size)} bytes)` : "";
      download.href = job.data;
      download.textContent = `Download ${job.dataFile ? job.dataFile.filename : "the file"}${size}`;
      download.hidden = false;
    } else if (job.status === "FAILED") {
      status.textContent = `Failed: ${job.error || "the export did not finish"}`;
      status.classList.add("error");
      bar.hidden = true;
    } else {
      // rows_total is null until the job has counted what it will write.
      status.textContent = job.status === "STARTED" ? "Waiting to start…"
        : typeof total === "number" ? `Running: ${thousands(done)} of ${counted(total, "row")}` : `Running: ${counted(done, "row")} so far`;
    }
  }

  async function follow(item, job) {
    let wait = 300;
    while (job.status === "STARTED" || job.status === "RUNNING") {
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 1.5, 2000);
      try { job = await api("GET", `/api/exports/${encodeURIComponent(job.id)}`); }
      catch (e) { $(".export-status", item).textContent = `Could not follow the export: ${e.message}`; return; }
      showJob(item, job);
    }
  }

  // The jobs started here are remembered in this browser (per database), so that a reload follows them on; one the
  // server no longer has (deleted, expired after a week) is forgotten.
  const remembered = `airsequel.exports.${db}`;
  const recall = () => { try { return JSON.parse(localStorage.getItem(remembered) || "[]"); } catch (e) { return []; } };
  const remember = (ids) => { try { localStorage.setItem(remembered, JSON.stringify(ids.slice(0, 20))); } catch (e) { /* private mode */ } };

  function shown(job, name, where) {
    const item = document.createElement("li");
    item.className = "export-job";
    const title = document.createElement("strong"), status = document.createElement("span"), bar = document.createElement("progress");
    const download = document.createElement("a");
    title.textContent = name;
    status.className = "export-status muted";
    bar.className = "export-progress"; bar.max = 1; bar.value = 0; bar.setAttribute("aria-label", `Progress of ${name}`);
    download.className = "export-download button"; download.hidden = true;
    item.append(title, " ", status, document.createElement("br"), bar, " ", download);
    if (where === "top") list.prepend(item); else list.append(item);
    showJob(item, job);
    follow(item, job);
  }

  (async () => {
    const kept = [];
    for (const id of recall()) {
      try { const job = await api("GET", `/api/exports/${encodeURIComponent(id)}`); kept.push(id); shown(job, job.name, "bottom"); }
      catch (e) { /* gone */ }
    }
    remember(kept);
  })();

  handle(form, async (data) => {
    const what = data.table || null;
    const name = `${form.dataset.dbName}${what ? " · " + what : ""} (${FORMATS[data.media_type]})`;
    const body = { name, databases: [db], media_type: data.media_type };
    if (what) body.tables = [what];
    const job = await api("POST", "/api/exports", body);
    remember([job.id, ...recall().filter((id) => id !== job.id)]);
    shown(job, name, "top");
  });
})();
