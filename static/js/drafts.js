// The incident form keeps what is typed (issue 15, "Nothing typed is lost"):
// - autosave: a few seconds after typing stops (and at least every few seconds while it goes
//   on), the form's fields are POSTed to its data-draft-url as the user's server-side draft,
//   under the form's own key (input form_key), so two tabs keep a draft each;
// - signed out: once the session has ended the autosave is answered 401 (never the login
//   page): the page says so, and keeps the text in this browser (localStorage) until a later
//   autosave reaches the server; the form opened again after signing in brings it back;
// - leave warning: leaving the page with changes that were not saved asks first (not when
//   the form itself is submitted, nor when the restored draft is discarded).
// Self-contained: it only touches a form with data-draft-url, its [data-draft-status] and
// the page's [data-draft-kept] notice.
"use strict";

(() => {
  const form = document.querySelector("form[data-draft-url]");
  if (!form) return;
  const status = form.querySelector("[data-draft-status]");
  const QUIET_MS = 1500; // save this long after the last keystroke…
  const EVERY_MS = 5000; // …or this long after the first unsaved one, whichever comes first
  const KEPT_DAYS = 14; // text kept in this browser is forgotten after this long
  const SKIP = new Set(["csrfmiddlewaretoken", "form_key", "draft_from"]);

  // The form's key: the server gives one; a form without (an older page) makes its own.
  const keyInput = form.querySelector("input[name=form_key]");
  const fromInput = form.querySelector("input[name=draft_from]");
  if (keyInput && !keyInput.value) {
    keyInput.value = Math.random().toString(36).slice(2) + Date.now().toString(36);
  }
  const formKey = () => (keyInput ? keyInput.value : "");

  // Text kept in this browser: one entry per form, for this user and this draft address.
  const PREFIX = `once-draft|${form.dataset.draftOwner || ""}|${form.dataset.draftUrl}|`;
  const storage = (() => {
    try {
      return window.localStorage;
    } catch (error) {
      return null; // storage disabled: the server's draft is all there is
    }
  })();
  const keep = (query) => {
    if (!storage) return;
    try {
      storage.setItem(PREFIX + formKey(), JSON.stringify({ at: Date.now(), query }));
    } catch (error) {
      /* full: nothing more to do */
    }
  };
  const forget = (key) => {
    if (storage && key) storage.removeItem(PREFIX + key);
  };
  const keptEntries = () => {
    if (!storage) return [];
    const found = [];
    for (let i = 0; i < storage.length; i += 1) {
      const name = storage.key(i);
      if (!name || !name.startsWith(PREFIX)) continue;
      try {
        const entry = JSON.parse(storage.getItem(name));
        if (Date.now() - entry.at > KEPT_DAYS * 86400000) storage.removeItem(name);
        else found.push({ key: name.slice(PREFIX.length), ...entry });
      } catch (error) {
        storage.removeItem(name);
      }
    }
    return found.sort((a, b) => b.at - a.at);
  };

  // What the form holds, as it would be sent (the CSRF token and the form's keys aside).
  const snapshot = () => {
    const data = new FormData(form);
    for (const name of SKIP) data.delete(name);
    return new URLSearchParams(data).toString();
  };
  const loaded = snapshot();
  let lastSaved = loaded;
  let leaving = false; // the form is being submitted, or the draft discarded
  let signedOut = false;
  let quiet = null;
  let first = null;

  // A restored draft, or a form sent back with messages, is itself unsaved work.
  const hasUnsavedChanges = () =>
    !leaving && (form.hasAttribute("data-unsaved") || snapshot() !== loaded);

  const say = (text) => {
    if (status) status.textContent = text;
  };

  // Put a kept snapshot back into the form's fields (rows the form doesn't have are skipped).
  const restore = (query) => {
    const params = new URLSearchParams(query);
    const seen = {};
    for (const field of form.elements) {
      const name = field.name;
      if (!name || SKIP.has(name) || field.type === "file" || field.type === "submit") continue;
      const values = params.getAll(name);
      if (field.type === "checkbox" || field.type === "radio") {
        field.checked = values.includes(field.value);
      } else if (field.tagName === "SELECT" && field.multiple) {
        for (const option of field.options) option.selected = values.includes(option.value);
      } else if (values.length) {
        const index = seen[name] || 0;
        seen[name] = index + 1;
        field.value = values[Math.min(index, values.length - 1)];
      }
    }
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
        headers: {
          "X-CSRFToken": token ? token.value : "",
          Accept: "application/json",
          "X-Requested-With": "XMLHttpRequest",
        },
        credentials: "same-origin",
        redirect: "manual", // a redirect (to the login page) is not a saved draft
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok && response.type !== "opaqueredirect") {
        lastSaved = now;
        signedOut = false;
        forget(formKey());
        if (fromInput) forget(fromInput.value);
        say(answer.message || "Draft saved.");
        return;
      }
      keep(now);
      if (response.status === 401 || response.type === "opaqueredirect") {
        signedOut = true;
        say(
          answer.message ||
            "You are signed out: your text is kept in this page (and this browser). " +
              "Sign in in another tab, then save.",
        );
      } else {
        say(answer.message || "The draft could not be saved: keep this page open.");
      }
    } catch (error) {
      keep(now);
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

  // Text kept in this browser that never reached the server (signed out, offline) comes back
  // into a form opened afresh, with a notice; the next autosave sends it. A form sent back
  // with messages holds what was sent last: it is left as it is.
  const kept = form.hasAttribute("data-posted") ? undefined : keptEntries()[0];
  if (kept && kept.query !== loaded) {
    restore(kept.query);
    if (fromInput) fromInput.value = kept.key; // its server draft is replaced by this form's
    form.setAttribute("data-unsaved", "");
    const notice = document.querySelector("[data-draft-kept]");
    if (notice) {
      // Written as every page writes a moment (common/dates.py): "2026-11-20 10:05 UTC".
      const when = new Date(kept.at).toISOString().slice(0, 16).replace("T", " ");
      notice.textContent =
        `Restored what you typed on ${when} UTC that could not be saved then (signed out or ` +
        "offline): check it, then save.";
      notice.hidden = false;
    }
    typed();
  }

  form.addEventListener("submit", () => {
    leaving = true;
    clearTimeout(quiet);
    clearTimeout(first);
    // Signed out, the save goes to the login page: the text stays in this browser. Signed
    // in, the page that answers the save holds it (saved, or sent back with messages).
    if (signedOut) {
      keep(snapshot());
    } else {
      forget(formKey());
      if (fromInput) forget(fromInput.value);
    }
  });
  const discard = document.querySelector("form[data-discard-draft]");
  if (discard) discard.addEventListener("submit", () => {
    leaving = true;
    for (const entry of keptEntries()) forget(entry.key);
  });

  window.addEventListener("beforeunload", (event) => {
    if (!hasUnsavedChanges()) return;
    event.preventDefault();
    event.returnValue = ""; // older browsers need it set to show the question
  });
})();
