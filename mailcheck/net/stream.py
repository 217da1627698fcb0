"""The line client shared by SMTP, IMAP and POP3: connect, bounded line reads, STARTTLS, implicit TLS.

Every read is bounded in time (``timeout``) and size (``max_line``), so nothing a server sends can hang
mailcheck or exhaust its memory. Failures are ProbeErrors naming the stage they happened in.
"""

import asyncio
import errno
import socket
import ssl
import time

from mailcheck.model import ProbeError, Stage
from mailcheck.net.tls import TlsFacts, handshake_error, tls_facts
from mailcheck.transcript import Transcript

MAX_LINE = 4096


def _connect_error(exc: BaseException, where: str, timeout: float) -> ProbeError:
    if isinstance(exc, TimeoutError):
        return ProbeError(Stage.CONNECT, "timeout", f"no answer to connect to {where} within {timeout:g}s")
    if isinstance(exc, ConnectionRefusedError):
        return ProbeError(Stage.CONNECT, "refused", f"{where} refused the connection (nothing listens there)")
    if isinstance(exc, ConnectionResetError):
        return ProbeError(Stage.CONNECT, "reset", f"{where} reset the connection")
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
        # The machine mailcheck runs on has no route there (most often: no IPv6 route at all). That says
        # nothing about the server: an error of the vantage point, not a failure of the domain.
        family = "IPv6" if where.startswith("[") else "IPv4"
        return ProbeError(
            Stage.CONNECT,
            "no-route",
            f"this machine has no {family} route to {where} ({exc.strerror}): the fault is where mailcheck runs, "
            f"not the server; run from a host with {family} connectivity"
            + (", or give --ipv4" if family == "IPv6" else ""),
            unknown=True,
        )
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
    return ProbeError(Stage.CONNECT, "unreachable", f"cannot connect to {where}: {reason}")


class LineConnection:
    """One TCP connection to a mail server, reading and writing CRLF lines, optionally inside TLS."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: str,
        timeout: float,
        transcript: Transcript,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.timeout = timeout
        self.transcript = transcript
        self.tls: TlsFacts | None = None
        self.discarded_plaintext = 0

    @classmethod
    async def open(
        cls,
        address: str,
        port: int,
        timeout: float,
        transcript: Transcript,
        implicit_tls: ssl.SSLContext | None = None,
        server_name: str | None = None,
    ) -> "LineConnection":
        """Connect to ``address`` (an IP) and, for implicit TLS, do the handshake at once."""
        peer = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(address, port, family=family, limit=MAX_LINE), timeout
            )
        except (OSError, TimeoutError) as exc:
            err = _connect_error(exc, peer, timeout)
            transcript.error(err.message, peer)
            raise err from None
        transcript.event(f"connected to {peer}", peer)
        conn = cls(reader, writer, peer, timeout, transcript)
        if implicit_tls is not None:
            await conn.start_tls(implicit_tls, server_name)
        return conn

    async def read_line(self, stage: Stage, deadline: float | None = None) -> str:
        """One line without its CRLF. Over-long lines, silence past the deadline and EOF are ProbeErrors."""
        remaining = (deadline - time.monotonic()) if deadline is not None else self.timeout
        try:
            raw = await asyncio.wait_for(self.reader.readuntil(b"\n"), max(remaining, 0.001))
        except TimeoutError:
            raise self._error(stage, "timeout", f"no reply from the server within {self.timeout:g}s") from None
        except asyncio.LimitOverrunError:
            raise self._error(stage, "line-too-long", f"the server sent a line longer than {MAX_LINE} bytes") from None
        except asyncio.IncompleteReadError as exc:
            why = "the server closed the connection" + (" mid-line" if exc.partial else "")
            raise self._error(stage, "closed", why) from None
        except (ConnectionError, OSError) as exc:
            raise self._error(stage, "reset", f"connection lost: {exc}") from None
        except ssl.SSLError as exc:
            raise self._error(stage, "tls-error", f"TLS error while reading: {exc.reason or exc}") from None
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        self.transcript.server(line, tls=self.tls is not None, peer=self.peer)
        return line

    async def send_line(self, line: str, stage: Stage, shown: str | None = None) -> None:
        """Send ``line`` + CRLF; ``shown`` replaces it in the transcript (for credentials)."""
        self.transcript.client(shown if shown is not None else line, tls=self.tls is not None, peer=self.peer)
        try:
            self.writer.write(line.encode("utf-8") + b"\r\n")
            await asyncio.wait_for(self.writer.drain(), self.timeout)
        except TimeoutError:
            raise self._error(stage, "timeout", "the server stopped reading") from None
        except (ConnectionError, OSError) as exc:
            raise self._error(stage, "reset", f"connection lost while sending: {exc}") from None

    def discard_buffered(self) -> int:
        """Drop bytes the server sent ahead of a TLS upgrade; they were not protected by TLS.

        A server (or a man in the middle) that pipelines plaintext after its STARTTLS reply could otherwise
        have it read as if it came through TLS (the STARTTLS command-injection class, CVE-2011-0411).
        """
        buffer = getattr(self.reader, "_buffer", None)
        if not buffer:
            return 0
        count = len(buffer)
        buffer.clear()
        self.transcript.error(f"discarded {count} bytes of plaintext sent before the TLS handshake", self.peer)
        return count

    async def start_tls(self, context: ssl.SSLContext, server_name: str | None) -> TlsFacts:
        """Upgrade to TLS (stage ``tls``) and record what was negotiated and the chain the server sent."""
        self.discarded_plaintext += self.discard_buffered()
        self.transcript.event(f"TLS handshake (SNI {server_name or 'none'})", self.peer)
        start = time.monotonic()
        try:
            await asyncio.wait_for(
                self.writer.start_tls(context, server_hostname=server_name, ssl_handshake_timeout=self.timeout),
                self.timeout,
            )
        except TimeoutError:
            raise self._error(Stage.TLS, "timeout", f"TLS handshake did not finish within {self.timeout:g}s") from None
        except (ssl.SSLError, ConnectionError, OSError) as exc:
            err = handshake_error(exc)
            self.transcript.error(err.message, self.peer)
            raise err from None
        ssl_object = self.writer.get_extra_info("ssl_object")
        self.tls = tls_facts(ssl_object, round((time.monotonic() - start) * 1000))
        self.transcript.event(f"TLS {self.tls.version} {self.tls.cipher}", self.peer)
        return self.tls

    def _error(self, stage: Stage, kind: str, message: str) -> ProbeError:
        self.transcript.error(message, self.peer)
        return ProbeError(stage, kind, message)

    async def close(self) -> None:
        try:
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 1)
        except (OSError, TimeoutError, ssl.SSLError):
            pass
