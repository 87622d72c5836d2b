// /reports charts, drawn by the vendored uPlot (static/vendor/uplot) as on the wallboard:
// calls offered (bars) and the service level (line, right axis) over the period (per
// hour for a day, else per day) and by hour of day. Each chart's box carries a text
// summary for screen readers (the canvas is hidden from them) and the drawn values in
// data-offered for tests.
"use strict";

const repChart = {
  plots: new Map(),

  colors() { return hl.chartColors({ bars: ["--chart-bars", "#1f5fbf"] }); },

  options(box, labels, width) {
    const c = this.colors(), px = parseFloat(getComputedStyle(box).fontSize) || 15;
    const font = `${Math.round(px * 0.85)}px system-ui, sans-serif`;
    const axis = { stroke: c.ink, font, labelFont: font, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, size: 4 } };
    return {
      width, height: 240, legend: { show: false }, cursor: { show: false }, select: { show: false },
      scales: { x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] },
                n: { range: (u, min, max) => [0, Math.max(4, Math.ceil((max || 0) * 1.2))] }, pct: { range: [0, 100] } },
      series: [
        {},
        { label: hl.t("rep.offered"), scale: "n", stroke: c.bars, fill: `${c.bars}99`, width: 1,
          paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false } },
        { label: hl.t("rep.service_level"), scale: "pct", stroke: c.sl, width: 3, points: { show: true, size: 5 }, spanGaps: false },
      ],
      axes: [
        { ...axis, space: px * 3, values: (u, splits) => splits.map((v) => (Number.isInteger(v) && labels[v] !== undefined ? labels[v] : "")) },
        { ...axis, scale: "n", size: px * 3.2, space: px * 2,
          values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? hl.fmt.number(v) : "")) },
        { ...axis, scale: "pct", side: 1, grid: { show: false }, size: px * 3.6, space: px * 2,
          values: (u, splits) => splits.map((v) => hl.fmt.percent(v / 100)) },
      ],
    };
  },

  draw(box, labels, offered, sl, summaryKey) {
    const width = Math.max(240, Math.floor(box.getBoundingClientRect().width));
    const data = [labels.map((_, i) => i), offered, sl.map((v) => (v === null ? null : v * 100))];
    const old = this.plots.get(box.id);
    if (old) old.destroy();
    box.replaceChildren();
    this.plots.set(box.id, new uPlot(this.options(box, labels, width), data, box));
    box.querySelectorAll("canvas").forEach((cv) => cv.setAttribute("aria-hidden", "true"));
    const total = offered.reduce((a, b) => a + (b || 0), 0);
    const peak = offered.length ? labels[offered.indexOf(Math.max(...offered))] : "–";
    box.setAttribute("aria-label", hl.t(summaryKey, { points: hl.fmt.number(labels.length), total: hl.fmt.number(total), peak }));
    box.dataset.offered = JSON.stringify(offered);
  },

  volume(box, report) {
    const day = report.period.kind === "day";
    const labels = report.series.map((p) => (day ? hl.fmt.time(p.at)
      : hl.fmt._get("DateTimeFormat", { day: "numeric", month: "numeric", timeZone: report.period.time_zone }).format(new Date(p.at))));
    this.draw(box, labels, report.series.map((p) => p.offered), report.series.map((p) => p.service_level), "rep.chart.summary");
  },

  hours(box, report) {
    this.draw(box, report.by_hour.map((h) => h.at), report.by_hour.map((h) => h.offered),
      report.by_hour.map((h) => h.service_level), "rep.chart.summary");
  },
};
