"""Every verdict header mailcheck decodes, by field name: the filters' (``verdicts``) and the gateways' and
mailbox providers' (``gateways``)."""

from collections.abc import Callable

from mailcheck.headers.gateways import GATEWAY_DECODERS
from mailcheck.headers.verdicts import DECODERS, Verdict

ALL: dict[str, Callable[[str, str], Verdict]] = {**DECODERS, **GATEWAY_DECODERS}


def decode(name: str, value: str) -> Verdict | None:
    decoder = ALL.get(name.lower())
    return decoder(name, value) if decoder else None
