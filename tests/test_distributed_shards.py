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
    [manifest] = _files(tmp_path, "x/_manifest.jsonl")  # an earlier run's, in a folder of outputs
    assert expand_inputs([str(tmp_path / "x" / "*")]) == [a, b] and expand_inputs([str(manifest)]) == [manifest]


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


def test_an_input_folder_is_named_with_the_glob_it_wants(tmp_path):
    _files(tmp_path, "x/a.xml")
    with pytest.raises(SpacyXmrError, match=r"--input .*x: a folder; name its files, e.g. --input '.*x/\*.xml.gz'"):
        expand_inputs([str(tmp_path / "x")])


def test_no_output_is_an_input_or_the_manifest(tmp_path):
    paths = _files(tmp_path, "data/a.xml", "data/_manifest.jsonl", "data/b.jsonl")
    with pytest.raises(SpacyXmrError, match=r"the output of .*a.xml would be .*data/a.xml, an input of this run"):
        plan_shards(paths, tmp_path / "data", "bioc")
    with pytest.raises(SpacyXmrError, match=r"the output of .*b.jsonl would be .*data/b.jsonl"):
        plan_shards(paths, tmp_path / "data", "jsonl")
    names = [shard.output.rsplit("/", 1)[1] for shard in plan_shards(paths, tmp_path / "out", "jsonl")]
    assert names[0] == "a.jsonl" and names[1].startswith("_manifest-") and names[1].endswith(".jsonl")


def test_a_rerun_keeps_the_output_names_the_manifest_recorded(tmp_path):
    first = _files(tmp_path, "one/part.jsonl")
    [shard] = plan_shards(first, tmp_path / "out", "jsonl")
    recorded = {shard.input: shard.output}
    more = first + _files(tmp_path, "two/part.pubtator", "three/x.jsonl")
    shards = plan_shards(more, tmp_path / "out", "jsonl", recorded=recorded)
    assert shards[0].output == shard.output  # not renamed because another input now shares its stem
    assert shards[1].output != shard.output and shards[1].output.rsplit("/", 1)[1].startswith("part-")
    # a new input may not take a name the manifest gave another input, even when that input is not in this run
    [other] = plan_shards(_files(tmp_path, "four/part.txt"), tmp_path / "out", "jsonl", recorded=recorded)
    assert other.output != shard.output
    assert plan_shards(first, tmp_path / "out", "bioc", recorded=recorded)[0].output.endswith("/part.xml")  # another format


def test_changed_settings_redo_a_shard_and_lines_without_settings_match_any(tmp_path):
    [path] = _files(tmp_path, "in/a.txt")
    _files(tmp_path, "out/a.xml")
    [gold] = plan_shards([path], tmp_path / "out", "bioc", settings="mentions=gold pipeline=1")
    [ner] = plan_shards([path], tmp_path / "out", "bioc", settings="mentions=ner pipeline=1")
    manifest = Manifest(tmp_path / "out")
    manifest.append({**gold.to_dict(), "status": "ok"})
    assert manifest.is_complete(gold) and not manifest.is_complete(ner)
    manifest.append({**{k: v for k, v in gold.to_dict().items() if k != "settings"}, "status": "ok"})  # an older line
    assert Manifest(tmp_path / "out").is_complete(ner)
