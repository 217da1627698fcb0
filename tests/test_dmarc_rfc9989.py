"""RFC 9989's own worked examples as table tests: the DNS tree walk (§4.10), the Organizational Domain and
policy discovery (Appendix B.4), and identifier alignment (Appendix B.1).

Each zone is what the example says is published; each expectation is a value the RFC states. The walk runs
through `mailcheck dmarc` against a lab DNS responder, as a user would run it.
"""

from typing import Any

import pytest

from mailcheck.checks.sender_auth.dmarc_evaluate import aligned
from mailcheck.lab.dns import DnsResponder
from tests.conftest import Cli

PLAIN = "v=DMARC1; p=reject"
B4_1 = {"example.com": PLAIN, "signing.example.com": "v=DMARC1; p=none"}  # nothing at _dmarc.com
B4_3 = {"bank.example": "v=DMARC1; p=reject; psd=y", "giant.bank.example": "v=DMARC1; p=quarantine"}
DEEP = "a.b.c.d.e.f.g.h.i.j.k.example.com"
# §4.10: "a full DNS Tree Walk would require the following eight queries"
DEEP_WALK = [DEEP, "g.h.i.j.k.example.com", "h.i.j.k.example.com", "i.j.k.example.com", "j.k.example.com",
             "k.example.com", "example.com", "com"]  # fmt: skip
MAIL_DEEP = "a.b.c.d.e.f.g.h.i.j.mail.example.com"
MAIL_DEEP_WALK = [MAIL_DEEP, "g.h.i.j.mail.example.com", "h.i.j.mail.example.com", "i.j.mail.example.com",
                  "j.mail.example.com", "mail.example.com", "example.com", "com"]  # fmt: skip


def walk(cli: Cli, dns_server: DnsResponder, zone: dict[str, str], domain: str) -> dict[str, Any]:
    for name, record in zone.items():
        dns_server.zone.remove(f"_dmarc.{name}")
        dns_server.zone.txt(f"_dmarc.{name}", record)
    run = cli("dmarc", domain, "--resolver", dns_server.address, "--timeout", "2", "--json")
    return {
        "org": run.check("dmarc.org_domain")["details"]["tree_walk"],
        "record": run.check("dmarc.record"),
    }


@pytest.mark.parametrize(
    ("example", "zone", "domain", "org", "policy_at"),
    [
        # B.4.1: "example.com" is the last element of the DNS tree with a DMARC Policy Record, so it is the
        # Organizational Domain; the RFC5322.From domain has a record, so it is the policy domain.
        ("B.4.1 author", B4_1, "example.com", "example.com", "example.com"),
        ("B.4.1 DKIM d=", B4_1, "signing.example.com", "example.com", "signing.example.com"),
        # B.4.2: example.com is the Organizational Domain of the deep name and, the Author Domain having no
        # record, the policy domain.
        ("B.4.2", {"example.com": PLAIN}, DEEP, "example.com", "example.com"),
        # B.4.3: the walk stops at psd=y; the Organizational Domain is the one directly below it.
        ("B.4.3 author", B4_3, "giant.bank.example", "giant.bank.example", "giant.bank.example"),
        ("B.4.3 SPF domain", B4_3, "mail.giant.bank.example", "giant.bank.example", "giant.bank.example"),
        ("B.4.3 DKIM d=", B4_3, "mail.mega.bank.example", "mega.bank.example", "bank.example"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith(("B.", "§")) else "",
)
def test_organizational_and_policy_domain(
    example: str, zone: dict[str, str], domain: str, org: str, policy_at: str, cli: Cli, dns_server: DnsResponder
) -> None:
    found = walk(cli, dns_server, zone, domain)
    assert found["org"] == org, example
    assert found["record"]["details"]["found_at"] == f"_dmarc.{policy_at}", example


@pytest.mark.parametrize(
    ("example", "zone", "domain", "names"),
    [
        ("§4.10 nothing published", {}, MAIL_DEEP, MAIL_DEEP_WALK),
        ("B.4.2 query sequence", {"example.com": PLAIN}, DEEP, DEEP_WALK),
    ],
    ids=["§4.10", "B.4.2"],
)
def test_tree_walk_asks_the_rfcs_eight_names(
    example: str, zone: dict[str, str], domain: str, names: list[str], cli: Cli, dns_server: DnsResponder
) -> None:
    found = walk(cli, dns_server, zone, domain)
    assert found["record"]["details"]["tree_walk"] == names, example
    asked = {name.removeprefix("_dmarc.") for name, rdtype in dns_server.queries if rdtype == "TXT"}
    assert asked == set(names), example
    if not zone:
        # §4.10.1: no DMARC Policy Record on the walk: the mechanism does not apply
        assert found["record"]["error"]["kind"] == "not-found"


@pytest.mark.parametrize(
    ("example", "zone", "author", "identifier", "relaxed", "strict"),
    [
        # B.1.1/B.1.2 Example 1: identical domains are in strict (so also relaxed) alignment
        ("B.1 identical", {"example.com": PLAIN}, "example.com", "example.com", True, True),
        # B.1.1 Example 2: MAIL FROM child.example.com, author example.com: relaxed alignment only
        ("B.1.1 child", {"example.com": PLAIN}, "example.com", "child.example.com", True, False),
        # B.1.2 Example 2: d=example.com, author child.example.com: relaxed alignment only
        ("B.1.2 parent", {"example.com": PLAIN}, "child.example.com", "example.com", True, False),
        # B.1.1/B.1.2 Example 3: unrelated domains are not in alignment
        ("B.1 unrelated", {"example.com": PLAIN}, "child.example.com", "example.net", False, False),
        # B.4.1: d=signing.example.com has Organizational Domain example.com, as the author: relaxed aligned
        ("B.4.1 DKIM", B4_1, "example.com", "signing.example.com", True, False),
        # B.4.3: SPF mail.giant.bank.example is aligned; DKIM mail.mega.bank.example is not
        ("B.4.3 SPF", B4_3, "giant.bank.example", "mail.giant.bank.example", True, False),
        ("B.4.3 DKIM", B4_3, "giant.bank.example", "mail.mega.bank.example", False, False),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith("B.") else "",
)
def test_identifier_alignment(
    example: str,
    zone: dict[str, str],
    author: str,
    identifier: str,
    relaxed: bool,
    strict: bool,
    cli: Cli,
    dns_server: DnsResponder,
) -> None:
    orgs = {name: walk(cli, dns_server, zone, name)["org"] for name in (author, identifier)}
    assert aligned(identifier, author, "relaxed", orgs) is relaxed, (example, orgs)
    assert aligned(identifier, author, "strict", orgs) is strict, example
