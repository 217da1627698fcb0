"""Verdict fields of gateways and mailbox providers, and the one "why was it junked" line on top of a trace.

Provenance of the field values (each is quoted as the vendor's software wrote it; only the values, which are
machine-written facts, are used):
- Microsoft 365 mailbox delivery ``ucf:0; jmr:1; auth:0; dest:J; …`` and ``…dest:I…``: messages of the public
  linux-arm-kernel and LKML archives (NXP's and Intel's Exchange Online tenants, 2020 and 2025);
  ``ucf:1;jmr:0;auth:0;dest:J;OFR:CustomRules;…``: the Microsoft Q&A question 416100 (learn.microsoft.com).
  Meanings: University of Oxford IT's junk-mail guide (dest:I/J/C, OFR:CustomRules).
- Trend Micro ``No--2.997-7.0-31-10`` (IMSVA, qemu-devel, 2020), ``No--12.662200-5.000000-31`` (ScanMail for
  Exchange, LKML 2006), ``X-TM-AS-User-Approved-Sender: Yes`` (git list, 2008).
- Cisco ``X-SBRS: 2.7`` / ``5.2`` / ``None`` (xen-devel via Citrix's IronPort, 2020; Infineon, 2022);
  ``X-IronPort-Anti-Spam-Filtered: true`` (SpamScope/mail-parser test mail 17, Apache-2.0).
- Sophos ``X-LASED-SpamProbability: 0.083173`` and PureMessage ``X-PMX-Spam: Gauge=IIIIIIII, Probability=8%``
  (LKML, 2019–2025).
- Cloudmark ``X-CMAE-Score: 0`` (dri-devel, 2020). OVH ``X-VR-SPAMSTATE: OK`` and ``X-Ovh-Spam-Status: SPAM``
  with ``X-Ovh-Exchange-Junk: True`` (public list archives, 2019–2023). Mail.ru ``X-Mras: OK`` (SpamScope test
  mail 6, Apache-2.0). Yandex ``X-Yandex-Spam: 1`` (git list, 2010). Gmail ``X-Gm-Spam: 0`` /
  ``X-Gm-Phishy: 0`` (LKML, 2019).
Where a value below is not one of these (a spam verdict the archives rarely carry, e.g. ``X-Yandex-Spam: 4``),
it is written in the same vendor's format and says so.
"""

import pytest

from mailcheck.checks.message.headers import analyse, evaluate
from mailcheck.headers.filters import decode

# --- each vendor's field, decoded ---


@pytest.mark.parametrize(
    ("name", "value", "spam", "words"),
    [
        ("X-Microsoft-Antispam-Mailbox-Delivery",
         "ucf:0; jmr:1; auth:0; dest:J; ENG:(20160513016)(750127)(520011016)(944506383)(944626516);", True,
         "delivered to Junk Email (dest:J)"),
        ("X-Microsoft-Antispam-Mailbox-Delivery",
         "ucf:0;jmr:0;auth:0;dest:I;ENG:(910001)(944506458)(944626604)(920097)(425001)(930097);", False,
         "delivered to the Inbox (dest:I)"),
        ("X-Microsoft-Antispam-Mailbox-Delivery",
         "ucf:1;jmr:0;auth:0;dest:J;OFR:CustomRules;ENG:(20160514016)(750129)(520011016);", True,
         "a rule of the user's own"),
        ("X-TM-AS-Result", "No--2.997-7.0-31-10", False, "not spam (score -2.997 of 7 needed)"),
        ("X-TM-AS-Result", "No--12.662200-5.000000-31", False, "not spam (score -12.6622 of 5 needed)"),
        ("X-TM-AS-User-Approved-Sender", "Yes", None, "the user's approved senders"),
        ("X-SBRS", "2.7", None, "SBRS 2.7 of -10..+10 (neutral to good)"),
        ("X-SBRS", "None", None, "no reputation data for the sending address"),
        ("X-SBRS", "-4.1", None, "Cisco's default policy blocks"),  # the format, a poor score
        ("X-IronPort-Anti-Spam-Filtered", "true", None, "scanned by Cisco's anti-spam"),
        ("X-LASED-SpamProbability", "0.083173", None, "spam probability 8%"),
        ("X-PMX-Spam", "Gauge=IIIIIIII, Probability=8%, Report='HTML_00_01 0.05'", None, "spam probability 8%"),
        ("X-CMAE-Score", "0", False, "score 0 of 0..100"),
        ("X-VR-SPAMSTATE", "OK", False, "not spam (OK)"),
        ("X-Ovh-Spam-Status", "SPAM", True, "spam (SPAM)"),
        ("X-Ovh-Exchange-Junk", "True", True, "put in Junk Email"),
        ("X-Mras", "OK", False, "anti-spam result 'OK'"),
        ("X-Yandex-Spam", "1", False, "level 1: not spam"),
        ("X-Yandex-Spam", "4", True, "level 4: spam"),  # the format, a spam verdict
        ("X-Gm-Spam", "0", False, "spam flag 0"),
        ("X-Gm-Phishy", "0", False, "phishing flag 0"),
        ("X-Gmail-Labels", "Spam,Category Promotions", True, "labelled Spam"),
        ("X-Forefront-Antispam-Report", "CIP:192.0.2.7;CTRY:;LANG:en;SCL:5;SRV:;IPV:NLI;SFV:SPM;CAT:SPOOF;DIR:INB;",
         True, "CAT SPOOF: spoofing"),
    ],
)  # fmt: skip
def test_each_vendor_field_is_read_in_its_own_words(name: str, value: str, spam: bool | None, words: str) -> None:
    verdict = decode(name, value)
    assert verdict is not None and verdict.spam is spam, verdict
    assert any(words in w for w in verdict.words), verdict.words


# --- the verdict line ---

INTO_M365 = """\
Received: from SA1PR12MB6000.namprd12.prod.outlook.com (2603:10b6:408:6e::20) by
 SA1PR12MB6001.namprd12.prod.outlook.com with HTTPS; Mon, 23 Nov 2026 10:00:05 +0000
Received: from BN9PR03CA0001.namprd03.prod.outlook.com (2603:10b6:408:13e::6) by
 SA1PR12MB6000.namprd12.prod.outlook.com (2603:10b6:408:6e::20) with Microsoft SMTP
 Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id
 15.20.7000.1; Mon, 23 Nov 2026 10:00:04 +0000
Authentication-Results: spf=fail (sender IP is 198.51.100.7)
 smtp.mailfrom=sender.example; dkim=none (message not signed)
 header.d=none;dmarc=fail action=quarantine header.from=sender.example;compauth=fail
 reason=000
Received: from out.sender.example (198.51.100.7) by
 BN9PR03CA0001.mail.protection.outlook.com (10.167.243.151) with Microsoft SMTP
 Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.7000.1 via
 Frontend Transport; Mon, 23 Nov 2026 10:00:03 +0000
X-Forefront-Antispam-Report: {forefront}
X-Microsoft-Antispam: BCL:{bcl};
X-Microsoft-Antispam-Mailbox-Delivery: {delivery}
From: Alice <alice@sender.example>
To: bob@contoso.example
Subject: invoice
"""
FOREFRONT = (
    "CIP:198.51.100.7;CTRY:;LANG:en;SCL:{scl};SRV:{srv};IPV:NLI;SFV:{sfv};H:out.sender.example;CAT:{cat};DIR:INB;"
)
JUNK = "ucf:0;jmr:1;auth:0;dest:J;ENG:(910001)(944506458)(944626604);"


def m365(scl: int = 5, sfv: str = "SPM", cat: str = "SPM", srv: str = "", bcl: int = 0, delivery: str = JUNK) -> str:
    forefront = FOREFRONT.format(scl=scl, sfv=sfv, cat=cat, srv=srv)
    return INTO_M365.format(forefront=forefront, bcl=bcl, delivery=delivery)


def verdict_of(message: str) -> dict[str, object]:
    checks = evaluate(analyse(message.encode(), "sample"))
    return next(c.to_dict() for c in checks if c.id == "headers.verdict")


def test_a_spoof_junked_by_microsoft_365_names_the_spoof_and_the_failed_dmarc() -> None:
    verdict = verdict_of(m365(cat="SPOOF"))
    summary = str(verdict["summary"])
    assert verdict["status"] == "warn" and summary.startswith("junked: Microsoft 365"), summary
    assert "judged spoofing (CAT:SPOOF) of sender.example" in summary, summary
    assert "DMARC fail for sender.example (compauth=fail reason 000)" in summary, summary
    assert "mailcheck dmarc sender.example" in summary, summary


def test_failed_dmarc_at_the_border_is_the_signal_when_no_category_says_more() -> None:
    summary = str(verdict_of(m365())["summary"])
    assert "DMARC fail for sender.example" in summary and "at the receiving border" in summary, summary


def test_a_users_own_rule_is_named_before_anything_else() -> None:
    rule = "ucf:1;jmr:0;auth:0;dest:J;OFR:CustomRules;ENG:(20160514016)(750129)(520011016);"
    summary = str(verdict_of(m365(scl=1, sfv="NSPM", cat="NONE", delivery=rule))["summary"])
    assert "a rule of the recipient's own" in summary and "nothing the sender can change" in summary, summary


def test_a_transport_rule_of_the_receiving_organisation() -> None:
    summary = str(verdict_of(m365(scl=6, sfv="SKS", cat="NONE"))["summary"])
    assert "mail-flow (transport) rule" in summary and "SFV:SKS" in summary, summary


def test_bulk_mail_over_the_threshold() -> None:
    message = m365(scl=1, sfv="NSPM", cat="BULK", srv="BULK", bcl=8).replace("dmarc=fail", "dmarc=pass")
    message = message.replace("compauth=fail", "compauth=pass").replace("spf=fail", "spf=pass")
    summary = str(verdict_of(message)["summary"])
    assert "filtered as bulk mail (BCL 8: bulk sender with many complaints)" in summary, summary


def test_a_delivered_message_is_not_junked() -> None:
    inbox = "ucf:0;jmr:0;auth:0;dest:I;ENG:(910001)(944506458)(944626604)(920097)(425001)(930097);"
    verdict = verdict_of(m365(scl=1, sfv="NSPM", cat="NONE", delivery=inbox))
    assert verdict["status"] == "info" and str(verdict["summary"]).startswith("not junked: Microsoft 365"), verdict


PLAIN = """\
Received: from mx.example.org (mx.example.org [192.0.2.25]) by mailbox.example.org (Postfix) with ESMTPS id 4Ab;
 Mon, 23 Nov 2026 10:00:02 +0000
{fields}Received: from out.sender.example (out.sender.example [198.51.100.7]) by mx.example.org (Postfix) with
 ESMTPS id 3Aa; Mon, 23 Nov 2026 10:00:01 +0000
From: alice@sender.example
To: bob@example.org
Subject: offer
"""


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        # rspamd: the heaviest symbols are the reason
        ("X-Spamd-Result: default: True [16.20 / 15.00]; BAYES_SPAM(5.10)[99.99%]; R_SPF_FAIL(1.00)[-all];\n"
         " DMARC_POLICY_REJECT(2.00)[sender.example : No valid SPF, No valid DKIM,reject]; ABUSE_SURBL(5.50)[x];\n",
         "heaviest rules: ABUSE_SURBL (5.5), BAYES_SPAM (5.1), DMARC_POLICY_REJECT (2)"),
        # SpamAssassin: the rules it hit
        ("X-Spam-Status: Yes, score=7.9 required=5.0 tests=BAYES_99,HTML_MESSAGE,URIBL_BLACK\n autolearn=no\n",
         "rules hit: BAYES_99, HTML_MESSAGE, URIBL_BLACK"),
        ("X-TM-AS-Result: Yes-12.300-5.0-31-10\n", "Trend Micro"),  # Trend Micro's format, a spam verdict
        ("X-Yandex-Spam: 4\n", "Yandex"),
        ("X-Ovh-Spam-Status: SPAM\nX-Ovh-Exchange-Junk: True\n", "OVHcloud"),
        ("X-Gmail-Labels: Spam,Category Promotions\n", "Gmail"),
    ],
)  # fmt: skip
def test_every_filter_can_be_the_one_that_junked_it(fields: str, words: str) -> None:
    verdict = verdict_of(PLAIN.format(fields=fields))
    assert verdict["status"] == "warn" and str(verdict["summary"]).startswith("junked:"), verdict
    assert words in str(verdict["summary"]), verdict
    # and the judge is named with the server it ran on (the Received field just below the verdict field)
    assert "at mx.example.org" in str(verdict["summary"]), verdict


@pytest.mark.parametrize(
    "fields",
    [
        "X-TM-AS-Result: No--2.997-7.0-31-10\n",
        "X-CMAE-Score: 0\n",
        "X-VR-SPAMSTATE: OK\n",
        "X-Mras: OK\n",
        "X-Yandex-Spam: 1\n",
        "X-Gm-Spam: 0\nX-Gm-Phishy: 0\n",
    ],
)
def test_a_clean_verdict_is_not_junked(fields: str) -> None:
    verdict = verdict_of(PLAIN.format(fields=fields))
    assert verdict["status"] == "info" and str(verdict["summary"]).startswith("not junked:"), verdict


def test_no_verdict_field_says_so() -> None:
    verdict = verdict_of(PLAIN.format(fields=""))
    assert verdict["details"]["junked"] is None and "no spam filter left a verdict" in str(verdict["summary"])  # type: ignore[index]


def test_a_mailing_list_that_broke_dmarc_is_named_as_the_cause() -> None:
    # Given a list message junked at Microsoft 365 for failing DMARC: the advice names the list, not the author
    message = m365().replace(
        "To: bob@contoso.example", "To: dev@lists.example.net\nList-Id: Dev <dev.lists.example.net>"
    )
    message = message.replace("Subject: invoice", "Subject: invoice\nDelivered-To: bob@contoso.example")
    summary = str(verdict_of(message)["summary"])
    assert "the mailing list dev.lists.example.net, which broke the sender's authentication" in summary, summary


def test_the_report_prints_the_verdict_line_above_the_trace(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("headers", "-", input=m365(cat="SPOOF")).out
    lines = out.splitlines()
    verdict = next(i for i, line in enumerate(lines) if "verdict: junked" in line)
    first_hop = next(i for i, line in enumerate(lines) if "+" in line and "→" in line)
    assert verdict < first_hop, out
