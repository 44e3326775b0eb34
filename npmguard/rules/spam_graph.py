"""Spam seen across the tree: rings of spam packages, template clones, and the combined score.

These rules read the findings of the per-package spam rules that ran before them
(``ctx.earlier``) and the tree's edges (``LockedPackage.requires`` / ``dependents``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping, Sequence
from typing import ClassVar

from npmguard.facts import Need
from npmguard.model import Evidence, Finding, Level, LockedPackage
from npmguard.rules.base import MANY, CheckContext, Option, Rule, register
from npmguard.rules.history import allow_entry
from npmguard.rules.spam_content import is_meta_file, tarball_manifest

FAMILY = "spam"
# per-package spam signals, and the weight each has in spam-score
SIGNAL_WEIGHTS: Mapping[str, int] = {
    "spam-name": 2,
    "tea-yaml": 2,
    "no-code": 2,
    "autopublish-script": 3,
    "version-flood": 1,
    "clone-cluster": 2,
    "spam-cluster": 3,
    "spam-ring": 2,
    # a live flood is young: a package created in the last days (time.created; unknown on a
    # stripped mirror, where it adds nothing)
    "new-package": 1,
}
MEMBER_SIGNALS = (
    "spam-name",
    "tea-yaml",
    "no-code",
    "autopublish-script",
    "clone-cluster",
    "version-flood",
    "spam-cluster",
)
_MAX_CHAIN = 6
_SIZE_SLACK = 256  # bytes of difference a rename may cause (names in package.json, README)


# one of these alone marks a package as spam for the ring; other signals need a second one
STRONG_SIGNALS = ("spam-name", "autopublish-script", "spam-cluster")


def _flagged(ctx: CheckContext) -> dict[str, list[str]]:
    """name@version -> the spam rules that flag it as spam: a strong signal, or two signals.

    Allowed findings and findings at info level do not count."""
    seen: dict[str, list[str]] = defaultdict(list)
    for rule in MEMBER_SIGNALS:
        for f in ctx.earlier.get(rule, ()):
            if f.allowed_by is None and f.level > Level.INFO and rule not in seen[f.key]:
                seen[f.key].append(rule)
    return {
        key: rules
        for key, rules in seen.items()
        if len(rules) >= 2 or any(r in STRONG_SIGNALS for r in rules)
    }


def _root_path(pkg: LockedPackage, by_key: Mapping[str, LockedPackage], root: str) -> list[str]:
    """The shortest chain of dependents from the project down to ``pkg`` (keys)."""
    parents: dict[str, str | None] = {pkg.key: None}
    queue = deque([pkg.key])
    top = pkg.key
    while queue:
        key = queue.popleft()
        node = by_key.get(key)
        deps = [d for d in (node.dependents if node else ()) if d in by_key]
        if node is not None and (
            not deps or any(o.path.count("node_modules/") == 1 for o in node.occurrences)
        ):
            top = key
            break
        for d in deps:
            if d not in parents:
                parents[d] = key
                queue.append(d)
    chain = [top]
    while parents.get(chain[-1]) is not None:
        chain.append(parents[chain[-1]])  # type: ignore[arg-type]
    return [root, *chain]


def _spam_chain(
    key: str, by_key: Mapping[str, LockedPackage], flagged: Mapping[str, list[str]]
) -> list[str]:
    """From ``key`` down through flagged packages it requires (greedy, bounded, no loops)."""
    chain = [key]
    while len(chain) < _MAX_CHAIN:
        node = by_key.get(chain[-1])
        nxt = [r for r in (node.requires if node else ()) if r in flagged and r not in chain]
        if not nxt:
            break
        chain.append(sorted(nxt)[0])
    return chain


def _names(keys: Sequence[str]) -> str:
    return " -> ".join(k.rsplit("@", 1)[0] if k.rfind("@") > 0 else k for k in keys)


@register
class SpamRing(Rule):
    id = "spam-ring"
    level = Level.WARN
    family = FAMILY
    description = "Depends on, or is depended on by, packages flagged as spam in the same tree."
    help = (
        "Spam campaigns make their packages depend on each other so that one install counts for"
        " many. A package counts as spam here when `spam-name`, `autopublish-script` or `spam-"
        "cluster` flagged it, or two of tea-yaml, no-code, clone-cluster, version-flood did (at"
        " warn or above; one weak signal such as a tea.yaml is common on real packages). A spam"
        " package that requires or is required by another one is a ring member; a package that "
        "is not spam itself but requires a spam package is the ring's way into the tree. Both "
        "warn, with the path from the project. A package that only spam packages depend on is "
        "reported as info (it goes away with them)."
    )
    needs = frozenset({Need.TREE})
    after = MEMBER_SIGNALS

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        flagged = _flagged(ctx)
        if not flagged:
            return
        by_key = ctx.lockfile.by_key()
        root = ctx.lockfile.root_name or "(project)"
        for pkg in ctx.lockfile.packages:
            mine = flagged.get(pkg.key)
            spam_req = [r for r in pkg.requires if r in flagged]
            spam_dep = [d for d in pkg.dependents if d in flagged]
            if mine and (spam_req or spam_dep):
                path = _root_path(pkg, by_key, root)
                chain = _spam_chain(pkg.key, by_key, flagged)
                yield self._found(
                    pkg,
                    "in a ring of spam packages",
                    path + chain[1:],
                    spam_req + spam_dep,
                    flagged,
                )
            elif not mine and spam_req:
                path = _root_path(pkg, by_key, root)
                chain = _spam_chain(spam_req[0], by_key, flagged)
                yield self._found(
                    pkg, "pulls spam packages into the tree", path + chain, spam_req, flagged
                )
            elif not mine and pkg.dependents and len(spam_dep) == len(pkg.dependents):
                first = by_key.get(spam_dep[0])
                path = (_root_path(first, by_key, root) if first else [root]) + [pkg.key]
                yield self._found(
                    pkg,
                    "is in the tree only because spam packages need it",
                    path,
                    spam_dep,
                    flagged,
                    level=Level.INFO,
                )

    def _found(
        self,
        pkg: LockedPackage,
        what: str,
        path: list[str],
        neighbours: list[str],
        flagged: Mapping[str, list[str]],
        level: Level | None = None,
    ) -> Finding:
        evidence = [Evidence("path", _names(path), "lockfile")]
        for key in neighbours[:5]:
            evidence.append(
                Evidence("flagged neighbour", f"{key} ({', '.join(flagged[key])})", "findings")
            )
        return self.finding(
            pkg,
            f"{what}: {_names(path)}",
            evidence=tuple(evidence),
            hint=(
                "remove the top of the path from package.json (or the dependency that pulls "
                "it in); "
                "if reviewed: " + allow_entry(pkg.name, pkg.version, self.id)
            ),
            level=level or self.level,
        )


def clone_signatures(ctx: CheckContext, pkg: LockedPackage) -> list[str]:
    """Template signatures: same file set plus the same non-manifest root texts (with the
    package's own name blanked), or the same file set plus the same description."""
    facts = ctx.facts_for(pkg)
    if facts is None or facts.tarball is None or not facts.tarball.files:
        return []
    tarball = facts.tarball
    files = "\n".join(sorted(tarball.files))
    out = []
    texts = {p: t for p, t in tarball.texts.items() if p != "package.json"}
    if texts:
        blob = hashlib.sha256()
        for path in sorted(texts):
            blob.update(path.encode() + b"\0" + texts[path].replace(pkg.name, "<name>").encode())
        out.append("content:" + hashlib.sha256(files.encode()).hexdigest() + blob.hexdigest())
    manifest = tarball_manifest(tarball)
    description = str(
        manifest.get("description") or (facts.manifest.description if facts.manifest else "") or ""
    )
    description = description.replace(pkg.name, "<name>").strip().lower()
    if len(description) >= 12:
        scripts = repr(sorted(tarball.manifest_scripts.items()))
        out.append(
            "described:" + hashlib.sha256((files + description + scripts).encode()).hexdigest()
        )
    return out


@register
class CloneCluster(Rule):
    id = "clone-cluster"
    level = Level.WARN
    family = FAMILY
    description = "Several packages in the tree share one template under different names."
    help = (
        "Spam is made from a template: the same files, README and description, renamed. "
        "Packages whose tarballs have the same file list and either the same root files "
        "(README, index.js, ... with each package's own name blanked out) or the same "
        "description and scripts form a cluster; `min_size` (default 3) names or more is "
        "reported on each. Their unpacked sizes must also be close (within 256 bytes or 2%): "
        "renaming a template changes a few bytes, different code changes many, so a "
        "maintainer's many small packages with the same layout do not match. A cluster whose "
        "members all share one scope (a monorepo's siblings, a binary's platform builds) is "
        "one owner's work and is reported as info."
    )
    needs = frozenset({Need.TREE, Need.TARBALL})
    options: ClassVar[Mapping[str, Option]] = {
        "min_size": Option(3, "how many differently named packages make a cluster", 1, MANY)
    }

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        groups: dict[str, dict[str, LockedPackage]] = defaultdict(dict)
        for pkg in ctx.lockfile.packages:
            if pkg.on_registry:
                for sig in clone_signatures(ctx, pkg):
                    groups[sig].setdefault(pkg.name, pkg)
        wanted = int(ctx.option(self, "min_size"))
        reported: set[str] = set()
        for sig, members in groups.items():
            for cluster in _similar_sizes(ctx, list(members.values())):
                if len(cluster) < wanted:
                    continue
                names = sorted(p.name for p in cluster)
                scopes = {p.scope for p in cluster}
                # one scope is one owner: a monorepo's siblings or a binary's platform builds
                same_owner = len(scopes) == 1 and None not in scopes
                for pkg in cluster:
                    if pkg.key not in reported:
                        reported.add(pkg.key)
                        yield self._found(ctx, pkg, names, sig, same_owner)

    def _found(
        self, ctx: CheckContext, pkg: LockedPackage, names: list[str], sig: str, same_owner: bool
    ) -> Finding:
        others = [n for n in names if n != pkg.name]
        facts = ctx.facts_for(pkg)
        files = facts.tarball.files if facts and facts.tarball else ()
        evidence = [
            Evidence("cluster", ", ".join(names[:10]), "tarball"),
            Evidence(
                "shared by",
                "file list, size and "
                + ("root files" if sig.startswith("content") else "description"),
                "tarball",
            ),
            Evidence(
                "files",
                ", ".join(f for f in files if not is_meta_file(f))[:200] or ", ".join(files[:8]),
                "tarball",
            ),
        ]
        if same_owner:
            evidence.append(Evidence("one scope", f"all in {pkg.scope}", "lockfile"))
        return self.finding(
            pkg,
            f"same template as {len(others)} other package(s): {', '.join(others[:5])}",
            evidence=tuple(evidence),
            hint=(
                "look at why several look-alike packages are in the tree; if reviewed: "
                + allow_entry(pkg.name, pkg.version, self.id)
            ),
            level=Level.INFO if same_owner else self.level,
        )


def _similar_sizes(ctx: CheckContext, members: list[LockedPackage]) -> list[list[LockedPackage]]:
    """Split a group into runs of packages whose unpacked sizes are close (renaming a template
    changes a few bytes; different code changes many)."""

    def size(pkg: LockedPackage) -> int:
        facts = ctx.facts_for(pkg)
        return facts.tarball.unpacked_size if facts and facts.tarball else 0

    ordered = sorted(members, key=size)
    runs: list[list[LockedPackage]] = []
    for pkg in ordered:
        if runs and size(pkg) - size(runs[-1][-1]) <= max(_SIZE_SLACK, size(pkg) // 50):
            runs[-1].append(pkg)
        else:
            runs.append([pkg])
    return runs


@register
class SpamScore(Rule):
    id = "spam-score"
    level = Level.BLOCK
    family = FAMILY
    description = (
        "Several spam signals agree on one package: their weighted sum reaches the threshold."
    )
    help = (
        "Each spam signal alone only warns; together they are convincing. Weights: "
        + ", ".join(f"`{k}` {v}" for k, v in SIGNAL_WEIGHTS.items())
        + " (a signal reported as info counts half). A package whose signals add up to "
        "`threshold` (default 5) or more gets this "
        "finding (block by default): a campaign name with a tea.yaml in a ring (2+2+2), or "
        "no code in a clone cluster with a tea.yaml (2+2+2), or an autopublish script with a "
        "campaign name (3+2), or a campaign name in a campaign group of the tree (2+3), or a "
        "campaign name with a tea.yaml on a package created days ago (2+2+1). "
        "tea.yaml and a version flood on a real package (2+1) do not reach it. A chain into "
        "blocked spam raises each link: a spam-ring member that is spam itself (see "
        "`spam-ring`) whose ring neighbour (a package it "
        "requires or that requires it) reaches the threshold gets `chain-raise` (default 1) "
        "more, repeated along the chain, so a campaign name that only depends on blocked "
        "campaign packages (2+2+1) is blocked too; a package with no spam signal of its own "
        "never reaches the threshold this way. The finding lists each deciding signal with "
        "what it saw. Allowed findings do not count."
    )
    needs = frozenset({Need.TREE})
    after = tuple(SIGNAL_WEIGHTS)
    options: ClassVar[Mapping[str, Option]] = {
        "threshold": Option(5, "the score at which spam-score reports", 0, MANY),
        "chain-raise": Option(
            1, "added to a spam-ring member linked to a package that reaches the threshold", 0, MANY
        ),
    }

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        parts: dict[str, dict[str, int]] = defaultdict(dict)
        seen: dict[tuple[str, str], Finding] = {}
        for rule, weight in SIGNAL_WEIGHTS.items():
            for f in ctx.earlier.get(rule, ()):
                if f.allowed_by is None and f.level > Level.OFF:
                    # a signal reported as info (a one-scope cluster, a package only spam
                    # needs, a deprecated placeholder) counts half
                    w = weight if f.level > Level.INFO else weight // 2
                    if w > parts[f.key].get(rule, -1):
                        parts[f.key][rule] = w
                        seen[(f.key, rule)] = f
        threshold = float(ctx.option(self, "threshold"))
        by_key = ctx.lockfile.by_key()
        raised = self._raise_chains(ctx, parts, by_key, threshold)
        for key, signals in parts.items():
            score = sum(signals.values()) + (raised[key][0] if key in raised else 0)
            pkg = by_key.get(key)
            if pkg is None or score < threshold:
                continue
            names = sorted(signals) + (["chain"] if key in raised else [])
            evidence = [
                Evidence(rule, f"+{w}: {seen[(key, rule)].message}", "findings")
                for rule, w in sorted(signals.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
            if key in raised:
                bonus, via = raised[key]
                evidence.append(
                    Evidence(
                        "chain", f"+{bonus}: linked to blocked spam {_names([via])}", "findings"
                    )
                )
            yield self.finding(
                pkg,
                f"spam score {score:g} (threshold {threshold:g}): " + ", ".join(names),
                evidence=tuple(evidence),
                hint=(
                    "remove this package (and the dependency that pulls it in); if it is "
                    "wanted: " + allow_entry(pkg.name, pkg.version, self.id)
                ),
                score=float(score),
            )

    def _raise_chains(
        self,
        ctx: CheckContext,
        parts: Mapping[str, Mapping[str, int]],
        by_key: Mapping[str, LockedPackage],
        threshold: float,
    ) -> dict[str, tuple[int, str]]:
        """key -> (raise, the blocked neighbour) for ring members linked to blocked spam,
        repeated until nothing changes (each package is raised once)."""
        bonus = int(ctx.option(self, "chain-raise"))
        # ring members that are spam themselves (not a clean package that pulls spam in)
        spam = _flagged(ctx)
        ring = {k for k, sig in parts.items() if sig.get("spam-ring", 0) >= 2 and k in spam}
        if not bonus or not ring:
            return {}
        scores = {k: sum(signals.values()) for k, signals in parts.items()}
        raised: dict[str, tuple[int, str]] = {}
        changed = True
        while changed:
            changed = False
            blocked = {k for k, v in scores.items() if v >= threshold}
            for key in sorted(ring - raised.keys()):
                pkg = by_key.get(key)
                if pkg is None:
                    continue
                near = [k for k in (*pkg.requires, *pkg.dependents) if k in blocked]
                if near:
                    raised[key] = (bonus, sorted(near)[0])
                    scores[key] += bonus
                    changed = True
        return raised
