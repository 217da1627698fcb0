"""The protocol transcript shown by ``-v``: client and server lines, TLS events and errors, secrets masked.

Lines are written as they happen (to stderr by default) in swaks' notation: ``->`` client, ``<-`` server,
``~>``/``<~`` inside TLS, ``***`` errors, `` * `` events.
"""

from collections.abc import Callable

from mailcheck.textsafe import printable


class Transcript:
    """A sink for transcript lines; silent unless given a writer."""

    def __init__(self, write: Callable[[str], None] | None = None) -> None:
        self._write = write
        self._secrets: list[str] = []

    @property
    def enabled(self) -> bool:
        """Whether lines go anywhere (callers skip building lines nobody reads)."""
        return self._write is not None

    def add_secret(self, secret: str) -> None:
        """Mask ``secret`` (and anything it appears in) in every later line."""
        if secret:
            self._secrets.append(secret)

    def _emit(self, prefix: str, line: str, peer: str = "") -> None:
        if self._write is None:
            return
        for secret in self._secrets:
            line = line.replace(secret, "********")
        where = f"[{peer}] " if peer else ""
        self._write(f"{where}{prefix} {printable(line)}")

    def client(self, line: str, *, tls: bool = False, peer: str = "") -> None:
        self._emit("~>" if tls else "->", line, peer)

    def server(self, line: str, *, tls: bool = False, peer: str = "") -> None:
        self._emit("<~" if tls else "<-", line, peer)

    def event(self, line: str, peer: str = "") -> None:
        self._emit(" *", line, peer)

    def error(self, line: str, peer: str = "") -> None:
        self._emit("***", line, peer)
