"""mailcheck's DNSSEC verdicts judged by two independent validators, BIND's delv and Unbound's unbound-host,
on every shape of the zoo (tests/dnssec_zoo.py), each given the zoo's root anchor. Where the two disagree,
the shape names the rule mailcheck follows and the test checks that the dissenting one still says what it said."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcheck.lab.dns import DnsResponder
from mailcheck.net.dns import DnsClient
from mailcheck.net.dnssec import DnssecValidator, parse_anchors
from tests.debian import need_commands
from tests.dnssec_oracles import ORACLE_COMMANDS, delv_verdict, unbound_verdict
from tests.dnssec_zoo import SHAPES, Shape, start_zoo

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def zoo() -> Iterator[tuple[DnsResponder, str]]:
    need_commands(ORACLE_COMMANDS, "DNSSEC references (delv, unbound-host)")
    responder, _, anchor = start_zoo()
    yield responder, anchor
    responder.stop()


def mailcheck_verdict(responder: DnsResponder, anchor: str, shape: Shape) -> str:
    async def judge() -> str:
        validator = DnssecValidator(DnsClient([("127.0.0.1", responder.port)], 3.0), parse_anchors([anchor]))
        return (await validator.status(shape.name, shape.rdtype)).state

    return asyncio.run(judge())


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{s.name}/{s.rdtype}/{s.what}" for s in SHAPES])
def test_mailcheck_agrees_with_delv_and_unbound(zoo: tuple[DnsResponder, str], shape: Shape, tmp_path: Path) -> None:
    responder, anchor = zoo
    # Given one shape of signed (or broken) DNS, served with the zoo's anchor to all three validators
    # When delv, unbound-host and mailcheck each judge the answer
    references = {
        "delv": delv_verdict(responder.port, anchor, shape.name, shape.rdtype, tmp_path),
        "unbound-host": unbound_verdict(responder.port, anchor, shape.name, shape.rdtype, tmp_path),
    }
    ours = mailcheck_verdict(responder, anchor, shape)
    # Then all three say the shape's verdict (the dissenting reference, where named, says what it is known to)
    for reference, (verdict, output) in references.items():
        expected = shape.dissent[1] if shape.dissent and shape.dissent[0] == reference else shape.state
        assert verdict == expected, f"{reference} says {verdict} for {shape.what}:\n{output[-1500:]}"
    assert ours == shape.state, f"mailcheck says {ours}, delv and unbound-host {shape.state}: {shape.what}"
