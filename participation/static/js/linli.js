// Small enhancements on top of pages that work without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll(".js-print")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});

// Budget ballots: a running total of the chosen proposals' costs (the server checks it again).
document.addEventListener("DOMContentLoaded", () => {
  for (const total of document.querySelectorAll(".running-total")) {
    const form = total.closest("form");
    const budget = Number(total.dataset.budget);
    const format = new Intl.NumberFormat(document.documentElement.lang.replace("_", "-"));
    const update = () => {
      let sum = 0;
      for (const box of form.querySelectorAll("input[data-cost]:checked")) {
        sum += Number(box.dataset.cost);
      }
      const over = sum > budget;
      total.dataset.over = String(over);
      total.textContent = (over ? total.dataset.overTemplate : total.dataset.template)
        .replace("{total}", format.format(sum)).replace("{budget}", format.format(budget));
    };
    total.hidden = false;
    form.addEventListener("change", update);
    update();
  }
});
