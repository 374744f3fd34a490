"""Rule rewards: the schema's scores, and one-line errors for rule files that do not parse or validate."""

import math

import pytest

from genforge.core.errors import ConfigError
from genforge.rl.rewards import checked_rewards, load_rule_reward, parse_rules


def test_keyword_rule_counts_whole_words_up_to_its_cap():
    reward = parse_rules({"rules": [{"type": "keyword", "words": ["the", "police"], "cap": 2}]}, "r")
    assert reward(["", "the", "The police", "the the the", "other thee"]) == [0.0, 0.5, 1.0, 1.0, 0.0]


def test_regex_and_length_rules_add_their_weighted_scores():
    rules = {
        "rules": [
            {"type": "regex", "pattern": r"\d+", "weight": -1.0},
            {"type": "length", "min_chars": 3, "max_chars": 5, "weight": 0.5},
        ]
    }
    reward = parse_rules(rules, "r")
    assert reward(["abcd", "ab1", "a", "12345678"]) == [0.5, -0.5, 0.0, -1.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  - {type: keyword, word: [a]}\n", "key 'rules.0.keyword.words'"),
        ("rules:\n  - {type: regex, pattern: '(a'}\n", "the pattern does not compile"),
        ("rules:\n  - {type: colour}\n", "key 'rules.0'"),
        ("rules: []\n", "key 'rules'"),
        ("rules:\n  - {type: length, min_chars: 9, max_chars: 3}\n", "min_chars 9 > max_chars 3"),
        ("- just a list\n", "expected a mapping with a 'rules' list"),
        ("rules: [unclosed\n", "does not parse"),
    ],
)
def test_a_bad_rule_file_is_one_line_naming_the_file(tmp_path, text, message):
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_rule_reward(path)
    assert message in str(exc.value) and str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_a_missing_rule_file_is_named():
    with pytest.raises(ConfigError, match="does not exist"):
        load_rule_reward("/nonexistent/rules.yaml")


def test_a_reward_that_returns_nan_is_refused():
    assert checked_rewards([1, 0.5], "r") == [1.0, 0.5]
    with pytest.raises(ConfigError, match="returned nan"):
        checked_rewards([1.0, math.nan], "my reward")
