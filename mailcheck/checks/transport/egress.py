"""Is port 25 open on the way out from here? Most residential ISPs and the large clouds (AWS, Google Cloud, Azure,
many VPS hosts) drop outbound connections to port 25, and then every MX looks dead. When connects to an MX
time out, mailcheck asks once per run whether a reference MX that is known to answer answers from here: if it
does not either, the timeouts are the vantage point's (``egress-blocked``, an ``error``), not the domain's.

References: ``--reference-mx HOST[:PORT]`` (repeatable; env ``MAILCHECK_REFERENCE_MX``, comma-separated), or
by default the MX hosts of a few large providers (:data:`DEFAULT_REFERENCE_DOMAINS`), looked up at run time
through ``--resolver``. Asked lazily: a run whose MX hosts answer never contacts a reference.
"""

import asyncio
from dataclasses import dataclass

from mailcheck.checks.routing.mx import mx_records
from mailcheck.context import ProbeContext
from mailcheck.model import ProbeError, Stage
from mailcheck.names import is_ip_address
from mailcheck.net.dns import DnsAnswer
from mailcheck.net.stream import LineConnection
from mailcheck.runner import attempt

# Providers whose inbound MX hosts answer on port 25 from anywhere that is allowed to reach port 25.
DEFAULT_REFERENCE_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com")


@dataclass(frozen=True)
class EgressVerdict:
    """``reachable``: a reference answered on the port; ``blocked``: every reference reached by DNS timed out
    or was refused too; ``unknown``: no reference could even be looked up (nothing to compare with)."""

    state: str
    port: int
    tried: tuple[str, ...] = ()
    answered: str | None = None

    @property
    def blocked(self) -> bool:
        return self.state == "blocked"


References = tuple[tuple[str, int], ...]  # (host or IP, port; 0 = the port being probed)


async def port_verdict(port: int, references: References, ctx: ProbeContext) -> EgressVerdict:
    """Whether TCP PORT is reachable from here at all, asked of the REFERENCES (empty: the default providers'
    MX hosts) once per run and port."""
    return await ctx.once(("egress", port, references), lambda: _ask_references(port, references, ctx))


async def _ask_references(port: int, references: References, ctx: ProbeContext) -> EgressVerdict:
    if references:
        found = await asyncio.gather(*(_reference_address(host, given or port, ctx) for host, given in references))
    else:
        found = await asyncio.gather(*(_provider_reference(domain, port, ctx) for domain in DEFAULT_REFERENCE_DOMAINS))
    targets = [t for t in found if t]
    if not targets:
        return EgressVerdict("unknown", port)
    outcomes = await asyncio.gather(*(_connects(address, target_port, ctx) for _, address, target_port in targets))
    tried = tuple(f"{label} ({address}:{target_port})" for label, address, target_port in targets)
    for (label, address, target_port), connected in zip(targets, outcomes, strict=True):
        if connected:
            return EgressVerdict("reachable", port, tried, f"{label} ({address}:{target_port})")
    return EgressVerdict("blocked", port, tried)


async def _reference_address(host: str, port: int, ctx: ProbeContext) -> tuple[str, str, int] | None:
    """(label, IP address, port) of one reference host, looked up through the run's resolver; None if it fails."""
    if is_ip_address(host):
        return host, host, port
    answer = await attempt(ctx.dns.lookup(host, "A"))
    if not isinstance(answer, DnsAnswer) or not answer.records:
        return None
    return host, answer.records[0].to_text(), port


async def provider_mx_host(domain: str, ctx: ProbeContext) -> str | None:
    """The most preferred MX host of a large provider's DOMAIN, looked up through the run's resolver."""
    answer = await attempt(ctx.dns.lookup(domain, "MX"))
    if not isinstance(answer, DnsAnswer) or not answer.records:
        return None
    _, host = mx_records(answer)[0]
    return host if host != "." else None


async def _provider_reference(domain: str, port: int, ctx: ProbeContext) -> tuple[str, str, int] | None:
    """The most preferred MX host of a large provider's DOMAIN, as a reference."""
    host = await provider_mx_host(domain, ctx)
    return await _reference_address(host, port, ctx) if host is not None else None


async def _connects(address: str, port: int, ctx: ProbeContext) -> bool:
    """A TCP connection is accepted (then closed at once: nothing is said)."""
    outcome = await attempt(LineConnection.open(address, port, ctx.timeout, ctx.transcript))
    if isinstance(outcome, ProbeError):
        return False
    await outcome.close()
    return True


REFERENCE_MARK = ", and so did the reference MX"


def egress_error(original: ProbeError, verdict: EgressVerdict) -> ProbeError:
    """The connect timeout of an MX, told as the vantage point's fault."""
    references = "; ".join(verdict.tried)
    return ProbeError(
        Stage.CONNECT,
        "egress-blocked",
        f"{original.message}{REFERENCE_MARK} ({references}): this network blocks outbound port "
        f"{verdict.port}, the domain is not at fault; run from a host that can reach port {verdict.port} "
        "(e.g. a VPS with port 25 opened)",
        unknown=True,
    )


def server_down_note(verdict: EgressVerdict) -> str:
    """What a reachable reference adds to an MX's connect timeout: the fault is the server's."""
    return f" (a reference MX, {verdict.answered}, answers on port {verdict.port} from here: the fault is the server's)"
