"""Spam-filter verdict headers decoded into words: SpamAssassin, rspamd, Microsoft 365 (SCL, BCL, SFV, CAT),
Proofpoint, Barracuda, Mimecast (the gateways and mailbox providers are in ``gateways``; ``filters`` holds the
registry of both)."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

SCL = {
    -1: "trusted (skipped filtering)",
    0: "not spam",
    1: "not spam",
    5: "spam",
    6: "spam",
    7: "high-confidence spam",
    8: "high-confidence spam",
    9: "high-confidence spam",
}
SFV = {
    "NSPM": "not spam",
    "SPM": "spam",
    "SKS": "marked spam before filtering (mail flow rule)",
    "SKA": "allowed by the organisation's allow list",
    "SKB": "blocked by the organisation's block list",
    "SKI": "intra-organisation mail, not filtered",
    "SKN": "marked not-spam before filtering (mail flow rule)",
    "SKQ": "released from quarantine",
    "SFE": "allowed by the user's safe senders",
    "BLK": "blocked by the user's blocked senders",
}
CAT = {
    "NONE": "no category",
    "BULK": "bulk",
    "SPM": "spam",
    "HSPM": "high-confidence spam",
    "PHSH": "phishing",
    "HPHSH": "high-confidence phishing",
    "HPHISH": "high-confidence phishing",
    "MALW": "malware",
    "SPOOF": "spoofing",
    "DIMP": "domain impersonation",
    "UIMP": "user impersonation",
    "GIMP": "mailbox-intelligence impersonation",
    "AMP": "anti-malware",
    "SAP": "safe attachments",
    "OSPM": "outbound spam",
}
IPV = {"CAL": "the sending IP is on the allow list", "NLI": "the sending IP is on no reputation list"}


def bcl_meaning(level: int) -> str:
    if level <= 0:
        return "not from a bulk sender"
    if level <= 3:
        return "bulk sender with few complaints"
    if level <= 7:
        return "bulk sender with a mixed number of complaints"
    return "bulk sender with many complaints"


@dataclass
class Verdict:
    header: str
    filter: str
    spam: bool | None
    words: list[str] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)
    at: str | None = None  # the host whose Received field lies just below this one: where it was judged

    def to_dict(self) -> dict[str, object]:
        found = {"header": self.header, "filter": self.filter, "spam": self.spam, "words": self.words, "at": self.at}
        return found | self.facts


def number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def pairs(value: str, separator: str = ";") -> dict[str, str]:
    found: dict[str, str] = {}
    for part in value.split(separator):
        key, sep, item = part.partition(":")
        if sep:
            found[key.strip().upper()] = item.strip()
    return found


def spamassassin(name: str, value: str) -> Verdict:
    spam = value.strip().lower().startswith("yes")
    score = re.search(r"(?:score|hits)=(-?[\d.]+)", value)
    required = re.search(r"required=(-?[\d.]+)", value)
    tests = re.search(r"tests=([^\s]+(?:\s*,\s*[^\s=]+)*)", value)
    names = [t.strip() for t in tests.group(1).split(",") if t.strip()] if tests else []
    facts: dict[str, object] = {"score": number(score.group(1)) if score else None, "tests": names}
    if required:
        facts["threshold"] = number(required.group(1))
    words = [f"{'spam' if spam else 'not spam'} (score {facts['score']} of {facts.get('threshold', '?')} needed)"]
    return Verdict(name, "SpamAssassin", spam, words, facts)


def rspamd(name: str, value: str) -> Verdict:
    head = re.match(r"\s*\w+:\s*(True|False)\s*\[\s*(-?[\d.]+)\s*/\s*(-?[\d.]+)\s*\]", value)
    symbols = re.findall(r";\s*([A-Z0-9_]+)\(([-\d.]+)\)", value)
    spam = head.group(1) == "True" if head else None
    facts: dict[str, object] = {"symbols": {s: float(w) for s, w in symbols}}
    words = []
    if head:
        facts.update(score=float(head.group(2)), threshold=float(head.group(3)))
        words.append(f"{'spam' if spam else 'not spam'} (score {head.group(2)} of {head.group(3)})")
    return Verdict(name, "rspamd", spam, words, facts)


def forefront(name: str, value: str) -> Verdict:
    found = pairs(value)
    words = []
    spam = None
    if "SCL" in found and found["SCL"].lstrip("-").isdigit():
        level = int(found["SCL"])
        spam = level >= 5
        words.append(f"SCL {level}: {SCL.get(level, 'not spam' if level < 5 else 'spam')}")
    if found.get("SFV") in SFV:
        words.append(f"SFV {found['SFV']}: {SFV[found['SFV']]}")
    if found.get("CAT") in CAT:
        words.append(f"CAT {found['CAT']}: {CAT[found['CAT']]}")
    if found.get("IPV") in IPV:
        words.append(f"IPV {found['IPV']}: {IPV[found['IPV']]}")
    if found.get("SRV") == "BULK":
        words.append("SRV BULK: filtered as bulk mail")
    if found.get("SFTY"):
        words.append(f"SFTY {found['SFTY']}: a safety tip was shown")
    if found.get("DIR"):
        words.append({"INB": "inbound", "OUT": "outbound", "INT": "internal"}.get(found["DIR"], found["DIR"]))
    if spam is None and found.get("SFV") in ("SPM", "SKS", "BLK", "SKB"):
        spam = True
    facts: dict[str, object] = {
        k.lower(): v
        for k, v in found.items()
        if k in ("CIP", "CTRY", "LANG", "SCL", "SFV", "CAT", "IPV", "DIR", "H", "PTR", "SRV", "SFTY")
    }
    return Verdict(name, "Microsoft 365 (Exchange Online Protection)", spam, words, facts)


def microsoft_scl(name: str, value: str) -> Verdict:
    level = int(value.strip()) if value.strip().lstrip("-").isdigit() else None
    words = [f"SCL {level}: {SCL.get(level, 'not spam' if level < 5 else 'spam')}"] if level is not None else []
    return Verdict(name, "Microsoft Exchange", None if level is None else level >= 5, words, {"scl": level})


def microsoft_antispam(name: str, value: str) -> Verdict:
    found = pairs(value)
    words = []
    if found.get("BCL", "").isdigit():
        words.append(f"BCL {found['BCL']}: {bcl_meaning(int(found['BCL']))}")
    facts: dict[str, object] = {k.lower(): v for k, v in found.items()}
    return Verdict(name, "Microsoft 365", None, words, facts)


def scored(name: str, value: str, product: str) -> Verdict:
    score = re.search(r"-?\d+(?:\.\d+)?", value)
    rule = re.search(r"rule=(\S+)", value)
    facts: dict[str, object] = {"score": number(score.group(0)) if score else None}
    words = [f"score {facts['score']}"] if score else []
    spam = None
    if rule:
        facts["rule"] = rule.group(1)
        words.append(f"rule {rule.group(1)}")
        spam = "spam" in rule.group(1).lower() and "notspam" not in rule.group(1).lower()
    return Verdict(name, product, spam, words, facts)


def proofpoint(name: str, value: str) -> Verdict:
    return scored(name, value, "Proofpoint")


def barracuda(name: str, value: str) -> Verdict:
    return scored(name, value, "Barracuda")


def mimecast(name: str, value: str) -> Verdict:
    return scored(name, value, "Mimecast")


DECODERS: dict[str, Callable[[str, str], Verdict]] = {
    "x-spam-status": spamassassin,
    "x-spamd-result": rspamd,
    "x-forefront-antispam-report": forefront,
    "x-ms-exchange-organization-scl": microsoft_scl,
    "x-microsoft-antispam": microsoft_antispam,
    "x-proofpoint-spam-details": proofpoint,
    "x-barracuda-spam-score": barracuda,
    "x-mimecast-spam-score": mimecast,
}
