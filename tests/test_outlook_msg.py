"""Outlook .msg input for ``mailcheck headers``, on real .msg files from Apache POI's test data
(``test-data/hsmf/``, Apache-2.0; see tests/data/README.md): a received message saved with 8-bit and with
Unicode properties (the same message: the same trace), an Exim-delivered message, a sent message without
internet headers, and a fuzzer-made damaged file."""

from pathlib import Path

import pytest

from tests.conftest import Cli, run_without

OUTLOOK = Path(__file__).parent / "data" / "outlook"


@pytest.mark.parametrize("name", ["example_received_regular.msg", "example_received_unicode.msg"])
def test_a_received_msg_is_traced_from_the_headers_outlook_kept(cli: Cli, name: str) -> None:
    # Given a message Outlook saved as .msg (detected by content, whatever the file is called)
    run = cli("headers", str(OUTLOOK / name), "--json")
    hops = run.checks("headers.hop")
    # Then its internet headers are traced: four hops through Zimbra, the last one LMTP into the mailbox
    assert [h["details"]["by"] for h in hops] == ["zimbra.alfresco.com", "localhost", "zimbra.alfresco.com",
                                                  "zimbra.alfresco.com"], hops  # fmt: skip
    assert hops[-1]["details"]["with"] == "LMTP", hops[-1]
    assert run.check("headers.input")["summary"].startswith("32 header fields, 4 trace hops"), run.out


def test_the_8bit_and_unicode_copies_give_the_same_trace(cli: Cli) -> None:
    traces = [
        [c["summary"] for c in cli("headers", str(OUTLOOK / n), "--json").checks("headers.hop")]
        for n in ("example_received_regular.msg", "example_received_unicode.msg")
    ]
    assert traces[0] == traces[1]


def test_an_exim_delivery_saved_as_msg(cli: Cli, tmp_path: Path) -> None:
    renamed = tmp_path / "saved-from-outlook.bin"  # detection is by content, not by the file name
    renamed.write_bytes((OUTLOOK / "simple_test_msg.msg").read_bytes())
    hops = cli("headers", str(renamed), "--json").checks("headers.hop")
    assert hops[-1]["details"]["by"] == "cp7.shieldhost.com" and hops[-1]["details"]["helo"] == "rwcrmhc11.comcast.net"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("quick.msg", "an Outlook .msg without internet headers"),
        ("clusterfuzz-4735011465854976.msg", "without internet headers"),
    ],
)
def test_a_msg_without_headers_is_a_clear_one_line_error(cli: Cli, name: str, words: str) -> None:
    run = cli("headers", str(OUTLOOK / name))
    assert run.code == 2 and words in run.err and "Traceback" not in run.err, run.err
    assert len(run.err.strip().splitlines()) == 1, run.err


@pytest.mark.parametrize(
    "data",
    [
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1garbage",  # the signature, then nothing of a container
        (OUTLOOK / "example_received_unicode.msg").read_bytes()[:3000],  # cut short
    ],
    ids=["signature-only", "truncated"],
)
def test_a_damaged_msg_is_a_clear_error(cli: Cli, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "damaged.msg"
    path.write_bytes(data)
    run = cli("headers", str(path))
    assert run.code == 2 and str(path) in run.err and "Traceback" not in run.err, run.err


def test_without_the_extra_the_error_names_it() -> None:
    # Given mailcheck installed without the msg extra (olefile cannot be imported)
    run = run_without("olefile", "headers", str(OUTLOOK / "quick.msg"))
    # Then it says which extra to install, in one line, with the bad-input exit code
    assert run.returncode == 2, run
    assert "pip install 'mailcheck-cli[msg]'" in run.stderr and "Traceback" not in run.stderr, run.stderr
