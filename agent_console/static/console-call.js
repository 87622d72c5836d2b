// hotline console: the call bar (who, the live talk timer, wait and position, transfer
// from the directory) and the wrap-up panel (Asterisk's wrap-up counted down, "more time",
// "ready"). A refused transfer target shows the server's reason in the user's language;
// the call stays as it is.
// Layer: browser view + thin async shell around the call actions.
"use strict";

const WRAP_UP_REASON = "wrap-up";  // cti.actions.WRAP_UP_REASON: the pause of "more time"

hc.call = {
  async loadDirectory() {
    try { hc.state.directory = await hl.api("GET", "/api/directory"); } catch (err) { hc.state.directory = null; return; }
    const d = hc.state.directory, list = document.getElementById("directory-list"), own = hl.me && hl.me.endpoint;
    const options = [];
    for (const a of d.agents || []) {
      if (!a.endpoint || a.endpoint === own) continue;
      const ext = a.endpoint.split("/").pop();
      options.push(hl.el("option", { value: ext, label: `${a.display_name || a.username} (${hl.enum("agent_state", a.state)})` }));
    }
    for (const q of d.queues || []) options.push(hl.el("option", { value: q.name, label: hl.t("console.queue", { name: q.label || q.name }) }));
    list.replaceChildren(...options);
  },

  render() {
    const box = document.getElementById("call"), ctx = hc.state.ctx, el = hl.el.bind(hl), t = hl.t.bind(hl);
    const live = ctx && ctx.phase !== "ringing" ? ctx : null;
    box.hidden = !live;
    if (!live) { box.replaceChildren(); return; }
    box.dataset.phase = live.phase;
    const caller = hc.callerParts(live.caller).text;
    const facts = [];
    if (live.wait_seconds !== null && live.wait_seconds !== undefined) facts.push(`${t("wait")} ${hl.fmt.timer(live.wait_seconds)}`);
    if (live.position) facts.push(t("console.position", { position: live.position }));
    const head = [el("h2", { class: "caller", text: `${t(live.phase === "ended" ? "console.call_ended" : "on_call_with")} ${caller}` }),
                  el("p", { class: "call-facts" }, el("span", { class: "talk-timer", id: "talk-timer" }),
                     el("span", { class: "muted", text: facts.length ? ` · ${facts.join(" · ")}` : "" }))];
    if (live.phase === "ended") { box.replaceChildren(...head); this.tick(); return; }
    const typed = document.getElementById("transfer-target");  // kept across a re-render (a language switch)
    const target = el("input", { id: "transfer-target", name: "target", list: "directory-list", autocomplete: "off", size: 16,
                                 value: typed ? typed.value : "" });
    const form = el("form", { class: "transfer", id: "transfer-form", novalidate: true },
      el("div", { class: "row" },
        el("label", {}, el("span", { text: t("console.transfer_to") }), target),
        el("button", { type: "submit", id: "transfer", text: t("transfer") })),
      el("p", { class: "error", "data-form-error": true, role: "alert" }));
    form.addEventListener("submit", (e) => { e.preventDefault(); this.transfer(live, form); });
    box.replaceChildren(...head, form);
    this.tick();
  },

  async transfer(call, form) {
    hl.forms.clear(form);
    const target = form.elements.target.value.trim();
    if (!target) { hl.forms.show(form, { data: { errors: [{ field: "body.target", code: "missing" }] } }); return; }
    try {
      await hl.api("POST", `/api/calls/${encodeURIComponent(call.linkedid)}/transfer`, { target });
      hc.say(hl.t("console.transferred", { target }), false);
    } catch (err) {
      if (err.status === 422 && !(err.data && err.data.code)) hl.forms.show(form, err);
      else { form.querySelector("[data-form-error]").textContent = hl.errorText(err); form.elements.target.setAttribute("aria-invalid", "true"); }
    }
  },

  tick() {
    const node = document.getElementById("talk-timer"), ctx = hc.state.ctx;
    if (!node || !ctx) return;
    const { seconds } = hc.context.timer(ctx);
    node.dataset.seconds = seconds === null ? "" : String(Math.floor(seconds));
    node.textContent = `${hl.t("console.talk")} ${hl.fmt.timer(seconds)}`;
  },

  // --- wrap-up: Asterisk's (the queue's wrapuptime; the server sends what is left,
  // counted down on the browser's monotonic clock) or extended ("more time": paused
  // with the wrap-up reason until "ready")
  wrap: { at: 0, deadline: null },
  phase(a) {
    if (a && a.state === "wrap_up") return "asterisk";
    if (a && a.state === "paused" && a.pause_reason === WRAP_UP_REASON) return "extended";
    return null;
  },
  noteAgent(a) {
    hc.state.agent = a; this.wrap.at = performance.now();
    const left = a ? a.wrapup_remaining_seconds : null;
    this.wrap.deadline = left === null || left === undefined ? null : this.wrap.at + left * 1000;
  },
  wrapClock() {
    const node = document.getElementById("wrapup-countdown"), a = hc.state.agent, phase = this.phase(a);
    if (!node || !phase) return;
    if (phase === "extended") {
      node.textContent = `${hl.t("since")} ${hl.fmt.timer(a.seconds_in_state + (performance.now() - this.wrap.at) / 1000)}`;
    } else if (this.wrap.deadline === null) {
      node.textContent = hl.t("wrapup_unknown"); delete node.dataset.remaining;
    } else {
      const left = Math.max(0, Math.ceil((this.wrap.deadline - performance.now()) / 1000));
      node.dataset.remaining = String(left);
      node.textContent = `${hl.t("wrapup_left")} ${hl.fmt.timer(left)}`;
    }
  },
  renderWrapUp() {
    const box = document.getElementById("wrapup"), phase = this.phase(hc.state.agent), el = hl.el.bind(hl), t = hl.t.bind(hl);
    box.hidden = !phase; box.dataset.phase = phase || ""; box.className = `card wrapup ${phase || ""}`;
    if (!phase) { box.replaceChildren(); return; }
    const extended = phase === "extended";
    const button = extended
      ? el("button", { type: "button", class: "primary", id: "wrapup-ready", text: t("ready"), onclick: () => hc.act("/api/agent/unpause") })
      : el("button", { type: "button", class: "primary", id: "wrapup-more", text: t("more_time"), onclick: () => hc.act("/api/agent/wrap-up") });
    box.replaceChildren(
      el("h2", { text: t(extended ? "wrapup_extended" : "wrapup_title") }),
      el("p", {}, el("span", { class: "countdown", id: "wrapup-countdown" })),
      el("p", { class: "muted", text: t(extended ? "wrapup_extended_note" : "wrapup_then") }),
      el("div", { class: "row" }, button));
    this.wrapClock();
  },
};
