// The agent console: screen pops, the call's ticket, the agent's own phone.
"use strict";

const state = { pops: new Map(), call: null, ticket: null, agent: null, agentAt: 0, wrapDeadline: null };
const WRAP_UP_REASON = "wrap-up";  // cti.actions.WRAP_UP_REASON: the pause of "more time"
const $ = (id) => document.getElementById(id);
const { el, t } = { el: hl.el.bind(hl), t: hl.t.bind(hl) };

function say(text, isError = true) { const s = $("status"); s.textContent = text || ""; s.className = isError ? "error" : "muted"; }

async function act(path, body) {
  try { await hl.api("POST", path, body); say(""); } catch (e) { say(e.message); }
}

function callerLine(caller) {
  const name = caller.name || "";
  const number = caller.number || caller.raw || t("withheld_caller");
  return name ? `${name} (${number})` : number;
}

function ticketList(tickets) {
  if (!tickets || !tickets.length) return el("p", { class: "muted", text: t("none") });
  const ul = el("ul", { class: "open-tickets" });
  for (const tk of tickets) {
    const due = tk.due_at ? new Date(tk.due_at) : null;
    const left = due ? (due - Date.now()) / 1000 : null;
    const sla = left === null ? "" : left < 0 ? ` — ${t("overdue")}` : ` — ${t("due")} ${hl.seconds(left)}`;
    ul.append(el("li", { class: tk.overdue ? "overdue" : "", text: `${tk.number} ${tk.subject} [${tk.status}, L${tk.level}]${sla}` }));
  }
  return ul;
}

function recentList(calls) {
  if (!calls || !calls.length) return el("p", { class: "muted", text: t("none") });
  const ul = el("ul", { class: "recent-calls" });
  for (const c of calls) ul.append(el("li", { text: `${(c.entered_at || "").slice(0, 16).replace("T", " ")} ${c.outcome || ""} ${c.agent || ""}` }));
  return ul;
}

function matchBlock(pop) {
  const m = pop.match, box = el("div", { class: "match" });
  box.append(el("span", { class: `badge ${m.status}`, "data-match": m.status, text: t(m.status) }));
  if (m.contact) {
    const org = m.contact.organization;
    box.append(el("p", { class: "contact" }, el("strong", { class: "contact-name", text: m.contact.name }),
      org ? ` — ${org.name}` : "", m.contact.team ? ` (${t("team")}: ${m.contact.team})` : ""));
  } else if (m.status === "ambiguous") {
    const sel = el("select", { class: "chooser" }, el("option", { value: "", text: t("choose_contact") }));
    for (const c of m.candidates) if (c.contact_id) sel.append(el("option", { value: c.contact_id, text: `${c.name} (${c.reason})` }));
    sel.onchange = () => chooseContact(pop, Number(sel.value));
    box.append(sel);
  } else if (m.status === "unknown" && m.candidates && m.candidates.length) {
    box.append(el("p", { text: `${t("organization")}: ${m.candidates.map((c) => c.name).join(", ")}` }));
  }
  if (m.status === "unknown" || m.status === "ambiguous") box.append(createContactForm(pop));
  return box;
}

function createContactForm(pop) {
  const name = el("input", { placeholder: t("name"), class: "new-name" });
  const org = el("input", { placeholder: t("organization") });
  const btn = el("button", { text: t("create_contact"), onclick: async () => {
    try {
      const phones = pop.caller.number ? [pop.caller.number] : [];
      const c = await hl.api("POST", "/api/customers", { name: name.value, organization: org.value, phones });
      pop.match = { status: "known", contact: c, candidates: [] };
      if (pop.ticket_id) await hl.api("PATCH", `/api/tickets/${pop.ticket_id}`, { contact_id: c.id });
      renderPops(); if (state.call && state.call.linkedid === pop.linkedid) renderCall();
    } catch (e) { say(e.message); }
  } });
  return el("div", { class: "row create-contact" }, name, org, btn);
}

async function chooseContact(pop, contactId) {
  if (!contactId) return;
  try {
    const c = await hl.api("GET", `/api/customers/${contactId}`);
    pop.match = { ...pop.match, status: "known", contact: c };
    pop.open_tickets = c.open_tickets; pop.recent_calls = c.recent_calls;
    if (pop.ticket_id) await hl.api("PATCH", `/api/tickets/${pop.ticket_id}`, { contact_id: contactId });
    renderPops(); renderCall();
  } catch (e) { say(e.message); }
}

function popCard(pop) {
  return el("article", { class: "card pop", "data-linkedid": pop.linkedid },
    el("div", { class: "muted", text: `${t("ringing")} — ${pop.queue} — ${t("wait")} ${hl.seconds(pop.wait_seconds)}` }),
    el("h2", { class: "caller", text: callerLine(pop.caller) }),
    matchBlock(pop),
    el("h3", { text: t("open_tickets") }), ticketList(pop.open_tickets),
    el("h3", { text: t("recent_calls") }), recentList(pop.recent_calls));
}

function renderPops() {
  const box = $("pops"); box.replaceChildren();
  for (const pop of state.pops.values()) box.append(popCard(pop));
  if (!state.pops.size && !state.call) box.append(el("p", { class: "idle", text: t("idle") }));
}

function field(label, input) { return el("label", {}, el("span", { text: label }), input); }

function ticketEditor(tk) {
  const subject = el("input", { name: "subject", size: 50, value: tk.subject });
  const category = el("input", { name: "category", value: tk.category || "" });
  const priority = el("select", { name: "priority" });
  for (const p of ["critical", "high", "normal", "low"]) priority.append(el("option", { value: p, text: p, selected: p === tk.priority }));
  const notes = el("textarea", { name: "description", rows: 4, cols: 60 }); notes.value = tk.description || "";
  const fcr = el("input", { type: "checkbox", name: "fcr", checked: tk.first_contact_resolution });
  const save = el("button", { class: "primary", id: "save-ticket", text: t("save"), onclick: async () => {
    try {
      state.ticket = await hl.api("PATCH", `/api/tickets/${tk.id}`, { subject: subject.value, category: category.value,
        priority: priority.value, description: notes.value, first_contact_resolution: fcr.checked,
        ...(fcr.checked ? { status: "resolved" } : {}) });
      say(t("saved"), false);
    } catch (e) { say(e.message); }
  } });
  const level = el("select", { name: "level" }, el("option", { value: 2, text: "2" }), el("option", { value: 3, text: "3" }));
  const reason = el("input", { name: "reason", placeholder: t("reason") });
  const escalate = el("button", { text: t("escalate"), onclick: async () => {
    try { state.ticket = await hl.api("POST", `/api/tickets/${tk.id}/escalate`, { level: Number(level.value), reason: reason.value }); renderCall(); say(t("saved"), false); }
    catch (e) { say(e.message); }
  } });
  return el("div", { class: "ticket", "data-ticket-id": tk.id },
    el("h3", { text: `${t("ticket")} ${tk.number} — L${tk.level} — ${tk.status}` }),
    el("div", { class: "row" }, field(t("subject"), subject), field(t("category"), category), field(t("priority"), priority)),
    field(t("notes"), notes), el("label", { class: "inline" }, fcr, el("span", { text: t("fcr") })),
    el("div", { class: "row" }, save, field(t("level"), level), reason, escalate));
}

function renderCall() {
  const box = $("call");
  if (!state.call) { box.hidden = true; box.replaceChildren(); renderIdle(); return; }
  box.hidden = false;
  const target = el("input", { size: 10, placeholder: t("number"), id: "transfer-target" });
  box.replaceChildren(
    el("h2", { class: "caller", text: `${t("on_call_with")} ${callerLine(state.call.caller)}` }),
    el("div", { class: "row" }, target, el("button", { text: t("transfer"), onclick: () => act(`/api/calls/${state.call.linkedid}/transfer`, { target: target.value }) })),
    state.ticket ? ticketEditor(state.ticket) : el("p", { class: "muted", text: "…" }));
}

async function loadTicket(id) {
  try { state.ticket = await hl.api("GET", `/api/tickets/${id}`); renderCall(); } catch (e) { say(e.message); }
}

function renderIdle() {
  const box = $("pops");
  if (!state.pops.size && !box.querySelector(".idle")) box.append(el("p", { class: "idle", text: t("idle") }));
}

function reasonLabel(reason) {
  const key = `reason_${reason.replace(/-/g, "_")}`, label = t(key);
  return label === key ? reason : label;  // a reason set elsewhere (e.g. a desk phone) as given
}

// Wrap-up after a call: Asterisk's (the queue's wrapuptime; the server sends what is
// left, counted down here on the browser's monotonic clock) or extended ("more time":
// paused with the wrap-up reason until "ready").
function wrapPhase(a) {
  if (a && a.state === "wrap_up") return "asterisk";
  if (a && a.state === "paused" && a.pause_reason === WRAP_UP_REASON) return "extended";
  return null;
}

function noteAgent(a) {
  state.agent = a; state.agentAt = performance.now();
  const left = a ? a.wrapup_remaining_seconds : null;
  state.wrapDeadline = left === null || left === undefined ? null : state.agentAt + left * 1000;
}

function wrapClock() {
  const node = $("wrapup-countdown"), a = state.agent, phase = wrapPhase(a);
  if (!node || !phase) return;
  if (phase === "extended") {
    node.textContent = `${t("since")} ${hl.seconds(a.seconds_in_state + (performance.now() - state.agentAt) / 1000)}`;
  } else if (state.wrapDeadline === null) {
    node.textContent = t("wrapup_unknown"); delete node.dataset.remaining;
  } else {
    const left = Math.max(0, Math.ceil((state.wrapDeadline - performance.now()) / 1000));
    node.dataset.remaining = String(left);
    node.textContent = `${t("wrapup_left")} ${hl.seconds(left)}`;
  }
}

function renderWrapUp() {
  const box = $("wrapup"), phase = wrapPhase(state.agent);
  box.hidden = !phase; box.dataset.phase = phase || ""; box.className = `card wrapup ${phase || ""}`;
  if (!phase) { box.replaceChildren(); return; }
  const extended = phase === "extended";
  const button = extended
    ? el("button", { class: "primary", id: "wrapup-ready", text: t("ready"), onclick: () => act("/api/agent/unpause") })
    : el("button", { class: "primary", id: "wrapup-more", text: t("more_time"), onclick: () => act("/api/agent/wrap-up") });
  box.replaceChildren(
    el("h2", { text: t(extended ? "wrapup_extended" : "wrapup_title") }),
    el("p", {}, el("span", { class: "countdown", id: "wrapup-countdown" })),
    el("p", { class: "muted", text: t(extended ? "wrapup_extended_note" : "wrapup_then") }),
    el("div", { class: "row" }, button));
  wrapClock();
}

function renderAgent() {
  const a = state.agent, badge = $("agent-state");
  badge.className = `badge ${a ? a.state : "logged_out"}`; badge.textContent = t(a ? a.state : "logged_out");
  $("pause-reason").textContent = a && a.pause_reason ? reasonLabel(a.pause_reason) : "";
  renderWrapUp();
}

const handlers = {
  snapshot(d) {
    state.pops = new Map(d.ringing.map((p) => [p.linkedid, p])); noteAgent(d.agent);
    if (d.current_call) { state.call = d.current_call; if (d.current_call.ticket_id) loadTicket(d.current_call.ticket_id); }
    renderPops(); renderAgent(); renderCall();
    say(d.pbx_connected ? "" : t("pbx_down"));
  },
  "call.ringing"(pop) { state.pops.set(pop.linkedid, pop); renderPops(); },
  "call.enriched"(d) { // open tickets and recent calls that were not ready when the phone rang
    const pop = state.pops.get(d.linkedid); // it always comes before the answer or withdrawal
    if (!pop) return;
    Object.assign(pop, { open_tickets: d.open_tickets, recent_calls: d.recent_calls, enriched: true }, d.match ? { match: d.match } : {});
    renderPops();
  },
  "call.withdrawn"(d) { state.pops.delete(d.linkedid); renderPops(); },
  "call.answered"(call) {
    const pop = state.pops.get(call.linkedid);
    state.pops.delete(call.linkedid);
    state.call = { ...call, pop }; state.ticket = null; renderPops(); renderCall();
    if (call.ticket_id) loadTicket(call.ticket_id);
  },
  "ticket.created"(d) { if (state.call && state.call.linkedid === d.linkedid) loadTicket(d.ticket_id); },
  "ticket.updated"(tk) { if (state.ticket && state.ticket.id === tk.id) { state.ticket = tk; } },
  "call.ended"(call) { if (state.call && state.call.linkedid === call.linkedid) { state.call.ended = true; } state.pops.delete(call.linkedid); renderPops(); },
  "agent.state"(a) { if (hl.me && a.agent === hl.me.endpoint) { noteAgent(a); renderAgent(); if (a.state === "available" && state.call && state.call.ended) { state.call = null; state.ticket = null; renderCall(); } } },
};

(async () => {
  const me = await hl.loadMe(); if (!me) return;
  $("lang").value = hl.lang; hl.translatePage();
  $("lang").onchange = () => { hl.setLang($("lang").value); hl.translatePage(); renderPops(); renderCall(); renderAgent(); };
  $("who").textContent = `${me.display_name} (${me.extension || "–"})`;
  $("wallboard-link").hidden = me.role === "agent";
  $("logout").onclick = () => hl.logout();
  $("pause").onclick = () => act("/api/agent/pause", { reason: $("reason").value });
  $("unpause").onclick = () => act("/api/agent/unpause");
  $("qlogin").onclick = () => act("/api/agent/queue-login");
  $("qlogout").onclick = () => act("/api/agent/queue-logout");
  $("dial").onclick = () => act("/api/agent/dial", { number: $("dial-number").value });
  setInterval(wrapClock, 250);
  hl.connect(handlers);
})();
