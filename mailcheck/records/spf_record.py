"""The SPF record grammar (RFC 7208 §4.6, §5, §6, §7): parse with positions, validate, expand macros.

Pure functions: no DNS here. Errors carry the 1-based column where the bad term starts, so the report can
point at it.
"""

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass, field

QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
DNS_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")  # count toward the limit of 10 (§4.6.4)
MACRO_LETTERS = set("slodiphv")
EXP_ONLY_LETTERS = set("crt")
_MACRO = re.compile(r"%\{([a-zA-Z])(\d*)(r?)([.\-+,/_=]*)\}|%%|%_|%-|%")
_MODIFIER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9\-_.]*$")
_CIDR = re.compile(r"^(?:/(0|[1-9]\d?\d?))?(?://(0|[1-9]\d?\d?))?$")


@dataclass(frozen=True)
class SpfProblem:
    column: int
    message: str

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}"


@dataclass(frozen=True)
class Term:
    """A directive (qualifier + mechanism) or a modifier, as written."""

    text: str
    column: int
    name: str
    qualifier: str = "+"
    domain_spec: str | None = None
    cidr4: int | None = None
    cidr6: int | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    modifier: bool = False

    @property
    def result(self) -> str:
        return QUALIFIERS[self.qualifier]

    @property
    def costs_lookup(self) -> bool:
        return self.name in DNS_TERMS

    @property
    def has_macros(self) -> bool:
        return self.domain_spec is not None and "%" in self.domain_spec


@dataclass(frozen=True)
class SpfRecord:
    text: str
    terms: tuple[Term, ...] = ()
    problems: tuple[SpfProblem, ...] = field(default=())

    @property
    def mechanisms(self) -> list[Term]:
        return [t for t in self.terms if not t.modifier]

    def modifier(self, name: str) -> Term | None:
        return next((t for t in self.terms if t.modifier and t.name == name), None)

    @property
    def lookup_terms(self) -> list[Term]:
        return [t for t in self.terms if t.costs_lookup]


def is_spf(text: str) -> bool:
    """RFC 7208 §4.5: the record starts with "v=spf1" followed by a space or nothing (case-insensitive)."""
    lowered = text.lower()
    return lowered == "v=spf1" or lowered.startswith("v=spf1 ")


def check_macro_string(text: str, allow_exp_letters: bool = False) -> str | None:
    """None when ``text`` is a valid macro-string (§7.1), else why not."""
    position = 0
    for match in _MACRO.finditer(text):
        literal = text[position : match.start()]
        if any(not 0x21 <= ord(c) <= 0x7E for c in literal):
            return f"character {literal!r} is not allowed in a domain-spec"
        token = match.group(0)
        if token == "%":
            return "a '%' must start a macro (%{x}, %%, %_ or %-)"
        if token.startswith("%{"):
            letter = match.group(1).lower()
            if letter not in MACRO_LETTERS and not (allow_exp_letters and letter in EXP_ONLY_LETTERS):
                return f"unknown macro letter %{{{match.group(1)}}}"
            if match.group(2) and int(match.group(2)) == 0:
                return "a macro transformer of 0 parts is not allowed"
        position = match.end()
    tail = text[position:]
    if any(not 0x21 <= ord(c) <= 0x7E for c in tail):
        return f"character {tail!r} is not allowed in a domain-spec"
    return None


def check_domain_end(spec: str) -> str | None:
    """For a domain-spec without macros: it must end in "." toplabel (§7.1 domain-end)."""
    if "%" in spec:
        return None
    name = spec.rstrip(".")
    labels = name.split(".")
    if len(labels) < 2:
        return f"{spec!r} is not a fully qualified domain name"
    if any(not label or len(label) > 63 for label in labels):
        return f"{spec!r} has an empty or over-long label"
    top = labels[-1]
    if not re.fullmatch(r"[A-Za-z0-9-]+", top) or top.isdigit() or top.startswith("-") or top.endswith("-"):
        return f"{spec!r} does not end in a valid top-level label"
    return None


def _parse_cidr(suffix: str, column: int, problems: list[SpfProblem]) -> tuple[int | None, int | None]:
    match = _CIDR.match(suffix)
    if match is None:
        problems.append(SpfProblem(column, f"bad CIDR length {suffix!r}"))
        return None, None
    cidr4 = int(match.group(1)) if match.group(1) else None
    cidr6 = int(match.group(2)) if match.group(2) else None
    if cidr4 is not None and cidr4 > 32:
        problems.append(SpfProblem(column, f"IPv4 CIDR length /{cidr4} is over 32"))
    if cidr6 is not None and cidr6 > 128:
        problems.append(SpfProblem(column, f"IPv6 CIDR length //{cidr6} is over 128"))
    return cidr4, cidr6


_TRAILING_CIDR = re.compile(r"(.*?)((?:/\d+)?(?://\d+)?)", re.DOTALL)


def _split_domain_and_cidr(argument: str) -> tuple[str, str]:
    """``example.com/24//64`` → (``example.com``, ``/24//64``). Only a trailing dual-cidr-length is split off:
    a domain-spec may itself hold "/" and ":" (§7.1: any visible character but "%"), as in
    ``a:foo:bar/baz.example.com``."""
    match = _TRAILING_CIDR.fullmatch(argument)
    assert match is not None  # every string matches: the domain part can take it all
    return match.group(1), match.group(2)


def parse_term(text: str, column: int, problems: list[SpfProblem]) -> Term | None:
    """One space-separated term."""
    qualifier = "+"
    body = text
    if body[0] in QUALIFIERS:
        qualifier, body = body[0], body[1:]
    name_match = re.match(r"^[A-Za-z][A-Za-z0-9\-_.]*", body)
    name = name_match.group(0).lower() if name_match else ""
    rest = body[len(name) :]
    if rest.startswith("=") and qualifier == "+" and text[0] not in QUALIFIERS and name not in MECHANISMS:
        return _parse_modifier(text, column, name, rest[1:], problems)
    if rest.startswith("=") and name in MECHANISMS:
        problems.append(SpfProblem(column, f"{name!r} is a mechanism: write {name}:..., not {name}=..."))
        return None
    if name not in MECHANISMS:
        problems.append(SpfProblem(column, f"unknown mechanism {text!r}"))
        return None
    argument = rest[1:] if rest.startswith(":") else None
    if rest and not rest.startswith((":", "/")):
        problems.append(SpfProblem(column, f"unexpected {rest!r} after {name!r}"))
        return None
    if name == "all":
        if rest:
            problems.append(SpfProblem(column, "'all' takes no argument"))
        return Term(text, column, name, qualifier)
    if name in ("ip4", "ip6"):
        return _parse_ip(text, column, name, qualifier, argument, problems)
    domain_spec, cidr_text = (None, rest) if argument is None else _split_domain_and_cidr(argument)
    if name in ("include", "exists") and not domain_spec:
        problems.append(SpfProblem(column, f"'{name}' needs a domain ({name}:example.com)"))
        return None
    if argument is not None and not domain_spec:
        problems.append(SpfProblem(column, f"empty domain after '{name}:'"))
        return None
    cidr4 = cidr6 = None
    if cidr_text:
        if name not in ("a", "mx"):
            problems.append(SpfProblem(column, f"'{name}' takes no CIDR length"))
            return None
        cidr4, cidr6 = _parse_cidr(cidr_text, column, problems)
    if domain_spec is not None:
        why = check_macro_string(domain_spec) or check_domain_end(domain_spec)
        if why:
            problems.append(SpfProblem(column, why))
            return None
    return Term(text, column, name, qualifier, domain_spec, cidr4, cidr6)


def _parse_ip(
    text: str, column: int, name: str, qualifier: str, argument: str | None, problems: list[SpfProblem]
) -> Term | None:
    if not argument:
        problems.append(SpfProblem(column, f"'{name}' needs a network ({name}:192.0.2.0/24)"))
        return None
    address, _, prefix = argument.partition("/")
    limit = 32 if name == "ip4" else 128
    if prefix and (not prefix.isdigit() or (len(prefix) > 1 and prefix.startswith("0"))):
        problems.append(SpfProblem(column, f"bad CIDR length /{prefix}"))
        return None
    if prefix and int(prefix) > limit:
        problems.append(SpfProblem(column, f"CIDR length /{prefix} is over {limit} for {name}"))
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        problems.append(SpfProblem(column, f"{address!r} is not an IP address"))
        return None
    if (ip.version == 4) != (name == "ip4"):
        problems.append(SpfProblem(column, f"{address} is not an IPv{4 if name == 'ip4' else 6} address"))
        return None
    network = ipaddress.ip_network(f"{address}/{prefix or limit}", strict=False)
    return Term(text, column, name, qualifier, network=network)


def _parse_modifier(text: str, column: int, name: str, value: str, problems: list[SpfProblem]) -> Term | None:
    if not _MODIFIER_NAME.match(name):
        problems.append(SpfProblem(column, f"bad modifier name in {text!r}"))
        return None
    if name in ("redirect", "exp"):
        why = (
            "empty domain"
            if not value
            else check_macro_string(value, allow_exp_letters=False) or check_domain_end(value)
        )
        if why:
            problems.append(SpfProblem(column, f"{name}=: {why}"))
            return None
    else:
        # §A: unknown-modifier = name "=" macro-string; a value that is no macro-string is a permerror
        why = check_macro_string(value, allow_exp_letters=True)
        if why:
            problems.append(SpfProblem(column, f"{name}=: {why}"))
            return None
    return Term(text, column, name, domain_spec=value, modifier=True)


def parse_spf(text: str) -> SpfRecord:
    """Parse a whole record (which starts with v=spf1); problems make it a permerror (§4.6)."""
    problems: list[SpfProblem] = []
    terms: list[Term] = []
    if not is_spf(text):
        return SpfRecord(text, (), (SpfProblem(1, "the record does not start with 'v=spf1'"),))
    for match in re.finditer(r"[^ ]+", text[6:]):
        term = parse_term(match.group(0), match.start() + 7, problems)
        if term is not None:
            terms.append(term)
    for name in ("redirect", "exp"):
        found = [t for t in terms if t.modifier and t.name == name]
        if len(found) > 1:
            problems.append(SpfProblem(found[1].column, f"'{name}=' appears more than once"))
    return SpfRecord(text, tuple(terms), tuple(problems))


# --- macro expansion (§7.3) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MacroContext:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    sender: str
    domain: str
    helo: str
    validated_name: str = "unknown"  # %{p}: filled in by the evaluator only when a term asks for it

    def letter(self, letter: str) -> str:
        local, _, sender_domain = self.sender.rpartition("@")
        values = {
            "s": self.sender,
            "l": local or "postmaster",
            "o": sender_domain,
            "d": self.domain,
            "i": ".".join(self.ip.exploded.replace(":", "")) if self.ip.version == 6 else str(self.ip),
            "p": self.validated_name,
            "v": "ip6" if self.ip.version == 6 else "in-addr",
            "h": self.helo,
        }
        return values[letter]


def uses_validated_name(spec: str | None) -> bool:
    """Does the domain-spec use %{p} (which costs PTR and address lookups, §7.3)?"""
    return spec is not None and any(m.group(1) and m.group(1).lower() == "p" for m in _MACRO.finditer(spec))


def expand(spec: str, ctx: MacroContext) -> str:
    """Expand the macros of a domain-spec; the result is cut to 253 octets from the left (§7.3)."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "%%":
            return "%"
        if token == "%_":
            return " "
        if token == "%-":
            return "%20"
        letter = match.group(1)
        value = ctx.letter(letter.lower())
        delimiters = match.group(4) or "."
        parts = re.split("[" + re.escape(delimiters) + "]", value)
        if match.group(3):
            parts.reverse()
        if match.group(2):
            parts = parts[-int(match.group(2)) :]
        result = ".".join(parts)
        return urllib.parse.quote(result, safe="") if letter.isupper() else result

    expanded = _MACRO.sub(replace, spec)
    while len(expanded) > 253 and "." in expanded:
        expanded = expanded.split(".", 1)[1]
    return expanded.rstrip(".")
