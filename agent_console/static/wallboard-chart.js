// hotline wallboard: the chart of waiting calls and service level over the day, drawn
// by the vendored uPlot (static/vendor/uplot). Axis labels come from hl.fmt (the
// browser's time zone and the page's language); the canvas gets a text summary for
// screen readers, and the x labels drawn are kept on the box (data-x-labels) for tests.
"use strict";

const wbChart = {
  plot: null,
  box: null,
  lastKey: "",

  colors() { return hl.chartColors({ waiting: ["--chart-waiting", "#b3261e"] }); },

  options(width, height) {
    const c = this.colors(), box = this.box, px = parseFloat(getComputedStyle(box).fontSize) || 15;
    const axisFont = `${Math.round(px * 0.85)}px system-ui, sans-serif`;
    const axis = { stroke: c.ink, font: axisFont, labelFont: axisFont, grid: { stroke: c.grid, width: 1 },
                   ticks: { stroke: c.grid, size: 4 } };
    return {
      width, height, legend: { show: false },  // the page's own legend (translated, readable)
      cursor: { show: false }, select: { show: false },
      scales: { x: { time: true }, n: { range: (u, min, max) => [0, Math.max(4, Math.ceil((max || 0) * 1.2))] },
                pct: { range: [0, 100] } },
      series: [
        {},
        { label: hl.t("wb.chart_waiting"), scale: "n", stroke: c.waiting, width: 1.5, fill: `${c.waiting}33`,
          paths: uPlot.paths.stepped({ align: 1 }), points: { show: false }, spanGaps: false },
        { label: hl.t("wb.chart_sl"), scale: "pct", stroke: c.sl, width: 3, points: { show: false }, spanGaps: false },
      ],
      axes: [
        { ...axis, space: px * 5, size: px * 2.2, values: (u, splits) => {
          // ticks less than a minute apart (the first minutes of a day) need seconds, else
          // every label reads the same "09:58"
          const seconds = splits.length > 1 && splits[1] - splits[0] < 60;
          const labels = splits.map((v) => hl.fmt.time(v * 1000, seconds));
          box.dataset.xLabels = JSON.stringify(labels);
          return labels;
        } },
        { ...axis, scale: "n", label: hl.t("wb.chart_waiting"), size: px * 3.2, labelSize: px * 1.4, space: px * 2,
          values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? hl.fmt.number(v) : "")) },
        { ...axis, scale: "pct", side: 1, grid: { show: false }, label: hl.t("wb.chart_sl"), size: px * 4.6,
          labelSize: px * 1.4, space: px * 2, values: (u, splits) => splits.map((v) => hl.fmt.percent(v / 100)) },
      ],
    };
  },

  size() {
    const r = this.box.getBoundingClientRect();
    return [Math.max(200, Math.floor(r.width)), Math.max(120, Math.floor(r.height))];
  },

  // (Re)draw: a new plot when the language or size changed, else new data only.
  render(box, series, now) {
    this.box = box;
    const [w, h] = this.size(), key = `${hl.lang}|${w}|${h}`;
    const { data } = wbModel.chart(series, now, Math.max(60, Math.floor(w / 4)));
    if (!this.plot || key !== this.lastKey) {
      if (this.plot) this.plot.destroy();
      box.replaceChildren();
      this.plot = new uPlot(this.options(w, h), data, box);
      this.lastKey = key;
      this._legendA11y();
    } else {
      this.plot.setData(data);
    }
    this._summary(data);
  },

  // the canvas says nothing to a screen reader: the box's aria-label summarises it
  _legendA11y() {
    this.box.querySelectorAll("canvas").forEach((cv) => cv.setAttribute("aria-hidden", "true"));
  },

  _summary(data) {
    const [xs, waiting, sl] = data, box = this.box;
    const last = xs.length - 1;
    const text = last < 0 ? hl.t("wb.chart_empty") : hl.t("wb.chart_summary", {
      points: hl.fmt.number(xs.length), from: hl.fmt.time(xs[0] * 1000), to: hl.fmt.time(xs[last] * 1000),
      waiting: hl.fmt.number(waiting[last]), sl: hl.fmt.percent(sl[last] === null ? null : sl[last] / 100) });
    box.setAttribute("aria-label", `${hl.t("wb.chart")}. ${text}`);
    box.dataset.gaps = String(waiting.filter((v) => v === null).length);
  },
};
