"""`hotline phone --agent 1001`: a pyVoIP softphone that registers as an agent and answers.

Layer: edge. Runs in its own process (pyVoIP uses threads and blocking
sockets); tests and `hotline up` start it as a subprocess and stop it with
SIGTERM, whose handler deregisters (with hotline_cli.sip_unregister, as pyVoIP's own
deregistration can be lost). pyVoIP 1.6.8 quirks (seen with Asterisk
22): it waits ~1 s before answering whatever we ask, answers CANCEL with 200
but no 487, has no REFER (blind-transfer tests use another UA).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any

from hotline_cli.phones import free_udp_port
from hotline_cli.sip_unregister import unregister_all


def run_phone(args: argparse.Namespace) -> int:
    from pyVoIP.VoIP import CallState, InvalidStateError, PhoneStatus, VoIPPhone

    password = args.password or sys.stdin.readline().strip()
    if not password:
        print("hotline phone: the agent's SIP password is needed (--password or stdin)",
              file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_call(call: Any) -> None:
        # pyVoIP runs this in a thread the process waits for at exit: a phone told to stop
        # while it lets a call ring must not sleep out the rest of its --answer-after
        if stop.wait(max(0.0, args.answer_after)):
            return
        try:
            if call.state == CallState.RINGING:
                call.answer()
                print(f"phone {args.agent}: answered", flush=True)
        except InvalidStateError:
            return  # the caller hung up or another agent answered
        deadline = time.monotonic() + args.hangup_after if args.hangup_after > 0 else None
        while call.state == CallState.ANSWERED and not stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                call.hangup()
                print(f"phone {args.agent}: hung up", flush=True)
                break
            time.sleep(0.05)

    rtp = args.rtp_port or free_udp_port()
    phone = VoIPPhone(args.server, args.sip_port, args.agent, password, myIP="127.0.0.1",
                      callCallback=on_call, sipPort=args.local_port or free_udp_port(),
                      rtpPortLow=rtp, rtpPortHigh=rtp + 200)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    phone.start()
    deadline = time.monotonic() + 10
    # FAILED: pyVoIP gave up after its retries (e.g. Asterisk refused the password)
    while (phone.get_status() not in (PhoneStatus.REGISTERED, PhoneStatus.FAILED)
           and time.monotonic() < deadline):
        time.sleep(0.05)
    if phone.get_status() != PhoneStatus.REGISTERED:
        print(f"phone {args.agent}: registration failed", file=sys.stderr, flush=True)
        phone.stop()
        return 1
    print(f"phone {args.agent}: registered", flush=True)
    stop.wait()
    phone.stop()  # hangs up and deregisters, but may drop the deregistration unnoticed
    # pyVoIP does not say whether Asterisk took its deregistration (it may read a
    # retransmitted BYE as the answer and give up): remove the agent's contact ourselves
    if not unregister_all(args.agent, password, server=args.server, port=args.sip_port, timeout=3.0):
        print(f"phone {args.agent}: Asterisk did not confirm the deregistration", file=sys.stderr, flush=True)
        return 1
    return 0


def add_phone_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("phone", help="a softphone registered as an agent that answers calls")
    p.add_argument("--agent", required=True, help="agent extension, e.g. 1001")
    p.add_argument("--password", default="", help="SIP password (default: read from stdin)")
    p.add_argument("--answer-after", type=float, default=2.0, help="seconds of ringing first")
    p.add_argument("--hangup-after", type=float, default=0.0, help="agent hangs up after S s")
    p.add_argument("--server", default="127.0.0.1")
    p.add_argument("--sip-port", type=int, default=5060)
    p.add_argument("--local-port", type=int, default=0)
    p.add_argument("--rtp-port", type=int, default=0)
    p.set_defaults(func=run_phone)
