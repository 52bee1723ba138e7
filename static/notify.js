// Quoting a selection and suggesting names after "@" (templates/forum/_compose.html).
// Without JavaScript, "Citer" opens the reply form with the whole post quoted, and a
// mention is typed by hand: @Display Name.
(() => {
  const script = document.currentScript;
  const settings = script ? script.dataset : {};

  // Quote a selection ----------------------------------------------------------------------
  const replyBox = document.querySelector(".reply-box textarea[name=body]");
  if (replyBox) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button small quote-selection";
    button.textContent = settings.quoteLabel || "Quote";
    button.hidden = true;
    document.body.appendChild(button);
    let chosen = null;

    const postOf = (node) => {
      const element = node && (node.nodeType === 1 ? node : node.parentElement);
      return element ? element.closest(".post") : null;
    };
    const hide = () => { button.hidden = true; chosen = null; };

    document.addEventListener("selectionchange", () => {
      const selection = window.getSelection();
      const text = selection ? selection.toString().trim() : "";
      const post = selection && selection.rangeCount ? postOf(selection.anchorNode) : null;
      if (!text || !post || post !== postOf(selection.focusNode)
          || !post.querySelector("[data-quote-post]")
          || !post.querySelector(".post-body").contains(selection.anchorNode)) {
        if (!button.matches(":hover, :focus")) hide();
        return;
      }
      const rect = selection.getRangeAt(0).getBoundingClientRect();
      button.style.top = `${window.scrollY + rect.bottom + 6}px`;
      button.style.left = `${window.scrollX + rect.left}px`;
      button.hidden = false;
      chosen = { text, post };
    });

    button.addEventListener("mousedown", (event) => event.preventDefault());  // keep the selection
    button.addEventListener("click", () => {
      if (!chosen) return;
      const { text, post } = chosen;
      const source = post.querySelector("[data-quote-post]");
      if (!source) return;
      const name = source.dataset.quoteAuthor.replace(/([\\`*_[\]()<>#!|~])/g, "\\$1");
      const url = source.dataset.quoteUrl;
      const head = (settings.quoteHead || "[{name}]({url}):").replace("{name}", name).replace("{url}", url);
      const quote = [head, ""].concat(text.split("\n")).map((line) => `> ${line}`.trimEnd()).join("\n");
      const before = replyBox.value && !replyBox.value.endsWith("\n\n") ? (replyBox.value.endsWith("\n") ? "\n" : "\n\n") : "";
      replyBox.value += `${before}${quote}\n\n`;
      replyBox.dispatchEvent(new Event("change", { bubbles: true }));  // drafts.js saves it
      hide();
      window.getSelection().removeAllRanges();
      replyBox.focus();
      replyBox.setSelectionRange(replyBox.value.length, replyBox.value.length);
      replyBox.scrollIntoView({ block: "center" });
    });
  }

  // Suggest names after "@" ------------------------------------------------------------------
  const suggestUrl = settings.suggest;
  if (!suggestUrl) return;
  const typedName = (box) => {
    const before = box.value.slice(0, box.selectionStart);
    const match = /(?:^|[^\w@.])@([^\s@][^@\n]{1,39})$/u.exec(before);
    return match ? match[1] : null;
  };

  document.querySelectorAll("textarea[name=body]").forEach((box) => {
    const list = document.createElement("ul");
    list.className = "mention-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", settings.suggestLabel || "Members");
    list.id = `mention-list-${box.id || "body"}`;
    list.hidden = true;
    box.insertAdjacentElement("afterend", list);
    box.setAttribute("aria-controls", list.id);
    box.setAttribute("aria-autocomplete", "list");
    let active = -1;
    let timer = null;
    let asked = "";

    const close = () => { list.hidden = true; list.replaceChildren(); active = -1; };
    const choose = (name) => {
      const typed = typedName(box);
      if (typed === null) return close();
      const start = box.selectionStart - typed.length;
      box.value = `${box.value.slice(0, start)}${name} ${box.value.slice(box.selectionStart)}`;
      box.setSelectionRange(start + name.length + 1, start + name.length + 1);
      box.dispatchEvent(new Event("change", { bubbles: true }));
      close();
      box.focus();
    };
    const highlight = (index) => {
      const items = list.querySelectorAll("li");
      items.forEach((item, i) => item.setAttribute("aria-selected", i === index ? "true" : "false"));
      active = index;
    };
    const show = (names) => {
      list.replaceChildren();
      names.forEach((name, i) => {
        const item = document.createElement("li");
        item.setAttribute("role", "option");
        item.id = `${list.id}-${i}`;
        item.textContent = name;
        item.addEventListener("mousedown", (event) => { event.preventDefault(); choose(name); });
        list.appendChild(item);
      });
      list.hidden = names.length === 0;
      highlight(names.length ? 0 : -1);
    };

    box.addEventListener("input", () => {
      clearTimeout(timer);
      const typed = typedName(box);
      // Two letters at least; a space ends the lookup once nothing matches any more.
      if (typed === null || typed.trim().length < 2) return close();
      timer = setTimeout(async () => {
        if (typed === asked) return;
        asked = typed;
        try {
          const url = new URL(suggestUrl, window.location.href);
          url.searchParams.set("q", typed);
          const response = await fetch(url,
                                       { headers: { Accept: "application/json" } });
          if (!response.ok) return close();
          const found = await response.json();
          if (typedName(box) !== typed) return;
          show(found.map((member) => member.name));
        } catch (error) {
          close();
        }
      }, 200);
    });
    box.addEventListener("keydown", (event) => {
      if (list.hidden) return;
      const items = list.querySelectorAll("li");
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + items.length) % items.length);
      } else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
        event.preventDefault();
        choose(items[active].textContent);
      } else if (event.key === "Escape") {
        close();
      }
    });
    box.addEventListener("blur", () => setTimeout(close, 150));
  });
})();
