"""Reading the system's resolvers: resolv.conf(5) as the C library reads it, and every form of name-server
entry dnspython hands back where mailcheck takes its view of the system (no resolv.conf: Windows)."""

from pathlib import Path

import dns.nameserver
import pytest

from mailcheck.net.resolvconf import NoSystemResolver, parse_resolv_conf, plain_resolvers, read_resolv_conf


@pytest.mark.parametrize(
    ("text", "servers", "ignored"),
    [
        ("nameserver 192.0.2.53\n", [("192.0.2.53", 53)], []),
        # systemd-resolved's stub file, as it writes it
        (
            "# This is /run/systemd/resolve/stub-resolv.conf\nnameserver 127.0.0.53\noptions edns0 trust-ad\n"
            "search lan\n",
            [("127.0.0.53", 53)],
            ["options edns0", "options trust-ad"],
        ),
        ("nameserver 2001:db8::53\nnameserver fe80::1%eth0\n", [("2001:db8::53", 53), ("fe80::1%eth0", 53)], []),
        ("; comment\n  nameserver   192.0.2.1   # trailing words are ignored\n", [("192.0.2.1", 53)], []),
        (
            "nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\nnameserver 192.0.2.4\n",
            [("192.0.2.1", 53), ("192.0.2.2", 53), ("192.0.2.3", 53)],
            ["nameserver 192.0.2.4 (the C library uses the first 3)"],
        ),
        (
            "nameserver dns.example\nnameserver 192.0.2.9\n",
            [("192.0.2.9", 53)],
            ["nameserver 'dns.example' is not an IP address"],
        ),
        ("nameserver 192.0.2.9\nnameserver 192.0.2.9\n", [("192.0.2.9", 53)], []),
        (
            "nameserver 192.0.2.9\noptions timeout:1 attempts:5 rotate ndots:3\n",
            [("192.0.2.9", 53)],
            ["options timeout:1", "options attempts:5", "options rotate", "options ndots:3"],
        ),
    ],
)
def test_resolv_conf_is_read_as_the_c_library_reads_it(
    text: str, servers: list[tuple[str, int]], ignored: list[str]
) -> None:
    found = parse_resolv_conf(text)
    assert list(found.servers) == servers
    assert list(found.ignored) == ignored


@pytest.mark.parametrize(
    "text", ["", "# nothing\n", "options ndots:5\nsearch example\n", "nameserver\n", "nameserver x\n"]
)
def test_no_nameserver_is_one_error_naming_the_file(text: str) -> None:
    with pytest.raises(NoSystemResolver, match=r"^/etc/resolv.conf names no resolver .*give --resolver IP$"):
        parse_resolv_conf(text)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        NoSystemResolver, match=r"cannot read .*resolv.conf \(No such file or directory\); give --resolver"
    ):
        read_resolv_conf(tmp_path / "resolv.conf")


def test_every_form_dnspython_returns_is_understood() -> None:
    # dnspython 2.9 returns resolv.conf's addresses as plain strings; objects where a port or kind was given
    entries = [
        "192.0.2.1",
        dns.nameserver.Do53Nameserver("2001:db8::1", 5353),
        dns.nameserver.DoHNameserver("https://dns.example/dns-query"),
        dns.nameserver.DoTNameserver("192.0.2.7", 853),
        "https://dns.example/dns-query",
    ]
    found = plain_resolvers(entries, "the system configuration")
    assert list(found.servers) == [("192.0.2.1", 53), ("2001:db8::1", 5353)]
    assert [line.split(" (")[0] for line in found.ignored] == [
        "DoHNameserver https://dns.example/dns-query",
        "DoTNameserver 192.0.2.7",
        "https://dns.example/dns-query",
    ]


def test_only_encrypted_resolvers_is_one_error_naming_them() -> None:
    with pytest.raises(NoSystemResolver, match=r"names no plain-DNS resolver \(DoHNameserver https://dns.example/q"):
        plain_resolvers([dns.nameserver.DoHNameserver("https://dns.example/q")], "the system configuration")
