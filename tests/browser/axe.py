"""axe-core in a Playwright page: fail on serious or critical accessibility violations.

Layer: test support. Injects the vendored, pinned axe-core (agent_console/static/vendor/
axe-core) into the page as it is, runs every rule (WCAG 2.0/2.1 A and AA and best
practices) and keeps the violations of impact serious or critical.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[2] / "agent_console" / "static" / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.failureSummary || ""}`) }));
}"""


def violations(page: Any, impacts: tuple[str, ...] = BLOCKING) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(_RUN)
    return [v for v in found if v["impact"] in impacts]


def assert_no_serious_violations(page: Any, where: str = "") -> None:
    found = violations(page)
    report = "\n".join(f"{v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in found)
    assert not found, f"axe-core on {where or page.url}:\n{report}"
