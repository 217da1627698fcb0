"""A minimal HTTPS GET for MTA-STS policies (RFC 8461 §3.3): our resolver, our trust, no redirects followed,
bounded size and time. Built on the shared line client, so it reports stages like every other probe."""

import asyncio
import time
from dataclasses import dataclass, field

from mailcheck.model import ProbeError, Stage
from mailcheck.net.stream import LineConnection
from mailcheck.net.tls import TlsFacts, client_context
from mailcheck.transcript import Transcript

MAX_BODY = 64 * 1024
MAX_HEADER_LINES = 100


@dataclass
class HttpResponse:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    tls: TlsFacts | None = None
    too_large: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


async def https_get(
    address: str, host: str, path: str, timeout: float, transcript: Transcript, port: int = 443
) -> HttpResponse:
    """GET https://host/path from ``address``; the TLS chain is kept for separate verification."""
    conn = await LineConnection.open(address, port, timeout, transcript)
    try:
        tls = await conn.start_tls(client_context(), host)
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mailcheck\r\nAccept: text/plain\r\nConnection: close"
        )
        await conn.send_line(request + "\r\n", Stage.POLICY)
        deadline = time.monotonic() + timeout
        status_line = await conn.read_line(Stage.POLICY, deadline)
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ProbeError(Stage.POLICY, "syntax", f"not an HTTP response: {status_line[:80]!r}")
        response = HttpResponse(int(parts[1]), parts[2] if len(parts) > 2 else "", tls=tls)
        for _ in range(MAX_HEADER_LINES):
            line = await conn.read_line(Stage.POLICY, deadline)
            if not line:
                break
            name, _, value = line.partition(":")
            response.headers[name.strip().lower()] = value.strip()
        response.body, response.too_large = await _read_body(conn, response, deadline)
        return response
    finally:
        await conn.close()


async def _read_body(conn: LineConnection, response: HttpResponse, deadline: float) -> tuple[bytes, bool]:
    remaining = max(deadline - time.monotonic(), 0.001)
    length = response.header("content-length")
    try:
        if "chunked" in (response.header("transfer-encoding") or "").lower():
            return await asyncio.wait_for(_chunked(conn, deadline), remaining)
        if length is not None and length.isdigit():
            if int(length) > MAX_BODY:
                return b"", True
            return await asyncio.wait_for(conn.reader.readexactly(int(length)), remaining), False
        return await asyncio.wait_for(_until_close(conn), remaining)
    except TimeoutError:
        raise ProbeError(Stage.POLICY, "timeout", "the policy body did not arrive within the timeout") from None
    except asyncio.IncompleteReadError:
        raise ProbeError(Stage.POLICY, "closed", "the connection closed before the whole policy arrived") from None


async def _until_close(conn: LineConnection) -> tuple[bytes, bool]:
    """A body delimited by the end of the connection: read to EOF, at most MAX_BODY bytes."""
    body = b""
    while len(body) <= MAX_BODY:
        chunk = await conn.reader.read(MAX_BODY + 1 - len(body))
        if not chunk:
            return body, False
        body += chunk
    return b"", True


async def _chunked(conn: LineConnection, deadline: float) -> tuple[bytes, bool]:
    body = b""
    while True:
        size_line = await conn.read_line(Stage.POLICY, deadline)
        size = int(size_line.split(";")[0].strip() or "0", 16)
        if size == 0:
            return body, False
        if len(body) + size > MAX_BODY:
            return b"", True
        body += await conn.reader.readexactly(size)
        await conn.read_line(Stage.POLICY, deadline)
