"""The client's own DNS wire code (net/dns_codec.py, net/dns_wire.py), held against dnspython as the oracle:
queries byte for byte as dnspython builds them, replies read as dnspython reads them, and whatever a resolver
sends ends as an answer or a ``bad-response``, never another exception or a hang."""

import asyncio
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck.lab.dns import DnsResponder
from mailcheck.model import ProbeError
from mailcheck.net.dns import DnsAnswer, DnsClient
from mailcheck.net.dns_codec import AD, CD, RD, BadReply, build_query, encode_name, name_key, name_text, parse_reply
from mailcheck.net.dns_wire import close_loop_resources

LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=63)
HOST_NAME = st.lists(LABEL, min_size=1, max_size=6).map(".".join)
ODD_NAME = st.one_of(
    HOST_NAME,
    st.text(max_size=80),  # anything: unicode (IDNA), escapes, empty labels, too long
    st.lists(st.text(alphabet='ab.\\ 0129"()@;', max_size=8), max_size=5).map(".".join),
)
TYPES = ["A", "AAAA", "MX", "TXT", "PTR", "CNAME", "TLSA", "NS", "SRV", "CAA"]


def dnspython_wire(name: str) -> bytes | type[Exception]:
    try:
        return dns.name.from_text(name).to_wire() or b"\x00"
    except Exception as exc:  # which exception dnspython raises is what is compared
        return type(exc)


def assert_encoded_like_dnspython(name: str) -> None:
    expected = dnspython_wire(name)
    try:
        ours: bytes | type[Exception] = encode_name(name)
    except Exception as exc:
        ours = type(exc)
    assert ours == expected


@settings(max_examples=400, deadline=None)
@given(ODD_NAME)
def test_names_are_encoded_as_dnspython_encodes_them(name: str) -> None:
    assert_encoded_like_dnspython(name)


@pytest.mark.parametrize("length", [253, 254])
@pytest.mark.parametrize("final_dot", ["", "."])
def test_the_255_octet_limit_is_dnspythons(length: int, final_dot: str) -> None:
    name = ".".join(["a" * 63] * 3 + ["b" * (length - 3 * 64)]) + final_dot
    assert len(name.rstrip(".")) == length
    assert_encoded_like_dnspython(name)


@settings(max_examples=200, deadline=None)
@given(HOST_NAME, st.sampled_from(TYPES), st.integers(0, 65535))
def test_queries_are_byte_for_byte_dnspythons(name: str, rdtype: str, qid: int) -> None:
    query = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
    query.flags |= dns.flags.RD | dns.flags.AD
    query.id = qid
    ours = build_query(qid, encode_name(name), dns.rdatatype.from_text(rdtype), RD | AD)
    assert ours == query.to_wire()
    assert parse_reply(ours).question == ((name_key(encode_name(name)), dns.rdatatype.from_text(rdtype), 1),)


@settings(max_examples=50, deadline=None)
@given(HOST_NAME, st.sampled_from(["DNSKEY", "DS", "TLSA", "MX"]), st.integers(0, 65535))
def test_dnssec_queries_are_byte_for_byte_dnspythons(name: str, rdtype: str, qid: int) -> None:
    query = dns.message.make_query(name, rdtype, want_dnssec=True, use_edns=0, payload=1232)
    query.flags |= dns.flags.RD | dns.flags.CD
    query.id = qid
    assert build_query(qid, encode_name(name), dns.rdatatype.from_text(rdtype), RD | CD, dnssec_ok=True) == (
        query.to_wire()
    )


RECORDS = {
    "A": st.sampled_from(["192.0.2.1", "127.0.0.1", "10.1.2.3"]),
    "AAAA": st.sampled_from(["2001:db8::1", "::1"]),
    "MX": st.tuples(st.integers(0, 65535), HOST_NAME).map(lambda p: f"{p[0]} {p[1]}."),
    "TXT": st.lists(st.text(alphabet="v=spf1 -all;include:ab", max_size=40), min_size=1, max_size=3).map(
        lambda parts: " ".join(f'"{p}"' for p in parts)
    ),
    "CNAME": HOST_NAME.map(lambda n: n + "."),
    "PTR": HOST_NAME.map(lambda n: n + "."),
}


@st.composite
def responses(draw: st.DrawFn) -> dns.message.Message:
    qname = draw(HOST_NAME)
    query = dns.message.make_query(qname, draw(st.sampled_from(sorted(RECORDS))), use_edns=0, payload=1232)
    response = dns.message.make_response(query)
    response.set_rcode(draw(st.sampled_from([dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL])))
    owners = [qname, *draw(st.lists(HOST_NAME, max_size=2))]
    for section in (response.answer, response.authority, response.additional):
        for _ in range(draw(st.integers(0, 3))):
            rdtype = draw(st.sampled_from(sorted(RECORDS)))
            owner = draw(st.sampled_from(owners)).upper() if draw(st.booleans()) else draw(st.sampled_from(owners))
            values = draw(st.lists(RECORDS[rdtype], min_size=1, max_size=3))
            section.append(dns.rrset.from_text(owner + ".", 300, "IN", rdtype, *values))
    if draw(st.booleans()):
        response.flags |= dns.flags.AD
    return response


@settings(max_examples=300, deadline=None)
@given(responses())
def test_replies_are_read_as_dnspython_reads_them(response: dns.message.Message) -> None:
    wire = response.to_wire()  # dnspython compresses names: pointers are exercised
    theirs = dns.message.from_wire(wire)
    ours = parse_reply(wire)
    assert ours.rcode == theirs.rcode()
    assert ours.authenticated == bool(theirs.flags & dns.flags.AD)
    question = theirs.question[0]
    assert ours.answers_query(theirs.id, name_key(question.name.to_wire()), question.rdtype)
    assert not ours.answers_query(theirs.id ^ 1, name_key(question.name.to_wire()), question.rdtype)
    for rrset in theirs.answer:
        key = name_key(rrset.name.to_wire())
        if rrset.rdtype == dns.rdatatype.CNAME:
            # one CNAME per name (RFC 2181 §10.1); of several, both follow the last one
            assert ours.alias(key) == name_key(rrset[0].target.to_wire())
        else:
            expected = theirs.get_rrset(theirs.answer, rrset.name, dns.rdataclass.IN, rrset.rdtype)
            assert expected is not None
            assert sorted(r.to_text() for r in ours.records(key, rrset.rdtype)) == sorted(r.to_text() for r in expected)
        assert name_text(key) == rrset.name.to_text(omit_final_dot=True).lower()


@settings(max_examples=500, deadline=None)
@given(responses(), st.data())
def test_damaged_replies_are_read_or_refused_never_crash(response: dns.message.Message, data: st.DataObject) -> None:
    wire = bytearray(response.to_wire())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(wire) - 1))
        wire[at] = data.draw(st.integers(0, 255))
    cut = bytes(wire[: data.draw(st.integers(0, len(wire)))])
    try:
        dnspython_read = dns.message.from_wire(cut, ignore_trailing=True)
    except (dns.exception.DNSException, ValueError, UnicodeError):
        dnspython_read = None
    try:
        ours = parse_reply(cut)
    except BadReply:
        # what dnspython reads whole, the client reads as far as it needs
        assert dnspython_read is None
        return
    for record in ours.answer:
        try:
            ours.records(record.owner, record.rdtype)
            ours.alias(record.owner)
        except BadReply:
            assert dnspython_read is None


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        (b"\x00\x01\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01", "backwards"),  # points at itself
        (b"\x00\x01\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x20\x00\x01\x00\x01", "backwards"),  # points ahead
        (b"\x00\x01\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x41abc\x00\x00\x01\x00\x01", "label type"),
        (b"\x00\x01\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x03ab", "past the end"),
        (b"\x00\x01\x81\x80\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00\xff\xff", "data runs"),
        (b"\x00\x01\x81\x80", "shorter than a DNS header"),
        (b"\x00\x01\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00" + b"\x3f" + b"a" * 63 + b"\x3f" + b"b" * 63
         + b"\x3f" + b"c" * 63 + b"\x3f" + b"d" * 63 + b"\x00\x00\x01\x00\x01", "longer than 255"),
    ],
)  # fmt: skip
def test_hostile_reply_shapes_are_bad_replies(wire: bytes, why: str) -> None:
    with pytest.raises(BadReply, match=why):
        parse_reply(wire)


def test_extended_rcode_comes_from_the_opt_record() -> None:
    query = dns.message.make_query("example.test", "A", use_edns=0)
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.BADVERS)
    assert parse_reply(response.to_wire()).rcode == dns.rcode.BADVERS == 16


# --- the transport against a scripted resolver on loopback ---

Script = Callable[[dns.message.Message, int], list[bytes]]


class ScriptedResolver:
    """A UDP+TCP resolver on 127.0.0.1 whose every reply is what SCRIPT makes of the query (dnspython
    parses the client's query and builds the replies: the oracle on the other side of the wire)."""

    def __init__(self, script: Script, tcp_script: Script | None = None) -> None:
        self.script = script
        self.tcp_script = tcp_script
        for _ in range(20):  # a free UDP port whose TCP twin is taken (an ephemeral port in use): try another
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
            except OSError:
                self.udp.close()
                self.tcp.close()
                continue
            break
        else:
            raise OSError("no UDP port free with its TCP twin on 127.0.0.1")
        self.tcp.listen()
        self.seen = 0
        self.tcp_seen = 0
        for target in (self._serve_udp, self._serve_tcp):
            threading.Thread(target=target, daemon=True).start()

    def _serve_udp(self) -> None:
        while True:
            try:
                data, peer = self.udp.recvfrom(65535)
            except OSError:
                return
            self.seen += 1
            for reply in self.script(dns.message.from_wire(data), self.seen):
                self.udp.sendto(reply, peer)

    def _serve_tcp(self) -> None:
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                size = struct.unpack("!H", conn.recv(2))[0]
                query = dns.message.from_wire(conn.recv(size))
                self.tcp_seen += 1
                assert self.tcp_script is not None
                for reply in self.tcp_script(query, self.tcp_seen):
                    conn.sendall(struct.pack("!H", len(reply)) + reply)

    def close(self) -> None:
        self.udp.close()
        self.tcp.close()


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedResolver]]:
    made: list[ScriptedResolver] = []

    def make(script: Script, tcp_script: Script | None = None) -> ScriptedResolver:
        made.append(ScriptedResolver(script, tcp_script))
        return made[-1]

    yield make
    for resolver in made:
        resolver.close()


def answer(query: dns.message.Message, *records: str, rcode: int = dns.rcode.NOERROR, tc: bool = False) -> bytes:
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    if tc:
        response.flags |= dns.flags.TC
    for record in records:
        owner, rdtype, value = record.split(" ", 2)
        response.answer.append(dns.rrset.from_text(owner, 300, "IN", rdtype, value))
    return response.to_wire(max_size=65535)


def ask(resolver: ScriptedResolver, name: str, rdtype: str, timeout: float = 2.0) -> DnsAnswer | ProbeError:
    async def run() -> DnsAnswer | ProbeError:
        client = DnsClient([("127.0.0.1", resolver.port)], timeout)
        try:
            return await asyncio.wait_for(client.lookup(name, rdtype), timeout + 3)
        except ProbeError as err:
            return err
        finally:
            close_loop_resources()

    return asyncio.run(run())


def test_a_reply_with_another_id_is_ignored_and_the_right_one_taken(scripted: Callable[..., ScriptedResolver]) -> None:
    def script(query: dns.message.Message, _: int) -> list[bytes]:
        stray = dns.message.from_wire(answer(query, "mx.test. A 192.0.2.9"))
        stray.id ^= 0x5A5A
        return [stray.to_wire(), answer(query, "mx.test. A 192.0.2.1")]

    result = ask(scripted(script), "mx.test", "A")
    assert isinstance(result, DnsAnswer) and result.texts() == ["192.0.2.1"]


def another_question(query: dns.message.Message, _: int) -> list[bytes]:
    other = dns.message.make_query("elsewhere.test", "A")
    other.id = query.id
    return [answer(other, "elsewhere.test. A 192.0.2.1")]


def pointer_loop(query: dns.message.Message, _: int) -> list[bytes]:
    good = answer(query, "mx.test. A 192.0.2.1")
    at = good.index(b"\xc0\x0c")  # the answer's owner points at the question name: make it point at itself
    return [good[:at] + struct.pack("!H", 0xC000 | at) + good[at + 2 :]]


def short_address(query: dns.message.Message, _: int) -> list[bytes]:
    good = answer(query, "mx.test. A 192.0.2.1")
    assert good.count(b"\x00\x04\xc0\x00\x02\x01") == 1  # RDLENGTH 4, then 192.0.2.1
    return [good.replace(b"\x00\x04\xc0\x00\x02\x01", b"\x00\x03\xc0\x00\x02")]  # three octets long


@pytest.mark.parametrize(
    ("script", "said"),
    [(another_question, "another question"), (pointer_loop, "compression pointer"), (short_address, "A record")],
)
def test_unusable_replies_are_bad_responses(
    scripted: Callable[..., ScriptedResolver], script: Script, said: str
) -> None:
    result = ask(scripted(script), "mx.test", "A")
    assert isinstance(result, ProbeError) and result.kind == "bad-response"
    assert said in result.message


def test_a_truncated_reply_is_asked_again_over_tcp(scripted: Callable[..., ScriptedResolver]) -> None:
    resolver = scripted(
        lambda query, _: [answer(query, tc=True)],
        lambda query, _: [answer(query, "big.test. TXT " + " ".join(['"' + "x" * 200 + '"'] * 20))],
    )
    result = ask(resolver, "big.test", "TXT")
    assert isinstance(result, DnsAnswer) and len(result.txt_values()[0]) == 4000
    assert resolver.tcp_seen == 1


def test_a_tcp_answer_that_never_comes_is_a_bad_response_within_the_timeout(
    scripted: Callable[..., ScriptedResolver],
) -> None:
    resolver = scripted(lambda query, _: [answer(query, tc=True)], lambda query, _: [])
    result = ask(resolver, "big.test", "TXT", timeout=1.0)
    assert isinstance(result, ProbeError) and result.kind == "bad-response"
    assert "over TCP" in result.message


def test_a_lost_datagram_is_asked_again_within_the_lifetime(scripted: Callable[..., ScriptedResolver]) -> None:
    resolver = scripted(lambda query, seen: [] if seen == 1 else [answer(query, "mx.test. A 192.0.2.1")])
    result = ask(resolver, "mx.test", "A", timeout=3.0)
    assert isinstance(result, DnsAnswer) and result.texts() == ["192.0.2.1"]
    assert resolver.seen == 2


def test_cname_chains_and_duplicates_in_the_reply(scripted: Callable[..., ScriptedResolver]) -> None:
    def script(query: dns.message.Message, _: int) -> list[bytes]:
        return [answer(query, "www.test. CNAME Edge.Test.", "edge.test. A 192.0.2.7", "EDGE.test. A 192.0.2.7")]

    result = ask(scripted(script), "www.test", "A")
    assert isinstance(result, DnsAnswer)
    assert result.texts() == ["192.0.2.7"] and result.canonical_name == "edge.test" and result.aliased


def test_servfail_then_refused_are_failures_not_answers(scripted: Callable[..., ScriptedResolver]) -> None:
    resolver = scripted(lambda query, _: [answer(query, rcode=dns.rcode.SERVFAIL)])
    result = ask(resolver, "mx.test", "A")
    assert isinstance(result, ProbeError) and result.kind == "servfail"
    assert resolver.seen == 1  # a definite SERVFAIL is not asked again


@pytest.mark.parametrize("name", ["a..b", "x" * 64 + ".test", ("abcdefghi." * 26) + "test"])
def test_names_no_query_can_carry_are_syntax_errors(name: str) -> None:
    async def run() -> ProbeError:
        client = DnsClient([("127.0.0.1", 9)], 1.0)
        with pytest.raises(ProbeError) as caught:
            await client.lookup(name, "A")
        return caught.value

    assert asyncio.run(run()).kind == "syntax"


def test_replies_are_not_assumed_from_the_question_case() -> None:
    # the question comes back in the case the client sent; RFC 4343 comparison ignores it
    query = dns.message.make_query("MiXeD.Test", "A")
    reply = parse_reply(answer(query, "mixed.test. A 192.0.2.1"))
    assert reply.answers_query(query.id, name_key(encode_name("mixed.test")), 1)
    assert [r.to_text() for r in reply.records(name_key(encode_name("MIXED.TEST")), 1)] == ["192.0.2.1"]


# --- one question asked once per run, whoever asks it ---


def test_concurrent_askers_share_one_query_and_its_failure(dns_server: DnsResponder) -> None:
    dns_server.zone.host("mx.test", "192.0.2.1")
    dns_server.fault("slow.test", "slow", delay=0.3)
    dns_server.fault("broken.test", "servfail")

    async def run() -> list[object]:
        client = DnsClient([("127.0.0.1", dns_server.port)], 2.0)
        try:
            asks = [client.lookup(name, "A") for name in ("mx.test", "MX.test.", "slow.test", "broken.test") * 5]
            return await asyncio.gather(*asks, return_exceptions=True)
        finally:
            close_loop_resources()

    outcomes = asyncio.run(run())
    assert sorted(dns_server.queries) == [("broken.test", "A"), ("mx.test", "A"), ("slow.test", "A")]
    assert all(isinstance(o, DnsAnswer) and o.texts() == ["192.0.2.1"] for o in outcomes[0::4] + outcomes[1::4])
    assert all(isinstance(o, DnsAnswer) and o.nxdomain for o in outcomes[2::4])
    assert all(isinstance(o, ProbeError) and o.kind == "servfail" for o in outcomes[3::4])


@pytest.mark.parametrize(
    ("cancelled", "asked"),
    [
        ("first", 2),  # the first asker went away: the question is asked again for the one that stayed
        ("second", 1),  # a waiter went away: the first asker's question goes on, asked once
    ],
)
def test_a_cancelled_asker_leaves_the_other_its_answer(dns_server: DnsResponder, cancelled: str, asked: int) -> None:
    dns_server.zone.host("slow.test", "192.0.2.5")
    dns_server.fault("slow.test", "slow", delay=0.4)

    async def run() -> DnsAnswer:
        client = DnsClient([("127.0.0.1", dns_server.port)], 3.0)
        try:
            askers = {"first": asyncio.ensure_future(client.lookup("slow.test", "A"))}
            await asyncio.sleep(0.05)
            askers["second"] = asyncio.ensure_future(client.lookup("slow.test", "A"))
            await asyncio.sleep(0.05)
            askers[cancelled].cancel()
            stayed = askers["second" if cancelled == "first" else "first"]
            answer = await asyncio.wait_for(stayed, 3)
            assert askers[cancelled].cancelled()
            return answer
        finally:
            close_loop_resources()

    assert asyncio.run(run()).texts() == ["192.0.2.5"]
    assert dns_server.queries.count(("slow.test", "A")) == asked
