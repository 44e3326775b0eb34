"""Finding the policy, extends chains, merging, and URL policies served on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from staticserver import StaticServer

from npmguard.errors import PolicyError
from npmguard.model import Level
from npmguard.policy.load import PRESETS, PolicySource, find_policy, load_policy, load_source


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- discovery -------------------------------------------------------------------------------


def test_policy_next_to_the_lockfile_is_found(tmp_path: Path) -> None:
    write(tmp_path / "npmguard.toml", '[rules]\ndeprecated = "off"\n')
    policy = load_policy(None, tmp_path)
    assert policy.levels["deprecated"] is Level.OFF
    assert policy.files == ("npmguard.toml",) or policy.files[0].endswith("npmguard.toml")


def test_nearest_policy_walking_up_wins(tmp_path: Path) -> None:
    write(tmp_path / "npmguard.toml", '[rules]\ndeprecated = "off"\n')
    write(tmp_path / "app" / ".npmguard.toml", '[rules]\ndeprecated = "block"\n')
    deep = tmp_path / "app" / "packages" / "web"
    deep.mkdir(parents=True)
    assert load_policy(None, deep).levels["deprecated"] is Level.BLOCK
    assert load_policy(None, tmp_path / "app").levels["deprecated"] is Level.BLOCK
    assert load_policy(None, tmp_path).levels["deprecated"] is Level.OFF


def test_npmguard_toml_wins_over_dot_file_in_one_folder(tmp_path: Path) -> None:
    write(tmp_path / "npmguard.toml", '[rules]\ndeprecated = "off"\n')
    write(tmp_path / ".npmguard.toml", '[rules]\ndeprecated = "block"\n')
    source = find_policy(None, tmp_path)
    assert source.location == str(tmp_path / "npmguard.toml")


def test_explicit_policy_overrides_the_one_found(tmp_path: Path) -> None:
    write(tmp_path / "npmguard.toml", '[rules]\ndeprecated = "off"\n')
    other = write(tmp_path / "elsewhere" / "p.toml", '[rules]\ndeprecated = "warn"\n')
    assert load_policy(other, tmp_path).levels["deprecated"] is Level.WARN


def test_explicit_policy_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy(tmp_path / "nope.toml", tmp_path)


def test_explicit_builtin_name(tmp_path: Path) -> None:
    policy = load_policy(Path("npmguard:strict"), tmp_path)
    assert policy.levels["install-script"] is Level.BLOCK


def test_user_level_policy_applies_when_the_repo_has_none(tmp_path: Path) -> None:
    config = Path(os.environ["NPMGUARD_CONFIG_DIR"])
    write(config / "npmguard.toml", '[settings]\nfail-on = "warn"\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    policy = load_policy(None, repo)
    assert policy.fail_on is Level.WARN
    assert policy.sources["settings.fail-on"].endswith("npmguard.toml:2")
    # ... and a repo policy replaces it entirely
    write(repo / "npmguard.toml", "")
    assert load_policy(None, repo).fail_on is Level.BLOCK


def test_builtin_default_when_nothing_is_found(tmp_path: Path) -> None:
    source = find_policy(None, tmp_path)
    assert source == PolicySource("builtin", "default")
    policy = load_source(source)
    assert policy.files == ("npmguard:default",)
    assert policy.levels == {}
    assert policy.fail_on is Level.BLOCK


# -- presets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads(name: str) -> None:
    policy = load_source(PolicySource("builtin", name))
    assert policy.files == (f"npmguard:{name}",)


def test_default_preset_changes_nothing() -> None:
    """default.toml spells out the built-in values; it must not drift from them."""
    from npmguard.policy.model import Policy

    loaded = load_source(PolicySource("builtin", "default"))
    builtin = Policy()
    assert loaded.levels == {} and loaded.options == {}
    for name in ("fail_on", "prompt_on", "on_unreachable", "noninteractive_warn"):
        assert getattr(loaded, name) == getattr(builtin, name)
    assert loaded.allowed_registries == builtin.allowed_registries
    assert (loaded.include_dev, loaded.include_optional, loaded.include_peer) == (True,) * 3


def test_strict_blocks_install_scripts_and_has_a_cool_down() -> None:
    strict = load_source(PolicySource("builtin", "strict"))
    assert strict.levels["install-script"] is Level.BLOCK
    assert strict.levels["too-new"] is Level.BLOCK
    assert strict.options["too-new"]["days"] >= 7


def test_ci_fails_on_warnings_and_blocks_noninteractive() -> None:
    ci = load_source(PolicySource("builtin", "ci"))
    assert ci.fail_on is Level.WARN
    assert ci.noninteractive_warn == "block"
    assert ci.on_unreachable == "fail"


def test_repo_symlink_points_at_the_shipped_presets() -> None:
    root = Path(__file__).resolve().parents[2]
    link = root / "policies"
    assert link.is_symlink()
    assert not os.path.isabs(os.readlink(link))
    assert sorted(p.name for p in link.glob("*.toml")) == sorted(f"{p}.toml" for p in PRESETS)


# -- extends ---------------------------------------------------------------------------------


def test_child_lowers_a_level_and_wins_single_values(tmp_path: Path) -> None:
    write(
        tmp_path / "org" / "base.toml",
        '[rules]\ninstall-script = "block"\n[rules.too-new]\nlevel = "block"\ndays = 5\n'
        '[settings]\nfail-on = "warn"\n'
        '[[allow]]\npackage = "@acme/*"\nreason = "ours"\n',
    )
    child = write(
        tmp_path / "repo" / "npmguard.toml",
        'extends = ["../org/base.toml"]\n[rules]\ninstall-script = "warn"\n'
        '[[allow]]\npackage = "esbuild"\nrules = ["install-script"]\nreason = "binary"\n',
    )
    policy = load_policy(child, tmp_path)
    assert policy.levels["install-script"] is Level.WARN  # lowered by the child
    assert policy.levels["too-new"] is Level.BLOCK  # inherited
    assert policy.options["too-new"]["days"] == 5
    assert policy.fail_on is Level.WARN
    assert [a.matcher.package for a in policy.allow] == ["@acme/*", "esbuild"]  # base first
    assert policy.sources["rules.install-script.level"].endswith("npmguard.toml:3")
    assert policy.sources["rules.too-new.days"].endswith("base.toml:5")
    assert policy.sources["settings.fail-on"].endswith("base.toml:7")
    assert policy.files[0].endswith("npmguard.toml") and policy.files[1].endswith("base.toml")
    assert policy.allow[0].source.endswith("base.toml:8")


def test_later_extends_entries_win_over_earlier(tmp_path: Path) -> None:
    write(tmp_path / "a.toml", '[rules]\ndeprecated = "off"\n')
    write(tmp_path / "b.toml", '[rules]\ndeprecated = "block"\n')
    main = write(tmp_path / "p.toml", 'extends = ["a.toml", "b.toml"]\n')
    assert load_policy(main, tmp_path).levels["deprecated"] is Level.BLOCK


def test_extends_builtin_preset(tmp_path: Path) -> None:
    main = write(
        tmp_path / "p.toml",
        'extends = ["npmguard:strict", "npmguard:ci"]\n[rules.too-new]\ndays=9\n',
    )
    policy = load_policy(main, tmp_path)
    assert policy.levels["install-script"] is Level.BLOCK
    assert policy.fail_on is Level.WARN
    assert policy.options["too-new"]["days"] == 9


def test_diamond_extends_reads_the_shared_base_once(tmp_path: Path) -> None:
    write(tmp_path / "base.toml", '[[deny]]\npackage = "evil"\nreason = "no"\n')
    write(tmp_path / "a.toml", 'extends = ["base.toml"]\n')
    write(tmp_path / "b.toml", 'extends = ["base.toml"]\n')
    main = write(tmp_path / "p.toml", 'extends = ["a.toml", "b.toml"]\n')
    assert len(load_policy(main, tmp_path).deny) == 1


def test_extends_loop_names_the_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.toml", 'extends = ["b.toml"]\n')
    write(tmp_path / "b.toml", '\nextends = ["c.toml"]\n')
    write(tmp_path / "c.toml", 'extends = ["a.toml"]\n')
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "a.toml", tmp_path)
    assert str(info.value) == "c.toml:1: extends loop: a.toml -> b.toml -> c.toml -> a.toml"


def test_self_extension_is_a_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.toml", 'extends = ["./a.toml"]\n')
    with pytest.raises(PolicyError, match=r"extends loop: a\.toml -> a\.toml"):
        load_policy(tmp_path / "a.toml", tmp_path)


def test_errors_in_an_extended_file_name_that_file(tmp_path: Path) -> None:
    write(tmp_path / "base.toml", '[rules]\nnot-a-rule = "warn"\n')
    main = write(tmp_path / "p.toml", 'extends = ["base.toml"]\n')
    with pytest.raises(PolicyError, match=r"base\.toml:2: rules\.not-a-rule: unknown rule id"):
        load_policy(main, tmp_path)


def test_option_names_accept_hyphen_or_underscore(tmp_path: Path) -> None:
    main = write(
        tmp_path / "p.toml",
        "[rules.dormant-wake]\nquiet-days = 400\n[rules.clone-cluster]\nmin_size = 4\n",
    )
    policy = load_policy(main, tmp_path)
    assert policy.options["dormant-wake"]["quiet_days"] == 400
    assert policy.options["clone-cluster"]["min_size"] == 4
    assert policy.sources["rules.dormant-wake.quiet-days"].endswith("p.toml:2")


def test_settings_are_parsed(tmp_path: Path) -> None:
    main = write(
        tmp_path / "p.toml",
        "[settings]\n"
        'fail-on = "info"\nprompt-on = "block"\non-unreachable = "warn"\n'
        'noninteractive-warn = "block"\nallowed-registries = ["HTTPS://NPM.Example.com/r"]\n'
        "include-dev = false\ninclude-optional = false\ninclude-peer = false\n",
    )
    p = load_policy(main, tmp_path)
    assert (p.fail_on, p.prompt_on, p.on_unreachable, p.noninteractive_warn) == (
        Level.INFO,
        Level.BLOCK,
        "warn",
        "block",
    )
    assert p.allowed_registries == ("https://npm.example.com/r/",)
    assert (p.include_dev, p.include_optional, p.include_peer) == (False, False, False)


def test_allow_entry_fields(tmp_path: Path) -> None:
    main = write(
        tmp_path / "p.toml",
        '[[allow]]\npackage = "@acme/*"\nversion = "^1.2.0"\nrules = ["install-script"]\n'
        'reason = "ours"\nexpires = 2030-01-31\n'
        '[[allow]]\npackage = "x"\nreason = "quoted date"\nexpires = "2030-02-01"\n',
    )
    first, second = load_policy(main, tmp_path).allow
    assert first.rules == ("install-script",)
    assert first.expires == date(2030, 1, 31)
    assert first.covers("install-script", "@acme/tool", "1.4.0")
    assert not first.covers("install-script", "@acme/tool", "2.0.0")
    assert not first.covers("too-new", "@acme/tool", "1.4.0")
    assert not first.covers("install-script", "@other/tool", "1.4.0")
    assert second.expires == date(2030, 2, 1) and second.rules is None


# -- URL extends -------------------------------------------------------------------------------


@pytest.fixture
def policy_server() -> Iterator[tuple[str, StaticServer]]:
    with StaticServer() as server:
        yield server.url, server


def test_url_extends_is_fetched_cached_and_works_offline(
    tmp_path: Path, policy_server: tuple[str, StaticServer]
) -> None:
    base, handler = policy_server
    handler.files["/org/npmguard.toml"] = b'extends = ["team.toml"]\n[rules]\ndeprecated = "off"\n'
    handler.files["/org/team.toml"] = b'[[deny]]\npackage = "evil"\nreason = "org says no"\n'
    main = write(tmp_path / "p.toml", f'extends = ["{base}/org/npmguard.toml"]\n')
    policy = load_policy(main, tmp_path)
    assert policy.levels["deprecated"] is Level.OFF
    assert policy.deny[0].reason == "org says no"  # relative extends resolved against the URL
    assert policy.deny[0].source == f"{base}/org/team.toml:1"
    assert handler.hits == ["/org/npmguard.toml", "/org/team.toml"]

    # fresh cache: no second fetch
    load_policy(main, tmp_path)
    assert len(handler.hits) == 2

    # stale cache and the server gone: the cached copy is used, with a warning
    handler.files.clear()
    expire_http_cache()
    policy = load_policy(main, tmp_path)
    assert policy.deny[0].reason == "org says no"
    assert len(handler.hits) == 4  # both were asked again


def expire_http_cache() -> None:
    """Make every cached answer stale (as if FRESH_SECONDS had passed)."""
    from datetime import datetime, timezone

    from requests_cache.backends.sqlite import SQLiteCache

    cache = SQLiteCache(Path(os.environ["NPMGUARD_CACHE_DIR"]) / "http.sqlite")
    cache.reset_expiration(datetime(2000, 1, 1, tzinfo=timezone.utc))
    cache.close()


def test_a_stale_policy_is_revalidated_not_downloaded_again(tmp_path: Path) -> None:
    body = b'[[deny]]\npackage = "evil"\nreason = "org says no"\n' + b"# padding\n" * 500
    with StaticServer({"/org.toml": body}, validators=True) as server:
        main = write(tmp_path / "p.toml", f'extends = ["{server.url}/org.toml"]\n')
        load_policy(main, tmp_path)
        expire_http_cache()
        assert load_policy(main, tmp_path).deny[0].reason == "org says no"
        assert (server.hits, server.not_modified, server.sent) == (["/org.toml"] * 2, 1, len(body))
        server.files["/org.toml"] = body.replace(b"org says no", b"changed")
        expire_http_cache()
        assert load_policy(main, tmp_path).deny[0].reason == "changed"  # a new ETag


def test_a_redirect_to_plain_http_is_refused(tmp_path: Path) -> None:
    from npmguard.policy.fetch import check_hop

    check_hop("http://127.0.0.1:1/p.toml", "http://127.0.0.1:1/q.toml")  # loopback: fine
    with pytest.raises(PolicyError, match="redirects to plain http"):
        check_hop("http://127.0.0.1:1/p.toml", "https://policies.example/p.toml")
    with pytest.raises(PolicyError, match="only https URLs"):
        check_hop("http://policies.example/p.toml", "https://policies.example/q.toml")
    with StaticServer(redirects={"/p.toml": "http://example.invalid/p.toml"}) as server:
        main = write(tmp_path / "p.toml", f'extends = ["{server.url}/p.toml"]\n')
        with pytest.raises(PolicyError, match="only https URLs"):
            load_policy(main, tmp_path)


def test_url_without_cache_that_cannot_be_fetched_is_an_error(
    tmp_path: Path, policy_server: tuple[str, StaticServer]
) -> None:
    base, _ = policy_server
    main = write(tmp_path / "p.toml", f'extends = ["{base}/missing.toml"]\n')
    with pytest.raises(PolicyError) as info:
        load_policy(main, tmp_path)
    assert "p.toml:1: extends: " in str(info.value)
    assert "HTTP 404" in str(info.value) and "no cached copy" in str(info.value)


def test_url_that_is_not_toml_is_not_cached(
    tmp_path: Path, policy_server: tuple[str, StaticServer]
) -> None:
    base, handler = policy_server
    handler.files["/p.toml"] = b"<html>login</html>"
    main = write(tmp_path / "p.toml", f'extends = ["{base}/p.toml"]\n')
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(main, tmp_path)
    handler.files["/p.toml"] = b'[settings]\nfail-on = "warn"\n'  # the login page was not kept
    assert str(load_policy(main, tmp_path).fail_on) == "warn"


def test_url_loop_names_the_chain(policy_server: tuple[str, StaticServer]) -> None:
    base, handler = policy_server
    handler.files["/a.toml"] = b'extends = ["b.toml"]\n'
    handler.files["/b.toml"] = f'extends = ["{base}/a.toml"]\n'.encode()
    with pytest.raises(PolicyError) as info:
        load_source(PolicySource("url", f"{base}/a.toml"))
    assert f"extends loop: {base}/a.toml -> {base}/b.toml -> {base}/a.toml" in str(info.value)


def test_a_policy_file_over_its_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """One policy file is at most 1 MB (docs/limits.md): more is not a policy, and reading
    it whole first (a 1.5 GB body was) is what the limit is for."""
    big = tmp_path / "npmguard.toml"
    big.write_bytes(b"# padding\n" * 110_000)
    with pytest.raises(PolicyError, match="larger than 1 MB; not a policy npmguard will read"):
        load_policy(str(big), tmp_path)


def test_a_gzip_bomb_stops_at_the_policy_limit_and_is_not_cached(tmp_path: Path) -> None:
    """An 80 KB gzip body that decodes to 80 MB: it was decoded whole (3.3 GB resident for an
    800 MB one) and kept in the HTTP cache before the size check refused it (found in
    review). It is refused as it arrives, at the 1 MB limit, and nothing is cached."""
    import gzip

    bomb = gzip.compress(b"#" * (80 << 20), compresslevel=9)
    assert len(bomb) < 200_000
    with StaticServer({"/bomb.toml": bomb}, encodings={"/bomb.toml": "gzip"}) as server:
        main = write(tmp_path / "p.toml", f'extends = ["{server.url}/bomb.toml"]\n')
        with pytest.raises(PolicyError, match="limit"):
            load_policy(main, tmp_path)
    cache = Path(os.environ["NPMGUARD_CACHE_DIR"]) / "http.sqlite"
    assert not cache.exists() or cache.stat().st_size < 4 << 20
