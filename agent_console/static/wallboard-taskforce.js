// The wallboard's task-force alarms: open tickets past their contractual resolution
// time. Loaded from GET /api/taskforce when the board opens, then kept by the live
// feed: `ticket.taskforce` (raised by this instance's scheduler) and `ticket.updated`
// (any instance: a ticket whose taskforce_at is set joins, a resolved one leaves).
// Ticket subjects are callers' text: only through textContent (hl.el).
"use strict";
hl.taskforce = (() => {
  const alarms = new Map();  // ticket id -> ticket
  const $ = (id) => document.getElementById(id);

  function render() {
    const box = $("taskforce"), list = $("taskforce-list");
    if (!box) return;
    const items = [...alarms.values()].sort((a, b) => String(b.taskforce_at).localeCompare(String(a.taskforce_at)));
    list.replaceChildren(...items.map((tk) => hl.el("li", { "data-ticket": String(tk.id) },
      hl.el("a", { href: `/tickets/${tk.id}`, text: `${tk.number} – ${tk.subject}` }),
      " ", hl.t("wb.taskforce_item", { due: hl.fmt.dateTime(tk.due_at), level: tk.level }))));
    box.hidden = items.length === 0;
  }

  function keep(tk) {
    if (tk.taskforce_at && !["resolved", "closed"].includes(tk.status)) alarms.set(tk.id, tk);
    else alarms.delete(tk.id);
  }

  function raised(d) {
    keep(d.ticket);
    render();
    const text = hl.t("wb.taskforce_alert", { number: d.ticket.number });
    hl.alerts.signal({ sound: "breach", title: text, body: d.ticket.subject, tag: `taskforce-${d.ticket.id}`,
                       announce: text });
  }

  function updated(tk) {
    if (!tk.taskforce_at && !alarms.has(tk.id)) return;
    keep(tk);
    render();
  }

  async function load() {
    try {
      const list = await hl.api("GET", "/api/taskforce");
      for (const a of list) keep(a.ticket);
      render();
    } catch (e) { console.info("task-force alarms not loaded:", e.message); }
  }

  return { load, raised, updated, render };
})();
