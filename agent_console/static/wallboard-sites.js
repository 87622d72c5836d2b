// The wallboard's sites: the virtual hotline (every site summed) and each site's own row,
// from the snapshot's `sites` and pushed `sites.updated` (agent_console/site_board.py).
// A site whose bridge is silent or whose PBX is disconnected says DOWN in words, with
// why; its figures are its last known ones, greyed and labelled stale with their time,
// and the total names it as left out. Shown once more than one site is known.
// Site names are configuration text: only through textContent (hl.el).
"use strict";
hl.sites = (() => {
  let board = null;
  const $ = (id) => document.getElementById(id);
  const t = (key, vars) => hl.t(key, vars);

  // "in Betrieb", or DOWN in words with why and since when its figures are stale
  function stateCell(r) {
    if (r.state === "up") return hl.el("td", { class: "state", text: t("wb.site_up") });
    const since = r.stale_since ? t("wb.stale_since", { time: hl.fmt.time(Date.parse(r.stale_since), true) })
      : t("wb.stale_never");
    return hl.el("td", { class: "state" }, hl.el("strong", { text: t("wb.site_down") }),
      hl.el("span", { class: "why", text: t(`wb.down_${r.reason}`) }), hl.el("span", { class: "since", text: since }));
  }

  function totalText(b) {
    return b.total.missing.length ? t("wb.total_missing", { sites: b.total.missing.join(", ") }) : t("wb.total_complete");
  }

  // the figures' cells of one row (site or total); the longest wait ticks in tick()
  function figureCells(x, stale) {
    const f = x.today, cls = (more) => `num ${more}${stale ? " stale" : ""}`;
    const title = stale ? t("wb.stale") : null;
    return [
      hl.el("td", { class: cls("waiting"), title, text: hl.fmt.number(x.waiting_count) }),
      hl.el("td", { class: cls("longest"), title, "data-oldest": x.oldest_entered_at || "" }),
      hl.el("td", { class: cls("agents"), title, text: t("wb.agents_free_value", {
        available: hl.fmt.number(x.available_agents), staffed: hl.fmt.number(x.staffed_agents) }) }),
      hl.el("td", { class: "num sl", text: hl.fmt.percent(f.service_level) }),
      hl.el("td", { class: "num asa", text: hl.fmt.timer(f.asa_seconds) }),
      hl.el("td", { class: "num abandon", text: hl.fmt.percent(f.abandon_rate) }),
      hl.el("td", { class: "num answered", text: `${hl.fmt.number(f.answered)} / ${hl.fmt.number(f.offered)}` }),
    ];
  }

  function render(b) {
    if (b !== undefined) board = b;
    const box = $("sites");
    if (!box) return;
    const show = !!board && board.sites.length > 1;
    box.hidden = !show;
    $("board").classList.toggle("multi-site", show);
    if (!show) return;
    const total = hl.el("tr", { class: `total${board.total.missing.length ? " partial" : ""}`, "data-site": "*" },
      hl.el("th", { scope: "row", text: t("wb.virtual") }),
      hl.el("td", { class: "state", text: totalText(board) }), ...figureCells(board.total, false));
    const rows = board.sites.map((r) => hl.el("tr", { class: `site ${r.state}`, "data-site": r.site, "data-state": r.state },
      hl.el("th", { scope: "row", text: r.site }),
      stateCell(r), ...figureCells(r, r.stale)));
    $("sites-table").tBodies[0].replaceChildren(total, ...rows);
    tick(hl.live.now());
  }

  // the longest waits against the server clock (a stale row: as of its last live moment)
  function tick(now) {
    if (!board || now === null) return;
    document.querySelectorAll("#sites-table td.longest").forEach((td) => {
      const row = td.closest("tr"), site = board.sites.find((r) => r.site === row.dataset.site);
      const at = site && site.stale && site.stale_since ? Date.parse(site.stale_since) : now;
      td.textContent = td.dataset.oldest ? hl.fmt.timer((at - Date.parse(td.dataset.oldest)) / 1000) : hl.fmt.timer(null);
    });
  }

  return { render, tick, get board() { return board; } };
})();
