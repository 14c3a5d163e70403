// Move the keyboard and screen-reader focus to the first refusal shown on the page (an element
// marked data-refusal with tabindex="-1"), so a refused action is announced where it is explained.
document.addEventListener("DOMContentLoaded", function () {
  var refusal = document.querySelector("[data-refusal]");
  if (refusal) {
    refusal.focus();
  }
});
