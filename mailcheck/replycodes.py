"""What SMTP reply codes (RFC 5321 §4.2, RFC 4954, RFC 7504) and enhanced status codes (RFC 3463 and the
IANA registry, RFC 5248) mean, in words. Used in reports and by ``mailcheck explain``."""

import re

REPLY_CLASS = {
    "2": "success",
    "3": "intermediate: the server waits for more input",
    "4": "transient failure: try again later",
    "5": "permanent failure: do not retry unchanged",
}

REPLY_CODES = {
    211: "system status or help reply",
    214: "help message",
    220: "service ready",
    221: "service closing the connection",
    235: "authentication succeeded (RFC 4954)",
    250: "requested action okay, completed",
    251: "user not local; will forward",
    252: "cannot verify the user, but will accept the message and attempt delivery",
    334: "authentication challenge: send the next part of the exchange (RFC 4954)",
    354: "start mail input; end with <CRLF>.<CRLF>",
    421: "service not available, closing the connection (overloaded, shutting down, or rate limiting)",
    432: "a password transition is needed (RFC 4954)",
    450: "mailbox unavailable for now (busy, greylisting, or temporarily blocked)",
    451: "aborted: local error in processing (often greylisting or a policy lookup that failed)",
    452: "insufficient system storage, or too many recipients",
    454: "temporary authentication failure, or TLS not available for now",
    455: "server cannot accommodate the parameters",
    500: "syntax error, command unrecognised",
    501: "syntax error in parameters or arguments",
    502: "command not implemented",
    503: "bad sequence of commands",
    504: "command parameter or authentication mechanism not implemented",
    521: "this host does not accept mail (RFC 7504)",
    523: "encryption needed",
    530: "authentication required (or STARTTLS required first)",
    534: "authentication mechanism is too weak (RFC 4954)",
    535: "authentication credentials invalid (RFC 4954)",
    538: "encryption required for the requested authentication mechanism (RFC 4954)",
    550: "mailbox unavailable: not found, no access, or refused by policy",
    551: "user not local",
    552: "exceeded storage allocation (mailbox full or message too big)",
    553: "mailbox name not allowed (bad address syntax)",
    554: "transaction failed; at the greeting: no SMTP service here",
    555: "MAIL FROM/RCPT TO parameters not recognised or not implemented",
    556: "the domain does not accept mail (RFC 7504)",
}

ENHANCED_CLASS = {"2": "success", "4": "persistent transient failure", "5": "permanent failure"}

ENHANCED_SUBJECT = {
    "0": "other or undefined status",
    "1": "addressing status",
    "2": "mailbox status",
    "3": "mail system status",
    "4": "network and routing status",
    "5": "mail delivery protocol status",
    "6": "message content or media status",
    "7": "security or policy status",
}

ENHANCED_DETAIL = {
    "0.0": "other undefined status",
    "1.0": "other address status",
    "1.1": "bad destination mailbox address: the user does not exist",
    "1.2": "bad destination system address: the domain does not exist or accepts no mail",
    "1.3": "bad destination mailbox address syntax",
    "1.4": "destination mailbox address ambiguous",
    "1.5": "destination address valid",
    "1.6": "destination mailbox has moved, no forwarding address",
    "1.7": "bad sender's mailbox address syntax",
    "1.8": "bad sender's system address: the sender's domain does not resolve",
    "1.9": "message relayed to a non-compliant mailer",
    "1.10": "recipient address has a null MX (RFC 7505)",
    "2.0": "other or undefined mailbox status",
    "2.1": "mailbox disabled, not accepting messages",
    "2.2": "mailbox full",
    "2.3": "message length exceeds the administrative limit",
    "2.4": "mailing list expansion problem (OpenSMTPD also answers it for an unknown recipient)",
    "3.0": "other or undefined mail system status",
    "3.1": "mail system full",
    "3.2": "system not accepting network messages",
    "3.3": "system not capable of the selected features",
    "3.4": "message too big for the system",
    "3.5": "system incorrectly configured",
    "3.6": "requested priority was changed",
    "4.0": "other or undefined network or routing status",
    "4.1": "no answer from host",
    "4.2": "bad connection",
    "4.3": "directory server failure (often a DNS failure)",
    "4.4": "unable to route",
    "4.5": "mail system congestion",
    "4.6": "routing loop detected",
    "4.7": "delivery time expired",
    "5.0": "other or undefined protocol status",
    "5.1": "invalid command",
    "5.2": "syntax error",
    "5.3": "too many recipients",
    "5.4": "invalid command arguments",
    "5.5": "wrong protocol version",
    "5.6": "authentication exchange line is too long",
    "6.0": "other or undefined media error",
    "6.1": "media not supported",
    "6.2": "conversion required and prohibited",
    "6.3": "conversion required but not supported",
    "6.4": "conversion with loss performed",
    "6.5": "conversion failed",
    "6.6": "message content not available",
    "6.7": "non-ASCII addresses not permitted for that sender or recipient",
    "6.8": "UTF-8 string reply is required, but not permitted by the client",
    "6.9": "UTF-8 header message cannot be transferred to one or more recipients",
    "7.0": "other or undefined security status",
    "7.1": "delivery not authorised, message refused (relay denied, or blocked by policy)",
    "7.2": "mailing list expansion prohibited",
    "7.3": "security conversion required but not possible",
    "7.4": "security features not supported",
    "7.5": "cryptographic failure",
    "7.6": "cryptographic algorithm not supported",
    "7.7": "message integrity failure",
    "7.8": "authentication credentials invalid",
    "7.9": "authentication mechanism is too weak",
    "7.10": "encryption needed",
    "7.11": "encryption required for the requested authentication mechanism",
    "7.12": "a password transition is needed",
    "7.13": "user account disabled",
    "7.14": "trust relationship required",
    "7.15": "priority level is too low",
    "7.16": "message is too big for the specified priority",
    "7.17": "mailbox owner has changed",
    "7.18": "domain owner has changed",
    "7.19": "RRVS test cannot be completed",
    "7.20": "no passing DKIM signature found",
    "7.21": "no acceptable DKIM signature found",
    "7.22": "no valid author-matched DKIM signature found",
    "7.23": "SPF validation failed",
    "7.24": "SPF validation error",
    "7.25": "reverse DNS validation failed",
    "7.26": "multiple authentication checks failed",
    "7.27": "sender address has a null MX",
    "7.28": "mail flood detected",
    "7.29": "ARC validation failure",
    "7.30": "REQUIRETLS support required",
}

# Details whose meaning depends on the class digit.
CLASS_DETAIL = {
    "2.7.0": "authentication succeeded",
    # Microsoft 365 (Exchange Online), not in the IANA registry: what its 535 means
    "5.7.139": "Microsoft 365: authentication refused — SMTP AUTH is disabled for this mailbox or the tenant, basic "
    "authentication is blocked (security defaults), or MFA/conditional access refused it; use OAuth 2.0 "
    "(--auth-mech xoauth2) or enable SMTP AUTH for the mailbox",
}

ENHANCED_RE = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")
REPLY_RE = re.compile(r"^[2-5][0-9][0-9]$")


def explain_reply(code: int) -> str:
    """``550`` → words: the code's own meaning when known, else its class."""
    text = str(code)
    meaning = REPLY_CODES.get(code)
    klass = REPLY_CLASS.get(text[0], "unknown class")
    return f"{meaning} ({klass})" if meaning else klass


def explain_enhanced(code: str) -> str | None:
    """``5.7.1`` → words, or None when it is not an enhanced status code."""
    match = ENHANCED_RE.match(code)
    if match is None:
        return None
    klass, subject, detail = match.groups()
    # RFC 4954 §6 registers 2.7.0 as "authentication succeeded"; 4.7.0 and 5.7.0 keep RFC 3463's meaning
    meaning = CLASS_DETAIL.get(f"{klass}.{subject}.{detail}") or ENHANCED_DETAIL.get(f"{subject}.{detail}")
    if meaning is None:
        meaning = f"{ENHANCED_SUBJECT.get(subject, 'unknown subject')} (detail {detail} not registered)"
    return f"{meaning} ({ENHANCED_CLASS[klass]})"


def is_reply_code(text: str) -> bool:
    return bool(REPLY_RE.match(text))


def is_enhanced_code(text: str) -> bool:
    return bool(ENHANCED_RE.match(text))


# IMAP response codes (RFC 5530, RFC 9051 §7.1) and POP3 extended response codes (RFC 2449, RFC 3206):
# code → (stable error kind, meaning in words).
MAILBOX_CODES = {
    "AUTHENTICATIONFAILED": ("auth-failed", "wrong user name or password, or the account cannot log in"),
    "AUTHORIZATIONFAILED": ("auth-failed", "authenticated, but not allowed to act as that user"),
    "EXPIRED": ("auth-failed", "the password or account has expired"),
    "PRIVACYREQUIRED": ("encryption-required", "the server requires TLS before this operation"),
    "CONTACTADMIN": ("auth-failed", "the account needs the administrator's attention"),
    "NOPERM": ("auth-failed", "no permission for this operation"),
    "INUSE": ("in-use", "the mailbox is in use by another session"),
    "UNAVAILABLE": ("temporary", "a server subsystem is down; try again later"),
    "LIMIT": ("temporary", "a server limit was hit (too many connections?)"),
    "SERVERBUG": ("temporary", "the server hit an internal error"),
    "CANNOT": ("rejected", "the operation can never succeed"),
    "ALERT": ("rejected", "the server has an alert for the user"),
    "AUTH": ("auth-failed", "the credentials were rejected (RFC 3206)"),
    "SYS/TEMP": ("temporary", "a temporary system problem; try again later (RFC 3206)"),
    "SYS/PERM": ("rejected", "a permanent system problem (RFC 3206)"),
    "IN-USE": ("in-use", "the maildrop is locked by another session (RFC 2449)"),
    "LOGIN-DELAY": ("temporary", "logged in too soon after the last login (RFC 2449)"),
}


def explain_mailbox_code(code: str | None) -> tuple[str, str | None]:
    """(error kind, meaning) for an IMAP or POP3 response code; ``auth-failed`` when there is none."""
    if code is None:
        return "auth-failed", None
    return MAILBOX_CODES.get(code.upper(), ("auth-failed", None))
