// Signature pad: the patient draws on a <canvas> with a finger, stylus or mouse (pointer events).
// After each stroke the drawing is written to the form's hidden input as a PNG data URL; the
// server checks it (a real PNG, not too large, with ink). "Clear" empties the pad and the input.
(function () {
  "use strict";
  document.querySelectorAll("[data-signature-pad]").forEach(function (pad) {
    var canvas = pad.querySelector("canvas");
    var input = document.getElementById(pad.getAttribute("data-signature-input"));
    var form = pad.closest("form");
    var status = pad.querySelector("[data-signature-status]");
    var clearButton = form ? form.querySelector("[data-signature-clear]") : null;
    if (!canvas || !input) { return; }
    var context = canvas.getContext("2d");
    var drawing = false;
    var last = null;
    var inked = false;

    context.lineWidth = 3;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = "#111";

    function point(event) {
      // The canvas keeps its own resolution whatever its size on screen.
      var box = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - box.left) * (canvas.width / box.width),
        y: (event.clientY - box.top) * (canvas.height / box.height)
      };
    }
    function announce(text) {
      if (status) { status.textContent = text; }
    }
    function save() {
      input.value = inked ? canvas.toDataURL("image/png") : "";
      canvas.classList.toggle("has-ink", inked);
      announce(inked ? "Signature drawn." : "The pad is empty.");
    }
    function dot(at) {
      context.beginPath();
      context.arc(at.x, at.y, context.lineWidth / 2, 0, Math.PI * 2);
      context.fillStyle = context.strokeStyle;
      context.fill();
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (event.button !== undefined && event.button > 0) { return; }
      event.preventDefault();
      drawing = true;
      last = point(event);
      dot(last);
      inked = true;
      if (canvas.setPointerCapture) { canvas.setPointerCapture(event.pointerId); }
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      event.preventDefault();
      var next = point(event);
      context.beginPath();
      context.moveTo(last.x, last.y);
      context.lineTo(next.x, next.y);
      context.stroke();
      last = next;
    });
    function finish() {
      if (!drawing) { return; }
      drawing = false;
      last = null;
      save();
    }
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    canvas.addEventListener("lostpointercapture", finish);

    if (clearButton) {
      clearButton.addEventListener("click", function () {
        context.clearRect(0, 0, canvas.width, canvas.height);
        inked = false;
        save();
      });
    }
    // A form shown again after an error starts with an empty pad: the patient signs again.
    input.value = "";
  });
})();
