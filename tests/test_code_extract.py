"""Which program a completion holds, and code.compiles."""

from __future__ import annotations

from grpo_rewards.plugins.code.extract import extract_program, fenced_blocks

from grpo_rewards.registry import get_registry

TEXT = """Here is a draft:
```python
def f():
    return 1
```
and the final version:
```py
def f():
    return 2
```
```text
not code
```
"""


def test_last_python_block_by_default():
    assert extract_program(TEXT) == "def f():\n    return 2"


def test_all_blocks_joined_in_order():
    assert extract_program(TEXT, mode="all") == "def f():\n    return 1\n\ndef f():\n    return 2"


def test_whole_completion():
    assert extract_program("x = 1\n", mode="whole") == "x = 1"


def test_untagged_block_when_no_tagged_one():
    assert extract_program("```\nprint(3)\n```") == "print(3)"
    assert extract_program("```text\nhi\n```") is None


def test_unclosed_block_is_no_program():
    assert extract_program("```python\ndef f():\n    return") is None


def test_after_think_ignores_blocks_in_the_reasoning():
    text = "<think>```python\nprint('draft')\n```</think>\n```python\nprint('final')\n```"
    assert extract_program(text, after_think=True) == "print('final')"
    assert extract_program("```python\nprint(1)\n```", after_think=True) is None


def test_longer_fences_and_info_strings():
    assert fenced_blocks("````python title=x\na = '```'\n````") == [("python", "a = '```'")]


def test_compiles_reward():
    fn = get_registry().get("code.compiles").build()
    scores = fn(completions=["```python\nx = 1\n```", "```python\ndef f(:\n```", "no code at all"])
    assert scores == [1.0, 0.0, 0.0]
