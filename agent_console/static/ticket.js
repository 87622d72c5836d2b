// /tickets/{id}: one ticket (read-only here; "Edit in the console" opens it in the console's
// editor, /console#ticket=ID, the same one used during a call), its conversation (calls, mails, form entries, faxes, mails to the caller: timeline.js),
// its calls, its history and its due time (SLA).
"use strict";
(() => {
  const P = hl.page, $ = (id) => document.getElementById(id), t = hl.t.bind(hl);
  const id = Number(location.pathname.split("/").pop());

  function fact(dl, label, value) {
    dl.append(hl.el("dt", { text: label }), value instanceof Node ? hl.el("dd", {}, value) : hl.el("dd", { text: value }));
  }

  async function render() {
    let tk;
    try { tk = await hl.api("GET", `/api/tickets/${id}`); } catch (e) {
      $("ticket-h").textContent = e.status === 404 ? t("pages.ticket_not_found") : e.message;
      return;
    }
    const [calls, history] = await Promise.all([hl.api("GET", `/api/tickets/${id}/calls`), hl.api("GET", `/api/tickets/${id}/history`),
      hl.timeline.load(id, $("timeline"))]);
    $("ticket-h").textContent = `${tk.number} – ${tk.subject}`;
    $("edit-in-console").href = `/console#ticket=${tk.id}`;
    const dl = $("facts"); dl.replaceChildren();
    fact(dl, t("pages.status"), hl.enum("ticket_status", tk.status));
    fact(dl, t("pages.priority"), hl.enum("priority", tk.priority));
    fact(dl, t("pages.level"), hl.fmt.number(tk.level));
    fact(dl, t("pages.team"), tk.team || "–");
    fact(dl, t("pages.assignee"), tk.assignee || "–");
    fact(dl, t("pages.channel"), hl.enum("channel", tk.channel));
    if (tk.linkedid) fact(dl, t("pages.site"), tk.site);  // the site (Asterisk) the call came in at
    fact(dl, t("pages.due"), P.due(tk));
    fact(dl, t("pages.csat"), tk.csat ? `${tk.csat} / 5` : t("pages.csat_none"));
    fact(dl, t("pages.created"), hl.fmt.dateTime(tk.created_at));
    fact(dl, t("pages.customer"), tk.contact_id ? P.link(`/customers/${tk.contact_id}`, t("pages.open_customer")) : "–");
    $("description").textContent = tk.description || t("none");
    await hl.ticketLevels.render(tk, render);
    const cbox = $("calls"); cbox.replaceChildren();
    cbox.append(calls.length ? P.table(t("pages.calls_of_ticket"), [[t("pages.when")], [t("calls.caller")], [t("calls.outcome")],
      [t("calls.wait"), "num"], [t("calls.talk"), "num"]],
    calls.map((c) => [hl.fmt.dateTime(c.entered_at), P.caller(c), hl.enum("outcome", c.outcome),
      hl.fmt.timer(c.wait_seconds), hl.fmt.timer(c.talk_seconds)])) : P.empty(t("none")));
    const hbox = $("history"); hbox.replaceChildren();
    hbox.append(history.length ? P.table(t("pages.history"), [[t("pages.when")], [t("pages.who")], [t("pages.field")],
      [t("pages.change")], [t("pages.note")]],
    history.map((h) => [hl.fmt.dateTime(h.at), h.actor, hl.has(`field.${h.field}`) ? t(`field.${h.field}`) : h.field,
      h.old || h.new ? `${h.old || "–"} → ${h.new || "–"}` : "", h.note || ""])) : P.empty(t("none")));
  }

  P.start(render);
})();
