// hotline console: create or link the caller's contact, at any time during or after the
// call (not only while it rings). "Create" sends the form; a duplicate (409
// duplicate_contact) lists the existing contacts to pick from, or creates anyway
// (allow_duplicate). "Search" finds a customer by name, organisation or number and
// links it - also for a withheld caller. Linking goes to POST /api/calls/{id}/contact
// and, where the server has no such route, to the call's ticket.
// Layer: browser view + thin async shell. The forms are built once per caller and match,
// so a re-render (a live event, a language switch) never loses what the agent typed.
"use strict";

hc.contact = {
  _cache: null,  // {key, el}: the forms of the context now shown

  orgName(org) { return org && typeof org === "object" ? org.name : org || ""; },
  phoneText(p) { return p && typeof p === "object" ? p.raw || p.number : p || ""; },

  block(ctx) {
    const m = ctx.match || { status: "unknown" };
    const key = `${ctx.linkedid}|${m.status}|${m.contact ? m.contact.id : ""}`;
    if (this._cache && this._cache.key === key) return this._cache.el;
    const el = hl.el("div", { class: "contact-tools" });
    if (m.status === "ambiguous") el.append(this.chooser(ctx, m.candidates || []));
    const known = Boolean(m.contact);
    el.append(this.details(known ? "console.link_other" : "create_contact", this.createForm(ctx), !known && !["ambiguous", "pending"].includes(m.status)),
              this.details("console.search_contact", this.searchForm(ctx), false));
    this._cache = { key, el };
    return el;
  },

  details(key, body, open) {
    return hl.el("details", { class: "contact-details", open }, hl.el("summary", { "data-i18n": key, text: hl.t(key) }), body);
  },

  field(key, input) {
    return hl.el("label", {}, hl.el("span", { "data-i18n": key, text: hl.t(key) }), input);
  },

  chooser(ctx, candidates) {
    const ul = hl.el("ul", { class: "chooser" });
    for (const c of candidates.filter((x) => x.contact_id)) {
      ul.append(hl.el("li", {}, hl.el("button", { type: "button", class: "link", text: c.name,
        onclick: () => this.link(ctx, c.contact_id) })));
    }
    return hl.el("div", { class: "choose" }, hl.el("p", { "data-i18n": "choose_contact", text: hl.t("choose_contact") }), ul);
  },

  createForm(ctx) {
    const el = hl.el.bind(hl), caller = hc.callerParts(ctx.caller);
    const orgGuess = ((ctx.match && ctx.match.candidates) || []).find((c) => !c.contact_id && c.name);
    const lang = el("select", { name: "language" },
      el("option", { value: "de", "data-i18n": "console.lang.de", text: hl.t("console.lang.de") }),
      el("option", { value: "en", "data-i18n": "console.lang.en", text: hl.t("console.lang.en") }));
    const form = el("form", { class: "create-contact", id: "contact-form", novalidate: true },
      el("div", { class: "grid2" },
        this.field("name", el("input", { name: "name", class: "new-name", autocomplete: "off", required: true,
                                         value: caller.name || "" })),
        this.field("organization", el("input", { name: "organization", autocomplete: "off", value: orgGuess ? orgGuess.name : "" })),
        this.field("team", el("input", { name: "team", autocomplete: "off" })),
        this.field("console.email", el("input", { name: "email", type: "email", autocomplete: "off" })),
        this.field("console.phone", el("input", { name: "phones.0", autocomplete: "off", value: caller.number || "" })),
        this.field("language", lang)),
      el("p", { class: "error", "data-form-error": true, role: "alert" }),
      el("div", { class: "duplicates", hidden: true }),
      el("button", { type: "submit", class: "primary", "data-i18n": "create_contact", text: hl.t("create_contact") }));
    form.addEventListener("submit", (e) => { e.preventDefault(); this.create(ctx, form, false); });
    return form;
  },

  async create(ctx, form, allowDuplicate) {
    hl.forms.clear(form);
    const phone = form.elements["phones.0"].value.trim();
    const body = { name: form.elements.name.value.trim(), organization: form.elements.organization.value.trim(),
                   team: form.elements.team.value.trim(), email: form.elements.email.value.trim(),
                   language: form.elements.language.value, phones: phone ? [phone] : [] };
    if (allowDuplicate) body.allow_duplicate = true;
    try {
      const c = await hl.api("POST", "/api/customers", body);
      await this.link(ctx, c.id);
    } catch (err) {
      if (err.status === 409 && err.data && err.data.code === "duplicate_contact") this.duplicates(ctx, form, err.data.candidates || []);
      else if (err.status === 422) hl.forms.show(form, err);
      else form.querySelector("[data-form-error]").textContent = hl.errorText(err);
    }
  },

  duplicates(ctx, form, candidates) {
    const box = form.querySelector(".duplicates"), el = hl.el.bind(hl);
    const ul = el("ul", { class: "candidates" });
    for (const c of candidates) {
      const about = [this.orgName(c.organization), (c.phones || []).map((p) => this.phoneText(p)).join(", ")].filter(Boolean).join(" · ");
      ul.append(el("li", { "data-contact-id": c.id }, el("strong", { text: c.name }), about ? ` – ${about} ` : " ",
        el("button", { type: "button", class: "use-candidate", text: hl.t("console.use_contact"), onclick: () => this.link(ctx, c.id) })));
    }
    box.hidden = false;
    box.replaceChildren(el("p", { class: "notice", role: "alert", text: hl.t("console.duplicate") }), ul,
      el("button", { type: "button", class: "create-anyway", text: hl.t("console.create_anyway"),
                     onclick: () => this.create(ctx, form, true) }));
  },

  searchForm(ctx) {
    const el = hl.el.bind(hl);
    const results = el("ul", { class: "search-results", "aria-live": "polite" });
    const form = el("form", { class: "link-contact", role: "search" },
      el("div", { class: "row" },
        this.field("console.search_label", el("input", { name: "q", type: "search", autocomplete: "off" })),
        el("button", { type: "submit", "data-i18n": "console.search", text: hl.t("console.search") })),
      el("p", { class: "error", "data-form-error": true }), results);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      hl.forms.clear(form);
      try {
        const found = await hl.api("GET", `/api/customers?q=${encodeURIComponent(form.elements.q.value.trim())}&limit=10`);
        results.replaceChildren(...(found.length ? found.map((c) => el("li", { "data-contact-id": c.id },
          el("strong", { text: c.name }), this.orgName(c.organization) ? ` – ${this.orgName(c.organization)} ` : " ",
          el("button", { type: "button", class: "link-this", text: hl.t("console.link"), onclick: () => this.link(ctx, c.id) })))
          : [el("li", { class: "muted", text: hl.t("console.no_results") })]));
      } catch (err) {
        if (err.status === 422) hl.forms.show(form, err); else form.querySelector("[data-form-error]").textContent = hl.errorText(err);
      }
    });
    return form;
  },

  // the call (and its ticket) now belong to this contact; the panel shows the contact's data
  async link(ctx, contactId) {
    try {
      let linked = false;
      try {
        const ref = ctx.site ? `${ctx.site}:${ctx.linkedid}` : ctx.linkedid;  // site:linkedid: never ambiguous
        await hl.api("POST", `/api/calls/${encodeURIComponent(ref)}/contact`, { contact_id: contactId });
        linked = true;
      } catch (err) { if (err.status !== 404 && err.status !== 405) throw err; }
      const ticketId = ctx.ticket_id || (hc.state.call && hc.state.call.linkedid === ctx.linkedid ? hc.state.call.ticket_id : null);
      if (!linked && ticketId) await hc.ticket.setContact(ticketId, contactId);
      const c = await hl.api("GET", `/api/customers/${contactId}`);
      ctx.match = { ...(ctx.match || {}), status: "known", contact: c, candidates: [] };
      ctx.open_tickets = c.open_tickets; ctx.recent_calls = c.recent_calls;
      this._cache = null;  // fresh forms: what was typed went into this contact
      hc.saveContext(); hc.context.render();
      hc.say(hl.t("console.linked", { name: c.name }), false);
    } catch (err) { hc.say(hl.errorText(err)); }
  },
};
