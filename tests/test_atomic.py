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


def test_refuses_an_output_that_holds_an_input_or_lies_inside_an_input_folder(tmp_path):
    model = tmp_path / "outer" / "model"
    model.mkdir(parents=True)
    corpus = tmp_path / "outer" / "train.txt"
    corpus.write_text("x")
    with pytest.raises(FileExistsError, match="it holds the input .*which replacing it would delete"):
        refuse_to_overwrite_input(tmp_path / "outer", [corpus])
    with pytest.raises(FileExistsError, match="refusing to write inside the input folder"):
        refuse_to_overwrite_input(model / "xmr.json", [model])
    refuse_to_overwrite_input(tmp_path / "outer" / "pred.xml", [corpus])  # beside a file input is fine
    refuse_to_overwrite_input(tmp_path / "other", [model, corpus, None])


def test_a_folder_output_replaces_only_an_earlier_output_of_its_kind(tmp_path, monkeypatch):
    notes = tmp_path / "work"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not an earlier output of this kind \\(it has no xmr.json\\).*remove it"):
        with atomic_directory(notes, replaces=("xmr.json",)) as tmp:
            (tmp / "xmr.json").write_text("{}")
    assert [p.name for p in tmp_path.iterdir()] == ["work"] and (notes / "notes.txt").read_text() == "mine"
    (tmp_path / "a_file").write_text("mine")
    with pytest.raises(FileExistsError, match="a file, not a folder"):
        with atomic_directory(tmp_path / "a_file", replaces=("xmr.json",)):
            pass
    earlier = tmp_path / "model"
    for _ in range(2):  # a new folder, then the earlier output of the same kind
        with atomic_directory(earlier, replaces=("xmr.json",)) as tmp:
            (tmp / "xmr.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    with atomic_directory(".", replaces=("xmr.json",)) as tmp:  # "." has no name of its own: it is the folder's
        (tmp / "xmr.json").write_text("{}")
    assert (tmp_path / "empty" / "xmr.json").is_file()
