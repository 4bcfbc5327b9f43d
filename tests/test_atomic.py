"""Atomic writes: an interrupted write leaves the previous output as it was, and a finished one looks
like a file written by open() (same permissions), so packaging and other users can read it."""
import os
import stat

import pytest

from spacy_xmr.atomic import atomic_directory, atomic_open, refuse_to_overwrite_input


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(target) as handle:
            handle.write("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_written_file_has_the_permissions_of_a_plain_open(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with atomic_open(tmp_path / "atomic.txt") as handle:
        handle.write("x")
    assert _mode(tmp_path / "atomic.txt") == _mode(plain)


def test_directory_is_replaced_only_on_success(tmp_path):
    target = tmp_path / "model"
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("1")
    plain = tmp_path / "plain"
    plain.mkdir()
    assert _mode(target) == _mode(plain)
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as tmp:
            (tmp / "b").write_text("2")
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in target.iterdir()) == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "plain"]


def test_refuses_to_overwrite_an_input_through_another_path(tmp_path):
    source = tmp_path / "in.xml"
    source.write_text("<collection/>")
    with pytest.raises(FileExistsError, match="refusing to overwrite the input"):
        refuse_to_overwrite_input(tmp_path / "." / "in.xml", [source])
