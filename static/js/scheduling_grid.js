// The calendar grids (scheduling/grid.py): a click on free time or an appointment opens its
// panel beside the grid (htmx), Escape or the close button closes it and gives the focus back;
// dragging an appointment onto free time moves it, as does picking free time in move mode.
// Every link also works without this script: it then opens the same page in full.
(function () {
  "use strict";
  var opener = null;

  function panel() { return document.getElementById("grid-panel"); }

  function closePanel() {
    var target = panel();
    if (!target) { return; }
    target.replaceChildren();
    target.classList.remove("grid-panel-open");
    if (opener && document.body.contains(opener)) { opener.focus(); }
  }

  // Moving: the hidden form of the grid, posted to the appointment's move page, which answers
  // as it does for a move typed in (refusals and "just taken" included).
  function move(appointmentId, cell) {
    var form = document.getElementById("grid-move-form");
    var board = cell.closest(".grid-board");
    if (!form || !board || !board.hasAttribute("data-move-prefix")) { return false; }
    var link = new URL(cell.href, window.location.href);
    form.action = board.getAttribute("data-move-prefix") + appointmentId + "/move/";
    form.elements.start.value = link.searchParams.get("start") || "";
    form.elements.practitioner.value = link.searchParams.get("practitioner") || "";
    form.elements.day.value = cell.closest(".grid-col").getAttribute("data-day");
    form.elements.at.value = cell.querySelector(".grid-at").textContent;
    form.submit();
    return true;
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-grid-close]")) { closePanel(); return; }
    var cell = event.target.closest("a[data-grid-open]");
    if (!cell || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) { return; }
    var board = cell.closest(".grid-board");
    if (!board || !panel()) { return; }
    if (board.classList.contains("grid-moving")) {
      // In move mode a free cell moves the appointment there, in one step.
      var moving = new URL(window.location.href).searchParams.get("move");
      if (moving && cell.classList.contains("grid-free") && move(moving, cell)) { event.preventDefault(); }
      return;
    }
    event.preventDefault();
    opener = cell;
    htmx.ajax("GET", cell.getAttribute("href"), { target: "#grid-panel", swap: "innerHTML" });
  });

  document.addEventListener("keydown", function (event) {
    var target = panel();
    if (event.key === "Escape" && target && target.contains(document.activeElement)) { closePanel(); }
  });

  // Once the panel has settled: htmx makes its forms live (the patient search) while settling,
  // so a search typed as soon as the heading has the focus is not lost.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = panel();
    if (!target || event.detail.target !== target) { return; }
    target.classList.add("grid-panel-open");
    var heading = target.querySelector("[data-panel-heading]");
    if (heading) { heading.focus(); }
  });

  // Drag and drop: an open appointment onto a free cell.
  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".grid-appt[data-appointment]");
    if (!card) { return; }
    dragged = card.getAttribute("data-appointment");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged);
    card.closest(".grid-board").classList.add("grid-dragging");
  });
  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".grid-dragging").forEach(function (board) { board.classList.remove("grid-dragging"); });
    document.querySelectorAll(".grid-drop").forEach(function (cell) { cell.classList.remove("grid-drop"); });
  });
  document.addEventListener("dragover", function (event) {
    var cell = dragged && event.target.closest && event.target.closest("a.grid-free[data-start]");
    if (cell) { event.preventDefault(); event.dataTransfer.dropEffect = "move"; cell.classList.add("grid-drop"); }
  });
  document.addEventListener("dragleave", function (event) {
    var cell = event.target.closest && event.target.closest("a.grid-free");
    if (cell) { cell.classList.remove("grid-drop"); }
  });
  document.addEventListener("drop", function (event) {
    var cell = dragged && event.target.closest && event.target.closest("a.grid-free[data-start]");
    if (!cell) { return; }
    event.preventDefault();
    move(dragged, cell);
  });
})();
