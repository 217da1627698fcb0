"""The one DNS client: every question any subcommand asks goes through :class:`DnsClient`.

Built on ``dns.asyncresolver``. When resolvers are given, the client is created with ``configure=False`` so
no code path can fall back to the system resolver.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rdata
import dns.rdatatype
import dns.resolver
import dns.reversename

from mailcheck.model import ProbeError, Stage
from mailcheck.transcript import Transcript

MAX_IN_FLIGHT = 64
ATTEMPT_SECONDS = 2.0


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
        self.nameservers = list(nameservers) if nameservers else None
        self.transcript = transcript or Transcript()
        self._pending: dict[tuple[str, str], asyncio.Future[DnsAnswer]] = {}
        self._raw: dict[tuple[str, str], asyncio.Future[dns.message.Message]] = {}
        self._resolver: dns.asyncresolver.Resolver | None = None
        self._setup_error: ProbeError | None = None
        if nameservers:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in nameservers]
            self._resolver = resolver
        else:
            try:
                self._resolver = dns.asyncresolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                self._setup_error = ProbeError(
                    Stage.DNS, "no-resolver", "no system resolver configured; give --resolver IP", unknown=True
                )
        # Questions in flight at once: a burst of hundreds of datagrams overflows a resolver's receive buffer,
        # and every lost one then costs a whole attempt timeout.
        self._in_flight: asyncio.Semaphore | None = None
        if self._resolver is not None:
            # Each attempt waits at most ATTEMPT_SECONDS, so a lost datagram is asked again within the
            # --timeout (the lifetime), as stub resolvers do; a slow answer still has that long per attempt.
            self._resolver.timeout = min(timeout, ATTEMPT_SECONDS)
            self._resolver.lifetime = timeout
            self._resolver.cache = None
            # Ask for the AD bit (RFC 6840 §5.7) so a validating resolver tells us the answer is DNSSEC-secure.
            self._resolver.flags = dns.flags.RD | dns.flags.AD
            self._resolver.use_edns(0, 0, 1232)

    @property
    def servers(self) -> str:
        if self._resolver is None:
            return "none"
        return ", ".join(_server_text(ns) for ns in self._resolver.nameservers)

    async def lookup(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask for ``rdtype`` records of ``name``; raise ProbeError (stage ``dns``) when no answer is had."""
        key = (name.lower().rstrip("."), rdtype.upper())
        future = self._pending.get(key)
        if future is None:
            future = asyncio.ensure_future(self._query(*key))
            self._pending[key] = future
        return await asyncio.shield(future)

    async def query_dnssec(self, name: str, rdtype: str) -> dns.message.Message:
        """The whole response to NAME/RDTYPE asked with the DO bit and checking disabled (CD), so RRSIGs and
        NSEC/NSEC3 proofs come back even from a validating resolver, for mailcheck to validate itself.
        Asked of the configured resolvers in turn (over TCP when truncated); ProbeError when none answers."""
        key = (f"dnssec {name.lower().rstrip('.')}", rdtype.upper())
        future = self._raw.get(key)
        if future is None:
            future = asyncio.ensure_future(self._query_dnssec(name, rdtype))
            self._raw[key] = future
        return await asyncio.shield(future)

    async def _query_dnssec(self, name: str, rdtype: str) -> dns.message.Message:
        if self._setup_error is not None:
            raise self._setup_error
        assert self._resolver is not None
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        query = dns.message.make_query(name, rdtype, want_dnssec=True, use_edns=0, payload=1232)
        query.flags |= dns.flags.RD | dns.flags.CD
        self.transcript.client(f"DNS {rdtype} {name}? (DO)")
        last: Exception | None = None
        async with self._in_flight:
            for server in self._resolver.nameservers:
                if not isinstance(server, dns.nameserver.Do53Nameserver):
                    continue
                try:
                    response, _ = await dns.asyncquery.udp_with_fallback(
                        query, server.address, timeout=self.timeout, port=server.port
                    )
                    return response
                except (dns.exception.DNSException, OSError) as exc:
                    last = exc
        raise self._failure(
            name,
            rdtype,
            "timeout" if isinstance(last, dns.exception.Timeout) else "unreachable",
            str(last) if last else "no resolver to ask",
        )

    async def reverse(self, address: str) -> DnsAnswer:
        """The PTR answer for an IP address."""
        return await self.lookup(reverse_name(address), "PTR")

    async def _query(self, name: str, rdtype: str) -> DnsAnswer:
        if self._setup_error is not None:
            raise self._setup_error
        assert self._resolver is not None
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)  # made inside the running loop
        async with self._in_flight:
            return await self._resolve(name, rdtype)

    async def _resolve(self, name: str, rdtype: str) -> DnsAnswer:
        assert self._resolver is not None
        self.transcript.client(f"DNS {rdtype} {name}?")
        try:
            answer = await self._resolver.resolve(name, rdtype, raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN as exc:
            self.transcript.server(f"DNS {rdtype} {name}: NXDOMAIN")
            return DnsAnswer(name, rdtype, (), _plain(exc.canonical_name), nxdomain=True)
        except dns.exception.Timeout:
            raise self._failure(name, rdtype, "timeout", f"no answer within {self.timeout:g}s") from None
        except dns.resolver.NoNameservers as exc:
            kind, why = _classify_server_errors(exc.kwargs.get("errors", []))
            raise self._failure(name, rdtype, kind, why) from None
        except (dns.name.NameTooLong, dns.name.LabelTooLong, dns.name.EmptyLabel) as exc:
            raise ProbeError(Stage.DNS, "syntax", f"cannot ask for {name!r}: {exc}") from None
        except dns.exception.DNSException as exc:
            raise self._failure(name, rdtype, "bad-response", str(exc)) from None
        except OSError as exc:
            raise self._failure(name, rdtype, "unreachable", exc.strerror or str(exc)) from None
        records = tuple(answer.rrset) if answer.rrset is not None else ()
        authenticated = bool(answer.response.flags & dns.flags.AD)
        result = DnsAnswer(name, rdtype, records, _plain(answer.canonical_name), authenticated)
        shown = "; ".join(result.texts()) or "no records"
        alias = f" (via CNAME {result.canonical_name})" if result.aliased else ""
        self.transcript.server(f"DNS {rdtype} {name}{alias}: {shown}")
        return result

    def _failure(self, name: str, rdtype: str, kind: str, why: str) -> ProbeError:
        self.transcript.error(f"DNS {rdtype} {name}: {kind}: {why}")
        # A CNAME loop is the zone's own fault, seen for certain; other failures leave the truth unknown.
        message = f"{rdtype} lookup of {name} failed at {self.servers}: {why}"
        return ProbeError(Stage.DNS, kind, message, unknown=kind != "cname-loop")


def _server_text(server: object) -> str:
    if isinstance(server, dns.nameserver.Do53Nameserver):
        host = f"[{server.address}]" if ":" in server.address else server.address
        return host if server.port == 53 else f"{host}:{server.port}"
    return str(server)


def _classify_server_errors(errors: Sequence[tuple[object, ...]]) -> tuple[str, str]:
    """Turn dnspython's per-server error list into one stable kind and a readable reason."""
    reasons = [err[3] for err in errors if len(err) > 3]
    for rcode, kind in (("SERVFAIL", "servfail"), ("REFUSED", "refused")):
        if rcode in reasons:
            return kind, f"the resolver answered {rcode}"
    for reason in reasons:
        if "CNAME chain" in str(reason):
            return "cname-loop", f"the CNAME chain loops or is too long ({reason})"
        if isinstance(reason, OSError):
            return "unreachable", f"resolver unreachable ({reason.strerror or reason})"
        if isinstance(reason, (dns.exception.FormError, EOFError)):
            return "bad-response", f"malformed answer from the resolver ({reason})"
    if reasons and isinstance(reasons[0], str):
        return "bad-response", f"the resolver answered {reasons[0]}"
    if reasons:
        return "bad-response", f"unusable answer from the resolver ({reasons[0]})"
    return "servfail", "no resolver gave an answer"


def sync_resolver(nameservers: Sequence[tuple[str, int]] | None, timeout: float) -> dns.resolver.Resolver:
    """A blocking resolver configured like :class:`DnsClient`, for libraries that only do synchronous DNS
    (pyspf, dkimpy) and run in worker threads. With ``nameservers`` it never reads the system config."""
    resolver = dns.resolver.Resolver(configure=not nameservers)
    if nameservers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in nameservers]
    resolver.lifetime = timeout
    resolver.timeout = timeout
    resolver.cache = None
    return resolver
