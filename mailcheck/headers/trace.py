"""The path a message took, from its trace fields: hops oldest first, delays, skew, continuity, the border
of the receiving organisation, and which Authentication-Results to trust (RFC 8601 §5)."""

import datetime as dt
import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from mailcheck.headers.authresults import AuthResults
from mailcheck.headers.received import ReceivedHop
from mailcheck.names import is_ip_address
from mailcheck.psl import registrable_domain

TLS_ORDER = {"SSL 3.0": 0, "TLS 1.0": 1, "TLS 1.1": 2, "TLS 1.2": 3, "TLS 1.3": 4}


# Providers whose receiving servers and trust headers carry several registrable domains: a message that
# Exchange Online received is stamped by *.outlook.com hosts, mx.microsoft.com (ARC) and
# protection.outlook.com (Received-SPF); Gmail by *.google.com and mx.google.com.
PROVIDER_FAMILIES = (
    frozenset({"outlook.com", "office365.com", "microsoft.com", "exchangelabs.com"}),
    frozenset({"google.com", "gmail.com", "googlemail.com"}),
    frozenset({"protonmail.ch", "proton.me", "protonmail.com", "pm.me"}),
    frozenset({"messagingengine.com", "fastmail.com", "fastmail.fm"}),
)
# Names that only exist inside a site (RFC 6762 .local, RFC 8375 home.arpa, the ICANN-reserved .internal,
# and the common .lan/.localdomain): a hop between such hosts never crossed the Internet.
SITE_SUFFIXES = (".internal", ".local", ".localdomain", ".lan", ".home.arpa")
MICROSOFT = PROVIDER_FAMILIES[0]
# Local delivery into a mailbox store: never a network hop between organisations.
LOCAL_PROTOCOLS = {"lmtp", "lmtps", "lmtpa", "lmtpsa", "local", "qmqp", "uucp"}
# Past this many hops, only the oldest and newest HOP_WINDOW are analysed (a real chain has a few dozen).
MAX_HOPS = 200
HOP_WINDOW = MAX_HOPS // 2


@functools.lru_cache(maxsize=4096)
def org_domain(name: str | None) -> str | None:
    """The registrable domain of a host name (Public Suffix List, offline); None for IPs and bare names."""
    if not name or "." not in name.strip("."):
        return None
    found = registrable_domain(name)
    if found is None and not is_ip_address(name):
        return name.lower().rstrip(".")
    return found


def _single_label(name: str | None) -> bool:
    """A short host name (``mailhost``) or a site-only name (``compute3.internal``): local naming, as
    Dovecot's LMTP, Fastmail's and many internal relays use."""
    if not name:
        return False
    bare = name.lower().strip(".")
    if bare.endswith(SITE_SUFFIXES) or bare == "localhost":
        return True
    return "." not in bare and not is_ip_address(bare.strip("[]"))


# Networks that never cross the Internet: RFC 1918, shared address space (RFC 6598), unique local (RFC 4193).
# Python's is_private also counts the documentation ranges (TEST-NET), which real traces never carry as
# internal networks and header samples use as public addresses, so they are not listed here.
_INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)


def _private(ip: str | None) -> bool:
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if address.is_loopback or address.is_link_local:
        return True
    return any(address.version == n.version and address in n for n in _INTERNAL_NETWORKS)


@dataclass
class Hop:
    number: int  # 1 = the oldest
    received: ReceivedHop
    delay: dt.timedelta | None = None
    skew: dt.timedelta | None = None  # set instead of delay when the clock went backwards
    internal: bool = False  # inside the receiving organisation
    border: bool = False  # where the message entered the receiving organisation
    continuous: bool | None = None  # does our from match the previous hop's by?

    @property
    def encrypted(self) -> bool | None:
        if self.received.tls is not None:
            return True
        protocol = (self.received.protocol or "").lower()
        if protocol in ("smtp", "esmtp", "esmtpa", "lmtp", "utf8smtp", "utf8smtpa"):
            return False
        return None


@dataclass(frozen=True)
class TrustedHeader:
    """An Authentication-Results (or ARC-Authentication-Results) header and whether to believe it: ``rule``
    names what made it trusted (``rfc8601``, ``microsoft-365``, ``arc-receiving-org``), or is None."""

    results: AuthResults
    rule: str | None
    arc_instance: int | None = None

    @property
    def trusted(self) -> bool:
        return self.rule is not None


@dataclass
class Trace:
    hops: list[Hop]
    origin: dt.datetime | None  # the Date header
    receiving_org: str | None
    border: Hop | None
    auth: list[TrustedHeader] = field(default_factory=list)
    arc: list[TrustedHeader] = field(default_factory=list)
    receiving_orgs: frozenset[str] = frozenset()
    omitted: int = 0  # hops left out of the middle of an absurdly long chain
    external: list[Hop] = field(default_factory=list)

    @property
    def total(self) -> dt.timedelta | None:
        dated = [h.received.date for h in self.hops if h.received.date]
        if len(dated) < 2:
            return None
        return dated[-1] - dated[0]

    @property
    def since_date(self) -> dt.timedelta | None:
        last = next((h.received.date for h in reversed(self.hops) if h.received.date), None)
        return last - self.origin if last and self.origin else None

    def external_hops(self) -> list[Hop]:
        """Hops that crossed a network outside the receiving organisation (computed once, when built)."""
        return self.external

    def weakest_external(self) -> Hop | None:
        """The external hop with the weakest transport: no TLS first, then the oldest TLS version."""
        ranked = []
        for hop in self.external:
            if hop.encrypted is False:
                ranked.append((-1, hop))
            elif hop.received.tls is not None and hop.received.tls.version in TLS_ORDER:
                ranked.append((TLS_ORDER[hop.received.tls.version], hop))
        return min(ranked, key=lambda pair: pair[0])[1] if ranked else None


def _same_host(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    if a == b:
        return True
    org_a, org_b = org_domain(a), org_domain(b)
    if org_a is None or org_b is None:
        return False
    # one provider under several domains (Microsoft names a host *.outlook.com in one line, *.office365.com in
    # the next)
    return org_a == org_b or any(org_a in family and org_b in family for family in PROVIDER_FAMILIES)


@dataclass(frozen=True)
class TraceContext:
    """What the rest of the header block says about the trace: where each Received and
    Authentication-Results field stands (index from the top: smaller is newer), the recipients' domains,
    and the ARC-Authentication-Results with their instance numbers."""

    received_positions: tuple[int, ...] = ()
    auth_positions: tuple[int, ...] = ()
    recipient_domains: tuple[str, ...] = ()
    arc: tuple[tuple[int | None, AuthResults], ...] = ()


def _with_families(orgs: Iterable[str]) -> frozenset[str]:
    found = set(orgs)
    for family in PROVIDER_FAMILIES:
        if found & family:
            found |= family
    return frozenset(found)


def _local(hop: Hop) -> bool:
    """Delivery inside one site: LMTP/local protocols, short host names, loopback hand-offs, and hops with
    no sending side at all (``Received: by host with SMTP id ...``: a server handing to itself)."""
    r = hop.received
    return (
        (r.protocol or "").lower() in LOCAL_PROTOCOLS
        or _single_label(r.by)
        or (r.sender_host is None and r.ip is None and r.from_name is None)
        or (
            r.ip is not None
            and _private(r.ip)
            and (r.sender_host is None or _single_label(r.sender_host))
            and not _other_org_helo(r)
        )
    )


def _other_org_helo(r: ReceivedHop, receiving: frozenset[str] = frozenset()) -> bool:
    """Over loopback or a private network, the client named itself as a host of another organisation than the
    receiver ("from mx-a.example (localhost [127.0.0.1]) by mx-b.example"): a hand-off between sites."""
    helo = r.helo or (r.from_name if r.from_name and not is_ip_address(r.from_name.strip("[]")) else None)
    if not _private(r.ip) or _single_label(helo):
        return False
    helo_org, by_org = org_domain(helo), org_domain(r.by)
    return helo_org is not None and by_org is not None and helo_org != by_org and helo_org not in receiving


def _receiving_orgs(hops: list[Hop], recipient_domains: Iterable[str]) -> frozenset[str]:
    """The recipients' domains and the provider that delivered last (the newest hop not local to a site)."""
    orgs = {o for d in recipient_domains if (o := org_domain(d))}
    newest = next((h for h in reversed(hops) if not _local(h) and org_domain(h.received.by)), None)
    if newest is not None:
        orgs.add(org_domain(newest.received.by))  # type: ignore[arg-type]
    return _with_families(orgs)


def _find_border(hops: list[Hop], receiving: frozenset[str]) -> Hop | None:
    """Walk from the newest hop back while the receiving side handled the message; the border is the hop
    that took it in from outside (or the oldest receiving-side hop when none came from outside)."""
    border = None
    for hop in reversed(hops):
        r = hop.received
        by_org = org_domain(r.by)
        if not (_local(hop) or by_org in receiving or (r.by is None and border is not None)):
            break
        hop.internal = True
        border = hop
        sender_org = org_domain(r.sender_host)
        from_inside = (
            _private(r.ip)
            or sender_org in receiving
            or _single_label(r.sender_host)
            or (r.ip is None and sender_org is None)
        ) and not _other_org_helo(r, receiving)
        if not from_inside:
            break
    return border


def _external(hops: list[Hop], border: Hop | None) -> list[Hop]:
    """Hops up to the border that crossed an outside network (sender-side internal hand-offs excluded)."""
    last = next((i + 1 for i, hop in enumerate(hops) if hop is border), len(hops))
    external = []
    for hop in hops[:last]:
        r = hop.received
        sender_org = org_domain(r.sender_host)
        if hop.border:
            external.append(hop)
        elif hop.internal or _local(hop):
            continue
        elif r.ip is None and sender_org is None:
            continue  # no known sending side: a local submission or an internal hand-off
        elif _private(r.ip):
            continue  # loopback and private networks
        elif sender_org is not None and sender_org == org_domain(r.by):
            continue  # a hop inside one organisation
        else:
            external.append(hop)
    return external


def _trust_rule(
    results: AuthResults,
    position: int | None,
    border_position: int | None,
    internal_names: set[str],
    orgs: frozenset[str],
) -> str | None:
    """Which rule, if any, lets us believe this Authentication-Results header."""
    authserv = (results.authserv_id or "").lower()
    if authserv and (authserv in internal_names or org_domain(authserv) in orgs):
        return "rfc8601"  # stamped by a server of the receiving organisation (RFC 8601 §5)
    if (
        not authserv
        and orgs & MICROSOFT
        and position is not None
        and border_position is not None
        and position < border_position
    ):
        # Exchange Online writes its Authentication-Results without an authserv-id, above its own border
        # Received (it also adds Received-SPF with receiver=protection.outlook.com)
        return "microsoft-365"
    return None


def build_trace(
    received: list[ReceivedHop],
    origin: dt.datetime | None,
    auth: list[AuthResults],
    context: TraceContext | None = None,
) -> Trace:
    """``received`` top first (as in the message); the trace runs oldest first. Linear in the hops; past
    MAX_HOPS only the oldest and newest HOP_WINDOW hops are analysed."""
    context = context or TraceContext()
    positions = list(context.received_positions) or list(range(len(received)))
    pairs = list(zip(reversed(received), reversed(positions), strict=False))  # oldest first
    numbers = list(range(1, len(pairs) + 1))
    omitted = 0
    if len(pairs) > MAX_HOPS:
        omitted = len(pairs) - 2 * HOP_WINDOW
        pairs = pairs[:HOP_WINDOW] + pairs[-HOP_WINDOW:]
        numbers = numbers[:HOP_WINDOW] + numbers[-HOP_WINDOW:]
    hops = [Hop(number, r) for number, (r, _) in zip(numbers, pairs, strict=True)]
    position_of = {hop.number: position for hop, (_, position) in zip(hops, pairs, strict=True)}
    previous_date = origin
    for index, hop in enumerate(hops):
        date = hop.received.date
        if date is not None and previous_date is not None and not (omitted and index == HOP_WINDOW):
            gap = date - previous_date
            if gap < dt.timedelta(seconds=-1):
                hop.skew = gap
            else:
                hop.delay = max(gap, dt.timedelta(0))
        if date is not None:
            previous_date = date
        if index > 0 and not (omitted and index == HOP_WINDOW):
            before = hops[index - 1].received
            ours = hop.received
            if before.by and (ours.sender_host or ours.ip):
                names = (ours.sender_host, ours.helo, ours.from_name)  # the name looked up, or the one said
                hop.continuous = any(_same_host(before.by, n) for n in names) or before.by == ours.ip
    recipients = [
        *context.recipient_domains,
        *(h.received.recipient.rpartition("@")[2] for h in hops if h.received.recipient),
    ]
    orgs = _receiving_orgs(hops, recipients)
    border = _find_border(hops, orgs)
    if border is not None:
        border.border = True
    internal_names = {h.received.by.lower() for h in hops if h.internal and h.received.by}
    border_position = position_of.get(border.number) if border is not None else None
    auth_positions = list(context.auth_positions) + [None] * (len(auth) - len(context.auth_positions))
    trusted = [
        TrustedHeader(results, _trust_rule(results, position, border_position, internal_names, orgs))
        for results, position in zip(auth, auth_positions, strict=True)
    ]
    arc = [
        TrustedHeader(results, "arc-receiving-org" if org_domain(results.authserv_id) in orgs else None, instance)
        for instance, results in context.arc
    ]
    newest_org = org_domain(next((h.received.by for h in reversed(hops) if org_domain(h.received.by)), None))
    trace = Trace(hops, origin, newest_org, border, trusted, arc, orgs, omitted)
    trace.external = _external(hops, border)
    return trace


def duration_text(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "unknown"
    seconds = delta.total_seconds()
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds:.0f} s" if seconds >= 10 or seconds == int(seconds) else f"{sign}{seconds:.1f} s"
    if seconds < 3600:
        return f"{sign}{int(seconds // 60)} min {int(seconds % 60)} s"
    if seconds < 86400:
        return f"{sign}{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    return f"{sign}{int(seconds // 86400)} d {int(seconds % 86400 // 3600)} h"
