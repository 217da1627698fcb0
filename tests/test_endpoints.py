"""`mailcheck mailbox DOMAIN`: SRV discovery finds and probes every advertised endpoint."""

from mailcheck.lab.mailbox import MailboxBehaviour
from mailcheck.lab.smtp import SmtpBehaviour
from tests.conftest import Cli, SmtpLab


def test_every_advertised_endpoint_is_found_and_probed(cli: Cli, smtp_lab: SmtpLab) -> None:
    # Given a domain publishing IMAPS, POP3 with STLS and implicit-TLS submission, and "no plain submission"
    imaps = smtp_lab.start_mailbox("imap", name="imap.lab.test", implicit=True)
    pop3 = smtp_lab.start_mailbox("pop3", MailboxBehaviour(), name="pop.lab.test")
    submissions = smtp_lab.start(SmtpBehaviour(hostname="smtp.lab.test"), name="smtp.lab.test", implicit=True)
    zone = smtp_lab.dns.zone
    zone.add("_imaps._tcp.lab.test", "SRV", f"0 1 {imaps.port} imap.lab.test.")
    zone.add("_pop3._tcp.lab.test", "SRV", f"10 1 {pop3.port} pop.lab.test.")
    zone.add("_submissions._tcp.lab.test", "SRV", f"0 1 {submissions.port} smtp.lab.test.")
    zone.add("_submission._tcp.lab.test", "SRV", "0 0 0 .")
    # When mailcheck discovers them
    run = cli("mailbox", "lab.test", "--resolver", smtp_lab.dns.address, "--ca-file", str(smtp_lab.ca_file), "--json")
    # Then each SRV record is reported and each endpoint probed with its protocol and TLS mode
    assert run.code == 0, run.out
    srv = {c["target"]: c for c in run.checks("mailbox.srv")}
    assert srv["_imaps._tcp.lab.test"]["status"] == "pass"
    assert srv["_imap._tcp.lab.test"]["summary"] == "imap: not published"
    assert "not offered" in srv["_submission._tcp.lab.test"]["summary"]
    assert run.check("imap.tls", f"imap.lab.test:{imaps.port} (127.0.0.1)")["status"] == "pass"
    assert run.check("pop3.starttls", f"pop.lab.test:{pop3.port} (127.0.0.1)")["status"] == "pass"
    assert run.check("smtp.certificate", f"smtp.lab.test:{submissions.port} (127.0.0.1)")["status"] == "pass"
    discovery = run.check("mailbox.discovery")
    assert "_pop3 without _pop3s" in discovery["summary"] and "RFC 8314" in discovery["summary"]


def test_no_srv_records_is_a_warning(cli: Cli, smtp_lab: SmtpLab) -> None:
    smtp_lab.dns.zone.add("lab.test", "MX", "10 mx.lab.test.")
    run = cli("mailbox", "lab.test", "--resolver", smtp_lab.dns.address, "--json")
    assert run.check("mailbox.discovery")["status"] == "warn"
    assert run.code == 0


def test_srv_target_that_does_not_resolve_is_a_dns_fail(cli: Cli, smtp_lab: SmtpLab) -> None:
    smtp_lab.dns.zone.add("_imaps._tcp.lab.test", "SRV", "0 1 993 gone.lab.test.")
    run = cli("mailbox", "lab.test", "--resolver", smtp_lab.dns.address, "--json")
    check = run.check("imap.dns")
    assert check["status"] == "fail" and check["error"]["kind"] == "nxdomain"
    assert run.code == 1
