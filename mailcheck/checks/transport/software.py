"""Which server software a greeting names, when it names one (``ESMTP Exim 4.96``, ``ESMTP Postfix``,
``Dovecot ready.``), so advice can quote that software's own settings instead of every MTA's."""

import re
from collections.abc import Sequence

from mailcheck.checks.transport.connection import TransportObservation

# the product names as the stock greetings write them; the first that matches names the software
_NAMED = (
    ("OpenSMTPD", re.compile(r"\bOpenSMTPD\b", re.I)),
    ("Postfix", re.compile(r"\bPostfix\b", re.I)),
    ("Exim", re.compile(r"\bExim\b", re.I)),
    ("Sendmail", re.compile(r"\bSendmail\b", re.I)),
    ("Microsoft Exchange", re.compile(r"\bMicrosoft ESMTP MAIL Service\b|\bMicrosoft Exchange\b", re.I)),
    ("Dovecot", re.compile(r"\bDovecot\b", re.I)),
    ("Cyrus", re.compile(r"\bCyrus\b", re.I)),
    ("Courier", re.compile(r"\bCourier\b", re.I)),
)


def named_in(greeting: str) -> str | None:
    return next((name for name, pattern in _NAMED if pattern.search(greeting)), None)


def of_endpoint(sessions: Sequence[TransportObservation], label: str) -> str | None:
    """The software the greeting of LABEL's session named, if any."""
    for session in sessions:
        greeting = getattr(session, "greeting", None)
        if session.endpoint.label == label and greeting is not None:
            return named_in(str(greeting.text))
    return None
