"""URLs read as Node reads them (rw-13): npmguard's parser against Node's own ``new URL``."""

from __future__ import annotations

import pytest
from npmoracle import needs_node, node_urls

from npmguard.urls import (
    TarballRef,
    host_of,
    normalise_registry,
    parse_url,
    redact,
    registry_resolved,
    registry_tarball,
)

R = "registry.npmjs.org"

# The class of parser differentials: each is a way RFC 3986 parsing (urllib.parse) and the
# WHATWG parser Node uses can disagree on which host, path or scheme a URL names.
TRICKY = [
    f"https://evil.example\\@{R}/ms/-/ms-2.1.2.tgz",  # rw-13: backslash ends the authority
    f"https://evil.example%5C@{R}/ms/-/ms-2.1.2.tgz",
    f"https://evil.example\\\\@{R}/x",
    "https:\\\\evil.example\\ms\\-\\ms-2.1.2.tgz",
    f"https://{R}\\..\\..\\evil/ms.tgz",
    "https://ev\til.exam\nple/ms/-/ms-2.1.2.tgz",  # tabs and newlines dropped anywhere
    f"ht\ttps://{R}/ms/-/ms-2.1.2.tgz",
    f"  https://{R}/ms/-/ms-2.1.2.tgz\x00\x1f ",  # C0 controls and spaces trimmed
    f"HTTPS://{R.upper()}/MS/-/ms-2.1.2.tgz",  # upper-case scheme and host
    f"https://user@evil.example@{R}/x",  # several @: the last one ends the userinfo
    f"https://a:b@evil.example:c@{R}/x",
    f"https://{R}#@evil.example/x",
    f"https://{R}?@evil.example/x",
    f"https://{R}:443/x",  # the default port disappears
    f"http://{R}:0080/x",
    "http://127.1/x",  # IPv4 shorthand and other bases
    "http://0x7f.1:8080/x",
    "http://2130706433/x",
    "http://0177.0.0.1/x",
    "http://127.0.0.1./x",
    "http://[0:0::1]:80/x",
    "http://[::ffff:127.0.0.1]/x",
    "https://%65vil.example/x",  # percent-encoding in the host is decoded
    "https://evil%2eexample/x",
    "https://ｅｖｉｌ.example/x",  # fullwidth letters fold to ASCII (IDNA)
    "https://évil.example/x",
    "https:evil.example/x",  # special schemes need no slashes
    "https:/evil.example/x",
    "https:///evil.example/x",
    f"https://{R}/a/%2e%2e/%2E/b/../ms/-/ms-2.1.2.tgz",  # dot segments, encoded too
    f"https://{R}/@scope%2fname/-/name-1.0.0.tgz",
    f"https://{R}:65536/x",  # invalid port: Node throws
    "https://ex ample.com/x",
    "https://[::1/x",
    "https:",
    "http://",
    "git+ssh://git@github.com/npm/cli.git#0123456",
    "git+ssh://git@github.com:npm/cli.git#0123456",  # scp-like: a non-numeric port
    "git://git.example.org/lib.git#0123456",
    "git+http://git.example.org/lib.git",
    "GIT+HTTP://git.example.org/lib.git",
    "github:npm/cli#semver:^9",
    "file:../vendor/x-1.0.0.tgz",
    "file:///C:/x.tgz",
    "packages/a",  # no scheme: not a URL
    "",
    "javascript:alert(1)",
    "https://tok%40en:p%3Ass@" + R + "/x",
]


@needs_node
def test_every_part_of_every_url_is_what_node_reads() -> None:
    """rw-13 and its class: host, port, path, scheme and credentials equal Node's."""
    theirs = node_urls(TRICKY)
    disagree = []
    for text, node in zip(TRICKY, theirs, strict=True):
        ours = parse_url(text)
        if node is None or ours is None:
            if (node is None) != (ours is None):
                disagree.append((text, node, ours))
            continue
        mine = {
            "href": ours.href,
            "protocol": ours.scheme + ":",
            "username": ours.username,
            "password": ours.password,
            "hostname": ours.hostname,
            "port": "" if ours.port is None else str(ours.port),
            "pathname": ours.pathname,
            "search": ours.search,
            "hash": ours.hash,
        }
        if mine != node:
            disagree.append((text, node, mine))
    assert disagree == []


def test_rw13_backslash_host_is_the_host_npm_contacts() -> None:
    url = f"https://evil.example\\@{R}/ms/-/ms-2.1.2.tgz"
    assert host_of(url) == "evil.example"
    parsed = parse_url(url)
    assert parsed is not None and parsed.pathname == f"/@{R}/ms/-/ms-2.1.2.tgz"


def test_rw13_redaction_shows_the_real_host() -> None:
    shown = redact(f"https://evil.example\\@{R}/ms/-/ms-2.1.2.tgz")
    assert shown.startswith("https://evil.example/")
    assert "***" not in shown
    # real credentials are hidden, the host they are for is kept
    assert redact(f"https://tok:secret@{R}/x?token=abc&v=1") == f"https://***@{R}/x?token=***&v=1"
    assert redact("git+ssh://git@github.com/a/b.git") == "git+ssh://***@github.com/a/b.git"


def test_redacting_text_that_is_not_a_url_hides_no_host() -> None:
    # unparseable (a space in the host): a backslash before the @ keeps the text whole
    assert redact("https://e v\\il@host/") == "https://e v\\il@host/"
    assert redact("https://user:pw@ex ample.com/x") == "https://***@ex ample.com/x"
    assert redact("https://user:pw@[::1/x") == "https://***@[::1/x"
    assert redact("not\na url\x1b[2J") == "not\\x0aa url\\x1b[2J"
    assert redact(None) == "" and redact("") == ""


@pytest.mark.parametrize(
    ("url", "ref"),
    [
        (f"https://{R}/ms/-/ms-2.1.2.tgz", TarballRef("ms", "2.1.2")),
        (f"https://{R}/@types/node/-/node-20.1.0.tgz", TarballRef("@types/node", "20.1.0")),
        (f"https://{R}/@types%2fnode/-/node-20.1.0.tgz", TarballRef("@types/node", "20.1.0")),
        (f"https://{R}/%6ds/-/ms-2.1.3.tgz", TarballRef("ms", "2.1.3")),
        (
            "https://r.example/api/npm/remote/ms/-/ms-1.0.0-rc.1+b7.tgz",
            TarballRef("ms", "1.0.0-rc.1"),
        ),
        (f"https://{R}/ms/-/other-2.1.2.tgz", TarballRef("ms", None)),
        (f"https://{R}/ms/-/ms-latest.tgz", TarballRef("ms", None)),
        (f"HTTPS://{R}/ms/-/ms-v2.1.2.tgz", TarballRef("ms", "2.1.2")),
        (f"https://{R}/ms/-/ms-2.1.2.tgz?x=ms-9.9.9.tgz", TarballRef("ms", "2.1.2")),
        (f"https://{R}/ms/ms-2.1.2.tgz", None),
        ("git+https://github.com/a/ms/-/ms-1.0.0.tgz", None),
        ("not a url/-/x-1.0.0.tgz", None),
    ],
)
def test_registry_tarball_reads_name_and_version(url: str, ref: TarballRef | None) -> None:
    """rw-02: the URL's version is read as npm's version-from-tgz reads it."""
    assert registry_tarball(url) == ref


def test_registry_resolved_follows_replace_registry_host() -> None:
    tgz = f"https://{R}/ms/-/ms-2.1.2.tgz"
    mirror = "http://127.0.0.1:4873/npm/"
    assert registry_resolved(tgz, mirror, "npmjs") == "http://127.0.0.1:4873/npm/ms/-/ms-2.1.2.tgz"
    assert registry_resolved(tgz, mirror, "never") == tgz
    other = "https://other.example/ms/-/ms-2.1.2.tgz"
    assert registry_resolved(other, mirror, "npmjs") == other
    assert registry_resolved(other, mirror, "always") == mirror + "ms/-/ms-2.1.2.tgz"
    assert registry_resolved(other, mirror, "other.example") == mirror + "ms/-/ms-2.1.2.tgz"
    prefixed = "https://other.example/old/ms/-/ms-2.1.2.tgz"
    assert (
        registry_resolved(prefixed, mirror, "https://other.example/old/")
        == mirror + "ms/-/ms-2.1.2.tgz"
    )
    assert registry_resolved(other, mirror, "https://other.example/old/") == other
    assert registry_resolved("https://ex ample/x", mirror, "npmjs") is None


def test_normalise_registry() -> None:
    assert normalise_registry(" HTTPS://Npm.Example.COM:443/r?x#y ") == "https://npm.example.com/r/"
    assert normalise_registry("http://127.1:8080") == "http://127.0.0.1:8080/"
    assert normalise_registry("not a url") == "not a url/"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # signed URLs name their secrets in many ways: only known-harmless keys keep values
        (
            "https://b.example/x.tgz?X-Amz-Signature=S1&X-Amz-Security-Token=S2&apikey=S3&v=2",
            "https://b.example/x.tgz?X-Amz-Signature=***&X-Amz-Security-Token=***&apikey=***&v=2",
        ),
        ("https://h.example/a?sig=S1&ref=main", "https://h.example/a?sig=***&ref=main"),
        ("https://h.example/a?S1SECRET", "https://h.example/a?***"),
        ("https://h.example/a?%53=S1&Version=3", "https://h.example/a?***=***&Version=3"),
        ("https://h.example/#access_token=S1", "https://h.example/#***"),
        ("git+https://h.example/a.git#semver:>=1.0", "git+https://h.example/a.git#semver:%3E=1.0"),
        # userinfo is never printed, even when it holds an "@"
        ("https://u:p@ss-SECRET@h.example/x.tgz", "https://***@h.example/x.tgz"),
        ("https://TOKEN@h.example:8443/x", "https://***@h.example:8443/x"),
        # a git committish or spec is kept; other fragments are not
        ("git+https://github.com/a/b.git#v1.2.3", "git+https://github.com/a/b.git#v1.2.3"),
        (
            "git+ssh://git@github.com/a/b.git#semver:^1.0",
            "git+ssh://***@github.com/a/b.git#semver:^1.0",
        ),
        ("https://h.example/#access_token=S1&x=y", "https://h.example/#***"),
        ("github:user/repo#abc123", "github:user/repo#abc123"),
        ("file:///home/u/pkg.tgz", "file:///home/u/pkg.tgz"),
    ],
)
def test_redaction_is_an_allow_list(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_text_that_is_not_a_url_is_redacted_by_the_same_allow_list() -> None:
    # Node cannot parse these (a space in the host), so no host is made up; secrets go anyway
    assert redact("https://u:p@ss-SECRET@ex ample.com/x") == "https://***@ex ample.com/x"
    assert redact("https://ex ample.com/x?apikey=S1&v=1#tok=S2") == (
        "https://ex ample.com/x?apikey=***&v=1#***"
    )
