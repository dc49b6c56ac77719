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

// In-place dialogs on the incident form (issue 15: nothing typed is lost). A link with
// data-dialog opens that <dialog> and loads its form from data-dialog-url; without JavaScript
// the link still goes where it points.
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-dialog]");
  if (opener && window.htmx) {
    event.preventDefault();
    const dialog = document.getElementById(opener.dataset.dialog);
    const body = dialog.querySelector(".dialog-body");
    dialog.showModal();
    window.htmx.ajax("GET", opener.dataset.dialogUrl, { target: body, swap: "innerHTML" }).then(() => {
      const first = body.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    });
    return;
  }
  const closer = event.target.closest("[data-close-dialog]");
  if (closer) closer.closest("dialog").close();
});

// Every <select> of the incident form whose name ends with `suffix`, with those of the rows
// not added yet (inside formset <template>s).
function selectsNamed(suffix) {
  const form = document.querySelector("form.incident-form");
  if (!form) return [];
  const selects = [...form.querySelectorAll(`select[name$="${suffix}"]`)];
  for (const template of form.querySelectorAll("template")) {
    selects.push(...template.content.querySelectorAll(`select[name$="${suffix}"]`));
  }
  return selects;
}

function addOption(select, value, label) {
  if ([...select.options].some((option) => option.value === value)) return;
  select.append(new Option(label, value));
}

// A failure mode added in its dialog (reports/dialogs.py): checked among the incident's failure
// modes, offered to every cause and remediation, and what the knowledge base knows about it shown.
document.addEventListener("categoryAdded", (event) => {
  const id = String(event.detail.id);
  const path = event.detail.path;
  const list = document.getElementById("id_categories");
  if (list && !list.querySelector(`input[value="${id}"]`)) {
    const box = document.createElement("input");
    Object.assign(box, { type: "checkbox", name: "categories", value: id, id: `id_categories_new_${id}`, checked: true });
    const label = document.createElement("label");
    label.htmlFor = box.id;
    label.append(box, ` ${path}`);
    const row = document.createElement("div");
    row.append(label);
    // In path order, as the server lists them.
    const after = [...list.children].find((other) => other.textContent.trim().localeCompare(path) > 0);
    list.insertBefore(row, after || null);
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }
  for (const select of selectsNamed("-category")) addOption(select, id, path);
  document.getElementById("add-mode").close();
});

// A person added in their dialog (accounts/views.py): offered as every remediation's owner, and
// chosen as the owner of the remediation whose owner was last touched (or the last one).
let lastOwner = null;
document.addEventListener("focusin", (event) => {
  if (event.target.matches && event.target.matches("select[name$='-owner']")) lastOwner = event.target;
});
document.addEventListener("personAdded", (event) => {
  const id = String(event.detail.id);
  const selects = selectsNamed("-owner");
  for (const select of selects) addOption(select, id, event.detail.username);
  const shown = selects.filter((select) => select.isConnected);
  const target = lastOwner && lastOwner.isConnected ? lastOwner : shown[shown.length - 1];
  if (target) target.value = id;
  document.getElementById("add-person").close();
});
