"""The DNS transport under :class:`mailcheck.net.dns.DnsClient`: one persistent UDP socket per resolver, replies
matched to questions by message ID, TCP when an answer is truncated.

A socket per question (dnspython's asyncresolver) costs a socket, an epoll registration and a close for every
query; a many-domain run asks hundreds of thousands. Here each resolver gets one connected datagram endpoint
per run, an ID table maps replies to the waiting question, and the time rules stay the client's: each attempt
waits at most ``attempt`` seconds, every question at most ``lifetime``, a SERVFAIL or REFUSED moves on to the
next resolver, a truncated reply is asked again over TCP.
"""

import asyncio
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.rcode

from mailcheck.net.dns_codec import BadReply, Reply, build_query, name_key, parse_reply

NOERROR, NXDOMAIN = 0, 3

# Transports to close when a run's event loop finishes (runner.run_sync calls close_loop_resources).
_closers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Callable[[], None]]]" = weakref.WeakKeyDictionary()


def close_loop_resources() -> None:
    """Close what this module opened on the running loop (its resolver sockets)."""
    for close in _closers.pop(asyncio.get_running_loop(), []):
        close()


class _Channel(asyncio.DatagramProtocol):
    """One connected UDP socket to one resolver, and the questions waiting on it by ID."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[int, asyncio.Future[bytes]] = {}
        self._random = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        if len(data) < 12:
            return
        future = self.waiting.get(int.from_bytes(data[:2], "big"))
        if future is not None and not future.done():
            future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        # an ICMP error on the connected socket (port unreachable): every waiting question learns it
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(exc or ConnectionError("the resolver socket closed"))

    def free_id(self) -> int:
        """An unpredictable message ID no waiting question has (RFC 5452 §4.3), from a pool of OS randomness
        drawn a few hundred IDs at a time."""
        while True:
            if len(self._random) < 2:
                self._random = os.urandom(512)
            candidate = int.from_bytes(self._random[:2], "big")
            self._random = self._random[2:]
            if candidate not in self.waiting:
                return candidate


@dataclass
class Failure:
    """Why one resolver gave no usable answer: ``servfail``, ``refused``, ``bad-response``, ``unreachable``."""

    kind: str
    reason: str


@dataclass
class WireTransport:
    """The resolvers of one client and their sockets (made inside the running loop, on first use)."""

    servers: list[tuple[str, int]]
    attempt: float
    lifetime: float
    _channels: dict[tuple[str, int], _Channel] = field(default_factory=dict)
    _opening: dict[tuple[str, int], asyncio.Future[_Channel]] = field(default_factory=dict)

    async def _channel(self, server: tuple[str, int]) -> _Channel:
        channel = self._channels.get(server)
        if channel is not None and channel.transport is not None and not channel.transport.is_closing():
            return channel
        opening = self._opening.get(server)
        if opening is None:
            opening = self._opening[server] = asyncio.ensure_future(self._open(server))
        try:
            return await asyncio.shield(opening)
        finally:
            self._opening.pop(server, None)

    async def _open(self, server: tuple[str, int]) -> _Channel:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(_Channel, remote_addr=server)
        self._channels[server] = protocol
        transport = protocol.transport
        assert transport is not None
        _closers.setdefault(loop, []).append(transport.close)
        return protocol

    async def ask(self, qname: bytes, qtype: int, flags: int) -> tuple[Reply | None, list[Failure]]:
        """The first NOERROR/NXDOMAIN reply to QNAME (wire form)/QTYPE from the resolvers in turn, within the
        lifetime; (None, failures) when none gave one (an empty failure list means nothing answered at all: a
        timeout)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lifetime
        failures: dict[tuple[str, int], Failure] = {}
        question = (qname, qtype, flags, name_key(qname))
        while True:
            progressed = False
            for server in self.servers:
                if server in failures:
                    continue  # a definite SERVFAIL/REFUSED is not asked again (as dnspython does)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None, list(failures.values())
                progressed = True
                outcome = await self._attempt(server, question, min(self.attempt, remaining))
                if isinstance(outcome, Reply):
                    return outcome, []
                if outcome is not None:
                    failures[server] = outcome
            if not progressed or len(failures) == len(self.servers):
                return None, list(failures.values())

    async def _attempt(
        self, server: tuple[str, int], question: tuple[bytes, int, int, bytes], wait: float
    ) -> Reply | Failure | None:
        """One question to one resolver: the reply, a Failure, or None when it stayed silent."""
        qname, qtype, flags, key = question
        try:
            channel = await self._channel(server)
        except OSError as exc:
            return Failure("unreachable", f"resolver unreachable ({exc.strerror or exc})")
        qid = channel.free_id()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        channel.waiting[qid] = future
        timer = loop.call_later(wait, _expire, future)
        try:
            assert channel.transport is not None
            channel.transport.sendto(build_query(qid, qname, qtype, flags))
            data = await future
        except TimeoutError:
            return None
        except OSError as exc:
            return Failure("unreachable", f"resolver unreachable ({exc.strerror or exc})")
        finally:
            timer.cancel()
            channel.waiting.pop(qid, None)
        try:
            reply = parse_reply(data)
            if not reply.answers_query(qid, key, qtype):
                return Failure("bad-response", "the resolver answered another question")
            if reply.truncated:
                reply = await _over_tcp(server, build_query(qid, qname, qtype, flags), max(wait, 1.0))
                if not reply.answers_query(qid, key, qtype):
                    return Failure("bad-response", "the resolver answered another question over TCP")
        except BadReply as exc:
            return Failure("bad-response", f"malformed answer from the resolver ({exc})")
        except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError) as exc:
            why = "no answer in time" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
            return Failure("bad-response", f"the truncated answer could not be had over TCP ({why})")
        if reply.rcode in (NOERROR, NXDOMAIN):
            return reply
        text = dns.rcode.to_text(dns.rcode.Rcode.make(reply.rcode))
        kind = {"SERVFAIL": "servfail", "REFUSED": "refused"}.get(text, "bad-response")
        return Failure(kind, f"the resolver answered {text}")


def _expire(future: "asyncio.Future[bytes]") -> None:
    if not future.done():
        future.set_exception(TimeoutError())


async def _over_tcp(server: tuple[str, int], query: bytes, wait: float) -> Reply:
    """QUERY asked again over TCP (RFC 7766 §5: two-octet length, then the message), within WAIT seconds."""
    async with asyncio.timeout(wait):
        reader, writer = await asyncio.open_connection(*server)
        try:
            writer.write(len(query).to_bytes(2, "big") + query)
            size = int.from_bytes(await reader.readexactly(2), "big")
            data = await reader.readexactly(size)
        finally:
            writer.close()
    return parse_reply(data)
