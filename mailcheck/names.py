"""Domain names and resolver addresses as users type them: validated, IDN turned into A-labels."""

import ipaddress

MAX_LABEL_OCTETS = 63
MAX_NAME_OCTETS = 253


class BadInput(ValueError):
    """The user's input cannot be used; the message is one line saying why."""


def _check_ascii_label(label: str, name: str) -> None:
    if not label:
        raise BadInput(f"invalid domain {name!r}: empty label")
    if len(label) > MAX_LABEL_OCTETS:
        raise BadInput(f"invalid domain {name!r}: label {label[:20]}... is {len(label)} octets (at most 63)")
    allowed = all(c.isascii() and (c.isalnum() or c in "-_") for c in label)
    if not allowed:
        raise BadInput(f"invalid domain {name!r}: label {label!r} has characters not allowed in a host name")
    if label.startswith("-") or label.endswith("-"):
        raise BadInput(f"invalid domain {name!r}: label {label!r} starts or ends with a hyphen")
    if label.startswith("xn--"):
        import idna

        try:
            idna.decode(label)
        except (idna.IDNAError, UnicodeError) as exc:
            raise BadInput(f"invalid domain {name!r}: label {label!r} is not valid IDN: {exc}") from None


def domain_name(text: str) -> str:
    """Return ``text`` as a lower-case A-label domain name without the trailing dot, or raise BadInput.

    IDN input (``bücher.example``) is converted with IDNA 2008 / UTS #46, as browsers and mail clients do.
    IP addresses are refused: they are not domains.
    """
    name = text.strip()
    if not name:
        raise BadInput("empty domain name")
    if any(c.isspace() for c in name):
        raise BadInput(f"invalid domain {text!r}: contains white space")
    if name.endswith(".") and name != ".":
        name = name[:-1]
    if name == "." or not name:
        raise BadInput(f"invalid domain {text!r}: the root is not a mail domain")
    if is_ip_address(name.strip("[]")):
        raise BadInput(f"{text!r} is an IP address, not a domain name")
    if not name.isascii():
        import idna

        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise BadInput(f"invalid internationalised domain {text!r}: {exc}") from None
    name = name.lower()
    for label in name.split("."):
        _check_ascii_label(label, text)
    if len(name) > MAX_NAME_OCTETS:
        raise BadInput(f"invalid domain {text!r}: {len(name)} octets long (at most 253)")
    if name.rsplit(".", 1)[-1].isdigit():
        raise BadInput(f"invalid domain {text!r}: the top-level label is all digits")
    return name


def is_ip_address(text: str) -> bool:
    if ":" not in text and not text.replace(".", "").isdigit():
        return False  # neither IPv6 nor dotted IPv4: a host name (most calls), decided without an exception
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_host_port(text: str, default_port: int, what: str) -> tuple[str, int]:
    """Parse ``IP``, ``IP:PORT``, ``[IPv6]:PORT`` or ``IPv6``; raise BadInput naming ``what``."""
    spec = text.strip()
    host, port_text = spec, ""
    if spec.startswith("["):
        host, sep, rest = spec[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise BadInput(f"invalid {what} {text!r}: expected [IPv6]:PORT")
        port_text = rest[1:]
    elif spec.count(":") == 1:
        host, port_text = spec.split(":")
    port = default_port
    if port_text or spec.endswith(":"):
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise BadInput(f"invalid {what} {text!r}: port must be a number from 1 to 65535")
        port = int(port_text)
    return host, port


def resolver_address(text: str) -> tuple[str, int]:
    """Parse a ``--resolver`` value (``IP[:PORT]``, ``[IPv6]:PORT``) into (ip, port); port 53 by default."""
    host, port = parse_host_port(text, 53, "resolver")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise BadInput(f"invalid resolver {text!r}: not an IP address (give IP or IP:PORT)") from None
    return str(ip), port
