"""Exim 4 beside Postfix in the interop suite: Debian's exim4-daemon-light (built with GnuTLS, a TLS stack
unlike Postfix's OpenSSL). The package conflicts with postfix, so its files are unpacked (``apt-get download``
and ``dpkg -x``) into the interop directory and run from there with their own configuration:
``mx-exim.interop.test`` on its own loopback address, ports 25 and 587 (AUTH PLAIN only after STARTTLS), relaying
for nobody, delivering ``exim.interop.test`` to a maildir, logging TLS version and cipher."""

import shutil
import subprocess
from pathlib import Path

ADDRESS = "127.0.20.5"
MAIL_DOMAIN = "exim.interop.test"
USER = f"alice@{MAIL_DOMAIN}"
RELAY_DOMAIN = "interop.test"  # Postfix's domain, reached through OpenSMTPD
NEXT_HOP = "127.0.20.6"  # OpenSMTPD (tests/interop/opensmtpd.py)
SYSTEM_USER = "Debian-exim"  # compiled into Debian's binary
NEEDS = ["libidn12"]  # a library the unpacked binary links that Postfix's packages do not bring


def binary(state: Path) -> Path:
    return state / "exim-pkg" / "usr" / "sbin" / "exim4"


def unpack(state: Path) -> Path:
    """The exim4 binary, unpacked from Debian's packages (downloaded once per interop directory)."""
    exim = binary(state)
    linked = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    if "libidn.so.12" not in linked:
        from tests import debian

        debian.install(NEEDS)
    if exim.exists():
        return exim
    download = state / "exim-deb"
    download.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", "exim4-daemon-light"], cwd=download, check=True, capture_output=True,
                   text=True, timeout=300)  # fmt: skip
    for deb in download.glob("*.deb"):
        subprocess.run(["dpkg", "-x", str(deb), str(state / "exim-pkg")], check=True, capture_output=True, timeout=120)
    if subprocess.run(["id", SYSTEM_USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                       check=True, capture_output=True)  # fmt: skip
    return exim


def config(state: Path, host: str, password: str) -> str:
    base = state / "exim"
    condition = "${if and{{eq{$auth2}{%s}}{eq{$auth3}{%s}}}}" % (USER, password)  # noqa: UP031 (Exim's braces)
    return f"""exim_path = {binary(state)}
keep_environment =
primary_hostname = {host}
domainlist local_domains = {MAIL_DOMAIN}
domainlist relay_to_domains = {RELAY_DOMAIN}
qualify_domain = {MAIL_DOMAIN}
spool_directory = {base}/spool
log_file_path = {base}/log/%slog
pid_file_path = {base}/exim.pid
daemon_smtp_ports = 25 : 587
local_interfaces = {ADDRESS}
tls_advertise_hosts = *
tls_certificate = {base}/tls.crt
tls_privatekey = {base}/tls.key
acl_smtp_mail = acl_check_mail
acl_smtp_rcpt = acl_check_rcpt
never_users = root
# a grade opens ~3,000 short sessions (sslyze tries each suite alone) faster than Exim's children exit: any cap
# (Exim's default is 20) turns the grade away with 421, which mailcheck reports as a limit on this client
# (tests/test_tls_grade.py plays that server); this Exim plays one tuned to be graded
smtp_accept_max = 0
host_lookup =
rfc1413_hosts =
log_selector = +tls_cipher +tls_peerdn +received_recipients

begin acl
# submission the way many Exim guides set it up: no MAIL on 587 before AUTH, with an enhanced code in the text
acl_check_mail:
  deny   condition = ${{if ={{$received_port}}{{587}}}}
         !authenticated = *
         message = 5.7.0 Authentication required
  accept

acl_check_rcpt:
  accept authenticated = *
  accept domains = +local_domains
  accept domains = +relay_to_domains
  deny   message = relay not permitted

begin routers
# mail for the Postfix domain goes on through OpenSMTPD, over STARTTLS verified against the interop CA: the
# multi-hop path the suite traces (Exim → OpenSMTPD → Postfix → Dovecot)
to_opensmtpd:
  driver = manualroute
  domains = +relay_to_domains
  route_list = * {NEXT_HOP}
  self = send
  transport = remote_smtp

local_user:
  driver = accept
  domains = +local_domains
  transport = maildir_delivery

begin transports
remote_smtp:
  driver = smtp
  port = 25
  hosts_require_tls = *
  tls_verify_certificates = {base}/ca.pem
  tls_verify_cert_hostnames =
  helo_data = {host}

maildir_delivery:
  driver = appendfile
  directory = {base}/mail/inbox
  maildir_format
  user = {SYSTEM_USER}

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = {condition}
  server_advertise_condition = ${{if def:tls_in_cipher}}
"""


def start(state: Path, host: str, cert: Path, key: Path, password: str, ca: Path) -> None:
    exim = unpack(state)
    base = state / "exim"
    for directory in ("spool", "log", "mail"):
        (base / directory).mkdir(parents=True, exist_ok=True)
    shutil.copy(cert, base / "tls.crt")
    shutil.copy(key, base / "tls.key")
    shutil.copy(ca, base / "ca.pem")
    (base / "exim.conf").write_text(config(state, host, password))
    subprocess.run(["chown", "-R", SYSTEM_USER, str(base)], check=True)
    (base / "exim.conf").chmod(0o640)
    subprocess.run(["chown", f"root:{SYSTEM_USER}", str(base / "exim.conf")], check=True)
    subprocess.run([str(exim), "-C", str(base / "exim.conf"), "-bd"], check=True, capture_output=True, timeout=30)


def mainlog(state: Path) -> str:
    path = state / "exim" / "log" / "mainlog"
    return path.read_text(errors="replace") if path.exists() else ""
