// Once's own JavaScript: small, no build step, no inline handlers (the CSP forbids them).
"use strict";

// Inline formsets: "Add a cause" clones the formset's <template> row, numbering it.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-row]");
  if (!button) return;
  const fieldset = button.closest("[data-formset]");
  const prefix = fieldset.dataset.formset;
  const total = fieldset.querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
  const max = fieldset.querySelector(`input[name="${prefix}-MAX_NUM_FORMS"]`);
  const index = parseInt(total.value, 10);
  if (max && index >= parseInt(max.value, 10)) return;
  const html = fieldset.querySelector("template").innerHTML.replace(/__prefix__/g, String(index));
  const rows = fieldset.querySelector(".formset-rows");
  rows.insertAdjacentHTML("beforeend", html);
  total.value = String(index + 1);
  const first = rows.lastElementChild.querySelector("input, textarea, select");
  if (first) first.focus();
  // New fields may carry hx- attributes: let htmx see them.
  if (window.htmx) window.htmx.process(rows.lastElementChild);
});

// The review agenda answers a refused decision with its row and the reason (400, or 409 when
// someone else decided first): swap it in like a success, so the reason shows on the row.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if ((status === 400 || status === 409) && event.target.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// Lists of single inputs (a game day's participants): "Add a participant" clones the <template>.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-input]");
  if (!button) return;
  const box = button.closest("[data-list]");
  const list = box.querySelector(".list-inputs");
  list.insertAdjacentHTML("beforeend", box.querySelector("template").innerHTML);
  list.lastElementChild.focus();
});

// A comma-separated list of service names (the incident form): the <datalist> suggests the
// existing names for the one being typed, keeping the names before it.
document.addEventListener("input", (event) => {
  const input = event.target.closest("input[data-service-names]");
  if (!input || !input.list) return;
  const cut = input.value.lastIndexOf(",");
  const before = cut < 0 ? "" : input.value.slice(0, cut + 1) + " ";
  for (const option of input.list.options) {
    option.dataset.name = option.dataset.name || option.value;
    option.value = before + option.dataset.name;
  }
});
