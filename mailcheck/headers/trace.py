"""The path a message took, from its trace fields: hops oldest first, delays, skew, continuity, the border
of the receiving organisation, and which Authentication-Results to trust (RFC 8601 §5)."""

import datetime as dt
import ipaddress
from dataclasses import dataclass, field

from mailcheck.headers.authresults import AuthResults
from mailcheck.headers.received import ReceivedHop
from mailcheck.names import is_ip_address
from mailcheck.psl import registrable_domain

TLS_ORDER = {"SSL 3.0": 0, "TLS 1.0": 1, "TLS 1.1": 2, "TLS 1.2": 3, "TLS 1.3": 4}


def org_domain(name: str | None) -> str | None:
    """The registrable domain of a host name (Public Suffix List, offline); None for IPs and bare names."""
    if not name or "." not in name.strip("."):
        return None
    found = registrable_domain(name)
    if found is None and not is_ip_address(name):
        return name.lower().rstrip(".")
    return found


def _private(ip: str | None) -> bool:
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


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


@dataclass
class Trace:
    hops: list[Hop]
    origin: dt.datetime | None  # the Date header
    receiving_org: str | None
    border: Hop | None
    auth: list[tuple[AuthResults, bool]] = field(default_factory=list)  # (results, trusted)

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
        """Hops that crossed a network outside the receiving organisation (loopback hand-offs excluded)."""
        last = self.border.number if self.border is not None else len(self.hops)
        external = []
        for hop in self.hops[:last]:
            r = hop.received
            sender_org = org_domain(r.sender_host)
            if hop.border:
                external.append(hop)
            elif r.ip is None and sender_org is None:
                continue  # no known sending side: a local submission or an internal hand-off
            elif _private(r.ip):
                continue  # loopback and private networks
            elif sender_org is not None and sender_org == org_domain(r.by):
                continue  # a hop inside one organisation
            else:
                external.append(hop)
        return external

    def weakest_external(self) -> Hop | None:
        """The external hop with the weakest transport: no TLS first, then the oldest TLS version."""
        ranked = []
        for hop in self.external_hops():
            if hop.encrypted is False:
                ranked.append((-1, hop))
            elif hop.received.tls is not None and hop.received.tls.version in TLS_ORDER:
                ranked.append((TLS_ORDER[hop.received.tls.version], hop))
        return min(ranked, key=lambda pair: pair[0])[1] if ranked else None


def _same_host(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    return a == b or (org_domain(a) is not None and org_domain(a) == org_domain(b))


def build_trace(received: list[ReceivedHop], origin: dt.datetime | None, auth: list[AuthResults]) -> Trace:
    """``received`` top first (as in the message); the trace runs oldest first."""
    hops = [Hop(number, r) for number, r in enumerate(reversed(received), start=1)]
    previous_date = origin
    for index, hop in enumerate(hops):
        date = hop.received.date
        if date is not None and previous_date is not None:
            gap = date - previous_date
            if gap < dt.timedelta(seconds=-1):
                hop.skew = gap
            else:
                hop.delay = max(gap, dt.timedelta(0))
        if date is not None:
            previous_date = date
        if index > 0:
            before = hops[index - 1].received
            ours = hop.received
            if before.by and (ours.sender_host or ours.ip):
                hop.continuous = _same_host(before.by, ours.sender_host) or before.by == ours.ip
    receiving_org = org_domain(hops[-1].received.by) if hops else None
    border = None
    for hop in reversed(hops):
        by_org = org_domain(hop.received.by)
        if receiving_org is None or by_org not in (receiving_org, None):
            break
        hop.internal = True
        border = hop
        if hop.received.ip and not _private(hop.received.ip) and org_domain(hop.received.sender_host) != receiving_org:
            break  # the hop that took the message in from outside
    if border is not None:
        border.border = True
    internal_names = {h.received.by.lower() for h in hops if h.internal and h.received.by}
    trusted = []
    for results in auth:
        authserv = (results.authserv_id or "").lower()
        ok = bool(authserv) and (authserv in internal_names or org_domain(authserv) == receiving_org)
        trusted.append((results, ok))
    return Trace(hops, origin, receiving_org, border, trusted)


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
