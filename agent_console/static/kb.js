// The knowledge base (kb.html): search with ranked results, the article (HTML rendered and
// sanitised by the server: the one thing inserted as HTML), its versions, and the editor
// with a server-side preview. Everything else is text (textContent). The search is in the
// address (?q=, ?language=, ?id=) so it can be linked and reloaded.
"use strict";

const $ = (id) => document.getElementById(id);
const { el, t } = { el: hl.el.bind(hl), t: hl.t.bind(hl) };
const kb = { article: null, editing: null, lastList: null };

function say(text) { $("status").textContent = text || ""; }

// the server's sanitised article HTML (tickets.kb_render: markdown-it-py, raw HTML off, nh3)
function setArticleHtml(node, html) { node.innerHTML = html; }

function metaLine(a) {
  const parts = [t(`kb.lang.${a.language}`)];
  if (a.category) parts.push(a.category);
  parts.push(t(`kb.visibility.${a.visibility}`));
  return parts.join(" · ");
}

function setUrl(params) {
  const url = new URL(location.href);
  for (const [k, v] of Object.entries(params)) { if (v) url.searchParams.set(k, v); else url.searchParams.delete(k); }
  history.replaceState(null, "", url.pathname + url.search);
}

// --- results --------------------------------------------------------------------------
function renderHits(list, searched) {
  kb.lastList = { list, searched };
  const ol = $("hits");
  ol.replaceChildren();
  $("results-title").textContent = searched ? t("kb.results") : t("kb.recent");
  $("results-count").textContent = searched ? t("kb.hits", { count: list.length }) : "";
  for (const a of list) {
    const li = el("li", { "data-id": a.id, "aria-current": kb.article && kb.article.id === a.id ? "true" : null });
    li.append(el("button", { type: "button", class: "hit-title", text: a.title, onclick: () => openArticle(a.id) }));
    li.append(el("p", { class: "muted hit-meta", text: metaLine(a) }));
    if (a.snippet) li.append(el("p", { class: "snippet", text: a.snippet }));
    ol.append(li);
  }
  if (!list.length) ol.append(el("li", { class: "muted", text: searched ? t("kb.no_hits") : t("none") }));
}

async function runSearch() {
  const q = $("q").value.trim(), language = $("filter-language").value;
  setUrl({ q, language });
  try {
    if (q) {
      const params = new URLSearchParams({ q }); if (language) params.set("language", language);
      renderHits(await hl.api("GET", `/api/kb/search?${params}`), true);
    } else {
      renderHits(await hl.api("GET", `/api/kb/articles${language ? `?language=${language}` : ""}`), false);
    }
    say("");
  } catch (e) { say(e.message); }
}

// --- one article ----------------------------------------------------------------------
function mayEdit(a) { return !a || a.visibility !== "customer" || hl.me.role !== "agent"; }

function showArticle(a) {
  kb.article = a;
  $("editor").hidden = true;
  $("article").hidden = false;
  $("a-title").textContent = a.title;
  $("a-meta").textContent = `${metaLine(a)} · ${t("kb.updated", { who: a.updated_by, when: hl.fmt.dateTime(a.updated_at), version: a.version })} · ${a.solved_count ? t("kb.solved", { count: a.solved_count }) : t("kb.solved_none")}`;
  $("a-old").replaceChildren();
  setArticleHtml($("a-body"), a.html);
  $("edit").hidden = !mayEdit(a);
  $("versions").hidden = true;
  $("show-versions").setAttribute("aria-expanded", "false");
  document.querySelectorAll("#hits li[data-id]").forEach((li) => li.setAttribute("aria-current", String(Number(li.dataset.id) === a.id)));
  setUrl({ id: a.id });
}

async function openArticle(id) {
  try { showArticle(await hl.api("GET", `/api/kb/articles/${id}`)); say(""); }
  catch (e) { say(e.message); }
}

async function toggleVersions() {
  const box = $("versions"), open = box.hidden;
  box.hidden = !open;
  $("show-versions").setAttribute("aria-expanded", String(open));
  if (!open) return;
  try {
    const rows = await hl.api("GET", `/api/kb/articles/${kb.article.id}/versions`);
    $("version-rows").replaceChildren(...rows.map((v) => el("tr", { "data-version": v.version },
      el("td", { class: "num", text: hl.fmt.number(v.version) }), el("td", { text: v.saved_by }),
      el("td", { text: hl.fmt.dateTime(v.saved_at) }),
      el("td", {}, el("button", { type: "button", class: "open-version", text: t("kb.open"),
        "aria-label": t("kb.open_version", { version: v.version }), onclick: () => showVersion(v.version) })))));
  } catch (e) { say(e.message); }
}

async function showVersion(n) {
  try {
    const v = await hl.api("GET", `/api/kb/articles/${kb.article.id}/versions/${n}`);
    setArticleHtml($("a-body"), v.html);
    $("a-old").replaceChildren(t("kb.old_version", { version: v.version, who: v.saved_by, when: hl.fmt.dateTime(v.saved_at) }), " ",
      el("button", { type: "button", id: "current", text: t("kb.current"), onclick: () => showArticle(kb.article) }));
  } catch (e) { say(e.message); }
}

// --- the editor -----------------------------------------------------------------------
function openEditor(a) {
  const form = $("editor");
  kb.editing = a;
  hl.forms.clear(form);
  $("article").hidden = true;
  form.hidden = false;
  $("editor-title").textContent = a ? t("kb.edit_title", { title: a.title }) : t("kb.new");
  $("e-title").value = a ? a.title : "";
  $("e-language").value = a ? a.language : hl.lang;
  $("e-category").value = a ? a.category : "";
  $("e-tags").value = a ? a.tags.join(", ") : "";
  $("e-visibility").value = a ? a.visibility : "internal";
  $("e-body").value = a ? a.body : "";
  form.querySelector("option[value=customer]").disabled = hl.me.role === "agent";
  $("preview-box").hidden = true;
  $("e-title").focus();
}

function editorBody() {
  return { title: $("e-title").value.trim(), body: $("e-body").value, language: $("e-language").value,
           category: $("e-category").value.trim(), visibility: $("e-visibility").value,
           tags: $("e-tags").value.split(",").map((x) => x.trim()).filter(Boolean) };
}

async function preview() {
  try {
    const r = await hl.api("POST", "/api/kb/preview", { body: $("e-body").value });
    setArticleHtml($("preview-body"), r.html);
    $("preview-box").hidden = false;
  } catch (e) { hl.forms.show($("editor"), e); }
}

async function save(ev) {
  ev.preventDefault();
  const form = $("editor"), a = kb.editing;
  hl.forms.clear(form);
  try {
    const saved = a ? await hl.api("PUT", `/api/kb/articles/${a.id}`, { ...editorBody(), base_version: a.version })
                    : await hl.api("POST", "/api/kb/articles", editorBody());
    showArticle(saved);
    say("");
    if (kb.lastList && !kb.lastList.searched) runSearch();
  } catch (e) { hl.forms.show(form, e); }
}

// --- start ----------------------------------------------------------------------------
async function start() {
  const me = await hl.loadMe();
  if (!me) { hl.session.lost(); return; }
  $("lang").value = hl.lang;
  hl.translatePage();
  $("who").textContent = `${me.display_name || me.username} (${hl.enum("role", me.role)})`;
  $("lang").onchange = () => {
    hl.setLang($("lang").value); hl.translatePage();
    $("who").textContent = `${me.display_name || me.username} (${hl.enum("role", me.role)})`;
    if (kb.lastList) renderHits(kb.lastList.list, kb.lastList.searched);
    if (kb.article && !$("article").hidden) showArticle(kb.article);
  };
  $("logout").onclick = () => hl.logout();
  $("search").addEventListener("submit", (ev) => { ev.preventDefault(); runSearch(); });
  $("new").onclick = () => openEditor(null);
  $("edit").onclick = () => openEditor(kb.article);
  $("show-versions").onclick = toggleVersions;
  $("preview").onclick = preview;
  $("cancel").onclick = () => { $("editor").hidden = true; if (kb.article) showArticle(kb.article); };
  $("editor").addEventListener("submit", save);
  const params = new URLSearchParams(location.search);
  $("q").value = params.get("q") || "";
  $("filter-language").value = params.get("language") || "";
  const id = Number(params.get("id"));
  await runSearch();
  if (id > 0) await openArticle(id);
  document.body.dataset.ready = "true";
}

start();
