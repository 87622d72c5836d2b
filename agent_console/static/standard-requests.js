// A contact's page: standard requests (password reset, role change). The agent picks a
// template and answers its questions; the server makes the ticket and closes it as
// solved on first contact, with the answers in its history (the audit trail).
"use strict";
hl.standardRequests = (() => {
  const $ = (id) => document.getElementById(id), t = hl.t.bind(hl);
  let list = [], contactId = null;

  function fields() {
    const chosen = list.find((x) => x.key === $("sr-template").value);
    $("sr-fields").replaceChildren(...(chosen ? chosen.fields : []).map((name) =>
      hl.el("label", { class: "field" }, hl.el("span", { text: t(`sr.field.${name}`) }),
        hl.el("input", { name: `fields.${name}`, id: `sr-${name}`, maxlength: 200, required: true, autocomplete: "off" }))));
  }

  async function render(id) {
    contactId = id;
    if (!list.length) list = await hl.api("GET", "/api/standard-requests");
    const select = $("sr-template"), keep = select.value;
    select.replaceChildren(...list.map((x) => hl.el("option", { value: x.key, text: t(`sr.template.${x.key}`) })));
    if (keep) select.value = keep;
    const typed = Object.fromEntries([...$("sr-fields").querySelectorAll("input")].map((i) => [i.name, i.value]));
    fields();
    for (const [name, value] of Object.entries(typed)) { const i = $("sr-fields").querySelector(`[name="${CSS.escape(name)}"]`); if (i) i.value = value; }
  }

  async function submit(ev) {
    ev.preventDefault();
    const form = $("sr-form"); hl.forms.clear(form);
    const answers = Object.fromEntries([...$("sr-fields").querySelectorAll("input")].map((i) => [i.name.slice(7), i.value]));
    try {
      const tk = await hl.api("POST", "/api/standard-requests", { template: $("sr-template").value, contact_id: contactId, fields: answers });
      fields();
      $("sr-result").replaceChildren(t("sr.done", { number: tk.number }), " ", hl.el("a", { href: `/tickets/${tk.id}`, text: t("sr.open_ticket") }));
    } catch (e) { hl.forms.show(form, e); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("sr-template").addEventListener("change", fields);
    $("sr-form").addEventListener("submit", submit);
  });
  return { render };
})();
