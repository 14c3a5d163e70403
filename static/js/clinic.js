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

  // A table wider than the screen scrolls inside its .table-responsive wrapper. A keyboard
  // user can only scroll what can take focus, and a screen reader announces a focusable
  // region by its name: every wrapper becomes a region named after its table's caption (or
  // the heading before it, or its own aria-label), focusable while it has something to scroll.
  function regionName(wrapper) {
    var caption = wrapper.querySelector("caption");
    if (caption && caption.textContent.trim()) { return caption.textContent.trim(); }
    for (var node = wrapper.previousElementSibling; node; node = node.previousElementSibling) {
      if (/^H[1-6]$/.test(node.tagName)) { return node.textContent.trim(); }
    }
    return "Table";
  }
  function scrollRegions(root) {
    var wrappers = Array.prototype.slice.call(root.querySelectorAll(".table-responsive"));
    if (root.matches && root.matches(".table-responsive")) { wrappers.push(root); }
    wrappers.forEach(function (wrapper) {
      if (!wrapper.hasAttribute("role")) { wrapper.setAttribute("role", "region"); }
      if (!wrapper.hasAttribute("aria-label") && !wrapper.hasAttribute("aria-labelledby")) {
        wrapper.setAttribute("aria-label", regionName(wrapper));
      }
      if (wrapper.scrollWidth > wrapper.clientWidth && !wrapper.hasAttribute("tabindex")) {
        wrapper.setAttribute("tabindex", "0");
        wrapper.setAttribute("data-scroll-focus", "");
      } else if (wrapper.scrollWidth <= wrapper.clientWidth && wrapper.hasAttribute("data-scroll-focus")) {
        wrapper.removeAttribute("tabindex");
        wrapper.removeAttribute("data-scroll-focus");
      }
    });
  }
  htmx.onLoad(scrollRegions);
  window.addEventListener("resize", function () { scrollRegions(document); });

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
