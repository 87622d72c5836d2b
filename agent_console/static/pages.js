// hotline: what the work pages (tickets, a ticket, customers, a customer, calls) share,
// loaded after common.js: the session check (no session: the login page, coming back
// here after it), the shared header's language, who and logout (the server marks the
// current page in the nav), list fetching with
// the total for paging, and small table builders. Every text through hl.t / hl.enum /
// hl.fmt; caller-supplied text only through textContent (hl.el).
"use strict";

hl.page = {
  PAGE_SIZE: 25,
  params: new URLSearchParams(location.search),
  _render: null,

  async start(render) {
    this._render = render;
    const me = await hl.loadMe().catch(() => null);
    if (!me) {
      location.href = `/?next=${encodeURIComponent(location.pathname + location.search)}`;
      return;
    }
    const who = document.getElementById("who");
    if (who) who.textContent = `${me.display_name || me.username} (${hl.enum("role", me.role)})`;
    const lang = document.getElementById("lang");
    lang.value = hl.lang;
    lang.onchange = () => { hl.setLang(lang.value); hl.translatePage(); this.rerender(); };
    document.getElementById("logout").onclick = () => hl.logout();
    hl.translatePage();
    await this.rerender();
    document.body.dataset.ready = "1";
  },
  async rerender() {
    try {
      await this._render();
      this.say("");
    } catch (e) {
      this.say(e.message || hl.t("error.unknown"));
    }
    document.title = `hotline – ${hl.t(document.body.dataset.title || "nav.tickets")}`;
  },
  say(text, ok = false) {
    const s = document.getElementById("status");
    if (!s) return;
    s.textContent = text || "";
    s.className = ok ? "notice" : "error";
  },

  // GET a list route: {items, total} (total from X-Total-Count when the route sends it)
  async list(path) {
    const res = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (res.status === 401) { hl.session.lost(); return { items: [], total: 0 }; }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) { const err = new Error(hl.errorText({ status: res.status, data })); err.status = res.status; throw err; }
    const total = Number(res.headers.get("X-Total-Count") || (Array.isArray(data) ? data.length : 0));
    return { items: data, total };
  },

  // a <table> with a caption, column headers and rows of cells (Node or text)
  table(caption, headers, rows) {
    const thead = hl.el("thead", {}, hl.el("tr", {}, ...headers.map(([text, cls]) => hl.el("th", { scope: "col", class: cls || null, text }))));
    const tbody = hl.el("tbody");
    for (const row of rows) {
      const tr = hl.el("tr");
      row.forEach((cell, i) => {
        const cls = headers[i] && headers[i][1];
        tr.append(cell instanceof Node ? hl.el("td", { class: cls || null }, cell) : hl.el("td", { class: cls || null, text: cell }));
      });
      tbody.append(tr);
    }
    return hl.el("table", {}, hl.el("caption", { class: "visually-hidden", text: caption }), thead, tbody);
  },
  empty(text) { return hl.el("p", { class: "empty muted", text }); },
  link(href, text) { return hl.el("a", { href, text }); },
  caller(item) {
    const number = hl.fmt.phone(item.caller_display || item.caller_number || item.caller_raw) || hl.t("withheld_caller");
    return item.caller_name ? `${item.caller_name} (${number})` : number;
  },
  due(ticket) {
    if (!ticket.due_at) return hl.el("span", { text: "–" });
    const when = hl.fmt.dateTime(ticket.due_at);
    return hl.el("span", { class: ticket.overdue ? "overdue" : null,
      text: ticket.overdue ? `${when} (${hl.t("overdue")})` : when });
  },
  // paging links: "Seite 2 von 5", previous / next, keeping the other query parameters
  pager(total, page) {
    const pages = Math.max(1, Math.ceil(total / this.PAGE_SIZE));
    const at = (n) => { const p = new URLSearchParams(this.params); p.set("page", String(n)); return `?${p}`; };
    const nav = hl.el("nav", { class: "pager", "aria-label": hl.t("pages.paging") });
    if (page > 1) nav.append(hl.el("a", { href: at(page - 1), rel: "prev", text: hl.t("pages.prev") }));
    nav.append(hl.el("span", { text: hl.t("pages.page_of", { page: hl.fmt.number(page), pages: hl.fmt.number(pages), total: hl.fmt.number(total) }) }));
    if (page < pages) nav.append(hl.el("a", { href: at(page + 1), rel: "next", text: hl.t("pages.next") }));
    return nav;
  },
  pageNumber() { return Math.max(1, parseInt(this.params.get("page") || "1", 10) || 1); },
};
