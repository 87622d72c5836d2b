// hotline wallboard: the live figures between two pushed queue views. Pure functions
// of (queue view, server time now): no DOM, no clock of their own.
// They mirror queue/callqueue (live.py `_waiting_view`, metrics.py
// `service_level_if_answered_now`) so a caller's flags change the moment the wait
// crosses a line, not when the server next pushes: keep the two in step.
"use strict";

const wbModel = {
  // Each waiting caller at server time `now` (ms): wait, expected (null: no estimate),
  // breached (wait > T), atRisk (breached, within the warn margin of T, expected > T,
  // or no estimate because nobody is staffed) and status "breached" | "at_risk" | "ok".
  rows(queue, now) {
    const T = queue.today.threshold_seconds, margin = queue.warn_margin_seconds ?? 5;
    return queue.waiting.map((w) => {
      const wait = Math.max(0, (now - Date.parse(w.entered_at)) / 1000);
      const remaining = w.expected_remaining_seconds ?? null;
      const expected = remaining === null ? null : wait + remaining;
      const breached = wait > T;
      const atRisk = breached || wait >= T - margin || expected === null || expected > T;
      return { ...w, wait, expected, breached, atRisk, status: breached ? "breached" : atRisk ? "at_risk" : "ok" };
    });
  },

  // today's service level if every caller still waiting were answered now (null: no calls)
  slIfAnsweredNow(today, rows) {
    const within = today.answered_within + rows.filter((r) => r.wait <= today.threshold_seconds).length;
    const base = today.offered - today.short_abandons + rows.length;
    return base > 0 ? within / base : null;
  },

  // uPlot's data from the server's samples plus the live point `now`:
  // [x (s), waiting, service level (%)], with a null point wherever samples are missing
  // for longer than 2.5 typical steps, so a gap is drawn as a gap; an SL of null (no
  // call offered yet) stays null, never 100 %.
  // At most `maxPoints` (about one per 4 px): each stretch keeps its most waiting calls
  // and its last service level, so a day reads as a load profile, not a bar code.
  chart(series, now, maxPoints = Infinity) {
    let pts = series.map((s) => ({ x: Date.parse(s.at) / 1000, waiting: s.waiting, sl: s.service_level }));
    if (now) pts.push({ x: now.at / 1000, waiting: now.waiting, sl: now.sl });
    pts.sort((a, b) => a.x - b.x);
    if (pts.length > maxPoints) pts = this.buckets(pts, maxPoints);
    const steps = pts.slice(1).map((p, i) => p.x - pts[i].x).filter((d) => d > 0).sort((a, b) => a - b);
    const step = steps.length ? Math.max(1, steps[Math.floor(steps.length / 2)]) : 60;
    const xs = [], waiting = [], sl = [];
    pts.forEach((p, i) => {
      if (i && p.x - pts[i - 1].x > 2.5 * step) { xs.push(pts[i - 1].x + step); waiting.push(null); sl.push(null); }
      xs.push(p.x); waiting.push(p.waiting); sl.push(p.sl === null || p.sl === undefined ? null : p.sl * 100);
    });
    return { data: [xs, waiting, sl], step };
  },

  buckets(pts, maxPoints) {
    const last = pts[pts.length - 1], first = pts[0].x, width = (last.x - first) / (maxPoints - 1);
    const kept = new Map();
    for (const p of pts.slice(0, -1)) {
      const slot = Math.min(maxPoints - 2, Math.floor((p.x - first) / width)), k = kept.get(slot);
      if (!k) kept.set(slot, { x: first + slot * width, waiting: p.waiting, sl: p.sl });
      else { k.waiting = Math.max(k.waiting, p.waiting); if (p.sl !== null && p.sl !== undefined) k.sl = p.sl; }
    }
    return [...[...kept.keys()].sort((a, b) => a - b).map((k) => kept.get(k)), last];
  },
};
