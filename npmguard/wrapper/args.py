"""Reading an npm command line the way npm does, without importing anything heavy.

This module runs on every ``npmguard npm …`` call, including the pass-through ones, so it
imports only the standard library and does no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

# npm's option types (npm 11 config definitions): options that always take a value.
# Options whose type includes Boolean only take "true"/"false" as a separate value.
VALUE_OPTIONS = frozenset(
    """
    _auth access allow-directory allow-file allow-git allow-remote allow-scripts also
    audit-level auth-type before ca cache cache-max cache-min cafile call cert cidr cpu depth
    diff diff-dst-prefix diff-src-prefix diff-unified editor expect-result-count expires
    fetch-retries fetch-retry-factor fetch-retry-maxtimeout fetch-retry-mintimeout
    fetch-timeout git globalconfig heading https-proxy include init-author-email
    init-author-name init-author-url init-license init-module init-type init-version
    install-strategy key libc local-address location lockfile-version loglevel logs-dir
    logs-max message min-release-age min-release-age-exclude node-gyp node-options
    noproxy omit only orgs os otp package pack-destination packages prefix preid
    provenance-file proxy registry replace-registry-host save-prefix sbom-format sbom-type
    scope scopes script-shell searchexclude searchlimit searchopts searchstaleness shell tag
    tag-version-prefix umask user-agent userconfig viewer which workspace
    """.split()
)
MIXED_BOOLEAN_OPTIONS = frozenset(
    "browser color expect-results optional production workspaces yes".split()
)
# npm's shorthands that expand to options taking a value
SHORT_VALUE = {"C": "prefix", "w": "workspace", "c": "call", "L": "location", "m": "message"}
SHORT_FLAGS = {
    "g": "global",
    "y": "yes",
    "f": "force",
    "S": "save",
    "D": "save-dev",
    "E": "save-exact",
    "O": "save-optional",
    "P": "save-prod",
    "B": "save-bundle",
    "n": "no-yes",
    "p": "parseable",
    "a": "all",
    "l": "long",
    "d": "loglevel-info",
    "q": "loglevel-warn",
    "s": "loglevel-silent",
    "v": "version",
    "h": "usage",
    "H": "usage",
}
LONG_ALIASES = {"reg": "registry", "ws": "workspaces", "enjoy-by": "before", "local": "no-global"}


class Guarded(str, enum.Enum):
    """What a guarded command does to the tree."""

    INSTALL = "install"  # may resolve new versions (install, add, update)
    CLEAN_INSTALL = "ci"  # installs the lockfile as it is
    UPDATE = "update"
    EXEC = "exec"  # runs a package, installing it first if needed (npx)


COMMANDS: dict[str, tuple[Guarded, bool]] = {}  # name -> (kind, runs tests afterwards)
for _names, _kind, _test in (
    (
        "install i in ins inst insta instal isnt isnta isntal isntall add",
        Guarded.INSTALL,
        False,
    ),
    ("ci clean-install ic install-clean isntall-clean", Guarded.CLEAN_INSTALL, False),
    ("install-test it", Guarded.INSTALL, True),
    ("install-ci-test cit", Guarded.CLEAN_INSTALL, True),
    ("update up upgrade udpate", Guarded.UPDATE, False),
    ("exec x", Guarded.EXEC, False),
):
    for _name in _names.split():
        COMMANDS[_name] = (_kind, _test)


class NpmInvocation:
    """An npm command line, split into what npmguard needs to know.

    A plain immutable-by-convention class rather than a dataclass: this runs on every npm
    command, and importing ``dataclasses`` costs more than the rest of the fast path.
    """

    __slots__ = ("after_dashdash", "argv", "command", "options", "positionals")

    def __init__(
        self,
        argv: tuple[str, ...],
        command: str | None,
        positionals: tuple[str, ...],
        options: tuple[tuple[str, str | None], ...],
        after_dashdash: tuple[str, ...] = (),
    ) -> None:
        self.argv = argv  # the arguments as given (without "npm")
        self.command = command  # the command word as typed ("i", "ci", "run"), None if absent
        self.positionals = positionals  # arguments after the command that are not options
        self.options = options  # (name, value) in canonical long form
        self.after_dashdash = after_dashdash

    def __repr__(self) -> str:
        return f"NpmInvocation(command={self.command!r}, argv={self.argv!r})"

    @property
    def guarded(self) -> Guarded | None:
        if self.command is None:
            return None
        entry = COMMANDS.get(self.command)
        return entry[0] if entry else None

    @property
    def runs_tests(self) -> bool:
        entry = COMMANDS.get(self.command or "")
        return bool(entry and entry[1])

    def option(self, name: str) -> str | None:
        """The last value given for option ``name`` ("true" for a bare flag), or None."""
        found = None
        for key, value in self.options:
            if key == name:
                found = "true" if value is None else value
            elif key == f"no-{name}":
                found = "false"
        return found

    def flag(self, name: str) -> bool:
        value = self.option(name)
        return value is not None and value not in ("false", "0", "")

    def all_values(self, name: str) -> list[str]:
        return [v for k, v in self.options if k == name and v is not None]

    @property
    def is_global(self) -> bool:
        return self.flag("global") or self.option("location") == "global"


def parse_npm_args(argv: Sequence[str]) -> NpmInvocation:
    """Split an npm command line. Options may come before or after the command, as in npm."""
    options: list[tuple[str, str | None]] = []
    positionals: list[str] = []
    command: str | None = None
    rest: tuple[str, ...] = ()
    i = 0
    args = list(argv)
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest = tuple(args[i + 1 :])
            break
        if arg.startswith("--") and len(arg) > 2:
            body = arg[2:]
            if "=" in body:
                name, value = body.split("=", 1)
                options.append((LONG_ALIASES.get(name, name), value))
            else:
                name = LONG_ALIASES.get(body, body)
                if (name in VALUE_OPTIONS and i + 1 < len(args)) or (
                    name in MIXED_BOOLEAN_OPTIONS
                    and i + 1 < len(args)
                    and args[i + 1] in ("true", "false")
                ):
                    options.append((name, args[i + 1]))
                    i += 1
                else:
                    options.append((name, None))
        elif arg.startswith("-") and len(arg) > 1 and arg != "-":
            letters = arg[1:]
            for j, letter in enumerate(letters):
                if letter in SHORT_VALUE:
                    value = letters[j + 1 :]
                    if not value and i + 1 < len(args):
                        value = args[i + 1]
                        i += 1
                    options.append((SHORT_VALUE[letter], value or None))
                    break
                options.append((SHORT_FLAGS.get(letter, letter), None))
        elif command is None:
            command = arg
        else:
            positionals.append(arg)
        i += 1
    return NpmInvocation(
        argv=tuple(argv),
        command=command,
        positionals=tuple(positionals),
        options=tuple(options),
        after_dashdash=rest,
    )
