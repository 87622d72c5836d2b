// hotline console: the agent's workplace. Wires the live feed (hl.live) to the context
// panel (console-context.js, console-contact.js), the call bar and wrap-up
// (console-call.js) and the ticket editor (console-ticket.js); the header's own phone
// actions; alerts on ring. The context and the open ticket are remembered in
// localStorage, so a reload (or a new login after the session ended) finds them again.
// Layer: browser composition (state and event handlers; no rendering of its own).
"use strict";

const S = hc.state;

hc.say = (text, isError = true) => {
  const s = document.getElementById("status");
  s.textContent = text || ""; s.className = isError ? "error" : "notice";
};
hc.act = async (path, body) => {
  try { await hl.api("POST", path, body); hc.say(""); } catch (e) { hc.say(hl.errorText(e)); }
};

const ctxKey = () => `hotline.console.ctx.${S.user || ""}`;
hc.saveContext = () => {
  if (S.ctx) localStorage.setItem(ctxKey(), JSON.stringify(S.ctx)); else localStorage.removeItem(ctxKey());
};
hc.closeContext = () => { S.ctx = null; hc.saveContext(); renderAll(); };

function fromPop(pop) {
  return { linkedid: pop.linkedid, site: pop.site, queue: pop.queue, caller: pop.caller, match: pop.match,
           open_tickets: pop.open_tickets || [], recent_calls: pop.recent_calls || [], callbacks: pop.callbacks,
           entered_at: pop.entered_at, wait_seconds: pop.wait_seconds, position: pop.position,
           ticket_id: pop.ticket_id, callback: pop.callback || null, route: pop.route || null, phase: "ringing" };
}

// what a call event adds to the context (its times and figures; the caller if missing)
function withCall(ctx, call, phase) {
  ctx = ctx || { linkedid: call.linkedid, caller: call.caller, match: null, open_tickets: [], recent_calls: [] };
  for (const f of ["queue", "entered_at", "answered_at", "ended_at", "wait_seconds", "talk_seconds"]) {
    if (call[f] !== null && call[f] !== undefined) ctx[f] = call[f];
  }
  if (call.position && !ctx.position) ctx.position = call.position;
  if (call.ticket_id) ctx.ticket_id = call.ticket_id;
  if (call.site) ctx.site = call.site;
  if (!ctx.caller) ctx.caller = call.caller;
  ctx.phase = phase;
  return ctx;
}

// a context rebuilt from a bare call (a reload mid-call): the match looked up again
async function lookUp(ctx) {
  const number = ctx.caller && (ctx.caller.number || ctx.caller.raw);
  if (ctx.match || !number) return;
  try {
    const m = await hl.api("GET", `/api/customers/lookup?number=${encodeURIComponent(number)}`);
    ctx.match = m;
    if (m.contact) {
      const c = await hl.api("GET", `/api/customers/${m.contact.id}`);
      Object.assign(ctx, { open_tickets: c.open_tickets, recent_calls: c.recent_calls });
    }
    if (S.ctx === ctx) { hc.saveContext(); hc.context.render(); }
  } catch (e) { /* the panel shows the caller without it */ }
}

function setContext(ctx) {
  S.ctx = ctx; hc.saveContext(); renderAll();
}

function renderAgent() {
  const a = S.agent, badge = document.getElementById("agent-state");
  badge.className = `badge ${a ? a.state : "logged_out"}`;
  badge.textContent = hl.enum("agent_state", a ? a.state : "logged_out");
  document.getElementById("pause-reason").textContent = a && a.pause_reason ? hl.pauseReason(a.pause_reason) : "";
  hc.call.renderWrapUp();
}

function renderAll() {
  hc.context.render(); hc.call.render(); renderAgent();
  if (hc.ticket.ed) { hc.ticket.header(); hc.ticket.setState(hc.ticket.ed.state, "loaded"); }
}

function ring(pop) {
  const caller = hc.callerParts(pop.caller).text, c = pop.match && pop.match.contact;
  const title = pop.callback ? hl.t("console.callback_to", { caller }) : hl.t("console.ring_title");
  hl.alerts.signal({ sound: "ring", title, body: c ? `${caller} – ${c.name}` : caller,
                     tag: pop.linkedid, tab: `☎ ${caller}`, announce: pop.callback ? title : hl.t("console.ring_announce", { caller }) });
}

function openStoredTicket() {
  const fromHash = /^#ticket=(\d+)$/.exec(location.hash);
  const id = fromHash ? fromHash[1] : localStorage.getItem(hc.ticket.openKey());
  if (id) hc.ticket.open(id, true);
}

// The user's phone is at another site than the one this server follows: no call pops
// here, and their phone actions are refused (409 phone_elsewhere); say so, always visible,
// and show no phone state, phone tools or "when your phone rings" that would say otherwise.
function showPhoneElsewhere(away) {
  const note = document.getElementById("site-notice");
  note.textContent = away ? hl.t("console.phone_elsewhere", away) : "";
  note.hidden = !away;
  document.body.classList.toggle("phone-elsewhere", Boolean(away));
}

const handlers = {
  snapshot(d) {
    const first = S.user === null;
    S.user = d.user.username;
    S.pops = new Map(d.ringing.map((p) => [p.linkedid, p]));
    hc.call.noteAgent(d.agent);
    let ctx = S.ctx;
    if (first) {
      try { ctx = JSON.parse(localStorage.getItem(ctxKey()) || "null"); } catch (e) { ctx = null; }
    }
    const current = d.current_call;
    if (current) {
      ctx = withCall(ctx && ctx.linkedid === current.linkedid ? ctx : null, current, "talking");
      lookUp(ctx);
    } else if (d.ringing.length) {
      const pop = d.ringing[d.ringing.length - 1];
      ctx = ctx && ctx.linkedid === pop.linkedid ? Object.assign(ctx, { phase: "ringing" }) : fromPop(pop);
    } else if (ctx && ctx.phase !== "ended") {
      ctx = ctx.phase === "talking" ? Object.assign(ctx, { phase: "ended" }) : null;  // it ended while we were away
    }
    setContext(ctx);
    if (current && current.ticket_id) hc.ticket.open(current.ticket_id);
    else if (first) openStoredTicket();
    else hc.ticket.refresh();
    hc.say(d.pbx_connected ? "" : hl.t("pbx_down"));
    showPhoneElsewhere(d.phone_elsewhere);
  },
  "call.ringing"(pop) {
    S.pops.set(pop.linkedid, pop);
    if (!S.ctx || S.ctx.phase !== "talking") setContext(fromPop(pop));
    ring(pop);
  },
  "call.enriched"(d) {  // open tickets and recent calls that were not ready when the phone rang
    const pop = S.pops.get(d.linkedid);
    if (pop) Object.assign(pop, { open_tickets: d.open_tickets, recent_calls: d.recent_calls },
                           d.match ? { match: d.match } : {}, d.callbacks ? { callbacks: d.callbacks } : {});
    const ctx = S.ctx;
    if (!ctx || ctx.linkedid !== d.linkedid) return;
    Object.assign(ctx, { open_tickets: d.open_tickets, recent_calls: d.recent_calls });
    if (d.match && !(ctx.match && ctx.match.contact)) ctx.match = d.match;
    if (d.callbacks) ctx.callbacks = d.callbacks;
    setContext(ctx);
  },
  "call.withdrawn"(d) {
    S.pops.delete(d.linkedid);
    if (S.ctx && S.ctx.linkedid === d.linkedid && S.ctx.phase === "ringing") {
      const next = [...S.pops.values()].pop();
      setContext(next ? fromPop(next) : null);
    }
    if (!S.pops.size) hl.alerts.tab(null);
  },
  "call.answered"(call) {
    if (!hl.me || call.agent !== hl.me.endpoint) return;
    const pop = S.pops.get(call.linkedid);
    S.pops.delete(call.linkedid);
    const base = S.ctx && S.ctx.linkedid === call.linkedid ? S.ctx : pop ? fromPop(pop) : null;
    const ctx = withCall(base, call, "talking");
    if (!base) lookUp(ctx);
    setContext(ctx);
    hl.alerts.tab(null);
    if (ctx.ticket_id) hc.ticket.open(ctx.ticket_id);
  },
  "ticket.created"(d) {
    const ctx = S.ctx;
    if (!ctx || ctx.linkedid !== d.linkedid) return;
    ctx.ticket_id = d.ticket_id; hc.saveContext();
    if (ctx.phase !== "ringing") hc.ticket.open(d.ticket_id);
  },
  "ticket.updated"(tk) {
    hc.ticket.remote(tk);
    const list = S.ctx && S.ctx.open_tickets, i = list ? list.findIndex((x) => x.id === tk.id) : -1;
    if (i >= 0) { list[i] = { ...list[i], ...tk }; hc.saveContext(); hc.context.render(); }
  },
  "call.ended"(call) {
    S.pops.delete(call.linkedid);
    if (S.ctx && S.ctx.linkedid === call.linkedid) {
      if (S.ctx.phase === "ringing" && !call.answered_at) handlers["call.withdrawn"](call);  // hung up while ringing
      else setContext(withCall(S.ctx, call, "ended"));
    }
    if (hc.ticket.ed) hc.ticket.header();
  },
  "agent.state"(a) {
    if (hl.me && a.agent === hl.me.endpoint) { hc.call.noteAgent(a); renderAgent(); }
  },
};

(async () => {
  const me = await hl.loadMe(); if (!me) { hl.session.lost(); return; }
  const $ = (id) => document.getElementById(id);
  $("lang").value = hl.lang; hl.translatePage();
  hl.alerts.bindControls();
  $("lang").onchange = () => {
    hl.setLang($("lang").value); hl.translatePage(); hl.alerts.renderControls(); renderAll();
  };
  $("who").textContent = me.extension ? `${me.display_name} · ${me.extension}` : me.display_name;
  $("logout").onclick = () => { hc.ticket.saveDraft(); hl.logout(); };
  $("pause").onclick = () => hc.act("/api/agent/pause", { reason: $("reason").value });
  $("unpause").onclick = () => hc.act("/api/agent/unpause");
  $("qlogin").onclick = () => hc.act("/api/agent/queue-login");
  $("qlogout").onclick = () => hc.act("/api/agent/queue-logout");
  $("dial-form").addEventListener("submit", (e) => { e.preventDefault(); hc.act("/api/agent/dial", { number: $("dial-number").value }); });
  window.addEventListener("hashchange", openStoredTicket);
  hl.session.onLeave(() => hc.ticket.saveDraft());
  setInterval(() => { hc.context.tick(); hc.call.tick(); hc.call.wrapClock(); }, 250);
  hc.call.loadDirectory();
  hl.live.connect(handlers);
})();
