// The little JavaScript the pages need. Everything works without it.
// A [data-hover-disclosure] <details> also opens on hover and on keyboard focus.
document.querySelectorAll("details[data-hover-disclosure]").forEach((details) => {
  let openedByHover = false;
  const show = () => {
    if (!details.open) { details.open = true; openedByHover = true; }
  };
  const hide = () => {
    if (openedByHover && !details.matches(":hover") && !details.contains(document.activeElement)) {
      details.open = false;
      openedByHover = false;
    }
  };
  details.addEventListener("mouseenter", show);
  details.addEventListener("mouseleave", hide);
  details.addEventListener("focusin", show);
  details.addEventListener("focusout", () => setTimeout(hide, 0));
  // A click on the summary after a hover-open keeps it open rather than closing it.
  details.querySelector("summary").addEventListener("click", (event) => {
    if (openedByHover) { event.preventDefault(); openedByHover = false; }
  });
  details.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { details.open = false; openedByHover = false; }
  });
});

// The operation form shows the planned window only for a maintenance.
document.querySelectorAll("select[name=kind]").forEach((kind) => {
  const windowFields = kind.form && kind.form.querySelector(".window-fields");
  if (!windowFields) return;
  const sync = () => { windowFields.hidden = kind.value !== "maintenance"; };
  kind.addEventListener("change", sync);
  sync();
});

// A linked thread's incident box stays live: refreshed every minute while the page is open.
document.querySelectorAll("[data-refresh]").forEach((box) => {
  const refresh = async () => {
    if (document.hidden) return;
    try {
      const response = await fetch(box.dataset.refresh, { headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html")
        .querySelector("[data-refresh]");
      if (fresh && fresh.innerHTML !== box.innerHTML) box.innerHTML = fresh.innerHTML;
    } catch (error) {
      // Offline for a moment: the box keeps what it showed.
    }
  };
  setInterval(refresh, 60_000);
});

// An update that closes an operation notifies the Travaux list unless unticked.
document.querySelectorAll("form select[name=status]").forEach((status) => {
  const notify = status.form.querySelector("input[name=notify]");
  if (!notify || status.form.querySelector("select[name=kind]")) return;
  let touched = false;
  notify.addEventListener("change", () => { touched = true; });
  status.addEventListener("change", () => {
    if (!touched) notify.checked = ["resolved", "completed", "cancelled"].includes(status.value);
  });
});

// The new-thread form: as the title is typed, the ongoing operations and similar reports
// (search's box) appear above it; without JavaScript they come after a first "Continue".
document.querySelectorAll("form[data-similar]").forEach((form) => {
  const title = form.querySelector("input[name=title]");
  const slot = document.querySelector(".similar-slot");
  const button = form.querySelector("button[data-publish-label]");
  if (!title || !slot) return;
  if (!form.querySelector("input[name=checked]")) {
    const checked = document.createElement("input");
    Object.assign(checked, { type: "hidden", name: "checked", value: "1" });
    form.append(checked);
  }
  if (button) button.textContent = button.dataset.publishLabel;
  let timer = null;
  let asked = "";
  const ask = async () => {
    const service = form.querySelector("select[name=service]");
    const text = title.value.trim();
    const key = `${text}\n${service ? service.value : ""}`;
    if (key === asked) return;
    asked = key;
    if (text.length < 4) { slot.innerHTML = ""; return; }
    try {
      const service = form.querySelector("select[name=service]");
      const params = { title: text };
      if (service && service.value) params.service = service.value;
      const url = `${form.dataset.similar}?${new URLSearchParams(params)}`;
      const response = await fetch(url, { headers: { Accept: "text/html" } });
      if (response.ok && asked === key) {
        slot.innerHTML = await response.text();
        // The box lists the operations in progress too: the page's own notice steps aside.
        const notice = document.querySelector(".ongoing-notice");
        if (notice) notice.hidden = slot.querySelector(".similar-box") !== null;
      }
    } catch (error) {
      // Offline for a moment: the box keeps what it showed.
    }
  };
  title.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(ask, 300); });
  const service = form.querySelector("select[name=service]");
  if (service) service.addEventListener("change", ask);
  if (title.value) ask();
});
