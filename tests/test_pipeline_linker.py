"""xmr_linker in pipelines on the synthetic slice: annotations, batching, edge cases, config errors, scoring."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import spacy
from spacy.tokens import DocBin, Span

from spacy_xmr.errors import ConfigError, ModelLoadError, ModelOutputError
from spacy_xmr.pipeline import examples_with_gold_entities
from pipeline_slice import (
    ENTITY_LABEL, annotations, concept_names, gold_examples, linker_only_pipeline, ruler_pipeline, sample_texts,
    slice_ontology,
)


@pytest.fixture(scope="module")
def nlp():
    return ruler_pipeline()


@pytest.fixture(scope="module")
def texts():
    return list(sample_texts())


def test_factories_need_no_torch_transformers_sklearn_or_lightgbm():
    """thinc imports torch when it is installed, so block the imports outright and build pipelines."""
    code = textwrap.dedent("""
        import sys
        BLOCKED = ("torch", "transformers", "sklearn", "lightgbm")
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(f"blocked import of {name}")
        sys.meta_path.insert(0, Block())
        import spacy
        nlp = spacy.blank("en")
        nlp.add_pipe("xmr_linker")
        nlp.add_pipe("xmr_reranker")
        nlp.add_pipe("xmr_ranker")
        assert not [m for m in sys.modules if m.split(".")[0] in BLOCKED], sorted(sys.modules)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize(
    "factory,key,value",
    [
        ("xmr_linker", "top_k", 0),
        ("xmr_linker", "beam_size", -3),
        ("xmr_linker", "batch_size", 0),
        ("xmr_linker", "labels", ["Disease", ""]),
        ("xmr_linker", "model", ""),
        ("xmr_linker", "spans_key", ""),
        ("xmr_reranker", "device", "gpu"),
        ("xmr_reranker", "top_k", 0),
        ("xmr_reranker", "mentions_per_batch", 0),
    ],
)
def test_bad_settings_fail_at_add_pipe_naming_the_key(factory, key, value):
    nlp = spacy.blank("en")
    with pytest.raises(ConfigError, match=rf"\[components\.{factory}\] {key} = "):
        nlp.add_pipe(factory, config={key: value})


@pytest.mark.parametrize("factory, device, library", [
    ("xmr_linker", "cuda", "cupy"), ("xmr_linker", "cuda:1", "cupy"), ("xmr_reranker", "cuda", "torch"),
])
def test_a_cuda_device_that_is_not_there_fails_at_add_pipe(factory, device, library):
    import importlib.util

    import torch

    if torch.cuda.is_available() or importlib.util.find_spec("cupy") is not None:
        pytest.skip("a CUDA device or cupy is here: the device may well be there")
    nlp = spacy.blank("en")
    with pytest.raises(ConfigError, match=rf"\[components.{factory}\] device = '{device}': .*{library}"):
        nlp.add_pipe(factory, config={"device": device})
    nlp.add_pipe(factory, config={"device": "auto"})  # auto falls back to the CPU


def test_type_errors_name_the_key():
    nlp = spacy.blank("en")
    with pytest.raises(Exception, match="top_k"):
        nlp.add_pipe("xmr_linker", config={"top_k": "ten"})


def test_no_model_fails_at_first_use_with_the_fix():
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker")
    with pytest.raises(ModelLoadError, match=r"\[components\.xmr_linker\] model = DIR"):
        nlp("Wilson disease")


@pytest.mark.parametrize("factory, writer", [("xmr_linker", "train-xmr"), ("xmr_reranker", "train-reranker")])
def test_model_setting_must_name_a_folder_at_add_pipe(tmp_path, factory, writer):
    nlp = spacy.blank("en")
    missing, a_file = tmp_path / "nowhere", tmp_path / "xmr.json"
    a_file.write_text("{}")
    with pytest.raises(ConfigError, match=rf"^\[components\.{factory}\] model = '{re.escape(str(missing))}': does not exist; .*{writer}`$"):
        nlp.add_pipe(factory, config={"model": str(missing)})
    with pytest.raises(ConfigError, match=rf"model = '{re.escape(str(a_file))}': is a file, not a model folder"):
        nlp.add_pipe(factory, config={"model": str(a_file)})
    assert nlp.pipe_names == []


def test_spacy_load_needs_no_original_model_folder(tmp_path, synthetic_model_dir):
    original = tmp_path / "model"
    shutil.copytree(synthetic_model_dir, original)
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker", config={"model": str(original)})
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(original)  # as on another machine; the saved config still names it
    with pytest.raises(ConfigError, match="does not exist"):
        spacy.blank("en").add_pipe("xmr_linker", config={"model": str(original)})
    linker = spacy.load(tmp_path / "pipeline").get_pipe("xmr_linker")
    assert linker.get_model().ontology.get("MESH:D990000") is not None


def test_entities_get_top_candidate_and_sorted_unique_candidates(nlp, texts):
    linker = nlp.get_pipe("xmr_linker")
    docs = list(nlp.pipe(texts))
    ents = [ent for doc in docs for ent in doc.ents]
    assert len(ents) > 50
    for ent in ents:
        candidates = ent._.xmr_candidates
        assert 0 < len(candidates) <= linker.top_k
        assert all(isinstance(c, str) and isinstance(s, float) for c, s in candidates)
        assert [s for _, s in candidates] == sorted((s for _, s in candidates), reverse=True)
        assert len({c for c, _ in candidates}) == len(candidates)
        assert ent.kb_id_ == candidates[0][0]
        assert candidates[0][0] in slice_ontology()


def test_ruler_entities_are_mostly_linked_to_the_alias_they_match(nlp, texts):
    ontology = slice_ontology()
    ents = [ent for doc in nlp.pipe(texts) for ent in doc.ents]
    exact = [ent for ent in ents if ontology.ids_for_alias(ent.text)]
    correct = sum(ent.kb_id_ in ontology.ids_for_alias(ent.text) for ent in exact)
    assert correct / len(exact) > 0.9


def name_span(nlp, name: str, after: str = " is inherited."):
    """A doc starting with the concept name `name`, which is its one entity."""
    doc = nlp.make_doc(name + after)
    doc.ents = [Span(doc, 0, len(nlp.make_doc(name)), ENTITY_LABEL)]
    return doc


def test_concept_names_and_describe(nlp):
    doc = nlp(f"The patient had {concept_names(1)[0]} and copper accumulation.")
    linker = nlp.get_pipe("xmr_linker")
    ent = doc.ents[0]
    described = linker.describe(ent)
    assert [(c, s) for c, _, s in described] == ent._.xmr_candidates
    assert described[0][1] == slice_ontology().get(ent.kb_id_).name
    assert linker.concept_name("NIL") is None and linker.concept_name("MESH:D999999999") is None


def test_predict_is_pure_and_set_annotations_writes(nlp):
    linker = nlp.get_pipe("xmr_linker")
    doc = name_span(nlp, concept_names(1)[0])
    candidates = linker.predict([doc])
    assert len(candidates) == 1 and len(candidates[0]) == 1 and candidates[0][0]
    assert doc.ents[0].kb_id_ == "" and doc.ents[0]._.xmr_candidates == []
    linker.set_annotations([doc], candidates)
    assert doc.ents[0]._.xmr_candidates == candidates[0][0]
    assert doc.ents[0].kb_id_ == candidates[0][0][0][0]


def test_a_model_answering_fewer_rankings_than_mentions_raises_model_output_error():
    nlp = ruler_pipeline()
    linker = nlp.get_pipe("xmr_linker")
    linker.get_model().predict_mentions = linker.get_model().channel_scores = lambda mentions, **kwargs: []  # uncalibrated, calibrated
    with pytest.raises(ModelOutputError, match="returned 0 rankings for 1 mentions"):
        linker.predict([name_span(nlp, concept_names(1)[0])])


def test_pipe_makes_one_model_call_per_batch(texts):
    nlp = ruler_pipeline(batch_size=10)
    linker = nlp.get_pipe("xmr_linker")
    calls = []
    channel_scores = linker.get_model().channel_scores  # what a calibrated model's linker calls

    def counting(mentions, **kwargs):
        calls.append(len(mentions))
        return channel_scores(mentions, **kwargs)

    linker.get_model().channel_scores = counting
    docs = list(nlp.pipe(texts, batch_size=1000))
    assert len(calls) == -(-len(texts) // 10)  # the component's batch_size caps docs per call
    assert sum(calls) == sum(len(doc.ents) for doc in docs)
    calls.clear()
    for text in texts:
        nlp(text)
    assert len(calls) == sum(bool(doc.ents) for doc in docs)  # docs without entities make no call


def test_pipe_equals_call(nlp, texts):
    """Candidates must not depend on which other mentions share the model call."""
    assert annotations(nlp.pipe(texts, batch_size=10)) == annotations(nlp(text) for text in texts)


def test_n_process_2_equals_one_process(nlp, texts):
    assert annotations(nlp.pipe(texts[:8], n_process=2, batch_size=2)) == annotations(nlp.pipe(texts[:8]))


def test_an_entitys_last_candidates_include_what_the_docs_other_entities_link_to():
    nlp = linker_only_pipeline(top_k=8)

    def linked(text: str, spans: list[tuple[int, int]]):
        doc = nlp.make_doc(text)
        doc.ents = [Span(doc, start, end, ENTITY_LABEL) for start, end in spans]
        return nlp(doc).ents

    name = concept_names(1, avoid_word="disorder")[0]
    n_tokens = len(nlp.make_doc(name))
    text = f"{name}: the disorder is inherited."
    clear, vague = linked(text, [(0, n_tokens), (n_tokens + 1, n_tokens + 3)])
    alone = linked(text, [(n_tokens + 1, n_tokens + 3)])[0]
    assert vague.text == alone.text == "the disorder"
    assert clear.kb_id_ in [concept for concept, _ in vague._.xmr_candidates[6:]]  # 8 // 4 = 2 slots
    assert vague._.xmr_candidates[:6] == alone._.xmr_candidates[:6]
    assert clear.kb_id_ not in [concept for concept, _ in alone._.xmr_candidates]


def test_threshold_makes_low_scores_nil_but_keeps_candidates(texts):
    nlp = ruler_pipeline(threshold=1e9, threshold_on="score")
    ents = [ent for doc in nlp.pipe(texts[:5]) for ent in doc.ents]
    assert ents and all(ent.kb_id_ == "NIL" and ent._.xmr_candidates for ent in ents)


def test_labels_restrict_which_entities_are_linked():
    nlp = ruler_pipeline(labels=["Chemical"])
    doc = nlp(f"{concept_names(1)[0]} and copper accumulation.")
    assert doc.ents and all(ent.kb_id_ == "" and ent._.xmr_candidates == [] for ent in doc.ents)


@pytest.mark.parametrize("overwrite", [True, False])
def test_overwrite_controls_existing_kb_ids(overwrite):
    nlp = linker_only_pipeline(overwrite=overwrite)
    doc = name_span(nlp, concept_names(1)[0])
    doc.ents = [Span(doc, doc.ents[0].start, doc.ents[0].end, ENTITY_LABEL, kb_id="MESH:D000001")]
    doc = nlp(doc)
    assert (doc.ents[0].kb_id_ == "MESH:D000001") is not overwrite
    assert doc.ents[0]._.xmr_candidates
    # the confidence is that of the top candidate: a kept id that is another concept's gets none
    assert (doc.ents[0]._.xmr_confidence is None) is not overwrite
    top = doc.ents[0]._.xmr_candidates[0][0]
    doc.ents = [Span(doc, doc.ents[0].start, doc.ents[0].end, ENTITY_LABEL, kb_id=top)]
    assert nlp(doc).ents[0]._.xmr_confidence is not None


def test_overlapping_spans_in_span_group():
    nlp = linker_only_pipeline(spans_key="mentions")
    first, second = (nlp.make_doc(name) for name in concept_names(2))
    doc = nlp.make_doc(f"Patients with {first.text} and {second.text}.")
    end = 2 + len(first) + 1 + len(second)  # "first and second", then "second" alone, then a word of "first"
    doc.spans["mentions"] = [Span(doc, 2, end, ENTITY_LABEL), Span(doc, end - len(second), end, ENTITY_LABEL),
                             Span(doc, 2, 3, "Other")]
    doc.spans["mentions"].attrs["source"] = "test"
    doc = nlp(doc)
    group = doc.spans["mentions"]
    assert len(group) == 3 and group.attrs == {"source": "test"}
    assert all(span.kb_id_ == span._.xmr_candidates[0][0] for span in group)
    assert group[0]._.xmr_candidates != group[1]._.xmr_candidates
    assert not doc.ents


def test_edge_cases_empty_no_entities_long_and_non_ascii(nlp):
    linker_nlp = linker_only_pipeline()
    assert len(nlp("")) == 0 and not nlp("").ents
    assert not nlp("Nothing of interest happens here.").ents
    doc = linker_nlp.make_doc("Ärzte fanden " + "Morbus Wilson " * 80 + "— 肝豆状核变性 und ΔF508 Mukoviszidose.")
    long_span = Span(doc, 2, 2 + 160, ENTITY_LABEL)
    doc.ents = [long_span, Span(doc, len(doc) - 5, len(doc) - 1, ENTITY_LABEL)]
    assert len(long_span.text) >= 1000
    doc = linker_nlp(doc)
    for ent in doc.ents:
        assert ent.kb_id_ in {c for c, _ in ent._.xmr_candidates} | {"NIL"}


def test_docbin_round_trips_candidates(nlp, texts):
    docs = list(nlp.pipe(texts[:5]))
    restored = list(DocBin(docs=docs, store_user_data=True).from_bytes(
        DocBin(docs=docs, store_user_data=True).to_bytes()).get_docs(nlp.vocab))
    assert annotations(restored) == annotations(docs)
    assert all(isinstance(ent._.xmr_candidates[0], tuple) for doc in restored for ent in doc.ents)


def test_a_new_process_reads_saved_docs_after_registering_the_extensions(nlp, texts, tmp_path):
    docs = list(nlp.pipe(texts[:3]))
    DocBin(docs=docs, store_user_data=True).to_disk(tmp_path / "linked.spacy")
    script = ("import json, spacy, spacy_xmr\nfrom spacy.tokens import DocBin\nspacy_xmr.register_extensions()\n"
              f"docs = DocBin().from_disk({str(tmp_path / 'linked.spacy')!r}).get_docs(spacy.blank('en').vocab)\n"
              "print(json.dumps([[e.kb_id_, e._.xmr_confidence, e._.xmr_candidates] for d in docs for e in d.ents]))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    expected = [[e.kb_id_, e._.xmr_confidence, [list(c) for c in e._.xmr_candidates]] for d in docs for e in d.ents]
    assert expected and json.loads(out) == expected


def test_extension_is_registered_once_without_force():
    assert Span.has_extension("xmr_candidates")
    ruler_pipeline()
    with pytest.raises(ValueError):  # spaCy refuses a second registration unless forced: we never force
        Span.set_extension("xmr_candidates", default=None)


def test_initialize_fits_the_model_from_gold_examples(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker")
    ontology_path = tmp_path / "slice.jsonl.gz"
    slice_ontology().to_disk(ontology_path)
    examples = gold_examples(nlp, n_docs=40)
    nlp.config["initialize"]["components"]["xmr_linker"] = {"ontology": str(ontology_path)}
    nlp.initialize(lambda: examples)
    docs = list(nlp.pipe(eg.predicted for eg in examples_with_gold_entities(nlp, examples[:5])))
    ents = [ent for doc in docs for ent in doc.ents]
    assert ents and all(ent._.xmr_candidates and ent.kb_id_ != "" for ent in ents)
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    again = loaded.pipe(eg.predicted for eg in examples_with_gold_entities(loaded, examples[:5]))
    assert annotations(again) == annotations(docs)


def test_initialize_without_model_or_ontology_names_the_settings():
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker")
    with pytest.raises(ConfigError, match="initialize.components.xmr_linker"):
        nlp.initialize()


def test_evaluate_on_gold_entities_reports_nel_and_candidate_metrics():
    nlp = linker_only_pipeline()
    examples = examples_with_gold_entities(nlp, gold_examples(nlp))
    assert all(eg.predicted.ents and all(ent.kb_id_ == "" for ent in eg.predicted.ents) for eg in examples)
    scores = nlp.evaluate(examples)
    for key in ("nel_micro_p", "nel_micro_r", "nel_micro_f", "xmr_recall_at_1", "xmr_recall_at_10", "xmr_mrr"):
        assert 0.0 <= scores[key] <= 1.0, key
    assert scores["xmr_recall_at_1"] <= scores["xmr_recall_at_5"] <= scores["xmr_recall_at_10"]
    assert scores["xmr_recall_at_1"] <= scores["xmr_mrr"] <= scores["xmr_recall_at_10"]
    assert scores["xmr_recall_at_10"] > 0.6  # test mentions of concepts the slice model was trained on
    # without gold entities (and no NER) nothing overlaps the gold: spaCy's link scorer has nothing to count
    assert nlp.evaluate(gold_examples(nlp))["xmr_recall_at_1"] == 0.0


def test_initialize_from_config_with_ontology_corpus_and_xmr_config(tmp_path, synthetic_ontology_path, synthetic_corpus_dir):
    """The documented training route: `model = null` and [initialize.components.xmr_linker] settings."""
    from synthetic import XMR_CONFIG

    from spacy_xmr.xmr import XMRConfig

    XMRConfig.from_dict({**XMR_CONFIG, "seed": 1}).to_json(tmp_path / "xmr.json")
    config = spacy.util.load_config_from_str(textwrap.dedent(f"""
        [nlp]
        lang = "en"
        pipeline = ["xmr_linker"]

        [components]

        [components.xmr_linker]
        factory = "xmr_linker"
        model = null
        top_k = 5

        [initialize]

        [initialize.components]

        [initialize.components.xmr_linker]
        ontology = "{synthetic_ontology_path}"
        train_corpus = ["{synthetic_corpus_dir / 'train.xml'}"]
        xmr_config = "{tmp_path / 'xmr.json'}"
    """))
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    nlp.initialize()
    linker = nlp.get_pipe("xmr_linker")
    assert linker.get_model().config.seed == 1
    doc = name_span(nlp, concept_names(1)[0], after="")
    candidates = nlp(doc).ents[0]._.xmr_candidates
    assert 0 < len(candidates) <= 5 and doc.ents[0].kb_id_ == candidates[0][0]


def test_initialize_rejects_an_unknown_ontology_format(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker")
    nlp.config["initialize"]["components"]["xmr_linker"] = {"ontology": str(tmp_path / "concepts.csv")}
    with pytest.raises(ConfigError, match=r"ontology = .*concepts\.csv"):
        nlp.initialize()


def test_initialize_refuses_a_configured_model_and_an_ontology_to_fit_one(tmp_path):
    """Both set, initialize() used to throw the configured model away silently and fit another."""
    nlp = linker_only_pipeline()
    slice_ontology().to_disk(tmp_path / "slice.jsonl.gz")
    nlp.config["initialize"]["components"]["xmr_linker"] = {"ontology": str(tmp_path / "slice.jsonl.gz")}
    model = nlp.get_pipe("xmr_linker").get_model()
    with pytest.raises(ConfigError, match=r"\[components.xmr_linker\] model = .* and \[initialize.components.xmr_linker\] "
                                          r"ontology = .*set model = null to fit one"):
        nlp.initialize()
    assert nlp.get_pipe("xmr_linker").get_model() is model


@pytest.mark.parametrize("content, message", [(None, "not found"), ("{not json", "invalid JSON"),
                                              ('{"featurez": {}}', "unknown key")])
def test_a_bad_xmr_config_in_initialize_names_the_setting(tmp_path, content, message):
    nlp = spacy.blank("en")
    nlp.add_pipe("xmr_linker")
    slice_ontology().to_disk(tmp_path / "slice.jsonl.gz")
    if content is not None:
        (tmp_path / "xmr.json").write_text(content)
    nlp.config["initialize"]["components"]["xmr_linker"] = {"ontology": str(tmp_path / "slice.jsonl.gz"),
                                                            "xmr_config": str(tmp_path / "xmr.json")}
    with pytest.raises(ConfigError, match=rf"\[initialize.components.xmr_linker\] xmr_config = .*xmr.json.*{message}"):
        nlp.initialize()


def test_initialize_shows_the_phases_of_the_fit_unless_the_application_logs(tmp_path, capsys, monkeypatch):
    """`spacy train` spends minutes to hours in the fit: its phases show, timed, as the CLI's do."""
    import logging

    slice_ontology().to_disk(tmp_path / "slice.jsonl.gz")

    def initialize() -> str:
        nlp = spacy.blank("en")
        nlp.add_pipe("xmr_linker")
        nlp.config["initialize"]["components"]["xmr_linker"] = {"ontology": str(tmp_path / "slice.jsonl.gz")}
        nlp.initialize()
        return capsys.readouterr().out

    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # an application that set up no logging
    shown = initialize()
    assert "featurising" in shown and "building the tree channel" in shown
    monkeypatch.setattr(logging.getLogger(), "handlers", [logging.NullHandler()])  # one that did: its handlers get them
    assert "featurising" not in initialize()
