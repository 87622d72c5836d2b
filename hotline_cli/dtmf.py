"""Keys a SIPp caller presses: `--dtmf "1,2,123#,4@20"` as scenario steps and the
RFC 2833 (RFC 4733) telephone-event captures SIPp replays.

Layer: pure (text and bytes out, no I/O). Groups are separated by commas; a
group's keys are sent after a wait (`@SECONDS` after the group, else
`default_wait`) counted from the previous group, 250 ms apart.

Why we write the captures instead of replaying SIPp's `dtmf_2833_<key>.pcap`:
each of those has one fixed RTP timestamp, and Asterisk 22 takes a second event
with the timestamp of the last one for a retransmission and drops it. Pressing
the same key twice (`2` for the status, `2` for English) lost the second press.
Here every key of a call gets its own, rising timestamp and sequence numbers.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

KEY_GAP_MS = 250
_GROUP = re.compile(r"([0-9*#]{1,20})(?:@([0-9]{1,3}(?:\.[0-9]{1,2})?))?")
_EVENTS = {**{str(n): n for n in range(10)}, "*": 10, "#": 11}
_SSRC = 0x484F544C  # "HOTL"


@dataclass(frozen=True, slots=True)
class KeyGroup:
    keys: str
    wait_ms: int


def parse(spec: str, default_wait: float = 1.5) -> list[KeyGroup]:
    """`1,2,123#,4@20` -> groups; ValueError naming what is wrong."""
    groups = []
    for part in spec.split(","):
        m = _GROUP.fullmatch(part.strip())
        if m is None:
            raise ValueError(f"--dtmf: {part.strip()!r} is not keys 0-9 * # with an optional @seconds")
        wait = float(m.group(2)) if m.group(2) else default_wait
        groups.append(KeyGroup(m.group(1), int(wait * 1000)))
    if len(groups) > 20:
        raise ValueError("--dtmf: at most 20 groups")
    return groups


def steps(groups: list[KeyGroup], pcap_dir: str, prefix: str) -> tuple[str, dict[str, bytes]]:
    """The scenario XML for the groups and the captures it replays (file name -> bytes).
    A wait is a `recv BYE` with a timeout, not a `pause`: Asterisk may hang up at any
    moment (a refused caller, the survey's goodbye), and SIPp fails a call on a BYE
    that arrives during a pause."""
    out, files, n = [], {}, 0
    for g, group in enumerate(groups):
        for i, key in enumerate(group.keys):
            label = f"key_{g}_{i}"
            wait = group.wait_ms if i == 0 else KEY_GAP_MS
            name = f"{prefix}-{n}.pcap"
            files[name] = capture(key, n)
            out.append(f'  <recv request="BYE" timeout="{wait}" ontimeout="{label}" next="callee_bye"/>')
            out.append(f'  <label id="{label}"/>')
            out.append(f'  <nop><action><exec play_pcap_audio="{pcap_dir}/{name}"/></action></nop>')
            n += 1
    return "\n".join(out), files


def scenario(template: str, spec: str, pcap_dir: str, prefix: str) -> tuple[str, dict[str, bytes]]:
    """caller_dtmf.xml with the steps of `spec` in place of its [dtmf_steps] comment."""
    marker = "<!-- [dtmf_steps] -->"
    if marker not in template:
        raise ValueError("the scenario has no [dtmf_steps] marker")
    xml, files = steps(parse(spec), pcap_dir, prefix)
    return template.replace(marker, xml), files


def capture(key: str, index: int) -> bytes:
    """One key as a pcap: 7 telephone-event packets 20 ms apart, then 3 end packets
    (as a phone sends them), payload type 101, timestamp and sequence by `index`."""
    event = _EVENTS[key]
    timestamp, seq0 = 16000 * (index + 1), 100 + 16 * index
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # pcap header, Ethernet
    for i in range(10):
        end = i >= 7
        duration = 2240 if end else i * 320
        payload = struct.pack(">BBH", event, (0x80 if end else 0) | 10, duration)
        rtp = struct.pack(">BBHII", 0x80, (0x80 if i == 0 else 0) | 101, seq0 + i, timestamp, _SSRC) + payload
        udp = struct.pack(">HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), index, 0, 64, 17, 0,
                         bytes((127, 0, 0, 1)), bytes((127, 0, 0, 1)))
        frame = b"\0" * 12 + b"\x08\x00" + _checksummed(ip) + udp
        at_us = min(i, 7) * 20_000
        out.append(struct.pack("<IIII", 1, at_us, len(frame), len(frame)) + frame)
    return b"".join(out)


def _checksummed(header: bytes) -> bytes:
    total = sum(struct.unpack(">10H", header))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return header[:10] + struct.pack(">H", ~total & 0xFFFF) + header[12:]
