"""An authoritative DNS responder on loopback (UDP and TCP on one port), answering from a record table.

It can be told, per name or for every name, to SERVFAIL, NXDOMAIN, REFUSE, drop the query, answer slowly or
truncate UDP answers, and it can set the AD bit as a validating resolver would. Given a signed world
(:mod:`mailcheck.lab.dnssec`), that world answers instead of the table, with signatures and proofs. It runs its
own event loop in a thread so synchronous callers (click's test runner, the demo) can use it.
"""

import asyncio
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import dns.rrset

if TYPE_CHECKING:
    from mailcheck.lab.dnssec import SignedWorld

MAX_CNAME_CHAIN = 8


@dataclass(frozen=True)
class Fault:
    """How to misbehave for a name: ``servfail``, ``nxdomain``, ``refused``, ``drop``, ``slow``, ``truncate``,
    ``drop-empty`` (silent only for the types the name has no records of, as the RFC 7208 suite's TIMEOUT
    means), ``no-aa`` (answer without the AA bit, as a lame server answering from cache does) or ``no-edns``
    (FORMERR for any query with EDNS, as pre-RFC 6891 servers do). The server-wide ``tcp`` switch of
    :class:`DnsResponder` turns its TCP listener away."""

    kind: str
    delay: float = 0.0


def name_key(name: str) -> str:
    """How the zone table keys a name: lower case, no final dot (the root is "")."""
    return _key(name)


def _key(name: str) -> str:
    return name.lower().rstrip(".")


@dataclass
class Zone:
    """Records by (owner name, type), in zone-file text (``"10 mx1.example.com."``)."""

    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    ttl: int = 300
    _parsed: dict[tuple[str, str, tuple[str, ...]], dns.rrset.RRset] = field(default_factory=dict, repr=False)
    _owners: set[str] | None = field(default=None, repr=False)

    def add(self, name: str, rdtype: str, *values: str) -> "Zone":
        self.records.setdefault((_key(name), rdtype.upper()), []).extend(values)
        self._owners = None
        return self

    def txt(self, name: str, text: str) -> "Zone":
        """Add a TXT record holding ``text``, split into 255-octet strings as a zone file would."""
        raw = text.encode()
        chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
        quoted = " ".join('"' + c.decode().replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)
        return self.add(name, "TXT", quoted)

    def host(self, name: str, *addresses: str, ptr: bool = True) -> "Zone":
        """A/AAAA records for ``name`` and, unless ``ptr`` is false, matching PTR records."""
        for address in addresses:
            self.add(name, "AAAA" if ":" in address else "A", address)
            if ptr:
                self.add(_reverse(address), "PTR", _key(name) + ".")
        return self

    def remove(self, name: str, rdtype: str | None = None) -> None:
        for key in list(self.records):
            if key[0] == _key(name) and (rdtype is None or key[1] == rdtype.upper()):
                del self.records[key]
        self._owners = None

    def exists(self, name: str) -> bool:
        """True when the name owns records or is an empty non-terminal (so NODATA, not NXDOMAIN)."""
        if self._owners is None:
            owners: set[str] = set()
            for owner, _ in list(self.records):
                labels = owner.split(".")
                owners.update(".".join(labels[i:]) for i in range(len(labels)))
            self._owners = owners
        return _key(name) in self._owners

    def rrset(self, name: str, rdtype: str) -> dns.rrset.RRset | None:
        """The records as an RRset, parsed once (tests may change a record list in place: the cache key is
        its current contents)."""
        values = self.records.get((_key(name), rdtype))
        if not values:
            return None
        key = (_key(name), rdtype, tuple(values))
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = dns.rrset.from_text(_key(name) + ".", self.ttl, "IN", rdtype, *values)
            self._parsed[key] = parsed
        return parsed


def _reverse(address: str) -> str:
    return dns.reversename.from_address(address).to_text(omit_final_dot=True)


class DnsResponder:
    """Serve a :class:`Zone` on ``host`` (loopback) over UDP and TCP on one free port."""

    def __init__(self, zone: Zone | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.zone = zone or Zone()
        self.host = host
        self.port = port
        self.faults: dict[str, Fault] = {}
        self.authenticated = False
        self.world: SignedWorld | None = None  # a signed world (lab/dnssec.py) answers instead of the table
        self.tcp = True  # False: TCP connections are closed unanswered (a server without DNS over TCP)
        # names whose NS records are a delegation (a zone cut): questions at or under them get a referral,
        # as from the parent zone's authoritative servers
        self.delegations: set[str] = set()
        self.queries: list[tuple[str, str]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lab-dns", daemon=True)
        self._closers: list[asyncio.BaseTransport | asyncio.Server] = []

    # --- control, from any thread ---

    def fault(self, name: str, kind: str, delay: float = 0.0) -> None:
        """Misbehave for ``name`` (``"*"``: every name)."""
        self.faults[_key(name) if name != "*" else "*"] = Fault(kind, delay)

    @property
    def address(self) -> str:
        """The ``--resolver`` value that reaches this responder."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def start(self) -> "DnsResponder":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            for closer in self._closers:
                closer.close()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> "DnsResponder":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- serving ---

    async def _listen(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        for _ in range(20):
            udp = socket.socket(family, socket.SOCK_DGRAM)
            udp.bind((self.host, self.port))
            port = udp.getsockname()[1]
            try:
                server = await asyncio.start_server(self._serve_tcp, self.host, port)
            except OSError:
                udp.close()
                if self.port:
                    raise
                continue
            transport, _ = await self._loop.create_datagram_endpoint(lambda: _UdpProtocol(self), sock=udp)
            self.port = port
            self._closers += [transport, server]
            return
        raise OSError("no free port for the lab DNS responder")

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.tcp:
            writer.close()
            return
        try:
            while True:
                length = struct.unpack("!H", await reader.readexactly(2))[0]
                wire = await self.respond(await reader.readexactly(length), tcp=True)
                if wire is None:
                    continue
                writer.write(struct.pack("!H", len(wire)) + wire)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _fault_for(self, name: str) -> Fault | None:
        return self.faults.get(_key(name)) or self.faults.get("*")

    async def respond(self, wire: bytes, tcp: bool) -> bytes | None:
        """The answer to one query in wire form, or None to stay silent."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        question = query.question[0]
        qname = question.name.to_text(omit_final_dot=True)
        qtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((_key(qname), qtype))
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        fault = self._fault_for(qname)
        if fault is not None and fault.kind == "no-edns" and query.edns >= 0:
            response = dns.message.make_response(query)
            response.use_edns(False)
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        if fault is not None and fault.kind == "no-aa":
            response.flags &= ~dns.flags.AA
        cut = self._cut_above(qname, qtype)
        if cut is not None and self.world is None:
            self._refer(response, cut)
            return response.to_wire()
        if fault is not None:
            if fault.kind == "drop" or (fault.kind == "drop-empty" and self.zone.rrset(qname, qtype) is None):
                return None
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind in ("servfail", "nxdomain", "refused"):
                response.set_rcode(dns.rcode.from_text(fault.kind.upper()))
                return response.to_wire()
            elif fault.kind == "truncate" and not tcp:
                response.flags |= dns.flags.TC
                return response.to_wire()
        if self.world is not None:
            self.world.respond(query, response)
        else:
            self._answer(response, qname, qtype)
        if self.authenticated and response.rcode() == dns.rcode.NOERROR:
            response.flags |= dns.flags.AD
        limit = 65535 if tcp else max(512, query.payload if query.edns >= 0 else 512)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.AA | dns.flags.TC
            return truncated.to_wire()

    def _cut_above(self, qname: str, qtype: str) -> str | None:
        """The delegation QNAME is at or under (the DS of a cut is the parent's own answer)."""
        name = _key(qname)
        while True:
            if name in self.delegations and not (name == _key(qname) and qtype == "DS"):
                return name
            if not name:
                return None
            name = name.partition(".")[2]

    def _refer(self, response: dns.message.Message, cut: str) -> None:
        """A referral: the cut's NS records in the authority section, their addresses as glue, no AA."""
        response.flags &= ~dns.flags.AA
        servers = self.zone.rrset(cut, "NS")
        if servers is None:
            return
        response.authority.append(servers)
        for server in servers:
            host = server.target.to_text(omit_final_dot=True)
            for rdtype in ("A", "AAAA"):
                glue = self.zone.rrset(host, rdtype)
                if glue is not None:
                    response.additional.append(glue)

    def _answer(self, response: dns.message.Message, qname: str, qtype: str) -> None:
        name = qname
        seen: set[str] = set()
        for _ in range(MAX_CNAME_CHAIN):
            if qtype != "CNAME":
                alias = self.zone.rrset(name, "CNAME")
                if alias is not None and _key(name) not in seen:
                    seen.add(_key(name))
                    response.answer.append(alias)
                    name = alias[0].target.to_text(omit_final_dot=True)
                    if self._fault_for(name) is not None:
                        return
                    continue
            break
        records = self.zone.rrset(name, qtype)
        if records is not None:
            response.answer.append(records)
        elif not self.zone.exists(name) and name not in seen:
            response.set_rcode(dns.rcode.NXDOMAIN)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, responder: DnsResponder) -> None:
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: set[asyncio.Future[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        task = asyncio.ensure_future(self._reply(data, addr))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _reply(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        wire = await self.responder.respond(data, tcp=False)
        if wire is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(wire, addr)
