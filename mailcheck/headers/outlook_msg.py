"""Outlook ``.msg`` files: a Compound File Binary container ([MS-CFB]) holding MAPI properties ([MS-OXMSG]).
Outlook keeps the internet headers of a message it received in PidTagTransportMessageHeaders (0x007D); that
property is all ``mailcheck headers`` needs. The container is read with olefile (the ``msg`` extra)."""

import io

from mailcheck.names import BadInput

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# PidTagTransportMessageHeaders as a stream: Unicode (PT_UNICODE, 001F), then 8-bit (PT_STRING8, 001E)
HEADER_STREAMS = (("__substg1.0_007D001F", "utf-16-le"), ("__substg1.0_007D001E", "cp1252"))
MESSAGE_MARK = "__properties_version1.0"  # every .msg has its property stream at the root
MAX_HEADER_BYTES = 8 * 1024 * 1024
EXTRA_NEEDED = "reading Outlook .msg files needs the msg extra: pip install 'mailcheck-cli[msg]'"


def is_outlook_msg(data: bytes) -> bool:
    return data.startswith(OLE_MAGIC)


def internet_headers(data: bytes, source: str) -> bytes:
    """The internet headers Outlook kept in the .msg DATA, as the bytes of a header block; BadInput when the
    extra is missing, the file is damaged, is no message, or carries no internet headers."""
    try:
        import olefile
    except ImportError:
        raise BadInput(EXTRA_NEEDED) from None
    try:
        container = olefile.OleFileIO(io.BytesIO(data))  # (given bytes under 1536, olefile opens a path)
    except Exception as exc:
        raise BadInput(f"{source} looks like an Outlook .msg but cannot be read: {_why(exc)}") from None
    try:
        if not container.exists(MESSAGE_MARK):
            raise BadInput(f"{source} is a Microsoft compound file, but not an Outlook message (.msg)")
        for stream, encoding in HEADER_STREAMS:
            if container.exists(stream):
                raw: bytes = container.openstream(stream).read(MAX_HEADER_BYTES)
                text = raw.decode(encoding, errors="replace").rstrip("\x00")
                if text.strip():
                    return text.encode("utf-8")
    except BadInput:
        raise
    except Exception as exc:
        raise BadInput(f"{source} looks like an Outlook .msg but cannot be read: {_why(exc)}") from None
    finally:
        container.close()
    raise BadInput(
        f"{source} is an Outlook .msg without internet headers: Outlook keeps them only for messages it received "
        "(not for drafts or sent items); in Outlook, open the received message, File > Properties, and paste the "
        "Internet headers instead"
    )


def _why(exc: Exception) -> str:
    text = " ".join(str(exc).split())[:160]
    return text or type(exc).__name__
