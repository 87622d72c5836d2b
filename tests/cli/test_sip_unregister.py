"""The REGISTER that removes a phone's contact from Asterisk (hotline_cli.sip_unregister), sans IO."""

from __future__ import annotations

import re

from hotline_cli.sip_unregister import build_register, digest_authorization, md5_challenge, status_of


def test_the_digest_answers_rfc_2617s_own_example() -> None:
    challenge = {"realm": "testrealm@host.com", "qop": "auth,auth-int",
                 "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093", "opaque": "5ccc069c403ebaf9f0171e9517f40e41"}
    header = digest_authorization(challenge, user="Mufasa", password="Circle Of Life", method="GET",
                                  uri="/dir/index.html", cnonce="0a4f113b")
    assert 'response="6629fae49393a05397450978507c4ef1"' in header
    assert "qop=auth," in header and "nc=00000001" in header and 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header


def test_without_qop_the_digest_is_rfc_2069s() -> None:
    header = digest_authorization({"realm": "asterisk", "nonce": "abc"}, user="1001", password="pw",
                                  method="REGISTER", uri="sip:127.0.0.1:5060", cnonce="unused")
    # md5(md5("1001:asterisk:pw") + ":abc:" + md5("REGISTER:sip:127.0.0.1:5060"))
    assert 'response="7dfd0f7507bbec90d5b925cc2241c956"' in header
    assert "qop" not in header and "cnonce" not in header


def test_the_md5_challenge_is_picked_among_several() -> None:
    response = (b"SIP/2.0 401 Unauthorized\r\nCSeq: 1 REGISTER\r\n"
                b'WWW-Authenticate: Digest realm="asterisk",nonce="n256",algorithm=SHA-256,qop="auth"\r\n'
                b'WWW-Authenticate: Digest realm="asterisk",nonce="n5",opaque="o",algorithm=MD5,qop="auth"\r\n'
                b"Content-Length: 0\r\n\r\n")
    assert md5_challenge(response) == {"realm": "asterisk", "nonce": "n5", "opaque": "o", "algorithm": "MD5",
                                       "qop": "auth"}
    assert md5_challenge(b"SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: Digest nonce=x,algorithm=SHA-256\r\n") is None


def test_status_of_reads_responses_only() -> None:
    assert status_of(b"SIP/2.0 200 OK\r\nCSeq: 2 REGISTER\r\n\r\n") == 200
    assert status_of(b"BYE sip:1001@127.0.0.1 SIP/2.0\r\n\r\n") == 0
    assert status_of(b"\x00garbage") == 0


def test_the_request_removes_all_bindings() -> None:
    text = build_register(user="1001", server="127.0.0.1", port=5070, local_port=40000, call_id="c@x",
                          cseq=2, authorization='Digest username="1001"').decode()
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    assert lines[0] == "REGISTER sip:127.0.0.1:5070 SIP/2.0"
    assert {"Contact: *", "Expires: 0", "CSeq: 2 REGISTER", "Call-ID: c@x", "Content-Length: 0",
            'Authorization: Digest username="1001"'} <= set(lines)
    assert any(re.fullmatch(r"Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK\w+;rport", line) for line in lines)
    assert body == ""
