"""The question users ask of a trace: was this message junked, by whom, on what signal, and what to do.

One verdict from everything the headers hold: the filters' and gateways' verdict fields (``filters``), where
each was stamped, and the Authentication-Results the trace trusts. The decisive signal is the most specific
one present, in this order: a rule of the recipient or their organisation, a spoofing or impersonation
verdict, phishing or malware, failed authentication at the border, bulk mail, then the content score.
"""

from dataclasses import dataclass
from email.utils import parseaddr

from mailcheck.headers.authresults import AuthResults
from mailcheck.headers.trace import Trace
from mailcheck.headers.verdicts import Verdict, bcl_meaning

SPOOF = {"SPOOF": "spoofing", "DIMP": "domain impersonation", "UIMP": "user impersonation",
         "GIMP": "impersonation (mailbox intelligence)"}  # fmt: skip
MALICIOUS = {"PHSH": "phishing", "HPHSH": "high-confidence phishing", "HPHISH": "high-confidence phishing",
             "MALW": "malware"}  # fmt: skip
BULK_THRESHOLD = 7  # Microsoft 365's default bulk threshold (the BCL at or above which bulk mail is junked)


@dataclass(frozen=True)
class JunkVerdict:
    junked: bool | None  # None: no filter left a verdict
    judge: str | None  # "Microsoft 365 at mx.example.org"
    signal: str  # the decisive signal, in words
    advice: str | None
    filters: tuple[str, ...]

    def summary(self) -> str:
        if self.junked is None:
            return self.signal
        head = "junked" if self.junked else "not junked"
        text = f"{head}: {self.judge}" if self.judge else head
        text += f" — {self.signal}"
        return text + (f" — {self.advice}" if self.advice else "")


def _judge(verdict: Verdict) -> str:
    return f"{verdict.filter} at {verdict.at}" if verdict.at else verdict.filter


def _fact(verdicts: list[Verdict], key: str) -> tuple[str, Verdict] | None:
    for verdict in verdicts:
        value = verdict.facts.get(key)
        if value not in (None, ""):
            return str(value).upper() if key in ("sfv", "cat", "dest", "srv") else str(value), verdict
    return None


def _from_domain(from_field: str | None) -> str | None:
    address = parseaddr(from_field or "")[1]
    return address.rpartition("@")[2].lower() or None if "@" in address else None


def _failed_authentication(trusted: list[AuthResults]) -> str | None:
    """DMARC (or Microsoft's composite authentication) failing in results the trace trusts, in words."""
    for results in trusted:
        dmarc = next((r for r in results.of("dmarc") if r.result in ("fail", "permerror")), None)
        compauth = next((r for r in results.of("compauth") if r.result in ("fail", "softfail")), None)
        composite = ""
        if compauth is not None:
            composite = f"compauth={compauth.result}" + (f" reason {compauth.reason}" if compauth.reason else "")
        if dmarc is not None:
            domain = dmarc.prop("header.from") or "the From domain"
            return f"DMARC {dmarc.result} for {domain}" + (f" ({composite})" if composite else "")
        if composite:
            return f"Microsoft's composite authentication failed ({composite})"
        spf = next((r for r in results.of("spf") if r.result == "fail"), None)
        dkim_pass = any(r.result == "pass" for r in results.of("dkim"))
        if spf is not None and not dkim_pass:
            return f"SPF fail for {spf.prop('smtp.mailfrom') or 'the envelope sender'} and no DKIM pass"
    return None


def judge(verdicts: list[Verdict], trace: Trace | None, from_field: str | None, list_id: str | None) -> JunkVerdict:
    """The verdict line for a message whose headers hold VERDICTS (newest first) and TRACE."""
    filters = tuple(dict.fromkeys(v.filter for v in verdicts))
    if not verdicts:
        signal = "no spam filter left a verdict in these headers: the trace shows the path, not how it was judged"
        return JunkVerdict(None, None, signal, None, filters)
    said_spam = [v for v in verdicts if v.spam]
    deciding = next((v for v in said_spam if v.facts.get("dest") == "J"), said_spam[0] if said_spam else None)
    domain = _from_domain(from_field)
    trusted = [h.results for h in trace.auth if h.trusted] if trace is not None else []
    if deciding is None:
        clean = [v for v in verdicts if v.spam is False] or verdicts
        words = "; ".join(w for v in clean[:3] for w in v.words[:1]) or "no filter called it spam"
        return JunkVerdict(False, _judge(clean[0]), words, None, filters)
    signal, advice = _signal(verdicts, deciding, trusted, domain, list_id)
    return JunkVerdict(True, _judge(deciding), signal, advice, filters)


def _signal(
    verdicts: list[Verdict], deciding: Verdict, trusted: list[AuthResults], domain: str | None, list_id: str | None
) -> tuple[str, str | None]:
    """The decisive signal and what to do about it."""
    sfv, ucf, ofr = _fact(verdicts, "sfv"), _fact(verdicts, "ucf"), _fact(verdicts, "ofr")
    if (ucf and ucf[0] == "1") or (ofr and ofr[0] == "CustomRules"):
        return "a rule of the recipient's own moved it (an inbox rule, or their blocked senders)", (
            "the recipient checks their inbox rules and blocked senders; nothing the sender can change"
        )
    if sfv is not None and sfv[0] in ("BLK", "SKS", "SKB"):
        why = {
            "BLK": ("the sender is on the recipient's blocked senders list (SFV:BLK)",
                    "the recipient removes the sender from their blocked senders"),
            "SKS": ("a mail-flow (transport) rule of the receiving organisation marked it spam (SFV:SKS)",
                    "the receiving organisation's admin reviews its mail-flow rules"),
            "SKB": ("the sender is on the receiving organisation's block list (SFV:SKB)",
                    "the receiving organisation's admin reviews its tenant block list"),
        }[sfv[0]]  # fmt: skip
        return why
    if any(v.facts.get("user_blocked") for v in verdicts):
        return "the sender is on the recipient's blocked senders list (Trend Micro)", (
            "the recipient removes the sender from their blocked senders"
        )
    cat = _fact(verdicts, "cat")
    authentication = _failed_authentication(trusted)
    fix_auth = _auth_advice(domain, list_id)
    if cat is not None and cat[0] in SPOOF:
        signal = f"judged {SPOOF[cat[0]]} (CAT:{cat[0]})" + (f" of {domain}" if domain and cat[0] == "SPOOF" else "")
        if authentication:
            signal += f"; {authentication}"
        return signal, fix_auth
    if cat is not None and cat[0] in MALICIOUS:
        return f"classified as {MALICIOUS[cat[0]]} (CAT:{cat[0]})", (
            "if the message is legitimate, report it to the filter's vendor as a false positive"
        )
    if authentication:
        return f"{authentication} at the receiving border", fix_auth
    bcl = _fact(verdicts, "bcl")
    srv = _fact(verdicts, "srv")
    if (bcl and bcl[0].isdigit() and int(bcl[0]) >= BULK_THRESHOLD) or (cat and cat[0] == "BULK") or srv:
        level = f"BCL {bcl[0]}: {bcl_meaning(int(bcl[0]))}" if bcl and bcl[0].isdigit() else "bulk"
        return f"filtered as bulk mail ({level})", (
            "recipients who want it add the sender to their safe senders; a bulk sender keeps complaints low and "
            "offers one-click unsubscribe (RFC 8058)"
        )
    return _content_signal(deciding)


def _auth_advice(domain: str | None, list_id: str | None) -> str:
    if list_id:
        return (
            f"it came through the mailing list {list_id}, which broke the sender's authentication: the list should "
            "rewrite From or keep DKIM intact, or the receiver should trust the list's ARC seal"
        )
    if domain:
        return f"the sender aligns SPF or DKIM with {domain} (mailcheck dmarc {domain}; mailcheck spf {domain})"
    return "the sender aligns SPF or DKIM with the From domain"


def _content_signal(deciding: Verdict) -> tuple[str, str | None]:
    """A content filter's own reason: its score and the rules that weighed most (and, without either, that
    the headers do not say why)."""
    words = "; ".join(deciding.words) or "called it spam"
    symbols = deciding.facts.get("symbols")
    review = "review the content against the rules listed"
    if isinstance(symbols, dict) and symbols:
        top = [(n, w) for n, w in sorted(symbols.items(), key=lambda item: -float(item[1]))[:3] if w > 0]
        return f"{words}; heaviest rules: " + ", ".join(f"{name} ({weight:g})" for name, weight in top), review
    tests = deciding.facts.get("tests")
    if isinstance(tests, list) and tests:
        return f"{words}; rules hit: " + ", ".join(str(t) for t in tests[:5]), review
    return f"{words}; the headers hold no reason beyond this verdict", None
