// Whom an upheld dispute may credit the item to: anyone in the page's one list but the employee disputing it,
// those who had left before the item's day and those who joined after it (all were offered, then refused on
// submit). Each field gets its own copy of the list, made when it is first used: an HR page lists the whole
// organisation, and most forms are never opened.
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
      // ISO days compare as text: only someone working on the item's day can be credited with it
      const { left, joined } = option.dataset;
      if (option.dataset.id === disputer || (left && left < itemDay) || (joined && joined > itemDay)) option.remove();
    }
    shared.after(list);
  }
  field.setAttribute("list", id);
});
