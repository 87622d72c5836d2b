// The open ticket's knowledge-base box in the console: articles suggested from what the
// agent types in the subject (or the notes while it is empty) (and the caller's organisation's recent
// categories: GET /api/kb/suggest), each with "Solved with this" (POST
// /api/tickets/{id}/kb: the ticket is marked solved with KB, the article's count goes
// up), and the articles the ticket is already marked solved with.
"use strict";

hc.kb = {
  DEBOUNCE_MS: 600,
  timer: null,
  seq: 0,
  linked: null,  // {ticketId, list}: the ticket's linked articles, read on opening it and after "Solved with this"

  // called by hc.ticket.build with the editor's form; the box goes after the form
  attach(ticketId, form) {
    const el = hl.el.bind(hl);
    const box = el("section", { class: "ticket-kb", id: "ticket-kb", "aria-labelledby": "ticket-kb-h" },
      el("h3", { id: "ticket-kb-h", "data-i18n": "console.kb", text: hl.t("console.kb") }),
      el("ul", { class: "kb-linked", id: "ticket-kb-linked" }),
      el("ul", { class: "kb-suggested", id: "ticket-kb-list", "aria-live": "polite" }));
    for (const name of ["subject", "description"]) {
      form.elements[name].addEventListener("input", () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.load(ticketId), this.DEBOUNCE_MS);
      });
    }
    this.linked = null;
    this.load(ticketId);
    return box;
  },

  typed() {
    const form = document.getElementById("ticket-form");
    if (!form) return "";
    // the search wants every word: the subject, or while it is empty the notes' first words
    const subject = form.elements.subject.value.trim();
    return (subject || form.elements.description.value.trim().split(/\s+/).slice(0, 6).join(" ")).slice(0, 200);
  },

  async load(ticketId) {
    const seq = ++this.seq, q = this.typed();
    const known = this.linked && this.linked.ticketId === ticketId ? this.linked.list : null;
    let found, linked;
    try {
      [found, linked] = await Promise.all([
        hl.api("GET", `/api/kb/suggest?ticket_id=${ticketId}&limit=5${q ? `&q=${encodeURIComponent(q)}` : ""}`),
        known || hl.api("GET", `/api/tickets/${ticketId}/kb`)]);  // typing changes the suggestions only
    } catch (err) { return; }  // the box stays as it was; the editor works without it
    if (seq !== this.seq || !hc.ticket.ed || hc.ticket.ed.id !== ticketId) return;  // a newer load, or another ticket
    this.linked = { ticketId, list: linked };
    this.show(ticketId, found.articles, linked);
  },

  show(ticketId, articles, linked) {
    const el = hl.el.bind(hl), done = new Set(linked.map((l) => l.article.id));
    const title = (a) => el("a", { href: `/kb?id=${encodeURIComponent(a.id)}`, target: "_blank", rel: "noopener", text: a.title });
    const meta = (a) => el("span", { class: "muted", text: ` ${a.category} · ${hl.t(`kb.lang.${a.language}`)}` });
    document.getElementById("ticket-kb-linked").replaceChildren(...linked.map((l) =>
      el("li", { class: "linked", "data-article-id": l.article.id },
        el("span", { class: "badge", text: hl.t("console.kb_solved_with") }), " ", title(l.article))));
    const open = articles.filter((a) => !done.has(a.id));
    document.getElementById("ticket-kb-list").replaceChildren(...(open.length ? open.map((a) =>
      el("li", { "data-article-id": a.id }, title(a), meta(a), " ",
        el("button", { type: "button", class: "kb-link", "data-i18n": "console.kb_link", text: hl.t("console.kb_link"),
                       onclick: () => this.link(ticketId, a.id) }))) :
      [el("li", { class: "muted", "data-i18n": "none", text: hl.t("none") })]));
  },

  async link(ticketId, articleId) {
    try { await hl.api("POST", `/api/tickets/${ticketId}/kb`, { article_id: articleId }); } catch (err) {
      hc.say(hl.errorText(err)); return;
    }
    this.linked = null;  // read them again: this one is among them now
    await this.load(ticketId);
  },
};
