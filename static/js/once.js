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

// Pictures in a report: paste, drop or choose an image; it is uploaded (reports/image_views.py)
// and its Markdown goes where the cursor was, first as "Uploading…", then as the image. The
// input event lets the preview, and anything else watching the text, see the change.
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
const IMAGE_MAX_BYTES = 10 * 1024 * 1024;

function imageBox(element) {
  return element.closest("[data-image-upload]");
}

function replaceInText(textarea, before, after) {
  const at = textarea.value.indexOf(before);
  if (at === -1) return;
  const cursor = textarea.selectionStart;
  textarea.value = textarea.value.slice(0, at) + after + textarea.value.slice(at + before.length);
  if (cursor > at) textarea.selectionStart = textarea.selectionEnd = cursor + after.length - before.length;
  textarea.dispatchEvent(new Event("input", { bubbles: true }));
}

function showImageStatus(box, message, isError) {
  const status = box.querySelector("[data-image-status]");
  status.textContent = message;
  status.classList.toggle("error", Boolean(isError));
}

function uploadImage(box, file) {
  const textarea = box.querySelector("textarea");
  const name = file.name || "image";
  if (!IMAGE_TYPES.includes(file.type)) {
    showImageStatus(box, `${name}: only PNG, JPEG, GIF and WebP images can be added.`, true);
    return;
  }
  if (file.size > IMAGE_MAX_BYTES) {
    showImageStatus(box, `${name}: this image is larger than 10 MB. Make it smaller and upload it again.`, true);
    return;
  }
  // A placeholder unique to this upload, so several at once each find their own.
  const start = textarea.selectionStart;
  const end = textarea.selectionEnd;
  // The picture is a paragraph of its own: glued to the line the cursor is on, it would
  // swallow a heading ("![…](…)## Impact": an untouched report's cursor is at its start)
  // or split a sentence. The blank lines go with the placeholder if the upload fails.
  const before = textarea.value.slice(0, start);
  const after = textarea.value.slice(end);
  const lead = before === "" || before.endsWith("\n\n") ? "" : before.endsWith("\n") ? "\n" : "\n\n";
  const tail = after === "" || after.startsWith("\n\n") ? "" : after.startsWith("\n") ? "\n" : "\n\n";
  const placeholder = `${lead}![Uploading ${name.replace(/[\[\]()]/g, "")}… #${Math.random().toString(36).slice(2, 8)}]()${tail}`;
  textarea.value = textarea.value.slice(0, start) + placeholder + textarea.value.slice(end);
  textarea.selectionStart = textarea.selectionEnd = start + placeholder.length;
  textarea.dispatchEvent(new Event("input", { bubbles: true }));
  showImageStatus(box, `Uploading ${name}…`, false);
  const form = box.closest("form");
  uploadStarted(form);
  const body = new FormData();
  body.append("image", file, name);
  const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  fetch(box.dataset.imageUpload, {
    method: "POST",
    body: body,
    headers: { "X-CSRFToken": token, Accept: "application/json" },
    credentials: "same-origin",
  })
    .then((response) => response.json().catch(() => ({})).then((data) => ({ response, data })))
    .then(({ response, data }) => {
      if (response.ok && data.markdown) {
        replaceInText(textarea, placeholder, lead + data.markdown + tail);
        showImageStatus(box, `${name} added.`, false);
        uploadEnded(form, box, true);
      } else {
        replaceInText(textarea, placeholder, "");
        showImageStatus(box, `${name}: ${data.error || "the image could not be uploaded. Try again."}`, true);
        uploadEnded(form, box, false);
      }
    })
    .catch(() => {
      replaceInText(textarea, placeholder, "");
      showImageStatus(box, `${name}: the image could not be uploaded (no connection?). Try again.`, true);
      uploadEnded(form, box, false);
    });
}

// Saving while a picture uploads would save its "Uploading…" placeholder and lose the picture
// (issue 15): the form waits for its uploads, then saves itself; if one fails, it says so and
// waits for another click on Save. The server refuses a placeholder anyway (reports/forms.py).
function uploadStarted(form) {
  form.dataset.uploading = String(Number(form.dataset.uploading || 0) + 1);
}

function uploadEnded(form, box, ok) {
  const left = Math.max(0, Number(form.dataset.uploading || 0) - 1);
  form.dataset.uploading = String(left);
  if (!form.dataset.saveAfterUploads) return;
  if (!ok) {
    delete form.dataset.saveAfterUploads;
    box.querySelector("[data-image-status]").textContent += " Nothing was saved yet: save again when ready.";
    return;
  }
  if (left === 0) {
    delete form.dataset.saveAfterUploads;
    form.requestSubmit();
  }
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  const left = Number(form.dataset.uploading || 0);
  if (!left) return;
  // Before the form's own submit listeners (static/js/drafts.js): this is not a save yet.
  event.preventDefault();
  event.stopImmediatePropagation();
  form.dataset.saveAfterUploads = "1";
  const box = form.querySelector("[data-image-upload]");
  const pictures = left === 1 ? "a picture is" : `${left} pictures are`;
  if (box) showImageStatus(box, `Saving as soon as ${pictures} uploaded…`, false);
}, true);

function imageFiles(list) {
  return Array.from(list || []).filter((file) => file.type.startsWith("image/"));
}

document.addEventListener("paste", (event) => {
  const box = event.target.closest && imageBox(event.target);
  if (!box || event.target.tagName !== "TEXTAREA") return;
  const files = imageFiles(event.clipboardData && event.clipboardData.files);
  if (!files.length) return; // plain text pastes as usual
  event.preventDefault();
  files.forEach((file) => uploadImage(box, file));
});

document.addEventListener("dragover", (event) => {
  const box = event.target.closest && imageBox(event.target);
  if (!box || !event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
  event.preventDefault();
  box.classList.add("dragging");
});

document.addEventListener("dragleave", (event) => {
  const box = event.target.closest && imageBox(event.target);
  if (box) box.classList.remove("dragging");
});

document.addEventListener("drop", (event) => {
  const box = event.target.closest && imageBox(event.target);
  if (!box || !event.dataTransfer || !event.dataTransfer.files.length) return;
  event.preventDefault();
  box.classList.remove("dragging");
  const textarea = box.querySelector("textarea");
  textarea.focus();
  Array.from(event.dataTransfer.files).forEach((file) => uploadImage(box, file));
});

document.addEventListener("change", (event) => {
  if (!event.target.matches("[data-image-chooser]")) return;
  const box = imageBox(event.target);
  Array.from(event.target.files).forEach((file) => uploadImage(box, file));
  event.target.value = ""; // the same file can be chosen again
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

// A person added in their dialog (accounts/views.py): offered to every owner input (the page's
// one <datalist id="people">, templates/common/_people.html), and typed as the owner of the
// remediation whose owner was last touched (or the last one).
let lastOwner = null;
document.addEventListener("focusin", (event) => {
  if (event.target.matches && event.target.matches("input[name$='-owner']")) lastOwner = event.target;
});
document.addEventListener("personAdded", (event) => {
  const username = event.detail.username;
  const people = document.getElementById("people");
  if (people && ![...people.options].some((option) => option.value === username)) {
    people.append(new Option(username, username));
  }
  const form = document.querySelector("form.incident-form");
  const shown = form ? [...form.querySelectorAll("input[name$='-owner']")] : [];
  const target = lastOwner && lastOwner.isConnected ? lastOwner : shown[shown.length - 1];
  if (target) target.value = username;
  document.getElementById("add-person").close();
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
