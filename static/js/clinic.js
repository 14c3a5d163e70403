// Behaviour that the Content-Security-Policy keeps out of the templates (no inline script,
// no inline event handler, no style attribute). Loaded by base.html after htmx on every page.
(function () {
  "use strict";

  // Colours the clinic chooses (appointment types) arrive as data-type-colour="#rrggbb" and
  // are set through the CSSOM, which the policy allows: on the page and in each htmx swap.
  var COLOUR = /^#[0-9a-fA-F]{6}$/;
  function paint(root) {
    var elements = Array.prototype.slice.call(root.querySelectorAll("[data-type-colour]"));
    if (root.matches && root.matches("[data-type-colour]")) { elements.push(root); }
    elements.forEach(function (element) {
      var colour = element.getAttribute("data-type-colour");
      if (COLOUR.test(colour)) { element.style.borderLeftColor = colour; }
    });
  }
  htmx.onLoad(paint);

  // <button data-print> prints the page (printable plan, aftercare sheet).
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) { window.print(); }
  });

  // <form data-refresh-on="product_ numbing_cream" hx-trigger="refresh">: a change to a field
  // whose name starts with one of the prefixes fires the form's htmx request (an hx-trigger
  // filter would need eval, which the policy forbids).
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (!form || !form.hasAttribute("data-refresh-on")) { return; }
    var name = event.target.name || "";
    var prefixes = form.getAttribute("data-refresh-on").split(/\s+/);
    if (prefixes.some(function (prefix) { return prefix && name.indexOf(prefix) === 0; })) {
      htmx.trigger(form, "refresh");
    }
  });
})();
