"""A lab HTTPS server (HTTP/1.1, implicit TLS) serving fixed documents, e.g. an MTA-STS policy."""

import asyncio
import ssl
from dataclasses import dataclass, field

from mailcheck.lab.server import LabServer, Peer


@dataclass
class Document:
    body: bytes
    status: int = 200
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)
    trickle: bool = False  # no Content-Length; the body in small pieces, then close


class HttpsLabServer(LabServer):
    name = "https"

    def __init__(
        self, context: ssl.SSLContext, documents: dict[str, Document], host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host=host, implicit_tls=context, port=port)
        self.documents = documents
        self.requests: list[str] = []

    async def session(self, peer: Peer) -> None:
        request = await peer.readline()
        if request is None:
            return
        while await peer.readline() not in (None, ""):
            pass  # request headers: nothing in them changes the answer
        self.requests.append(request)
        parts = request.split(" ")
        document = self.documents.get(parts[1] if len(parts) > 1 else "", Document(b"not found\n", 404))
        reason = {200: "OK", 301: "Moved Permanently", 302: "Found", 404: "Not Found"}.get(document.status, "Status")
        head = [f"HTTP/1.1 {document.status} {reason}", f"Content-Type: {document.content_type}", "Connection: close"]
        if not document.trickle:
            head.append(f"Content-Length: {len(document.body)}")
        head += [f"{k}: {v}" for k, v in document.headers.items()]
        await peer.send_raw(("\r\n".join(head) + "\r\n\r\n").encode())
        step = 7 if document.trickle else max(len(document.body), 1)
        for start in range(0, len(document.body), step):
            await peer.send_raw(document.body[start : start + step])
            if document.trickle:
                await asyncio.sleep(0.01)
