// Drafts and the preview of the reply and new-thread forms (board/forum/writing.py).
// Without JavaScript everything still works: "Preview" and "Delete the draft" post the form
// to pages of their own, and a draft saved earlier comes back in the page itself.
// With it, the draft is saved 1.5 s after the last keystroke and when the page is left,
// and both buttons act in place.
document.querySelectorAll("[data-drafts]").forEach((tools) => {
  const form = tools.closest("form");
  const body = form && form.querySelector("textarea[name=body]");
  if (!body) return;
  const title = form.querySelector("input[name=title]");
  const status = tools.querySelector(".draft-status");
  const remove = tools.querySelector(".draft-delete");
  const previewButton = tools.querySelector("[data-preview-button]");
  const pane = form.querySelector(".preview-pane");
  const paneBody = pane.querySelector(".preview-body");
  const csrf = () => form.querySelector("input[name=csrf_token]").value;
  const snapshot = () => `${title ? title.value : ""}\u0000${body.value}`;
  // What the server keeps: on a page got by GET, the form holds the draft (or nothing); a page
  // shown again after a POST (preview, an error) holds text that may not be saved yet.
  let saved = "saved" in tools.dataset ? snapshot() : null;
  let timer = null;
  let inFlight = null;
  let leaving = false;

  const say = (text) => { status.textContent = text; };

  const save = async () => {
    timer = null;
    const text = snapshot();
    if (text === saved || leaving) return;
    inFlight = new AbortController();
    try {
      const response = await fetch(tools.dataset.draftUrl, {
        method: "POST", body: new FormData(form), signal: inFlight.signal,
        headers: { Accept: "application/json" },
      });
      if (response.status === 429) { say(tools.dataset.tooMany); return; }
      const answer = await response.json();
      if (response.ok) saved = text;
      say(answer.status);
      remove.hidden = !answer.saved;
    } catch (error) {
      if (!leaving && error.name !== "AbortError") say(tools.dataset.offline);
    } finally {
      inFlight = null;
    }
  };

  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(save, 1500);
  };
  // "change" too: text put in by another script (a quote) without an input event.
  for (const field of [body, title]) {
    if (!field) continue;
    field.addEventListener("input", later);
    field.addEventListener("change", later);
  }
  if (saved === null && body.value.trim()) later();

  // Leaving the page (another link, the tab closed, the phone locked): what was typed since
  // the last save goes out in a beacon, which the browser sends even as the page goes away.
  const flush = () => {
    if (leaving || snapshot() === saved) return;
    clearTimeout(timer);
    timer = null;
    if (navigator.sendBeacon(tools.dataset.draftUrl, new FormData(form))) saved = snapshot();
  };
  window.addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush();
  });

  const stopSaving = () => {
    clearTimeout(timer);
    timer = null;
    if (inFlight) inFlight.abort();
  };

  const showPreview = async () => {
    pane.hidden = false;
    paneBody.textContent = tools.dataset.loading;
    const data = new FormData();
    data.append("csrf_token", csrf());
    data.append("body", body.value);
    try {
      const response = await fetch(tools.dataset.previewUrl, { method: "POST", body: data });
      if (response.ok || response.status === 422) {
        // The server's fragment: the text rendered and sanitized by board/markup.py, or why not.
        paneBody.innerHTML = await response.text();
      } else {
        paneBody.textContent = response.status === 429 ? tools.dataset.tooMany : tools.dataset.offline;
      }
    } catch (error) {
      paneBody.textContent = tools.dataset.offline;
    }
  };

  const deleteDraft = async () => {
    stopSaving();
    const data = new FormData();
    data.append("csrf_token", csrf());
    try {
      const response = await fetch(tools.dataset.deleteUrl, {
        method: "POST", body: data, headers: { Accept: "application/json" },
      });
      if (!response.ok) { say(response.status === 429 ? tools.dataset.tooMany : tools.dataset.offline); return; }
    } catch (error) {
      say(tools.dataset.offline);
      return;
    }
    body.value = "";
    if (title) title.value = "";
    saved = snapshot();
    remove.hidden = true;
    pane.hidden = true;
    say(tools.dataset.deleted);
    body.focus();
  };

  form.addEventListener("submit", (event) => {
    if (event.submitter === previewButton) {
      event.preventDefault();
      showPreview();
    } else if (event.submitter === remove) {
      event.preventDefault();
      deleteDraft();
    } else {
      // Publishing: the server drops the draft with it; nothing may save it again after.
      leaving = true;
      stopSaving();
    }
  });
});
