"""DNS messages for the client's everyday questions (RFC 1035 §4.1), built and read without a full message
object.

A many-domain run asks hundreds of thousands of plain questions and reads from each reply only its header,
its question and the answer records for one name and type. Building a ``dns.message.Message`` for each one
and parsing every section into Name and Rdata objects cost more CPU than the rest of the run together, so
this module writes the query bytes directly and reads a reply as far as the client needs it: header,
question, the answer section as (owner, type, where its data is) and the OPT record's extended RCODE. Only
the records the client hands out become dnspython Rdata (``dns.rdata.from_wire``, so their parsing and
validation stay dnspython's). Names are compared in their uncompressed, lower-cased wire form.

The rules are dnspython's where it has them: compression pointers must point strictly backwards and not into
the name being read, labels are at most 63 octets and names at most 255, a reply is one to the query when its
QR bit, ID, opcode and question match (FORMERR/SERVFAIL/NOTIMP/REFUSED may come without a question).
"""

import re
import struct
from dataclasses import dataclass
from typing import cast

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

HEADER = struct.Struct("!HHHHHH")
RR_FIXED = struct.Struct("!HHIH")  # type, class, TTL, RDLENGTH
QUESTION_TAIL = struct.Struct("!HH")

QR = 0x8000
OPCODE_MASK = 0x7800
TC = 0x0200
RD = 0x0100
AD = 0x0020
CD = 0x0010
DO = 0x8000  # in the OPT record's TTL field
OPT = 41
CNAME = 5
IN = 1
_IN = dns.rdataclass.IN
MAX_NAME = 255
# RCODEs that may come without a question section (as dnspython's Message.is_response allows)
QUESTIONLESS_RCODES = frozenset({1, 2, 4, 5})  # FORMERR, SERVFAIL, NOTIMP, REFUSED

# Characters a host name's label is made of; any other name is encoded by dnspython (escapes, IDNA).
_LABEL_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_*"
_PLAIN = frozenset(_LABEL_CHARACTERS.encode())
# A name of such labels (1-63 characters each), with or without the final dot; its wire form is two octets
# longer than its text without the final dot, and may be 255 octets at most.
_LABEL = f"[{re.escape(_LABEL_CHARACTERS)}]{{1,63}}"
_HOST_NAME = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}\.?", re.ASCII)


class BadReply(Exception):
    """The reply cannot be read (truncated mid-record, bad compression pointer, bad label type, ...)."""


def encode_name(name: str) -> bytes:
    """NAME (text, absolute with or without the final dot) in wire form. Raises dnspython's name errors
    (EmptyLabel, LabelTooLong, NameTooLong, ...) for names it would refuse."""
    if _HOST_NAME.fullmatch(name) and len(name) - name.endswith(".") <= MAX_NAME - 2:
        labels = name.rstrip(".").encode("ascii").split(b".")
        return b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"
    if name in ("", "."):
        return b"\x00"
    return dns.name.from_text(name).to_wire() or b"\x00"


def name_key(wire: bytes) -> bytes:
    """The form names are compared in: uncompressed wire form, ASCII letters lower-cased (RFC 4343)."""
    return wire.lower()


def name_text(key: bytes) -> str:
    """A name (in wire form) as the client shows it: lower case, without the final dot."""
    labels = []
    at = 0
    while key[at]:
        end = at + 1 + key[at]
        labels.append(key[at + 1 : end])
        at = end
    if all(_PLAIN.issuperset(label) for label in labels):
        return b".".join(labels).decode("ascii").lower()
    return dns.name.Name([*labels, b""]).to_text(omit_final_dot=True).lower()


def build_query(qid: int, qname: bytes, qtype: int, flags: int, payload: int = 1232, dnssec_ok: bool = False) -> bytes:
    """A query for QNAME (wire form)/QTYPE in class IN with an EDNS(0) OPT record offering PAYLOAD octets,
    its DO bit set with DNSSEC_OK (RFC 3225: send the RRSIGs and NSEC/NSEC3 records)."""
    header = HEADER.pack(qid, flags, 1, 0, 0, 1)
    opt = RR_FIXED.pack(OPT, payload, DO if dnssec_ok else 0, 0)
    return header + qname + QUESTION_TAIL.pack(qtype, IN) + b"\x00" + opt


def read_name(data: bytes, at: int) -> tuple[bytes, int]:
    """The name at offset AT of DATA (wire form, decompressed, lower-cased) and the offset after it."""
    parts: list[bytes] = []
    length = 1
    end = len(data)  # reads of the current segment stay before this (a pointer target may not overlap it)
    lowest = at  # every pointer must point before the last one (so no loop is possible)
    after = -1
    start = at
    while True:
        if at >= end:
            raise BadReply("a name runs past the end of the message")
        count = data[at]
        if count == 0:
            break
        if count < 64:
            label_end = at + 1 + count
            if label_end > end:
                raise BadReply("a label runs past the end of the message")
            parts.append(data[at:label_end])
            length += count + 1
            if length > MAX_NAME:
                raise BadReply("a name is longer than 255 octets")
            at = label_end
        elif count >= 192:
            if at + 1 >= end:
                raise BadReply("a compression pointer runs past the end of the message")
            target = ((count & 0x3F) << 8) | data[at + 1]
            if target >= lowest:
                raise BadReply("a compression pointer does not point backwards")
            if after < 0:
                after = at + 2
            lowest = target
            end = start
            at = start = target
        else:
            raise BadReply(f"unknown label type {count:#x}")
    if after < 0:
        after = at + 1
    return b"".join(parts).lower() + b"\x00", after


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """One record of the answer section: owner (name key), type, class, and where its RDATA is."""

    owner: bytes
    rdtype: int
    rdclass: int
    start: int
    length: int


@dataclass(frozen=True, slots=True)
class Reply:
    """What the client reads of a reply."""

    data: bytes
    id: int
    flags: int
    rcode: int
    question: tuple[tuple[bytes, int, int], ...]
    answer: tuple[AnswerRecord, ...]

    @property
    def truncated(self) -> bool:
        return bool(self.flags & TC)

    @property
    def authenticated(self) -> bool:
        return bool(self.flags & AD)

    def answers_query(self, qid: int, qname: bytes, qtype: int) -> bool:
        """Whether this is the reply to the query QID for QNAME (name key)/QTYPE in class IN."""
        if not self.flags & QR or self.id != qid or self.flags & OPCODE_MASK:
            return False
        if not self.question and self.rcode in QUESTIONLESS_RCODES:
            return True
        return self.question == ((qname, qtype, IN),)

    def records(self, owner: bytes, rdtype: int) -> list[dns.rdata.Rdata]:
        """The class-IN records of OWNER (name key) and RDTYPE in the answer section, as dnspython Rdata,
        duplicates removed (an RRset is a set, RFC 2181 §5)."""
        found: list[dns.rdata.Rdata] = []
        for record in self.answer:
            if record.owner == owner and record.rdtype == rdtype and record.rdclass == IN:
                try:
                    rdata = dns.rdata.from_wire(
                        _IN, cast(dns.rdatatype.RdataType, rdtype), self.data, record.start, record.length
                    )
                except (dns.exception.DNSException, ValueError) as exc:
                    kind = dns.rdatatype.to_text(cast(dns.rdatatype.RdataType, rdtype))
                    raise BadReply(f"a {kind} record cannot be read ({exc})") from None
                if rdata not in found:
                    found.append(rdata)
        return found

    def alias(self, owner: bytes) -> bytes | None:
        """The target (name key) of OWNER's CNAME in the answer section, if it has one (of several, which RFC
        2181 §10.1 forbids, the last, as dnspython keeps it)."""
        target = None
        for record in self.answer:
            if record.owner == owner and record.rdtype == CNAME and record.rdclass == IN:
                target, after = read_name(self.data, record.start)
                if after != record.start + record.length:
                    raise BadReply("a CNAME record's data is not one name")
        return target


def parse_reply(data: bytes) -> Reply:
    """Read DATA as far as the client needs it; BadReply when that part cannot be read. Octets after the
    last section are ignored (as dnspython's ``ignore_trailing``)."""
    if len(data) < HEADER.size:
        raise BadReply("the message is shorter than a DNS header")
    qid, flags, qdcount, ancount, nscount, arcount = HEADER.unpack_from(data)
    at = HEADER.size
    question = []
    for _ in range(qdcount):
        qname, at = read_name(data, at)
        if at + 4 > len(data):
            raise BadReply("the question runs past the end of the message")
        qtype, qclass = QUESTION_TAIL.unpack_from(data, at)
        at += 4
        question.append((qname, qtype, qclass))
    answer = []
    rcode = flags & 0x000F
    for index in range(ancount + nscount + arcount):
        owner, at = read_name(data, at)
        if at + RR_FIXED.size > len(data):
            raise BadReply("a record runs past the end of the message")
        rdtype, rdclass, ttl, length = RR_FIXED.unpack_from(data, at)
        at += RR_FIXED.size
        if at + length > len(data):
            raise BadReply("a record's data runs past the end of the message")
        if index < ancount:
            answer.append(AnswerRecord(owner, rdtype, rdclass, at, length))
        elif rdtype == OPT and index >= ancount + nscount:
            rcode |= (ttl >> 24) << 4  # the extended RCODE's upper 8 bits (RFC 6891 §6.1.3)
        at += length
    return Reply(data, qid, flags, rcode, tuple(question), tuple(answer))
