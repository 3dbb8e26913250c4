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

// The visit time: the field holds the organisation's clock (which is what the page says without this script);
// with it, the shopper reads and types their own local time, and the form sends it with their offset, so nobody
// converts by hand.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function local(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) +
      ":" + pad(d.getMinutes());
  }
  function offset(d) {
    var minutes = -d.getTimezoneOffset(), sign = minutes >= 0 ? "+" : "-";
    minutes = Math.abs(minutes);
    return sign + pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var input = document.getElementById("visited_at");
    if (!input || !input.form) { return; }
    // The page gives the value and the window's bounds on the organisation's clock, and in UTC for this script.
    ["", "-min", "-max"].forEach(function (which) {
      var at = input.getAttribute("data-utc" + which) ? new Date(input.getAttribute("data-utc" + which)) : null;
      if (at && !isNaN(at.getTime())) {
        if (which) { input.setAttribute(which.slice(1), local(at)); } else { input.value = local(at); }
      }
    });
    // The visit window above the form, on the same clock as the field: one read in UTC, the other typed in
    // Dubai time, left the shopper to work out an hour's difference at the window's edge.
    document.querySelectorAll("time[data-local-time]").forEach(function (time) {
      var at = new Date(time.getAttribute("datetime"));
      if (!isNaN(at.getTime())) { time.textContent = local(at).replace("T", " ") + " your time"; }
    });
    var label = document.querySelector('label[for="visited_at"]');
    // Only the words change: the required mark after them stays.
    if (label && label.firstChild) { label.firstChild.nodeValue = "When did you visit? (your local time)"; }
    input.form.addEventListener("submit", function () {
      if (!input.value) { return; }
      var sent = document.createElement("input");
      sent.type = "hidden";
      sent.name = "visited_at";
      sent.value = input.value + offset(new Date(input.value));
      input.removeAttribute("name");
      input.form.appendChild(sent);
    });
  });
})();

// Photos: a phone camera's picture is several megabytes, more than a report keeps. One over the limit is drawn
// again at most 2048 pixels wide or high as a JPEG before it is sent, so the shopper need not shrink it by
// hand. Without this script (or a browser that cannot), the server refuses it at its field, keeping the answers.
(function () {
  "use strict";
  var SIDE = 2048;
  function shrink(input, limit) {
    var file = input.files && input.files[0];
    if (!file || file.size <= limit || !/^image\//.test(file.type) || !window.createImageBitmap ||
        !window.DataTransfer) { return; }
    createImageBitmap(file).then(function (image) {
      var scale = Math.min(1, SIDE / Math.max(image.width, image.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(image.width * scale);
      canvas.height = Math.round(image.height * scale);
      canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        if (!blob || blob.size > limit) { return; }  // still too large: the server says so at the field
        var smaller = new DataTransfer();
        smaller.items.add(new File([blob], file.name.replace(/\.[^.]*$/, "") + ".jpg", {type: "image/jpeg"}));
        input.files = smaller.files;
        input.setAttribute("data-shrunk", String(blob.size));
      }, "image/jpeg", 0.85);
    }).catch(function () {});
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.ms-form");
    var limit = form && Number(form.getAttribute("data-photo-max-bytes"));
    if (!limit) { return; }
    form.querySelectorAll('input[type="file"]').forEach(function (input) {
      input.addEventListener("change", function () { shrink(input, limit); });
    });
  });
})();

// What the shopper types is kept on the device as they type it: a reload, a lost connection or a tap on Back
// lost a whole visit's answers. Coming back to the form, the page offers what it kept when it differs from
// what the server has (the report was not saved since); saving or submitting the same answers drops it.
(function () {
  "use strict";
  var SKIPPED = {csrf_token: true, action: true};
  function fields(form) {
    var kept = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      var name = element.name;
      if (!name || SKIPPED[name] || element.type === "file" || element.type === "hidden" ||
          element.type === "submit" || element.type === "button") { return; }
      if (element.type === "radio" || element.type === "checkbox") {
        kept[name] = kept[name] || [];
        if (element.checked) { kept[name].push(element.value); }
      } else {
        kept[name] = [element.value];
      }
    });
    return kept;
  }
  // Compared as the server keeps them, trimmed: a trailing space typed and saved is no unsaved answer.
  function trimmed(kept) {
    var out = {};
    Object.keys(kept).forEach(function (name) {
      out[name] = kept[name].map(function (value) { return String(value).trim(); });
    });
    return out;
  }
  function same(a, b) { return JSON.stringify(trimmed(a)) === JSON.stringify(trimmed(b)); }
  function fill(form, kept) {
    Array.prototype.forEach.call(form.elements, function (element) {
      var values = kept[element.name];
      if (!values || element.type === "file" || element.type === "hidden") { return; }
      if (element.type === "radio" || element.type === "checkbox") {
        element.checked = values.indexOf(element.value) !== -1;
      } else {
        element.value = values[0] || "";
      }
    });
    form.dispatchEvent(new Event("change", {bubbles: true}));  // the skip logic follows the answers
  }
  function offer(form, stored, key) {
    var box = document.createElement("div");
    box.className = "flash ms-kept";
    box.setAttribute("role", "status");
    var when = new Date(stored.at);
    box.innerHTML = "<p>This device kept answers you typed at <strong></strong> that are not in the report " +
      "below: it was not saved since (a lost connection, or the page left).</p>" +
      "<p><button type=\"button\" data-kept=\"restore\">Put them back</button> " +
      "<button type=\"button\" data-kept=\"discard\">Discard them</button></p>";
    box.querySelector("strong").textContent = when.toLocaleString();
    form.parentNode.insertBefore(box, form);
    box.addEventListener("click", function (event) {
      var choice = event.target.getAttribute("data-kept");
      if (choice === "restore") { fill(form, stored.fields); }
      if (choice === "discard") { window.localStorage.removeItem(key); }
      if (choice) { box.remove(); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.ms-form");
    if (!form || !window.localStorage || !window.JSON) { return; }
    var key = "plaudit-report:" + window.location.pathname;
    var wrapper = form.querySelector("fieldset.ms-wrapper");
    if (wrapper && wrapper.disabled) { window.localStorage.removeItem(key); return; }  // no longer the shopper's
    var stored = null;
    try { stored = JSON.parse(window.localStorage.getItem(key) || "null"); } catch (e) { stored = null; }
    if (stored && stored.fields) {
      if (same(stored.fields, fields(form))) { window.localStorage.removeItem(key); } else { offer(form, stored, key); }
    }
    function keep() {
      try {
        window.localStorage.setItem(key, JSON.stringify({at: Date.now(), fields: fields(form)}));
      } catch (e) { /* storage full or refused: the form still works */ }
    }
    form.addEventListener("input", keep);
    form.addEventListener("change", keep);
  });
})();
