// /tickets/{id}: the ticket's department (its work queue), its level's due time, the
// time it spent at each level, and its on-site appointments with the booking form
// (2nd and 3rd level). Caller-supplied text only through textContent (hl.el).
"use strict";
hl.ticketLevels = (() => {
  const P = hl.page, $ = (id) => document.getElementById(id), t = hl.t.bind(hl);
  let ticket = null, rerender = null;

  function fact(dl, label, value) {
    dl.append(hl.el("dt", { text: label }), hl.el("dd", { text: value }));
  }

  // a datetime-local value (the browser's wall clock) as an ISO time with its UTC offset
  function isoLocal(value) {
    if (!value) return value;
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? value : d.toISOString();
  }

  async function departments(tk) {
    const list = await hl.api("GET", "/api/departments");
    const select = $("department");
    select.replaceChildren(hl.el("option", { value: "", text: t("lv.no_department") }),
      ...list.map((d) => hl.el("option", { value: String(d.id), text: d.name })));
    select.value = tk.department_id ? String(tk.department_id) : "";
    const name = list.find((d) => d.id === tk.department_id);
    return name ? name.name : "–";
  }

  // under a minute: the timer's 0:42 (DurationFormat would say nothing for 0 s)
  function span(s) { return s < 60 ? hl.fmt.timer(s) : hl.fmt.duration(s); }

  function levelTimes(rows) {
    const box = $("level-times"); box.replaceChildren();
    box.append(P.table(t("lv.time_at_levels"), [[t("pages.level")], [t("lv.time_total"), "num"], [t("lv.time_service"), "num"]],
      rows.map((r) => [hl.fmt.number(r.level), span(r.seconds), span(r.service_seconds)])));
  }

  function appointments(list) {
    const box = $("appointments"); box.replaceChildren();
    box.append(list.length ? P.table(t("lv.appointments"), [[t("lv.when")], [t("lv.place")], [t("lv.technician")], [t("lv.note")]],
      list.map((a) => [`${hl.fmt.dateTime(a.starts_at)} – ${hl.fmt.time(a.ends_at)}`, a.place, a.technician, a.note || ""]))
      : P.empty(t("lv.no_appointments")));
  }

  async function render(tk, again) {
    ticket = tk; rerender = again;
    const [name, times, booked] = await Promise.all([departments(tk), hl.api("GET", `/api/tickets/${tk.id}/levels`),
      hl.api("GET", `/api/tickets/${tk.id}/appointments`)]);
    const dl = $("level-facts"); dl.replaceChildren();
    fact(dl, t("lv.department"), name);
    fact(dl, t("lv.level_due"), tk.level_due_at ? hl.fmt.dateTime(tk.level_due_at) + (tk.level_overdue ? ` (${t("lv.level_overdue")})` : "") : "–");
    fact(dl, t("lv.resolved_at"), tk.resolved_at ? hl.fmt.dateTime(tk.resolved_at) : "–");
    if (tk.taskforce_at) fact(dl, t("lv.taskforce"), hl.fmt.dateTime(tk.taskforce_at));
    levelTimes(times);
    appointments(booked);
    const open = !["resolved", "closed"].includes(tk.status);
    $("book-form").hidden = !(tk.level >= 2 && open);
    $("book-needs-level").hidden = tk.level >= 2 || !open;
    $("ics-link").href = `/api/appointments.ics?technician=${encodeURIComponent(hl.me.username)}`;
  }

  async function saveDepartment(ev) {
    ev.preventDefault();
    const form = $("department-form"); hl.forms.clear(form);
    const value = $("department").value;
    try {
      await hl.api("PATCH", `/api/tickets/${ticket.id}`, { department_id: value ? Number(value) : null },
        { headers: { "If-Match": `"${ticket.version}"` } });
      P.say(t("lv.saved"), true);
      await rerender();
      P.say(t("lv.saved"), true);
    } catch (e) { hl.forms.show(form, e); }
  }

  async function book(ev) {
    ev.preventDefault();
    const form = $("book-form"); hl.forms.clear(form);
    const body = { starts_at: isoLocal($("book-start").value), ends_at: isoLocal($("book-end").value),
      place: $("book-place").value, technician: $("book-technician").value, note: $("book-note").value };
    try {
      await hl.api("POST", `/api/tickets/${ticket.id}/appointments`, body);
      form.reset();
      await rerender();
      P.say(t("lv.booked"), true);
    } catch (e) { hl.forms.show(form, e); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("department-form").addEventListener("submit", saveDepartment);
    $("book-form").addEventListener("submit", book);
  });
  return { render };
})();
