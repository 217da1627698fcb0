"""Where reports come from: files, directories (Maildir included), stdin, .gz and .zip archives, and the
messages receivers send them in (an .eml, an mbox, a Maildir file). Reports arrive by mail from anyone, so
nothing here trusts its input: every decompression is bounded in size and ratio, a zip's members are read in
memory (nothing is ever written to disk, so no path in an archive can matter), nesting is bounded, and anything
unreadable becomes an :class:`Unreadable` for that file while the rest goes on."""

import email
import email.policy
import io
import os
import re
import sys
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 64 * 1024 * 1024  # one file as read
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # one report once decompressed
MAX_RATIO = 200  # decompressed / compressed, past which an archive is a bomb (real reports compress ~10-40x)
MAX_ZIP_MEMBERS = 16
MAX_DEPTH = 3  # a zip in a message, a gzip in a zip: deeper is not a report
MAX_FILES = 1_000_000
REPORT_TYPES = (
    "application/zip", "application/x-zip-compressed", "application/gzip", "application/x-gzip",
    "application/xml", "text/xml", "application/json", "application/tlsrpt+json", "application/tlsrpt+gzip",
    "application/octet-stream",
)  # fmt: skip
_MBOX_SEPARATOR = re.compile(rb"^From [^\r\n]*\r?\n", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    """One report's bytes, and where it came from (``dir/r.zip!r.xml``, ``mail.eml: google.com!x.zip``)."""

    origin: str
    data: bytes
    kind: str  # "xml", "json" or "arf" (a DMARC failure report message)


@dataclass(frozen=True)
class Unreadable:
    origin: str
    why: str


def documents(sources: list[str]) -> Iterator[Document | Unreadable]:
    """Every report in SOURCES (files, directories walked in name order, ``-`` for stdin), one at a time."""
    seen = 0
    for source in sources:
        for origin, raw in _files(source):
            seen += 1
            if seen > MAX_FILES:
                yield Unreadable(origin, f"more than {MAX_FILES} files: the rest were not read")
                return
            if isinstance(raw, str):
                yield Unreadable(origin, raw)
                continue
            yield from unpack(origin, raw)


def _files(source: str) -> Iterator[tuple[str, bytes | str]]:
    """(origin, bytes) for each file of SOURCE, or (origin, why) when it cannot be read."""
    if source == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        yield "stdin", data if len(data) <= MAX_FILE_BYTES else "larger than 64 MiB"
        return
    path = Path(source)
    if path.is_dir():
        for root, dirs, names in os.walk(path):
            dirs.sort()
            for name in sorted(names):
                yield from _files(str(Path(root) / name))
        return
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            yield source, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
            return
        yield source, path.read_bytes()
    except OSError as exc:
        yield source, f"cannot read it: {exc.strerror or exc}"


def unpack(origin: str, raw: bytes, depth: int = 0) -> Iterator[Document | Unreadable]:
    """The reports inside RAW: itself, or what its gzip, zip or message holds."""
    if depth > MAX_DEPTH:
        yield Unreadable(origin, "nested archives deeper than a report ever is")
        return
    head = raw[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not raw.strip():
        yield Unreadable(origin, "empty file: not a report")
    elif raw[:2] == b"\x1f\x8b":
        data = _gunzip(raw)
        yield from (unpack(origin, data, depth + 1) if isinstance(data, bytes) else [Unreadable(origin, data)])
    elif raw[:4] == b"PK\x03\x04":
        yield from _unzip(origin, raw, depth)
    elif head[:1] == b"<":
        yield Document(origin, raw, "xml")
    elif head[:1] in (b"{", b"["):
        yield Document(origin, raw, "json")
    elif head.startswith(b"From "):
        parts = [p for p in _MBOX_SEPARATOR.split(raw) if p.strip()]
        for index, message in enumerate(parts, 1):
            yield from _attachments(f"{origin} #{index}", message, depth)
    elif re.match(rb"[A-Za-z0-9-]{1,76}:", head):
        yield from _attachments(origin, raw, depth)
    else:
        yield Unreadable(origin, "not a report: neither XML, JSON, gzip, zip nor a message carrying one")


def _gunzip(raw: bytes) -> bytes | str:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, MAX_DOCUMENT_BYTES + 1)
    except zlib.error as exc:
        return f"damaged gzip data ({exc})"
    return _bounded(data, len(raw)) or data


def _bounded(data: bytes, compressed: int) -> str | None:
    """Why DATA, inflated from COMPRESSED bytes, is a decompression bomb, or None."""
    if len(data) > MAX_DOCUMENT_BYTES:
        return f"decompresses to more than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB: a decompression bomb"
    if len(data) > 1024 * 1024 and len(data) > MAX_RATIO * max(compressed, 1):
        return f"decompresses {len(data) // max(compressed, 1)}-fold: a decompression bomb"
    return None


def _unzip(origin: str, raw: bytes, depth: int) -> Iterator[Document | Unreadable]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        yield Unreadable(origin, f"damaged zip archive ({exc})")
        return
    if len(members) > MAX_ZIP_MEMBERS:
        yield Unreadable(origin, f"a zip of {len(members)} files: a report archive holds one")
        return
    for member in members:
        where = f"{origin}!{member.filename[:200]}"
        try:
            with archive.open(member) as handle:
                data = handle.read(MAX_DOCUMENT_BYTES + 1)  # the header's size is not trusted
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError, zlib.error) as exc:
            yield Unreadable(where, f"cannot read this zip member ({exc})")
            continue
        bomb = _bounded(data, member.compress_size)
        yield from ([Unreadable(where, bomb)] if bomb else unpack(where, data, depth + 1))


def _attachments(origin: str, raw: bytes, depth: int) -> Iterator[Document | Unreadable]:
    """The report a receiver's message carries: its attachments, or the message itself when it is a DMARC
    failure report (RFC 6591, multipart/report; report-type=feedback-report)."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the email package raises many kinds on hostile input
        yield Unreadable(origin, f"not a readable message ({type(exc).__name__})")
        return
    if message.get_content_type() == "multipart/report" and message.get_param("report-type") == "feedback-report":
        yield Document(origin, raw, "arf")
        return
    found = False
    for part in message.walk():
        if part.is_multipart():
            continue
        name = part.get_filename() or ""
        kind = part.get_content_type()
        if kind not in REPORT_TYPES and not name.lower().endswith((".xml", ".gz", ".zip", ".json")):
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:  # a broken transfer encoding
            payload = None
        if not isinstance(payload, bytes) or not payload:
            continue
        found = True
        yield from unpack(f"{origin}: {name[:200] or kind}", payload, depth + 1)
    if not found:
        yield Unreadable(origin, "a message without a report attached")
