"""`make bench` writes its figures to docs/performance.md itself: the same tables it prints,
dated, with the machine and the command, and the page's hand-written part kept as it was.

The sections are faked here: a real run takes many minutes and its figures are not the point.
"""

import argparse
from pathlib import Path

import pytest

from local.tools.bench import __main__ as bench
from local.tools.bench.waiting import calls_table

MACHINE = {
    "cpu": "Imaginary CPU @ 1.00GHz",
    "cores": 2,
    "machine": "x86_64",
    "system": "Linux 6.0",
    "python": "3.13.0",
    "date": "2026-12-01 09:00 UTC",
}
OPTIONS = argparse.Namespace(rounds=11, invocations=300, reads=5)
HAND_WRITTEN = f"{bench.HAND_WRITTEN}\n\n## What the figures say\n\nWhy, in words.\n"


def fake_section(name: str, options: argparse.Namespace) -> tuple[str, str]:
    return "measured", f"### {name}\n\n| figure |\n|---|\n| {name} of this run |"


@pytest.fixture
def fake_sections(monkeypatch, tmp_path):
    monkeypatch.setattr(bench, "run_section", fake_section)
    monkeypatch.setattr(bench, "PAGE", tmp_path / "performance.md")
    return bench.PAGE


def test_the_header_says_when_where_on_which_code_and_with_which_command():
    run = {"machine": MACHINE, "commit": "commit abc1234", "command": "python -m local.tools.bench"}

    text = bench.header(run, OPTIONS)

    assert "2026-12-01 09:00 UTC" in text
    assert "Imaginary CPU @ 1.00GHz (2 cores, x86_64)" in text
    assert "Python 3.13.0" in text
    assert "commit abc1234" in text
    assert "`python -m local.tools.bench`" in text


def test_a_new_page_holds_the_figures_and_where_hand_written_text_goes():
    page = bench.page("## make bench\n\n| a | table |", previous="")

    assert page.startswith("# Performance\n")
    assert "| a | table |" in page
    assert page.rstrip().endswith(bench.HAND_WRITTEN)


def test_the_figures_of_the_last_run_replace_the_old_ones_and_the_hand_written_part_stays():
    old = bench.page("## make bench\n\n| old figures |", previous=HAND_WRITTEN)

    new = bench.page("## make bench\n\n| new figures |", previous=old)

    assert "| new figures |" in new
    assert "old figures" not in new
    assert new.endswith(HAND_WRITTEN)
    assert bench.page("## make bench\n\n| new figures |", previous=new) == new


def test_a_page_without_its_hand_written_mark_is_rewritten_and_says_so(tmp_path):
    path = tmp_path / "performance.md"
    path.write_text("# Performance\n\nsomething edited by hand, mark and all\n")

    kept = bench.write_page(path, "## make bench\n\n| figures |")

    assert kept is False
    assert "| figures |" in path.read_text()


def test_the_page_holds_the_same_tables_the_bench_prints(tmp_path):
    steps = [
        ["start (POST /archive/start)", 1, 1, 0],
        ["waiting page, recording lands after 60 s (S3 event included)", 20, 0, 0],
        ["view 1 of the ready recording", 1, 0, 0],
        ["status callbacks, if the project's callback URL is set", 3, 3, 0],
    ]
    table = calls_table(steps)
    path = tmp_path / "performance.md"

    bench.write_page(path, table)

    assert table in path.read_text()
    assert "| start (POST /archive/start) | 1 | 1 |" in table
    assert "1 OpenTok calls for the recording without callbacks" in table


def test_make_bench_writes_every_section_to_docs_performance_md(fake_sections, capsys):
    fake_sections.write_text(bench.page("| old figures |", previous=HAND_WRITTEN))

    assert bench.main([]) == 0

    printed = capsys.readouterr().out
    page = fake_sections.read_text()
    for name in bench.SECTIONS:
        assert f"| {name} of this run |" in printed
        assert f"| {name} of this run |" in page
    assert "old figures" not in page
    assert page.endswith(HAND_WRITTEN)
    assert "Command: `python -m local.tools.bench`." in page
    assert "Benchmark took" in page


def test_a_run_of_one_section_leaves_the_page_alone_unless_given_one(fake_sections, tmp_path):
    bench.main(["--only", "warm"])
    assert not fake_sections.exists()

    elsewhere = tmp_path / "warm.md"
    bench.main(["--only", "warm", "--page", str(elsewhere)])
    assert "| warm of this run |" in elsewhere.read_text()
    assert "Command: `python -m local.tools.bench --only warm --page " in elsewhere.read_text()


def test_no_page_prints_the_figures_only(fake_sections):
    bench.main(["--no-page"])

    assert not fake_sections.exists()


def test_the_performance_page_keeps_a_hand_written_part():
    page = Path(__file__).resolve().parents[2] / "docs" / "performance.md"

    assert bench.HAND_WRITTEN in page.read_text()


def test_the_cold_starts_run_the_child_script_that_exists():
    """Moving the bench into local/tools/ once left it pointing at local/bench/child.py: every
    section with a function in a fresh interpreter failed at its first run."""
    from local.tools.bench.stack import CHILD

    assert CHILD.is_file() and CHILD.name == "child.py"


def test_a_section_that_fails_leaves_the_others_figures_and_the_page_alone(
    fake_sections, monkeypatch, capsys, caplog
):
    def one_fails(name: str, options: argparse.Namespace) -> tuple[str, str]:
        if name == "cold":
            raise RuntimeError("the cold starts broke")
        return fake_section(name, options)

    monkeypatch.setattr(bench, "run_section", one_fails)

    assert bench.main([]) == 1

    printed = capsys.readouterr()
    assert "### media\n" in printed.out and "### cold: failed" in printed.out
    assert "failed: cold" in printed.err
    assert "the cold starts broke" in caplog.text  # its traceback, logged
    assert not fake_sections.exists()
