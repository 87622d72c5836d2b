// /customers: search by name, organisation or number (?q=…, linkable).
"use strict";
(() => {
  const P = hl.page, $ = (id) => document.getElementById(id), t = hl.t.bind(hl);

  async function render() {
    const q = P.params.get("q") || "";
    $("f-q").value = q;
    const box = $("results"); box.replaceChildren();
    const items = await hl.api("GET", `/api/customers?${new URLSearchParams({ q, limit: "50" })}`);
    if (!items.length) { box.append(P.empty(t("customers.none"))); return; }
    box.append(P.table(t("nav.customers"), [[t("name")], [t("organization")], [t("pages.team")], [t("pages.phones")], [t("pages.email")]],
      items.map((c) => [P.link(`/customers/${c.id}`, c.name), c.organization ? c.organization.name : "–", c.team || "–",
        c.phones.map((p) => p.raw).join(", ") || "–", c.email || "–"])));
  }

  P.start(render);
})();
