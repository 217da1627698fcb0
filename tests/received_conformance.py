"""Field-by-field agreement of our Received parser with stalwart mail-parser's fixture (its readings)."""

import datetime as dt
import json
from pathlib import Path
from typing import Any

from mailcheck.headers.received import ReceivedHop, parse_received

FIXTURE = Path(__file__).parent / "data" / "stalwart-received.json"


def _name(value: dict[str, str] | None) -> str | None:
    if not value:
        return None
    found = value.get("Name") or value.get("IpAddr")
    return found.lower().rstrip(".") if found else None


def _date(value: dict[str, Any] | None) -> dt.datetime | None:
    """Their date, or None where it is not a real instant (they keep e.g. second=60 or year 0)."""
    if not value:
        return None
    sign = -1 if value["tz_before_gmt"] else 1
    try:
        zone = dt.timezone(sign * dt.timedelta(hours=value["tz_hour"], minutes=value["tz_minute"]))
        return dt.datetime(
            value["year"], value["month"], value["day"], value["hour"], value["minute"], value["second"], tzinfo=zone
        )
    except (ValueError, OverflowError):
        return None


def _tls_version(value: str | None) -> str | None:
    return value.replace("TLSv", "TLS ").replace("_", ".") if value else None


def compare(expected: dict[str, Any], hop: ReceivedHop) -> dict[str, bool]:
    """For each field the fixture states, whether we read the same thing."""
    ours: dict[str, Any] = {
        "from": (hop.from_name or "").lower().rstrip(".") or None,
        "from_ip": hop.ip,
        "from_iprev": (hop.rdns or "").lower().rstrip(".") or None,
        "by": (hop.by or "").lower().rstrip(".") or None,
        "with": hop.protocol.split("/")[0].upper() if hop.protocol else None,
        "id": hop.id,
        "for_": hop.recipient,
        "ident": hop.ident,
        "via": hop.via,
        "helo": (hop.helo or "").lower().rstrip(".") or None,
        "tls_version": hop.tls.version if hop.tls else None,
        "tls_cipher": hop.tls.cipher if hop.tls else None,
        "date": hop.date,
    }
    theirs: dict[str, Any] = {}
    for key, value in expected.items():
        if key in ("from", "by", "helo"):
            theirs[key] = _name(value)
        elif key == "from_iprev":
            theirs[key] = value.lower().rstrip(".")
        elif key == "with":
            theirs[key] = value.upper()
        elif key == "tls_version":
            theirs[key] = _tls_version(value)
        elif key == "date":
            theirs[key] = _date(value)
        elif key != "helo_cmd":
            theirs[key] = value
    return {key: ours.get(key) == value for key, value in theirs.items()}


def agreement() -> tuple[dict[str, tuple[int, int]], list[tuple[str, str, Any]]]:
    """Per field: (agreed, stated), and the disagreements (header, field, ours/theirs) for inspection."""
    rows = json.loads(FIXTURE.read_text())
    totals: dict[str, list[int]] = {}
    misses: list[tuple[str, str, Any]] = []
    for row in rows:
        hop = parse_received(row["header"])
        for key, same in compare(row["expected"], hop).items():
            agreed_stated = totals.setdefault(key, [0, 0])
            agreed_stated[1] += 1
            if same:
                agreed_stated[0] += 1
            else:
                misses.append((row["header"].strip()[:160], key, hop.to_dict().get(key if key != "for_" else "for")))
    return {k: (v[0], v[1]) for k, v in totals.items()}, misses


if __name__ == "__main__":
    rates, disagreements = agreement()
    for key, (agreed, stated) in sorted(rates.items()):
        print(f"{key:12} {agreed:4}/{stated:<4} {100 * agreed / stated:5.1f}%")
    import sys

    if "-v" in sys.argv:
        for header, key, value in disagreements:
            print(f"--- {key}: ours={value!r}\n    {header}")
