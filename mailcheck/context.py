"""ProbeContext: what every probe needs from the command line, built once per run."""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mailcheck.model import DEFAULT_TIMEOUT
from mailcheck.net.dns import DnsClient
from mailcheck.transcript import Transcript

DEFAULT_CONCURRENCY = 32
DEFAULT_PER_HOST = 2  # sessions to one server address at once: polite to shared provider MX hosts
T = TypeVar("T")


@dataclass
class ProbeContext:
    """Resolver, time bound, trust anchors, concurrency limit and transcript sink for one run."""

    dns: DnsClient
    timeout: float = DEFAULT_TIMEOUT
    ca_file: Path | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    transcript: Transcript = field(default_factory=Transcript)
    per_host: int = DEFAULT_PER_HOST
    _limit: asyncio.Semaphore | None = field(default=None, repr=False)
    _host_gates: dict[str, asyncio.Semaphore] = field(default_factory=dict, repr=False)
    _shared: dict[Hashable, "asyncio.Future[Any]"] = field(default_factory=dict, repr=False)
    extras: dict[str, Any] = field(default_factory=dict, repr=False)  # per-run helpers (the DNSSEC validator)

    @property
    def limit(self) -> asyncio.Semaphore:
        """Bounds how many network operations run at once (created inside the running loop)."""
        if self._limit is None:
            self._limit = asyncio.Semaphore(self.concurrency)
        return self._limit

    def host_gate(self, address: str) -> asyncio.Semaphore:
        """Bounds the sessions to one server address at once, across every domain of the run."""
        gate = self._host_gates.get(address)
        if gate is None:
            gate = self._host_gates[address] = asyncio.Semaphore(self.per_host)
        return gate

    async def once(self, key: Hashable, operation: Callable[[], Awaitable[T]]) -> T:
        """Run OPERATION once per KEY in this run; every later caller gets the same result. Used so a server
        that many domains share (a provider's MX hosts) is probed once, not once per domain."""
        future = self._shared.get(key)
        if future is None:
            future = self._shared[key] = asyncio.ensure_future(operation())
        result: T = await asyncio.shield(future)
        return result

    @classmethod
    def create(
        cls,
        resolvers: list[tuple[str, int]] | None,
        timeout: float = DEFAULT_TIMEOUT,
        ca_file: Path | None = None,
        transcript: Transcript | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> "ProbeContext":
        transcript = transcript or Transcript()
        return cls(
            dns=DnsClient(resolvers, timeout, transcript),
            timeout=timeout,
            ca_file=ca_file,
            concurrency=concurrency,
            transcript=transcript,
        )
