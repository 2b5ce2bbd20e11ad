"""The README's operator table is generated from the registry and the op tests."""

from __future__ import annotations

from pathlib import Path

from tests.coverage import BEGIN, END, section

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_coverage_table_is_current() -> None:
    text = README.read_text()
    current = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert current == section(), "run: python -m tests.coverage --write README.md"
