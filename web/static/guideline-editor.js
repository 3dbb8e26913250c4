// The guideline editor, enhanced: the weights' total as HR types (publishing waits until it is 100), rules
// added and removed in place, and the preview fetched into the page. Without this script the form works
// the same way through the server, which checks everything again in any case.
(function () {
  "use strict";

  var form = document.getElementById("guideline-editor");
  if (!form) {
    return;
  }
  var TOTAL = 100;
  var TOLERANCE = 1e-6; // as the server's check: 33.3 + 33.3 + 33.4 is 100
  var used = document.getElementById("used-rules");
  var unused = document.getElementById("unused-rules");
  var total = document.getElementById("weight-total");
  var publish = document.getElementById("publish-button");
  var preview = document.getElementById("preview-button");
  var adder = form.querySelector(".add-rule");
  var picker = document.getElementById("add-rule");
  var hint = document.getElementById("rules-hint");
  var result = document.getElementById("preview-result");

  function shown(number) {
    return String(Math.round(number * 1e6) / 1e6);
  }

  function refreshTotal() {
    var sum = 0;
    var unreadable = false;
    used.querySelectorAll("input.weight").forEach(function (input) {
      var number = Number(input.value.trim());
      if (input.value.trim() !== "" && !isFinite(number)) {
        unreadable = true;
      } else {
        sum += number;
      }
    });
    var ok = !unreadable && Math.abs(sum - TOTAL) <= TOLERANCE;
    if (unreadable) {
      total.textContent = "A weight is not a number";
    } else if (ok) {
      total.textContent = "Weights sum to 100";
    } else {
      total.textContent = "Weights sum to " + shown(sum) + " - must be 100";
    }
    total.className = ok ? "good" : "bad";
    // A draft whose weights cannot be published is not worth previewing either.
    publish.disabled = !ok;
    preview.disabled = !ok;
  }

  function refreshPicker() {
    picker.replaceChildren();
    unused.querySelectorAll("tr[data-rule]").forEach(function (row) {
      var option = document.createElement("option");
      option.value = row.dataset.rule;
      option.textContent = row.dataset.title;
      picker.appendChild(option);
    });
    adder.hidden = picker.options.length === 0;
  }

  function removeRule(row) {
    // The rule's settings stay in the hidden row, so adding it back restores them.
    row.querySelector("input.weight").value = "";
    unused.appendChild(row);
    refreshPicker();
    refreshTotal();
    picker.focus();
  }

  function addRule(slug) {
    var row = Array.prototype.find.call(unused.querySelectorAll("tr[data-rule]"), function (candidate) {
      return candidate.dataset.rule === slug;
    });
    if (!row) {
      return;
    }
    used.appendChild(row);
    refreshPicker();
    refreshTotal();
    row.querySelector("input.weight").focus();
  }

  // A refused preview marks its fields as a refused publish does: invalid, with the message beside them. Each
  // preview clears the marks before it, the server's too: a refused publish's summary and messages stayed up
  // over a draft that now previewed without complaint.
  function clearMarks() {
    form.querySelectorAll(".js-field-error, .error[id$='-error']").forEach(function (message) { message.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (field) {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
      field.removeAttribute("data-js-invalid");
    });
    document.querySelectorAll("#errors").forEach(function (summary) {
      if (!result.contains(summary)) { summary.remove(); }
    });
  }

  function markFields(page) {
    page.querySelectorAll('[aria-invalid="true"][id]').forEach(function (refused) {
      var field = document.getElementById(refused.id);
      if (!field || !form.contains(field) || field.getAttribute("aria-invalid") === "true") {
        return;
      }
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("data-js-invalid", "");
      var described = refused.getAttribute("aria-describedby");
      if (!described) {
        return;
      }
      field.setAttribute("aria-describedby", described);
      described.split(" ").forEach(function (id) {
        var message = page.getElementById(id);
        if (message && !document.getElementById(id)) {
          var copy = document.importNode(message, true);
          copy.classList.add("js-field-error");
          field.insertAdjacentElement("afterend", copy);
        }
      });
    });
  }

  function showPreview(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var part = page.getElementById("preview") || page.getElementById("errors");
    result.replaceChildren();
    clearMarks();
    if (part) {
      var shown = result.appendChild(document.importNode(part, true));
      if (shown.id === "errors") {
        markFields(page);
        shown.focus(); // as on the page the server sends: the reader starts at what to fix
      }
    } else {
      result.textContent = "The preview failed; try again, or use the button without scripts.";
    }
  }

  form.querySelectorAll(".remove-rule").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      removeRule(button.closest("tr"));
    });
  });
  document.getElementById("add-rule-button").addEventListener("click", function () {
    addRule(picker.value);
  });
  used.addEventListener("input", refreshTotal);
  unused.hidden = true;
  hint.textContent = "One weight per scoring rule; the weights must sum to 100. Remove a rule, or add one of the " +
    "loaded rules below. Settings take the rule's parameters, bounds, target bounds, attainment or minimum " +
    "items as JSON.";

  form.addEventListener("submit", function (event) {
    if (event.submitter !== preview) {
      return;
    }
    event.preventDefault();
    var data = new FormData(form);
    data.set("action", "preview");
    result.setAttribute("aria-busy", "true");
    result.textContent = "Working out what the draft would change…";
    fetch(preview.formAction, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        return response.text();
      })
      .then(showPreview)
      .catch(function () {
        result.textContent = "The preview could not be fetched; try again.";
      })
      .finally(function () {
        result.removeAttribute("aria-busy");
        result.scrollIntoView({ block: "start" });
      });
  });

  refreshPicker();
  refreshTotal();
})();
