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
import socket
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import dns.rcode

from mailcheck.net.dns_codec import BadReply, Reply, build_query, name_key, parse_reply

NOERROR, NXDOMAIN = 0, 3

# Transports to close when a run's event loop finishes (runner.run_sync calls close_loop_resources).
_closers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Callable[[], None]]]" = weakref.WeakKeyDictionary()


def close_loop_resources() -> None:
    """Close what this module opened on the running loop (its resolver sockets)."""
    for close in _closers.pop(asyncio.get_running_loop(), []):
        close()


class _Channel:
    """One connected UDP socket to one resolver, and the questions waiting on it by ID.

    The socket is read directly from the event loop's reader callback, every datagram that is waiting at
    each wake-up (asyncio's datagram transport reads one per loop iteration, which under a many-domain run's
    hundreds of replies per second costs a poll and a scheduling round for each)."""

    MAX_READS = 64  # datagrams read per wake-up before other callbacks get their turn

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self.sock = sock
        self.loop = loop
        self.waiting: dict[int, asyncio.Future[bytes]] = {}
        self.closed = False
        self._random = b""
        loop.add_reader(sock.fileno(), self._readable)

    def send(self, data: bytes) -> bool:
        """Send DATA if the socket takes it now; False when its buffer is full (then await ``send_later``)."""
        try:
            self.sock.send(data)
        except BlockingIOError:
            return False
        return True

    async def send_later(self, data: bytes) -> None:
        await self.loop.sock_sendall(self.sock, data)

    def _readable(self) -> None:
        for _ in range(self.MAX_READS):
            try:
                data = self.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # an ICMP error on the connected socket (port unreachable): every waiting question learns it
                self._fail(exc)
                return
            if len(data) < 12:
                continue
            future = self.waiting.get(int.from_bytes(data[:2], "big"))
            if future is not None and not future.done():
                future.set_result(data)

    def _fail(self, exc: BaseException) -> None:
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(exc)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self._fail(ConnectionError("the resolver socket closed"))

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


class Question(NamedTuple):
    qname: bytes  # wire form, as asked
    qtype: int
    flags: int
    key: bytes  # the name as replies are compared
    dnssec: bool


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
    rate: float | None = None  # new questions a second at most (None: as fast as the in-flight bound allows)
    _channels: dict[tuple[str, int], _Channel] = field(default_factory=dict)
    _next_question: float = 0.0

    async def _channel(self, server: tuple[str, int]) -> _Channel:
        channel = self._channels.get(server)
        if channel is not None and not channel.closed:
            return channel
        loop = asyncio.get_running_loop()
        # Numeric only (no lookup); getaddrinfo keeps an IPv6 scope (fe80::1%eth0) that a plain tuple loses.
        family, _, _, _, sockaddr = socket.getaddrinfo(
            server[0], server[1], type=socket.SOCK_DGRAM, flags=socket.AI_NUMERICHOST
        )[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.connect(sockaddr)  # UDP connect only sets the peer, it never waits
        except OSError:
            sock.close()
            raise
        channel = self._channels[server] = _Channel(sock, loop)
        _closers.setdefault(loop, []).append(channel.close)
        return channel

    async def ask(
        self, qname: bytes, qtype: int, flags: int, dnssec: bool = False
    ) -> tuple[Reply | None, list[Failure]]:
        """The first NOERROR/NXDOMAIN reply to QNAME (wire form)/QTYPE from the resolvers in turn, within the
        lifetime; (None, failures) when none gave one (an empty failure list means nothing answered at all: a
        timeout). With DNSSEC the DO bit is set and the first reply of any RCODE is the answer (a validator
        judges a SERVFAIL itself)."""
        loop = asyncio.get_running_loop()
        if self.rate is not None:
            await self._pace(loop)
        deadline = loop.time() + self.lifetime  # waiting for a --dns-rate slot is ours, not the resolver's
        failures: dict[tuple[str, int], Failure] = {}
        question = Question(qname, qtype, flags, name_key(qname), dnssec)
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

    async def _pace(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait for this question's turn: turns are 1/rate seconds apart, handed out in order of asking."""
        assert self.rate is not None
        now = loop.time()
        turn = max(now, self._next_question)
        self._next_question = turn + 1 / self.rate
        if turn > now:
            await asyncio.sleep(turn - now)

    async def _attempt(self, server: tuple[str, int], question: "Question", wait: float) -> Reply | Failure | None:
        """One question to one resolver: the reply, a Failure, or None when it stayed silent."""
        qname, qtype, flags, key, dnssec = question
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
            query = build_query(qid, qname, qtype, flags, dnssec_ok=dnssec)
            if not channel.send(query):
                await channel.send_later(query)
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
                reply = await _over_tcp(server, query, max(wait, 1.0))
                if not reply.answers_query(qid, key, qtype):
                    return Failure("bad-response", "the resolver answered another question over TCP")
        except BadReply as exc:
            return Failure("bad-response", f"malformed answer from the resolver ({exc})")
        except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError) as exc:
            why = "no answer in time" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
            return Failure("bad-response", f"the truncated answer could not be had over TCP ({why})")
        if reply.rcode in (NOERROR, NXDOMAIN) or dnssec:
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
