"""`mailcheck headers`: real-world dialects, the trace analysis, bad input, and redaction."""

import json
import time
from pathlib import Path

import pytest

from mailcheck.checks.message.headers import analyse
from mailcheck.headers.block import read_block
from mailcheck.headers.received import normalise_ip, parse_received
from tests.conftest import Cli

DATA = Path(__file__).parent / "data"

# A message from a Gmail user to a company on Microsoft 365, then an internal Postfix relay and Exim box.
LAB = b"""Received: from mail.corp.example.com (mail.corp.example.com [10.1.2.3])
\tby box.corp.example.com with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384
\t(Exim 4.96) id 1r9aaa-000001-AA for bob@corp.example.com;
\tSun, 22 Nov 2026 10:00:41 +0000
Received: from relay.corp.example.com (relay.corp.example.com [10.1.2.2])
\t(using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits))
\tby mail.corp.example.com (Postfix) with ESMTPS id 4Xyz123;
\tSun, 22 Nov 2026 10:00:40 +0000 (UTC)
Authentication-Results: mx.corp.example.com; dkim=pass header.d=gmail.com header.s=20230601;
\tspf=pass smtp.mailfrom=alice@gmail.com; dmarc=pass (p=NONE) header.from=gmail.com
Received: from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])
\tby relay.corp.example.com with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)
\tid 15.20.7452.28; Sun, 22 Nov 2026 10:00:10 +0000
Authentication-Results: spoof.example.net; dmarc=pass header.from=gmail.com
X-Received: by 2002:a05:6a00:1a8e:b0:6e6:9e1e:2b3b with SMTP id n14mr123.45.1700000000000;
\tSun, 22 Nov 2026 10:00:08 +0000
Received: by mail-sor-f41.google.com with SMTPS id a1sor4721337pfb.2
\tfor <bob@corp.example.com> (Google Transport Security); Sun, 22 Nov 2026 10:00:07 +0000
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=gmail.com; s=20230601; h=from:to:subject:date; bh=x; b=y
X-Forefront-Antispam-Report: CIP:209.85.220.41;CTRY:US;LANG:en;SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:mail-sor-f41.google.com;CAT:NONE;DIR:INB;
X-Spam-Status: No, score=-0.1 required=5.0 tests=DKIM_SIGNED,DKIM_VALID autolearn=ham
From: Alice <alice@gmail.com>
To: bob@corp.example.com
Subject: lunch
Date: Sun, 22 Nov 2026 10:00:05 +0000

body
"""


def run_headers(cli: Cli, data: bytes, *extra: str):  # type: ignore[no-untyped-def]
    return cli("headers", "-", "--json", *extra, input=data)


def test_lab_trace_hops_delays_tls_and_trust(cli: Cli) -> None:
    run = run_headers(cli, LAB)
    assert run.code == 0, run.out
    hops = run.checks("headers.hop")
    assert [(h["details"]["header"], h["details"]["by"]) for h in hops] == [
        ("Received", "mail-sor-f41.google.com"),
        ("X-Received", "2002:a05:6a00:1a8e:b0:6e6:9e1e:2b3b"),  # Gmail's internal hop, by an IPv6 address
        ("Received", "relay.corp.example.com"),
        ("Received", "mail.corp.example.com"),
        ("Received", "box.corp.example.com"),
    ]
    first, gmail_internal, entry, postfix, exim = hops
    assert (
        gmail_internal["details"]["with"] == "SMTP" and gmail_internal["details"]["id"] == "n14mr123.45.1700000000000"
    )
    assert first["details"]["tls"]["source"].startswith("with SMTPS")
    assert entry["details"]["ip"] == "209.85.220.41" and entry["details"]["rdns"] == "mail-sor-f41.google.com."
    assert entry["details"]["tls"] == {
        "version": "TLS 1.2",
        "cipher": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "source": "microsoft",
    }
    assert entry["details"]["entry_point"] is True and entry["details"]["delay_ms"] == 2000
    assert postfix["details"]["tls"]["version"] == "TLS 1.2" and postfix["details"]["delay_ms"] == 30000
    assert exim["details"]["tls"] == {"version": "TLS 1.3", "cipher": "TLS_AES_256_GCM_SHA384", "source": "exim"}
    transit = run.check("headers.transit")
    assert transit["details"]["first_to_last_hop_ms"] == 34000
    assert transit["details"]["date_header_to_last_hop_ms"] == 36000
    auth = {c["target"]: c for c in run.checks("headers.auth")}
    assert auth["Authentication-Results #1 by mx.corp.example.com"]["details"]["trusted"] is True
    untrusted = auth["Authentication-Results #2 by spoof.example.net"]
    assert untrusted["details"]["trusted"] is False and "RFC 8601" in untrusted["summary"]
    assert run.check("headers.tls")["status"] == "pass"
    spam = {c["target"]: c for c in run.checks("headers.spam")}
    assert "SCL 1: not spam" in spam["X-Forefront-Antispam-Report"]["summary"]
    assert spam["X-Spam-Status"]["details"]["score"] == -0.1
    assert "gmail.com" in run.check("headers.dkim")["target"]


def test_clock_skew_is_shown_as_skew_not_delay() -> None:
    data = (
        b"Received: from b.example by c.example with ESMTP; Sun, 22 Nov 2026 10:00:00 +0000\n"
        b"Received: from a.example by b.example with ESMTP; Sun, 22 Nov 2026 10:05:00 +0000\n"
    )
    trace = analyse(data, "x").trace
    assert trace is not None
    assert trace.hops[1].skew is not None and trace.hops[1].delay is None
    assert trace.hops[1].skew.total_seconds() == -300


def test_unreadable_date_is_unknown_not_zero() -> None:
    hop = parse_received("from a.example by b.example with SMTP; yesterday-ish")
    assert hop.date is None and hop.date_text == "yesterday-ish"


def test_chain_gap_is_flagged(cli: Cli) -> None:
    data = (
        b"Received: from evil.example.org (evil.example.org [198.51.100.7]) by mx.dest.example with ESMTP; Sun, 22 Nov 2026 10:00:09 +0000\n"
        b"Received: from a.src.example (a.src.example [203.0.113.9]) by out.src.example with ESMTP; Sun, 22 Nov 2026 10:00:00 +0000\n"
    )
    run = run_headers(cli, data)
    assert run.check("headers.chain")["status"] == "warn"
    assert run.check("headers.tls")["status"] == "warn"  # ESMTP without TLS on an external hop


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[IPv6:2001:db8::1]", ("2001:db8::1", None)),
        ("[192.0.2.1]:2525", ("192.0.2.1", 2525)),
        ("::ffff:192.0.2.9", ("192.0.2.9", None)),
        ("fe80::1%eth0", ("fe80::1", None)),
        ("15.20.7452.28", None),  # an Exchange build number
        ("a1sor4721337pfb.2", None),  # a Gmail id
        ("unknown", None),
    ],
)
def test_ip_normalisation(value: str, expected: tuple[str, int | None] | None) -> None:
    assert normalise_ip(value) == expected


@pytest.mark.parametrize(
    ("header", "field", "value"),
    [
        ("from a (b [192.0.2.1] (may be forged)) by c; Sun, 22 Nov 2026 10:00:00 +0000", "may_be_forged", True),
        (
            "from host ([IPv6:2001:db8::5]) by mx (Postfix) with ESMTP id X; Sun, 22 Nov 2026 10:00:00 +0000",
            "ip",
            "2001:db8::5",
        ),
        (
            "from x by y with ESMTP id Z for <u@example.com>; Sun, 22 Nov 2026 10:00:00 +0000",
            "recipient",
            "u@example.com",
        ),
        ("by y with SMTP id 123 (comment with from and by inside); Sun, 22 Nov 2026 10:00:00 +0000", "by", "y"),
        (
            "from s (s [192.0.2.4]) (version=TLS1_3 cipher=TLS_AES_128_GCM_SHA256 bits=128/128) by mx.google.com; Sun, 22 Nov 2026 10:00:00 +0000",
            "tls",
            ("TLS 1.3", "TLS_AES_128_GCM_SHA256"),
        ),
        (
            "from s by ironport.example with ESMTP/TLS/AES256-GCM-SHA384; Sun, 22 Nov 2026 10:00:00 +0000",
            "tls",
            (None, "AES256-GCM-SHA384"),
        ),
        ("from s by mx with UTF8SMTPS; Sun, 22 Nov 2026 10:00:00 +0000", "tls", (None, None)),
        (
            "from x (x [192.0.2.1]) (version=TLSv1.2 cipher=ECDHE-RSA-AES128-GCM-SHA256 bits=128 verify=NOT) by sm.example (8.15.2/8.15.2) with ESMTPS id abc; Sun, 22 Nov 2026 10:00:00 +0000",
            "tls",
            ("TLS 1.2", "ECDHE-RSA-AES128-GCM-SHA256"),
        ),
    ],
)
def test_received_dialects(header: str, field: str, value: object) -> None:
    hop = parse_received(header)
    if field == "tls":
        assert hop.tls is not None and (hop.tls.version, hop.tls.cipher) == value
    else:
        assert getattr(hop, field) == value


def test_sendgrid_date_without_semicolon() -> None:
    hop = parse_received(
        "from MjA3 (unknown) by ismtpd0001p1lon1.sendgrid.net (SG) with HTTP id aqHK Thu, 02 Apr 2020 07:53:55.516 +0000 (UTC)"
    )
    assert hop.date is not None and hop.date.year == 2020 and hop.id == "aqHK"


def test_pasted_headers_with_lost_folding_are_recovered() -> None:
    pasted = (
        b"\n\nReceived: from a.example (a.example [192.0.2.1])\nby b.example with ESMTPS id 123;\n"
        b"Sun, 22 Nov 2026\n16:20:05 +0000\nSubject:\n hello\n"
    )
    block = read_block(pasted)
    assert [f.name for f in block.fields] == ["Received", "Subject"]
    hop = parse_received(block.fields[0].value)
    assert hop.by == "b.example" and hop.date is not None and hop.date.minute == 20
    assert block.fields[1].value == "hello"
    assert any("without folding" in note for note in block.notes)


def test_attached_message_headers_are_ignored() -> None:
    data = b"Received: from a by b; Sun, 22 Nov 2026 10:00:00 +0000\nSubject: outer\n\nReceived: from inner by x; Sun, 22 Nov 2026 09:00:00 +0000\n"
    trace = analyse(data, "x").trace
    assert trace is not None and len(trace.hops) == 1


def test_microsoft_365_authentication_results_without_authserv_id(cli: Cli) -> None:
    data = (
        b"Authentication-Results: spf=pass (sender IP is 40.107.1.1) smtp.mailfrom=contoso.com; dkim=pass (signature was verified) header.d=contoso.com;dmarc=pass action=none header.from=contoso.com;compauth=pass reason=100\n"
        b"Received: from x.outlook.com (40.107.1.1) by y.outlook.com with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.1.2; Sun, 22 Nov 2026 10:00:00 +0000\n"
    )
    auth = run_headers(cli, data).check("headers.auth")
    assert auth["details"]["authserv_id"] is None
    assert [r["method"] for r in auth["details"]["results"]] == ["spf", "dkim", "dmarc", "compauth"]


@pytest.mark.parametrize(
    ("data", "kind"),
    [(b"\x00\x01\x02binary\xff" * 100, "binary"), (b"just some words without any header\n", "no-headers")],
)
def test_bad_input_gives_a_clear_finding(cli: Cli, data: bytes, kind: str) -> None:
    run = run_headers(cli, data)
    assert run.check("headers.input")["error"]["kind"] == kind and run.code == 1


def test_empty_stdin_is_a_usage_error(cli: Cli) -> None:
    run = cli("headers", "-", input=b"")
    assert run.code == 2 and "empty" in run.err


def test_invalid_utf8_is_read_with_a_note(cli: Cli) -> None:
    run = run_headers(cli, b"Subject: caf\xe9\nReceived: from a by b; Sun, 22 Nov 2026 10:00:00 +0000\n")
    assert "not valid UTF-8" in run.check("headers.input")["summary"]


def test_many_hops_and_huge_lines_stay_bounded(cli: Cli) -> None:
    many = b"".join(
        b"Received: from h%d.example (h%d.example [192.0.2.1]) by h%d.example with ESMTPS; Sun, 22 Nov 2026 10:00:%02d +0000\n"
        % (i, i, i + 1, i % 60)
        for i in range(10_000)
    )
    huge_line = b"Subject: " + b"A" * (1024 * 1024) + b"\nReceived: from a by b; Sun, 22 Nov 2026 10:00:00 +0000\n"
    start = time.monotonic()
    many_run = run_headers(cli, many)
    huge_run = run_headers(cli, huge_line)
    elapsed = time.monotonic() - start
    # an absurd chain: the oldest and newest 100 hops are analysed, and the report says so
    hops = many_run.checks("headers.hop")
    assert len(hops) == 200 and hops[-1]["details"]["number"] == 10_000
    assert many_run.check("headers.input")["details"]["hops_omitted"] == 9_800
    assert "analysed only the oldest 100 and newest 100" in many_run.check("headers.input")["summary"]
    assert huge_run.check("headers.input")["details"]["truncated_fields"] == ["Subject"]
    assert elapsed < 60  # a bound against runaway parsing, not a performance measurement


def test_fifty_megabyte_file_is_read_only_up_to_the_header_block(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "big.eml"
    with path.open("wb") as handle:
        handle.write(b"Received: from a by b; Sun, 22 Nov 2026 10:00:00 +0000\nSubject: big\n\n")
        handle.write(b"x" * (50 * 1024 * 1024))
    run = cli("headers", str(path), "--json")
    assert run.code == 0 and len(run.checks("headers.hop")) == 1


def test_every_fixture_message_is_analysed(cli: Cli) -> None:
    for path in sorted((DATA / "messages").glob("*.eml")):
        run = cli("headers", str(path), "--json")
        doc = run.json()
        assert doc["checks"], path
        if path.name != "spamscope-mail_outlook_1.eml":  # an Outlook .msg (CFB) file, rightly reported binary
            assert run.check("headers.input")["status"] in ("info", "warn"), path


def test_redact_replaces_addresses_ips_and_hosts_consistently(cli: Cli) -> None:
    run = run_headers(cli, LAB, "--redact")
    text = run.out
    for secret in ("gmail.com", "corp.example.com", "209.85.220.41", "alice", "bob@"):
        assert secret not in text, secret
    doc = json.loads(text)
    hops = [c for c in doc["checks"] if c["id"] == "headers.hop"]
    # the organisation structure survives: the entry point and internal hops are still found
    assert [h["details"]["internal"] for h in hops][-3:] == [True, True, True]
    assert hops[2]["details"]["ip"].startswith("192.0.2.")
    assert hops[3]["details"]["ip"].startswith("10.255.")


def test_parser_never_raises_on_random_text() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=400))
    def check(text: str) -> None:
        parse_received(text)
        analyse(("Received: " + text + "\nAuthentication-Results: " + text + "\n").encode(), "x")

    check()


# OpenSMTPD and Exim (GnuTLS) lines as the daemons write them (OpenSMTPD 7.8 smtp_session.c; Exim 4.96 with
# received_header_text's default), and Postfix's "from HELO (rdns [ip])" layout
OPENSMTPD = (
    "from mx-a.lab.test (localhost [127.0.0.1]) by mx-b.lab.test (OpenSMTPD) with ESMTPS id 2f4e09c1 "
    "(TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO) for <bob@lab.test>; Tue, 1 Dec 2026 10:00:00 +0000"
)
EXIM_GNUTLS = (
    "from [192.0.2.7] (helo=client.example) by mx.example.net with esmtps (TLS1.3) tls "
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <a@client.example>) id 1abc-00012; "
    "Tue, 1 Dec 2026 10:00:00 +0000"
)
POSTFIX = (
    "from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.net (Postfix) with ESMTPS id 4ABC "
    "for <a@b.net>; Tue, 1 Dec 2026 10:00:00 +0000"
)


def test_opensmtpd_tls_is_read_as_opensmtpd() -> None:
    hop = parse_received(OPENSMTPD)
    assert hop.tls is not None and hop.tls.to_dict() == {
        "version": "TLS 1.3", "cipher": "TLS_AES_256_GCM_SHA384", "source": "opensmtpd",
    }  # fmt: skip


@pytest.mark.parametrize(("header", "helo"), [(POSTFIX, "mail.example.com"), (OPENSMTPD, "mx-a.lab.test")])
def test_postfix_and_opensmtpd_write_the_helo_first(header: str, helo: str) -> None:
    assert parse_received(header).helo == helo


def test_a_tls12_suite_name_on_a_tls13_session_is_called_the_mtas_mislabel(cli: Cli, tmp_path: Path) -> None:
    message = tmp_path / "exim.eml"
    message.write_text(f"Received: {EXIM_GNUTLS}\nFrom: a@client.example\nSubject: x\n\nbody\n")
    out = cli("headers", str(message), "--json").out
    assert "TLS 1.3 (the MTA wrote the TLS 1.2-style suite name" in out, out
    # and one hop is said as one hop, not "unknown from the first to the last hop"
    assert "one hop" in out and "unknown from the first" not in out


def test_a_loopback_handoff_between_two_sites_is_not_inside_the_receiver(cli: Cli, tmp_path: Path) -> None:
    # Given OpenSMTPD on site A taking a local submission, then relaying over loopback to OpenSMTPD on site B:
    # B writes A's address as "localhost [127.0.0.1]", but A named itself (HELO) as a host of another site
    message = tmp_path / "two-sites.eml"
    message.write_text(
        "Received: from mx-a.alpha.test (localhost [127.0.0.1]) by mx-b.beta.test (OpenSMTPD) with ESMTPS id "
        "7c1e (TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO) for <bob@beta.test>; Tue, 1 Dec 2026 10:00:02 +0000\n"
        "Received: from localhost (localhost [127.0.0.1]) by mx-a.alpha.test (OpenSMTPD) with ESMTP id 2f4e "
        "for <bob@beta.test>; Tue, 1 Dec 2026 10:00:00 +0000\n"
        "From: alice@alpha.test\nTo: bob@beta.test\nSubject: x\nDate: Tue, 1 Dec 2026 10:00:00 +0000\n\nbody\n"
    )
    hops = [c for c in cli("headers", str(message), "--json").json()["checks"] if c["id"] == "headers.hop"]
    # Then the hop into site B is the entry point (its TLS weighed), not an internal hand-off
    entry = next(h for h in hops if h["details"].get("entry_point"))
    assert "mx-b.beta.test" in entry["target"] and entry["details"]["tls"]["version"] == "TLS 1.3", hops


def test_opensmtpds_unknown_reverse_name_is_no_name() -> None:
    hop = parse_received(
        "from mx-exim.interop.test (<unknown> [127.0.20.6]) by mx-smtpd.interop.test (OpenSMTPD) with ESMTPS id "
        "5fbb7fab (TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO) for <alice@interop.test>; Tue, 1 Dec 2026 18:21:05 +0000"
    )
    assert hop.rdns is None and hop.helo == "mx-exim.interop.test" and hop.sender_host == "mx-exim.interop.test"
