// /calls: callbacks (callers who gave up; "call back" rings the agent's phone, then
// the caller, and closes the item) and the call log (outcome and day filters; one
// click to the customer or the ticket). Agents see their own calls in the log.
// ?callback=ID (the console's callback pop links here): that item's row is marked and
// scrolled to, or a note says it is no longer open.
"use strict";
(() => {
  const P = hl.page, $ = (id) => document.getElementById(id), t = hl.t.bind(hl);
  const view = P.params.get("view") || "callbacks";
  const wanted = /^[0-9]{1,10}$/.test(P.params.get("callback") || "") ? P.params.get("callback") : "";

  async function act(item, what) {
    try {
      await hl.api("POST", `/api/callbacks/${item.id}/${what}`);
      await renderCallbacks();
      P.say(t(what === "call" ? "calls.calling" : "calls.closed", { caller: P.caller(item) }), true);
    } catch (e) { P.say(e.message); }
  }

  // why hotline did not dial it (the dial allow-list), under the reason; the server's
  // text (with the allowed patterns) as the tooltip
  function reason(i) {
    if (!i.refused) return hl.enum("outcome", i.reason);
    return hl.el("div", {},
      hl.el("div", { text: hl.enum("outcome", i.reason) }),
      hl.el("div", { class: "refused", title: i.refused, "data-refused": i.id, text: t("calls.refused") }));
  }

  // the item the link named: its row marked (and focusable, for the keyboard), or a note
  function mark(box, items) {
    if (!wanted) return;
    const row = items.some((i) => String(i.id) === wanted) ? box.querySelector(`[data-call="${wanted}"]`).closest("tr") : null;
    if (!row) { box.prepend(hl.el("p", { class: "notice", id: "callback-gone", text: t("calls.callback_gone", { id: wanted }) })); return; }
    Object.assign(row, { id: `callback-${wanted}`, tabIndex: -1 });
    row.classList.add("target");
    row.setAttribute("aria-current", "true");
    row.scrollIntoView({ block: "center" });
    row.focus({ preventScroll: true });
  }

  async function renderCallbacks() {
    const box = $("callbacks"); box.replaceChildren();
    const items = await hl.api("GET", "/api/callbacks");
    if (!items.length) { box.append(P.empty(t("calls.no_callbacks"))); mark(box, items); return; }
    box.append(P.table(t("calls.callbacks"), [[t("calls.first_call")], [t("calls.caller")], [t("pages.customer")], [t("calls.reason")],
      [t("calls.attempts"), "num"], [t("calls.actions")]],
    items.map((i) => {
      const who = P.caller(i);
      const buttons = hl.el("div", { class: "row" },
        hl.el("button", { type: "button", class: "primary", "data-call": i.id, "aria-label": t("calls.call_back_who", { caller: who }),
          text: t("calls.call_back"), onclick: () => act(i, "call") }),
        hl.el("button", { type: "button", "data-done": i.id, "aria-label": t("calls.done_who", { caller: who }),
          text: t("calls.done"), onclick: () => act(i, "done") }));
      return [hl.fmt.dateTime(i.first_call_at), who, i.contact_id ? P.link(`/customers/${i.contact_id}`, t("pages.open_customer")) : "–",
        reason(i), hl.fmt.number(i.attempts), buttons];
    })));
    mark(box, items);
  }

  async function renderLog() {
    const outcome = P.params.get("outcome") || "", day = P.params.get("day") || "";
    $("f-outcome").value = outcome; $("f-day").value = day;
    $("log-scope").textContent = hl.me.role === "agent" ? t("calls.own_only") : "";
    const query = new URLSearchParams({ limit: "200" });
    if (outcome) query.set("outcome", outcome);
    if (day) query.set("since", new Date(`${day}T00:00:00`).toISOString());  // the user's own midnight
    const box = $("log"); box.replaceChildren();
    const calls = await hl.api("GET", `/api/calls?${query}`);
    if (!calls.length) { box.append(P.empty(t("calls.none"))); return; }
    box.append(P.table(t("calls.log"), [[t("pages.when")], [t("calls.caller")], [t("pages.customer")], [t("calls.outcome")],
      [t("calls.wait"), "num"], [t("calls.talk"), "num"], [t("route.label")], [t("calls.ticket")]],
    calls.map((c) => [hl.fmt.dateTime(c.entered_at), P.caller(c),
      c.contact_id ? P.link(`/customers/${c.contact_id}`, t("pages.open_customer")) : "–",
      hl.el("span", { class: `outcome ${c.outcome || ""}`, text: hl.enum("outcome", c.outcome) }),
      hl.fmt.timer(c.wait_seconds), hl.fmt.timer(c.talk_seconds),
      hl.routeText({ reason: c.route_reason, team: c.route_team, language: c.route_language,
                     priority_reason: c.route_priority_reason }) || "–",
      c.ticket_id ? P.link(`/tickets/${c.ticket_id}`, t("calls.open_ticket")) : "–"])));
  }

  async function render() {
    for (const a of document.querySelectorAll("#views a[data-view]")) {
      if (a.dataset.view === view) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    $("callbacks-box").hidden = view !== "callbacks";
    $("log-box").hidden = view !== "log";
    if (view === "log") await renderLog(); else await renderCallbacks();
  }

  P.start(render);
})();
