// The incident form keeps what is typed (issue 15, "Nothing typed is lost"):
// - autosave: a few seconds after typing stops (and at least every few seconds while it goes
//   on), the form's fields are POSTed to its data-draft-url as the user's server-side draft;
// - leave warning: leaving the page with changes that were not saved asks first (not when
//   the form itself is submitted, nor when the restored draft is discarded).
// Self-contained: it only touches a form with data-draft-url and its [data-draft-status].
"use strict";

(() => {
  const form = document.querySelector("form[data-draft-url]");
  if (!form) return;
  const status = form.querySelector("[data-draft-status]");
  const QUIET_MS = 1500; // save this long after the last keystroke…
  const EVERY_MS = 5000; // …or this long after the first unsaved one, whichever comes first

  // What the form holds, as it would be sent (the CSRF token aside).
  const snapshot = () => {
    const data = new FormData(form);
    data.delete("csrfmiddlewaretoken");
    return new URLSearchParams(data).toString();
  };
  const loaded = snapshot();
  let lastSaved = loaded;
  let leaving = false; // the form is being submitted, or the draft discarded
  let quiet = null;
  let first = null;

  // A restored draft, or a form sent back with messages, is itself unsaved work.
  const hasUnsavedChanges = () =>
    !leaving && (form.hasAttribute("data-unsaved") || snapshot() !== loaded);

  const say = (text) => {
    if (status) status.textContent = text;
  };

  async function save() {
    clearTimeout(quiet);
    clearTimeout(first);
    quiet = first = null;
    const now = snapshot();
    if (leaving || now === lastSaved) return;
    const token = form.querySelector("input[name=csrfmiddlewaretoken]");
    try {
      const response = await fetch(form.dataset.draftUrl, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRFToken": token ? token.value : "" },
        credentials: "same-origin",
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) lastSaved = now;
      say(answer.message || (response.ok ? "Draft saved." : "The draft could not be saved."));
    } catch (error) {
      say("The draft could not be saved (offline?): keep this page open.");
    }
  }

  const typed = () => {
    if (leaving) return;
    clearTimeout(quiet);
    quiet = setTimeout(save, QUIET_MS);
    if (first === null) first = setTimeout(save, EVERY_MS);
  };
  form.addEventListener("input", typed);
  form.addEventListener("change", typed);

  form.addEventListener("submit", () => {
    leaving = true;
    clearTimeout(quiet);
    clearTimeout(first);
  });
  const discard = document.querySelector("form[data-discard-draft]");
  if (discard) discard.addEventListener("submit", () => {
    leaving = true;
  });

  window.addEventListener("beforeunload", (event) => {
    if (!hasUnsavedChanges()) return;
    event.preventDefault();
    event.returnValue = ""; // older browsers need it set to show the question
  });
})();
