"""Interception told apart from the servers' faults: certificates from an antivirus mail shield's root, one
untrusted issuer behind MX hosts of unrelated domains, and one banner greeting for unrelated domains (a
transparent port-25 proxy), against real lab SMTP servers; and what must not be taken for interception (one
organisation's private CA on its own MX hosts)."""

import pytest

from mailcheck.lab.pki import CertificateAuthority
from mailcheck.lab.smtp import SmtpBehaviour
from mailcheck.lab.world import free_port
from tests.conftest import Cli, SmtpLab

ADDRESSES = ["127.0.0.71", "127.0.0.72"]


def two_mx(smtp_lab: SmtpLab, domain: str, hosts: list[str], issuer: CertificateAuthority | None, banner: str | None):
    """DOMAIN with two MX HOSTS on one port, their certificates from ISSUER (else the test CA)."""
    port = free_port(ADDRESSES)
    for host, address in zip(hosts, ADDRESSES, strict=True):
        behaviour = SmtpBehaviour(hostname=host, banner=banner)
        credential = issuer.issue(host) if issuer is not None else None
        smtp_lab.start(behaviour, name=host, address=address, port=port, credential=credential)
    smtp_lab.dns.zone.add(domain, "MX", *(f"{10 * (i + 1)} {h}." for i, h in enumerate(hosts)))
    return port


def run_domain(cli: Cli, smtp_lab: SmtpLab, domain: str, port: int):  # type: ignore[no-untyped-def]
    return cli("domain", domain, "--only", "mx,smtp", "--mx-port", str(port), "--allow-private",
               "--resolver", smtp_lab.dns.address, "--ca-file", str(smtp_lab.ca_file), "--timeout", "3", "--json")  # fmt: skip


@pytest.mark.parametrize(
    ("issuer_name", "hosts", "why"),
    [
        ("Avast Web/Mail Shield Root", ["mx.alpha.test", "mx.beta.test"], "named like an interception product"),
        ("Avast Web/Mail Shield Root", ["mx1.alpha.test", "mx2.alpha.test"], "named like an interception product"),
        ("Corporate Root CA 7", ["mx.alpha.test", "mx.beta.test"], "behind 2 unrelated domains"),
    ],
)
def test_interception_is_one_error_of_the_vantage_point(
    cli: Cli, smtp_lab: SmtpLab, issuer_name: str, hosts: list[str], why: str
) -> None:
    # Given MX hosts whose certificates all come from one issuer that is not trusted here
    port = two_mx(smtp_lab, "shielded.test", hosts, CertificateAuthority(issuer_name), None)
    # When the domain is checked
    run = run_domain(cli, smtp_lab, "shielded.test", port)
    # Then one finding says the TLS is intercepted, naming the issuer; no certificate is failed or warned about
    certificates = run.checks("smtp.certificate")
    assert len(certificates) == 1, certificates
    (finding,) = certificates
    assert finding["status"] == "error" and finding["error"]["kind"] == "intercepted", finding
    assert issuer_name in finding["summary"] and why in finding["summary"] and len(finding["details"]["endpoints"]) == 2
    assert run.code == 3, run.out


def test_one_organisations_private_ca_is_not_interception(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given two MX hosts of one organisation with certificates from its own CA, not trusted here
    port = two_mx(
        smtp_lab, "private.test", ["mx1.gamma.test", "mx2.gamma.test"], CertificateAuthority("Gamma CA"), None
    )
    run = run_domain(cli, smtp_lab, "private.test", port)
    # Then each certificate is judged as before (untrusted), nothing is called interception
    kinds = [c["error"]["kind"] for c in run.checks("smtp.certificate") if c["error"]]
    assert kinds == ["untrusted", "untrusted"], run.out


def test_one_banner_for_unrelated_domains_is_a_port_25_proxy(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given MX hosts of two unrelated domains that both greet as an ISP's proxy would
    banner = "220 smtp-proxy.isp.example ESMTP"
    port = two_mx(smtp_lab, "proxied.test", ["mx.alpha.test", "mx.beta.test"], None, banner)
    run = run_domain(cli, smtp_lab, "proxied.test", port)
    greetings = run.checks("smtp.greeting")
    assert len(greetings) == 1 and greetings[0]["error"]["kind"] == "intercepted", greetings
    assert "smtp-proxy.isp.example" in greetings[0]["summary"] and "proxies outbound SMTP" in greetings[0]["summary"]
    assert run.code == 3


def test_one_providers_banner_on_its_own_hosts_is_no_proxy(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given two MX hosts of one provider greeting with the provider's own name
    port = two_mx(smtp_lab, "hosted.test", ["mx1.alpha.test", "mx2.alpha.test"], None, "220 mx.alpha.test ESMTP")
    run = run_domain(cli, smtp_lab, "hosted.test", port)
    assert all(c["status"] != "error" for c in run.checks("smtp.greeting")), run.out
    assert run.code == 0, run.out
