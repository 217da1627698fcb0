"""Header traces as real deliveries lay them out: where the receiving organisation's border is, which hops
used TLS, and which Authentication-Results to believe (and by which rule).

Provenance: each sample is written from the layout the named software produces in its default
configuration (field order, Received clause syntax, Exchange Online's Authentication-Results without an
authserv-id, Gmail's ARC and mx.google.com stamps, Postfix/Amavis's loopback content-filter loop, Dovecot's
LMTP hop with its short host name, Exim's `with esmtps` clause, Sendmail's `version=` comment). Host names,
addresses, ids and dates are replaced with documentation values; nothing else is invented.
"""

import pytest

from mailcheck.checks.message.headers import analyse

POSTFIX_DOVECOT_LMTP = """\
Return-Path: <alice@sender.example>
Delivered-To: bob@example.org
Received: from mx1.example.org
	by mailhost with LMTP
	id 2Jc0MXk0H2cBAAAAj8z3wQ
	(envelope-from <alice@sender.example>)
	for <bob@example.org>; Mon, 23 Nov 2026 10:00:02 +0000
Authentication-Results: mx1.example.org; spf=pass smtp.mailfrom=alice@sender.example
Received: from out.sender.example (out.sender.example [198.51.100.7])
	by mx1.example.org (Postfix) with ESMTP id 4Abc123
	for <bob@example.org>; Mon, 23 Nov 2026 10:00:01 +0000 (UTC)
From: alice@sender.example
To: bob@example.org
"""

GMAIL_TO_MICROSOFT_365 = """\
Received: from BN8PR12MB3000.namprd12.prod.outlook.com (2603:10b6:408:6e::20) by
 SA1PR12MB6000.namprd12.prod.outlook.com with HTTPS; Mon, 23 Nov 2026 10:00:05 +0000
Received: from BN9PR03CA0001.namprd03.prod.outlook.com (2603:10b6:408:13e::6) by
 BN8PR12MB3000.namprd12.prod.outlook.com (2603:10b6:408:6e::20) with Microsoft SMTP
 Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id
 15.20.7000.1; Mon, 23 Nov 2026 10:00:04 +0000
Received: from BN2PEPF000044A0.namprd02.prod.outlook.com (2603:10b6:408:13e:cafe::1) by
 BN9PR03CA0001.outlook.office365.com (2603:10b6:408:13e::6) with Microsoft SMTP
 Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.7000.1 via
 Frontend Transport; Mon, 23 Nov 2026 10:00:04 +0000
Authentication-Results: spf=pass (sender IP is 209.85.220.41)
 smtp.mailfrom=gmail.com; dkim=pass (signature was verified)
 header.d=gmail.com;dmarc=pass action=none header.from=gmail.com;compauth=pass
 reason=100
Received-SPF: Pass (protection.outlook.com: domain of gmail.com designates
 209.85.220.41 as permitted sender) receiver=protection.outlook.com;
 client-ip=209.85.220.41; helo=mail-sor-f41.google.com; pr=C
Received: from mail-sor-f41.google.com (209.85.220.41) by
 BN2PEPF000044A0.mail.protection.outlook.com (10.167.243.151) with Microsoft SMTP
 Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.7000.1 via
 Frontend Transport; Mon, 23 Nov 2026 10:00:03 +0000
ARC-Authentication-Results: i=1; mx.microsoft.com 1; spf=pass (sender ip is
 209.85.220.41) smtp.rcpttodomain=contoso.com smtp.mailfrom=gmail.com; dmarc=pass
 (p=none sp=quarantine pct=100) action=none header.from=gmail.com; dkim=pass
 (signature was verified) header.d=gmail.com; arc=none (0)
Received: by mail-sor-f41.google.com with SMTP id a1sor123456qkb.1
        for <bob@contoso.com>
        (Google Transport Security);
        Mon, 23 Nov 2026 02:00:02 -0800 (PST)
X-MS-Exchange-Organization-AuthAs: Anonymous
X-MS-Exchange-Organization-AuthSource: BN2PEPF000044A0.namprd02.prod.outlook.com
From: Alice <alice@gmail.com>
To: bob@contoso.com
"""

INTO_GMAIL = """\
Delivered-To: bob@gmail.com
Received: by 2002:a05:7000:1a0f:b0:5f1:2345:6789 with SMTP id abc;
        Mon, 23 Nov 2026 02:00:03 -0800 (PST)
X-Received: by 2002:a17:90b:1234:b0:2c8:1234:5678 with SMTP id xyz.12.1700000000001;
        Mon, 23 Nov 2026 02:00:03 -0800 (PST)
ARC-Authentication-Results: i=1; mx.google.com;
       dkim=pass header.i=@example.org header.s=s1 header.b=abc;
       spf=pass (google.com: domain of alice@example.org designates 203.0.113.5 as permitted sender) smtp.mailfrom=alice@example.org;
       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.org
Return-Path: <alice@example.org>
Received: from mail.example.org (mail.example.org. [203.0.113.5])
        by mx.google.com with ESMTPS id a1si123456pgb.2026.11.23.02.00.02
        for <bob@gmail.com>
        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);
        Mon, 23 Nov 2026 02:00:02 -0800 (PST)
Received-SPF: pass (google.com: domain of alice@example.org designates 203.0.113.5 as permitted sender) client-ip=203.0.113.5;
Authentication-Results: mx.google.com;
       dkim=pass header.i=@example.org header.s=s1 header.b=abc;
       spf=pass (google.com: domain of alice@example.org designates 203.0.113.5 as permitted sender) smtp.mailfrom=alice@example.org;
       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.org
Received: from [192.168.1.20] (unknown [198.51.100.20])
	by mail.example.org (Postfix) with ESMTPSA id 4Xyz
	for <bob@gmail.com>; Mon, 23 Nov 2026 11:00:01 +0100 (CET)
Authentication-Results: mail.example.org; dkim=none
From: alice@example.org
To: bob@gmail.com
"""

EXIM = """\
Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=sender.example; dkim=pass header.d=sender.example
Received: from mail.sender.example ([203.0.113.9])
	by mx.example.net with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384
	(Exim 4.96)
	(envelope-from <alice@sender.example>)
	id 1tAbCd-000123-4x
	for bob@example.net;
	Mon, 23 Nov 2026 10:00:01 +0000
From: alice@sender.example
To: bob@example.net
"""

POSTFIX_AMAVIS = """\
Received: from mx.example.net (localhost [127.0.0.1])
	by mx.example.net (Postfix) with ESMTP id 4B2
	for <bob@example.net>; Mon, 23 Nov 2026 10:00:03 +0000 (UTC)
Received: from mx.example.net ([127.0.0.1])
	by localhost (mx.example.net [127.0.0.1]) (amavisd-new, port 10024)
	with ESMTP id abc123 for <bob@example.net>;
	Mon, 23 Nov 2026 10:00:02 +0000 (UTC)
Authentication-Results: mx.example.net; dkim=pass header.d=sender.example
Received: from out.sender.example (out.sender.example [198.51.100.7])
	(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))
	(No client certificate requested)
	by mx.example.net (Postfix) with ESMTPS id 4A1
	for <bob@example.net>; Mon, 23 Nov 2026 10:00:01 +0000 (UTC)
From: alice@sender.example
To: bob@example.net
"""

SENDMAIL = """\
Received: from relay.sender.example (relay.sender.example [192.0.2.44])
	by mail.example.com (8.17.1/8.17.1) with ESMTPS id 5ANA01xx012345
	(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT)
	for <bob@example.com>; Mon, 23 Nov 2026 10:00:01 GMT
Authentication-Results: forged.example; spf=pass smtp.mailfrom=relay.sender.example
From: alice@sender.example
To: bob@example.com
"""

ZIMBRA = """\
Received: from mail.example.com (LHLO mail.example.com) (10.0.0.5) by
 mail.example.com with LMTP; Mon, 23 Nov 2026 10:00:05 +0000 (UTC)
Received: from localhost (localhost [127.0.0.1])
	by mail.example.com (Postfix) with ESMTP id 5C3
	for <bob@example.com>; Mon, 23 Nov 2026 10:00:04 +0000 (UTC)
Received: from mail.example.com ([127.0.0.1])
	by localhost (mail.example.com [127.0.0.1]) (amavisd-new, port 10032)
	with ESMTP id k2Xy for <bob@example.com>;
	Mon, 23 Nov 2026 10:00:03 +0000 (UTC)
Authentication-Results: mail.example.com (amavisd-new); dkim=pass (2048-bit key) header.d=sender.example
Received: from mx.sender.example (mx.sender.example [198.51.100.30])
	(using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits))
	(No client certificate requested)
	by mail.example.com (Postfix) with ESMTPS id 3A2
	for <bob@example.com>; Mon, 23 Nov 2026 10:00:01 +0000 (UTC)
From: alice@sender.example
To: bob@example.com
"""

INTO_PROTON = """\
Delivered-To: bob@proton.me
X-Original-To: bob@proton.me
Authentication-Results: mailin025.protonmail.ch; dkim=pass (2048-bit key) header.d=sender.example header.i=@sender.example header.b="AbCdEf12"
Authentication-Results: mailin025.protonmail.ch; spf=pass smtp.mailfrom=sender.example
Authentication-Results: mailin025.protonmail.ch; dmarc=pass (p=reject dis=none) header.from=sender.example
Received: from mail.sender.example (mail.sender.example [198.51.100.40])
	(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
  key-exchange X25519 server-signature RSA-PSS (4096 bits) server-digest SHA256)
	(No client certificate requested)
	by mailin025.protonmail.ch (Postfix) with ESMTPS id 4Xyz1
	for <bob@proton.me>; Mon, 23 Nov 2026 10:00:01 +0000 (UTC)
From: alice@sender.example
To: bob@proton.me
"""

INTO_FASTMAIL = """\
Received: from compute3.internal (compute3.nyi.internal [10.202.2.43])
	by mailbox.nyi.internal (Cyrus 3.9.0) with LMTPA;
	Mon, 23 Nov 2026 05:00:03 -0500
Authentication-Results: mx4.messagingengine.com;
    dkim=pass (2048-bit rsa key sha256) header.d=sender.example;
    spf=pass smtp.mailfrom=alice@sender.example
Received: from mx4.messagingengine.com ([10.202.2.203])
  by compute3.internal (LMTPProxy); Mon, 23 Nov 2026 05:00:03 -0500
Received: from mx4.messagingengine.com (localhost [127.0.0.1])
	by mailmx.nyi.internal (Postfix) with ESMTP id 4C1
	for <bob@fastmail.com>; Mon, 23 Nov 2026 05:00:02 -0500 (EST)
Received: from mail.sender.example (mail.sender.example [198.51.100.50])
	(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))
	(No client certificate requested)
	by mx4.messagingengine.com (Postfix) with ESMTPS
	for <bob@fastmail.com>; Mon, 23 Nov 2026 05:00:01 -0500 (EST)
From: alice@sender.example
To: bob@fastmail.com
"""


@pytest.mark.parametrize(
    ("sample", "hops", "border", "internal", "encrypted", "trusted"),
    [
        # Postfix hands to Dovecot over LMTP; Dovecot names itself `mailhost`: local delivery, inside
        (POSTFIX_DOVECOT_LMTP, 2, 1, {1, 2}, {1: False, 2: False}, ["rfc8601"]),
        # Exchange Online: its Authentication-Results have no authserv-id and sit above its border hop
        (GMAIL_TO_MICROSOFT_365, 5, 2, {2, 3, 4, 5}, {2: True, 3: True, 4: True}, ["microsoft-365"]),
        # Gmail: mx.google.com stamps; the sender's own Authentication-Results are not believed
        (INTO_GMAIL, 4, 2, {2, 3, 4}, {1: True, 2: True}, ["rfc8601", None]),
        (EXIM, 1, 1, {1}, {1: True}, ["rfc8601"]),
        # Amavis's loopback content-filter loop is inside the site; only the first hop crossed a network
        (POSTFIX_AMAVIS, 3, 1, {1, 2, 3}, {1: True}, ["rfc8601"]),
        # An Authentication-Results naming a server of no one's: not believed
        (SENDMAIL, 1, 1, {1}, {1: True}, [None]),
        # Zimbra: Postfix, Amavis on loopback, Postfix again, LMTP into the mailbox server
        (ZIMBRA, 4, 1, {1, 2, 3, 4}, {1: True}, ["rfc8601"]),
        (INTO_PROTON, 1, 1, {1}, {1: True}, ["rfc8601", "rfc8601", "rfc8601"]),
        # Fastmail: hops between *.internal hosts and LMTP into Cyrus are inside the site
        (INTO_FASTMAIL, 4, 1, {1, 2, 3, 4}, {1: True}, ["rfc8601"]),
    ],
    ids=[
        "postfix-dovecot-lmtp",
        "gmail-to-microsoft-365",
        "into-gmail",
        "exim",
        "postfix-amavis",
        "sendmail",
        "zimbra",
        "proton",
        "fastmail",
    ],
)
def test_vendor_layouts(
    sample: str, hops: int, border: int, internal: set[int], encrypted: dict[int, bool], trusted: list[str | None]
) -> None:
    trace = analyse(sample.encode(), "sample").trace
    assert trace is not None
    assert len(trace.hops) == hops
    assert trace.border is not None and trace.border.number == border
    assert {h.number for h in trace.hops if h.internal} == internal
    assert {n: trace.hops[n - 1].encrypted for n in encrypted} == encrypted
    assert [header.rule for header in trace.auth] == trusted
    # never an internal hop as the weakest external one
    weakest = trace.weakest_external()
    assert weakest is None or not weakest.internal or weakest.border


def test_microsoft_365_arc_results_are_trusted_as_the_tenants() -> None:
    trace = analyse(GMAIL_TO_MICROSOFT_365.encode(), "sample").trace
    assert trace is not None
    assert [(h.arc_instance, h.results.authserv_id, h.rule) for h in trace.arc] == [
        (1, "mx.microsoft.com", "arc-receiving-org")
    ]


def test_lmtp_delivery_raises_no_weakest_hop_warning_on_the_local_hop(cli) -> None:  # type: ignore[no-untyped-def]
    # Given the same delivery with TLS 1.3 on the way in: then nothing warns about the LMTP hop
    with_tls = POSTFIX_DOVECOT_LMTP.replace(
        "[198.51.100.7])", "[198.51.100.7])\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))"
    ).replace("with ESMTP", "with ESMTPS")
    run = cli("headers", "-", "--json", input=with_tls)
    tls = run.check("headers.tls")
    assert tls["status"] == "pass" and tls["details"]["hop"] == 1, tls
    assert not [c for c in run.checks() if c["status"] == "warn"]
    # and without TLS on the way in, the warning names the first hop, the one that crossed the Internet
    plain = cli("headers", "-", "--json", input=POSTFIX_DOVECOT_LMTP).check("headers.tls")
    assert plain["status"] == "warn" and plain["details"]["hop"] == 1
    auth = run.check("headers.auth")
    assert auth["details"]["trust_rule"] == "rfc8601" and "trusted:" in auth["summary"]
