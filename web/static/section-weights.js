// A report template's section weights: their total as HR types, where it showed the total of the page as
// loaded (1, in green) whatever was typed since. Without this script the server checks the total on publish.
(function () {
  "use strict";
  var TOTAL = 1;
  var TOLERANCE = 1e-6;  // as the server's check
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.ms-template-editor");
    var total = document.getElementById("weight-total");
    if (!form || !total) { return; }
    function refresh() {
      var sum = 0, unreadable = false;
      form.querySelectorAll("input.weight").forEach(function (input) {
        var text = input.value.trim(), number = Number(text);
        if (text !== "" && !isFinite(number)) { unreadable = true; } else { sum += number; }
      });
      var ok = !unreadable && Math.abs(sum - TOTAL) <= TOLERANCE;
      total.textContent = unreadable ? "A weight is not a number" : ok ? "Weights sum to 1" :
        "Weights sum to " + String(Math.round(sum * 1e6) / 1e6) + " - must be 1";
      total.className = ok ? "good" : "bad";
    }
    form.addEventListener("input", function (event) {
      if (event.target.classList.contains("weight")) { refresh(); }
    });
  });
})();
