"""The interop environment: real Knot DNS, Postfix, Dovecot, OpenDKIM and nginx on loopback.

    python tests/interop/env.py up      # install (apt-get, as root) if needed, configure, start; idempotent
    python tests/interop/env.py down    # stop what it started, by pid
    python tests/interop/env.py status

Addresses: Knot 127.0.20.1:53, Postfix 127.0.20.2 (25 STARTTLS, 587 submission, 465 implicit TLS, OpenDKIM
milter on :8891), Dovecot 127.0.20.3 (143/993 IMAP, 110/995 POP3, LMTP :24, SASL auth :12345), nginx
127.0.20.4:443 (the MTA-STS policy). Every name resolves through Knot; no daemon asks the system resolver
(Postfix looks up no client names and delivers to Dovecot by address; OpenDKIM only signs).
"""

import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mailcheck.lab.pki import make_key
from tests import debian
from tests.interop import exim, opensmtpd

STATE = Path(os.environ.get("MAILCHECK_INTEROP_DIR", "/tmp/mailcheck-interop"))
DOMAIN = "interop.test"
DNS, MTA, IMAP, WEB = "127.0.20.1", "127.0.20.2", "127.0.20.3", "127.0.20.4"
# a second Knot, the zone's other name server: a secondary whose copy stopped updating (older serial, last
# year's SPF), as a hand-copied zone file or a broken transfer leaves it
DNS2 = "127.0.20.8"
INTROSPECTION = ("127.0.20.9", 8080)  # the OAuth token introspection endpoint Dovecot asks
# every loopback address the suite gives lo (and takes away again)
ADDRESSES = (DNS, DNS2, INTROSPECTION[0], MTA, IMAP, WEB, exim.ADDRESS, opensmtpd.ADDRESS, opensmtpd.BROKEN_ADDRESS)
SERIAL, STALE_SERIAL = 2026120102, 2026120101
SPF, STALE_SPF = "v=spf1 ip4:127.0.0.0/8 -all", "v=spf1 ip4:127.0.20.0/24 ~all"
USER, PASSWORD = f"alice@{DOMAIN}", "interop-Secret-42"
POSTSCREEN_PORT, POSTSCREEN_WAIT = 2525, 3  # an MX behind Postfix postscreen, holding its greeting 3 s
# Postfix hardened as the TLS guides say (the #31 referee's second case): TLS 1.2 and up, the server's cipher
# order, no DHE
HARDENED_PORT = 2528
HARDENED_TLS = ["smtpd_tls_protocols=>=TLSv1.2", "smtpd_tls_mandatory_protocols=>=TLSv1.2",
                "tls_preempt_cipherlist=yes", "smtpd_tls_exclude_ciphers=kDHE"]  # fmt: skip
PACKAGES = [
    "iproute2",
    "knot",
    "knot-dnsutils",
    "postfix",
    "dovecot-imapd",
    "dovecot-pop3d",
    "dovecot-lmtpd",
    "opendkim",
    "nginx-light",
    *exim.NEEDS,
]
BINARIES = ["ip", "knotd", "postfix", "dovecot", "opendkim", "nginx"]
VMAIL = "mcvmail"


def run(*argv: str, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]


def start_daemon(name: str, *argv: str) -> None:
    """Start a daemon that forks into the background; its output goes to a log (a captured pipe would be
    held open by the daemon and never reach end-of-file)."""
    with (STATE / f"{name}.start.log").open("w") as log:
        done = subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=60, check=False)
    if done.returncode != 0:
        raise SystemExit(f"interop: {name} did not start: {(STATE / f'{name}.start.log').read_text()[-2000:]}")


def install() -> None:
    if all(shutil.which(b) for b in BINARIES):
        return
    if os.geteuid() != 0:
        raise SystemExit("interop: the packages are missing and installing them needs root")
    subprocess.run(
        ["debconf-set-selections"],
        input="postfix postfix/main_mailer_type select No configuration\n",
        text=True,
        check=True,
    )
    debian.install(PACKAGES)


def write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def txt(value: str) -> str:
    """A zone-file TXT value split into 255-octet strings."""
    return " ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255))


def openssl(*args: str) -> None:
    run("openssl", *args, cwd=str(STATE / "certs"))


def make_pki() -> dict[str, Path]:
    """Certificates made as an admin makes them: the `openssl` command line with its defaults (a CA with
    no keyUsage; leaves signed with `openssl x509 -req` and a subjectAltName), so the suite catches any
    verdict stricter than the OpenSSL that Postfix and Dovecot use."""
    certs = STATE / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=mailcheck interop CA"),
        *("-keyout", "ca.key", "-out", "ca.pem"),
    )
    files = {"ca": certs / "ca.pem"}
    for name, hosts in (
        ("mx", [f"mx.{DOMAIN}"]),
        ("imap", [f"imap.{DOMAIN}", f"pop.{DOMAIN}"]),
        ("web", [f"mta-sts.{DOMAIN}"]),
        ("exim", [f"mx-exim.{DOMAIN}"]),
        ("smtpd", [f"mx-smtpd.{DOMAIN}"]),
        ("smtpd68", [f"mx-smtpd68.{DOMAIN}"]),
    ):
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={hosts[0]}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
        )
        write(certs / f"{name}.ext", "subjectAltName=" + ",".join(f"DNS:{h}" for h in hosts) + "\n")
        openssl(
            *("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"),
            *("-days", "90", "-extfile", f"{name}.ext", "-out", f"{name}.crt"),
        )
        (certs / f"{name}.key").chmod(0o640)
        files[f"{name}_cert"], files[f"{name}_key"] = certs / f"{name}.crt", certs / f"{name}.key"
    mx_cert = x509.load_pem_x509_certificate(files["mx_cert"].read_bytes())
    spki = mx_cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    files["tlsa"] = write(certs / "mx.tlsa", hashlib.sha256(spki).hexdigest())
    dkim_key = make_key("rsa", 2048)
    files["dkim_key"] = write(
        STATE / "dkim" / "mc.private",
        dkim_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode(),
        0o600,
    )
    public = dkim_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    files["dkim_txt"] = write(STATE / "dkim" / "mc.txt", f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}")
    return files


def knot_config(base: Path, listen: str, zones: list[str], log: str = "stderr") -> str:
    """knotd's configuration: authoritative for ZONES (files BASE/zones/ZONE.zone, loaded whole, no journal),
    answering on LISTEN port 53, logging to LOG (a file path in quotes, or stderr)."""
    listed = "\n".join(f"  - domain: {zone}" for zone in zones)
    return f"""server:
    rundir: "{base}"
    listen: {listen}@53
log:
  - target: {log}
    any: info
database:
    storage: "{base}/db"
template:
  - id: default
    storage: "{base}/zones"
    file: "%s.zone"
    zonefile-load: whole
    journal-content: none
zone:
{listed}
"""


def knot(files: dict[str, Path]) -> None:
    zone = f"""$ORIGIN {DOMAIN}.
$TTL 300
@ SOA ns.{DOMAIN}. hostmaster.{DOMAIN}. {{serial}} 3600 600 86400 300
@ NS ns
@ NS ns2
ns A {DNS}
ns2 A {DNS2}
@ MX 10 mx
mx A {MTA}
imap A {IMAP}
pop A {IMAP}
mta-sts A {WEB}
mx-exim A {exim.ADDRESS}
mx-smtpd A {opensmtpd.ADDRESS}
mx-smtpd68 A {opensmtpd.BROKEN_ADDRESS}
@ TXT "{{spf}}"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{DOMAIN}"
mc._domainkey TXT {txt(files["dkim_txt"].read_text())}
_mta-sts TXT "v=STSv1; id=1"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{DOMAIN}"
_25._tcp.mx TLSA 3 1 1 {files["tlsa"].read_text()}
_imaps._tcp SRV 0 1 993 imap
_imap._tcp SRV 0 1 143 imap
_pop3s._tcp SRV 0 1 995 pop
_pop3._tcp SRV 0 1 110 pop
_submissions._tcp SRV 0 1 465 mx
_submission._tcp SRV 0 1 587 mx
"""
    reverse = f"""$ORIGIN 20.0.127.in-addr.arpa.
$TTL 300
@ SOA ns.{DOMAIN}. hostmaster.{DOMAIN}. 1 3600 600 86400 300
@ NS ns.{DOMAIN}.
1 PTR ns.{DOMAIN}.
2 PTR mx.{DOMAIN}.
3 PTR imap.{DOMAIN}.
4 PTR mta-sts.{DOMAIN}.
5 PTR mx-exim.{DOMAIN}.
6 PTR mx-smtpd.{DOMAIN}.
"""
    base = STATE / "knot"
    write(base / "zones" / f"{DOMAIN}.zone", zone.replace("{serial}", str(SERIAL)).replace("{spf}", SPF))
    write(base / "zones" / "20.0.127.in-addr.arpa.zone", reverse)
    (base / "db").mkdir(parents=True, exist_ok=True)
    write(base / "knot.conf", knot_config(base, DNS, [DOMAIN, "20.0.127.in-addr.arpa"], f'"{base}/knot.log"'))
    start_daemon("knot", "knotd", "-c", str(base / "knot.conf"), "-d")
    stale = STATE / "knot2"
    write(stale / "zones" / f"{DOMAIN}.zone", zone.replace("{serial}", str(STALE_SERIAL)).replace("{spf}", STALE_SPF))
    (stale / "db").mkdir(parents=True, exist_ok=True)
    write(stale / "knot.conf", knot_config(stale, DNS2, [DOMAIN], f'"{stale}/knot.log"'))
    start_daemon("knot2", "knotd", "-c", str(stale / "knot.conf"), "-d")


def postfix(files: dict[str, Path]) -> None:
    conf = STATE / "postfix"
    main_cf = f"""compatibility_level = 3.6
queue_directory = {STATE}/postfix-queue
data_directory = {STATE}/postfix-data
mail_owner = postfix
myhostname = mx.{DOMAIN}
mydomain = {DOMAIN}
myorigin = $mydomain
inet_interfaces = {MTA}
inet_protocols = ipv4
mydestination =
# Clients on loopback connect from the address they dial (127.0.20.2 itself), so mynetworks names none of
# them: mailcheck and the tests are strangers who must authenticate to relay, as on a real server.
mynetworks = 127.0.0.1/32
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = {DOMAIN}
virtual_transport = lmtp:inet:{IMAP}:24
smtpd_reject_unlisted_recipient = no
smtpd_peername_lookup = no
smtp_host_lookup = native
lmtp_host_lookup = native
smtpd_tls_cert_file = {files["mx_cert"]}
smtpd_tls_key_file = {files["mx_key"]}
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_received_header = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:{IMAP}:12345
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated reject_unauth_destination
smtpd_milters = inet:{MTA}:8891
non_smtpd_milters = $smtpd_milters
milter_default_action = accept
maillog_file = {STATE}/postfix.log
maillog_file_prefixes = {STATE}
biff = no
"""
    services = [
        ("smtp", "inet", "n", "-", "n", "-", "-", "smtpd", []),
        (
            "submission",
            "inet",
            "n",
            "-",
            "n",
            "-",
            "-",
            "smtpd",
            [
                "smtpd_tls_security_level=encrypt",
                "smtpd_sasl_auth_enable=yes",
                "smtpd_client_restrictions=permit_sasl_authenticated,reject",
            ],
        ),
        (
            "smtps",
            "inet",
            "n",
            "-",
            "n",
            "-",
            "-",
            "smtpd",
            [
                "smtpd_tls_wrappermode=yes",
                "smtpd_sasl_auth_enable=yes",
                "smtpd_client_restrictions=permit_sasl_authenticated,reject",
            ],
        ),
        # postscreen as admins set it up (postscreen(8), POSTSCREEN_README): it sends "220-", holds the rest of
        # the greeting for postscreen_greet_wait, and treats a client that talks first as a bot (enforce)
        (
            str(POSTSCREEN_PORT),
            "inet",
            "n",
            "-",
            "n",
            "-",
            "1",
            "postscreen",
            [f"postscreen_greet_wait={POSTSCREEN_WAIT}s", "postscreen_greet_action=enforce"],
        ),
        (str(HARDENED_PORT), "inet", "n", "-", "n", "-", "-", "smtpd", HARDENED_TLS),
        ("smtpd", "pass", "-", "-", "n", "-", "-", "smtpd", []),
        ("dnsblog", "unix", "-", "-", "n", "-", "0", "dnsblog", []),
        ("tlsproxy", "unix", "-", "-", "n", "-", "0", "tlsproxy", []),
        ("pickup", "unix", "n", "-", "n", "60", "1", "pickup", []),
        ("cleanup", "unix", "n", "-", "n", "-", "0", "cleanup", []),
        ("qmgr", "unix", "n", "-", "n", "300", "1", "qmgr", []),
        ("tlsmgr", "unix", "-", "-", "n", "1000?", "1", "tlsmgr", []),
        ("rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite", []),
        ("bounce", "unix", "-", "-", "n", "-", "0", "bounce", []),
        ("defer", "unix", "-", "-", "n", "-", "0", "bounce", []),
        ("trace", "unix", "-", "-", "n", "-", "0", "bounce", []),
        ("verify", "unix", "-", "-", "n", "-", "1", "verify", []),
        ("flush", "unix", "n", "-", "n", "1000?", "0", "flush", []),
        ("proxymap", "unix", "-", "-", "n", "-", "-", "proxymap", []),
        ("proxywrite", "unix", "-", "-", "n", "-", "1", "proxymap", []),
        ("smtp", "unix", "-", "-", "n", "-", "-", "smtp", []),
        ("relay", "unix", "-", "-", "n", "-", "-", "smtp", []),
        ("showq", "unix", "n", "-", "n", "-", "-", "showq", []),
        ("error", "unix", "-", "-", "n", "-", "-", "error", []),
        ("retry", "unix", "-", "-", "n", "-", "-", "error", []),
        ("discard", "unix", "-", "-", "n", "-", "-", "discard", []),
        ("lmtp", "unix", "-", "-", "n", "-", "-", "lmtp", []),
        ("anvil", "unix", "-", "-", "n", "-", "1", "anvil", []),
        ("scache", "unix", "-", "-", "n", "-", "1", "scache", []),
        ("postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd", []),
    ]
    master = []
    for name, kind, private, unpriv, chroot, wakeup, limit, command, overrides in services:
        master.append(f"{name} {kind} {private} {unpriv} {chroot} {wakeup} {limit} {command}")
        master.extend(f"  -o {o}" for o in overrides)
    write(conf / "main.cf", main_cf)
    write(conf / "master.cf", "\n".join(master) + "\n")
    default = Path("/etc/postfix/main.cf")
    line = f"alternate_config_directories = {conf}"
    existing = default.read_text() if default.exists() else "compatibility_level = 3.6\n"
    if line not in existing:
        default.write_text(existing.rstrip("\n") + "\n" + line + "\n")
    for directory in ("postfix-queue", "postfix-data"):
        (STATE / directory).mkdir(parents=True, exist_ok=True)
    run("postfix", "-c", str(conf), "set-permissions", check=False)
    start_daemon("postfix", "postfix", "-c", str(conf), "start")


def dovecot(files: dict[str, Path]) -> None:
    base = STATE / "dovecot"
    for directory in ("run", "state"):
        (base / directory).mkdir(parents=True, exist_ok=True)
    if run("id", VMAIL, check=False).returncode != 0:
        run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", VMAIL)
    uid = int(run("id", "-u", VMAIL).stdout)
    mail = STATE / "mail"
    mail.mkdir(parents=True, exist_ok=True)
    shutil.chown(mail, VMAIL, VMAIL)
    write(base / "users", f"{USER}:{{PLAIN}}{PASSWORD}\n", 0o644)
    write(
        base / "dovecot.conf",
        f"""base_dir = {base}/run
state_dir = {base}/state
listen = {IMAP}
protocols = imap pop3 lmtp
log_path = {base}/dovecot.log
ssl = yes
ssl_cert = <{files["imap_cert"]}
ssl_key = <{files["imap_key"]}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256 xoauth2 oauthbearer
mail_location = maildir:{mail}/%n
first_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/users
  mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256
}}
# OAuth 2.0 bearer tokens, checked against the introspection endpoint the suite starts (tests/interop/introspection.py)
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {base}/oauth2.conf.ext
}}
userdb {{
  driver = static
  # every user: the passdbs answer only logins (each names its mechanisms), so LMTP asks no passdb
  args = uid={VMAIL} gid={VMAIL} home={mail}/%n allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    port = 143
  }}
  inet_listener imaps {{
    port = 993
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 110
  }}
  inet_listener pop3s {{
    port = 995
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    port = 24
  }}
}}
service auth {{
  inet_listener sasl {{
    port = 12345
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@{DOMAIN}
}}
""",
    )
    write(
        base / "oauth2.conf.ext",
        f"introspection_mode = post\nintrospection_url = http://{INTROSPECTION[0]}:{INTROSPECTION[1]}/introspect\n"
        "username_attribute = username\nactive_attribute = active\nactive_value = true\n",
    )
    for path in (files["imap_cert"], files["imap_key"]):
        path.chmod(0o644)
    pidfile = STATE / "introspection.pid"
    subprocess.Popen(
        [sys.executable, "-m", "tests.interop.introspection", INTROSPECTION[0], str(INTROSPECTION[1]), str(pidfile)],
        cwd=Path(__file__).resolve().parents[2], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    start_daemon("dovecot", "dovecot", "-c", str(base / "dovecot.conf"))


def opendkim(files: dict[str, Path]) -> None:
    base = STATE / "dkim"
    shutil.chown(files["dkim_key"], "opendkim", "opendkim")
    write(
        base / "opendkim.conf",
        f"""Syslog no
LogWhy yes
Mode s
Domain {DOMAIN}
Selector mc
KeyFile {files["dkim_key"]}
Socket inet:8891@{MTA}
PidFile {base}/opendkim.pid
UserID opendkim:opendkim
InternalHosts 127.0.0.0/8
Canonicalization relaxed/simple
SignatureAlgorithm rsa-sha256
OversignHeaders From
RequireSafeKeys false
""",
    )
    base.chmod(0o755)
    start_daemon("opendkim", "opendkim", "-x", str(base / "opendkim.conf"))


def nginx(files: dict[str, Path]) -> None:
    base = STATE / "nginx"
    (base / "tmp").mkdir(parents=True, exist_ok=True)
    policy = f"version: STSv1\\nmode: enforce\\nmx: mx.{DOMAIN}\\nmax_age: 86400\\n"
    write(
        base / "nginx.conf",
        f"""pid {base}/nginx.pid;
error_log {base}/error.log;
worker_processes 1;
events {{}}
http {{
  access_log {base}/access.log;
  client_body_temp_path {base}/tmp/body;
  proxy_temp_path {base}/tmp/proxy;
  fastcgi_temp_path {base}/tmp/fastcgi;
  uwsgi_temp_path {base}/tmp/uwsgi;
  scgi_temp_path {base}/tmp/scgi;
  server {{
    listen {WEB}:443 ssl;
    server_name mta-sts.{DOMAIN};
    ssl_certificate {files["web_cert"]};
    ssl_certificate_key {files["web_key"]};
    location = /.well-known/mta-sts.txt {{
      default_type text/plain;
      return 200 "{policy}";
    }}
  }}
}}
""",
    )
    start_daemon("nginx", "nginx", "-c", str(base / "nginx.conf"))


PIDFILES = {
    "knot": lambda: STATE / "knot" / "knot.pid",
    "knot2": lambda: STATE / "knot2" / "knot.pid",
    "introspection": lambda: STATE / "introspection.pid",
    "postfix": lambda: STATE / "postfix-queue" / "pid" / "master.pid",
    "dovecot": lambda: STATE / "dovecot" / "run" / "master.pid",
    "opendkim": lambda: STATE / "dkim" / "opendkim.pid",
    "nginx": lambda: STATE / "nginx" / "nginx.pid",
    "exim": lambda: STATE / "exim" / "exim.pid",
    "opensmtpd": lambda: STATE / "opensmtpd" / "smtpd.pid",
    "opensmtpd68": lambda: STATE / "opensmtpd68" / "smtpd.pid",
}


def running() -> dict[str, int]:
    found = {}
    for name, path in PIDFILES.items():
        try:
            pid = int(path().read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            continue
        found[name] = pid
    return found


def wait_for_ports(timeout: float = 30) -> None:
    import socket

    wanted = [
        (MTA, 25),
        (MTA, 587),
        (MTA, 465),
        (MTA, HARDENED_PORT),
        (IMAP, 143),
        (IMAP, 993),
        (IMAP, 110),
        (IMAP, 995),
        (WEB, 443),
    ]
    wanted += [(exim.ADDRESS, 25), (exim.ADDRESS, 587), (opensmtpd.ADDRESS, 25), (opensmtpd.ADDRESS, 587)]
    wanted += [(opensmtpd.BROKEN_ADDRESS, 25), (DNS2, 53), INTROSPECTION]
    deadline = time.monotonic() + timeout
    for address in wanted:
        while True:
            try:
                socket.create_connection(address, timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"interop: nothing listens on {address[0]}:{address[1]}") from None
                time.sleep(0.2)


def loopback_addresses() -> None:
    """Postfix binds only to addresses configured on an interface: give lo the lab's loopback addresses."""
    for address in ADDRESSES:
        done = run("ip", "addr", "add", f"{address}/32", "dev", "lo", check=False)
        if done.returncode != 0 and "already assigned" not in done.stderr and "File exists" not in done.stderr:
            raise SystemExit(f"interop: cannot add {address} to lo: {done.stderr.strip()}")


def up() -> dict[str, object]:
    install()
    down()
    loopback_addresses()
    if STATE.exists():
        shutil.rmtree(STATE)
    STATE.mkdir(parents=True)
    STATE.chmod(0o755)
    files = make_pki()
    for start in (knot, opendkim, dovecot, postfix, nginx):
        start(files)
    exim.start(STATE, f"mx-exim.{DOMAIN}", files["exim_cert"], files["exim_key"], PASSWORD, files["ca"])
    opensmtpd.start(STATE, f"mx-smtpd.{DOMAIN}", files["smtpd_cert"], files["smtpd_key"], PASSWORD)
    # 127.0.20.7 has no PTR record on purpose: a server dialled by an address without reverse DNS
    opensmtpd.start_broken(STATE, f"mx-smtpd68.{DOMAIN}", files["smtpd68_cert"], files["smtpd68_key"])
    wait_for_ports()
    env = {
        "resolver": DNS,
        "oauth_token": "interop-good-token",
        "name_servers": {
            "primary": DNS,
            "stale": DNS2,
            "serial": SERIAL,
            "stale_serial": STALE_SERIAL,
            "spf": SPF,
            "stale_spf": STALE_SPF,
        },
        "ca_file": str(files["ca"]),
        "domain": DOMAIN,
        "user": USER,
        "password": PASSWORD,
        "mail_dir": str(STATE / "mail"),
        "postscreen_port": POSTSCREEN_PORT,
        "hardened_port": HARDENED_PORT,
        "postscreen_wait": POSTSCREEN_WAIT,
        "postfix_log": str(STATE / "postfix.log"),
        "exim": {
            "host": f"mx-exim.{DOMAIN}",
            "address": exim.ADDRESS,
            "user": exim.USER,
            "domain": exim.MAIL_DOMAIN,
            "state": str(STATE),
        },
        "opensmtpd": {
            "host": f"mx-smtpd.{DOMAIN}",
            "address": opensmtpd.ADDRESS,
            "user": opensmtpd.USER,
            "domain": opensmtpd.MAIL_DOMAIN,
            "hardened_port": opensmtpd.HARDENED_PORT,
            "sender_port": opensmtpd.SENDER_PORT,
            "sender_host": opensmtpd.SENDER_HOST,
            "state": str(STATE),
        },
        "pids": running(),
    }
    write(STATE / "env.json", json.dumps(env, indent=2))
    return env


def _gone(pid: int) -> bool:
    """Has the process exited? A daemon run in the foreground is this process's child: reap it, or it stays a
    zombie that signal 0 still finds."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return True
    return False


def down() -> None:
    """Stop every daemon this script started (by pid) and take the lab addresses off lo again."""
    if (STATE / "postfix").exists():
        run("postfix", "-c", str(STATE / "postfix"), "stop", check=False)
    for name, pid in running().items():
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            continue
        for _ in range(150):
            if _gone(pid):
                break
            time.sleep(0.1)
        else:
            print(f"interop: {name} (pid {pid}) did not stop", file=sys.stderr)
    if shutil.which("ip"):
        for address in ADDRESSES:
            run("ip", "addr", "del", f"{address}/32", "dev", "lo", check=False)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "status"
    if command == "up":
        print(json.dumps(up(), indent=2))
    elif command == "down":
        down()
    else:
        print(json.dumps(running(), indent=2))
