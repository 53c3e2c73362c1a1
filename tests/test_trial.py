"""trial: the text `monitor rules test` reads, and its JSON-lines cases."""

from __future__ import annotations

import pytest

from monitor import trial


def test_a_plain_text_file_is_a_title_line_then_the_body(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("Truce holds\n\nThe ceasefire held overnight, officials said.\n", encoding="utf-8")
    sample = trial.read_source(str(path))
    assert (sample.title, sample.text) == ("Truce holds", "The ceasefire held overnight, officials said.")


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        trial.read_source(str(tmp_path / "absent.txt"))


@pytest.mark.parametrize("lines, number", [(["not json"], 1), (["", "  ", "[1, 2]"], 3)])
def test_a_bad_case_names_its_line(lines, number):
    with pytest.raises(trial.BadCase) as info:
        list(trial.tag_cases(None, None, lines))
    assert info.value.number == number and str(info.value).startswith(f"{number}: not a JSON object")
