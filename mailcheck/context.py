"""ProbeContext: what every probe needs from the command line, built once per run."""

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from mailcheck.net.dns import DnsClient
from mailcheck.options import DEFAULT_TIMEOUT
from mailcheck.transcript import Transcript

DEFAULT_CONCURRENCY = 32


@dataclass
class ProbeContext:
    """Resolver, time bound, trust anchors, concurrency limit and transcript sink for one run."""

    dns: DnsClient
    timeout: float = DEFAULT_TIMEOUT
    ca_file: Path | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    transcript: Transcript = field(default_factory=Transcript)
    _limit: asyncio.Semaphore | None = field(default=None, repr=False)

    @property
    def limit(self) -> asyncio.Semaphore:
        """Bounds how many network operations run at once (created inside the running loop)."""
        if self._limit is None:
            self._limit = asyncio.Semaphore(self.concurrency)
        return self._limit

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
