"""Questions asked of one authoritative name server directly, without recursion (RD unset).

This is the one place mailcheck speaks DNS to servers other than ``--resolver`` (the contract's exception for
the name-server checks): each of a zone's servers is asked for its own copy of the mail records, so a stale
secondary or a lame delegation shows instead of whichever answer a recursive resolver happened to cache. The
servers' names are resolved through ``--resolver`` by the caller; this module only talks to addresses.
"""

import time
from dataclasses import dataclass, field

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from mailcheck.model import ProbeError, Stage
from mailcheck.transcript import Transcript

EDNS_PAYLOAD = 1232  # the DNS flag day 2020 size: no fragmentation on any common path


@dataclass(frozen=True)
class ServerReply:
    """What one server said to one question."""

    rcode: str  # "NOERROR", "NXDOMAIN", "REFUSED", "SERVFAIL", ...
    authoritative: bool  # the AA bit: the server answers from a zone it serves (RFC 1035 §4.1.1)
    records: tuple[str, ...]  # the answer's records at the question's name, as zone-file text (sorted)
    referral: tuple[str, ...] = ()  # NS names in the authority section of a referral (no AA, no answer)
    glue: dict[str, tuple[str, ...]] = field(default_factory=dict)  # address records in the additional section
    edns: bool = False  # the reply carried an OPT record (RFC 6891)
    over_tcp: bool = False  # asked (or asked again after truncation) over TCP
    elapsed_ms: int = 0

    @property
    def answered(self) -> bool:
        """An authoritative NOERROR or NXDOMAIN: the server serves the zone (answer, NODATA or no such name)."""
        return self.authoritative and self.rcode in ("NOERROR", "NXDOMAIN")

    def txt(self) -> tuple[str, ...]:
        """TXT records as their joined strings (RFC 7208 §3.3), sorted."""
        return tuple(sorted(_joined(r) for r in self.records))


def _joined(text: str) -> str:
    """One TXT record's zone-file text (``"v=spf1 " "-all"``) as the string it carries."""
    parts, current, inside, escaped = [], [], False, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            if inside:
                parts.append("".join(current))
                current = []
            inside = not inside
        elif inside:
            current.append(char)
    return "".join(parts) if parts else text


async def ask(
    address: str,
    port: int,
    name: str,
    rdtype: str,
    timeout: float,
    transcript: Transcript | None = None,
    *,
    tcp: bool = False,
    edns: bool = True,
) -> ServerReply:
    """NAME/RDTYPE asked of the server at ADDRESS:PORT with recursion off, over UDP (again over TCP when the
    reply is truncated) or over TCP only; ProbeError (stage dns) when it does not answer in TIMEOUT."""
    transcript = transcript or Transcript()
    query = dns.message.make_query(name, rdtype, use_edns=0 if edns else False, payload=EDNS_PAYLOAD)
    query.flags &= ~dns.flags.RD
    where = f"{address}:{port}" if ":" not in address else f"[{address}]:{port}"
    if transcript.enabled:
        transcript.client(f"DNS {rdtype} {name}? (to {where}, no recursion{', TCP' if tcp else ''})")
    start = time.monotonic()
    try:
        if tcp:
            response = await dns.asyncquery.tcp(query, address, timeout=timeout, port=port)
        else:
            response = await dns.asyncquery.udp(query, address, timeout=timeout, port=port, ignore_trailing=True)
            if response.flags & dns.flags.TC:
                tcp = True
                response = await dns.asyncquery.tcp(query, address, timeout=timeout, port=port)
    except dns.exception.Timeout:
        raise _failure(transcript, where, name, rdtype, "timeout", f"no answer within {timeout:g}s") from None
    except (ConnectionError, OSError) as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        kind = "refused" if isinstance(exc, ConnectionRefusedError) else "unreachable"
        raise _failure(transcript, where, name, rdtype, kind, f"{'TCP ' if tcp else ''}{why}") from None
    except EOFError:
        why = "closed the TCP connection without answering" if tcp else "sent an empty reply"
        raise _failure(transcript, where, name, rdtype, "unreachable", why) from None
    except (dns.exception.DNSException, ValueError) as exc:
        raise _failure(transcript, where, name, rdtype, "bad-response", f"malformed reply ({exc})") from None
    reply = _reply(response, name, rdtype, tcp, round((time.monotonic() - start) * 1000))
    if transcript.enabled:
        flags = "AA" if reply.authoritative else "no AA"
        shown = "; ".join(reply.records) or ("referral to " + ", ".join(reply.referral) if reply.referral else "")
        transcript.server(f"DNS {rdtype} {name} from {where}: {reply.rcode}, {flags} {shown}".rstrip())
    return reply


def _reply(response: dns.message.Message, name: str, rdtype: str, tcp: bool, elapsed_ms: int) -> ServerReply:
    owner = dns.name.from_text(name)
    code = dns.rdatatype.from_text(rdtype)
    records = sorted(
        r.to_text() for rrset in response.answer if rrset.name == owner and rrset.rdtype == code for r in rrset
    )
    referral = sorted(
        r.target.to_text(omit_final_dot=True).lower()
        for rrset in response.authority
        if rrset.rdtype == dns.rdatatype.NS
        for r in rrset
    )
    glue: dict[str, list[str]] = {}
    for rrset in response.additional:
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            host = rrset.name.to_text(omit_final_dot=True).lower()
            glue.setdefault(host, []).extend(r.to_text() for r in rrset)
    return ServerReply(
        rcode=dns.rcode.to_text(response.rcode()),
        authoritative=bool(response.flags & dns.flags.AA),
        records=tuple(records),
        referral=tuple(referral),
        glue={host: tuple(sorted(addresses)) for host, addresses in glue.items()},
        edns=response.edns >= 0,
        over_tcp=tcp,
        elapsed_ms=elapsed_ms,
    )


def _failure(transcript: Transcript, where: str, name: str, rdtype: str, kind: str, why: str) -> ProbeError:
    transcript.error(f"DNS {rdtype} {name} to {where}: {kind}: {why}")
    return ProbeError(Stage.DNS, kind, f"{rdtype} {name} asked of {where}: {why}", unknown=kind == "timeout")
