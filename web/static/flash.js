// The message saying what was just done (a flash) is where a keyboard or screen-reader user starts: a status
// region already there when the page loads is not announced, and the focus would start at the top of the page.
// Only when nothing else has taken the focus: an error summary's autofocus comes first.
window.addEventListener("load", () => {
  const flash = document.querySelector(".flash");
  if (flash && (!document.activeElement || document.activeElement === document.body)) {
    flash.focus();
  }
});
