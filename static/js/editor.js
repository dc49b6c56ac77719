// The Markdown editor (every textarea.markdown-source): it grows with its text, and its live
// preview (the element whose hx-include names the textarea) follows the cursor. Self-contained:
// no other script depends on it. It sets no inline style at all: htmx copies an element's
// style attribute when it swaps content, and the CSP (style-src 'self') refuses that. Growing
// is CSS (`field-sizing: content`, once.css); pinning the preview is the class `pinned`.
"use strict";

(() => {
  const WIDE = window.matchMedia("(min-width: 60rem)"); // the editor's two columns (once.css)

  function previewOf(textarea) {
    if (!textarea.id) return null;
    return document.querySelector(`[hx-include="#${CSS.escape(textarea.id)}"]`);
  }

  // Beside the editor, the preview stays on screen and scrolls on its own (.pinned, once.css).
  function pin(preview) {
    const pane = preview.closest(".preview-pane") || preview;
    const on = WIDE.matches && Boolean(pane.closest(".editor"));
    pane.classList.toggle("pinned", on);
    preview.classList.toggle("pinned-preview", on);
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
    const preview = previewOf(textarea);
    if (preview) pin(preview);
    const update = () => follow(textarea);
    textarea.addEventListener("input", update);
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
    });
  });
})();
