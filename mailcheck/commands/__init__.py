"""One module per command family; each defines plain click commands and lists them in ``COMMANDS``.

- :mod:`.dns`: ``mx``, ``dnssec`` (DNS and MX)
- :mod:`.servers`: ``smtp``, ``imap``, ``pop3``, ``mailbox``, ``roundtrip`` (options shared in :mod:`.server_options`)
- :mod:`.sender_auth`: ``spf``, ``sender``, ``dmarc``, ``dkim``
- :mod:`.domain`: ``domain`` (one or many domains), ``summary``
- :mod:`.message`: ``headers``
- :mod:`.vantage`: ``egress`` (what this machine can reach)
- :mod:`.tools`: ``demo``, ``completion``, ``explain``

:mod:`.run` runs a command's checks and exits with the contract's code. Nothing here imports ``mailcheck.cli``.
"""

from types import ModuleType

from mailcheck.commands import dns, domain, message, sender_auth, servers, tools, vantage

FAMILIES: tuple[ModuleType, ...] = (dns, servers, sender_auth, domain, message, vantage, tools)
