// hotline console: the ticket editor. It stays open until the agent leaves it (the close
// button or another ticket; never the end of wrap-up). Every field saves itself ~800 ms
// after the last keystroke (PATCH with If-Match: "version" when the ticket has one) and
// says so ("saving …", "saved 12:03", "not saved – offline"). A 409 ticket_conflict, or
// another editor's change to a field being edited here, shows a notice with "keep mine" /
// "take theirs": never a silent overwrite. Fields nobody edits here follow the server
// (ticket.updated, escalate, reload). Each keystroke is a draft (hl.drafts), restored
// after a reload, a reconnect or a new login.
// Below the form: the ticket's whole conversation, oldest first (timeline.js).
// Layer: browser view + thin async shell around GET/PATCH/escalate.
"use strict";

hc.ticket = {
  ed: null,  // {id, form, server, base, version, dirty, inflight, timer, conflict, again}
  opening: null,  // {id, done}: the open in flight (see open)
  DEBOUNCE_MS: 800,
  FIELDS: ["subject", "category", "priority", "status", "description", "first_contact_resolution"],
  LABELS: { subject: "subject", category: "category", priority: "priority", status: "console.status",
            description: "notes", first_contact_resolution: "fcr" },
  openKey() { return `hotline.console.ticket.${hc.state.user || ""}`; },
  draftKey(id) { return `ticket.${hc.state.user || ""}.${id}`; },  // per user: a shared PC shows nobody else's draft

  values(tk) {
    const v = {};
    for (const f of this.FIELDS) v[f] = f === "first_contact_resolution" ? Boolean(tk[f]) : tk[f] ?? "";
    return v;
  },
  input(f) { return this.ed.form.elements[f]; },
  read(f) { const i = this.input(f); return i.type === "checkbox" ? i.checked : i.value; },
  write(f, value) { const i = this.input(f); if (i.type === "checkbox") i.checked = Boolean(value); else i.value = value; },

  // one open per ticket at a time: the hash and the first snapshot may ask for the same
  // ticket at once, and two builds would read everything twice and replace the form under the agent
  open(id, quiet = false) {
    id = Number(id);
    if (this.opening && this.opening.id === id) return this.opening.done;
    const done = this.openNow(id, quiet).finally(() => {
      if (this.opening && this.opening.done === done) this.opening = null;
    });
    this.opening = { id, done };
    return done;
  },

  async openNow(id, quiet) {
    if (this.ed && this.ed.id === id) { await this.refresh(); return; }
    let tk;
    try { tk = await hl.api("GET", `/api/tickets/${id}`); } catch (err) {
      if (!quiet) hc.say(hl.errorText(err));
      if (err.status === 404) localStorage.removeItem(this.openKey());
      return;
    }
    if (this.ed) this.leave();
    this.build(tk);
    localStorage.setItem(this.openKey(), String(id));
    this.restoreDraft();
  },

  // leave the editor: what is unsaved is sent now and stays a draft until saved
  leave() {
    const ed = this.ed;
    if (!ed) return;
    clearTimeout(ed.timer);
    if (ed.dirty.size && !ed.conflict) this.flush();
    this.ed = null;
    const box = document.getElementById("ticket-box");
    box.hidden = true; box.replaceChildren();
  },
  close() { this.leave(); localStorage.removeItem(this.openKey()); },

  build(tk) {
    const el = hl.el.bind(hl), box = document.getElementById("ticket-box");
    const opt = (kind, v) => el("option", { value: v, "data-i18n": `${kind}.${v}`, text: hl.enum(kind, v) });
    const field = (key, input, cls) => el("label", { class: cls }, el("span", { "data-i18n": key, text: hl.t(key) }), input);
    const notes = el("textarea", { name: "description", rows: 8 });
    const form = el("form", { class: "ticket", id: "ticket-form", "data-ticket-id": tk.id, novalidate: true },
      el("div", { class: "ticket-head" },
        el("h2", { id: "ticket-title" }), el("span", { class: "save-state", id: "save-state", role: "status" }),
        el("button", { type: "button", id: "ticket-close", "data-i18n": "console.close_ticket", text: hl.t("console.close_ticket"),
                       onclick: () => this.close() })),
      el("p", { class: "ticket-meta muted", id: "ticket-meta" }),
      el("ul", { class: "ticket-appointments", id: "ticket-appointments", hidden: true }),
      el("div", { class: "conflict", id: "conflict", role: "alert", hidden: true }),
      el("div", { class: "row fields" },
        field("subject", el("input", { name: "subject", autocomplete: "off" }), "grow"),
        field("category", el("input", { name: "category", autocomplete: "off" })),
        field("priority", el("select", { name: "priority" }, ...["critical", "high", "normal", "low"].map((p) => opt("priority", p)))),
        field("console.status", el("select", { name: "status" },
          ...["new", "open", "pending", "resolved", "closed"].map((s) => opt("ticket_status", s))))),
      field("notes", notes, "notes"),
      el("label", { class: "inline" }, el("input", { type: "checkbox", name: "first_contact_resolution" }),
        el("span", { "data-i18n": "fcr", text: hl.t("fcr") })),
      el("p", { class: "error", "data-form-error": true }),
      el("div", { class: "row" }, el("button", { class: "primary", id: "save-ticket", type: "submit", "data-i18n": "save", text: hl.t("save") })),
      el("fieldset", { class: "escalate" }, el("legend", { "data-i18n": "escalate", text: hl.t("escalate") }),
        el("div", { class: "row" },
          field("level", el("select", { name: "level" }, el("option", { value: "2", text: "2" }), el("option", { value: "3", text: "3" }))),
          field("console.escalation_reason", el("input", { name: "reason", autocomplete: "off" }), "grow"),
          el("button", { type: "button", id: "escalate", "data-i18n": "escalate", text: hl.t("escalate"), onclick: () => this.escalate() }))));
    this.ed = { id: tk.id, form, server: tk, base: this.values(tk), version: tk.version ?? null, dirty: new Set(),
                inflight: null, timer: null, conflict: null, again: false, savedAt: null, state: "saved" };
    for (const f of this.FIELDS) {
      this.write(f, this.ed.base[f]);
      this.input(f).addEventListener(this.input(f).tagName === "SELECT" || f === "first_contact_resolution" ? "change" : "input",
                                     () => this.edited(f));
    }
    form.addEventListener("submit", (e) => { e.preventDefault(); this.saveNow(); });
    const timeline = el("section", { class: "ticket-timeline", "aria-labelledby": "ticket-timeline-h" },
      el("h3", { id: "ticket-timeline-h", "data-i18n": "timeline.title", text: hl.t("timeline.title") }),
      el("div", { id: "ticket-timeline" }));
    box.replaceChildren(form, hc.kb.attach(tk.id, form), timeline); box.hidden = false;
    this.header(); this.setState("saved");
    this.appointments(tk.id);
    this.conversation();
  },

  // the ticket's calls, mails, form entries, faxes and mails to the caller (timeline.js)
  async conversation() {
    const ed = this.ed, box = document.getElementById("ticket-timeline");
    if (!ed || !box) return;
    try { await hl.timeline.load(ed.id, box); } catch (err) { if (err.status !== 0) hc.say(hl.errorText(err)); }
  },

  // the ticket's on-site appointments (booked on /tickets/{id} by 2nd/3rd level), one line each
  async appointments(id) {
    let list = [];
    try { list = await hl.api("GET", `/api/tickets/${id}/appointments`); } catch (err) { return; }
    const ul = document.getElementById("ticket-appointments");
    if (!ul || !this.ed || this.ed.id !== id) return;
    ul.replaceChildren(...list.map((a) => hl.el("li", { text: hl.t("lv.appointment_line",
      { when: hl.fmt.dateTime(a.starts_at), place: a.place, technician: a.technician }) })));
    ul.hidden = list.length === 0;
  },

  header() {
    const ed = this.ed; if (!ed) return;
    const tk = ed.server, t = hl.t.bind(hl);
    document.getElementById("ticket-title").textContent = `${t("ticket")} ${tk.number} · ${t("console.level_n", { level: tk.level })}`;
    const ctx = hc.state.ctx, mine = ctx && (ctx.ticket_id === tk.id || (tk.linkedid && ctx.linkedid === tk.linkedid)) ? ctx : null;
    const wait = tk.wait_seconds ?? (mine && mine.phase !== "ringing" ? mine.wait_seconds : null);
    const talk = tk.talk_seconds ?? (mine && mine.phase === "ended" ? mine.talk_seconds : null);
    const position = tk.queue_position ?? (mine ? mine.position : null);
    const parts = [hl.enum("channel", tk.channel)];
    if (wait !== null && wait !== undefined) parts.push(`${t("wait")} ${hl.fmt.timer(wait)}`);
    if (position) parts.push(t("console.position", { position }));
    if (talk !== null && talk !== undefined) parts.push(`${t("console.talk")} ${hl.fmt.timer(talk)}`);
    if (tk.due_at) parts.push(hc.context.due(tk));
    if (tk.csat) parts.push(t("console.csat", { csat: tk.csat }));
    document.getElementById("ticket-meta").textContent = parts.join(" · ");
  },

  setState(state, detail) {
    const ed = this.ed; if (!ed) return;
    ed.state = state; if (state === "saved" && detail !== "loaded") ed.savedAt = Date.now();
    const node = document.getElementById("save-state");
    node.dataset.state = state;
    node.textContent = state === "saved"
      ? (ed.savedAt ? hl.t("console.save.saved_at", { time: hl.fmt.time(ed.savedAt) }) : hl.t("console.save.saved"))
      : detail && state === "error" ? `${hl.t("console.save.error")}: ${detail}` : hl.t(`console.save.${state}`);
  },

  edited(f) {
    const ed = this.ed;
    if (f === "first_contact_resolution" && this.read(f) && this.read("status") !== "resolved" && this.read("status") !== "closed") {
      this.write("status", "resolved"); this.mark("status");
    }
    this.mark(f);
    this.saveDraft();
    if (ed.conflict) return;
    this.setState(ed.dirty.size ? "dirty" : "saved", "loaded");
    clearTimeout(ed.timer);
    ed.timer = setTimeout(() => this.flush(), this.DEBOUNCE_MS);
  },
  // edited: differs from the server's value, or from what a save in flight sends (typed
  // back to the old value while another is being saved: that save's answer must not win)
  mark(f) {
    const ed = this.ed, v = this.read(f), inflight = ed.inflight || {};
    if (v === ed.base[f] && !(f in inflight && inflight[f] !== v)) ed.dirty.delete(f); else ed.dirty.add(f);
  },

  saveDraft() {
    const ed = this.ed; if (!ed) return false;
    if (!ed.dirty.size) { hl.drafts.take(this.draftKey(ed.id)); return false; }
    const values = {}, base = {};
    for (const f of ed.dirty) { values[f] = this.read(f); base[f] = ed.base[f]; }
    hl.drafts.save(this.draftKey(ed.id), { values, base, version: ed.version });
    return true;
  },

  restoreDraft() {
    const ed = this.ed, d = hl.drafts.take(this.draftKey(ed.id));
    if (!d || !d.values) return;
    const clash = [];
    for (const [f, mine] of Object.entries(d.values)) {
      if (!this.FIELDS.includes(f) || mine === ed.base[f]) continue;
      if (ed.base[f] !== d.base[f]) clash.push(f);  // changed on the server since the draft began
      this.write(f, mine); ed.dirty.add(f);
    }
    this.saveDraft();
    if (clash.length) this.showConflict(ed.server, clash);
    else if (ed.dirty.size) { this.setState("dirty"); this.flush(); }
  },

  ifMatch(ed) { return ed.version === null || ed.version === undefined ? {} : { headers: { "If-Match": `"${ed.version}"` } }; },

  async flush() {
    const ed = this.ed;
    if (!ed || ed.conflict || !ed.dirty.size) return;
    if (ed.inflight) { ed.again = true; return; }
    clearTimeout(ed.timer);
    const sent = {};
    for (const f of ed.dirty) sent[f] = this.read(f);
    ed.inflight = sent; this.setState("saving");
    try {
      const tk = await hl.api("PATCH", `/api/tickets/${ed.id}`, sent, this.ifMatch(ed));
      ed.inflight = null;
      if (this.ed !== ed) return;
      hl.forms.clear(ed.form);
      this.adopt(tk, sent);
      this.setState(ed.dirty.size ? "dirty" : "saved");
    } catch (err) {
      ed.inflight = null;
      if (this.ed !== ed) return;
      if (err.status === 409 && err.data && err.data.code === "ticket_conflict" && err.data.ticket) this.remote(err.data.ticket, true);
      else if (err.status === 422) { hl.forms.show(ed.form, err); this.setState("error", hl.t("error.invalid")); }
      else if (err.status === 0) {  // again when the feed is back (its snapshot refreshes the ticket first)
        this.setState("offline");
        ed.timer = setTimeout(() => { if (hl.live.state === "connected" && !ed.refreshing) this.flush(); }, 5000);
      }
      else this.setState("error", hl.errorText(err));
    }
    if (ed.again && this.ed === ed) { ed.again = false; ed.timer = setTimeout(() => this.flush(), this.DEBOUNCE_MS); }
  },

  saveNow() {
    const ed = this.ed; if (!ed) return;
    for (const f of this.FIELDS) this.mark(f);
    if (!ed.dirty.size) { this.setState("saved"); return; }
    this.flush();
  },

  // a ticket the server sent in answer to this editor's own request: every field this
  // request sent (and every field nobody edits here) takes the server's value
  adopt(tk, sent) {
    const ed = this.ed, theirs = this.values(tk);
    ed.server = tk; ed.version = tk.version ?? ed.version;
    for (const f of this.FIELDS) {
      if (f in sent) { ed.base[f] = theirs[f]; this.mark(f); } else if (!ed.dirty.has(f)) { ed.base[f] = theirs[f]; this.write(f, theirs[f]); }
    }
    this.saveDraft(); this.header();
  },

  // a ticket changed elsewhere (ticket.updated, a reload, a 409): merged field by field;
  // a field edited here that they changed too is a conflict for the agent to decide
  remote(tk, refused = false) {
    const ed = this.ed;
    if (!ed || tk.id !== ed.id) return;
    if (!refused && tk.version != null && ed.version != null && tk.version <= ed.version) return;  // seen already
    const theirs = this.values(tk), inflight = ed.inflight || {};
    const clash = [...ed.dirty].filter((f) => theirs[f] !== this.read(f) &&
      (refused || (theirs[f] !== ed.base[f] && !(f in inflight && theirs[f] === inflight[f]))));
    if (clash.length) { this.showConflict(tk, clash); return; }
    this.adopt(tk, {});
    if (refused) this.flush();  // their change touched other fields: send mine on top of it
  },

  showConflict(tk, fields) {
    const ed = this.ed, el = hl.el.bind(hl), t = hl.t.bind(hl);
    clearTimeout(ed.timer);
    ed.conflict = { tk, fields };
    const theirs = this.values(tk), show = (v) => (typeof v === "boolean" ? t(v ? "console.yes" : "console.no") : String(v || "–"));
    const list = el("ul", {}, ...fields.map((f) => el("li", { "data-field": f },
      el("strong", { text: `${t(this.LABELS[f])}: ` }), `${t("console.theirs")} „${show(theirs[f]).slice(0, 120)}“ · ${t("console.mine")} „${show(this.read(f)).slice(0, 120)}“`)));
    const box = document.getElementById("conflict");
    box.hidden = false;
    box.replaceChildren(el("p", { text: t("console.conflict", { who: tk.updated_by || t("console.someone") }) }), list,
      el("div", { class: "row" },
        el("button", { type: "button", id: "keep-mine", class: "primary", text: t("console.keep_mine"), onclick: () => this.resolve(true) }),
        el("button", { type: "button", id: "take-theirs", text: t("console.take_theirs"), onclick: () => this.resolve(false) })));
    this.setState("conflict");
  },

  resolve(keepMine) {
    const ed = this.ed, { tk } = ed.conflict, theirs = this.values(tk);
    ed.conflict = null;
    document.getElementById("conflict").hidden = true;
    ed.server = tk; ed.version = tk.version ?? ed.version;
    for (const f of this.FIELDS) {
      ed.base[f] = theirs[f];
      if (!keepMine || !ed.dirty.has(f)) this.write(f, theirs[f]);
      this.mark(f);
    }
    this.saveDraft(); this.header();
    if (ed.dirty.size) this.flush(); else this.setState("saved");
  },

  // the ticket as the server has it now (after a reconnect): merged, then what is unsaved here sent
  async refresh() {
    const ed = this.ed; if (!ed) return;
    ed.refreshing = true;
    try {
      const tk = await hl.api("GET", `/api/tickets/${ed.id}`);
      if (this.ed !== ed) return;
      this.remote(tk);
      if (!ed.conflict && ed.dirty.size) this.flush();
      this.conversation();
    } catch (err) { if (err.status !== 0) hc.say(hl.errorText(err)); } finally { ed.refreshing = false; }
  },

  async escalate() {
    const ed = this.ed, form = ed.form;
    hl.forms.clear(form);
    if (ed.dirty.size && !ed.conflict) await this.flush();
    try {
      const tk = await hl.api("POST", `/api/tickets/${ed.id}/escalate`,
                              { level: Number(form.elements.level.value), reason: form.elements.reason.value.trim() });
      if (this.ed !== ed) return;
      this.adopt(tk, {});
      form.elements.reason.value = "";
      hc.say(hl.t("console.escalated", { level: tk.level }), false);
      this.conversation();
    } catch (err) {
      if (err.status === 422) hl.forms.show(form, err); else hc.say(hl.errorText(err));
    }
  },

  async setContact(ticketId, contactId) {
    const ed = this.ed && this.ed.id === ticketId ? this.ed : null;
    const tk = await hl.api("PATCH", `/api/tickets/${ticketId}`, { contact_id: contactId }, ed ? this.ifMatch(ed) : {});
    if (ed && this.ed === ed) this.adopt(tk, {});
  },
};
