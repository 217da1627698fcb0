"""An IMAP session opened to work in a mailbox (not to test the server): TLS as asked, login, and the folder
selected — shared by ``roundtrip`` (which reads and deletes its own probe message) and ``reports`` (which reads
report mails without changing anything: EXAMINE, BODY.PEEK)."""

from mailcheck.checks.transport import smtp as smtp_check
from mailcheck.checks.transport.certificate import withheld_reason
from mailcheck.checks.transport.connection import Endpoint, open_transport, resolve_endpoints, upgrade_transport
from mailcheck.context import ProbeContext
from mailcheck.model import ProbeError, Stage
from mailcheck.net import sasl
from mailcheck.net.imap import ImapDialect
from mailcheck.net.sasl import AuthRequest
from mailcheck.net.stream import LineConnection
from mailcheck.net.tls import client_context
from mailcheck.net.trust import trust_store
from mailcheck.secrets import Credentials


def quoted(name: str) -> str:
    """A mailbox name as an IMAP quoted string (RFC 3501 §4.3)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def open_mailbox(
    host: str,
    port: int,
    tls_mode: str,
    credentials: Credentials,
    ctx: ProbeContext,
    select: str,
    insecure: bool = False,
) -> tuple[LineConnection, ImapDialect]:
    """Connect, start TLS (``implicit`` or ``starttls``), check the certificate before the password is sent
    (against the system store and --ca-file; --insecure lets a fault pass), log in and run SELECT
    (``"SELECT INBOX"``, ``'EXAMINE "Reports"'``); ProbeError at the stage that failed."""
    endpoint: Endpoint = (await resolve_endpoints(host, port, (4, 6), ctx))[0]
    session = smtp_check.SessionObservation(endpoint, trust=trust_store(ctx.ca_file))
    tls = client_context()
    conn = await open_transport(session, ctx, tls if tls_mode == "implicit" else None)
    try:
        dialect = ImapDialect()
        greeting = await dialect.greeting(conn)
        if not greeting.ok:
            raise ProbeError(Stage.GREETING, "rejected", f"the IMAP server refused the session: {greeting.text}")
        if tls_mode == "starttls":
            reply = await dialect.starttls(conn)
            if not reply.ok:
                raise ProbeError(Stage.STARTTLS, "rejected", f"STARTTLS refused: {reply}")
            await upgrade_transport(session, conn, tls)
        if not insecure:
            _verified(session)
        capabilities = await dialect.capabilities(conn)
        chain = session.tls.chain_der if session.tls else ()
        binding = sasl.server_end_point(chain[0]) if chain else None
        request = AuthRequest(credentials, binding, endpoint.server_name or endpoint.address, endpoint.port)
        _mechanism, login = await dialect.login(conn, request, capabilities, ctx.transcript)
        if not login.ok:
            raise ProbeError(Stage.AUTH, "auth-failed", f"IMAP login refused: {login}")
        selected = await dialect.command(conn, select, Stage.AUTH)
        if not selected.ok:
            raise ProbeError(Stage.AUTH, "rejected", f"{select.split()[0]} refused: {selected}")
    except BaseException:
        await conn.close()
        raise
    return conn, dialect


def _verified(session: smtp_check.SessionObservation) -> None:
    """ProbeError (certificate) when the server's chain is not trusted for its name: no password goes out."""
    assert session.tls is not None
    endpoint = session.endpoint
    name = endpoint.server_name or endpoint.address
    why = withheld_reason(session.tls.chain_der, name, session.trust, session.checked_at)
    if why is not None:
        raise ProbeError(Stage.CERTIFICATE, "untrusted", why)
