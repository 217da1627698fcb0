"""``mailcheck spf DOMAIN``: the SPF record, its include/redirect tree and lookup cost, the policy it states,
and with ``--ip`` the real check_host() result from pyspf, cross-checked with our own evaluation."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from mailcheck.context import ProbeContext
from mailcheck.model import CheckResult, ErrorInfo, ProbeError, Stage, Status, Subject
from mailcheck.names import BadInput, domain_name
from mailcheck.net.dns import DnsAnswer
from mailcheck.records.pyspf_bridge import pyspf_check_host
from mailcheck.records.spf_eval import LOOKUP_LIMIT, VOID_LIMIT, Evaluator, SpfVerdict, spf_texts
from mailcheck.records.spf_record import SpfRecord, parse_spf
from mailcheck.runner import attempt, together

MAX_NODES = 40


@dataclass
class SpfNode:
    """One domain in the include/redirect tree and what its record costs."""

    domain: str
    via: str = ""  # "" for the root, else the term that led here (include:x, redirect=x)
    depth: int = 0
    texts: list[str] = field(default_factory=list)
    record: SpfRecord | None = None
    error: ProbeError | None = None
    nxdomain: bool = False
    loop: bool = False
    children: list["SpfNode"] = field(default_factory=list)
    voids: list[str] = field(default_factory=list)  # names whose lookup found nothing (§4.6.4)
    mx_hosts: int = 0  # MX names behind mx mechanisms: address lookups some receivers also count
    macro_terms: list[str] = field(default_factory=list)

    @property
    def lookups(self) -> int:
        return len(self.record.lookup_terms) if self.record else 0

    def walk(self) -> list["SpfNode"]:
        nodes = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return nodes


@dataclass(frozen=True)
class CheckHostQuery:
    """One SMTP transaction's SPF question: client IP, MAIL FROM ('' for the null sender), HELO name, and
    the domain check_host() is asked about (the MAIL FROM domain, or the HELO name for the null sender)."""

    ip: str
    sender: str
    helo: str
    domain: str

    @classmethod
    def for_transaction(cls, ip: str, sender: str | None, helo: str | None, domain: str | None) -> "CheckHostQuery":
        mail_from = sender if sender is not None else f"postmaster@{domain}"
        helo_name = helo or domain or mail_from.rpartition("@")[2]
        # RFC 7208 §2.4: with a null reverse-path, the MAIL FROM identity is postmaster@HELO
        identity = mail_from.rpartition("@")[2] if mail_from else helo_name
        return cls(ip, mail_from, helo_name, identity)

    @property
    def identity(self) -> str:
        """The full MAIL FROM identity the macros see (RFC 7208 §4.1)."""
        if not self.sender:
            return f"postmaster@{self.helo}"
        local, _, domain = self.sender.rpartition("@")
        return f"{local or 'postmaster'}@{domain}"


def record_domain(query: "CheckHostQuery | None") -> str | None:
    """The domain whose record is reported beside check_host(): the query's domain when it is a well-formed
    name (a malformed one has no record to show: check_host() returns none for it, RFC 7208 §4.3)."""
    if query is None:
        return None
    try:
        return domain_name(query.domain)
    except BadInput:
        return None


@dataclass
class SpfObservation:
    domain: str
    root: SpfNode | None  # None: no record to walk (the sender's domain is malformed)
    truncated: bool = False
    query: CheckHostQuery | None = None
    ours: SpfVerdict | None = None
    pyspf: dict[str, Any] | None = None


# --- probe -------------------------------------------------------------------------------------------------


async def probe(domain: str | None, ctx: ProbeContext, query: CheckHostQuery | None = None) -> SpfObservation:
    """The record tree of DOMAIN (None: none to walk) and, with a query, both engines' check_host()."""
    root = SpfNode(domain) if domain is not None else None
    obs = SpfObservation(domain or (query.domain if query else ""), root, query=query)
    if root is not None:
        await walk(root, ctx, [root.domain], [MAX_NODES], obs)
    if query is not None:
        evaluator = Evaluator(ctx.dns, query.ip, query.identity, query.helo)
        ours, theirs = await asyncio.gather(
            evaluator.check_host(query.domain),
            pyspf_check_host(query.ip, query.sender, query.helo, ctx.dns.nameservers, ctx.timeout),
        )
        obs.ours, obs.pyspf = ours, theirs
    return obs


async def walk(node: SpfNode, ctx: ProbeContext, path: list[str], budget: list[int], obs: SpfObservation) -> None:
    """Fetch the node's record, then (concurrently) its includes, redirect and a/mx targets."""
    budget[0] -= 1
    answer = await attempt(ctx.dns.lookup(node.domain, "TXT"))
    if isinstance(answer, ProbeError):
        node.error = answer
        return
    node.nxdomain = answer.nxdomain
    node.texts = spf_texts(answer)
    if len(node.texts) != 1:
        return
    node.record = parse_spf(node.texts[0])
    tasks = []
    for term in node.record.terms:
        if term.has_macros:
            node.macro_terms.append(term.text)
            continue
        if term.name in ("include", "redirect") and term.domain_spec:
            target = term.domain_spec.lower().rstrip(".")
            child = SpfNode(target, via=term.text, depth=node.depth + 1)
            node.children.append(child)
            if target in path:
                child.loop = True
            elif budget[0] <= 0:
                obs.truncated = True
            else:
                tasks.append(walk(child, ctx, [*path, target], budget, obs))
        elif term.name in ("a", "mx"):
            tasks.append(count_target(node, term.name, (term.domain_spec or node.domain).lower(), ctx))
    await together(*tasks)


async def count_target(node: SpfNode, mechanism: str, name: str, ctx: ProbeContext) -> None:
    """Resolve an a/mx target as a receiver would, to count void lookups and MX host lookups."""
    rdtype = "MX" if mechanism == "mx" else "A"
    answer = await attempt(ctx.dns.lookup(name, rdtype))
    if isinstance(answer, DnsAnswer):
        if not answer.records:
            aaaa = await attempt(ctx.dns.lookup(name, "AAAA")) if mechanism == "a" else None
            if not (isinstance(aaaa, DnsAnswer) and aaaa.records):
                node.voids.append(f"{mechanism}:{name}")
        elif mechanism == "mx":
            node.mx_hosts += len(answer.records)


# --- evaluate ----------------------------------------------------------------------------------------------


def evaluate(obs: SpfObservation) -> list[CheckResult]:
    results = [node_finding(node) for node in obs.root.walk()] if obs.root is not None else []
    if obs.root is not None and obs.root.record is not None and not obs.root.record.problems:
        results.append(lookups_finding(obs))
        results.extend(policy_findings(obs.domain, obs.root.record))
    if obs.query is not None:
        results.append(check_host_finding(obs))
    return results


def node_finding(node: SpfNode) -> CheckResult:
    indent = "  " * node.depth + ("└ " if node.depth else "")
    label = f"{indent}{node.via or node.domain}"
    subject = Subject("spf.record" if not node.via else "spf.include", label, Stage.RECORD)
    where = node.domain
    details: dict[str, Any] = {
        "domain": node.domain,
        "via": node.via or None,
        "depth": node.depth,
        "records": node.texts,
    }
    if node.loop:
        message = f"{node.via} loops back to {where}, already on the include path (permerror)"
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.RECORD, "loop", message))
    if node.error is not None:
        return subject.failed(node.error, node.error.message, details)
    if not node.texts:
        if node.via:
            why = "does not exist" if node.nxdomain else "publishes no SPF record"
            message = (
                f"{where} {why}: {node.via.split(':')[0].split('=')[0]} of it is a permerror (RFC 7208 §5.2, §6.1)"
            )
            return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.RECORD, "permerror", message))
        message = f"{where} publishes no SPF record: receivers get 'none' and cannot tell forged mail apart"
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.RECORD, "not-found", message))
    if len(node.texts) > 1:
        message = f"{where} publishes {len(node.texts)} SPF records: a permerror (RFC 7208 §4.5); merge them into one"
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.RECORD, "multiple-records", message))
    record = node.record
    assert record is not None
    details["record"] = record.text
    details["lookups"] = node.lookups
    if record.problems:
        problems = "; ".join(str(p) for p in record.problems)
        message = f"syntax error in {where}'s SPF record: {problems} (a permerror)"
        details["problems"] = [{"column": p.column, "message": p.message} for p in record.problems]
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.RECORD, "syntax", message))
    extra = f", macros evaluated per message: {' '.join(node.macro_terms)}" if node.macro_terms else ""
    cost = f"{node.lookups} lookup{'s' if node.lookups != 1 else ''}"
    return subject.result(Status.PASS, f"{record.text} ({cost}{extra})", details)


def lookups_finding(obs: SpfObservation) -> CheckResult:
    assert obs.root is not None
    nodes = [n for n in obs.root.walk() if n.record is not None]
    terms = sum(n.lookups for n in nodes)
    with_hosts = terms + sum(n.mx_hosts for n in nodes)
    voids = [v for n in nodes for v in n.voids] + [n.domain for n in obs.root.walk() if n.via and n.nxdomain]
    subject = Subject("spf.lookups", obs.domain, Stage.RECORD)
    details = {
        "dns_lookups": terms,
        "dns_lookups_counting_mx_hosts": with_hosts,
        "limit": LOOKUP_LIMIT,
        "void_lookups": voids,
        "void_limit": VOID_LIMIT,
        "truncated": obs.truncated,
    }
    reading = (
        f"; {with_hosts} if MX host address lookups are counted too, as some receivers do"
        if with_hosts != terms
        else ""
    )
    if terms > LOOKUP_LIMIT:
        message = (
            f"{terms} DNS lookups, over the limit of {LOOKUP_LIMIT} (RFC 7208 §4.6.4): receivers return "
            f"permerror{reading}; flatten includes or drop unused ones"
        )
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.RECORD, "too-many-lookups", message))
    if len(voids) > VOID_LIMIT:
        message = f"{len(voids)} void lookups ({', '.join(voids)}), over the limit of {VOID_LIMIT}: permerror"
        return subject.result(Status.FAIL, message, details, ErrorInfo(Stage.RECORD, "too-many-void-lookups", message))
    if with_hosts > LOOKUP_LIMIT:
        return subject.result(Status.WARN, f"{terms} of {LOOKUP_LIMIT} DNS lookups{reading}: close to failing", details)
    note = f"; void lookups: {', '.join(voids)}" if voids else ""
    return subject.result(Status.PASS, f"{terms} of {LOOKUP_LIMIT} DNS lookups{reading}{note}", details)


def policy_findings(domain: str, record: SpfRecord) -> list[CheckResult]:
    subject = Subject("spf.policy", domain, Stage.RECORD)
    results = []
    all_terms = [t for t in record.mechanisms if t.name == "all"]
    redirect = record.modifier("redirect")
    if all_terms:
        last = all_terms[-1]
        verdicts = {
            "+": (Status.FAIL, "+all lets every host on the Internet send as this domain; end with -all or ~all"),
            "?": (Status.WARN, "?all (neutral) gives receivers no verdict for other hosts; end with -all or ~all"),
            "~": (Status.PASS, "~all: mail from other hosts soft-fails (DMARC decides)"),
            "-": (Status.PASS, "-all: mail from other hosts fails"),
        }
        status, message = verdicts[last.qualifier]
        error = ErrorInfo(Stage.RECORD, "permissive", message) if status is Status.FAIL else None
        results.append(subject.result(status, message, {"all": last.text}, error))
        if redirect is not None:
            results.append(
                subject.result(Status.WARN, f"{redirect.text} is ignored because the record has 'all' (RFC 7208 §6.1)")
            )
    elif redirect is None:
        results.append(
            subject.result(
                Status.WARN,
                "no 'all' and no 'redirect': other hosts get 'neutral' by default; end the record with -all or ~all",
            )
        )
    if any(t.name == "ptr" for t in record.mechanisms):
        results.append(
            subject.result(Status.WARN, "'ptr' is slow, unreliable and deprecated (RFC 7208 §5.5): use ip4/ip6 or a")
        )
    if record.modifier("exp") is not None:
        results.append(subject.result(Status.INFO, "exp= gives an explanation text to rejected senders"))
    return results


CHECK_HOST_STATUS = {
    "pass": Status.PASS,
    "fail": Status.FAIL,
    "softfail": Status.WARN,
    "neutral": Status.WARN,
    "none": Status.WARN,
    "permerror": Status.FAIL,
    "temperror": Status.ERROR,
}


def check_host_finding(obs: SpfObservation) -> CheckResult:
    query = obs.query
    assert query is not None and obs.ours is not None and obs.pyspf is not None
    subject = Subject("spf.check_host", f"{query.ip} for {query.sender}", Stage.RECORD)
    theirs = str(obs.pyspf["result"])
    ours = obs.ours
    details = {
        "ip": query.ip,
        "sender": query.sender,
        "helo": query.helo,
        "pyspf": obs.pyspf,
        "mailcheck": {"result": ours.result, "mechanism": ours.mechanism, "reason": ours.reason},
    }
    matched = f" ({ours.reason})" if ours.reason else ""
    if theirs != ours.result:
        their_stop = obs.pyspf.get("mechanism") or "no mechanism"
        their_why = obs.pyspf.get("explanation") or ""
        our_stop = ours.mechanism or "no mechanism"
        message = (
            f"the engines differ: pyspf says {theirs}, stopping at {their_stop}"
            + (f" ({their_why})" if their_why else "")
            + f"; mailcheck says {ours.result}, stopping at {our_stop} ({ours.reason}). mailcheck's reading "
            "follows RFC 7208 and agrees with the RFC 7208 test suite on every scenario; a receiver running "
            "pyspf would see pyspf's"
        )
        return subject.result(Status.WARN, message, details, ErrorInfo(Stage.RECORD, "engines-differ", message))
    status = CHECK_HOST_STATUS.get(theirs, Status.WARN)
    error = ErrorInfo(Stage.RECORD, theirs, ours.reason) if status in (Status.FAIL, Status.ERROR) else None
    return subject.result(status, f"check_host() = {theirs}{matched}", details, error)
