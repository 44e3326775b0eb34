"""Which npm command lines go through the guard: decided without I/O, before npm is asked.

This module runs on every ``npmguard npm …`` call, including the pass-through ones, so it
imports only the standard library and reads no file. It does not parse the command line
itself: it only has to be sure that nothing npm could run as a guarded command passes
straight through. Every word that npm could read as the command (any argument that is not an
option) is resolved the way npm 11's ``lib/utils/cmd-list.js`` resolves command names
(aliases, typos, camelCase, unique abbreviations); if one of them is a guarded command, npm
itself parses the line (``wrapper.npmcli``) and the guard takes it from there.
"""

from __future__ import annotations

from collections.abc import Sequence

# npm 11.19's commands (lib/commands) and aliases (lib/utils/cmd-list.js)
COMMANDS = frozenset(
    """
    access adduser approve-scripts audit bugs cache ci completion config dedupe deny-scripts
    deprecate diff dist-tag docs doctor edit exec explain explore find-dupes fund get help
    help-search init install install-ci-test install-scripts install-test link ll login logout
    ls org outdated owner pack ping pkg prefix profile prune publish query rebuild repo restart
    root run sbom search set shrinkwrap stage star stars start stop team test token trust
    undeprecate uninstall unpublish unstar update version view whoami
    """.split()
)
ALIASES = {
    "author": "owner",
    "home": "docs",
    "issues": "bugs",
    "info": "view",
    "show": "view",
    "find": "search",
    "add": "install",
    "unlink": "uninstall",
    "remove": "uninstall",
    "rm": "uninstall",
    "r": "uninstall",
    "un": "uninstall",
    "rb": "rebuild",
    "list": "ls",
    "ln": "link",
    "create": "init",
    "i": "install",
    "it": "install-test",
    "cit": "install-ci-test",
    "u": "update",
    "up": "update",
    "c": "config",
    "s": "search",
    "se": "search",
    "tst": "test",
    "t": "test",
    "ddp": "dedupe",
    "v": "view",
    "run-script": "run",
    "clean-install": "ci",
    "clean-install-test": "install-ci-test",
    "x": "exec",
    "why": "explain",
    "la": "ll",
    "verison": "version",
    "ic": "ci",
    "innit": "init",
    "in": "install",
    "ins": "install",
    "inst": "install",
    "insta": "install",
    "instal": "install",
    "isnt": "install",
    "isnta": "install",
    "isntal": "install",
    "isntall": "install",
    "install-clean": "ci",
    "isntall-clean": "ci",
    "hlep": "help",
    "dist-tags": "dist-tag",
    "upgrade": "update",
    "udpate": "update",
    "rum": "run",
    "sit": "install-ci-test",
    "urn": "run",
    "ogr": "org",
    "add-user": "adduser",
}

# commands that install packages, change node_modules, or run dependency code (pack, publish,
# cache add and diff: a git spec is cloned and prepared, its dependencies installed)
GUARDED = frozenset(
    """
    audit cache ci dedupe diff edit exec init install install-ci-test install-test link pack
    prune publish rebuild uninstall update
    """.split()
)


def deref(word: str) -> str | None:
    """The npm command ``word`` names, as npm 11 resolves it, or None if it names none."""
    if any(c.isupper() for c in word):  # installTest -> install-test
        word = "".join(f"-{c.lower()}" if c.isupper() else c for c in word)
    if word in COMMANDS:
        return word
    if word in ALIASES:
        return ALIASES[word]
    # a unique prefix of a command or alias (npm's `abbrev` over both lists)
    found = {w for w in (*COMMANDS, *ALIASES) if w.startswith(word)} if word else set()
    if len(found) != 1:
        return None
    name = found.pop()
    while name in ALIASES:
        name = ALIASES[name]
    return name


def may_be_guarded(tool: str, argv: Sequence[str]) -> bool:
    """Whether npm might run ``argv`` as a guarded command; False means pass straight through.

    ``npx`` with arguments always goes to the guard (it exists to run packages). For ``npm``,
    any argument that npm could take as the command word counts: a word that is really an
    option's value only costs one look by npm's own parser.
    """
    if tool == "npx":
        return bool(argv)
    for arg in argv:
        if arg.startswith("-") and arg != "-":
            continue
        if deref(arg) in GUARDED:
            return True
    return False
