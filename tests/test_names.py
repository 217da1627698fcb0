"""Domain names and resolver addresses as users type them (table-driven)."""

import pytest

from mailcheck.names import BadInput, domain_name, parse_host_port, resolver_address


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("example.com", "example.com"),
        ("Example.COM.", "example.com"),
        ("  mail.example.com ", "mail.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("ÉCOLE.example", "xn--cole-9oa.example"),
        ("_dmarc.example.com", "_dmarc.example.com"),
        ("a" * 63 + ".example", "a" * 63 + ".example"),
    ],
)
def test_valid_domains_become_lower_case_a_labels(given: str, expected: str) -> None:
    assert domain_name(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "empty domain name"),
        ("   ", "empty domain name"),
        (".", "the root is not a mail domain"),
        ("a..example", "empty label"),
        ("a" * 64 + ".example", "is 64 octets (at most 63)"),
        ("exa mple.com", "white space"),
        ("ex@mple.com", "characters not allowed"),
        ("-bad.example", "starts or ends with a hyphen"),
        ("192.0.2.1", "is an IP address, not a domain name"),
        ("[::1]", "is an IP address"),
        ("example.123", "top-level label is all digits"),
        (".".join(["abcdefghi"] * 26), "octets long (at most 253)"),
        ("xn--zz.example", "invalid"),
    ],
)
def test_invalid_domains_are_refused_with_a_reason(given: str, reason: str) -> None:
    with pytest.raises(BadInput, match=reason.replace("(", r"\(").replace(")", r"\)")):
        domain_name(given)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("[::1]", ("::1", 53)),
    ],
)
def test_resolver_addresses(given: str, expected: tuple[str, int]) -> None:
    assert resolver_address(given) == expected


@pytest.mark.parametrize("given", ["nope", "dns.example:53", "127.0.0.1:0", "127.0.0.1:70000", "[::1", "1.2.3.4:"])
def test_bad_resolver_addresses(given: str) -> None:
    with pytest.raises(BadInput, match="invalid resolver"):
        resolver_address(given)


def test_host_port_keeps_host_names_for_other_callers() -> None:
    assert parse_host_port("mx.example.com:587", 25, "server") == ("mx.example.com", 587)
    assert parse_host_port("mx.example.com", 25, "server") == ("mx.example.com", 25)
