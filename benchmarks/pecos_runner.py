"""Train and apply libpecos XR-Linear on feature matrices written by xmr_ncbi_disease.py.

Runs in its own virtual environment (libpecos pins numpy<2): `PYTHON pecos_runner.py WORKDIR`.
Reads WORKDIR/{X_train,Y_train,X_test}.npz and writes WORKDIR/pecos_scores.npz and pecos.json.
Features come from spacy-xmr's featuriser, so both models see the same vectors (PECOS's own
C++ char_wb vectoriser drops n-grams of short mentions at transform time).
"""
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from pecos.xmc import Indexer, LabelEmbeddingFactory
from pecos.xmc.xlinear.model import XLinearModel


def main(workdir: Path, top_k: int = 50, beam_size: int = 10) -> None:
    X = sp.load_npz(workdir / "X_train.npz").tocsr().astype(np.float32)
    Y = sp.load_npz(workdir / "Y_train.npz").tocsr().astype(np.float32)
    X_test = sp.load_npz(workdir / "X_test.npz").tocsr().astype(np.float32)
    start = time.perf_counter()
    label_features = LabelEmbeddingFactory.create(Y, X, method="pifa")
    cluster_chain = Indexer.gen(label_features, indexer_type="hierarchicalkmeans", max_leaf_size=100, seed=0)
    model = XLinearModel.train(X, Y, C=cluster_chain)  # defaults: tfn negatives, weights pruned below 0.1
    train_s = time.perf_counter() - start
    model.predict(X_test[:10], beam_size=beam_size, only_topk=top_k)  # warm-up
    start = time.perf_counter()
    scores = model.predict(X_test, beam_size=beam_size, only_topk=top_k)
    batch_s = time.perf_counter() - start
    single = []
    for row in range(min(200, X_test.shape[0])):
        start = time.perf_counter()
        model.predict(X_test[row], beam_size=beam_size, only_topk=top_k)
        single.append(time.perf_counter() - start)
    model.save(str(workdir / "pecos_model"))
    size = sum(p.stat().st_size for p in (workdir / "pecos_model").rglob("*") if p.is_file())
    sp.save_npz(workdir / "pecos_scores.npz", sp.csr_matrix(scores))
    (workdir / "pecos.json").write_text(json.dumps({
        "train_s": train_s, "batch_mentions_per_s": X_test.shape[0] / batch_s,
        "single_ms_median": float(np.median(single) * 1000), "model_bytes": size,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
