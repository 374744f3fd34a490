from genforge.text.sentences import sentence_spans, split_sentences


def test_sentence_splitter_keeps_abbreviations_and_citations():
    text = "Use e.g. the cache [1]. Then restart. Python 3.11 works!\n\n- first item\n- second item"
    assert split_sentences(text) == [
        "Use e.g. the cache [1].",
        "Then restart.",
        "Python 3.11 works!",
        "- first item",
        "- second item",
    ]


def test_spans_are_trimmed_offsets_into_the_given_window():
    text = "  Skip me. One two.  Three four.  "
    start = text.index("One")
    assert [text[a:b] for a, b in sentence_spans(text, start)] == ["One two.", "Three four."]
    assert sentence_spans("   \n\n  ") == []
