// Clickable face diagram: a click on an area toggles the matching checkbox of the form.
// The checkboxes stay the accessible way to choose; without JavaScript the diagram stays hidden.
(function () {
  "use strict";
  document.querySelectorAll("svg[data-face-diagram]").forEach(function (svg) {
    var form = svg.closest("form");
    var name = svg.getAttribute("data-face-diagram");
    if (!form) { return; }
    function box(area) {
      return form.querySelector('input[name="' + name + '"][value="' + area + '"]');
    }
    function sync() {
      svg.querySelectorAll("[data-area]").forEach(function (region) {
        var input = box(region.getAttribute("data-area"));
        region.classList.toggle("is-selected", Boolean(input && input.checked));
      });
    }
    svg.addEventListener("click", function (event) {
      var region = event.target.closest("[data-area]");
      if (!region) { return; }
      var input = box(region.getAttribute("data-area"));
      if (input) {
        input.checked = !input.checked;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    form.addEventListener("change", sync);
    svg.classList.add("is-interactive");
    svg.removeAttribute("hidden");
    sync();
  });
})();
