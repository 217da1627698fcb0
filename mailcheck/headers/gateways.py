"""The verdicts receiving gateways and mailbox providers stamp besides the big filters: Cisco IronPort (SBRS),
Trend Micro, Sophos, Cloudmark, OVH, Mail.ru, Yandex and Gmail, and Microsoft 365's mailbox-delivery field
(where the message was put: Inbox or Junk Email, and by what rule). Each reads what the vendor writes in its
own words; where a vendor documents no threshold, the score is reported and no spam verdict is invented."""

import re

from mailcheck.headers.verdicts import Verdict, number, pairs

DESTINATIONS = {"I": "the Inbox", "J": "Junk Email", "C": "a folder the user chose"}


def mailbox_delivery(name: str, value: str) -> Verdict:
    """X-Microsoft-Antispam-Mailbox-Delivery: where Exchange Online delivered the message and why."""
    found = pairs(value)
    dest = found.get("DEST", "")
    words = [f"delivered to {DESTINATIONS[dest]} (dest:{dest})"] if dest in DESTINATIONS else []
    ofr = found.get("OFR", "")
    if ofr == "CustomRules" or found.get("UCF") == "1":
        words.append("a rule of the user's own (an Outlook/inbox rule or their safe and blocked senders) decided")
    elif ofr:
        words.append(f"OFR:{ofr}: the mailbox's spam settings applied the filter's verdict")
    if found.get("JMR") == "1":
        words.append("jmr:1: the mailbox's junk-email rule acted on the message")
    facts: dict[str, object] = {k.lower(): v for k, v in found.items() if k in ("DEST", "OFR", "UCF", "JMR", "AUTH")}
    spam = None if dest not in DESTINATIONS else dest == "J"
    return Verdict(name, "Microsoft 365 mailbox delivery", spam, words, facts)


def sbrs(name: str, value: str) -> Verdict:
    """X-SBRS / X-IronPort-Reputation: Cisco's SenderBase reputation of the connecting address, -10 to +10."""
    score = number(value.strip())
    if score is None:
        words = ["no reputation data for the sending address (SBRS None)"]
        return Verdict(name, "Cisco Secure Email (IronPort)", None, words, {"sbrs": None})
    if score <= -3:
        band = "poor: Cisco's default policy blocks senders at -3 or below"
    elif score < -1:
        band = "suspect: Cisco's default policy throttles senders between -3 and -1"
    else:
        band = "neutral to good"
    words = [f"SBRS {score:g} of -10..+10 ({band})"]
    return Verdict(name, "Cisco Secure Email (IronPort)", None, words, {"sbrs": score})


def ironport_scanned(name: str, value: str) -> Verdict:
    """X-IronPort-Anti-Spam-Filtered / -Result: scanned; the result is an encoding Cisco does not document."""
    words = ["scanned by Cisco's anti-spam (its result field is an undocumented encoding)"]
    return Verdict(name, "Cisco Secure Email (IronPort)", None, words, {})


_TM_RESULT = re.compile(r"^\s*(Yes|No)-(-?\d+(?:\.\d+)?)-(-?\d+(?:\.\d+)?)", re.IGNORECASE)


def trend_micro(name: str, value: str) -> Verdict:
    """X-TM-AS-Result / X-imss-scan-details: "No--2.997-7.0-31-10" is not spam, score -2.997, threshold 7.0."""
    found = _TM_RESULT.match(value)
    if not found:
        return Verdict(name, "Trend Micro", None, [], {})
    spam = found.group(1).lower() == "yes"
    score, threshold = float(found.group(2)), float(found.group(3))
    words = [f"{'spam' if spam else 'not spam'} (score {score:g} of {threshold:g} needed)"]
    return Verdict(name, "Trend Micro", spam, words, {"score": score, "threshold": threshold})


def trend_micro_sender(name: str, value: str) -> Verdict:
    """X-TM-AS-User-Approved-Sender / -Blocked-Sender: the recipient's own lists."""
    listed = value.split(";")[0].strip().lower() == "yes"
    blocked = "blocked" in name.lower()
    kind = "blocked" if blocked else "approved"
    words = [f"the sender is on the user's {kind} senders list"] if listed else []
    return Verdict(name, "Trend Micro", True if listed and blocked else None, words, {f"user_{kind}": listed})


_PROBABILITY = re.compile(r"Probability=(\d+(?:\.\d+)?)%", re.IGNORECASE)


def sophos(name: str, value: str) -> Verdict:
    """X-LASED-SpamProbability (Sophos Email, 0..1) and X-PMX-Spam (PureMessage, Probability=N%)."""
    if name.lower() == "x-pmx-spam":
        found = _PROBABILITY.search(value)
        probability = float(found.group(1)) / 100 if found else None
    else:
        probability = number(value.strip())
    if probability is None:
        return Verdict(name, "Sophos", None, [], {})
    words = [f"spam probability {probability:.0%}"]
    return Verdict(name, "Sophos", None, words, {"probability": probability})


def cloudmark(name: str, value: str) -> Verdict:
    """X-CMAE-Score: Cloudmark Authority's score, 0 (legitimate) to 100 (spam)."""
    score = number(value.strip())
    spam = None if score is None or 0 < score < 100 else score >= 100
    words = [f"score {score:g} of 0..100 (0 legitimate, 100 spam)"] if score is not None else []
    return Verdict(name, "Cloudmark", spam, words, {"score": score})


def ovh(name: str, value: str) -> Verdict:
    """X-Ovh-Spam-Status / X-VR-SPAMSTATE: OK or SPAM; X-Ovh-Exchange-Junk: True."""
    state = value.split(";")[0].strip().upper()
    if name.lower() == "x-ovh-exchange-junk":
        junked = state == "TRUE"
        return Verdict(name, "OVHcloud", junked, ["put in Junk Email by OVH's Exchange"] if junked else [], {})
    spam = {"OK": False, "SPAM": True}.get(state)
    words = [f"{'spam' if spam else 'not spam'} ({state})"] if spam is not None else [f"state {state!r}"]
    return Verdict(name, "OVHcloud", spam, words)


def mailru(name: str, value: str) -> Verdict:
    """X-Mras: Mail.ru's anti-spam result ("OK" when clean)."""
    state = value.strip()
    spam = False if state.upper() == "OK" else None
    return Verdict(name, "Mail.ru", spam, [f"anti-spam result {state!r}"])


def yandex(name: str, value: str) -> Verdict:
    """X-Yandex-Spam: 1 is clean, 4 is spam (the two values Yandex's filters are known to write)."""
    level = value.strip()
    spam = {"1": False, "4": True}.get(level)
    words = [f"level {level}: " + {"1": "not spam", "4": "spam"}.get(level, "neither clean (1) nor spam (4)")]
    return Verdict(name, "Yandex", spam, words, {"level": level})


def gmail(name: str, value: str) -> Verdict:
    """X-Gm-Spam / X-Gm-Phishy (Google Workspace, 0 or 1) and X-Gmail-Labels (a Takeout export's labels)."""
    if name.lower() == "x-gmail-labels":
        labels = [label.strip() for label in value.split(",")]
        spam = "Spam" in labels
        words = ["labelled Spam"] if spam else []
        return Verdict(name, "Gmail", spam, words, {"labels": labels})
    flagged = value.strip() == "1"
    what = "phishing" if "phishy" in name.lower() else "spam"
    return Verdict(name, "Gmail", flagged, [f"{what} flag {value.strip()}"], {})


def spam_flag(name: str, value: str) -> Verdict:
    """X-Spam-Flag / X-Spam: YES or NO, as SpamAssassin and many filters write it."""
    flagged = value.strip().upper().startswith("YES")
    return Verdict(name, "spam filter", flagged, ["flagged as spam" if flagged else "not flagged"])


GATEWAY_DECODERS = {
    "x-microsoft-antispam-mailbox-delivery": mailbox_delivery,
    "x-sbrs": sbrs,
    "x-ironport-reputation": sbrs,
    "x-ironport-anti-spam-filtered": ironport_scanned,
    "x-tm-as-result": trend_micro,
    "x-tm-as-user-approved-sender": trend_micro_sender,
    "x-tm-as-user-blocked-sender": trend_micro_sender,
    "x-lased-spamprobability": sophos,
    "x-pmx-spam": sophos,
    "x-cmae-score": cloudmark,
    "x-ovh-spam-status": ovh,
    "x-vr-spamstate": ovh,
    "x-ovh-exchange-junk": ovh,
    "x-mras": mailru,
    "x-yandex-spam": yandex,
    "x-gm-spam": gmail,
    "x-gm-phishy": gmail,
    "x-gmail-labels": gmail,
    "x-spam-flag": spam_flag,
}
