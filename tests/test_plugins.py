"""Plugin discovery through real entry points, the allow-list, local plugin files, and every
loading failure reported with the plugin's and distribution's names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grpo_rewards.registry import ENV_PLUGINS, get_registry, load_plugin_files

REPO = Path(__file__).resolve().parents[1]
BUILTIN_FAMILIES = {"length", "math", "xml_format", "consistency", "repetition", "reward_model"}


def make_distribution(root: Path, dist: str, modules: dict[str, str], entry_points: dict[str, str]) -> None:
    """Write an installed-looking distribution (a .dist-info with entry points) under ``root``."""
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    lines = ["[grpo_rewards]"] + [f"{name} = {target}" for name, target in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))


GOOD_PLUGIN = """
from grpo_rewards import Sample, hookimpl, reward

@reward("{name}", description="constant")
def constant(sample: Sample) -> float:
    return 1.0

@hookimpl
def register_rewards(register):
    register(constant)
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder on sys.path where tests install fake distributions; the registry is reloaded after."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("gr_test_")]:
        del sys.modules[name]
    get_registry(refresh=True)


def test_builtin_plugins_come_through_our_own_entry_points():
    registry = get_registry(refresh=True)
    assert set(registry.plugins) >= BUILTIN_FAMILIES
    for family in BUILTIN_FAMILIES:
        info = registry.plugins[family]
        assert info.distribution == "grpo-rewards"
        assert info.source == "entry point"
        assert "register_rewards" in info.hooks
        assert info.rewards, f"{family} registers no reward"
    assert not registry.problems, [str(p) for p in registry.problems]


def test_allow_list_environment_variable(site, monkeypatch):
    make_distribution(site, "gr-alpha", {"gr_test_alpha": GOOD_PLUGIN.format(name="alpha.one")}, {"alpha": "gr_test_alpha"})
    make_distribution(site, "gr-beta", {"gr_test_beta": GOOD_PLUGIN.format(name="beta.one")}, {"beta": "gr_test_beta"})

    monkeypatch.delenv(ENV_PLUGINS, raising=False)
    assert {"alpha.one", "beta.one"} <= set(get_registry(refresh=True).rewards)

    monkeypatch.setenv(ENV_PLUGINS, "")
    registry = get_registry(refresh=True)
    assert "alpha.one" not in registry.rewards and "beta.one" not in registry.rewards
    assert set(registry.plugins) >= BUILTIN_FAMILIES, "built-ins always load"

    monkeypatch.setenv(ENV_PLUGINS, "alpha")  # by entry-point name
    assert {"alpha.one", "beta.one"} & set(get_registry(refresh=True).rewards) == {"alpha.one"}

    monkeypatch.setenv(ENV_PLUGINS, "gr_beta")  # by distribution name, any spelling
    assert {"alpha.one", "beta.one"} & set(get_registry(refresh=True).rewards) == {"beta.one"}


def test_plugin_that_fails_to_import_is_reported_and_does_not_hide_others(site, monkeypatch):
    monkeypatch.delenv(ENV_PLUGINS, raising=False)
    make_distribution(site, "gr-broken", {"gr_test_broken": "raise ImportError('needs libfoo')"}, {"broken": "gr_test_broken"})
    make_distribution(site, "gr-fine", {"gr_test_fine": GOOD_PLUGIN.format(name="fine.one")}, {"fine": "gr_test_fine"})
    registry = get_registry(refresh=True)
    assert "fine.one" in registry.rewards
    messages = [str(p) for p in registry.problems]
    assert messages == ["plugin 'broken' (distribution gr-broken): failed to import 'gr_test_broken': ImportError: needs libfoo"]


def test_unknown_hook_name_is_reported(site, monkeypatch):
    monkeypatch.delenv(ENV_PLUGINS, raising=False)
    typo = """
    from grpo_rewards import hookimpl

    @hookimpl
    def register_reward(register):  # missing the final s
        pass
    """
    make_distribution(site, "gr-typo", {"gr_test_typo": typo}, {"typo": "gr_test_typo"})
    registry = get_registry(refresh=True)
    assert "typo" not in registry.plugins
    (problem,) = [p for p in registry.problems if p.plugin == "typo"]
    assert problem.distribution == "gr-typo"
    assert "implements unknown hook(s) register_reward" in problem.message
    assert "register_rewards" in problem.message  # the known hooks are listed


def test_two_plugins_registering_the_same_reward_name(site, monkeypatch):
    monkeypatch.delenv(ENV_PLUGINS, raising=False)
    make_distribution(site, "gr-first", {"gr_test_first": GOOD_PLUGIN.format(name="same.name")}, {"first": "gr_test_first"})
    make_distribution(site, "gr-second", {"gr_test_second": GOOD_PLUGIN.format(name="same.name")}, {"second": "gr_test_second"})
    registry = get_registry(refresh=True)
    assert registry.rewards["same.name"].plugin == "first"
    assert [str(p) for p in registry.problems] == [
        "plugin 'second' (distribution gr-second): registers reward 'same.name', already registered by "
        "plugin 'first' (distribution gr-first); kept the first"
    ]


def test_a_plugin_clashing_with_a_builtin_reward_name_is_reported(site, monkeypatch):
    monkeypatch.delenv(ENV_PLUGINS, raising=False)
    builtin_name = sorted(get_registry(refresh=True).plugins["length"].rewards)[0]
    make_distribution(site, "gr-clash", {"gr_test_clash": GOOD_PLUGIN.format(name=builtin_name)}, {"clash": "gr_test_clash"})
    registry = get_registry(refresh=True)
    assert registry.rewards[builtin_name].plugin == "length"
    assert any(p.plugin == "clash" and builtin_name in p.message for p in registry.problems)


def test_local_plugin_file_in_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "grpo_rewards_plugins.py").write_text(textwrap.dedent(GOOD_PLUGIN.format(name="local.one")))
    monkeypatch.chdir(tmp_path)
    try:
        registry = get_registry(refresh=True)
        assert "local.one" in registry.rewards
        info = registry.plugins["local:grpo_rewards_plugins.py"]
        assert info.source.startswith("local file") and info.distribution is None
    finally:
        monkeypatch.undo()
        get_registry(refresh=True)


def test_local_plugin_file_that_crashes_is_reported(tmp_path):
    bad = tmp_path / "bad_rewards.py"
    bad.write_text("1/0\n")
    try:
        registry = load_plugin_files([bad])
        (problem,) = [p for p in registry.problems if p.plugin == "local:bad_rewards.py"]
        assert "ZeroDivisionError" in problem.message and str(bad) in problem.message
    finally:
        get_registry(refresh=True)


def test_two_local_plugin_files_of_the_same_name_are_two_plugins(tmp_path):
    """A file is known by its resolved path: a same-named file from another folder is loaded too
    (it used to be skipped without a word, its rewards unknown), and each keeps its own name."""
    for folder, name in (("a", "twin.one"), ("b", "twin.two")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "rewards.py").write_text(textwrap.dedent(GOOD_PLUGIN.format(name=name)))
    get_registry(refresh=True)
    try:
        registry = load_plugin_files([tmp_path / "a" / "rewards.py", tmp_path / "b" / "rewards.py"])
        assert {"twin.one", "twin.two"} <= set(registry.rewards)
        first, second = registry.rewards["twin.one"].plugin, registry.rewards["twin.two"].plugin
        assert first == "local:rewards.py" and second == f"local:{(tmp_path / 'b' / 'rewards.py').resolve()}"
        load_plugin_files([tmp_path / "a" / ".." / "a" / "rewards.py"])  # the same file again: loaded once
        (tmp_path / "c").mkdir()  # a copy of a's file elsewhere: the same plugin, not a clash of twin.one
        (tmp_path / "c" / "rewards.py").write_text((tmp_path / "a" / "rewards.py").read_text())
        load_plugin_files([tmp_path / "c" / "rewards.py"])
        assert registry.local_plugin(tmp_path / "c" / "rewards.py") is registry.pm.get_plugin(first)
        assert len([p for p in registry.plugins if p.startswith("local:")]) == 2
        assert [p for p in registry.problems if p.plugin.startswith("local:")] == []
        assert registry.local_plugin(tmp_path / "b" / "rewards.py") is registry.pm.get_plugin(second)
    finally:
        get_registry(refresh=True)


def test_an_extractor_from_a_local_file_reaches_process_workers(tmp_path):
    """math.correct runs in worker processes; an extractor a local file registers, bound through
    `extractors`, must resolve there too (the worker loads the file before unpickling the job)."""
    from grpo_rewards import Sample, Scorer, parse_reward_set

    (tmp_path / "colon.py").write_text(
        "from grpo_rewards import hookimpl\n\n"
        "@hookimpl\ndef register_extractors(register):\n"
        "    register('colon.after', lambda text: text.rsplit('A:', 1)[1].strip() if 'A:' in text else None)\n"
    )
    try:
        load_plugin_files([tmp_path / "colon.py"])
        reward_set = parse_reward_set([{"use": "math.correct", "params": {"extractors": ["colon.after"]}}])
        assert reward_set.functions()[0].executor == "process"
        rows = [Sample(f"12 then A: {a}", "q", {"answer": "7"}) for a in ("7", "12", "7.0")]
        batch = Scorer(reward_set).score(rows)
        assert batch.values["math.correct"] == [1.0, 0.0, 1.0], batch.stats["math.correct"].first_error
    finally:
        get_registry(refresh=True)


def test_hook_that_raises_is_reported(registry):
    class Exploding:
        from grpo_rewards import hookimpl

        @staticmethod
        @hookimpl
        def register_rewards(register):
            raise RuntimeError("bad plugin")

    registry.add_plugin(Exploding(), "exploding", "gr-exploding", "0.1")
    assert [str(p) for p in registry.problems][-1] == (
        "plugin 'exploding' (distribution gr-exploding): register_rewards failed: RuntimeError: bad plugin"
    )


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    """The example third-party package, really pip-installed into a private target folder."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(REPO / "examples" / "plugin-example"),
        ],
        check=True,
        capture_output=True,
    )
    return target


def run_cli(*args: str, pythonpath: Path | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != ENV_PLUGINS}
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, "-m", "grpo_rewards", *args], capture_output=True, text=True, env=env, cwd=cwd)


def test_third_party_package_is_listed_and_usable(installed_example, tmp_path):
    listing = run_cli("plugins", "--json", pythonpath=installed_example)
    assert listing.returncode == 0, listing.stderr
    plugins = {p["name"]: p for p in json.loads(listing.stdout)["plugins"]}
    assert plugins["politeness"]["distribution"] == "grpo-rewards-politeness"
    assert plugins["politeness"]["version"] == "0.1.0"
    assert plugins["politeness"]["rewards"] == ["politeness.please"]

    config = tmp_path / "polite.toml"
    config.write_text('[[rewards]]\nuse = "politeness.please"\n[rewards.params]\nexpected = 2\n')
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"completion": "Please, thank you."}\n{"completion": "No."}\n')
    scored = run_cli(
        "score", str(config), "--input", str(rows), "--output", str(tmp_path / "out.jsonl"), pythonpath=installed_example
    )
    assert scored.returncode == 0, scored.stderr
    values = [json.loads(line)["reward"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert values == [1.0, 0.0]
