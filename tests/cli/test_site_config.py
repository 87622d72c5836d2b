"""Per-site values rendered into asterisk-config/: trunks to the other sites and the
overflow lines; one site renders none of it (the single Asterisk as before)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hotline_cli.asterisk import PbxConfig, PrivateAsterisk, new_agent_passwords
from hotline_cli.site_config import SitePeer, site_values
from hotline_cli.sites import site_ports

SECRET = "pair-secret-123"


def _rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **site: object) -> dict[str, str]:
    monkeypatch.setenv("HOTLINE_ASTERISK_ROOT", str(tmp_path))
    config = dataclasses.replace(
        PbxConfig(name="t", ami_secret="ami-secret-1", agent_passwords=new_agent_passwords()), **site
    )
    pbx = PrivateAsterisk(config)
    pbx.render()
    return {p.name: p.read_text() for p in (pbx.outer / "etc").glob("*.conf")}


def test_one_site_renders_no_trunk_and_no_overflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _rendered(tmp_path, monkeypatch)
    assert "HOTLINE_SITE = main" in conf["extensions.conf"]
    assert "Dial(PJSIP/5555@site-" not in conf["extensions.conf"]
    assert "NoOp(one site: no overflow)" in conf["extensions.conf"]
    assert "[site-" not in conf["pjsip.conf"].replace("[site-trunk]", "").replace("[site-auth]", "")
    assert "channelvars = HOTLINE_ORIGIN" in conf["manager.conf"]


def test_two_peers_get_a_trunk_each_and_the_overflow_tries_them_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    peers = (SitePeer("b", 5160, SECRET), SitePeer("c", 5260, "other-secret-9"))
    conf = _rendered(tmp_path, monkeypatch, site="main", peers=peers)
    pjsip, dialplan = conf["pjsip.conf"], conf["extensions.conf"]
    assert "[site-b](site-trunk)\nfrom_user = site-main\nauth = site-b-in\noutbound_auth = site-b-out" in pjsip
    assert "[site-b-in](site-auth)\nusername = site-b\npassword = pair-secret-123" in pjsip
    assert "[site-b-out](site-auth)\nusername = site-main\npassword = pair-secret-123" in pjsip
    assert "[site-c]\ntype = aor\ncontact = sip:127.0.0.1:5260" in pjsip
    b, c = dialplan.index("Dial(PJSIP/5555@site-b,"), dialplan.index("Dial(PJSIP/5555@site-c,")
    assert b < c
    assert "b(hotline-overflow-header^s^1(${CHANNEL(linkedid)}))U(hotline-overflow-taken^b)" in dialplan
    assert "GotoIf($[${QUEUE_MEMBER(hotline,ready)} > 0]?done)" in dialplan


@pytest.mark.parametrize(
    ("site", "peers", "after"),
    [
        ("Main", (), 10),  # upper case
        ("a;b", (), 10),  # would end the .conf line
        ("main", (SitePeer("main", 5160, SECRET),), 10),  # itself
        ("main", (SitePeer("b", 5160, SECRET), SitePeer("b", 5260, SECRET)), 10),  # twice
        ("main", (SitePeer("b", 5160, "short"),), 10),
        ("main", (SitePeer("b", 5160, "semi;colon-secret"),), 10),
        ("main", (SitePeer("b", 0, SECRET),), 10),
        ("main", (SitePeer("b", 5160, SECRET, host="h\nx"),), 10),
        ("main", (SitePeer("b", 5160, SECRET),), 25),  # past the promise
    ],
)
def test_bad_site_settings_are_refused(site: str, peers: tuple[SitePeer, ...], after: int) -> None:
    with pytest.raises(ValueError):
        site_values(site, peers, after)


def test_demo_sites_keep_main_on_todays_ports_and_never_share_one() -> None:
    main = site_ports(0)
    assert (main.ami, main.sip, main.agi, main.rtp_start, main.http) == (5038, 5060, 4573, 20000, 8000)
    ports = [site_ports(i) for i in range(3)]
    for field in ("ami", "sip", "agi", "rtp_start", "http"):
        assert len({getattr(p, field) for p in ports}) == 3
