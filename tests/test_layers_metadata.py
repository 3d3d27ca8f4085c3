"""What a third-party plugin gets without us knowing its names: bench labels, tags and probes from
the metadata its rewards declare, its own command in the CLI, its extractors checked at config
time, and declaration mistakes reported at registration."""

from __future__ import annotations

import json
import pickle
import textwrap

import pytest
from click.testing import CliRunner

from grpo_rewards.cli import main
from grpo_rewards.registry import get_registry, load_plugin_files
from grpo_rewards.rewardset import load_reward_set
from tests.bench_support import write_jsonl

ACME = '''
import click
from grpo_rewards import Param, Sample, hookimpl, reward
from grpo_rewards.bench.probes import Probe


def _final(text):
    start, end = text.rfind("<final>"), text.rfind("</final>")
    return text[start + 7:end].strip() if 0 <= start < end else None


@reward("acme.exact", kind="correctness", description="1 when <final> holds the gold answer.",
        params=[Param("gold", str, "solution_value", "column with the gold answer", column=True)], value_range=(0, 1))
def exact(sample: Sample, gold: str) -> float:
    return float(_final(sample.completion) == str(sample.columns[gold]))


@reward("acme.tags", kind="format", description="1 when both tags are there.",
        params=[Param("scratch", str, "scratch", "reasoning tag", role="think_tag"),
                Param("final", str, "final", "answer tag", role="answer_tag")], value_range=(0, 1))
def tags(sample: Sample, scratch: str, final: str) -> float:
    return float(f"<{scratch}>" in sample.completion and f"<{final}>" in sample.completion)


@reward("acme.typo", description="declares a parameter its function does not take",
        params=[Param("max_words", int, 3, "a limit")])
def typo(sample: Sample, max_word: int = 3) -> float:
    return 1.0


@hookimpl
def register_rewards(register):
    for fn in (exact, tags, typo):
        register(fn)


@hookimpl
def register_probes(register):
    register(Probe("acme_shout", "degenerate", "the gold answer shouted, no reasoning",
                   build=lambda ctx: None if ctx.answer is None else f"<final>{ctx.answer}!!!</final>"))


@click.command("acme-hello")
def hello():
    """Say hello from the acme plugin."""
    click.echo("hello from acme")


@hookimpl
def register_commands(cli):
    cli.add_command(hello)
'''


@pytest.fixture
def acme(tmp_path):
    path = tmp_path / "acme_plugin.py"
    path.write_text(textwrap.dedent(ACME))
    registry = get_registry(refresh=True)
    load_plugin_files([path])
    yield registry
    get_registry(refresh=True)


def _rows() -> list[dict]:
    rows = []
    for question, answer in [("2 + 2?", "4"), ("3 * 3?", "9"), ("10 - 7?", "3")]:
        wrong = str(int(answer) + 1)
        for text, correct in [
            (f"<scratch>sum</scratch><final>{answer}</final>", True),
            (f"<scratch>hmm</scratch><final>{wrong}</final>", False),
            (f"it is {answer}", True),
            ("no idea", False),
        ]:
            rows.append({"prompt": question, "solution_value": answer, "completion": text, "correct": correct})
    return rows


def test_a_third_party_reward_gets_labels_tags_and_probes_from_its_metadata(acme, tmp_path):
    from grpo_rewards.bench.run import run_bench

    config = tmp_path / "acme.toml"
    config.write_text('[[rewards]]\nuse = "acme.exact"\n\n[[rewards]]\nuse = "acme.tags"\nweight = 0.2\n')
    result = run_bench(config, str(write_jsonl(tmp_path / "rows.jsonl", _rows())), log=lambda m: None)
    report = result.report
    # kind = "correctness": agreement with the gold label column, and its gold column is read
    assert report["agreement"]["acme.exact"]["column"] == "correct"
    assert report["probes"]["gold_readers"] == ["acme.exact"]
    assert "acme.tags" not in report["agreement"]
    # role = think_tag / answer_tag: probes and the reference are written in the plugin's tags
    assert report["probes"]["tags"] == ["scratch", "final"]
    assert "<final>4</final>" in report["probes"]["reference_example"]
    # the plugin's own probe runs on its rewards, and the exact-match reward is fooled by nothing
    names = [p["name"] for p in report["probes"]["probes"]]
    assert "acme_shout" in names
    assert report["probes"]["mean_scores"]["acme.exact"]["acme_shout"] == 0.0
    assert report["probes"]["mean_scores"]["acme.exact"]["wrong_answer"] == 0.0


def test_plugin_probes_stay_with_their_plugins_rewards(acme, tmp_path):
    from grpo_rewards.bench.probes import plugin_probes

    other = tmp_path / "other.toml"
    other.write_text('[[rewards]]\nuse = "length.target"\n')
    assert "acme_shout" not in plugin_probes(load_reward_set(other))


def test_a_third_party_command_appears_in_help_and_runs(acme):
    runner = CliRunner()
    help_text = runner.invoke(main, ["--help"]).output
    assert "acme-hello" in help_text and "train" in help_text and "serve-rewards" in help_text
    assert runner.invoke(main, ["acme-hello"]).output == "hello from acme\n"
    listed = json.loads(runner.invoke(main, ["plugins", "--json"]).output)
    by_name = {p["name"]: p for p in listed["plugins"]}
    assert by_name["local:acme_plugin.py"]["commands"] == ["acme-hello"]
    assert by_name["local:acme_plugin.py"]["probes"] == ["acme_shout"]
    assert by_name["trainer"]["commands"] == ["train", "generate"]


def test_a_parameter_signature_mismatch_is_listed_by_plugins(acme):
    assert "acme.typo" not in acme.rewards
    result = CliRunner().invoke(main, ["plugins", "--json"])
    problems = [p["message"] for p in json.loads(result.output)["problems"]]
    assert (
        "reward 'acme.typo' not registered: parameter 'max_words' is declared but typo() takes no such "
        "argument; did you mean 'max_word'?"
    ) in problems


def test_check_rejects_an_unknown_extractor_with_a_suggestion(tmp_path):
    config = tmp_path / "set.toml"
    config.write_text('[[rewards]]\nuse = "math.correct"\n[rewards.params]\nextractors = ["boxd", "answer_tag"]\n')
    result = CliRunner().invoke(main, ["check", str(config)])
    assert result.exit_code == 2
    assert "key 'params.extractors': unknown extractor 'boxd'; did you mean 'boxed'?" in result.output


def test_extractors_are_bound_once_from_the_registry_the_set_was_parsed_with(tmp_path):
    from grpo_rewards import hookimpl
    from grpo_rewards.registry import Registry
    from grpo_rewards.rewardset import parse_reward_set

    private = Registry()
    private.load_entry_points(allowed=set())

    class Shouting:
        @hookimpl
        def register_extractors(self, register):
            register("shout", lambda text: text.split("!")[0] if "!" in text else None)

    private.add_plugin(Shouting(), "shouting")
    assert "shout" not in get_registry(refresh=True).extractors  # only the private registry has it
    # inline: a lambda in a private registry cannot travel to the hard-limit worker processes
    reward_set = parse_reward_set(
        [{"use": "math.correct", "isolation": "inline", "params": {"extractors": ["shout"]}}], registry=private
    )
    fn = reward_set.functions()[0]
    assert fn(prompts=["q"], completions=["42! or maybe 41"], answer=["42"]) == [1.0]


def test_a_built_reward_pickles_with_its_bound_extractors(tmp_path):
    from grpo_rewards.rewardset import parse_reward_set

    fn = parse_reward_set([{"use": "math.correct", "params": {"extractors": ["answer_tag"]}}]).functions()[0]
    again = pickle.loads(pickle.dumps(fn))
    assert again(prompts=["q"], completions=["<answer>7</answer> 8"], answer=["7"]) == [1.0]
    assert again(prompts=["q"], completions=["\\boxed{7}"], answer=["7"]) == [0.0]
