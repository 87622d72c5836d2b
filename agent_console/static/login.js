// The login page (a file of its own: the Content-Security-Policy allows no inline script).
"use strict";
const form = document.getElementById("login"), lang = document.getElementById("lang");
const params = new URLSearchParams(location.search);
const notice = () => {
  const parts = [];
  if (params.get("expired")) parts.push(hl.t("session.expired"));
  if (params.get("drafts")) parts.push(hl.t("session.drafts_kept"));
  document.getElementById("expired").textContent = parts.join(" ");
};
lang.value = hl.lang; hl.translatePage(); notice();
lang.onchange = () => { hl.setLang(lang.value); hl.translatePage(); notice(); hl.forms.clear(form); };
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  hl.forms.clear(form);
  try {
    const me = await hl.api("POST", "/api/session", { username: form.username.value, password: form.password.value });
    location.href = hl.session.nextPath(location.search) || (me.role === "agent" ? "/console" : "/wallboard");
  } catch (err) {
    if (err.status === 422) hl.forms.show(form, err);
    else document.getElementById("error").textContent = err.status === 401 ? hl.t("wrong_login") : err.message;
  }
});
