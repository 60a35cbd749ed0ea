// Completion of names after "@" in the composer (issue 25), for a signed-in reader, whose
// mentions reach accounts: while the text ends in "@" and the start of a name, a list offers the
// room's people whose names start so (those here now, then those who wrote in the log, newest
// first). Arrows move through it, Enter or Tab takes the name, Escape closes it; a press takes a
// name too.
//
// Plain JavaScript beside the page's WebAssembly, which it only reads from and types into (an
// "input" event, as typing makes): the same in WebAssembly cost the page about 2.9 KB gzip
// (measured; BENCHMARKS.md), more than its budget has left.
(() => {
  "use strict";
  const MAX = 6;
  const list = document.createElement("ul");
  list.id = "mention-list";
  list.className = "mention-list";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "People to mention");
  list.hidden = true;

  /** The text after the "@" that the input's text ends in, and where the "@" is; none when an
   * "@" inside a word (an address) or before a space ends it. */
  const typed = (text) => {
    const at = text.lastIndexOf("@");
    if (at < 0) return null;
    const after = text.slice(at + 1);
    if (/[\p{L}\p{N}_]/u.test(text.slice(0, at).slice(-1)) || /^\s/.test(after)) return null;
    return { at, after };
  };

  /** The room's people, each once: those here now, then the log's authors, newest first;
   * never the reader. */
  const people = () => {
    const me = (document.getElementById("account-name")?.textContent || "").toLowerCase();
    const here = [...document.querySelectorAll("#members li")];
    const authors = [...document.querySelectorAll("#messages li.message .name")]
      .filter((name) => !name.closest(".quote"))
      .reverse();
    const seen = new Set([me]);
    return [...here, ...authors]
      .map((element) => element.textContent.trim())
      .filter((name) => {
        const key = name.toLowerCase();
        if (!name || seen.has(key)) return false;
        seen.add(key);
        return true;
      });
  };

  const options = () => [...list.children];
  const chosen = () =>
    Math.max(0, options().findIndex((o) => o.getAttribute("aria-selected") === "true"));

  const choose = (input, at) => {
    options().forEach((option, i) => option.setAttribute("aria-selected", String(i === at)));
    input.setAttribute("aria-activedescendant", `mention-list-${at}`);
  };

  const close = (input) => {
    list.hidden = true;
    list.replaceChildren();
    // Only a combobox (a signed-in reader's input) has these.
    if (input.getAttribute("role") !== "combobox") return;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  };

  /** Makes the input the list's combobox, for assistive technology. */
  const prepare = (input) => {
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    if (!input.hasAttribute("aria-expanded")) input.setAttribute("aria-expanded", "false");
  };
  const composer = document.getElementById("composer-input");
  if (composer && document.getElementById("account-name")) prepare(composer);

  /** Offers the names the input's text could be completed with, or closes the list. */
  const refresh = (input) => {
    const found = document.getElementById("account-name") && typed(input.value);
    const query = found ? found.after.toLowerCase() : null;
    const names =
      query === null
        ? []
        : people()
            .filter((name) => name.toLowerCase().startsWith(query))
            .slice(0, MAX);
    if (!names.length) return close(input);
    prepare(input);
    // In the room's landmark, once the page is running (not while it takes the server's
    // markup over).
    if (!list.isConnected) (input.closest("main") || document.body).append(list);
    list.replaceChildren(
      ...names.map((name, i) => {
        const option = document.createElement("li");
        option.id = `mention-list-${i}`;
        option.setAttribute("role", "option");
        option.textContent = name;
        return option;
      }),
    );
    // Just above the input, from its left edge.
    const box = input.getBoundingClientRect();
    list.style.left = `${box.left}px`;
    list.style.bottom = `${window.innerHeight - box.top}px`;
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    choose(input, 0);
  };

  /** Completes the input's text with `name` and a space, and tells the page. */
  const take = (input, name) => {
    const found = typed(input.value);
    if (found) {
      input.value = `${input.value.slice(0, found.at)}@${name} `;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
    close(input);
    input.focus();
  };

  document.addEventListener("input", (event) => {
    if (event.target.id === "composer-input") refresh(event.target);
  });
  // Before the page's own handlers (capture), so that Enter takes a name instead of sending,
  // and Escape closes the list instead of cancelling an edit.
  document.addEventListener(
    "keydown",
    (event) => {
      const input = event.target;
      if (input.id !== "composer-input" || list.hidden) return;
      const count = options().length;
      const at = chosen();
      if (event.key === "ArrowDown") choose(input, (at + 1) % count);
      else if (event.key === "ArrowUp") choose(input, (at + count - 1) % count);
      else if (event.key === "Enter" || event.key === "Tab") take(input, options()[at].textContent);
      else if (event.key === "Escape") close(input);
      else return;
      event.preventDefault();
      event.stopPropagation();
    },
    true,
  );
  list.addEventListener("mousedown", (event) => {
    // Keeps the focus in the input.
    event.preventDefault();
    const option = event.target.closest("[role=option]");
    const input = document.getElementById("composer-input");
    if (option && input) take(input, option.textContent);
  });
  // The list follows the input's text only: leaving the input closes it.
  document.addEventListener("focusout", (event) => {
    if (event.target.id === "composer-input") close(event.target);
  });
})();
