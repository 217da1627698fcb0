"""The RFC 7208 conformance suite (openspf.org, release 2014.04), scenario by scenario, through the real path.

Each YAML document's `zonedata` is served by a lab DNS responder on loopback (TIMEOUT as silence; SPF-type
records published as TXT too, unless the name has TXT records of its own, as the suite's drivers do; type
SPF itself is never asked for, RFC 7208 §3.1; `TXT: NONE` means no TXT record but no copy either). Then `mailcheck spf --ip HOST --sender MAILFROM --helo HELO`
runs as a user would, and mailcheck's own check_host() result must be one the suite allows. One test per
scenario, named `section/scenario (RFC section)`, so a regression names what broke.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.name
import pytest
import yaml

from mailcheck.lab.dns import DnsResponder
from tests.conftest import Cli

SUITE = Path(__file__).parent / "data" / "rfc7208-tests.yml"
DOCUMENTS: list[dict[str, Any]] = list(yaml.safe_load_all(SUITE.read_text()))


def _txt(value: str | list[str]) -> str:
    """Zone-file text of one TXT record, its strings exactly as the suite gives them."""
    strings = [value] if isinstance(value, str) else value
    out = []
    for text in strings:
        escaped = "".join(
            f"\\{ord(c):03d}" if c in '"\\' or not (32 <= ord(c) < 127) else c
            for c in text.encode("utf-8").decode("latin-1")
        )
        out.append(f'"{escaped}"')
    return " ".join(out)


def serve(zonedata: dict[str, list[Any]]) -> DnsResponder:
    responder = DnsResponder()
    zone = responder.zone
    for written, records in (zonedata or {}).items():
        # the responder matches names in their presentation form (a space is \032)
        name = dns.name.from_text(written).to_text(omit_final_dot=True)
        has_txt = any(isinstance(r, dict) and "TXT" in r for r in records)
        for record in records:
            if record == "TIMEOUT":  # types the name has no records of never answer
                responder.fault(name, "drop-empty")
                continue
            for rdtype, value in record.items():
                if rdtype == "SPF":
                    if not has_txt and value != []:
                        zone.add(name, "TXT", _txt(value))
                elif rdtype == "TXT" and value in ([], "NONE"):
                    continue  # NONE: the name has no TXT (but counts as having its own); [] cannot be written
                elif rdtype == "TXT":
                    zone.add(name, "TXT", _txt(value))
                elif rdtype == "MX":
                    preference, host = value
                    zone.add(name, "MX", f"{preference} {host or '.'}.".replace("..", "."))
                elif rdtype in ("PTR", "CNAME"):
                    zone.add(name, rdtype, f"{value}.")
                else:
                    zone.add(name, rdtype, str(value))
    return responder.start()


CASES = [
    pytest.param(index, scenario, id=f"{doc['description']}/{scenario} ({doc['tests'][scenario].get('spec', '')})")
    for index, doc in enumerate(DOCUMENTS)
    for scenario in doc["tests"]
]


@pytest.fixture(scope="module")
def responders() -> Iterator[dict[int, DnsResponder]]:
    started: dict[int, DnsResponder] = {}
    yield started
    for responder in started.values():
        responder.stop()


@pytest.mark.parametrize(("index", "scenario"), CASES)
def test_rfc7208_scenario(index: int, scenario: str, responders: dict[int, DnsResponder], cli: Cli) -> None:
    document = DOCUMENTS[index]
    if index not in responders:
        responders[index] = serve(document.get("zonedata") or {})
    case = document["tests"][scenario]
    expected = case["result"] if isinstance(case["result"], list) else [case["result"]]
    run = cli(
        "spf",
        *("--ip", str(case["host"]), "--sender", str(case["mailfrom"]), "--helo", str(case["helo"])),
        *("--resolver", responders[index].address, "--timeout", "1", "--json"),
    )
    assert run.code in (0, 1, 3), run.out + run.err  # 3: a scenario whose DNS never answers
    found = run.check("spf.check_host")["details"]["mailcheck"]
    assert found["result"] in expected, f"{case.get('description', '')}: expected {expected}, got {found}"
    # Where pyspf reads the scenario otherwise, the report says where each engine stopped
    finding = run.check("spf.check_host")
    theirs = finding["details"]["pyspf"]["result"]
    if theirs != found["result"]:
        assert finding["error"]["kind"] == "engines-differ" and "stopping at" in finding["summary"], finding
    if theirs not in expected:
        assert scenario in PYSPF_DIFFERS, f"pyspf now also misreads {scenario}: {finding['summary']}"


# pyspf 2.0.14 over the same DNS misreads these (its result is outside what the suite allows); mailcheck
# names the difference. Where the suite allows several results, the engines may pick different ones.
PYSPF_DIFFERS = {"ptr-cname-loop", "ptr-limit"}
