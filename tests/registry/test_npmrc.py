"""`.npmrc` parsing and layering as npm does it, and npm's credential matching."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from npmoracle import needs_node, needs_npm, npm, npm_env, npm_module, run_node

from npmguard.registry.npmrc import (
    DEFAULT_REGISTRY,
    NpmConfig,
    env_replace,
    env_settings,
    load_npm_config,
    nerf_dart,
    parse_npmrc,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("registry=https://r.example/", {"registry": "https://r.example/"}),
        ("  registry = https://r.example/  ", {"registry": "https://r.example/"}),
        ("; comment\n# another\n\nfoo=bar", {"foo": "bar"}),
        ("foo=bar ; trailing comment", {"foo": "bar"}),
        ("foo=bar # trailing comment", {"foo": "bar"}),
        (r"foo=a\;b", {"foo": "a;b"}),
        ('foo="quoted ; not a comment"', {"foo": "quoted ; not a comment"}),
        ("foo='single'", {"foo": "single"}),
        ("strict-ssl=false\nalways-auth=true", {"strict-ssl": False, "always-auth": True}),
        ("flag", {"flag": True}),
        ("ca[]=one\nca[]=two", {"ca": ["one", "two"]}),
        ("k=v=w", {"k": "v=w"}),
        ("a=1\n[section]\nb=2", {"a": "1"}),
        ("@Scope:registry=https://s.example/", {"@Scope:registry": "https://s.example/"}),
        ("//r.example/:_authToken=abc", {"//r.example/:_authToken": "abc"}),
    ],
)
def test_parse_npmrc(text: str, expected: dict[str, object]) -> None:
    assert parse_npmrc(text, env={}) == expected


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${TOKEN}", {"TOKEN": "t0k"}, "t0k"),
        ("x-${TOKEN}-y", {"TOKEN": "t"}, "x-t-y"),
        ("${MISSING}", {}, "${MISSING}"),  # npm leaves an unset variable as written
        ("${MISSING?}", {}, ""),  # ...unless it is marked optional
        ("${SET?}", {"SET": "v"}, "v"),
        (r"\${TOKEN}", {"TOKEN": "t"}, "${TOKEN}"),  # escaped
        ("$TOKEN", {"TOKEN": "t"}, "$TOKEN"),  # only the braced form expands
    ],
)
def test_env_replace(text: str, env: dict[str, str], expected: str) -> None:
    assert env_replace(text, env) == expected


def test_env_expansion_in_keys_and_values() -> None:
    parsed = parse_npmrc(
        "//${HOST}/:_authToken=${NPM_TOKEN}", env={"HOST": "h.example", "NPM_TOKEN": "s"}
    )
    assert parsed == {"//h.example/:_authToken": "s"}


def test_env_settings_names_as_npm_reads_them() -> None:
    env = {
        "npm_config_registry": "https://a.example/",
        "NPM_CONFIG_FETCH_RETRIES": "5",
        "npm_config_//b.example/:_authToken": "tok",
        "npm_config_https_proxy": "http://proxy:3128",
        "npm_config_empty": "",
        "NPM_TOKEN": "unrelated",
    }
    assert env_settings(env) == {
        "registry": "https://a.example/",
        "fetch-retries": "5",
        "//b.example/:_authToken": "tok",
        "https-proxy": "http://proxy:3128",
    }


@pytest.mark.parametrize(
    ("url", "dart"),
    [
        ("https://registry.npmjs.org/", "//registry.npmjs.org/"),
        ("https://registry.npmjs.org", "//registry.npmjs.org/"),
        ("https://user:pw@R.Example:443/npm/?q=1", "//r.example/npm/"),
        ("http://r.example:8080/a/b/pkg", "//r.example:8080/a/b/"),
        ("https://r.example/a/b/-/pkg-1.0.0.tgz", "//r.example/a/b/-/"),
    ],
)
def test_nerf_dart(url: str, dart: str) -> None:
    assert nerf_dart(url) == dart


def _project(
    tmp_path: Path, project_rc: str = "", user_rc: str = "", global_rc: str = ""
) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "proj"
    (root / "sub").mkdir(parents=True)
    (root / "package.json").write_text("{}")
    if project_rc:
        (root / ".npmrc").write_text(project_rc)
    (tmp_path / "user.npmrc").write_text(user_rc)
    (tmp_path / "global.npmrc").write_text(global_rc)
    env = {
        "npm_config_userconfig": str(tmp_path / "user.npmrc"),
        "npm_config_globalconfig": str(tmp_path / "global.npmrc"),
    }
    return root, env


def test_layers_priority_env_over_project_over_user_over_global(tmp_path: Path) -> None:
    root, env = _project(
        tmp_path,
        global_rc="registry=https://global.example/\nfetch-retries=1\nproxy=http://g:1\ncafile=/g.pem",
        user_rc="registry=https://user.example/\nfetch-retries=2\nproxy=http://u:1",
        project_rc="registry=https://project.example/\nfetch-retries=3",
    )
    config = load_npm_config(root / "sub", env=env)  # the nearest package.json dir is used
    assert config.registry == "https://project.example/"
    assert config.fetch_retries == 3
    assert config.get("proxy") == "http://u:1"
    assert config.get("cafile") == "/g.pem"
    assert config.project_dir == root.resolve()
    assert len(config.sources) == 3
    env["NPM_CONFIG_REGISTRY"] = "https://env.example"
    assert load_npm_config(root, env=env).registry == "https://env.example/"


def test_defaults_without_any_file(tmp_path: Path) -> None:
    root, env = _project(tmp_path)
    config = load_npm_config(root, env=env)
    assert config.registry == DEFAULT_REGISTRY
    assert config.registry_urls() == (DEFAULT_REGISTRY,)
    assert config.fetch_timeout == 30.0
    assert config.fetch_retries == 2
    assert config.verify is True


def test_scoped_registries(tmp_path: Path) -> None:
    root, env = _project(
        tmp_path,
        user_rc="@Corp:registry=https://npm.corp.example/api/npm\n@other:registry=https://o.example/",
        project_rc="registry=https://mirror.example/",
    )
    config = load_npm_config(root, env=env)
    assert config.registry_for("left-pad") == "https://mirror.example/"
    # npm keys scoped registries by the scope as written: `npm view @corp/tool` with only
    # `@Corp:registry` set asks the default registry (checked with npm 11.19)
    assert config.registry_for("@corp/tool") == "https://mirror.example/"
    assert config.registry_for("@Corp/tool") == "https://npm.corp.example/api/npm/"
    assert config.registry_for("@third/x") == "https://mirror.example/"
    assert config.registry_urls() == (
        "https://mirror.example/",
        "https://npm.corp.example/api/npm/",
        "https://o.example/",
    )


def test_user_token_from_environment_variable(tmp_path: Path) -> None:
    root, env = _project(tmp_path, user_rc="//r.example/:_authToken=${NPM_TOKEN}")
    env["NPM_TOKEN"] = "s3cret"
    config = load_npm_config(root, env=env)
    assert config.auth_for("https://r.example/left-pad") == {"Authorization": "Bearer s3cret"}


def _cfg(
    values: dict[str, object],
    registry: str = "https://r.example/",
    scopes: dict[str, str] | None = None,
) -> NpmConfig:
    return NpmConfig(registry=registry, scopes=scopes or {}, values=values)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://r.example/pkg", "Bearer root"),
        ("https://r.example/-/x.tgz", "Bearer root"),
        ("https://r.example/team/pkg", "Bearer team"),  # longest path wins
        ("https://r.example/team/deep/pkg", "Bearer team"),
        ("https://r.example/teamster/pkg", "Bearer root"),  # segment boundary, not a prefix
        ("https://r.example:8443/pkg", "Bearer port"),
        ("http://r.example/pkg", "Bearer root"),  # npm keys ignore the scheme
        ("https://other.example/pkg", None),
        ("https://r.example.evil.test/pkg", None),
        ("https://evil.test/r.example/pkg", None),
    ],
)
def test_auth_nerf_dart_matching(url: str, expected: str | None) -> None:
    config = _cfg(
        {
            "//r.example/:_authToken": "root",
            "//r.example/team/:_authToken": "team",
            "//r.example:8443/:_authToken": "port",
        }
    )
    auth = config.auth_for(url)
    assert (auth or {}).get("Authorization") == expected


def test_basic_auth_forms() -> None:
    pw = base64.b64encode(b"p@ss").decode()
    config = _cfg(
        {
            "//a.example/:_auth": base64.b64encode(b"u:p").decode(),
            "//b.example/:username": "bob",
            "//b.example/:_password": pw,
            "//c.example/:username": "no-password",
        }
    )
    assert config.auth_for("https://a.example/x") == {
        "Authorization": "Basic " + base64.b64encode(b"u:p").decode()
    }
    assert config.auth_for("https://b.example/x") == {
        "Authorization": "Basic " + base64.b64encode(b"bob:p@ss").decode()
    }
    assert config.auth_for("https://c.example/x") is None


def test_unkeyed_legacy_token_is_never_sent() -> None:
    assert _cfg({"_authToken": "legacy", "_auth": "x"}).auth_for("https://r.example/p") is None


def test_same_host_borrows_registry_credentials_but_not_other_ports() -> None:
    config = _cfg({"//r.example/npm/:_authToken": "tok"}, registry="https://r.example/npm/")
    assert config.auth_for("https://r.example/files/p.tgz") == {"Authorization": "Bearer tok"}
    assert config.auth_for("https://r.example:444/files/p.tgz") is None
    assert config.auth_for("https://cdn.example/files/p.tgz") is None


def test_proxies_and_noproxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    config = _cfg(
        {
            "https-proxy": "http://sp:3128",
            "proxy": "http://p:3128",
            "noproxy": "internal.example, .corp",
        }
    )
    assert config.proxies_for("https://registry.npmjs.org/x") == {"https": "http://sp:3128"}
    assert config.proxies_for("http://registry.npmjs.org/x") == {"http": "http://p:3128"}
    assert config.proxies_for("https://internal.example/x") == {}
    assert config.proxies_for("https://a.internal.example/x") == {}
    assert config.proxies_for("https://npm.corp/x") == {}
    assert config.proxies_for("https://notinternal.example/x") == {"https": "http://sp:3128"}
    monkeypatch.setenv("HTTPS_PROXY", "http://envproxy:1")
    monkeypatch.setenv("NO_PROXY", "*")
    assert _cfg({}).proxies_for("https://x.example/") == {}
    monkeypatch.setenv("NO_PROXY", "")
    assert _cfg({}).proxies_for("https://x.example/") == {"https": "http://envproxy:1"}


def test_verify_and_timeouts(tmp_path: Path) -> None:
    assert _cfg({"strict-ssl": False}).verify is False
    assert _cfg({"strict-ssl": "false"}).verify is False  # from the environment, a string
    assert _cfg({"cafile": "/etc/ca.pem"}).verify == "/etc/ca.pem"
    assert _cfg({"ca": ["-----BEGIN CERTIFICATE-----\\nx"]}).ca == (
        "-----BEGIN CERTIFICATE-----\nx",
    )
    assert _cfg({"fetch-timeout": "1500"}).fetch_timeout == 1.5
    assert _cfg({"fetch-timeout": "nonsense"}).fetch_timeout == 30.0
    assert _cfg({"fetch-retries": "0"}).fetch_retries == 0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1e400", 2147483.647), ("nan", 30.0), ("-5", 30.0), ("1" * 5000, 2147483.647)],
)
def test_fetch_timeout_stays_a_timeout_a_socket_takes(value: str, seconds: float) -> None:
    """Issue 13 (fuzzed .npmrc): an infinite or huge fetch-timeout overflowed the socket's
    timeout. Node's timers stop at 2^31-1 ms; so does npmguard."""
    assert _cfg({"fetch-timeout": value}).fetch_timeout == seconds


def test_fetch_retries_are_bounded() -> None:
    assert _cfg({"fetch-retries": "99999999999"}).fetch_retries == 10
    assert _cfg({"fetch-retries": "1" * 5000}).fetch_retries == 2  # not a number Python reads


def test_an_npmrc_over_its_limit_is_a_usage_error(tmp_path: Path) -> None:
    from npmguard.errors import UsageError

    root, env = _project(tmp_path, project_rc="registry=https://r.example/\n" + "#" * (1 << 20))
    with pytest.raises(UsageError, match=r"\.npmrc: larger than 1 MB"):
        load_npm_config(root, env=env)


def test_repr_redacts_secrets() -> None:
    config = _cfg(
        {
            "//r.example/:_authToken": "TOPSECRET1",
            "//r.example/:_password": "TOPSECRET2",
            "proxy": "http://user:TOPSECRET3@proxy:3128",
            "registry": "https://r.example/",
        }
    )
    text = repr(config) + str(config)
    assert "TOPSECRET" not in text
    assert "r.example" in text


def test_credentials_for_a_40000_character_registry_url_are_found_at_once() -> None:
    """Issue 13 (found by the .npmrc fuzzer): the path-trimming regex backtracked over a
    long host for hours; it is a linear scan now, with the same answers."""
    import time

    host = "a" * 40_000 + ".example"
    config = _cfg({"@s:registry": f"https://{host}/", f"//{host}/:_authToken": "T0KEN"})
    started = time.monotonic()
    assert config.auth_for(f"https://{host}/@s%2fx") == {"Authorization": "Bearer T0KEN"}
    assert config.auth_for(f"https://{host}x/y") is None
    assert time.monotonic() - started < 2.0


# .npmrc texts where Python's line splitting and str.strip() differ from npm's ini package
# (found in review: a comment hiding a registry line, a BOM or an indented section hiding
# one from npmguard only)
INI_DIFFERENTIAL = [
    "\ufeffregistry=https://evil.example/",
    "a=1\n\ufeffregistry=https://evil.example/",
    "  [team]\nregistry=https://evil.example/",
    "\t[team]\nregistry=https://evil.example/",
    "[a]b]\nregistry=https://evil.example/",
    "[team]  \nregistry=https://evil.example/",
    "; comment\x0cregistry=https://evil.example/",
    "; comment\x0bregistry=https://evil.example/",
    "# comment\x1cregistry=https://evil.example/",
    "; comment\x85registry=https://evil.example/",
    "; comment\u2028registry=https://evil.example/",
    "\x1cregistry=https://evil.example/",
    "\x85registry=https://evil.example/",
    "registry\x1f=https://evil.example/",
    "registry=https://evil.example/\u2028x",
    "registry\u2028=https://evil.example/",
    "\u00a0registry=https://evil.example/\u3000",
    "registry=https://a.example/\r\rregistry=https://evil.example/",
    "'=x\n\"=y\nregistry='https://evil.example/'",
    "__proto__=x\nregistry[]=a\nregistry[]=b",
    '@EVIL:registry=https://evil.example/\nk="\\u0041"',
]


@needs_node
def test_parse_npmrc_reads_as_npms_ini_package() -> None:
    ini = npm_module("ini")
    if ini is None:
        pytest.skip("npm's own ini package is not installed here")
    script = (
        f"const ini = require({json.dumps(str(ini))});"
        "const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(texts.map((t) => {"
        "  const o = ini.parse(t); const top = {};"
        "  for (const [k, v] of Object.entries(o)) if (typeof v !== 'object' || Array.isArray(v))"
        "    top[k] = v;"
        "  return top; })))"
    )
    npm_says = run_node(script, INI_DIFFERENTIAL)
    ours = [parse_npmrc(text, env={}) for text in INI_DIFFERENTIAL]
    differ = [(t, n, o) for t, n, o in zip(INI_DIFFERENTIAL, npm_says, ours, strict=True) if n != o]
    assert not differ


@needs_npm
@pytest.mark.parametrize("text", INI_DIFFERENTIAL[:4] + INI_DIFFERENTIAL[6:8], ids=repr)
def test_registry_is_npm_config_get_registry(tmp_path: Path, text: str) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "package.json").write_text("{}")
    (project / ".npmrc").write_text(text, encoding="utf-8")
    env = npm_env(tmp_path)
    said = npm(project, env, "config", "get", "registry").stdout.strip()
    assert load_npm_config(project, env=env).registry == said
