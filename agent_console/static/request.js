// The public request form (/request): no login. A form token (and its cookie) comes from
// /api/request/token; the attachment goes as base64 in the JSON body. The answer is the
// new ticket's number, shown with textContent; nothing else comes back.
"use strict";
const form = document.getElementById("request"), lang = document.getElementById("lang");
const done = document.getElementById("done"), hint = document.getElementById("attachment-hint");
let limits = null;

function showHint() {
  if (!limits) return;
  const mb = limits.max_attachment_bytes / (1024 * 1024);
  hint.textContent = hl.t("req.attachment_hint", { size: hl.fmt.number(mb, { style: "unit", unit: "megabyte", maximumFractionDigits: 1 }) });
}
async function freshToken() {
  limits = await hl.api("GET", "/api/request/token");
  showHint();
}
function asBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
async function body() {
  const file = form.attachment.files[0];
  let attachment = null;
  if (file) {
    if (limits && file.size > limits.max_attachment_bytes) {
      const err = new Error(""); err.status = 413; err.data = { code: "attachment_too_large" }; throw err;
    }
    attachment = { filename: file.name, data: await asBase64(file) };
  }
  const value = (name) => form[name].value.trim();
  return { name: value("name"), email: value("email"), phone: value("phone"), organisation: value("organisation"),
           subject: value("subject"), description: form.description.value, website: form.website.value,
           attachment, csrf_token: limits ? limits.csrf_token : "" };
}

lang.value = hl.lang; hl.translatePage(); showHint();
lang.onchange = () => { hl.setLang(lang.value); hl.translatePage(); showHint(); hl.forms.clear(form); };
freshToken().catch((err) => { document.getElementById("error").textContent = hl.errorText(err); });
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  hl.forms.clear(form);
  const send = document.getElementById("send");
  send.disabled = true;
  try {
    const answer = await hl.api("POST", "/api/request", await body());
    document.getElementById("number").textContent = answer.number;
    form.hidden = true; done.hidden = false;
    document.getElementById("done-title").focus();
  } catch (err) {
    if (err.status === 422) hl.forms.show(form, err);
    else document.getElementById("error").textContent = hl.errorText(err);
    if (err.status === 403) await freshToken().catch(() => {});
  } finally {
    send.disabled = false;
  }
});
