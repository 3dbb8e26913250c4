// The shopper's form: hide questions the skip logic leaves out, as the answers change.
// Without this script every question shows, and the server treats the skipped ones as not applicable.
(function () {
  "use strict";
  function chosen(form, key) {
    var inputs = form.querySelectorAll('[name="q-' + key + '"]');
    var values = [];
    inputs.forEach(function (input) {
      if ((input.type === "radio" || input.type === "checkbox") ? input.checked : input.value) {
        values.push(input.value);
      }
    });
    return values;
  }
  function shown(form, block, seen) {
    var key = block.getAttribute("data-show-if-question");
    if (!key) { return true; }
    if (seen[key]) { return false; }  // a cycle in an unvalidated template
    seen[key] = true;
    var parent = form.querySelector('[data-question="' + key + '"]');
    if (parent && !shown(form, parent, seen)) { return false; }
    var wanted = block.getAttribute("data-show-if-answers").split(" ");
    return chosen(form, key).some(function (value) { return wanted.indexOf(value) !== -1; });
  }
  function apply(form) {
    form.querySelectorAll("[data-show-if-question]").forEach(function (block) {
      block.hidden = !shown(form, block, {});
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.ms-form");
    if (!form) { return; }
    form.querySelectorAll(".ms-condition").forEach(function (note) { note.hidden = true; });
    form.addEventListener("change", function () { apply(form); });
    apply(form);
  });
})();
