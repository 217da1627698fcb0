"""Whatever bytes a server sends, the protocol readers return a reply or raise ProbeError: never another
exception, never a hang (property-based, on in-memory streams)."""

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from mailcheck.model import ProbeError, Stage
from mailcheck.net.imap import ImapDialect
from mailcheck.net.pop3 import Pop3Dialect
from mailcheck.net.smtp import read_reply
from mailcheck.net.stream import MAX_LINE, LineConnection
from mailcheck.transcript import Transcript


class _NullWriter:
    def write(self, data: bytes) -> None:
        pass

    async def drain(self) -> None:
        pass


def connection(data: bytes) -> LineConnection:
    reader = asyncio.StreamReader(limit=MAX_LINE)
    reader.feed_data(data)
    reader.feed_eof()
    return LineConnection(reader, _NullWriter(), "hostile:25", 1.0, Transcript())  # type: ignore[arg-type]


def outcome(coroutine_factory, data: bytes) -> object:  # type: ignore[no-untyped-def]
    async def run() -> object:
        try:
            return await asyncio.wait_for(coroutine_factory(connection(data)), 5)
        except ProbeError as err:
            return err

    return asyncio.run(run())


SERVER_BYTES = st.one_of(
    st.binary(max_size=3000),
    st.lists(
        st.sampled_from(
            [
                b"250-",
                b"250 ",
                b"220 ",
                b"* OK ",
                b"+OK ",
                b"-ERR ",
                b"mc1 OK ",
                b"{5}\r\n",
                b"\r\n",
                b"\n",
                b"x" * 50,
                b"\x1b[31m",
                b".",
            ]
        ),
        max_size=60,
    ).map(b"".join),
)


@settings(max_examples=200, deadline=None)
@given(SERVER_BYTES)
def test_smtp_reply_reader(data: bytes) -> None:
    result = outcome(lambda conn: read_reply(conn, Stage.GREETING), data)
    assert isinstance(result, ProbeError) or hasattr(result, "code")


@settings(max_examples=200, deadline=None)
@given(SERVER_BYTES)
def test_imap_greeting_and_capability(data: bytes) -> None:
    async def dialogue(conn: LineConnection) -> object:
        dialect = ImapDialect()
        await dialect.greeting(conn)
        return await dialect.capabilities(conn)

    result = outcome(dialogue, data)
    assert isinstance(result, (ProbeError, tuple))


@settings(max_examples=200, deadline=None)
@given(SERVER_BYTES)
def test_pop3_greeting_and_capa(data: bytes) -> None:
    async def dialogue(conn: LineConnection) -> object:
        dialect = Pop3Dialect()
        await dialect.greeting(conn)
        return await dialect.capabilities(conn)

    result = outcome(dialogue, data)
    assert isinstance(result, (ProbeError, tuple))
