"""The cipher suites a server accepts at one TLS version, found in as many handshakes as it accepts suites, plus
one: offer every suite the client can, note the one the server picks, offer the rest again, until it refuses.
sslyze tries each suite on its own connection (~150 for TLS 1.2), which a server capping its connections (Exim's
``smtp_accept_max``, whose children outlive the connections) turns away; internet.nl enumerates suites this way
for that reason. Used by ``tls_grade`` for the versions such a server refused, paced, one connection at a time.
sslyze's and nassl's types stay in this module: it returns plain tuples.
"""

import time
from typing import Any

PACE = 0.2  # seconds between handshakes: a capped server's children have time to exit
WAITS = (1.0, 2.0, 4.0)  # a handshake the server turned away is tried again after each of these pauses


def accepted(server: Any, version: Any, pace: float = PACE) -> list[tuple[str, str, Any]] | str:
    """Every suite SERVER (sslyze's ServerConnectivityInfo) accepts at VERSION (its TlsVersionEnum), as (IANA
    name, OpenSSL name, ephemeral key or None); or, when a handshake could not be made at all, sslyze's words for
    why (a string)."""
    from sslyze import TlsVersionEnum
    from sslyze.errors import ConnectionToServerFailed, TlsHandshakeFailed
    from sslyze.plugins.openssl_cipher_suites._tls12_workaround import WorkaroundForTls12ForCipherSuites
    from sslyze.plugins.openssl_cipher_suites.cipher_suites import CipherSuitesRepository

    suites = {s.openssl_name: s for s in CipherSuitesRepository.get_all_cipher_suites(version)}
    # each OpenSSL build nassl carries offers its own suites: TLS 1.3 the modern one, SSL 2.0 to TLS 1.1 the
    # legacy one, TLS 1.2 whichever sslyze says can offer the suite
    if version == TlsVersionEnum.TLS_1_3:
        builds = {False: list(suites)}
    elif version == TlsVersionEnum.TLS_1_2:
        builds = {False: [], True: []}
        for name in suites:
            builds[WorkaroundForTls12ForCipherSuites.requires_legacy_openssl(name)].append(name)
    else:
        builds = {True: list(suites)}

    def pick(legacy: bool, remaining: list[str]) -> tuple[str, Any] | None:
        """One handshake offering REMAINING: the suite the server chose and its key, None when it refused."""
        connection = server.get_preconfigured_tls_connection(
            override_tls_version=version, should_use_legacy_openssl=legacy
        )
        client = connection.ssl_client
        offered = ":".join(remaining)
        if version == TlsVersionEnum.TLS_1_3:
            client.set_ciphersuites(offered)
        else:
            client.set_cipher_list(offered)
        try:
            connection.connect()
            return client.get_current_cipher_name(), client.get_ephemeral_key()
        except (TlsHandshakeFailed, ConnectionToServerFailed):
            raise
        except Exception:  # nassl's OpenSSLError: the client cannot offer what remains
            return None
        finally:
            connection.close()

    found: list[tuple[str, str, Any]] = []
    for legacy, remaining in builds.items():
        while remaining:
            for wait in (*WAITS, None):
                try:
                    picked = pick(legacy, remaining)
                    break
                except TlsHandshakeFailed:
                    picked = None  # none of the remaining suites is accepted
                    break
                except ConnectionToServerFailed as failed:
                    if wait is None:
                        return str(failed)
                    time.sleep(wait)  # turned away: the server's earlier sessions are still ending
            if picked is None or picked[0] not in remaining:
                break  # refused, or the server picked what was not offered: stop rather than loop
            chosen, key = picked
            found.append((suites[chosen].name, chosen, key))
            remaining.remove(chosen)
            time.sleep(pace)
    return found
