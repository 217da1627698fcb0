"""SASL mechanisms as small state machines, the same for SMTP, IMAP and POP3 (each protocol only carries the
base64 lines): PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195, legacy), SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802,
RFC 7677) with the -PLUS channel binding tls-server-end-point (RFC 5929), XOAUTH2 (Google's and Microsoft's)
and OAUTHBEARER (RFC 7628). A mechanism never sees the network: it is given each server challenge and returns
the next client response, and says which strings are secrets for the transcript to mask."""

import abc
import base64
import hashlib
import hmac
import json
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from mailcheck.secrets import Credentials

# strongest first: what --auth-mech auto picks among the mechanisms both sides have
PASSWORD_ORDER = ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN", "LOGIN",
                  "CRAM-MD5")  # fmt: skip
TOKEN_ORDER = ("OAUTHBEARER", "XOAUTH2")
PLAINTEXT = {"PLAIN", "LOGIN"}  # the password itself crosses the wire (only ever inside TLS)
LEGACY = {"CRAM-MD5": "CRAM-MD5 is legacy (RFC 8314 era servers drop it; it needs the password stored in clear)"}


def legacy_note(mechanism: str) -> str:
    """The clause an accepted MECHANISM's finding ends with when the mechanism is legacy, else ""."""
    return f"; {LEGACY[mechanism]}" if mechanism in LEGACY else ""


class SaslError(Exception):
    """The server's side of the exchange is wrong (a malformed challenge, a SCRAM server signature that does
    not verify): the message says what, in words."""


@dataclass
class Mechanism:
    """One exchange. ``initial()`` is the client's first message (None: wait for an empty challenge);
    ``respond(challenge)`` each next one; ``finish(data)`` checks the server's final data (SCRAM)."""

    name: str
    secrets: list[str] = field(default_factory=list)

    def initial(self) -> bytes | None:
        return None

    def respond(self, challenge: bytes) -> bytes:
        raise SaslError(f"{self.name}: the server sent a challenge this mechanism does not expect")

    def finish(self, data: bytes) -> None:
        return None

    def step(self, challenge: bytes) -> bytes:
        """The response to the next challenge."""
        return self.respond(challenge)

    def error_details(self, challenge: bytes) -> dict[str, object] | None:
        """The server's error, decoded, when a challenge is one (XOAUTH2/OAUTHBEARER send JSON)."""
        return None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Plain(Mechanism):
    def __init__(self, user: str, password: str) -> None:
        super().__init__("PLAIN", [password])
        self.message = f"\0{user}\0{password}".encode()
        self.secrets.append(b64(self.message))

    def initial(self) -> bytes | None:
        return self.message

    def respond(self, challenge: bytes) -> bytes:
        return self.message  # a server that did not take the initial response asks with an empty challenge


class Login(Mechanism):
    def __init__(self, user: str, password: str) -> None:
        super().__init__("LOGIN", [password, b64(password.encode())])
        self.user, self.password, self.asked = user, password, 0

    def respond(self, challenge: bytes) -> bytes:
        self.asked += 1
        asked = challenge.decode("utf-8", "replace").lower()
        if "pass" in asked or self.asked > 1:
            return self.password.encode()
        return self.user.encode()


class CramMd5(Mechanism):
    def __init__(self, user: str, password: str) -> None:
        super().__init__("CRAM-MD5", [password])
        self.user, self.password = user, password

    def respond(self, challenge: bytes) -> bytes:
        digest = hmac.new(self.password.encode(), challenge, hashlib.md5).hexdigest()
        return f"{self.user} {digest}".encode()


def saslname(user: str) -> str:
    """RFC 5802 §5.1: "=" and "," escaped in the user name."""
    return unicodedata.normalize("NFKC", user).replace("=", "=3D").replace(",", "=2C")


class Scram(Mechanism):
    """SCRAM-SHA-1/SHA-256, with -PLUS when given the channel binding data (tls-server-end-point)."""

    def __init__(
        self,
        hash_name: str,
        user: str,
        password: str,
        *,
        channel_binding: bytes | None = None,
        could_bind: bool = False,
        nonce: str | None = None,
    ) -> None:
        digest = {"sha1": "SHA-1", "sha256": "SHA-256"}[hash_name]
        plus = channel_binding is not None
        super().__init__(f"SCRAM-{digest}{'-PLUS' if plus else ''}", [password])
        self.hash_name, self.password = hash_name, unicodedata.normalize("NFKC", password)
        self.nonce = nonce or b64(os.urandom(18))
        # RFC 5802 §6: "p=" binds to the channel; "y" says the client could bind but the server offers no
        # -PLUS (so a man-in-the-middle that strips -PLUS is caught); "n" that it cannot bind (no TLS)
        self.gs2 = "p=tls-server-end-point,," if plus else ("y,," if could_bind else "n,,")
        self.binding = channel_binding or b""
        self.first_bare = f"n={saslname(user)},r={self.nonce}"
        self.server_signature: bytes | None = None
        self.finished = False

    def initial(self) -> bytes | None:
        return (self.gs2 + self.first_bare).encode()

    def step(self, challenge: bytes) -> bytes:
        if self.server_signature is None:
            return self.respond(challenge)
        self.finish(challenge)  # the server-final-message, sent as a last challenge (RFC 4954 §4)
        return b""

    def _hmac(self, key: bytes, message: bytes) -> bytes:
        return hmac.new(key, message, self.hash_name).digest()

    def respond(self, challenge: bytes) -> bytes:
        server_first = challenge.decode("utf-8", "replace")
        fields = dict(part.split("=", 1) for part in server_first.split(",") if "=" in part)
        if "e" in fields:
            raise SaslError(f"{self.name}: the server refused the exchange: {fields['e']}")
        nonce, salt, iterations = fields.get("r", ""), fields.get("s", ""), fields.get("i", "")
        if not nonce.startswith(self.nonce) or not salt or not iterations.isdigit():
            raise SaslError(f"{self.name}: malformed server-first-message {server_first[:80]!r}")
        if not 1 <= int(iterations) <= 1_000_000:
            raise SaslError(f"{self.name}: the server asks for {iterations} iterations (refused: over 1,000,000)")
        salted = hashlib.pbkdf2_hmac(self.hash_name, self.password.encode(), base64.b64decode(salt), int(iterations))
        client_key = self._hmac(salted, b"Client Key")
        stored_key = hashlib.new(self.hash_name, client_key).digest()
        without_proof = f"c={b64(self.gs2.encode() + self.binding)},r={nonce}"
        auth_message = f"{self.first_bare},{server_first},{without_proof}".encode()
        signature = self._hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self.server_signature = self._hmac(self._hmac(salted, b"Server Key"), auth_message)
        return f"{without_proof},p={b64(proof)}".encode()

    def finish(self, data: bytes) -> None:
        """The server-final-message proves the server knew the password (RFC 5802 §3): check it."""
        text = data.decode("utf-8", "replace")
        if text.startswith("e="):
            raise SaslError(f"{self.name}: the server refused the proof: {text[2:]}")
        if self.server_signature is None or not text.startswith("v="):
            raise SaslError(f"{self.name}: no server signature in the final message")
        if not hmac.compare_digest(base64.b64decode(text[2:]), self.server_signature):
            raise SaslError(
                f"{self.name}: the server's signature does not verify: the server does not know the password you "
                "gave, or a man-in-the-middle answered"
            )
        self.finished = True


def _json_error(challenge: bytes) -> dict[str, object] | None:
    try:
        found = json.loads(challenge.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return found if isinstance(found, dict) else None


class Bearer(Mechanism):
    """The OAuth 2.0 mechanisms: one message carrying the token; a challenge after it is the server's JSON
    error, answered with AFTER_ERROR so the server can end the exchange."""

    after_error = b""

    def __init__(self, name: str, message: bytes, token: str) -> None:
        super().__init__(name, [token, b64(message)])
        self.message = message

    def initial(self) -> bytes | None:
        return self.message

    def respond(self, challenge: bytes) -> bytes:
        return self.after_error

    def error_details(self, challenge: bytes) -> dict[str, object] | None:
        return _json_error(challenge)


class XOAuth2(Bearer):
    def __init__(self, user: str, token: str) -> None:
        super().__init__("XOAUTH2", f"user={user}\x01auth=Bearer {token}\x01\x01".encode(), token)


class OAuthBearer(Bearer):
    after_error = b"\x01"  # RFC 7628 §3.2.3: after an error challenge the client sends a dummy kvsep

    def __init__(self, user: str, token: str, host: str, port: int) -> None:
        message = f"n,a={saslname(user)},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"
        super().__init__("OAUTHBEARER", message.encode(), token)


def choose(offered: list[str], wanted: str | None, have_token: bool, have_binding: bool) -> str | None:
    """The mechanism to use: WANTED when the server offers it (or WANTED is unknown to the server: None), else
    the strongest both sides have for the credential given (a token, or a password)."""
    upper = [m.upper() for m in offered]
    if wanted:
        return wanted.upper() if wanted.upper() in upper else None
    order = TOKEN_ORDER if have_token else PASSWORD_ORDER
    return next((m for m in order if m in upper and (have_binding or not m.endswith("-PLUS"))), None)


def make(
    name: str,
    user: str,
    secret: str,
    *,
    host: str = "",
    port: int = 0,
    channel_binding: bytes | None = None,
) -> Mechanism:
    """The mechanism NAME for USER with SECRET (a password, or a token for the OAuth mechanisms)."""
    upper = name.upper()
    if upper in ("SCRAM-SHA-256", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"):
        binding = channel_binding if upper.endswith("-PLUS") else None
        hash_name = "sha256" if "256" in upper else "sha1"
        return Scram(hash_name, user, secret, channel_binding=binding, could_bind=channel_binding is not None)
    factories: dict[str, Callable[[], Mechanism]] = {
        "PLAIN": lambda: Plain(user, secret),
        "LOGIN": lambda: Login(user, secret),
        "CRAM-MD5": lambda: CramMd5(user, secret),
        "XOAUTH2": lambda: XOAuth2(user, secret),
        "OAUTHBEARER": lambda: OAuthBearer(user, secret, host, port),
    }
    if upper not in factories:
        raise SaslError(f"unknown SASL mechanism {name!r} (known: {', '.join((*PASSWORD_ORDER, *TOKEN_ORDER))})")
    return factories[upper]()


@dataclass(frozen=True)
class Turn:
    """The server's answer to one step: a continuation carrying a challenge (base64 text), or the end."""

    challenge: str | None  # None: the exchange ended, ``ok`` says how
    ok: bool
    text: str  # the server's words (the final reply, or the raw continuation)


class Carrier(abc.ABC):
    """How one protocol carries SASL lines: SMTP ``AUTH``/334, IMAP ``AUTHENTICATE``/+, POP3 ``AUTH``/+."""

    @abc.abstractmethod
    async def start(self, name: str, initial: str | None, shown: str) -> Turn: ...

    @abc.abstractmethod
    async def send(self, line: str, shown: str) -> Turn: ...


@dataclass
class Outcome:
    mechanism: str
    ok: bool
    text: str  # the server's final words
    error: dict[str, object] | None = None  # the decoded JSON error of XOAUTH2/OAUTHBEARER
    fault: str | None = None  # a client-side finding: the SCRAM server signature did not verify, …

    def error_note(self) -> str:
        """The clause a rejection's finding ends with when the server sent a JSON error, else ""."""
        return f"; the server's error: {describe_error(self.error)}" if self.error else ""


MAX_ROUNDS = 8


async def exchange(
    mechanism: Mechanism, carrier: Carrier, initial_response: bool, mask: Callable[[str], None]
) -> Outcome:
    """Run MECHANISM over CARRIER (with the initial response on the command line when INITIAL_RESPONSE), every
    secret handed to MASK first so no transcript can show it."""
    for secret in mechanism.secrets:
        mask(secret)
    first = mechanism.initial()
    if first is not None:
        mask(b64(first))
    inline = b64(first) if first is not None and initial_response else None
    turn = await carrier.start(mechanism.name, inline or ("=" if first == b"" and initial_response else None),
                               f"{mechanism.name} ********" if inline else mechanism.name)  # fmt: skip
    pending_initial = first is not None and inline is None
    error: dict[str, object] | None = None
    for _ in range(MAX_ROUNDS):
        if turn.challenge is None:
            break
        try:
            data = base64.b64decode(turn.challenge.strip() or b"", validate=False)
        except ValueError:
            data = turn.challenge.encode()
        if pending_initial:
            response, pending_initial = first or b"", False
        else:
            error = error or mechanism.error_details(data)
            try:
                response = mechanism.step(data)
            except SaslError as refused:
                await carrier.send("*", "*")  # abort the exchange (RFC 4954 §4, RFC 3501 §6.2.2, RFC 5034)
                return Outcome(mechanism.name, False, turn.text, error, str(refused))
        line = b64(response) if response else ""
        if response:
            mask(line)
        turn = await carrier.send(line, "********" if response else "")
    else:
        return Outcome(mechanism.name, False, turn.text, error, f"more than {MAX_ROUNDS} challenges")
    fault: str | None = None
    if turn.ok and isinstance(mechanism, Scram) and mechanism.server_signature is not None and not mechanism.finished:
        fault = f"{mechanism.name}: the server ended without its signature: it was never proven to know the password"
    return Outcome(mechanism.name, turn.ok, turn.text, error, fault)


def server_end_point(certificate_der: bytes) -> bytes | None:
    """The tls-server-end-point channel binding (RFC 5929 §4.1): the server certificate hashed with its
    signature's hash (SHA-256 where that is MD5 or SHA-1); None where the signature names no hash (Ed25519)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
        algorithm = certificate.signature_hash_algorithm
    except (ValueError, x509.UnsupportedGeneralNameType):
        return None
    if algorithm is None:
        return None
    if algorithm.name in ("md5", "sha1"):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(certificate_der)
    return digest.finalize()


def describe_error(error: dict[str, object]) -> str:
    """XOAUTH2/OAUTHBEARER's JSON error in words (RFC 7628 §3.2.2; Google's status codes)."""
    status = str(error.get("status", "?"))
    words = {
        "401": "the token was refused (expired, revoked, or for another user)",
        "400": "the request was malformed",
        "invalid_token": "the token is invalid or expired",
        "invalid_request": "the request was malformed",
        "insufficient_scope": "the token lacks a scope the server requires",
    }.get(status, "")
    shown = json.dumps(error, sort_keys=True)[:300]
    return f"{shown}" + (f" ({words})" if words else "")


@dataclass(frozen=True)
class AuthRequest:
    """What a login needs: the credentials (password or token, and --auth-mech), the TLS channel binding
    data for SCRAM -PLUS, and the server's name and port (OAUTHBEARER sends them)."""

    credentials: Credentials
    binding: bytes | None = None
    host: str = ""
    port: int = 0

    def mechanism(self, offered: list[str], initial_response: bool) -> tuple[str | None, str]:
        """The SASL mechanism to use of OFFERED (None: none fits), and why, in words, when none does."""
        creds = self.credentials
        name = choose(offered, creds.mechanism, creds.token, self.binding is not None)
        if name is not None:
            return name, ""
        wanted = creds.mechanism or ("OAUTHBEARER or XOAUTH2" if creds.token else "a password mechanism")
        return None, f"the server does not offer {wanted} (it offers: {', '.join(offered) or 'no SASL mechanism'})"

    def make(self, name: str) -> Mechanism:
        creds = self.credentials
        return make(name, creds.user, creds.password, host=self.host, port=self.port, channel_binding=self.binding)
