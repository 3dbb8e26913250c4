// After an explicit sign-out: forget the mystery reports' answers kept in this browser (mystery_form.js), so
// the next person at a shared device does not find them. A sign-in page reached any other way (a session
// that ran out) keeps them, so a shopper signed out by the clock gets their typing back.
(function () {
  "use strict";
  try {
    var doomed = [];
    for (var i = 0; i < window.localStorage.length; i += 1) {
      var key = window.localStorage.key(i);
      if (key && key.indexOf("plaudit-report:") === 0) { doomed.push(key); }
    }
    doomed.forEach(function (key) { window.localStorage.removeItem(key); });
  } catch (e) { /* no storage: nothing was kept */ }
})();
