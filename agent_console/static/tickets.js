// /tickets: views (my open, my team, level 2/3, my departments, overdue; callbacks live on /calls),
// filters, full-text search and paging. The search is in the address (?q=…), so a
// search can be linked and reloaded; the form is a plain GET form.
"use strict";
(() => {
  const P = hl.page, $ = (id) => document.getElementById(id), t = hl.t.bind(hl);
  const FILTERS = ["q", "status", "level", "priority", "department", "team", "number"];
  let departments = null;  // id -> name, loaded once

  async function loadDepartments() {
    if (departments) return;
    const list = await hl.api("GET", "/api/departments");
    departments = new Map(list.map((d) => [d.id, d.name]));
    $("f-department").append(...list.map((d) => hl.el("option", { value: String(d.id), text: d.name })));
  }
  const view = P.params.get("view") || "mine";

  function fillForm() {
    $("f-view").value = view;
    for (const name of FILTERS) $(`f-${name}`).value = P.params.get(name) || "";
    for (const a of document.querySelectorAll("#views a[data-view]")) {
      if (a.dataset.view === view) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
  }

  async function render() {
    await loadDepartments();
    fillForm();
    const query = new URLSearchParams({ view, limit: String(P.PAGE_SIZE), offset: String((P.pageNumber() - 1) * P.PAGE_SIZE) });
    for (const name of [...FILTERS, "contact_id"]) { const v = P.params.get(name); if (v) query.set(name, v); }
    const box = $("results");
    const { items, total } = await P.list(`/api/tickets?${query}`);
    box.replaceChildren();
    if (!items.length) { box.append(P.empty(t("pages.no_tickets"))); return; }
    box.append(P.table(t("nav.tickets"), [[t("pages.number_col")], [t("subject")], [t("pages.status")], [t("pages.priority")],
      [t("pages.level"), "num"], [t("lv.department")], [t("pages.team")], [t("pages.assignee")], [t("pages.due")], [t("pages.created")]],
    items.map((tk) => [P.link(`/tickets/${tk.id}`, tk.number), tk.subject, hl.enum("ticket_status", tk.status),
      hl.enum("priority", tk.priority), hl.fmt.number(tk.level), departments.get(tk.department_id) || "–", tk.team || "–", tk.assignee || "–", P.due(tk),
      hl.fmt.dateTime(tk.created_at)])));
    box.append(P.pager(total, P.pageNumber()));
  }

  P.start(render);
})();
