"""Formula-safe CSV, without Django."""

import csv
import io

import pytest

from lib.csv import csv_lines, formula_safe


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "=cmd|' /C calc'!A0"])
def test_text_that_a_spreadsheet_would_evaluate_gets_an_apostrophe(text):
    assert formula_safe(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("CN=a", "CN=a"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (-3, "-3"),
        (2.5, "2.5"),
        (True, "yes"),
        (False, "no"),
        (" =1", " =1"),
    ],
)
def test_other_values_are_kept(value, expected):
    assert formula_safe(value) == expected


def test_lines_quote_and_defuse_every_cell():
    text = "".join(csv_lines(["Id", "=Header"], [["a,b", '=HYPERLINK("x")'], ["line\nbreak", -1]]))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["Id", "'=Header"],
        ["a,b", '\'=HYPERLINK("x")'],
        ["line\nbreak", "-1"],
    ]
