// A chart's button opens it large in a <dialog> (the database and dashboards pages); Escape or Close shuts it.
"use strict";

(() => {
  const dialog = $("#chart-dialog");
  if (!dialog) return;
  const image = $("#chart-dialog-image"), title = $("#chart-dialog-title");
  let opener = null;
  $$("[data-chart-src]").forEach((button) => button.addEventListener("click", () => {
    opener = button;
    title.textContent = button.dataset.chartTitle;
    image.alt = button.dataset.chartTitle;
    image.src = button.dataset.chartSrc;
    dialog.showModal();
  }));
  $("#chart-dialog-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); }); // a click beside it
  dialog.addEventListener("close", () => { if (opener) opener.focus(); });
})();
