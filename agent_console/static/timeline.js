// hotline: one ticket, all its conversation (GET /api/tickets/{id}/timeline): calls, mails,
// form entries, faxes and the mails sent to the caller, oldest first. Used by the ticket
// page and the console's ticket editor. Everything a caller wrote is shown as text
// (hl.el -> textContent), never as markup; files are download links only.
"use strict";

hl.timeline = {
  async load(ticketId, box) {
    const items = await hl.api("GET", `/api/tickets/${ticketId}/timeline`);
    box.replaceChildren(this.list(items));
    return items;
  },

  list(items) {
    const t = hl.t.bind(hl), el = hl.el.bind(hl);
    if (!items.length) return el("p", { class: "empty muted", text: t("timeline.empty") });
    return el("ol", { class: "timeline", "aria-label": t("timeline.title") }, ...items.map((i) => this.item(i)));
  },

  item(i) {
    const t = hl.t.bind(hl), el = hl.el.bind(hl);
    const kind = hl.has(`timeline.kind.${i.kind}`) ? t(`timeline.kind.${i.kind}`) : i.kind;
    const head = el("p", { class: "tl-head" }, el("strong", { class: "tl-kind", text: kind }),
      el("time", { datetime: i.at || "", text: hl.fmt.dateTime(i.at) }));
    const li = el("li", { class: `tl-item tl-${i.kind}`, "data-kind": i.kind }, head);
    if (i.call) this.call(li, head, i.call);
    else if (i.message) this.message(li, head, i.message);
    else if (i.notification) this.notice(li, head, i.notification);
    return li;
  },

  call(li, head, c) {
    const t = hl.t.bind(hl);
    head.append(hl.el("span", { class: "tl-who", text: t("timeline.from", { who: hl.page ? hl.page.caller(c) : (c.caller_display || c.caller_number || c.caller_raw || "") }) }));
    const line = t("timeline.call", { outcome: c.outcome ? hl.enum("outcome", c.outcome) : "–",
                                      wait: hl.fmt.timer(c.wait_seconds), talk: hl.fmt.timer(c.talk_seconds) });
    // the agent by display name (the server's directory), else the extension: never a raw "PJSIP/1001"
    const agent = c.agent ? (c.agent_name || c.agent.replace(/^[A-Za-z]+\//, "")) : "";
    li.append(hl.el("p", { text: agent ? `${line} · ${t("timeline.agent", { agent })}` : line }));
  },

  message(li, head, m) {
    const el = hl.el.bind(hl), who = m.sender_name ? `${m.sender_name} <${m.sender}>` : m.sender;
    head.append(el("span", { class: "tl-who", text: hl.t("timeline.from", { who }) }));
    if (m.subject) li.append(el("p", { class: "tl-subject", text: m.subject }));
    if (m.body) li.append(el("p", { class: "tl-body prewrap", text: m.body }));
    if (m.attachments && m.attachments.length) {
      li.append(el("ul", { class: "tl-files", "aria-label": hl.t("timeline.files") },
        ...m.attachments.map((a) => el("li", {}, el("a", { href: `/api/attachments/${a.id}`, download: a.filename, text: a.filename }),
          el("span", { class: "muted", text: ` (${hl.fmt.number(Math.ceil(a.size / 1024))} KB)` })))));
    }
  },

  notice(li, head, n) {
    const t = hl.t.bind(hl), el = hl.el.bind(hl);
    const what = hl.has(`timeline.notice.${n.kind}`) ? t(`timeline.notice.${n.kind}`) : n.kind;
    const status = hl.has(`timeline.status.${n.status}`) ? t(`timeline.status.${n.status}`) : n.status;
    head.append(el("span", { class: "tl-who", text: `${what} · ${t("timeline.to", { who: n.to_address })}` }),
      el("span", { class: `tl-status tl-status-${n.status}`, text: status }));
    li.append(el("p", { class: "tl-subject", text: n.subject }));
    if (n.body) li.append(el("details", {}, el("summary", { text: t("timeline.show_text") }), el("p", { class: "tl-body prewrap", text: n.body })));
  },
};
