"""Received: fields (RFC 5321 §4.4, RFC 5322 §3.6.7) as they are written in the wild.

Clauses (from, by, via, with, id, for) may come in any order and count only outside comments, which nest
and contain those words too. The from-part is split into HELO name, reverse-DNS name and IP in every common
dialect; TLS facts are normalised from Postfix, Sendmail, Gmail, Exim, Microsoft and IronPort forms.
Nothing here raises: what cannot be read is kept in ``unparsed``.
"""

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass, field

from mailcheck.headers.dates import parse_date, trailing_date

KEYWORDS = ("from", "by", "via", "with", "id", "for")
ENCRYPTED_PROTOCOLS = {"esmtps", "esmtpsa", "lmtps", "lmtpsa", "utf8smtps", "utf8smtpsa", "utf8lmtps", "smtps", "https"}
_HELO = re.compile(r"(?:^|[\s,])(?:HELO|EHLO|LHLO)(?:\s+([^\s,)]*)|\s*$)", re.IGNORECASE)
PROTOCOLS = (
    "ESMTPSA", "ESMTPS", "ESMTPA", "ESMTP", "SMTPS", "SMTP", "LMTPSA", "LMTPS", "LMTPA", "LMTP",
    "UTF8SMTPSA", "UTF8SMTPS", "UTF8SMTPA", "UTF8SMTP", "UTF8LMTPS", "UTF8LMTP", "HTTPS", "HTTP", "IMAP", "POP3",
)  # fmt: skip
_TLS_VERSION = re.compile(r"\b(?:TLS|SSL)v?\s?(\d)[._](\d)\b|\bTLSv?1\b(?![._]\d)", re.IGNORECASE)
_CIPHER_KV = re.compile(r"cipher\s*[=:]\s*([A-Za-z0-9_\-]+)", re.IGNORECASE)
_CIPHER_POSTFIX = re.compile(r"with cipher ([A-Za-z0-9_\-]+)", re.IGNORECASE)
_FIRST_NAME_IS_HELO = re.compile(r"^(?:Postfix|OpenSMTPD)\b|\s(?:Postfix|OpenSMTPD)\b", re.IGNORECASE)
_OPENSMTPD_TLS = re.compile(r"((?:TLS|SSL)v\d(?:\.\d)?):([A-Za-z0-9_\-]+):(\d+):(YES|NO)", re.IGNORECASE)
_EXIM_TLS = re.compile(r"\b(?:TLS|SSL)[-_]?v?(\d(?:[._]\d)?):([A-Za-z0-9_\-]+)")
_COURIER_TLS = re.compile(r"\bTLS:\s*([^,]+),[^,]*,\s*([A-Za-z0-9_\-]+)")
_NO_NAME = ("unknown", "helo", "ehlo", "softdnserr")  # what servers write where a reverse lookup found no name
_IRONPORT = re.compile(r"^ESMTP/TLS/([A-Za-z0-9_\-]+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Token:
    kind: str  # word | comment | literal | angle
    text: str


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "(":
            depth, j = 0, i
            while j < n:
                if text[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
            tokens.append(Token("comment", text[i + 1 : j - 1 if depth == 0 else j].strip()))
            i = j
        elif char == "[":
            j = text.find("]", i)
            j = n if j < 0 else j + 1
            port = re.match(r":\d{1,5}", text[j:])
            if port:
                j += port.end()
            tokens.append(Token("literal", text[i:j]))
            i = j
        elif char == "<":
            j = text.find(">", i)
            j = n if j < 0 else j + 1
            tokens.append(Token("angle", text[i:j]))
            i = j
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "(<":
                if text[j] == "[":
                    close = text.find("]", j)
                    j = n if close < 0 else close + 1
                else:
                    j += 1
            tokens.append(Token("word", text[i:j]))
            i = j
    return tokens


def normalise_ip(text: str) -> tuple[str, int | None] | None:
    """``[IPv6:2001:db8::1]``, ``[192.0.2.1]:25``, ``::ffff:192.0.2.1``, ``fe80::1%eth0`` → (ip, port)."""
    value = text.strip().strip(",;()")
    port = None
    match = re.match(r"^\[(.*)\]:(\d{1,5})$", value)
    if match:
        value, port = match.group(1), int(match.group(2))
    bracketed = value.startswith("[")
    value = value.strip("[]")
    match = re.match(r"^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$", value)
    if match:
        value, port = match.group(1), int(match.group(2))
    match = re.match(r"^(\d{1,3}(?:\.\d{1,3}){3})\.(\d{1,5})$", value) if bracketed else None
    if match:  # Exim 3 writes the client's port as a fifth part: [192.0.2.1.63559]
        value, port = match.group(1), int(match.group(2))
    if value.lower().startswith("ipv6:"):
        value = value[5:]
    value = value.split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip), port


@dataclass(frozen=True)
class TlsInfo:
    version: str | None  # "TLS 1.3"
    cipher: str | None
    source: str  # the dialect it was read from

    def to_dict(self) -> dict[str, object]:
        return {"version": self.version, "cipher": self.cipher, "source": self.source}


def _version(text: str) -> str | None:
    match = _TLS_VERSION.search(text)
    if not match:
        return None
    if match.group(1):
        prefix = "SSL" if match.group(0).upper().startswith("SSL") else "TLS"
        return f"{prefix} {match.group(1)}.{match.group(2)}"
    return "TLS 1.0"


def tls_from(comments: list[str], protocol: str | None, with_words: list[str]) -> TlsInfo | None:
    """TLS facts from any dialect found in the header's comments and its with-clause."""
    for comment in comments:
        if comment.lower().startswith("using ") and "cipher" in comment.lower():
            cipher = _CIPHER_POSTFIX.search(comment)
            return TlsInfo(_version(comment), cipher.group(1) if cipher else None, "postfix")
        if "version=" in comment.lower() and "cipher" in comment.lower():
            cipher = _CIPHER_KV.search(comment)
            dialect = "microsoft" if "," in comment else "sendmail/gmail"
            return TlsInfo(_version(comment), cipher.group(1) if cipher else None, dialect)
        smtpd = _OPENSMTPD_TLS.fullmatch(comment.strip())
        if smtpd:  # OpenSMTPD: version:cipher:bits:verified
            return TlsInfo(_version(smtpd.group(1)), smtpd.group(2), "opensmtpd")
        exim = _EXIM_TLS.search(comment)
        if exim:
            digits = exim.group(1).replace("_", ".")
            return TlsInfo(f"TLS {digits if '.' in digits else digits + '.0'}", exim.group(2), "exim")
        courier = _COURIER_TLS.search(comment)
        if courier:
            return TlsInfo(_version(courier.group(1)), courier.group(2), "courier")
    if any(c.strip() == "TLS" for c in comments) and _microsoft(with_words):
        return TlsInfo(None, None, "microsoft")  # Exchange 2010/2013: "with Microsoft SMTP Server (TLS)"
    if protocol and (iron := _IRONPORT.match(protocol)):
        return TlsInfo(None, iron.group(1), "ironport")
    words = [w.lower() for w in with_words]
    if "tls" in words and words.index("tls") + 1 < len(with_words):
        version = next((_version(c) for c in comments if _version(c)), None)
        return TlsInfo(version, with_words[words.index("tls") + 1], "exim")
    for comment in comments:
        if re.fullmatch(r"(?:TLS|SSL)v?\d(?:[._]\d)?", comment.strip(), re.IGNORECASE):
            return TlsInfo(_version(comment), None, "exim")
    if protocol and protocol.lower() in ENCRYPTED_PROTOCOLS:
        return TlsInfo(None, None, f"with {protocol} (RFC 3848)")
    return None


@dataclass
class ReceivedHop:
    """One Received (or X-Received) field, parsed."""

    raw: str
    header: str = "Received"
    from_name: str | None = None  # the first word of the from-clause (usually the HELO name)
    helo: str | None = None  # a HELO name given separately, e.g. "(HELO x)" or "helo=x"
    rdns: str | None = None
    ip: str | None = None
    port: int | None = None
    ident: str | None = None
    may_be_forged: bool = False
    by: str | None = None
    via: str | None = None
    protocol: str | None = None
    id: str | None = None
    recipient: str | None = None
    tls: TlsInfo | None = None
    date: dt.datetime | None = None
    date_text: str | None = None
    comments: list[str] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)

    @property
    def sender_host(self) -> str | None:
        """The best name for the sending host: reverse DNS, else HELO."""
        return (
            self.rdns or self.helo or (self.from_name if self.from_name and not normalise_ip(self.from_name) else None)
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "header": self.header,
            "from": self.from_name,
            "helo": self.helo,
            "rdns": self.rdns,
            "ip": self.ip,
            "port": self.port,
            "ident": self.ident,
            "may_be_forged": self.may_be_forged,
            "by": self.by,
            "via": self.via,
            "with": self.protocol,
            "id": self.id,
            "for": self.recipient,
            "tls": self.tls.to_dict() if self.tls else None,
            "date": self.date.isoformat() if self.date else None,
            "date_text": self.date_text,
            "unparsed": self.unparsed,
            "raw": self.raw,
        }


def _last_semicolon(text: str) -> int:
    depth = 0
    last = -1
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif char == ";" and depth == 0:
            last = index
    return last


def _read_from_comment(hop: ReceivedHop, comment: str) -> None:
    lowered = comment.lower()
    if "may be forged" in lowered:
        hop.may_be_forged = True
    helo = _HELO.search(comment)
    if helo and helo.group(1):
        hop.helo = helo.group(1)
    for word in comment.replace(",", " ").split():
        key, _, value = word.partition("=")
        if value and key.lower() == "helo":
            hop.helo = value
        elif value and key.lower() == "ident":
            hop.ident = value.strip("[]")
        elif word.upper().startswith("IDENT:"):
            hop.ident = word[6:]
    words = []
    for word in re.split(r"[\s,]+", comment):
        # "name[192.0.2.1]" and "<unknown.domain>[192.0.2.1]": a reverse name glued to its address
        glued = re.match(r"^<?([^\[\]<>]+?)>?(\[[^\]]+\](?::\d+)?)$", word)
        words.extend([glued.group(1), glued.group(2)] if glued else [word] if word else [])
    for index, word in enumerate(words):
        user, at, host = word.rpartition("@")
        candidate = host if at else word
        ip = normalise_ip(candidate)
        if ip is None:
            continue
        if index > 0 and words[index - 1].upper() in ("HELO", "EHLO", "LHLO"):
            continue  # CommuniGate: "(account u@x HELO [10.0.0.1])", what the client said, not what was seen
        if hop.ip is None:
            hop.ip, hop.port = ip
        if at and user and not user.upper().startswith("IDENT:"):
            hop.ident = user
        if index > 0 and not words[index - 1].upper().startswith(("IDENT:", "HELO", "EHLO")):
            name = words[index - 1].rstrip(".").strip("()").strip("<>")  # OpenSMTPD writes "<unknown>"
            if name.lower() not in _NO_NAME and not normalise_ip(name) and "=" not in name:
                hop.rdns = hop.rdns or words[index - 1]
        break


def parse_received(value: str, header: str = "Received") -> ReceivedHop:
    text = " ".join(value.split())
    hop = ReceivedHop(raw=text, header=header)
    cut = _last_semicolon(text)
    clauses_text = text
    if cut >= 0:
        clauses_text, hop.date_text = text[:cut], text[cut + 1 :].strip()
    else:
        split = trailing_date(text)
        if split:
            clauses_text, hop.date_text = split
    if hop.date_text:
        hop.date = parse_date(hop.date_text)
    # Sendmail writes a local submission's from-clause as a comment: "(from user@localhost) by ..."
    opening = re.match(r"^\(\s*(from\s[^()]*)\)", clauses_text, re.IGNORECASE)
    if opening:
        clauses_text = opening.group(1) + clauses_text[opening.end() :]
    current: str | None = None
    values: dict[str, list[Token]] = {}
    for token in tokenize(clauses_text):
        if token.kind == "comment":
            hop.comments.append(token.text)
        if token.kind == "word" and token.text.lower() in KEYWORDS and token.text.lower() not in values:
            current = token.text.lower()
            values[current] = []
            continue
        if current is None:
            if token.kind != "comment":
                hop.unparsed.append(token.text)
            continue
        values[current].append(token)
    _fill(hop, values)
    with_words = [t.text for t in values.get("with", []) if t.kind == "word"]
    hop.tls = tls_from(hop.comments, hop.protocol, with_words)
    if (
        hop.helo is None
        and hop.from_name
        and not normalise_ip(hop.from_name)
        and _FIRST_NAME_IS_HELO.search(" ".join(hop.comments))
    ):
        hop.helo = hop.from_name  # Postfix and OpenSMTPD write "from HELO (rdns [ip])"
    _receiver_view(hop, values.get("from", []), with_words)
    return hop


# Layouts whose first name is the one the receiver looked up, and the client's own (HELO) name comes after it
_SAID_HELO = re.compile(r"^(?:HELO|EHLO|LHLO)(?:\s+(\S*))?$", re.IGNORECASE)  # qmail, GMX, Zimbra: (HELO x)
_BARE_ADDRESS = re.compile(r"^(?:[^@\s\[\]]+@)?[0-9A-Fa-f:.]+$")  # qmail, Critical Path: (1.2.3.4), (user@ip)
_VERIFIED = re.compile(r"^\[[^\]]+\]\s+verified$", re.IGNORECASE)  # CommuniGate: ([ip] verified)
_GLUED = re.compile(r"^from\s+([^\s()]+)\(([0-9A-Fa-f:.]+)\)")  # obtuse smtpd: from rdns(ip)
_CLAIMING = re.compile(r'claiming to be "([^"]*)"', re.IGNORECASE)
_EXIM = re.compile(r"\bExim\b")


def _microsoft(with_words: list[str]) -> bool:
    return "microsoft" in " ".join(with_words).lower()


def _bare_address(comment: str) -> bool:
    """qmail's "(192.0.2.1)" or "(user@192.0.2.1)"; not XMail's "(192.0.2.1:25)", whose first name is the HELO."""
    if not _BARE_ADDRESS.match(comment):
        return False
    ip = normalise_ip(comment.split("@")[-1])
    return ip is not None and ip[1] is None


def _receiver_view(hop: ReceivedHop, tokens: list[Token], with_words: list[str]) -> None:
    """In qmail, Exim, CommuniGate, GMX, Zimbra and obtuse smtpd lines, the first name after "from" is the
    reverse-DNS name the receiver found and the client's HELO is given apart (or equals it when left out):
    file it as ``rdns`` so hop labels and the forged-HELO reasoning use the receiver's view."""
    name = hop.from_name
    if hop.rdns or not name or not tokens or tokens[0].kind != "word":
        return
    comments = [t.text.strip() for t in tokens[1:] if t.kind == "comment"]
    said = next((m for c in comments if (m := _SAID_HELO.match(c))), None)
    if normalise_ip(name) or "." not in name.strip("."):
        # a reverse lookup gives a full name: "DPLAPTOP" or "192.0.2.1" first is no reverse name
        if said is not None and hop.helo is None:
            hop.helo = said.group(1) or ""
        return
    first = comments[0] if comments else ""
    exim = bool(_EXIM.search(" ".join(hop.comments)))
    glued = _GLUED.match(hop.raw)
    if said is not None:
        hop.rdns, hop.helo = name, said.group(1) or ""  # "(HELO )": the client said an empty HELO
    elif glued and glued.group(1) == name:
        claimed = _CLAIMING.search(hop.raw)  # written only when the HELO differs from the name looked up
        hop.rdns, hop.helo = name, claimed.group(1) if claimed else name
    elif exim and first and " " not in first and any(t.kind == "literal" for t in tokens[1:]):
        hop.rdns, hop.helo = name, first  # Exim 3: name (helo) [ip.port]
    elif (
        (first and not _microsoft(with_words) and _bare_address(first))  # qmail, Critical Path: name (ip)
        or _VERIFIED.match(first)  # CommuniGate: name ([ip] verified)
        or (exim and first.startswith("["))  # Exim 4: name ([ip]:port helo=x), a verified host name
    ):
        hop.rdns, hop.helo = name, hop.helo or name  # no HELO written apart: it equalled the name


def _protocol(tokens: list[Token]) -> str | None:
    """The with-clause protocol: its first word, or the protocol name inside a product string
    (``Microsoft SMTPSVC(6.0)``, ``[XMail 1.20 ESMTP Server]``)."""
    plain = [t for t in tokens if t.kind != "comment"]
    if not plain:
        return None
    first = plain[0].text
    if first.upper().split("/")[0] in PROTOCOLS or first.lower().startswith(("local", "esmtp", "smtp", "lmtp")):
        return first
    text = " ".join(t.text for t in plain[:4]).upper()
    if "SMTPSVC" in text:
        return "SMTP"  # Microsoft's "SMTP service" of IIS/Exchange 2003
    for name in PROTOCOLS:
        if re.search(rf"\b{name}\b", text):
            return name
    return first


def _fill(hop: ReceivedHop, values: dict[str, list[Token]]) -> None:
    for clause, tokens in values.items():
        plain = [t for t in tokens if t.kind != "comment"]
        first = plain[0].text if plain else None
        if clause == "from":
            _fill_from(hop, tokens)
        elif clause == "by":
            hop.by = first.strip("[]").rstrip(".,") if first else None
            if first and (ip := normalise_ip(first)):
                hop.by = ip[0]
        elif clause == "via":
            hop.via = first
        elif clause == "with":
            hop.protocol = _protocol(tokens)
        elif clause == "id":
            hop.id = first.rstrip(";").strip("<>") if first else None
        elif clause == "for":
            hop.recipient = first.strip("<>").rstrip(";") if first else None
        for extra in plain[1:] if clause not in ("from",) else []:
            if clause == "with" and extra.text.lower() in ("tls",):
                continue
            if clause == "with" and plain and plain.index(extra) == 2 and plain[1].text.lower() == "tls":
                continue
            hop.unparsed.append(f"{clause}: {extra.text}")


def _fill_from(hop: ReceivedHop, tokens: list[Token]) -> None:
    """The from-part. An address literal right after "from" is the client's HELO; the address the server
    saw (in the comment) wins over it when both are given: ``from [192.168.1.20] (unknown [203.0.113.7])``."""
    helo_ip: tuple[str, int | None] | None = None
    for index, token in enumerate(tokens):
        if token.kind == "comment":
            _read_from_comment(hop, token.text)
        elif token.kind == "literal":
            ip = normalise_ip(token.text)
            if index == 0:
                hop.from_name = ip[0] if ip else token.text
                helo_ip = ip
            elif ip and hop.ip is None:
                hop.ip, hop.port = ip
        elif token.kind == "word":
            if index == 0:
                _user, at, host = token.text.rpartition("@")
                ip = normalise_ip(host if at else token.text)
                hop.from_name = ip[0] if ip else token.text.rstrip(".") if token.text != "." else None
                helo_ip = ip
            elif token.text.lower() not in ("as", "user") and not token.text.startswith(("envelope", "helo=")):
                hop.unparsed.append(f"from: {token.text}")
    if hop.ip is None and helo_ip is not None:
        hop.ip, hop.port = helo_ip
    if hop.from_name is None and hop.ip is not None:
        hop.from_name = hop.ip
