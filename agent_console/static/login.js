// The login page's script (a file, not inline: the Content-Security-Policy allows
// scripts from this origin only).
const lang = document.getElementById("lang");
lang.value = hl.lang; hl.translatePage();
lang.onchange = () => { hl.setLang(lang.value); hl.translatePage(); };
document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  try {
    const me = await hl.api("POST", "/api/session", { username: f.username.value, password: f.password.value });
    location.href = me.role === "agent" ? "/console" : "/wallboard";
  } catch (err) {
    document.getElementById("error").textContent = err.status === 401 ? hl.t("wrong_login") : err.message;
  }
});
