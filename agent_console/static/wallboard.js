// The supervisors' wallboard: pushed queue views, live timers ticking locally.
"use strict";

const wb = { queue: null, series: [], offset: 0 };
const $ = (id) => document.getElementById(id);
const { el, t } = { el: hl.el.bind(hl), t: hl.t.bind(hl) };

// live seconds since `iso`, on the server's clock (offset learnt from each view)
function since(iso) { return iso ? (Date.now() + wb.offset - Date.parse(iso)) / 1000 : null; }

function renderTiles(q) {
  const f = q.today;
  $("queue-name").textContent = q.name;
  $("waiting-count").textContent = q.waiting_count;
  $("service-level").textContent = hl.percent(f.service_level);
  $("sl-def").textContent = `(${f.threshold_seconds} s)`;
  $("sl-def").title = `${f.service_level_definition}; Asterisk: ${hl.percent(f.service_level_asterisk)} / ${hl.percent(f.service_level_asterisk2)}`;
  $("asa").textContent = hl.seconds(f.asa_seconds);
  $("abandon-rate").textContent = hl.percent(f.abandon_rate);
  $("answered").textContent = `${f.answered} / ${f.offered}`;
  $("tile-sl").classList.toggle("bad", f.service_level !== null && f.service_level < 0.8);
}

function renderWaiting(q) {
  const body = $("waiting").querySelector("tbody"); body.replaceChildren();
  for (const w of q.waiting) {
    const caller = w.caller.name ? `${w.caller.name} (${w.caller.number || w.caller.raw})` : (w.caller.number || w.caller.raw || t("withheld_caller"));
    body.append(el("tr", { "data-linkedid": w.linkedid, class: w.at_risk ? "at_risk" : "" },
      el("td", { text: w.position }), el("td", { class: "caller", text: caller }),
      el("td", { class: "wait", "data-since": w.entered_at, text: hl.seconds(since(w.entered_at)) }),
      el("td", { text: w.expected_wait_seconds === null ? "?" : hl.seconds(w.expected_wait_seconds) })));
  }
}

function renderAgents(q) {
  const body = $("agents").querySelector("tbody"); body.replaceChildren();
  for (const a of q.agents) {
    const label = a.state === "paused" && a.pause_reason ? `${t("paused")}: ${a.pause_reason}` : t(a.state);
    body.append(el("tr", { "data-agent": a.agent }, el("td", { text: `${a.name || a.agent} (${a.agent})` }),
      el("td", {}, el("span", { class: `badge ${a.state}`, text: label })),
      el("td", { class: "in-state", "data-since": a.since, text: hl.seconds(since(a.since)) })));
  }
}

function renderChart() {
  const pts = wb.series.slice(-240), box = $("chart-box");
  const w = 600, h = 160, ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg"); svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  const maxWaiting = Math.max(1, ...pts.map((p) => p.waiting));
  const line = (values, color) => {
    if (values.length < 1) return;
    const d = values.map((v, i) => `${i ? "L" : "M"}${(i / Math.max(1, values.length - 1)) * w},${h - v * (h - 10)}`).join(" ");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d); path.setAttribute("fill", "none"); path.setAttribute("stroke", color); path.setAttribute("stroke-width", "2");
    svg.append(path);
  };
  line(pts.map((p) => p.waiting / maxWaiting), "#c62828");
  line(pts.map((p) => (p.service_level === null ? 1 : p.service_level)), "#1a7f37");
  box.replaceChildren(svg, el("p", { class: "muted", text: `— ${t("waiting")} (max ${maxWaiting})  — ${t("service_level")}` }));
}

function render(q) {
  wb.queue = q; if (q.at) wb.offset = Date.parse(q.at) - Date.now();
  $("longest-wait").textContent = hl.seconds(q.longest_wait_seconds);
  renderTiles(q); renderWaiting(q); renderAgents(q);
}

function tick() {
  document.querySelectorAll("[data-since]").forEach((n) => { n.textContent = hl.seconds(since(n.dataset.since)); });
  if (wb.queue) {
    const waits = wb.queue.waiting.map((w) => since(w.entered_at));
    $("longest-wait").textContent = hl.seconds(waits.length ? Math.max(...waits) : null);
    $("tile-longest").classList.toggle("bad", waits.some((s) => s > wb.queue.today.threshold_seconds));
  }
}

const handlers = {
  snapshot(d) {
    if (!d.queues) { $("status").textContent = "403"; return; }
    const q = d.queues[0]; if (!q) return;
    wb.series = q.series || []; render(q); renderChart();
  },
  "queue.updated"(q) {
    if (q.sample && (!wb.series.length || wb.series[wb.series.length - 1].at !== q.sample.at)) { wb.series.push(q.sample); renderChart(); }
    render(q);
  },
};

(async () => {
  const me = await hl.loadMe(); if (!me) return;
  $("lang").value = hl.lang; hl.translatePage();
  $("lang").onchange = () => { hl.setLang($("lang").value); hl.translatePage(); if (wb.queue) render(wb.queue); renderChart(); };
  $("who").textContent = me.display_name;
  $("logout").onclick = () => hl.logout();
  if (me.role === "agent") { $("status").textContent = "403: supervisors only"; return; }
  hl.connect(handlers);
  setInterval(tick, 1000);
})();
