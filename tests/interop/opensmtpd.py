"""OpenSMTPD 7.8.0p1 in the interop suite, built from the release tarball in ``tests/data/vendor`` (once per
machine, cached by the tarball's hash) with every compiled-in path in a test directory: ``mx-smtpd.interop.test``
on its own loopback address, port 25 (STARTTLS), 587 (TLS required, then AUTH) and 2526, a listener hardened as
admins harden OpenSMTPD (ECDHE with AEAD suites only, no CBC). It runs in the foreground (``-d``) with its log in
the interop directory, and delivers ``smtpd.interop.test`` to a maildir."""

import hashlib
import os
import subprocess
from pathlib import Path

ADDRESS = "127.0.20.6"
MAIL_DOMAIN = "smtpd.interop.test"
USER = f"alice@{MAIL_DOMAIN}"
HARDENED_PORT = 2526
HARDENED_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"  # OpenSSL has no AEAD alias: the AEAD families by name
NEEDS = ["libevent-dev", "libssl-dev", "zlib1g-dev", "bison"]
TARBALL = Path(__file__).resolve().parents[1] / "data" / "vendor" / "opensmtpd-7.8.0p1.tar.gz"
RUN = Path("/tmp/mailcheck-interop-smtpd")  # queue, socket, pid: compiled in, so outside the wiped directory
SYSTEM_USERS = ("_smtpd", "_smtpq")
RELAY_DOMAIN = "interop.test"  # Postfix's domain: relayed on to Postfix (the multi-hop path the suite traces)
NEXT_HOP = "127.0.20.2"
# a listener that plays another organisation's outbound relay: a local program submits over loopback (OpenSMTPD
# writes "localhost [127.0.0.1]" for it), and the relay hands the message on to Postfix as mail.sender.test
SENDER_PORT = 2527
SENDER_HOST = "mail.sender.test"


def build() -> Path:
    """The smtpd binary, built once per tarball (a couple of minutes on two cores)."""
    digest = hashlib.sha256(TARBALL.read_bytes()).hexdigest()[:16]
    prefix = Path(f"/tmp/mailcheck-opensmtpd-{digest}")
    smtpd = prefix / "inst" / "sbin" / "smtpd"
    for user in SYSTEM_USERS:
        if subprocess.run(["id", user], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                           check=True, capture_output=True)  # fmt: skip
    if smtpd.exists():
        return smtpd
    from tests import debian

    debian.install(NEEDS)
    prefix.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "xzf", str(TARBALL), "-C", str(prefix)], check=True, capture_output=True)
    source = prefix / "opensmtpd-7.8.0p1"
    configure = [
        "./configure", f"--prefix={prefix / 'inst'}", f"--sysconfdir={prefix / 'etc'}",
        f"--with-path-queue={RUN / 'spool'}", f"--with-path-empty={RUN / 'empty'}",
        f"--with-path-socket={RUN / 'run'}", f"--with-path-pidfile={RUN / 'run'}",
        "--with-user-smtpd=_smtpd", "--with-user-queue=_smtpq", "--with-group-queue=_smtpq",
    ]  # fmt: skip
    for argv in (configure, ["make", "-j2"], ["make", "install"]):
        subprocess.run(argv, cwd=source, check=True, capture_output=True, text=True, timeout=900)
    return smtpd


def config(state: Path, host: str, cert: Path, key: Path) -> str:
    base = state / "opensmtpd"
    listen = f"listen on {ADDRESS}"
    return f"""pki {host} cert "{cert}"
pki {host} key "{key}"
table creds file:{base}/creds
table users file:{base}/users
{listen} port 25 tls pki {host} hostname {host}
{listen} port 587 tls-require pki {host} auth <creds> hostname {host}
{listen} port {HARDENED_PORT} tls pki {host} hostname {host} ciphers "{HARDENED_CIPHERS}"
{listen} port {SENDER_PORT} tag SENDER hostname {SENDER_HOST}
action "local" maildir "{base}/mail" virtual <users>
action "to-postfix" relay host "smtp+tls://{NEXT_HOP}:25" tls no-verify helo {host}
action "as-sender" relay host "smtp+tls://{NEXT_HOP}:25" tls no-verify helo {SENDER_HOST}
match from any tag SENDER for domain "{RELAY_DOMAIN}" action "as-sender"
match from any for domain "{MAIL_DOMAIN}" action "local"
match from any for domain "{RELAY_DOMAIN}" action "to-postfix"
"""


def start(state: Path, host: str, cert: Path, key: Path, password: str) -> int:
    """Start smtpd in the foreground, logging to the interop directory; its pid (written where down() looks)."""
    smtpd = build()
    base = state / "opensmtpd"
    for directory in (base / "mail", RUN / "spool", RUN / "empty", RUN / "run"):
        directory.mkdir(parents=True, exist_ok=True)
    (RUN / "spool").chmod(0o711)
    subprocess.run(["chown", "_smtpd", str(base / "mail")], check=True)
    for name, source in (("tls.crt", cert), ("tls.key", key)):
        (base / name).write_bytes(source.read_bytes())
    (base / "tls.key").chmod(0o600)
    hashed = subprocess.run([str(smtpd.with_name("smtpctl")), "encrypt", password], capture_output=True, text=True,
                            check=True).stdout.strip()  # fmt: skip
    (base / "creds").write_text(f"{USER} {hashed}\n")
    (base / "users").write_text(f"bob@{MAIL_DOMAIN} _smtpd\n")  # recipients, delivered as the _smtpd user
    (base / "smtpd.conf").write_text(config(state, host, base / "tls.crt", base / "tls.key"))
    log = (base / "smtpd.log").open("ab")
    process = subprocess.Popen([str(smtpd), "-d", "-f", str(base / "smtpd.conf")], stdout=log, stderr=log,
                               start_new_session=True)  # fmt: skip
    (base / "smtpd.pid").write_text(f"{process.pid}\n")
    return process.pid


def smtpd_log(state: Path) -> str:
    path = state / "opensmtpd" / "smtpd.log"
    return path.read_text(errors="replace") if path.exists() else ""


def available() -> bool:
    return TARBALL.exists() and os.name == "posix"


# Debian 12's own OpenSMTPD 6.8 fails every STARTTLS handshake with OpenSSL 3 (upstream issues 1171, 1239): a real
# broken server. Its package conflicts with postfix too, so it is unpacked; its compiled-in queue, socket and
# chroot are system paths (/var/spool/smtpd, /var/run/smtpd.sock, /var/lib/opensmtpd/empty).
BROKEN_ADDRESS = "127.0.20.7"
BROKEN_USERS = ("opensmtpd", "opensmtpq")


def start_broken(state: Path, host: str, cert: Path, key: Path) -> int:
    base = state / "opensmtpd68"
    root = base / "pkg"
    (base / "deb").mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", "opensmtpd"], cwd=base / "deb", check=True, capture_output=True,
                   text=True, timeout=300)  # fmt: skip
    for deb in (base / "deb").glob("*.deb"):
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True, capture_output=True, timeout=120)
    for user in BROKEN_USERS:
        if subprocess.run(["id", user], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                           check=True, capture_output=True)  # fmt: skip
    for directory in (Path("/var/spool/smtpd"), Path("/var/lib/opensmtpd/empty")):
        directory.mkdir(parents=True, exist_ok=True)
    Path("/var/spool/smtpd").chmod(0o711)
    for name, source in (("tls.crt", cert), ("tls.key", key)):
        (base / name).write_bytes(source.read_bytes())
    (base / "tls.key").chmod(0o600)
    (base / "smtpd.conf").write_text(
        f'pki {host} cert "{base / "tls.crt"}"\npki {host} key "{base / "tls.key"}"\n'
        f"listen on {BROKEN_ADDRESS} port 25 tls pki {host} hostname {host}\n"
        'action "local" mbox\nmatch from any for local action "local"\n'
    )
    log = (base / "smtpd.log").open("ab")
    process = subprocess.Popen([str(root / "usr" / "sbin" / "smtpd"), "-d", "-f", str(base / "smtpd.conf")],
                               stdout=log, stderr=log, start_new_session=True)  # fmt: skip
    (base / "smtpd.pid").write_text(f"{process.pid}\n")
    return process.pid
