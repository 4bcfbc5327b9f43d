"""The string table that holds a model's example strings, word keys and concept ids as memory-mappable arrays."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from model_formats import memory_mapped

from spacy_xmr.errors import ModelLoadError
from spacy_xmr.xmr import string_table
from spacy_xmr.xmr.string_table import StringTable, load_strings, save_strings

STRINGS = ["breast neoplasms", "", "café au lait spots", "MESH:D001943", "β-thalassemia", "a", "breast neoplasm"]


def test_a_table_holds_its_strings_in_order_and_finds_each_by_value():
    table = StringTable.of(STRINGS)
    assert len(table) == len(STRINGS) and list(table) == STRINGS
    assert table[2] == "café au lait spots" and table[-1] == "breast neoplasm" and table[1:4] == STRINGS[1:4]
    assert table.rows_of(STRINGS).tolist() == list(range(len(STRINGS)))
    assert table.rows_of(["breast neoplasmss", "Breast neoplasms", "β"]).tolist() == [-1, -1, -1]
    assert table.row("β-thalassemia") == 4 and table.row("absent") is None
    assert "" in table and "b" not in table and 3 not in table
    with pytest.raises(IndexError):
        table[len(STRINGS)]


def test_strings_whose_hashes_collide_are_told_apart_by_their_bytes(monkeypatch):
    monkeypatch.setattr(string_table, "bytes_hash", lambda encoded: len(encoded) % 2)  # many strings share each hash
    table = StringTable.of(STRINGS)
    assert table.rows_of(STRINGS + ["zz", "q"]).tolist() == list(range(len(STRINGS))) + [-1, -1]


def test_a_table_pickles_with_its_strings():
    table = pickle.loads(pickle.dumps(StringTable.of(STRINGS)))
    assert list(table) == STRINGS and table.row("a") == 5


def test_a_repeated_string_is_found_at_its_first_row():
    assert StringTable.of(["b", "a", "b", "a"]).rows_of(["a", "b"]).tolist() == [1, 0]


def test_an_empty_table_finds_nothing():
    table = StringTable.of([])
    assert len(table) == 0 and list(table) == [] and table.rows_of(["a"]).tolist() == [-1] and table.rows_of([]).size == 0


def test_a_saved_table_is_memory_mapped_and_a_folder_before_tables_reads_the_json_list(tmp_path):
    save_strings(tmp_path, StringTable.of(STRINGS), "key_table", "keys.json")
    loaded = load_strings(tmp_path, "key_table", "keys.json")
    assert list(loaded) == STRINGS and loaded.rows_of(STRINGS[::-1]).tolist() == list(range(len(STRINGS)))[::-1]
    assert all(memory_mapped(part) for part in (loaded._data, loaded._offsets, loaded._hashes, loaded._rows))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keys.json").write_text((tmp_path / "keys.json").read_text(encoding="utf8"), encoding="utf8")
    assert list(load_strings(tmp_path / "other", "key_table", "keys.json")) == STRINGS


def test_a_damaged_table_or_json_list_fails_naming_the_file(tmp_path):
    save_strings(tmp_path, StringTable.of(STRINGS), "key_table", "keys.json")
    np.save(tmp_path / "key_table" / "rows.npy", np.arange(3))
    with pytest.raises(ModelLoadError, match="key_table"):
        load_strings(tmp_path, "key_table", "keys.json")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "keys.json").write_text('{"a": 1}', encoding="utf8")
    with pytest.raises(ModelLoadError, match="keys.json"):
        load_strings(tmp_path / "old", "key_table", "keys.json")
