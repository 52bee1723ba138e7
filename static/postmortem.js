// The postmortem editor: the draft saved on the server as one types (a second after the last
// key, at most every few seconds), and the preview rendered by the server's own pipeline.
// Without JavaScript, the form's "Save draft" and "Preview" buttons do the same.
document.querySelectorAll("form.postmortem-editor").forEach((form) => {
  const body = form.querySelector("textarea[name=body]");
  const state = form.querySelector(".draft-state");
  const token = form.querySelector("input[name=csrf_token]").value;
  const previewBox = document.querySelector(".postmortem-preview");
  let timer = null;
  let saved = body.value;
  let saving = false;

  const post = (url) => {
    const data = new FormData();
    data.append("csrf_token", token);
    data.append("body", body.value);
    return fetch(url, { method: "POST", body: data, credentials: "same-origin",
                        headers: { "X-CSRFToken": token } });
  };

  const save = async () => {
    timer = null;
    if (saving || body.value === saved) return;
    saving = true;
    const text = body.value;
    state.textContent = form.dataset.saving;
    try {
      const response = await post(form.dataset.draftUrl);
      const answer = await response.json();
      if (response.ok) {
        saved = text;
        state.textContent = answer.message;
      } else {
        state.textContent = answer.error || form.dataset.failed;
      }
    } catch (error) {
      state.textContent = form.dataset.failed;
    } finally {
      saving = false;
      if (body.value !== saved && timer === null) timer = setTimeout(save, 1000);
    }
  };

  body.addEventListener("input", () => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(save, 1000);
  });

  const previewButton = form.querySelector("button[value=preview]");
  let byServer = false;  // the preview asked of the page's own form, when fetch fails
  if (previewButton && previewBox) {
    previewButton.addEventListener("click", async (event) => {
      if (byServer) return;
      event.preventDefault();
      try {
        const response = await post(form.dataset.previewUrl);
        if (!response.ok) throw new Error(String(response.status));
        // The server's sanitized HTML (board/markup.py), as the published page will show it.
        previewBox.querySelector(".preview-body").innerHTML = await response.text();
        previewBox.hidden = false;
        previewBox.scrollIntoView({ block: "nearest" });
      } catch (error) {
        byServer = true;
        previewButton.click();
      }
    });
  }
});
