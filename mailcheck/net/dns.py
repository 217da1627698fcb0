"""The one DNS client: every question any subcommand asks goes through :class:`DnsClient`.

Questions go over one persistent UDP socket per resolver (:mod:`mailcheck.net.dns_wire`); the resolvers are
the ones given, or the system's (read once by ``dns.asyncresolver``). When resolvers are given, the system
configuration is never read, so no code path can fall back to the system resolver.
"""

import asyncio
import functools
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdatatype

from mailcheck.model import ProbeError, Stage
from mailcheck.net.dns_codec import AD, CD, RD, BadReply, Reply, encode_name, name_key, name_text
from mailcheck.net.dns_wire import NXDOMAIN, WireTransport
from mailcheck.net.resolvconf import NoSystemResolver, system_resolvers
from mailcheck.transcript import Transcript

MAX_IN_FLIGHT = 128  # under dnsmasq's default limit of 150 concurrent queries per forwarder
ATTEMPT_SECONDS = 2.0
MAX_CNAME_HOPS = 16


@dataclass(frozen=True)
class DnsAnswer:
    """The answer to one question. NXDOMAIN and NODATA are answers, not errors: the caller decides."""

    name: str
    rdtype: str
    records: tuple[dns.rdata.Rdata, ...]
    canonical_name: str
    authenticated: bool = False
    nxdomain: bool = False

    @property
    def aliased(self) -> bool:
        """True when the name is a CNAME (the records belong to :attr:`canonical_name`)."""
        return self.canonical_name != self.name

    @property
    def outcome(self) -> str:
        if self.nxdomain:
            return "nxdomain"
        return "answer" if self.records else "nodata"

    def texts(self) -> list[str]:
        return [r.to_text() for r in self.records]

    def txt_values(self) -> list[str]:
        """TXT records as text, each record's strings joined without spaces (RFC 7208 §3.3, RFC 6376 §3.6.2.2)."""
        return [b"".join(r.strings).decode("utf-8", errors="replace") for r in self.records]  # type: ignore[attr-defined]


def _plain(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def reverse_name(address: str) -> str:
    """The PTR name of an address (IPv4-mapped IPv6 addresses get their IPv4 name, as dnspython gives)."""
    try:
        return ipaddress.IPv4Address(address).reverse_pointer
    except ValueError:
        import dns.reversename

        return _plain(dns.reversename.from_address(address))


class DnsClient:
    """Asks DNS questions through the configured resolvers, with a per-query time bound.

    Answers are cached for the life of the client (one command run), and concurrent identical questions
    share one query.
    """

    def __init__(
        self,
        nameservers: Sequence[tuple[str, int]] | None,
        timeout: float,
        transcript: Transcript | None = None,
    ) -> None:
        self.timeout = timeout
        self.transcript = transcript or Transcript()
        self._pending: dict[tuple[str, str], asyncio.Future[DnsAnswer]] = {}
        self._raw: dict[tuple[str, str], asyncio.Future[dns.message.Message]] = {}
        self._wire: WireTransport | None = None
        self._rate: float | None = None
        self._setup_error: ProbeError | None = None
        self._servers: list[tuple[str, int]] = list(nameservers) if nameservers else []
        if not nameservers:
            try:
                system = system_resolvers()
            except NoSystemResolver as exc:
                self._setup_error = ProbeError(Stage.DNS, "no-resolver", str(exc), unknown=True)
            else:
                self._servers = list(system.servers)
                if self.transcript.enabled:
                    unused = f" (not used: {'; '.join(system.ignored)})" if system.ignored else ""
                    self.transcript.event(f"resolvers from {system.source}: {self.servers}{unused}")
        # Questions in flight at once: a burst of hundreds of datagrams overflows a resolver's receive buffer
        # (and dnsmasq refuses more than 150 at once), and every lost one then costs a whole attempt timeout;
        # 64 left a 100-domain run waiting on this bound more than on the resolver (11% slower than 128).
        self._in_flight: asyncio.Semaphore | None = None
        # Questions go over the wire transport (net/dns_wire.py): each attempt waits at most ATTEMPT_SECONDS,
        # so a lost datagram is asked again within the --timeout (the lifetime), as stub resolvers do.

    @property
    def nameservers(self) -> list[tuple[str, int]] | None:
        """The resolvers asked: the given ones, else the system's as read (None when there are none)."""
        return list(self._servers) or None

    @property
    def servers(self) -> str:
        if not self._servers:
            return "none"
        return ", ".join(_server_text(ns) for ns in self._servers)

    async def lookup(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask for ``rdtype`` records of ``name``; raise ProbeError (stage ``dns``) when no answer is had."""
        key = (name.lower().rstrip("."), rdtype.upper())
        return await _asked_once(self._pending, key, lambda: self._query(*key))

    async def query_dnssec(self, name: str, rdtype: str) -> dns.message.Message:
        """The whole response to NAME/RDTYPE asked with the DO bit and checking disabled (CD), so RRSIGs and
        NSEC/NSEC3 proofs come back even from a validating resolver, for mailcheck to validate itself.
        Asked of the configured resolvers in turn over the same transport as every question (over TCP when
        truncated); the first reply of any RCODE is the answer; ProbeError when none answers."""
        key = (name.lower().rstrip("."), rdtype.upper())
        return await _asked_once(self._raw, key, lambda: self._query_dnssec(name, rdtype))

    async def _query_dnssec(self, name: str, rdtype: str) -> dns.message.Message:
        async with self._slots():
            if self.transcript.enabled:
                self.transcript.client(f"DNS {rdtype} {name}? (DO)")
            _, _, reply = await self._ask(name, rdtype, RD | CD, dnssec=True)
        try:
            # the whole message (RRSIGs, NSEC/NSEC3 in the authority section) for the validator
            return dns.message.from_wire(reply.data, ignore_trailing=True)
        except dns.exception.DNSException as exc:
            raise self._failure(name, rdtype, "bad-response", f"malformed answer from the resolver ({exc})") from None

    async def reverse(self, address: str) -> DnsAnswer:
        """The PTR answer for an IP address."""
        return await self.lookup(reverse_name(address), "PTR")

    def _slots(self) -> asyncio.Semaphore:
        """The bound on questions in flight, once the client can ask at all (made inside the running loop)."""
        if self._setup_error is not None:
            raise self._setup_error
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        return self._in_flight

    async def _query(self, name: str, rdtype: str) -> DnsAnswer:
        async with self._slots():
            return await self._resolve(name, rdtype)

    def limit_rate(self, questions_per_second: float | None) -> None:
        """Ask at most this many new questions a second (--dns-rate: be polite to a shared resolver)."""
        self._rate = questions_per_second
        if self._wire is not None:
            self._wire.rate = questions_per_second

    def _transport(self) -> WireTransport:
        if self._wire is None:
            self._wire = WireTransport(self._servers, min(self.timeout, ATTEMPT_SECONDS), self.timeout, self._rate)
        return self._wire

    async def _resolve(self, name: str, rdtype: str) -> DnsAnswer:
        if self.transcript.enabled:
            self.transcript.client(f"DNS {rdtype} {name}?")
        # Ask for the AD bit (RFC 6840 §5.7) so a validating resolver tells us the answer is DNSSEC-secure.
        qname, qtype, reply = await self._ask(name, rdtype, RD | AD)
        try:
            result = self._answer(name, rdtype, qname, qtype, reply)
        except BadReply as exc:
            raise self._failure(name, rdtype, "bad-response", f"malformed answer from the resolver ({exc})") from None
        if self.transcript.enabled:
            if result.nxdomain:
                self.transcript.server(f"DNS {rdtype} {name}: NXDOMAIN")
            else:
                shown = "; ".join(result.texts()) or "no records"
                alias = f" (via CNAME {result.canonical_name})" if result.aliased else ""
                self.transcript.server(f"DNS {rdtype} {name}{alias}: {shown}")
        return result

    async def _ask(self, name: str, rdtype: str, flags: int, dnssec: bool = False) -> tuple[bytes, int, Reply]:
        """NAME/RDTYPE in wire form and the reply to it; ProbeError when it cannot be asked or no resolver
        answers (a SERVFAIL or REFUSED named before silence from another resolver)."""
        try:
            qtype = _type_code(rdtype)
            qname = encode_name(name)
        except (dns.name.NameTooLong, dns.name.LabelTooLong, dns.name.EmptyLabel) as exc:
            raise ProbeError(Stage.DNS, "syntax", f"cannot ask for {name!r}: {exc}") from None
        except (dns.exception.DNSException, ValueError) as exc:
            raise ProbeError(Stage.DNS, "syntax", f"cannot ask for {rdtype} {name!r}: {exc}") from None
        reply, failures = await self._transport().ask(qname, qtype, flags, dnssec)
        if reply is None:
            if not failures:
                raise self._failure(name, rdtype, "timeout", f"no answer within {self.timeout:g}s")
            first = next((f for f in failures if f.kind in ("servfail", "refused")), failures[0])
            raise self._failure(name, rdtype, first.kind, first.reason)
        return qname, qtype, reply

    def _answer(self, name: str, rdtype: str, qname: bytes, qtype: int, reply: Reply) -> DnsAnswer:
        """The records for NAME/RDTYPE in REPLY, following its CNAME chain (a loop is the zone's fault)."""
        current = name_key(qname)
        authenticated = reply.authenticated
        seen: set[bytes] = set()
        for _ in range(MAX_CNAME_HOPS):
            records = reply.records(current, qtype)
            if records:
                return DnsAnswer(name, rdtype, tuple(records), name_text(current), authenticated)
            alias = reply.alias(current)
            if alias is None:
                break
            seen.add(current)
            current = alias
            if current in seen:
                raise self._failure(name, rdtype, "cname-loop", f"the CNAME chain loops at {name_text(current)}")
        else:
            raise self._failure(name, rdtype, "cname-loop", f"the CNAME chain is longer than {MAX_CNAME_HOPS}")
        nxdomain = reply.rcode == NXDOMAIN
        return DnsAnswer(name, rdtype, (), name_text(current), authenticated and not nxdomain, nxdomain=nxdomain)

    def _failure(self, name: str, rdtype: str, kind: str, why: str) -> ProbeError:
        self.transcript.error(f"DNS {rdtype} {name}: {kind}: {why}")
        # A CNAME loop is the zone's own fault, seen for certain; other failures leave the truth unknown.
        message = f"{rdtype} lookup of {name} failed at {self.servers}: {why}"
        return ProbeError(Stage.DNS, kind, message, unknown=kind != "cname-loop")


T = TypeVar("T")


async def _asked_once(
    answers: dict[tuple[str, str], "asyncio.Future[T]"], key: tuple[str, str], ask: Callable[[], Awaitable[T]]
) -> T:
    """Each question once per run, whoever asks it: the first asker asks in its own task (no task per
    question: a many-domain run asks hundreds of thousands); later askers wait for its answer, which stays in
    ANSWERS for the run. If the first asker is cancelled, its question is dropped and the next asker asks
    again; a cancelled waiter does not cancel the question."""
    while True:
        shared = answers.get(key)
        if shared is None:
            shared = answers[key] = asyncio.get_running_loop().create_future()
            try:
                answer = await ask()
            except asyncio.CancelledError:
                del answers[key]
                shared.cancel()
                raise
            except BaseException as exc:
                shared.set_exception(exc)
                shared.exception()  # retrieved here: the asker raises it; no "never retrieved" warning
                raise
            shared.set_result(answer)
            return answer
        if shared.done():
            return shared.result()
        try:
            return await asyncio.shield(shared)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not shared.cancelled() or (task is not None and task.cancelling()):
                raise  # this asker itself is being cancelled
            # the first asker went away before the answer came: ask again


@functools.cache
def _type_code(rdtype: str) -> int:
    """The numeric type of a type name (A, MX, TYPE65, ...); ValueError-like DNSException for an unknown one."""
    return int(dns.rdatatype.from_text(rdtype))


def _server_text(server: tuple[str, int]) -> str:
    address, port = server
    host = f"[{address}]" if ":" in address else address
    return host if port == 53 else f"{host}:{port}"


def sync_resolver(nameservers: Sequence[tuple[str, int]] | None, timeout: float) -> "dns.resolver.Resolver":
    """A blocking resolver configured like :class:`DnsClient`, for libraries that only do synchronous DNS
    (pyspf, dkimpy) and run in worker threads. It never reads the system configuration itself: it asks the
    resolvers the run's :class:`DnsClient` asks (``DnsClient.nameservers``: given, or the system's as read)."""
    import dns.nameserver
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in nameservers or ()]
    resolver.lifetime = timeout
    resolver.timeout = timeout
    resolver.cache = None
    return resolver
