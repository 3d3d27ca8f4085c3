"""xml.format: strict and partial scoring of real-looking model output, the shared parse, and
hostile markup (entity bombs, external entities, deep nesting) that must score 0 and touch nothing."""

from __future__ import annotations

import http.server
import threading

import pytest
from grpo_rewards.plugins.xml_format import _safe_parser, answer_field, parse_completion, xml_format
from lxml import etree

from grpo_rewards import Sample
from grpo_rewards.registry import get_registry

GOOD = "<think>\nNatalia sold 48 / 2 = 24 clips in May.\nAltogether she sold 48 + 24 = 72 clips.\n</think>\n<answer>72</answer>"


def score(completion: str, **params) -> float | None:
    spec = get_registry().get("xml.format")
    return spec.build(params).score_samples([Sample(completion)])[0]


@pytest.mark.parametrize(
    "completion, partial, strict",
    [
        (GOOD, 1.0, 1.0),
        ("Sure! Let me work through this step by step.\n" + GOOD, 0.75, 0.0),  # chatty preamble
        (GOOD + "\n\nI hope this helps! Let me know if you have questions.", 0.75, 0.0),  # trailing text
        ("<think>48 / 2 = 24, 48 + 24 = 72\n<answer>72</answer>", 0.25, 0.0),  # forgot </think>
        ("<think>48 / 2 = 24, 48 + 24 = 72</think>\n<answer>7", 0.25, 0.0),  # truncated in the answer
        ("<think>hmm</think><answer>70</answer>\nWait, no.\n<answer>72</answer>", 0.5, 0.0),  # duplicate + text
        ("<think>hmm</think><answer>70</answer><answer>72</answer>", 0.75, 0.0),  # duplicate only
        ("<answer>72</answer>\n<think>because 48 + 24 = 72</think>", 0.75, 0.0),  # wrong order
        ("<think></think>\n<answer>72</answer>", 0.5, 0.0),  # empty think earns nothing
        ("<think>48 + 24 = 72</think></think>\n<answer>72</answer>", 0.75, 0.0),  # stray closer
        ("<think>ok</think><answer/>", 0.5, 0.0),  # self-closed, empty answer
        ("<think >spaces inside tags</think >\n<answer >72</answer >", 1.0, 1.0),
        ("<Think>Capitalised</Think><Answer>72</Answer>", 0.0, 0.0),  # case-sensitive: just text
        ("The answer is 72.", 0.0, 0.0),
        ("", 0.0, 0.0),
        ("   \n  ", 0.0, 0.0),
        ("</answer></think><answer><think></answer></think>x", 0.0, 0.0),  # tag soup: floored at 0
    ],
)
def test_partial_and_strict_scores(completion, partial, strict):
    assert score(completion) == partial
    assert score(completion, mode="strict") == strict


def test_reasoning_full_of_markup_characters_is_still_conforming_and_kept_verbatim():
    think = "If x < 5 && y > 3 then <b>bold</b> &amp; &nbsp; \\frac{a}{b} holds; see <https://x.y>"
    completion = f"<think>{think}</think>\n<answer>$\\frac{{1}}{{2}}$</answer>"
    assert score(completion, mode="strict") == 1.0
    parsed = parse_completion(completion)
    assert parsed.field("think") == think
    assert answer_field(completion) == "$\\frac{1}{2}$"


def test_unicode_and_control_characters():
    completion = "<think>日本語で考えます… 3×4=12 🤔\x00\x1b</think><answer>12 ✓</answer>"
    assert score(completion, mode="strict") == 1.0
    assert parse_completion(completion).field("think") == "日本語で考えます… 3×4=12 🤔\ufffd\ufffd"
    assert answer_field(completion) == "12 ✓"
    assert score("<think>a\ud800b</think><answer>1</answer>") == 1.0  # a lone surrogate


def test_options_allow_empty_allow_outside_text_and_penalty():
    assert score("<think></think><answer>72</answer>", allow_empty=True) == 1.0
    assert score("Sure!\n" + GOOD + "\nBye.", allow_outside_text=True, mode="strict") == 1.0
    assert score("Sure!\n" + GOOD + "\nBye.", penalty=0.1) == pytest.approx(0.8)
    assert score("Sure!\n" + GOOD + "\nBye.", penalty=0.0) == 1.0


def test_custom_schema_with_an_optional_element():
    params = {"elements": ["reasoning", "verify", "answer"], "optional": ["verify"]}
    assert score("<reasoning>r</reasoning><answer>a</answer>", **params) == 1.0
    assert score("<reasoning>r</reasoning><verify>ok</verify><answer>a</answer>", **params) == 1.0
    assert score("<reasoning>r</reasoning><verify>ok<answer>a</answer>", **params) == 0.75  # unclosed verify
    assert score("<reasoning>r</reasoning><answer>a</answer><verify>ok</verify>", **params) == 0.75  # order
    assert score(GOOD, **params) == 0.25  # <think> is not in this schema: its text lies outside
    assert score("anything", elements=[], mode="strict", allow_outside_text=True) == 1.0


def test_max_chars_bounds_the_parse():
    padded = GOOD.replace("Natalia", "Natalia " + "very " * 100)
    assert score(padded) == 1.0
    assert score(padded, max_chars=200) == 0.0
    assert parse_completion("x" * 300, ("think", "answer"), 200).rejected == "too long"


def test_bad_params_are_rejected_at_build_time():
    spec = get_registry().get("xml.format")
    with pytest.raises(ValueError, match="mode"):
        spec.build({"mode": "lenient"})
    with pytest.raises(ValueError, match="penalty"):
        spec.build({"penalty": 2})
    with pytest.raises(ValueError, match="elements"):
        spec.build({"elements": "think"})


def test_parse_is_shared_and_fields_exposed():
    first = parse_completion(GOOD)
    assert parse_completion(GOOD) is first  # cached: other rewards reuse it
    assert [(e.tag, e.closed) for e in first.elements] == [("think", True), ("answer", True)]
    assert first.field("answer") == "72"
    assert answer_field("<think>x</think><answer> 72 </answer>") == "72"
    assert answer_field("<think>x</think><answer>72") is None  # unclosed: not trusted
    assert answer_field("<answer>70</answer> no wait <answer>72</answer>") == "72"  # the last one
    assert answer_field("<think>x</think><final>9</final>", tag="final") == "9"
    assert answer_field("no tags at all") is None


def test_trl_convention_with_chat_completions():
    fn = get_registry().get("xml.format").build({"mode": "strict"})
    completions = [
        [{"role": "assistant", "content": GOOD}],
        [{"role": "assistant", "content": "<answer>72</answer>"}],
        GOOD,  # a plain string in the same batch works too
    ]
    prompts = [[{"role": "user", "content": "How many clips?"}]] * 3
    assert fn(prompts=prompts, completions=completions, answer=["72"] * 3) == [1.0, 0.0, 1.0]
    assert fn.__name__ == "xml.format"


# ---- hostile markup ------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<think>&lol9;</think><answer>&lol9;</answer>"""


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-CONTENT")
    return path


@pytest.fixture
def http_server():
    """A local HTTP server recording every request it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY leak "FETCHED-OVER-HTTP">')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()
    server.server_close()


def external_payloads(secret_file, base_url):
    return [
        BILLION_LAUGHS,
        f'<!DOCTYPE t [<!ENTITY xxe SYSTEM "file://{secret_file}">]><think>&xxe;</think><answer>&xxe;</answer>',
        '<!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><think>&xxe;</think><answer>1</answer>',
        f'<!DOCTYPE t [<!ENTITY % ext SYSTEM "{base_url}/evil.dtd"> %ext;]><think>&leak;</think><answer>1</answer>',
        f'<!DOCTYPE t SYSTEM "{base_url}/schema.dtd"><think>x</think><answer>1</answer>',
        '<?xml-stylesheet href="http://127.0.0.1:9/x.xsl"?><think>x</think><answer>1</answer>',
        "<!doctype html><think>x</think><answer>1</answer>",  # declarations are case-insensitive
    ]


def test_hostile_payloads_score_zero_and_touch_nothing(secret_file, http_server):
    base_url, hits = http_server
    for payload in external_payloads(secret_file, base_url):
        assert score(payload) == 0.0, payload[:60]
        assert score(payload, mode="strict", allow_outside_text=True) == 0.0
        parsed = parse_completion(payload)
        assert parsed.rejected == "markup declaration" and parsed.elements == ()
        assert answer_field(payload) is None
    assert hits == []


def test_the_lxml_parser_itself_never_expands_or_fetches(secret_file, http_server):
    """Defence in depth: even raw payloads handed to our parser resolve nothing."""
    base_url, hits = http_server
    root = etree.fromstring(BILLION_LAUGHS.encode(), _safe_parser())
    assert "lol" not in "".join(root.itertext())
    root = etree.fromstring(f'<!DOCTYPE t [<!ENTITY xxe SYSTEM "file://{secret_file}">]><t>&xxe;</t>'.encode(), _safe_parser())
    assert "TOP-SECRET" not in etree.tostring(root, encoding="unicode")
    root = etree.fromstring(
        f'<!DOCTYPE t [<!ENTITY % ext SYSTEM "{base_url}/evil.dtd"> %ext;]><t>&leak;</t>'.encode(), _safe_parser()
    )
    assert "FETCHED" not in etree.tostring(root, encoding="unicode")
    etree.fromstring(f'<!DOCTYPE t SYSTEM "{base_url}/schema.dtd"><t>x</t>'.encode(), _safe_parser())
    assert hits == []


def test_the_file_payload_is_live_against_a_permissive_parser(secret_file):
    """Control for the two tests above: the same payload does leak with lxml's unsafe options.
    (The libxml2 bundled with lxml 6 has no HTTP client, so the network payloads are checked
    only for staying unfetched.)"""
    unsafe = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=False)
    root = etree.fromstring(f'<!DOCTYPE t [<!ENTITY xxe SYSTEM "file://{secret_file}">]><t>&xxe;</t>'.encode(), unsafe)
    assert root.text == "TOP-SECRET-CONTENT"


def test_entity_references_without_a_dtd_stay_literal_text():
    completion = "<think>&xxe; &lol9; &#x41; &amp;</think><answer>&xxe;</answer>"
    assert score(completion, mode="strict") == 1.0
    assert parse_completion(completion).field("think") == "&xxe; &lol9; &#x41; &amp;"
    assert answer_field(completion) == "&xxe;"


def test_deeply_nested_tags():
    assert score("<think>" * 20_000 + "x" + "</think>" * 20_000 + "<answer>1</answer>") == 0.0
    other_tags = "<think>" + "<div>" * 30_000 + "deep" + "</div>" * 30_000 + "</think><answer>1</answer>"
    assert len(other_tags) > 300_000
    assert score(other_tags) == 0.0  # over max_chars: not parsed
    assert score(other_tags, max_chars=400_000, mode="strict") == 1.0  # non-schema tags are text
    assert parse_completion(other_tags, ("think", "answer"), 400_000).field("think").count("<div>") == 30_000


def test_plain_function_call_matches_the_built_reward():
    params = {
        "elements": ["think", "answer"],
        "optional": [],
        "allow_outside_text": False,
        "allow_empty": False,
        "mode": "partial",
        "penalty": 0.25,
        "max_chars": 200_000,
    }
    assert xml_format(Sample("Hi " + GOOD), **params).value == 0.75  # a Scored: the value and what was found
