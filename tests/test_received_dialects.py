"""The Received dialects issue #30 named, each as the software writes it (layouts from each MTA's documented
Received format and the real lines in SpamAssassin's table; names, addresses and dates are documentation
values): whose name comes first (the receiver's reverse lookup or the client's HELO), which address was seen,
and what TLS was used — and the hop label built from the receiver's view."""

import pytest

from mailcheck.headers.received import parse_received

EXIM4 = (
    "from out.sender.example ([198.51.100.7]:52313 helo=laptop.sender.example) by mx.example.org with esmtps "
    "(TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <a@sender.example>) id 1tXyZ-000abc-2Q "
    "for b@example.org; Mon, 23 Nov 2026 10:00:01 +0000"
)


@pytest.mark.parametrize(
    ("line", "rdns", "helo", "ip"),
    [
        # qmail: "from rdns (HELO helo) (ip)"; "unknown" when the lookup found nothing
        ("from out.sender.example (HELO laptop) (198.51.100.7) by mx.example.org with SMTP; 23 Nov 2026 10:00:01 "
         "-0000", "out.sender.example", "laptop", "198.51.100.7"),
        ("from unknown (HELO laptop) (198.51.100.7) by mx.example.org with SMTP; 23 Nov 2026 10:00:01 -0000",
         None, "laptop", "198.51.100.7"),
        # qmail without "(HELO …)": the client's HELO equalled the name looked up
        ("from out.sender.example (alice@198.51.100.7) by mx.example.org with SMTP; 23 Nov 2026 10:00:01 -0000",
         "out.sender.example", "out.sender.example", "198.51.100.7"),
        # Exim 4: "from rdns ([ip]:port helo=helo)"
        (EXIM4, "out.sender.example", "laptop.sender.example", "198.51.100.7"),
        # Exim 4 without a verified name: "from [ip] (helo=…)" — no reverse name
        ("from [198.51.100.7] (helo=laptop.sender.example) by mx.example.org with esmtp (Exim 4.96) id 1tXyZ-1; "
         "Mon, 23 Nov 2026 10:00:01 +0000", None, "laptop.sender.example", "198.51.100.7"),
        # Exim 3: "from rdns (helo) [ip.port]"
        ("from out.sender.example (laptop.sender.example) [198.51.100.7.63559] by mx.example.org with esmtp "
         "(Exim 3.36 #1) id 1CO5y7-0001vC-00; Sun, 31 Oct 2004 04:01:23 +0100",
         "out.sender.example", "laptop.sender.example", "198.51.100.7"),
        # Zimbra's LMTP: "(LHLO …)"
        ("from mailbox1.example.org (LHLO mta1.example.org) (192.0.2.20) by mailbox1.example.org with LMTP; Mon, "
         "23 Nov 2026 10:00:01 +0000", "mailbox1.example.org", "mta1.example.org", "192.0.2.20"),
        # CommuniGate: the observed address first, the HELO literal in the comment
        ("from [198.51.100.7] (account a@example.edu HELO [10.10.10.10]) by mail.example.edu (CommuniGate Pro "
         "SMTP 6.3) with ESMTPSA id 88402416; Mon, 23 Nov 2026 10:00:01 -0800", None, "[10.10.10.10]",
         "198.51.100.7"),
        ("from out.sender.example ([198.51.100.7] verified) by mail.example.edu (CommuniGate Pro SMTP 6.3) with "
         "ESMTPS id 9837783; Mon, 23 Nov 2026 10:00:01 -0800", "out.sender.example", "out.sender.example",
         "198.51.100.7"),
        # obtuse smtpd: "from rdns(ip), claiming to be \"helo\""
        ('from dsl-7.isp.example(198.51.100.7), claiming to be "foo.sender.example" via SMTP by mx.example.org, '
         "id smtpd1PBsZT; Sun Nov 13 15:38:52 2005", "dsl-7.isp.example", "foo.sender.example", "198.51.100.7"),
        # Postfix and Sendmail keep their layout: "from helo (rdns [ip])"
        ("from laptop.sender.example (out.sender.example [198.51.100.7]) by mx.example.org (Postfix) with ESMTPS "
         "id 4Abc; Mon, 23 Nov 2026 10:00:01 +0000", "out.sender.example", "laptop.sender.example", "198.51.100.7"),
        # Exchange: "from helo (ip)" — Exchange looks nothing up; the name is the client's
        ("from EXCH01.contoso.example (10.1.1.5) by EXCH02.contoso.example (10.1.1.6) with Microsoft SMTP Server "
         "(TLS) id 15.0.775.38; Mon, 23 Nov 2026 10:00:01 +0000", None, None, "10.1.1.5"),
    ],
)  # fmt: skip
def test_whose_name_comes_first(line: str, rdns: str | None, helo: str | None, ip: str) -> None:
    hop = parse_received(line)
    assert (hop.rdns, hop.helo, hop.ip) == (rdns, helo, ip), hop.to_dict()


def test_exchange_tls_without_a_version_is_tls() -> None:
    hop = parse_received(
        "from EXCH01.contoso.example (10.1.1.5) by EXCH02.contoso.example (10.1.1.6) with Microsoft SMTP Server "
        "(TLS) id 15.0.775.38; Mon, 23 Nov 2026 10:00:01 +0000"
    )
    assert hop.tls is not None and hop.tls.source == "microsoft" and hop.tls.version is None, hop.to_dict()


def test_exim_3_address_and_port() -> None:
    hop = parse_received(
        "from jsoliday.example.net ([63.251.66.24.63559]) by mailhost.example.net with esmtp (v3.35.1) id "
        "1GNrLz-000295-00; Thu, 14 Sep 2006 09:34:07 -0400"
    )
    assert (hop.ip, hop.port) == ("63.251.66.24", 63559)


def test_the_hop_label_is_the_receivers_view(cli) -> None:  # type: ignore[no-untyped-def]
    # Given an Exim hop whose client said "laptop.sender.example" but resolves to out.sender.example
    message = f"Received: {EXIM4}\nFrom: a@sender.example\nTo: b@example.org\nSubject: x\n\nbody\n"
    hop = cli("headers", "-", "--json", input=message).check("headers.hop")
    # Then the hop is labelled with the name the receiver looked up, not the one the client chose
    assert hop["target"].startswith("hop 1: out.sender.example [198.51.100.7] → mx.example.org"), hop["target"]
    assert hop["details"]["tls"]["version"] == "TLS 1.3", hop


def test_a_hop_whose_reverse_name_differs_from_the_previous_receiver_still_continues(cli) -> None:  # type: ignore[no-untyped-def]
    # Given a relay that calls itself mail.sender.example (the previous hop's "by") but whose address resolves to
    # a provider's name: Exim's line files the provider's name as the reverse name
    message = (
        "Received: from vps-7.provider.example ([198.51.100.7] helo=mail.sender.example) by mx.example.org with "
        "esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.96) id 1tXyZ-2; Mon, 23 Nov 2026 10:00:02 +0000\n"
        "Received: from [192.0.2.10] (helo=laptop) by mail.sender.example with esmtpsa (TLS1.3) tls "
        "TLS_AES_256_GCM_SHA384 (Exim 4.96) id 1tXyZ-1; Mon, 23 Nov 2026 10:00:01 +0000\n"
        "From: a@sender.example\nTo: b@example.org\nSubject: x\n\nbody\n"
    )
    chain = cli("headers", "-", "--json", input=message).check("headers.chain")
    # Then the chain is whole: the client's own name matches where the previous hop handed the message
    assert chain["status"] == "pass", chain
