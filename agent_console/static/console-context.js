// hotline console: the context panel. Who is calling (or called): the customer, the
// organisation, the team, the match status, open tickets with their due time, recent
// calls and callbacks for the number. It appears when the phone rings and stays through
// the call, the wrap-up and after, until the agent closes it or the next call rings; a
// live timer shows the wait while ringing and the talk time once answered (both on the
// server clock, hl.live.now()).
// Layer: browser view. Renders hc.state.ctx; the contact forms are console-contact.js.
"use strict";

// the console's shared state (console.js fills it from the WebSocket)
window.hc = {
  state: { ctx: null, call: null, pops: new Map(), agent: null, directory: null, user: null },
};

// caller text: the name and number, or "Number withheld" (never "anonymous (anonymous)")
hc.callerParts = (caller) => {
  caller = caller || {};
  const hidden = (v) => !v || /^(anonymous|unknown|unavailable|withheld|private|restricted)$/i.test(String(v).trim());
  const number = hl.fmt.phone(caller.display || caller.number || (hidden(caller.raw) ? null : caller.raw));
  const name = hidden(caller.name) || [number, caller.display, caller.number, caller.raw].includes(caller.name) ? "" : caller.name;
  return { name, number, text: name ? `${name} (${number || hl.t("withheld_caller")})` : number || hl.t("withheld_caller") };
};

// an agent by display name (the directory), never a raw "PJSIP/1001"
hc.agentName = (endpoint) => {
  const d = hc.state.directory, found = d && d.agents ? d.agents.find((a) => a.endpoint === endpoint) : null;
  return found ? found.display_name || found.username : "";
};

hc.secondsSince = (iso) => {
  const now = hl.live.now();
  return iso && now !== null ? Math.max(0, (now - Date.parse(iso)) / 1000) : null;
};

hc.context = {
  _kb: new Map(),  // contact id -> Promise of its suggested articles
  // the wait (ringing) or talk time (answered) now, in seconds; the talk once ended
  timer(ctx) {
    // a callback rings the agent first: no caller is waiting on it yet, so it counts the ring
    if (ctx.phase === "ringing") return { key: ctx.callback ? "console.ring_time" : "wait",
                                          seconds: hc.secondsSince(ctx.entered_at) ?? ctx.wait_seconds };
    if (ctx.phase === "talking") return { key: "console.talk", seconds: hc.secondsSince(ctx.answered_at) ?? 0 };
    return { key: "console.talk", seconds: ctx.talk_seconds ?? null };
  },

  tick() {
    const ctx = hc.state.ctx, node = document.getElementById("ctx-timer");
    if (!ctx || !node) return;
    const { key, seconds } = this.timer(ctx);
    node.dataset.seconds = seconds === null ? "" : String(Math.floor(seconds));
    node.textContent = `${hl.t(key)} ${hl.fmt.timer(seconds)}`;
  },

  render() {
    const box = document.getElementById("context"), ctx = hc.state.ctx, el = hl.el.bind(hl), t = hl.t.bind(hl);
    document.getElementById("idle").hidden = Boolean(ctx);
    box.hidden = !ctx;
    if (!ctx) { box.replaceChildren(); box.className = "card context"; delete box.dataset.phase; return; }
    box.className = `card context phase-${ctx.phase}${ctx.phase === "ringing" ? " pop" : ""}`;
    box.dataset.linkedid = ctx.linkedid; box.dataset.phase = ctx.phase;
    const caller = hc.callerParts(ctx.caller);
    const where = [ctx.queue ? t("console.queue", { name: ctx.queue }) : "",
                   ctx.position ? t("console.position", { position: ctx.position }) : "",
                   // the site only where it tells something: a desk with one Asterisk is all `main`
                   ctx.site && ctx.site !== "main" ? t("console.site", { name: ctx.site }) : ""].filter(Boolean).join(" · ");
    const close = ctx.phase === "ended"
      ? el("button", { type: "button", class: "ctx-close", id: "ctx-close", text: t("console.close_context"),
                       onclick: () => hc.closeContext() }) : "";
    box.replaceChildren(
      el("div", { class: "ctx-head" },
        el("span", { class: `badge phase ${ctx.phase}`, text: t(`console.phase.${ctx.phase}`) }),
        el("span", { class: "ctx-timer", id: "ctx-timer" }), el("span", { class: "muted", text: where }), close),
      el("h2", { class: "caller", id: "context-caller",
                 text: ctx.callback ? t("console.callback_to", { caller: caller.text }) : caller.text }),
      this.callbackFacts(ctx.callback),
      this.route(ctx.route),
      this.match(ctx),
      hc.contact.block(ctx),
      this.section("open_tickets", "ctx-tickets", this.tickets(ctx.open_tickets)),
      this.section("recent_calls", "ctx-calls", this.calls(ctx.recent_calls)),
      Array.isArray(ctx.callbacks) ? this.section("console.callbacks", "ctx-callbacks", this.callbacks(ctx.callbacks)) : "",
      this.section("console.kb", "ctx-kb", this.articles(ctx)));
    this.tick();
  },

  // knowledge-base articles for this caller: what their organisation's recent tickets were
  // about (GET /api/kb/suggest), fetched once per caller and shown as links to /kb
  articles(ctx) {
    const contact = ctx.match && ctx.match.contact, el = hl.el.bind(hl);
    if (!contact) return el("p", { class: "muted", text: hl.t("none") });
    const ul = el("ul", { class: "kb-suggestions", id: "ctx-kb-list" });
    const show = (list) => {
      if (!list.length) { ul.replaceWith(el("p", { class: "muted", text: hl.t("none") })); return; }
      ul.replaceChildren(...list.map((a) => el("li", {},
        el("a", { href: `/kb?id=${encodeURIComponent(a.id)}`, target: "_blank", rel: "noopener", text: a.title }),
        el("span", { class: "muted", text: ` ${[a.category, hl.t(`console.lang.${a.language}`)].filter(Boolean).join(" · ")}` }))));
    };
    if (!this._kb.has(contact.id)) {  // one request per caller, however often the panel renders
      this._kb.set(contact.id, hl.api("GET", `/api/kb/suggest?contact_id=${encodeURIComponent(contact.id)}&limit=3`)
        .then((r) => r.articles || [], () => { this._kb.delete(contact.id); return []; }));
    }
    this._kb.get(contact.id).then(show);
    return ul;
  },

  // a callback hotline dials (agent first): how long the caller waited before asking,
  // the callback item on /calls (its row marked, in a new tab: the pop stays) and the
  // ticket made when they pressed 1
  // how hotline routed the call, e.g. "Routing: Focus team Werke · English"
  route(route) {
    const text = hl.routeText(route);
    return text ? hl.el("p", { class: "ctx-route muted", id: "ctx-route", "data-reason": route.reason },
                        hl.el("span", { class: "label", text: `${hl.t("route.label")}: ` }), text) : "";
  },

  callbackFacts(cb) {
    if (!cb) return "";
    const el = hl.el.bind(hl), t = hl.t.bind(hl);
    const waited = cb.waited_seconds === null || cb.waited_seconds === undefined ? ""
      : t("console.callback_waited", { time: hl.fmt.timer(cb.waited_seconds) });
    return el("p", { class: "callback-facts", id: "ctx-callback", "data-callback-id": cb.id },
      el("span", { class: "badge callback", text: t("console.callback_badge") }),
      waited ? el("span", { id: "ctx-callback-waited", text: waited }) : "",
      el("a", { href: `/calls?view=callbacks&callback=${encodeURIComponent(cb.id)}`, target: "_blank", rel: "noopener",
                id: "ctx-callback-item", text: t("console.callback_item", { id: cb.id }) }),
      cb.ticket_id ? el("button", { type: "button", class: "link", id: "ctx-callback-ticket", text: t("calls.open_ticket"),
                                    onclick: () => hc.ticket.open(cb.ticket_id) }) : "");
  },

  section(key, id, body) {
    return hl.el("section", { class: "ctx-section", "aria-labelledby": `${id}-h` },
      hl.el("h3", { id: `${id}-h`, text: hl.t(key) }), body);
  },

  match(ctx) {
    const m = ctx.match || { status: "unknown", candidates: [] }, el = hl.el.bind(hl), t = hl.t.bind(hl);
    const box = el("div", { class: "match" },
      el("span", { class: `badge ${m.status}`, "data-match": m.status, text: hl.enum("match_status", m.status) }));
    const c = m.contact;
    if (c) {
      const org = c.organization && typeof c.organization === "object" ? c.organization.name : c.organization;
      const facts = el("dl", { class: "facts" });
      const fact = (key, value, cls) => { if (value) facts.append(el("dt", { text: t(key) }), el("dd", { class: cls, text: value })); };
      fact("organization", org, "contact-org"); fact("team", c.team, "contact-team");
      fact("console.email", c.email, "contact-email");
      fact("language", c.language ? t(`console.lang.${c.language}`) : "", "contact-lang");
      box.append(el("strong", { class: "contact-name", text: c.name }), facts);
    } else {
      const orgs = (m.candidates || []).filter((x) => !x.contact_id && x.name).map((x) => x.name);
      if (orgs.length) box.append(el("p", { class: "contact-org", text: `${t("organization")}: ${orgs.join(", ")}` }));
    }
    return box;
  },

  due(tk) {
    if (!tk.due_at) return "";
    const now = hl.live.now() ?? Date.now(), when = hl.fmt.relative(tk.due_at, now);
    return Date.parse(tk.due_at) < now ? hl.t("console.overdue_since", { when }) : hl.t("console.due_in", { when });
  },

  tickets(list) {
    if (!list || !list.length) return hl.el("p", { class: "muted", text: hl.t("none") });
    const ul = hl.el("ul", { class: "open-tickets" });
    for (const tk of list) {
      const due = this.due(tk), late = tk.overdue || (tk.due_at && Date.parse(tk.due_at) < (hl.live.now() ?? Date.now()));
      ul.append(hl.el("li", { "data-ticket-id": tk.id },
        hl.el("button", { type: "button", class: "link", text: `${tk.number} ${tk.subject}`, onclick: () => hc.ticket.open(tk.id) }),
        hl.el("span", { class: "badge", text: hl.enum("ticket_status", tk.status) }),
        hl.el("span", { class: "muted", text: `${hl.enum("priority", tk.priority)} · ${hl.t("console.level_n", { level: tk.level })}` }),
        due ? hl.el("span", { class: late ? "due overdue" : "due", text: due }) : ""));
    }
    return ul;
  },

  calls(list) {
    if (!list || !list.length) return hl.el("p", { class: "muted", text: hl.t("none") });
    const ul = hl.el("ul", { class: "recent-calls" });
    for (const c of list) {
      const who = c.agent ? hc.agentName(c.agent) : "";
      const parts = [hl.fmt.dateTime(c.entered_at), hl.enum("outcome", c.outcome)];
      if (who) parts.push(who);
      if (c.talk_seconds) parts.push(`${hl.t("console.talk")} ${hl.fmt.timer(c.talk_seconds)}`);
      else if (c.wait_seconds !== null && c.wait_seconds !== undefined) parts.push(`${hl.t("wait")} ${hl.fmt.timer(c.wait_seconds)}`);
      ul.append(hl.el("li", { text: parts.join(" · ") }));
    }
    return ul;
  },

  callbacks(list) {
    if (!list.length) return hl.el("p", { class: "muted", text: hl.t("none") });
    const ul = hl.el("ul", { class: "callbacks" });
    for (const cb of list) {
      ul.append(hl.el("li", { text: [hl.fmt.dateTime(cb.last_call_at), hl.t("console.attempts", { count: cb.attempts || 1 }),
                                     hl.enum("callback_status", cb.status)].join(" · ") }));
    }
    return ul;
  },
};
