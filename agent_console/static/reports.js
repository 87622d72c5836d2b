// /reports (supervisors): a period's figures from GET /api/reports/summary: key
// figures, the FCR definition, charts (reports-chart.js), a sortable table per group,
// requests by channel and category, time to resolve per level and priority against the
// targets, SLA attainment per organisation; CSV link and a printable view. The period
// and grouping are the address's query (?period=&date=&from=&to=&group=), so a report
// can be linked and reloaded. Admins switch per-agent figures here.
"use strict";
(() => {
  const P = hl.page, $ = (id) => document.getElementById(id), t = hl.t.bind(hl);
  const none = (v) => v === null || v === undefined;
  const FMT = {
    n: (v) => hl.fmt.number(v),
    pct: (v) => (none(v) ? "–" : hl.fmt._get("NumberFormat", { style: "percent", maximumFractionDigits: 1 }).format(v)),
    s: (v) => (none(v) ? "–" : t("rep.seconds", { n: hl.fmt.number(v, { maximumFractionDigits: 1 }) })),
    h: (v) => (none(v) ? "–" : t("rep.hours", { n: hl.fmt.number(v, { maximumFractionDigits: 1 }) })),
    avg: (v) => (none(v) ? "–" : hl.fmt.number(v, { minimumFractionDigits: 1, maximumFractionDigits: 1 })),
  };
  const CALL_KPIS = [["offered", "n"], ["answered", "n"], ["abandoned", "n"], ["short_abandons", "n"], ["timeouts", "n"],
    ["service_level", "pct"], ["service_level_asterisk", "pct"], ["service_level_asterisk2", "pct"], ["asa_seconds", "s"],
    ["aht_seconds", "s"], ["longest_wait_seconds", "s"], ["abandon_rate", "pct"], ["callbacks_offered", "n"],
    ["callbacks_done", "n"]];
  const TICKET_KPIS = [["requests", "n"], ["resolved", "n"], ["fcr_rate", "pct"], ["fcr_manual_rate", "pct"],
    ["resolve_hours_mean", "h"], ["resolve_hours_median", "h"], ["resolve_hours_p90", "h"], ["sla_attainment", "pct"],
    ["solved_level1_share", "pct"], ["solved_level2_share", "pct"], ["solved_level3_share", "pct"],
    ["csat_average", "avg"], ["csat_count", "n"]];
  const GROUP_COLS = [["offered", "n"], ["answered", "n"], ["service_level", "pct"], ["asa_seconds", "s"],
    ["aht_seconds", "s"], ["abandoned", "n"], ["requests", "n"], ["fcr_rate", "pct"], ["fcr_manual_rate", "pct"],
    ["resolve_hours_median", "h"], ["sla_attainment", "pct"], ["callbacks_offered", "n"]];

  function query() {
    const q = new URLSearchParams();
    for (const k of ["period", "date", "from", "to", "group"]) { const v = P.params.get(k); if (v) q.set(k, v); }
    if (!q.get("period")) q.set("period", q.get("from") || q.get("to") ? "custom" : "month");
    if (q.get("period") === "custom") q.delete("date"); else { q.delete("from"); q.delete("to"); }
    return q;
  }

  function weekday(n) {
    return hl.fmt._get("DateTimeFormat", { weekday: "long", timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, 1 + n)));
  }
  function localDate(iso) {
    const [y, m, d] = iso.split("-").map(Number);
    return hl.fmt._get("DateTimeFormat", { dateStyle: "medium", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, d)));
  }
  function groupLabel(group, v) {
    if (none(v) || v === "") return t("rep.none");
    if (group === "hour") return `${v}:00`;
    if (group === "weekday") return weekday(Number(v));
    if (group === "channel") return hl.has(`channel.${v}`) ? hl.enum("channel", v) : v;
    if (group === "level") return t("rep.level_n", { n: v });
    if (group === "language") return hl.has(`kb.lang.${v}`) ? t(`kb.lang.${v}`) : v;
    return v;
  }

  function kpis(box, row, list) {
    box.replaceChildren(...list.map(([key, kind]) => hl.el("div", { class: "kpi", "data-k": key },
      hl.el("dt", { text: t(`rep.k.${key}`) }),
      hl.el("dd", { "data-v": none(row[key]) ? "" : String(row[key]), text: FMT[kind](row[key]) }))));
  }

  // a table whose column headers sort it (aria-sort on the header; numbers, then text; empty last)
  function sortable(box, caption, cols, rows, opts = {}) {
    let by = null, dir = 1;
    const value = (r, c) => c.get(r);
    const cmp = (a, b) => {
      const x = value(a, by), y = value(b, by);
      if (none(x) || x === "") return none(y) || y === "" ? 0 : 1;
      if (none(y) || y === "") return -1;
      return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), hl.lang)) * dir;
    };
    function draw() {
      const head = hl.el("tr", {}, ...cols.map((c) => {
        const sort = by === c ? (dir > 0 ? "ascending" : "descending") : "none";
        return hl.el("th", { scope: "col", class: c.kind === "text" ? null : "num", "aria-sort": sort },
          hl.el("button", { type: "button", class: "sort", "data-sort": c.key, text: c.label,
            onclick: () => { dir = by === c ? -dir : (c.kind === "text" ? 1 : -1); by = c; draw(); } }));
      }));
      const body = hl.el("tbody");
      for (const r of by ? [...rows].sort(cmp) : rows) {
        const tr = hl.el("tr", { "data-group": opts.key ? String(opts.key(r)) : null });
        if (r.suppressed) {
          tr.append(hl.el("th", { scope: "row", text: cols[0].show(r) }),
            hl.el("td", { colspan: cols.length - 1, class: "muted suppressed", text: t("rep.suppressed") }));
        } else {
          cols.forEach((c, i) => {
            const v = c.get(r);
            tr.append(hl.el(i ? "td" : "th", { scope: i ? null : "row", class: c.kind === "text" ? null : "num",
              "data-k": c.key, "data-v": none(v) ? "" : String(v), text: c.show(r) }));
          });
        }
        body.append(tr);
      }
      box.replaceChildren(hl.el("table", {}, hl.el("caption", { class: "visually-hidden", text: caption }),
        hl.el("thead", {}, head), body));
    }
    draw();
  }
  const col = (key, kind, label) => ({ key, kind, label: label || t(`rep.k.${key}`), get: (r) => r[key],
    show: (r) => (kind === "text" ? String(r[key]) : FMT[kind](r[key])) });

  function renderGroups(report) {
    const group = report.group;
    $("groups-box").hidden = !group;
    if (!group) return;
    $("groups-h").textContent = t("rep.by_group", { group: t(`rep.group.${group}`) });
    $("privacy-note").textContent = report.rows.some((r) => r.suppressed)
      ? t(report.per_agent ? "rep.suppressed_agent_note" : "rep.suppressed_note") : "";
    const first = { key: "group", kind: "text", label: t(`rep.group.${group}`), get: (r) => groupLabel(group, r.group),
      show: (r) => groupLabel(group, r.group) };
    if (!report.rows.length) { $("groups").replaceChildren(P.empty(t("rep.no_rows"))); return; }
    sortable($("groups"), $("groups-h").textContent, [first, ...GROUP_COLS.map(([k, kind]) => col(k, kind))],
      report.rows, { key: (r) => r.group });
  }

  function renderTables(report) {
    const ch = Object.entries(report.channels).map(([k, v]) => ({ group: k, requests: v }));
    sortable($("channels"), t("rep.by_channel"), [{ key: "group", kind: "text", label: t("pages.channel"),
      get: (r) => groupLabel("channel", r.group), show: (r) => groupLabel("channel", r.group) }, col("requests", "n")], ch,
    { key: (r) => r.group });
    const cats = Object.entries(report.categories).map(([k, v]) => ({ group: k, requests: v }));
    sortable($("categories"), t("rep.by_category"), [{ key: "group", kind: "text", label: t("rep.group.category"),
      get: (r) => groupLabel("category", r.group), show: (r) => groupLabel("category", r.group) }, col("requests", "n")],
    cats, { key: (r) => r.group });
    sortable($("resolution"), t("rep.resolution"), [
      { key: "level", kind: "text", label: t("pages.level"), get: (r) => r.level, show: (r) => t("rep.level_n", { n: r.level }) },
      { key: "priority", kind: "text", label: t("pages.priority"), get: (r) => hl.enum("priority", r.priority),
        show: (r) => hl.enum("priority", r.priority) },
      col("tickets", "n"), col("resolved", "n"), col("mean_hours", "h"), col("median_hours", "h"), col("p90_hours", "h"),
      col("target_hours", "h"), col("sla_attainment", "pct")], report.resolution, { key: (r) => `${r.level}-${r.priority}` });
    sortable($("orgs"), t("rep.sla_orgs"), [
      { key: "organisation", kind: "text", label: t("rep.group.organisation"), get: (r) => r.organisation || t("rep.none"),
        show: (r) => r.organisation || t("rep.none") },
      col("tickets", "n"), col("sla_judged", "n"), col("sla_met", "n"), col("sla_attainment", "pct")],
    report.sla_by_organisation, { key: (r) => r.organisation });
  }

  function renderControls(q, settings) {
    const kind = q.get("period");
    $("f-period").value = kind;
    $("f-date").value = q.get("date") || "";
    $("f-from").value = q.get("from") || ""; $("f-to").value = q.get("to") || "";
    $("f-group").value = q.get("group") || "";
    const agentOption = $("f-group-agent");
    agentOption.hidden = !settings.per_agent; agentOption.disabled = !settings.per_agent;
    const show = () => {
      const custom = $("f-period").value === "custom";
      document.querySelectorAll("[data-when]").forEach((n) => {
        const on = (n.dataset.when === "custom") === custom;
        n.hidden = !on; n.querySelector("input").disabled = !on;
      });
    };
    $("f-period").onchange = show; show();
    const csv = new URLSearchParams(q); csv.set("format", "csv");
    $("csv").href = `/api/reports/summary?${csv}`;
    $("print").onclick = () => window.print();
    const box = $("per-agent");
    box.checked = settings.per_agent;
    box.disabled = hl.me.role !== "admin";
    $("per-agent-who").textContent = hl.me.role === "admin" ? "" : t("rep.per_agent_admin_only");
    box.onchange = async () => {
      try {
        await hl.api("PUT", "/api/reports/settings", { per_agent: box.checked });
        await P.rerender();
        P.say(t(box.checked ? "rep.per_agent_on" : "rep.per_agent_off"), true);
      } catch (e) { box.checked = !box.checked; P.say(e.message); }
    };
  }

  async function render() {
    const q = query();
    const [report, settings] = await Promise.all([hl.api("GET", `/api/reports/summary?${q}`),
      hl.api("GET", "/api/reports/settings")]);
    if (!q.get("date") && q.get("period") !== "custom") q.set("date", report.period.first);
    renderControls(q, settings);
    const d = report.definitions;
    const period = t("rep.period_text", { first: localDate(report.period.first), last: localDate(report.period.last),
      tz: report.period.time_zone });
    $("period-text").textContent = period;
    $("print-title").textContent = period;
    kpis($("kpi-calls"), report.total, CALL_KPIS);
    kpis($("kpi-tickets"), report.total, TICKET_KPIS);
    $("sl-definition").textContent = t("rep.sl_definition", { t: d.service_level_threshold_seconds, s: d.short_abandon_seconds });
    $("fcr-definition").textContent = d.fcr[hl.lang] || d.fcr.en;
    $("fcr-final").textContent = d.fcr_final ? "" : t("rep.fcr_provisional", { days: d.fcr_days });
    renderGroups(report);
    renderTables(report);
    repChart.volume($("chart-volume"), report);
    repChart.hours($("chart-hours"), report);
    document.body.dataset.report = JSON.stringify(q.toString());
  }

  P.start(render);
})();
