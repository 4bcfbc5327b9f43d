"""Shard planning and the manifest that makes `annotate` resumable (no Ray cluster needed)."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("ray", reason="spacy_xmr.distributed needs the distributed extra (ray)")
from spacy_xmr.distributed.manifest import Manifest  # noqa: E402
from spacy_xmr.distributed.shards import expand_inputs, plan_shards  # noqa: E402
from spacy_xmr.errors import SpacyXmrError  # noqa: E402


def _files(tmp_path, *names):
    paths = []
    for name in names:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name, encoding="utf8")
        paths.append(path)
    return paths


def test_globs_expand_to_sorted_unique_files_and_an_empty_glob_is_an_error(tmp_path):
    a, b, c = _files(tmp_path, "x/a.xml", "x/b.xml.gz", "y/c.jsonl")
    assert expand_inputs([str(tmp_path / "x" / "*"), str(a), str(tmp_path / "**" / "*.jsonl")]) == [a, b, c]
    with pytest.raises(SpacyXmrError, match=r"--input .*nothing\*: no such file"):
        expand_inputs([str(tmp_path / "nothing*")])


def test_outputs_are_named_after_inputs_and_same_names_do_not_collide(tmp_path):
    paths = _files(tmp_path, "one/part.xml.gz", "two/part.xml.gz", "pubmed25n0001.xml")
    shards = plan_shards(paths, tmp_path / "out", "jsonl")
    names = [shard.output.rsplit("/", 1)[1] for shard in shards]
    assert names[2] == "pubmed25n0001.jsonl"
    assert names[0] != names[1] and all(name.startswith("part-") and name.endswith(".jsonl") for name in names[:2])
    assert plan_shards(paths, tmp_path / "out", "jsonl") == shards  # the same names on every run
    with pytest.raises(SpacyXmrError, match="--format csv"):
        plan_shards(paths, tmp_path / "out", "csv")


def test_manifest_completes_a_shard_only_with_its_output_and_unchanged_input(tmp_path):
    [path] = _files(tmp_path, "in/a.txt")
    [shard] = plan_shards([path], tmp_path / "out", "bioc")
    manifest = Manifest(tmp_path / "out")
    manifest.append({**shard.to_dict(), "status": "ok"})
    assert not manifest.is_complete(shard)  # no output file yet
    _files(tmp_path, "out/a.xml")
    assert Manifest(tmp_path / "out").is_complete(shard)
    path.write_text("changed input", encoding="utf8")
    [changed] = plan_shards([path], tmp_path / "out", "bioc")
    assert not Manifest(tmp_path / "out").is_complete(changed)
    manifest.append({**shard.to_dict(), "status": "failed"})  # the latest line counts
    assert not Manifest(tmp_path / "out").is_complete(shard)


def test_a_line_cut_short_by_a_crash_is_ignored_and_the_next_line_starts_fresh(tmp_path):
    [a, b] = plan_shards(_files(tmp_path, "a.txt", "b.txt"), tmp_path, "bioc")
    _files(tmp_path, "a.xml", "b.xml")
    manifest = Manifest(tmp_path)
    manifest.append({**a.to_dict(), "status": "ok"})
    with open(manifest.path, "a", encoding="utf8") as handle:
        handle.write(json.dumps({**b.to_dict(), "status": "ok"})[:30])
    assert [Manifest(tmp_path).is_complete(s) for s in (a, b)] == [True, False]
    Manifest(tmp_path).append({**b.to_dict(), "status": "ok"})
    assert [Manifest(tmp_path).is_complete(s) for s in (a, b)] == [True, True]
