"""The report's URL scrubber (issue 13): linear in the text, the same URLs as before."""

from __future__ import annotations

import random
import re
import time

from npmguard.report.common import printable, scrub
from npmguard.urls import redact

# the scrubber's old definition of a URL, kept here as the reference for what it finds
_REFERENCE = re.compile(r"[a-z][a-z0-9+.\-]*://[^\s\"'<>]+", re.IGNORECASE)


def _reference(text: str) -> str:
    return _REFERENCE.sub(lambda m: redact(m.group(0)), text)


def test_it_finds_the_urls_the_regex_found() -> None:
    rng = random.Random(13)
    alphabet = "ab1+.-:/ \"'<>@?=&#\nz"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert scrub(text) == printable(_reference(text)), text
    assert scrub("see https://u:p@h.example/x?token=1 or 1http://a/b") == (
        "see https://***@h.example/x?token=*** or 1http://a/b"
    )


def test_a_40000_letter_name_takes_no_time() -> None:
    """The regex backtracked over every letter run: 12 s for one 40,000-letter name."""
    name = "a" * 40_000
    texts = (name, f"{name}://x", f"x {name}.tgz http://{name}/", "a-" * 20_000)
    started = time.monotonic()
    scrubbed = [scrub(text) for text in texts]
    assert time.monotonic() - started < 1.0
    assert scrubbed[0] == name and scrubbed[1].startswith(name[:100])
    assert scrubbed[2] == f"x {name}.tgz http://{name}/"
