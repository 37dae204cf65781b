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

// Photo fields: a photo past the limit is named before the form is sent, so nothing typed is
// lost waiting for an upload the server would refuse (the server checks again).
document.addEventListener("DOMContentLoaded", () => {
  const tooLarge = (input) => {
    const limit = Number(input.dataset.maxBytes);
    const file = Array.from(input.files || []).find((f) => f.size > limit);
    if (!file) return "";
    return input.dataset.tooLarge.replace("{name}", file.name)
      .replace("{size}", (file.size / 1048576).toFixed(1)).replace("{mb}", input.dataset.mb);
  };
  const show = (input, message) => {
    const id = `${input.id}-size-error`;
    let error = document.getElementById(id);
    if (!message) {
      if (error) error.remove();
      if (!input.closest(".field").querySelector(".error")) input.removeAttribute("aria-invalid");
      return;
    }
    if (!error) {
      error = document.createElement("p");
      error.className = "error";
      error.id = id;
      error.setAttribute("role", "alert");
      input.closest(".field").append(error);
      const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      input.setAttribute("aria-describedby", [...described, id].join(" "));
    }
    error.textContent = message;
    input.setAttribute("aria-invalid", "true");
  };
  for (const input of document.querySelectorAll("input[type=file][data-max-bytes]")) {
    input.addEventListener("change", () => show(input, tooLarge(input)));
    input.form.addEventListener("submit", (event) => {
      const message = tooLarge(input);
      show(input, message);
      if (message) {
        event.preventDefault();
        input.focus();
      }
    });
  }
});

// After an in-place change (htmx), keyboard focus would fall to <body> with the control it was
// on (WCAG 2.4.3): move it to what the answer marked (the new comment, the new count), or to the
// first field it refuses. What happened is read out by the live region the answer fills.
document.addEventListener("htmx:afterSwap", () => {
  const marked = document.querySelector("[data-focus-here]");
  if (marked) {
    marked.removeAttribute("data-focus-here");
    marked.focus();
    return;
  }
  if (document.activeElement === document.body || !document.activeElement) {
    const refused = document.querySelector("[aria-invalid=true]");
    if (refused) refused.focus();
  }
});

// The header's menu: Escape closes it and gives focus back to its button. A wide screen whose
// browser cannot show a closed disclosure's content (the stylesheet does that elsewhere) opens it.
document.addEventListener("DOMContentLoaded", () => {
  const menu = document.querySelector("details.site-menu");
  if (!menu) return;
  if (!CSS.supports("selector(::details-content)") && window.matchMedia("(min-width: 48rem)").matches) {
    menu.open = true;
  }
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.open && getComputedStyle(menu.querySelector("summary")).display !== "none") {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
});

// Site plans: a click on the plan places the pin of the site being edited, filling in the two
// coordinates the form sends (they can be typed as well).
document.addEventListener("DOMContentLoaded", () => {
  for (const svg of document.querySelectorAll("svg[data-pin-picker]")) {
    const form = svg.closest("form");
    const across = form.querySelector("input[name=x]");
    const down = form.querySelector("input[name=y]");
    const marker = svg.querySelector("[data-pin-new]");
    const current = svg.querySelector("[data-pin-current]");
    const box = svg.viewBox.baseVal;
    svg.addEventListener("click", (event) => {
      event.preventDefault();
      const point = new DOMPoint(event.clientX, event.clientY)
        .matrixTransform(svg.getScreenCTM().inverse());
      across.value = (100 * point.x / box.width).toFixed(2);
      down.value = (100 * point.y / box.height).toFixed(2);
      marker.setAttribute("cx", point.x);
      marker.setAttribute("cy", point.y);
      if (current) current.remove();
    });
  }
});
