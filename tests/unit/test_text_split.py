from adapters.text import split_text


def test_long_text_is_split_at_line_breaks_then_spaces_and_nothing_is_lost() -> None:
    text = "first line\n" + "word " * 30
    parts = split_text(text, 40)
    assert all(len(p) <= 40 for p in parts)
    assert parts[0] == "first line"
    assert "".join(parts[1:]).split() == ["word"] * 30


def test_a_hard_split_never_breaks_an_entity() -> None:
    text = "x" * 37 + "&amp;" + "y" * 20  # no spaces: the cut at 40 would land inside &amp;
    parts = split_text(text, 40, entities=True)
    assert parts[0] == "x" * 37
    assert parts[1].startswith("&amp;")
    assert "".join(parts) == text
    assert split_text(text, 40)[0] == text[:40]  # without the option: a plain hard cut
