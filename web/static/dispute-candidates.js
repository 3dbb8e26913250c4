// Whom an upheld dispute may credit the item to: anyone in the page's one list but the employee disputing it,
// and but those who had left before the item came (both were offered, then refused on submit). Each field gets
// its own copy of the list, made when it is first used: an HR page lists the whole organisation, and most
// forms are never opened.
document.addEventListener("focusin", (event) => {
  const field = event.target;
  const shared = document.getElementById("reassign-candidates");
  if (!shared || !(field instanceof HTMLInputElement) || !field.dataset.disputer) return;
  const { disputer, itemDay } = field.dataset;
  const id = `reassign-candidates-${disputer}-${itemDay}`;
  if (!document.getElementById(id)) {
    const list = shared.cloneNode(true);
    list.id = id;
    for (const option of [...list.options]) {
      // ISO days compare as text: one who left before the item's day cannot be credited with it
      if (option.value === disputer || (option.dataset.left && option.dataset.left < itemDay)) option.remove();
    }
    shared.after(list);
  }
  field.setAttribute("list", id);
});
