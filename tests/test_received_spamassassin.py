"""Our Received parser against SpamAssassin's table of real lines (t/rcvd_parser.t, Apache-2.0), field by field.

SpamAssassin states, for each line it parses, the connecting address, the reverse-DNS name the receiver found,
the HELO name the client gave, the receiving host and the ident. Those readings are facts about each MTA's
layout (qmail, Exim 3 and 4, CommuniGate, GMX, Zimbra, obtuse smtpd, Sendmail, Postfix, Microsoft …), so every
line is asserted exactly, except where we disagree on purpose (``DISAGREE``, each with its reason).
"""

import json
from pathlib import Path
from typing import Any

import pytest

from mailcheck.headers.received import ReceivedHop, parse_received

TABLE = json.loads((Path(__file__).parent / "data" / "spamassassin-received.json").read_text())
ROWS = [row for row in TABLE["rows"] if not row.get("skipped")]
FIELDS = ("ip", "rdns", "helo", "by", "ident")

# (start of the line, field) → (our value, why we differ from SpamAssassin's reading)
DISAGREE: dict[tuple[str, str], tuple[str, str]] = {
    ("from [127.0.0.1] ([127.0.0.1:50024])", "helo"): (
        "127.0.0.1",
        "the address literal after 'from' is what the client gave as HELO (RFC 5321 §4.1.3), as SpamAssassin reads "
        "it everywhere else",
    ),
    ("from TCE-E-7-182-54.bta.net.cn(202.106.182.54) via SMTP", "helo"): (
        "tce-e-7-182-54.bta.net.cn",
        "obtuse smtpd adds 'claiming to be \"…\"' only when the HELO differs from the name it looked up",
    ),
    ("from 211.245.85.228  (EHLO ) (211.245.85.228)", "rdns"): (
        "",
        "qmail wrote the bare address where the reverse lookup found no name; an address is not a reverse-DNS name",
    ),
}


def sa_reading(hop: ReceivedHop) -> dict[str, str]:
    """Our parse in SpamAssassin's terms: the HELO we read apart, else, in the layouts whose first name is the
    client's HELO, that name (there is none for a webmail submission over HTTP)."""
    helo = hop.helo
    web = (hop.protocol or "").upper().startswith("HTTP") or any("via HTTP" in c for c in hop.comments)
    literal = hop.raw.lower().startswith("from [")
    if helo is None and not web and (hop.from_name != hop.ip or literal):
        helo = hop.from_name  # a bare address with nothing else may be the one seen, not one said
    return {
        "ip": hop.ip or "",
        "rdns": (hop.rdns or "").lower().rstrip("."),
        "helo": (helo or "").strip("[]").lower().rstrip("."),
        "by": (hop.by or "").lower().rstrip("."),
        "ident": (hop.ident or "").lower(),  # SpamAssassin lowercases the ident; we keep what was written
    }


def theirs(expected: dict[str, str], field: str) -> str:
    value = expected[field]
    return value if field == "ip" else value.strip("!").lower().rstrip(".")  # !x!: the HELO was a literal


@pytest.mark.parametrize("row", ROWS, ids=[row["header"][:70] for row in ROWS])
def test_each_line_reads_as_spamassassin_reads_it(row: dict[str, Any]) -> None:
    ours = sa_reading(parse_received(row["header"]))
    for field in FIELDS:
        wanted = theirs(row["expected"], field)
        known = next((d for (start, f), d in DISAGREE.items() if f == field and row["header"].startswith(start)), None)
        if known is not None:
            assert ours[field] == known[0] != wanted, (field, ours[field], known[1])
        else:
            assert ours[field] == wanted, (field, ours, row["expected"])


def test_the_table_is_the_one_recorded() -> None:
    # provenance travels with the data (tests/data/README.md lists it too)
    assert TABLE["licence"] == "Apache-2.0" and "apache/spamassassin t/rcvd_parser.t" in TABLE["source"]
    assert len(ROWS) == 110 and all(set(FIELDS) <= set(row["expected"]) for row in ROWS)
