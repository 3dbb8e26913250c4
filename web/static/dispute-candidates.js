// Whom an upheld dispute may credit the item to: anyone in the page's one list but the employee disputing it,
// who was offered and then refused on submit. Each field gets its own copy of the list, made when it is first
// used: an HR page lists the whole organisation, and most forms are never opened.
document.addEventListener("focusin", (event) => {
  const field = event.target;
  const shared = document.getElementById("reassign-candidates");
  if (!shared || !(field instanceof HTMLInputElement) || !field.dataset.disputer) return;
  const id = `reassign-candidates-${field.dataset.disputer}`;
  if (!document.getElementById(id)) {
    const list = shared.cloneNode(true);
    list.id = id;
    list.querySelector(`option[value="${CSS.escape(field.dataset.disputer)}"]`)?.remove();
    shared.after(list);
  }
  field.setAttribute("list", id);
});
