"""Knowledge-base routes: who writes what, versions, search, suggestions for a caller or
ticket, and "solved with KB" links (counted once per ticket, written to the history)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from tickets.models import Ticket

PRINTER_DE = {"title": "Drucker druckt nicht", "body": "Druckerspooler neu starten.", "language": "de",
              "category": "Drucker", "tags": ["drucker", "printer"]}
PRINTER_EN = {"title": "Printer does not print", "body": "Restart the print spooler.", "language": "en",
              "category": "Printer", "tags": ["printer", "drucker"]}
VPN = {"title": "VPN verbindet nicht", "body": "VPN-Client aktualisieren.", "language": "de", "category": "VPN"}
PASSWORD = {"title": "Passwort zurücksetzen", "body": "Im Portal *Kennwort vergessen* wählen.", "language": "de",
            "category": "Konto", "tags": ["passwort"]}


def _article(who: Any, body: dict[str, Any]) -> dict[str, Any]:
    r = who.send("POST", "/api/kb/articles", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_write_read_version_and_conflict(login: Any) -> None:
    anna, sven = login("anna"), login("sven")
    a = _article(anna, {**VPN, "body": "<script>alert(1)</script> **fett**"})
    assert a["html"] == "<p>&lt;script&gt;alert(1)&lt;/script&gt; <strong>fett</strong></p>\n"
    assert (a["author"], a["version"], a["visibility"]) == ("anna", 1, "internal")
    r = sven.send("PUT", f"/api/kb/articles/{a['id']}", json={**VPN, "base_version": 1, "visibility": "customer"})
    assert r.status_code == 200 and r.json()["version"] == 2
    stale = sven.send("PUT", f"/api/kb/articles/{a['id']}", json={**VPN, "base_version": 1})
    assert (stale.status_code, stale.json()["code"]) == (409, "kb_version_conflict")
    versions = anna.get(f"/api/kb/articles/{a['id']}/versions").json()
    assert [(v["version"], v["saved_by"]) for v in versions] == [(2, "sven"), (1, "anna")]
    old = anna.get(f"/api/kb/articles/{a['id']}/versions/1").json()
    assert "<strong>fett</strong>" in old["html"]
    assert anna.get(f"/api/kb/articles/{a['id']}/versions/9").status_code == 404
    assert anna.get("/api/kb/articles/999999").json()["code"] == "not_found"


def test_agents_write_internal_articles_only(login: Any) -> None:
    anna, admin = login("anna"), login("admin")
    r = anna.send("POST", "/api/kb/articles", json={**VPN, "visibility": "customer"})
    assert (r.status_code, r.json()["code"]) == (403, "kb_customer_article")
    public = _article(admin, {**VPN, "visibility": "customer"})
    r = anna.send("PUT", f"/api/kb/articles/{public['id']}", json={**VPN, "base_version": 1})
    assert r.status_code == 403
    assert anna.get(f"/api/kb/articles/{public['id']}").status_code == 200  # but reads it


def test_bad_input_is_a_422_never_a_500(login: Any) -> None:
    anna = login("anna")
    for body in ({**VPN, "language": "fr"}, {**VPN, "title": ""}, {**VPN, "title": "a\nb"},
                 {**VPN, "tags": ["a,b"]}, {**VPN, "body": "x\x00"}, {**VPN, "visibility": "public"}):
        assert anna.send("POST", "/api/kb/articles", json=body).status_code == 422, body
    assert anna.get("/api/kb/search", params={"q": "x" * 201}).status_code == 422
    assert anna.get("/api/kb/search", params={"q": '"*) OR NEAR(('}).json() == []
    assert anna.send("POST", "/api/tickets/1/kb", json={"article_id": 0}).status_code == 422


def test_search_and_preview(login: Any) -> None:
    anna = login("anna")
    _article(anna, PASSWORD)
    _article(anna, PRINTER_EN)
    hits = anna.get("/api/kb/search", params={"q": "Zurücksetzen des Passworts"}).json()
    assert [h["title"] for h in hits] == ["Passwort zurücksetzen"] and "Kennwort" in hits[0]["snippet"]
    assert anna.get("/api/kb/search", params={"q": "printing", "language": "de"}).json() == []
    r = anna.send("POST", "/api/kb/preview", json={"body": "[x](javascript:alert(1)) <b>raw</b>"})
    assert r.json()["html"] == "<p>[x](javascript:alert(1)) &lt;b&gt;raw&lt;/b&gt;</p>\n"


def _ticket(who: Any, subject: str, category: str, contact_id: int) -> dict[str, Any]:
    r = who.send("POST", "/api/tickets", json={"subject": subject, "category": category, "contact_id": contact_id})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_caller_whose_organisation_had_printer_tickets_gets_printer_articles(login: Any, client: Any) -> None:
    anna = login("anna")
    printer_de, printer_en, vpn = _article(anna, PRINTER_DE), _article(anna, PRINTER_EN), _article(anna, VPN)
    _article(anna, PASSWORD)
    colleague = anna.send("POST", "/api/customers",
                          json={"name": "Jonas Becker", "organization": "Stadtwerke KB"}).json()
    caller = anna.send("POST", "/api/customers", json={"name": "Erika KB", "organization": "Stadtwerke KB",
                                                       "language": "en"}).json()
    other = anna.send("POST", "/api/customers", json={"name": "Fremd", "organization": "Andere GmbH"}).json()
    _ticket(anna, "Drucker im 2. OG", "Drucker", colleague["id"])
    _ticket(anna, "Druckt nur leere Seiten", "drucker", colleague["id"])
    old_vpn = _ticket(anna, "VPN", "VPN", colleague["id"])
    _ticket(anna, "VPN", "VPN", other["id"])
    with client.app.state.services.kb.sessions.begin() as s:  # 91 days ago: out of the window
        s.execute(update(Ticket).where(Ticket.id == old_vpn["id"])
                  .values(created_at=datetime.now(UTC) - timedelta(days=91)))

    pop = anna.get("/api/kb/suggest", params={"contact_id": caller["id"]}).json()
    assert pop["categories"] == ["Drucker"]  # "drucker" is the same; the VPN ticket is 91 days old
    ids = [a["id"] for a in pop["articles"]]
    assert ids == [printer_en["id"], printer_de["id"]]  # the caller's language (en) first
    assert all(a["reason"] == "category" for a in pop["articles"])

    typed = anna.get("/api/kb/suggest", params={"contact_id": caller["id"], "q": "Passwort"}).json()
    assert typed["articles"][0]["title"] == "Passwort zurücksetzen" and typed["articles"][0]["reason"] == "text"

    ticket = _ticket(anna, "VPN geht nicht", "VPN", other["id"])
    for_ticket = anna.get("/api/kb/suggest", params={"ticket_id": ticket["id"]}).json()
    assert [a["id"] for a in for_ticket["articles"]][:1] == [vpn["id"]]
    assert anna.get("/api/kb/suggest", params={"ticket_id": 999999}).status_code == 404
    assert anna.get("/api/kb/suggest", params={"contact_id": 999999}).status_code == 404


def test_linking_marks_the_ticket_and_counts_once(login: Any) -> None:
    anna, sven = login("anna"), login("sven")  # bert may not see anna's tickets
    article = _article(anna, PRINTER_DE)
    customer = anna.send("POST", "/api/customers", json={"name": "Link Test"}).json()
    t1, t2 = _ticket(anna, "Drucker", "Drucker", customer["id"]), _ticket(anna, "Drucker 2", "Drucker", customer["id"])
    first = anna.send("POST", f"/api/tickets/{t1['id']}/kb", json={"article_id": article["id"]}).json()
    again = sven.send("POST", f"/api/tickets/{t1['id']}/kb", json={"article_id": article["id"]}).json()
    assert (first["created"], again["created"]) == (True, False)
    assert first["article"]["solved_count"] == 1 and again["article"]["solved_count"] == 1
    anna.send("POST", f"/api/tickets/{t2['id']}/kb", json={"article_id": article["id"]})
    assert anna.get(f"/api/kb/articles/{article['id']}").json()["solved_count"] == 2
    links = anna.get(f"/api/tickets/{t1['id']}/kb").json()
    assert [(x["article"]["id"], x["linked_by"]) for x in links] == [(article["id"], "anna")]
    history = anna.get(f"/api/tickets/{t1['id']}/history").json()
    kb_entries = [h for h in history if h["field"] == "kb"]
    assert len(kb_entries) == 1 and kb_entries[0]["note"] == "solved with KB: Drucker druckt nicht"
    assert anna.send("POST", "/api/tickets/999999/kb", json={"article_id": article["id"]}).status_code == 404
    r = anna.send("POST", f"/api/tickets/{t1['id']}/kb", json={"article_id": 999999})
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert anna.get("/api/tickets/999999/kb").status_code == 404
