"""Remove every contact of an agent's phone from Asterisk: REGISTER `Contact: *`, `Expires: 0`.

Layer: edge. `build_register`, `status_of`, `md5_challenge` and `digest_authorization`
are sans-IO; `unregister_all` is the thin UDP shell around them.

Why by hand: pyVoIP 1.6.8's own deregistration waits on one socket and reads another,
so a SIP message that arrives just then (a BYE's retransmission, a CANCEL) is taken for
the answer and the REGISTER with `Expires: 0` is dropped - the contact stays in Asterisk
and the queue rings a phone nobody runs until it expires. No maintained Python library
sends one authenticated REGISTER without running a whole user agent; this is the
RFC 3261 §10.2.2 "remove all bindings" request with RFC 2617/7616 MD5 digest
authentication and nothing else.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import time

_CHALLENGE = re.compile(r"^WWW-Authenticate:\s*Digest\s+(.*)$", re.IGNORECASE | re.MULTILINE)
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


def build_register(*, user: str, server: str, port: int, local_port: int, call_id: str, cseq: int,
                   authorization: str = "") -> bytes:
    """A REGISTER that removes all of `user`'s bindings (`Contact: *` with `Expires: 0`)."""
    lines = [
        f"REGISTER sip:{server}:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {server}:{local_port};branch=z9hG4bK{secrets.token_hex(8)};rport",
        "Max-Forwards: 70",
        f"From: <sip:{user}@{server}>;tag={secrets.token_hex(4)}",
        f"To: <sip:{user}@{server}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        "Contact: *",
        "Expires: 0",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def status_of(response: bytes) -> int:
    """The status code of a SIP response; 0 for anything else (a request, garbage)."""
    first = response.split(b"\r\n", 1)[0].split()
    if len(first) >= 2 and first[0] == b"SIP/2.0" and first[1].isdigit():
        return int(first[1])
    return 0


def md5_challenge(response: bytes) -> dict[str, str] | None:
    """The parameters of the response's MD5 digest challenge (Asterisk may offer others too)."""
    for found in _CHALLENGE.finditer(response.decode("utf-8", "replace")):
        params = {m[1].lower(): m[2] if m[2] is not None else m[3] for m in _PARAM.finditer(found[1])}
        if params.get("algorithm", "MD5").upper() == "MD5" and "nonce" in params:
            return params
    return None


def digest_authorization(challenge: dict[str, str], *, user: str, password: str, method: str, uri: str,
                         cnonce: str, nc: int = 1) -> str:
    """The Authorization header's value answering an MD5 `challenge` (qop=auth or none)."""
    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # SIP digest authentication is MD5 by definition

    realm, nonce = challenge.get("realm", ""), challenge["nonce"]
    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"{method}:{uri}")
    qops = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
    fields = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
    if "auth" in qops:
        count = f"{nc:08x}"
        fields.append(f'response="{md5(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")}"')
        fields += ["qop=auth", f"nc={count}", f'cnonce="{cnonce}"']
    else:
        fields.append(f'response="{md5(f"{ha1}:{nonce}:{ha2}")}"')
    fields.append("algorithm=MD5")
    if "opaque" in challenge:
        fields.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(fields)


def unregister_all(user: str, password: str, *, server: str = "127.0.0.1", port: int = 5060,
                   timeout: float = 5.0) -> bool:
    """Ask Asterisk to drop every contact of `user`; True once it answered 200."""
    deadline = time.monotonic() + timeout
    call_id = f"{secrets.token_hex(12)}@{server}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((server, 0))
        sock.connect((server, port))
        local_port = sock.getsockname()[1]
        authorization, cseq = "", 1
        while time.monotonic() < deadline:
            sock.send(build_register(user=user, server=server, port=port, local_port=local_port,
                                     call_id=call_id, cseq=cseq, authorization=authorization))
            status, reply = _answer(sock, cseq, min(0.5, max(0.0, deadline - time.monotonic())))
            if status == 200:
                return True
            if status in (401, 407) and not authorization:
                challenge = md5_challenge(reply)
                if challenge is None:
                    return False
                cseq += 1
                authorization = digest_authorization(
                    challenge, user=user, password=password, method="REGISTER",
                    uri=f"sip:{server}:{port}", cnonce=secrets.token_hex(8))
            elif status >= 300:
                return False  # refused (a wrong password answers 401 again, after our answer)
            # no final answer in time (UDP): the same request once more
    return False


def _answer(sock: socket.socket, cseq: int, wait: float) -> tuple[int, bytes]:
    """The final response to our request `cseq` within `wait` s: (status, message); (0, b"") if none."""
    sock.settimeout(wait)
    end = time.monotonic() + wait
    while True:
        try:
            reply = sock.recv(65535)
        except (TimeoutError, ConnectionRefusedError):
            return 0, b""
        status = status_of(reply)
        if status >= 200 and re.search(rb"^CSeq:\s*%d\s+REGISTER" % cseq, reply, re.IGNORECASE | re.MULTILINE):
            return status, reply
        left = end - time.monotonic()
        if left <= 0:
            return 0, b""
        sock.settimeout(left)
