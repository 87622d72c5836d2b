"""Customers: create/search, CSV import with bad rows by line, duplicates, export round trip, CLI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.db_fixture import Sessions, wipe
from tickets.customers import CustomerError, CustomerService, ImportReport
from tickets.lookup import CustomerLookup, MatchStatus
from tickets.models import Organisation

ROOT = Path(__file__).resolve().parents[2]
HEADER = "name,organization,phones,email,language,team\r\n"


@pytest.fixture
def customers(sessions: Sessions) -> CustomerService:
    return CustomerService(sessions)


def _csv(text: str) -> io.StringIO:
    return io.StringIO(text, newline="")


def test_create_normalizes_odd_formats_and_lookup_finds_them(customers: CustomerService) -> None:
    made = customers.create("Erika Mustermann", "Stadtwerke Leipzig", ["+49 (0)341 2538-5555", "0341/2538-4444"],
                            email="erika@example.org")
    assert made["organization"]["name"] == "Stadtwerke Leipzig"
    assert made["phones"] == [
        {"raw": "+49 (0)341 2538-5555", "number": "+4934125385555", "kind": "direct"},
        {"raw": "0341/2538-4444", "number": "+4934125384444", "kind": "direct"},
    ]
    lookup = CustomerLookup(customers.sessions)
    for raw in ("0341 2538-5555", "0341/2538-5555", "+4934125384444"):
        r = lookup.lookup(raw)
        assert r.status is MatchStatus.KNOWN and r.candidates[0].contact_id == made["id"]
    assert customers.get(made["id"]) == made
    assert customers.get(made["id"] + 1000) is None


def test_team_falls_back_to_the_organisations_and_search(customers: CustomerService) -> None:
    with customers.sessions.begin() as s:
        s.add(Organisation(name="Klinikum Chemnitz", team="Kliniken"))
    a = customers.create("Dr. Jana Koch", "Klinikum Chemnitz", ["0371 3330-1234"])
    b = customers.create("Tom 100% Weber", "Klinikum Chemnitz", ["1001"], team="Notfall")
    assert a["team"] == "Kliniken" and b["team"] == "Notfall" and b["phones"][0]["number"] == "1001"
    assert [c["id"] for c in customers.search("klinikum")] == [a["id"], b["id"]]
    assert [c["id"] for c in customers.search("KOCH")] == [a["id"]]
    assert [c["id"] for c in customers.search("100%")] == [b["id"]]  # % is literal, not a wildcard
    assert [c["id"] for c in customers.search("+49 371 33301234")] == [a["id"]]
    assert [c["id"] for c in customers.search("1001")] == [b["id"]]
    assert len(customers.search("", limit=1)) == 1 and customers.search("nobody") == []
    assert customers.search("x\x00y") == []


@pytest.mark.parametrize(("kwargs", "complaint"), [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "Eve\r\nX-Injected: 1"}, "name"),
    ({"name": "Nul\x00"}, "name"),
    ({"phones": ["0341 2538-5555", "garbage"]}, "'garbage'"),
    ({"phones": ["anonymous"]}, "'anonymous'"),
    ({"phones": ["0341;2538"]}, "phone"),
    ({"email": "not an email"}, "email"),
    ({"language": "fr"}, "language"),
    ({"organization": "Org\nX"}, "organization"),
])
def test_invalid_input_raises_customer_error(customers: CustomerService, kwargs: dict[str, object],
                                             complaint: str) -> None:
    args: dict[str, object] = {"name": "Valid Name", "phones": ["0341 1234567"], **kwargs}
    with pytest.raises(CustomerError, match=complaint):
        customers.create(**args)  # type: ignore[arg-type]
    assert customers.count() == 0


BROKEN = (
    HEADER
    + "Erika Mustermann,Stadtwerke Leipzig,0341 2538-5555;+49 (0)341 2538-4444,erika@example.org,de,\r\n"  # 2
    + "Bad Phone,Stadtwerke Leipzig,0341 2538-1;call me,,de,\r\n"  # 3
    + ",Stadtwerke Leipzig,0341 2538-2,,de,\r\n"  # 4
    + "Too Many,Stadtwerke Leipzig,0341 2538-3,,de,,extra\r\n"  # 5
    + '"Carriage\rReturn",Stadtwerke Leipzig,0341 2538-6,,de,\r\n'  # 6 (and 7: \r is a line break)
    + "<script>alert(1)</script>,,0341 2538-7,,en,Web\r\n"  # 8
    + "\r\n"  # 9: blank lines are skipped
    + "John Smith,Northwind Ltd,+44 1632 960123,john@example.com,en,International\r\n"  # 10
    + "Erika Mustermann,Stadtwerke Leipzig,0341/2538-5555,,de,\r\n"  # 11: duplicate of 2
)


def test_import_keeps_good_rows_and_reports_bad_ones_by_line(customers: CustomerService) -> None:
    ticks: list[int] = []
    report = customers.import_csv(_csv(BROKEN), progress=ticks.append, batch=2)
    assert report.imported == 3
    assert [line for line, _ in report.errors] == [3, 4, 5, 6, 11]
    reasons = dict(report.errors)
    assert "'call me'" in reasons[3] and "name" in reasons[4] and "7 columns, expected 6" in reasons[5]
    assert "control characters" in reasons[6] and "duplicate" in reasons[11]
    assert sum(ticks) == 8  # every data record, good or bad
    html = customers.search("script")
    assert [c["name"] for c in html] == ["<script>alert(1)</script>"] and html[0]["team"] == "Web"
    erika = customers.search("0341 2538-4444")[0]
    assert erika["email"] == "erika@example.org" and len(erika["phones"]) == 2
    assert CustomerLookup(customers.sessions).lookup("+441632960123").status is MatchStatus.KNOWN


def test_reimport_imports_nothing_and_reports_every_row_duplicate(customers: CustomerService) -> None:
    good = HEADER + "A One,Org,0341 111111,,,\r\nB Two,Org,0341 222222;0341 333333,,en,\r\nC Three,,,,,\r\n"
    assert customers.import_csv(_csv(good)) == ImportReport(3, [])
    again = customers.import_csv(_csv(good), batch=1)
    assert again.imported == 0 and [line for line, _ in again.errors] == [2, 3, 4]
    assert all(reason.startswith("duplicate") for _, reason in again.errors)
    assert customers.count() == 3


def test_export_then_import_round_trips(customers: CustomerService, tmp_path: Path) -> None:
    customers.import_csv(_csv(BROKEN))
    customers.create("Zoë \"Quote\", Comma", "Org; with semicolon", ["1002"], language="en")
    path = tmp_path / "out.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        assert customers.export_csv(fh, chunk=2) == 4
    before = sorted(customers.search(limit=500), key=lambda c: c["name"])
    wipe(customers.sessions)
    with path.open(encoding="utf-8", newline="") as fh:
        report = customers.import_csv(fh)
    assert report.imported == 4 and report.errors == []
    after = sorted(customers.search(limit=500), key=lambda c: c["name"])
    strip = [{k: v for k, v in c.items() if k not in ("id", "organization")} for c in before]
    assert strip == [{k: v for k, v in c.items() if k not in ("id", "organization")} for c in after]
    assert [c["organization"] and c["organization"]["name"] for c in before] == \
        [c["organization"] and c["organization"]["name"] for c in after]


@pytest.mark.parametrize(("text", "complaint"), [
    ("", "empty"),
    ("Erika,Stadtwerke,0341 2538-5555\r\n", "unknown column"),
    ("name,organization,email\r\nErika,Org,e@x.de\r\n", "'phones'"),
    ("name,phones,phones\r\n", "twice"),
])
def test_bad_header_raises(customers: CustomerService, text: str, complaint: str) -> None:
    with pytest.raises(CustomerError, match=complaint):
        customers.import_csv(_csv(text))


def test_header_order_bom_and_undecodable_row(customers: CustomerService, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffPhones,Name\r\n0341 444444,Jörg\r\n0341 555555,Bad \xff\r\n".encode()
                     .replace(b"\xc3\xbf", b"\xff"))
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        report = customers.import_csv(fh)
    assert report.imported == 1 and report.errors == [(3, "name: not valid UTF-8")]
    assert customers.search("Jörg")[0]["phones"][0]["number"] == "+49341444444"


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOTLINE_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "hotline_cli.main", "customers", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_import_prints_counts_and_bad_lines(customers: CustomerService, database_url: str,
                                                tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(BROKEN, encoding="utf-8", newline="")
    out = _cli(database_url, "import", str(path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "imported 3, 5 bad rows"
    assert "line 3: phone 'call me': not a phone number" in out.stdout and "line 11: duplicate" in out.stdout
    assert customers.count() == 3
    exported = tmp_path / "out.csv"
    out = _cli(database_url, "export", str(exported))
    assert out.returncode == 0 and "exported 3 contacts" in out.stdout
    assert exported.read_text(encoding="utf-8").startswith("name,organization,phones,email,language,team")


def test_cli_many_bad_rows_are_cut_and_unreadable_file_fails(customers: CustomerService, database_url: str,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "".join(f"Row {i},,nope,,,\r\n" for i in range(60)), encoding="utf-8")
    out = _cli(database_url, "import", str(path))
    assert out.returncode == 1 and "imported 0, 60 bad rows" in out.stdout
    assert "line 51:" in out.stdout and "line 52:" not in out.stdout and "... and 10 more" in out.stdout
    missing = _cli(database_url, "import", str(tmp_path / "missing.csv"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    path.write_text("who,what\r\n", encoding="utf-8")
    bad_header = _cli(database_url, "import", str(path))
    assert bad_header.returncode == 1 and "unknown column" in bad_header.stderr


def test_get_many_is_get_for_each(customers: CustomerService) -> None:
    a = customers.create("Erika Muster", organization="Stadtwerke", phones=["0341 2538-5555"])
    b = customers.create("Max Muster")
    got = customers.get_many([b["id"], a["id"], a["id"], 999_999])
    assert got == {a["id"]: customers.get(a["id"]), b["id"]: customers.get(b["id"])}
    assert customers.get_many([]) == {}
