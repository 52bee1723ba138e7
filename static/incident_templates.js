// "Start from a template" (templates/travaux/_template_picker.html): choosing a template
// fills the form in place; without this script the picker is a GET form that does the same.
(function () {
  "use strict";

  function setValue(form, name, value) {
    var field = form.elements.namedItem(name);
    if (!field || value === undefined) return;
    if (field.tagName === "SELECT") {
      var known = Array.prototype.some.call(field.options, function (o) { return o.value === value; });
      if (!known) return; // a status this form does not offer: left out, as on the server
    }
    field.value = value;
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function fill(form, fields) {
    setValue(form, "title", fields.title);
    setValue(form, "message", fields.message);
    setValue(form, "impact", fields.impact);
    setValue(form, "status", fields.status);
    if (fields.services) {
      var wanted = fields.services.map(String);
      form.querySelectorAll('input[type="checkbox"][name="services"]').forEach(function (box) {
        box.checked = wanted.indexOf(box.value) !== -1;
      });
    }
  }

  document.querySelectorAll("[data-template-picker]").forEach(function (picker) {
    var target = document.getElementById(picker.dataset.target);
    var templates = JSON.parse(picker.dataset.templates || "[]");
    var select = picker.querySelector("select");
    var done = picker.querySelector("[data-template-done]");
    if (!target || !select) return;
    picker.querySelector('button[type="submit"]').hidden = true;
    select.addEventListener("change", function () {
      var chosen = templates.filter(function (t) { return t.name === select.value; })[0];
      if (!chosen) return;
      fill(target, chosen.fields);
      done.textContent = picker.dataset.doneText || "";
      done.hidden = !done.textContent;
    });
  });
})();
