"""`hotline asterisk`: the private Asterisk, or one per site (`--sites N`), trunked.

Layer: edge. The demo's sites are `main`, `b` and `c`, each its own Asterisk in
the same root with its own folder, ports and secrets (site i: AMI 5038+i, SIP
5060+100·i, FastAGI 4573+i, RTP 20000+1000·i..+999; `main` keeps today's ports and
folder). `--sites 1` (the default) is the single Asterisk exactly as before.
Each pair of sites shares a trunk password kept in the state folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from hotline_cli import pbx_root
from hotline_cli.asterisk import AGENTS, AMI_USERNAME, PrivateAsterisk, ami_login_ok, default_pbx
from hotline_cli.site_config import SitePeer
from hotline_cli.state import load_or_create_secret, state_dir

DEMO_SITES = ("main", "b", "c")


@dataclasses.dataclass(frozen=True, slots=True)
class SitePorts:
    ami: int
    sip: int
    agi: int
    rtp_start: int
    http: int


def site_ports(index: int) -> SitePorts:
    return SitePorts(
        ami=5038 + index, sip=5060 + 100 * index, agi=4573 + index, rtp_start=20000 + 1000 * index, http=8000 + index
    )


def trunk_secret(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return load_or_create_secret(f"site_trunk_{first}_{second}")


def site_pbx(name: str, count: int) -> PrivateAsterisk:
    """Site `name` of the demo's first `count` sites; `main` with count 1 is default_pbx()."""
    sites = DEMO_SITES[:count]
    if count < 1 or name not in sites:
        raise ValueError(f"--site must be one of {', '.join(sites) or 'main'} with --sites {count}")
    main = default_pbx()
    if count == 1:
        return main
    index = sites.index(name)
    ports = site_ports(index)
    peers = tuple(
        SitePeer(name=other, sip_port=site_ports(i).sip, secret=trunk_secret(name, other))
        for i, other in enumerate(sites)
        if other != name
    )
    if index == 0:
        return PrivateAsterisk(dataclasses.replace(main.config, peers=peers))
    folder = state_dir() / f"site-{name}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return PrivateAsterisk(
        dataclasses.replace(
            main.config,
            name=f"site-{name}",
            site=name,
            peers=peers,
            ami_port=ports.ami,
            sip_port=ports.sip,
            agi_port=ports.agi,
            rtp_start=ports.rtp_start,
            rtp_end=ports.rtp_start + 999,
            ami_secret=load_or_create_secret("ami_secret", folder),
            agent_passwords={a: load_or_create_secret(f"sip_password_{a}", folder) for a in AGENTS},
        )
    )


def add_asterisk_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("asterisk", help="the private Asterisk(s): up | down | status")
    p.add_argument("action", choices=("up", "down", "status"))
    p.add_argument(
        "--sites",
        type=int,
        default=1,
        choices=range(1, len(DEMO_SITES) + 1),
        help="how many sites (main, b, c), each its own Asterisk, trunked (default 1)",
    )
    p.add_argument("--site", choices=DEMO_SITES, help="only this site (default: every one of --sites)")
    p.set_defaults(func=run_asterisk)


def run_asterisk(args: argparse.Namespace) -> int:
    names = [args.site] if args.site else list(DEMO_SITES[: args.sites])
    worst = 0
    for name in names:
        try:
            pbx = site_pbx(name, args.sites)
            label = "asterisk" if args.sites == 1 else f"site {name}: asterisk"
            if args.action == "up":
                pbx.start()
                print(
                    f"{label} up: AMI 127.0.0.1:{pbx.config.ami_port} (user {AMI_USERNAME}), "
                    f"SIP 127.0.0.1:{pbx.config.sip_port}, dial 5555"
                )
            elif args.action == "down":
                print(f"{label} stopped" if pbx.stop() else f"{label} was not running (nothing stopped)")
            else:
                worst = max(worst, _status(pbx, label))
        except (pbx_root.PbxSetupError, ValueError) as exc:  # ValueError: a HOTLINE_* setting
            print(f"hotline asterisk {args.action}: {exc}", file=sys.stderr)
            return 1
    return worst


def _status(pbx: PrivateAsterisk, label: str) -> int:
    if not pbx.running():
        print(f"{label}: not running (start it with `hotline asterisk up`)")
        return 3
    ok = ami_login_ok(pbx.config.ami_port, AMI_USERNAME, pbx.config.ami_secret)
    print(f"{label}: running, pid {pbx.pid()}, AMI login {'ok' if ok else 'FAILED'}")
    print(pbx.cli("pjsip show contacts").strip())
    print(pbx.cli("queue show hotline").strip())
    return 0 if ok else 1
