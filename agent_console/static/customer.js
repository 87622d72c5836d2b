// /customers/{id}: contact data, open tickets and recent calls (as far as the user may
// see them: an agent their own calls, their own and their team's tickets).
"use strict";
(() => {
  const P = hl.page, $ = (id) => document.getElementById(id), t = hl.t.bind(hl);
  const id = Number(location.pathname.split("/").pop());

  async function render() {
    let c;
    try { c = await hl.api("GET", `/api/customers/${id}`); } catch (e) {
      $("customer-h").textContent = e.status === 404 ? t("customers.not_found") : e.message;
      return;
    }
    $("customer-h").textContent = c.name;
    await hl.standardRequests.render(c.id);
    const dl = $("facts"); dl.replaceChildren();
    const add = (label, value) => dl.append(hl.el("dt", { text: label }), hl.el("dd", { text: value || "–" }));
    add(t("organization"), c.organization ? c.organization.name : "");
    add(t("pages.team"), c.team);
    add(t("pages.phones"), c.phones.map((p) => p.raw).join(", "));
    add(t("pages.email"), c.email);
    add(t("language"), c.language === "en" ? "English" : "Deutsch");
    $("all-tickets").href = `/tickets?view=all&contact_id=${c.id}`;
    const open = $("open"); open.replaceChildren();
    open.append(c.open_tickets.length ? P.table(t("open_tickets"), [[t("pages.number_col")], [t("subject")], [t("pages.status")], [t("pages.due")]],
      c.open_tickets.map((tk) => [P.link(`/tickets/${tk.id}`, tk.number), tk.subject, hl.enum("ticket_status", tk.status), P.due(tk)]))
      : P.empty(t("none")));
    const recent = $("recent"); recent.replaceChildren();
    recent.append(c.recent_calls.length ? P.table(t("recent_calls"), [[t("pages.when")], [t("calls.outcome")], [t("calls.wait"), "num"],
      [t("calls.talk"), "num"], [t("calls.ticket")]],
    c.recent_calls.map((k) => [hl.fmt.dateTime(k.entered_at), hl.enum("outcome", k.outcome), hl.fmt.timer(k.wait_seconds),
      hl.fmt.timer(k.talk_seconds), k.ticket_id ? P.link(`/tickets/${k.ticket_id}`, t("calls.open_ticket")) : "–"]))
      : P.empty(t("none")));
  }

  P.start(render);
})();
