// /admin/templates: the texts of the mails callers get (created, escalated, resolved; German
// and English). An admin picks one, edits subject and text, previews it with a sample
// ticket, saves it or restores the default. A text the server refuses (422
// template_invalid) is explained by its problem code in the page's language.
"use strict";
(() => {
  const P = hl.page, $ = (id) => document.getElementById(id), t = hl.t.bind(hl);
  const form = $("template-form");
  let all = [];

  const current = () => all.find((x) => x.kind === form.elements.kind.value && x.language === form.elements.language.value);
  const url = (suffix = "") => `/api/admin/notice-templates/${form.elements.kind.value}/${form.elements.language.value}${suffix}`;
  const body = () => ({ subject: form.elements.subject.value, body: form.elements.body.value });

  function problem(err) {
    const d = err.data || {};
    if (d.code !== "template_invalid") return hl.errorText(err);
    const tpl = current(), field = t(d.field === "subject" ? "admin.subject" : "admin.body");
    return t(`admin.problem.${d.problem}`, { field, names: (d.names || []).map((n) => `$${n}`).join(", "),
                                             list: tpl ? tpl.placeholders.map((n) => `$${n}`).join(", ") : "" });
  }

  function show() {
    const tpl = current();
    if (!tpl) return;
    form.elements.subject.value = tpl.subject;
    form.elements.body.value = tpl.body;
    $("placeholders").textContent = t("admin.placeholders", { list: tpl.placeholders.map((n) => `$${n}`).join(", ") });
    $("template-state").textContent = tpl.is_default ? t("admin.is_default")
      : t("admin.changed_by", { who: tpl.updated_by, when: hl.fmt.dateTime(tpl.updated_at) });
    $("template-error").textContent = "";
    $("preview-box").hidden = true;
  }

  async function act(fn) {
    $("template-error").textContent = "";
    try { await fn(); } catch (err) { $("template-error").textContent = problem(err); }
  }

  async function render() {
    if (!hl.me || hl.me.role !== "admin") { form.hidden = true; throw new Error(t("admin.only")); }
    all = await hl.api("GET", "/api/admin/notice-templates");
    show();
  }

  form.elements.kind.onchange = show;
  form.elements.language.onchange = show;
  $("preview").onclick = () => act(async () => {
    const out = await hl.api("POST", url("/preview"), body());
    $("preview-subject").textContent = out.subject;
    $("preview-body").textContent = out.body;
    $("preview-box").hidden = false;
  });
  form.onsubmit = (e) => { e.preventDefault(); act(async () => {
    const saved = await hl.api("PUT", url(), body());
    all = all.map((x) => (x.kind === saved.kind && x.language === saved.language ? saved : x));
    show(); P.say(t("admin.saved"), true);
  }); };
  $("reset").onclick = () => act(async () => {
    await hl.api("DELETE", url());
    all = await hl.api("GET", "/api/admin/notice-templates");
    show(); P.say(t("admin.reset_done"), true);
  });

  P.start(render);
})();
