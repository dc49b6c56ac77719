// The Markdown editor (every textarea.markdown-source): it grows with its text, and its live
// preview (the element whose hx-include names the textarea) follows the cursor. Self-contained:
// no other script depends on it, and it only sets inline styles through the CSSOM (the CSP
// forbids style attributes in markup, not this).
"use strict";

(() => {
  const WIDE = window.matchMedia("(min-width: 60rem)"); // the editor's two columns (once.css)

  function previewOf(textarea) {
    if (!textarea.id) return null;
    return document.querySelector(`[hx-include="#${CSS.escape(textarea.id)}"]`);
  }

  // Grow (never shrink below the height the page gave it) to show every line.
  function grow(textarea) {
    if (!textarea.dataset.minHeight) {
      textarea.dataset.minHeight = String(textarea.getBoundingClientRect().height);
    }
    const border = textarea.offsetHeight - textarea.clientHeight;
    textarea.style.height = "auto";
    const wanted = Math.max(textarea.scrollHeight + border, Number(textarea.dataset.minHeight));
    textarea.style.height = `${wanted}px`;
  }

  // Beside the editor, the preview stays on screen and scrolls on its own.
  function pin(preview) {
    const pane = preview.closest(".preview-pane") || preview;
    if (WIDE.matches && pane.closest(".editor")) {
      pane.style.position = "sticky";
      pane.style.top = "0.5rem";
      pane.style.alignSelf = "start";
      preview.style.maxHeight = "calc(100vh - 3rem)";
      preview.style.overflowY = "auto";
    } else {
      pane.style.position = "";
      preview.style.maxHeight = "";
      preview.style.overflowY = "";
    }
  }

  // Where the cursor is, as "the n-th heading, and this far through its section": headings are
  // the landmarks both sides share, whatever the Markdown between them renders to.
  function cursorPlace(textarea) {
    const lines = textarea.value.slice(0, textarea.selectionStart).split("\n");
    const all = textarea.value.split("\n");
    let fence = false;
    let heading = -1;
    let sectionStart = 0;
    const isHeading = (line) => /^#{1,6}\s/.test(line);
    lines.forEach((line, n) => {
      if (/^\s{0,3}(```|~~~)/.test(line)) fence = !fence;
      else if (!fence && isHeading(line)) {
        heading += 1;
        sectionStart = n;
      }
    });
    let sectionEnd = all.length;
    fence = false;
    for (let n = 0; n < all.length; n += 1) {
      if (/^\s{0,3}(```|~~~)/.test(all[n])) fence = !fence;
      else if (n >= lines.length && !fence && isHeading(all[n])) {
        sectionEnd = n;
        break;
      }
    }
    const span = Math.max(sectionEnd - sectionStart, 1);
    return { heading, fraction: (lines.length - 1 - sectionStart) / span };
  }

  function follow(textarea) {
    const preview = previewOf(textarea);
    if (!preview || preview.scrollHeight <= preview.clientHeight) return;
    const { heading, fraction } = cursorPlace(textarea);
    const headings = preview.querySelectorAll("h1, h2, h3, h4, h5, h6");
    const top = (element) =>
      element.getBoundingClientRect().top - preview.getBoundingClientRect().top + preview.scrollTop;
    let start = 0;
    let end = preview.scrollHeight;
    if (heading >= 0 && headings[heading]) {
      start = top(headings[heading]);
      end = headings[heading + 1] ? top(headings[heading + 1]) : preview.scrollHeight;
    } else if (headings[0]) {
      end = top(headings[0]);
    }
    const target = start + (end - start) * Math.min(Math.max(fraction, 0), 1);
    preview.scrollTop = Math.max(target - preview.clientHeight / 3, 0);
  }

  function setUp(textarea) {
    if (textarea.dataset.editor) return;
    textarea.dataset.editor = "on";
    grow(textarea);
    const preview = previewOf(textarea);
    if (preview) pin(preview);
    const update = () => follow(textarea);
    textarea.addEventListener("input", () => {
      grow(textarea);
      update();
    });
    for (const name of ["keyup", "click", "focus"]) textarea.addEventListener(name, update);
  }

  function setUpAll(root) {
    root.querySelectorAll("textarea.markdown-source").forEach(setUp);
  }

  document.addEventListener("DOMContentLoaded", () => setUpAll(document));
  // New editors arrive with htmx (dialogs, formset rows); a new preview keeps the place.
  document.addEventListener("htmx:afterSettle", (event) => {
    setUpAll(event.target);
    const textarea = document.activeElement;
    if (textarea && textarea.matches && textarea.matches("textarea.markdown-source")) {
      follow(textarea);
    }
  });
  WIDE.addEventListener("change", () => {
    document.querySelectorAll("textarea.markdown-source").forEach((textarea) => {
      const preview = previewOf(textarea);
      if (preview) pin(preview);
      grow(textarea);
    });
  });
})();
