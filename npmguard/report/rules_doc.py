"""``docs/rules.md``, generated from the rule registry so docs and code never disagree.

Regenerate with ``npmguard rules --format markdown > docs/rules.md``; a test fails when the
committed file is out of step.
"""

from __future__ import annotations

import json

from npmguard.rules.base import Rule, all_rules

REGENERATE = "npmguard rules --format markdown > docs/rules.md"


def rules_markdown() -> str:
    """Every registered rule as Markdown: an index table, then one section per family."""
    rules = all_rules()
    families: dict[str, list[type[Rule]]] = {}
    for cls in rules.values():
        families.setdefault(cls.family, []).append(cls)
    out = [
        "# Rules",
        "",
        f"<!-- Generated from the rule registry by `{REGENERATE}`. Do not edit by hand. -->",
        "",
        f"npmguard has {len(rules)} rules. Each has a stable id and a default level: "
        "`block` (the check fails, exit 1), `warn` (reported, exit 0), `info` (reported only) "
        "or `off`. A policy file can change the level of any rule and set the options listed "
        "under it.",
        "",
        "| Rule | Default level | Family | Description |",
        "| --- | --- | --- | --- |",
    ]
    for cls in rules.values():
        out.append(
            f"| [`{cls.id}`](#{cls.id}) | {cls.level} | {cls.family} | {_cell(cls.description)} |"
        )
    for family, members in families.items():
        out += ["", f"## {family[:1].upper()}{family[1:]}"]
        for cls in members:
            out += _rule_section(cls)
    from npmguard.policy.model import DENY_RULE

    out += [
        "",
        "## Findings from the policy itself",
        "",
        f"### `{DENY_RULE.id}`",
        "",
        f"- Default level: **{DENY_RULE.level}** (always; allow entries do not cover it)",
        "",
        DENY_RULE.help,
    ]
    return "\n".join(out) + "\n"


def _rule_section(cls: type[Rule]) -> list[str]:
    out = [
        "",
        f"### `{cls.id}`",
        "",
        f"- Default level: **{cls.level}**",
        f"- Needs: {', '.join(sorted(str(n) for n in cls.needs))}",
    ]
    if cls.after:
        out.append(f"- Runs after: {', '.join(f'`{a}`' for a in cls.after)}")
    out += ["", cls.description.strip()]
    if cls.help:
        out += ["", cls.help.strip()]
    if cls.options:
        out += ["", "| Option | Default | Description |", "| --- | --- | --- |"]
        for name, option in cls.options.items():
            default = json.dumps(option.default, default=str)
            out.append(f"| `{name}` | `{default}` | {_cell(option.description)} |")
    return out


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")
