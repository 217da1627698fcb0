"""DNS blocklists as RFC 5782 defines them: query names, what an answer means, and the lists we know.

Pure: no DNS here. An IPv4 address is looked up with its octets reversed (``2.0.0.127.zone``), an IPv6
address as 32 reversed nibbles (§2.4), a domain as itself under the list (``example.com.zone``). A listing
is an A record in 127.0.0.0/8, with a TXT record giving the reason. Every list must list its test point
(127.0.0.2, or the name ``test``) and must not list 127.0.0.1 (or ``invalid``), §5, which tells a working
list from a dead or refusing one. Large lists answer queries they refuse (from public resolvers, over quota)
with codes in 127.255.255.0/24 (or, for URIBL, 127.0.0.1): those are "unanswered", never a listing.
"""

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Blocklist:
    """A DNS blocklist zone and what it documents about itself."""

    zone: str
    name: str
    kind: str  # "ip" or "domain"
    terms: str = ""  # who may query it, in brief
    codes: dict[str, str] = field(default_factory=dict)  # return code → meaning
    refusal_codes: frozenset[str] = frozenset()  # codes that mean "query refused", beside 127.255.255.0/24


SPAMHAUS_REFUSED = frozenset({"127.255.255.252", "127.255.255.254", "127.255.255.255"})
DEFAULT_IP_LISTS = (
    Blocklist(
        "zen.spamhaus.org",
        "Spamhaus ZEN",
        "ip",
        "free for low-volume, non-commercial use through your own resolver; public resolvers are refused",
        {
            "127.0.0.2": "SBL: a spam source or spam operation",
            "127.0.0.3": "SBL CSS: a snowshoe spam source",
            "127.0.0.4": "XBL: an exploited or infected host",
            "127.0.0.5": "XBL: an exploited or infected host",
            "127.0.0.6": "XBL: an exploited or infected host",
            "127.0.0.7": "XBL: an exploited or infected host",
            "127.0.0.9": "DROP: a hijacked or criminal network",
            "127.0.0.10": "PBL: a dynamic or end-user address (ISP policy) that should not send mail directly",
            "127.0.0.11": "PBL: an address Spamhaus believes should not send mail directly",
        },
        SPAMHAUS_REFUSED,
    ),
    Blocklist("bl.spamcop.net", "SpamCop", "ip", "free; queries should come from your own resolver"),
    Blocklist(
        "b.barracudacentral.org",
        "Barracuda Reputation Block List",
        "ip",
        "free after registering the querying resolver's address with Barracuda",
    ),
    Blocklist("psbl.surriel.com", "Passive Spam Block List", "ip", "free"),
)
DEFAULT_DOMAIN_LISTS = (
    Blocklist(
        "dbl.spamhaus.org",
        "Spamhaus DBL",
        "domain",
        "free for low-volume, non-commercial use through your own resolver; public resolvers are refused",
        {
            "127.0.1.2": "a spam domain",
            "127.0.1.4": "a phishing domain",
            "127.0.1.5": "a malware domain",
            "127.0.1.6": "a botnet command-and-control domain",
            "127.0.1.102": "an abused legitimate domain used in spam",
            "127.0.1.103": "an abused legitimate redirector or URL shortener",
            "127.0.1.104": "an abused legitimate domain used in phishing",
            "127.0.1.105": "an abused legitimate domain used for malware",
            "127.0.1.106": "an abused legitimate domain used for botnet control",
        },
        SPAMHAUS_REFUSED | {"127.0.1.255"},
    ),
    Blocklist(
        "multi.uribl.com",
        "URIBL",
        "domain",
        "free for low volume through your own resolver; public resolvers get 127.0.0.1 (refused)",
        {"127.0.0.2": "URIBL black", "127.0.0.4": "URIBL grey", "127.0.0.8": "URIBL red"},
        frozenset({"127.0.0.1"}),
    ),
)


IP_TEST_POINTS = ("127.0.0.2", "127.0.0.1")
DOMAIN_TEST_POINTS = ("test", "invalid")


def custom_list(zone: str, kind: str) -> Blocklist:
    """A list the user named with --blocklist/--domain-blocklist: no documented codes."""
    return Blocklist(zone.lower().strip(".").strip(), zone.lower().strip(".").strip(), kind)


def query_name(item: str, zone: str) -> str:
    """The name to look up for an IP address (§2.1, §2.4) or a domain (§3) on ZONE."""
    try:
        address = ipaddress.ip_address(item)
    except ValueError:
        return f"{item.lower().rstrip('.')}.{zone}"
    if isinstance(address, ipaddress.IPv4Address):
        return ".".join(reversed(str(address).split("."))) + f".{zone}"
    return ".".join(reversed(address.exploded.replace(":", ""))) + f".{zone}"


def test_points(blocklist: Blocklist) -> tuple[str, str]:
    """(must be listed, must not be listed) for the list's kind (§5)."""
    return IP_TEST_POINTS if blocklist.kind == "ip" else DOMAIN_TEST_POINTS


@dataclass(frozen=True)
class Answer:
    """What one list said about one item: ``listed``, ``clean``, ``refused`` (unanswered)."""

    state: str
    codes: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()


def interpret(blocklist: Blocklist, addresses: list[str]) -> Answer:
    """The A records a list returned for an item (none: NXDOMAIN or NODATA, not listed)."""
    if not addresses:
        return Answer("clean")
    refused = [a for a in addresses if a in blocklist.refusal_codes or a.startswith("127.255.255.")]
    if refused:
        return Answer("refused", tuple(refused))
    listings = [a for a in addresses if _in_loopback(a)]
    if not listings:
        return Answer("refused", tuple(addresses))  # an answer outside 127/8 is no listing (§2.3): a hijacked zone
    meanings = tuple(blocklist.codes.get(code, f"return code {code}") for code in listings)
    return Answer("listed", tuple(listings), meanings)


def _in_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        return False
