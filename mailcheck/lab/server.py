"""Base for the lab's line-protocol servers (SMTP, IMAP, POP3): loopback only, own event loop in a thread.

A subclass implements :meth:`LabServer.session`; the base accepts connections (optionally with implicit
TLS), gives each a :class:`Peer` and keeps per-connection bounds so a misbehaving client cannot wedge it.
"""

import asyncio
import contextlib
import ssl
import threading
from pathlib import Path
from typing import Self

from mailcheck.lab.pki import Credential

READ_LIMIT = 64 * 1024


def server_context(credential: Credential, directory: Path) -> ssl.SSLContext:
    """A server-side TLS context presenting ``credential`` (written under ``directory``)."""
    cert_path, key_path = credential.write(directory, f"server-{credential.cert.serial_number:x}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # The lab plays weak peers on purpose (1024-bit RSA): allow what OpenSSL's default level refuses.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.load_cert_chain(cert_path, key_path)
    return context


class Peer:
    """The server's side of one client connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, idle: float) -> None:
        self.reader = reader
        self.writer = writer
        self.idle = idle
        self.tls = writer.get_extra_info("ssl_object") is not None

    async def send(self, *lines: str) -> None:
        self.writer.write("".join(f"{line}\r\n" for line in lines).encode())
        await self.writer.drain()

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def readline(self) -> str | None:
        """The next line from the client, or None at EOF, idle timeout or an over-long line."""
        try:
            raw = await asyncio.wait_for(self.reader.readuntil(b"\n"), self.idle)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError, ssl.SSLError):
            return None
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")

    async def start_tls(self, context: ssl.SSLContext, keep_pipelined: bool = False) -> bool:
        """Upgrade to TLS. What the client sent before the handshake is discarded (RFC 3207 §4.2), unless
        KEEP_PIPELINED plays a server vulnerable to STARTTLS command injection (CVE-2011-0411)."""
        if not keep_pipelined:
            self.reader._buffer.clear()  # type: ignore[attr-defined]  # asyncio keeps no public way to drop it
        try:
            await asyncio.wait_for(self.writer.start_tls(context), self.idle)
        except (ssl.SSLError, ConnectionError, OSError, TimeoutError):
            return False
        self.tls = True
        return True


class LabServer:
    """A TCP server on loopback with its own loop thread. ``implicit_tls`` wraps every connection in TLS."""

    name = "lab"

    def __init__(
        self, host: str = "127.0.0.1", implicit_tls: ssl.SSLContext | None = None, idle: float = 30, port: int = 0
    ) -> None:
        self.host = host
        self.port = port
        self.implicit_tls = implicit_tls
        self.idle = idle
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"lab-{self.name}", daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0  # connections accepted so far (tests count a client's sessions with it)

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, ssl=self.implicit_tls, limit=READ_LIMIT
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.sleep(0)

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = Peer(reader, writer, self.idle)
        try:
            await self.session(peer)
        except (ConnectionError, ssl.SSLError, OSError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def session(self, peer: Peer) -> None:
        raise NotImplementedError
