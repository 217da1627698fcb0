"""The interop suite's environment: brought up once per session (as root), taken down at the end."""

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def interop() -> Iterator[dict[str, Any]]:
    """The running environment's facts (resolver, CA file, domain, user, password, mail directory)."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("interop: needs root to install and start Knot, Postfix, Dovecot, OpenDKIM and nginx")
    import subprocess

    from tests.interop import env

    try:
        facts = env.up()
    except (SystemExit, subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        env.down()
        pytest.skip(f"interop: the environment did not come up: {exc} {detail[-500:]}".strip())
    yield json.loads(json.dumps(facts))
    env.down()
