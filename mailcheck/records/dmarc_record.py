"""The DMARC record (RFC 9989 §4.7): tag=value pairs, validated, with what a receiver uses for bad values.

Pure functions. Tags removed by RFC 9989 (pct, rf, ri) are noted and ignored, as receivers will.
"""

import functools
from dataclasses import dataclass, field

POLICIES = ("none", "quarantine", "reject")
KNOWN_TAGS = ("v", "p", "sp", "np", "adkim", "aspf", "fo", "rua", "ruf", "psd", "t")
REMOVED_TAGS = {"pct": "replaced by t=", "rf": "only one report format exists", "ri": "receivers choose the interval"}


@dataclass(frozen=True)
class TagProblem:
    tag: str
    message: str
    uses: str | None = None  # what the receiver uses instead


@dataclass(frozen=True)
class DmarcRecord:
    text: str
    tags: dict[str, str] = field(default_factory=dict)
    problems: tuple[TagProblem, ...] = ()
    removed: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.tags.get("v") == "DMARC1"

    @property
    def policy(self) -> str:
        p = self.tags.get("p", "")
        return p if p in POLICIES else "none"

    def subdomain_policy(self) -> str:
        sp = self.tags.get("sp", "")
        return sp if sp in POLICIES else self.policy

    def nonexistent_policy(self) -> str:
        np_ = self.tags.get("np", "")
        return np_ if np_ in POLICIES else self.subdomain_policy()

    def alignment(self, tag: str) -> str:
        return "strict" if self.tags.get(tag) == "s" else "relaxed"

    @property
    def testing(self) -> bool:
        return self.tags.get("t") == "y"

    def report_uris(self, tag: str) -> list[str]:
        return [u.strip() for u in self.tags.get(tag, "").split(",") if u.strip()]


def is_dmarc(text: str) -> bool:
    """A TXT record is a DMARC record candidate when it starts with v=DMARC1 (RFC 9989 §4.7)."""
    head = text.lstrip().split(";", 1)[0].replace(" ", "").replace("\t", "")
    return head == "v=DMARC1"


def _check_tag(name: str, value: str) -> TagProblem | None:
    choices = {
        "p": POLICIES,
        "sp": POLICIES,
        "np": POLICIES,
        "adkim": ("r", "s"),
        "aspf": ("r", "s"),
        "psd": ("y", "n", "u"),
        "t": ("y", "n"),
    }
    defaults = {"p": "none", "adkim": "r", "aspf": "r", "psd": "u", "t": "n"}
    if name in choices and value not in choices[name]:
        fallback = {"sp": "the p= value", "np": "the sp= value"}.get(name, defaults.get(name))
        return TagProblem(name, f"{name}={value!r} is not one of {', '.join(choices[name])}", fallback)
    if name == "fo":
        bad = [opt for opt in value.split(":") if opt.strip() not in ("0", "1", "d", "s")]
        if bad:
            return TagProblem(name, f"fo={value!r}: unknown option(s) {', '.join(bad)}", "0")
    if name in ("rua", "ruf"):
        for uri in (u.strip() for u in value.split(",")):
            if not uri.lower().startswith("mailto:") or "@" not in uri:
                return TagProblem(name, f"{name} destination {uri!r} is not a mailto: address", "none")
    return None


@functools.lru_cache(maxsize=4096)
def parse_dmarc(text: str) -> DmarcRecord:
    """The record's tags and problems (cached: a run reads each record several times, and many domains
    publish the same text; the record is frozen and nothing changes its tags)."""
    tags: dict[str, str] = {}
    problems: list[TagProblem] = []
    removed: list[str] = []
    unknown: list[str] = []
    for index, part in enumerate(p.strip() for p in text.split(";")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep or not name:
            problems.append(TagProblem(part, f"{part!r} is not tag=value"))
            continue
        if index == 0 and name != "v":
            problems.append(TagProblem(name, "v=DMARC1 must be the first tag"))
        if name in tags:
            problems.append(TagProblem(name, f"{name}= appears more than once; the first is used"))
            continue
        if name in REMOVED_TAGS:
            removed.append(name)
        elif name not in KNOWN_TAGS:
            unknown.append(name)
        tags[name] = value if name in ("rua", "ruf") else value.lower() if name != "v" else value
        problem = _check_tag(name, tags[name])
        if problem:
            problems.append(problem)
    if "p" not in tags:
        problems.append(TagProblem("p", "no p= tag", "none"))
    return DmarcRecord(text, tags, tuple(problems), tuple(removed), tuple(unknown))


def tree_walk_names(domain: str) -> list[str]:
    """The names whose _dmarc TXT a receiver asks for, in order (RFC 9989 §4.10): the domain itself, then,
    when it has 8 or more labels, its 7 rightmost labels, then one label fewer each time, down to one."""
    labels = domain.split(".")
    names = [domain]
    count = len(labels)
    if count >= 8:
        count = 7
        names.append(".".join(labels[-count:]))
    while count > 1:
        count -= 1
        names.append(".".join(labels[-count:]))
    return list(dict.fromkeys(names))
