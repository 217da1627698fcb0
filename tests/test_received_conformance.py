"""Our Received parser against stalwart mail-parser's 181 real headers, field by field.

The fixture's expected values are another parser's output. Where we disagree on purpose:
- ``::ffff:192.0.2.1`` is reported as the IPv4 address it is (the issue asks us to normalise it).
- qmail's ``(user@192.0.2.1)`` gives ident ``user`` and IP ``192.0.2.1``; the fixture keeps ``user@ip`` as ident.
- ids keep every atext character: ``EE/20-30863-33CE1054`` (RFC 5322 §3.2.3 allows "/"); the fixture cuts at "/".
- dates the fixture could not read (asctime, zone names like PST, fractional seconds, two-digit years) we read;
  an asctime it reads as year 1910 we read as its real year.
- ``with`` keeps what the server wrote when it is not a registered protocol name (local-esmtp, ESMTP-TLS).
The rates are printed (``pytest -s`` or the test report) and held above a floor so regressions show.
"""

from tests.received_conformance import agreement

FLOORS = {
    "by": 0.97,
    "date": 0.92,
    "for_": 0.95,
    "from": 0.95,
    "from_ip": 0.90,
    "from_iprev": 0.80,
    "helo": 0.95,
    "id": 0.95,
    "tls_cipher": 0.90,
    "tls_version": 0.95,
    "via": 0.99,
    "with": 0.92,
}


def test_field_agreement_with_the_stalwart_fixture(capsys) -> None:  # type: ignore[no-untyped-def]
    rates, _ = agreement()
    with capsys.disabled():
        print("\nReceived field agreement with stalwart mail-parser (181 headers):")
        for key, (agreed, stated) in sorted(rates.items()):
            print(f"  {key:12} {agreed:4}/{stated:<4} {100 * agreed / stated:5.1f}%")
    for key, floor in FLOORS.items():
        agreed, stated = rates[key]
        assert agreed / stated >= floor, f"{key}: {agreed}/{stated} below {floor:.0%}"


def test_every_fixture_header_parses_with_a_by_or_from() -> None:
    import json
    from pathlib import Path

    from mailcheck.headers.received import parse_received

    rows = json.loads((Path(__file__).parent / "data" / "stalwart-received.json").read_text())
    for row in rows:
        hop = parse_received(row["header"])
        if row["header"].rsplit(";", 1)[0].strip():  # a header that is only a date has nothing else to keep
            assert hop.by or hop.from_name or hop.unparsed or hop.comments, row["header"]
