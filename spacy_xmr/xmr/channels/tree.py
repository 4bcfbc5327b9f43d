"""The tree channel: a label tree clustered from the training strings, a linear matcher per level, and beam search
down it (`beam.py`). It generalises past the seen strings, where the string channels only find what they hold."""
from __future__ import annotations

from itertools import count
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ...errors import ModelLoadError
from ..arrays import MATRIX_PARTS, load_arrays, matrix_arrays, matrix_from_arrays, reading, save_arrays, stored, stored_names
from ..backend import array_backend
from ..beam import beam_search
from ..clustering import build_cluster_chain
from ..label_embedding import label_embeddings
from ..layer import Layer
from ..matcher import train_matchers
from ..parent_blocks import ParentBlocks
from .base import Channel, ModelParts, QueryBatch, TrainingInputs

TREE_CANDIDATES = 20  # labels the tree hands to fusion per query, at least
BLOCKS = "blocks_"  # the prefix of a layer's weights grouped by parent (older folders build them on first use)
BY_NODE = "by_node_"  # the prefix of the transposed weights that earlier format-4 folders saved instead


def layer_file(index: int) -> str:
    return f"layer_{index}"


class TreeChannel(Channel):
    name = "tree"

    def __init__(self, layers: list[Layer], path_scoring: str):
        self.layers = layers
        self.path_scoring = path_scoring
        self._device_copies: dict = {}  # the layers on a GPU (`ArrayBackend.resident`)

    @classmethod
    def build(cls, inputs: TrainingInputs) -> "TreeChannel":
        config, data = inputs.config, inputs.data
        backend = array_backend(config.tree.device)
        chain = build_cluster_chain(  # the label embeddings are dropped once the tree is built
            label_embeddings(inputs.features, data.labels, data.name_rows, config.tree.name_weight, backend),
            config.tree.max_leaf_size, config.tree.branching_factor, config.tree.kmeans_iterations, config.seed, inputs.progress,
            backend,
        )
        layers = train_matchers(inputs.features, data.labels, chain, data.weights, config.matcher, inputs.progress, inputs.n_jobs,
                                config.tree.path_scoring, inputs.work_dir)
        return cls(layers, config.tree.path_scoring)

    def stats(self) -> dict:
        return {"layer_sizes": [layer.n_nodes for layer in self.layers],
                "layer_nonzeros": [int(layer.weights.nnz) for layer in self.layers]}

    def score(self, queries: QueryBatch) -> sp.csr_matrix:
        backend, layers = queries.backend, self.layers
        if backend.on_gpu:
            layers = backend.resident(self._device_copies, "layers", lambda: [
                Layer(*map(backend.to_device, (layer.weights, layer.bias, layer.clusters))) for layer in self.layers])
        scores = beam_search(backend.to_device(queries.features), layers, queries.beam_size, max(queries.top_k, TREE_CANDIDATES),
                             self.path_scoring, backend)
        return backend.to_cpu(scores)

    def save(self, directory: Path) -> None:
        """Each layer with its weights grouped by parent too: the per-query kernel of a wide layer reads them
        (`parent_blocks.py`), and a process that maps them from the model's files shares them where one that built
        them holds its own copy (60 MB for the leaves of 10^5 concepts)."""
        for index, layer in enumerate(self.layers):
            save_arrays(directory / layer_file(index), **matrix_arrays(layer.weights, "weights_"), bias=layer.bias,
                        parent=layer.clusters.indices, n_parents=np.array(layer.clusters.shape[1]))
            layer.save_blocks(directory / layer_file(index), BLOCKS)

    @classmethod
    def load(cls, parts: ModelParts) -> "TreeChannel":
        """The layers layer_0, layer_1, ... from the root down, checked to chain into a tree over the concepts."""
        n_layers = next(i for i in count(1) if not stored(parts.directory / layer_file(i)))
        layers = [_load_layer(parts.directory / layer_file(index)) for index in range(n_layers)]
        _check_chain(parts, layers)
        return cls(layers, parts.config.tree.path_scoring)


def _load_layer(path: Path) -> Layer:
    arrays = load_arrays(path, "weights_data", "weights_indices", "weights_indptr", "weights_shape", "bias", "parent", "n_parents")
    with reading(path):
        weights = matrix_from_arrays(arrays, "weights_")
    parent = arrays["parent"]
    clusters = sp.csr_matrix((np.ones(parent.size, np.float32), parent, np.arange(parent.size + 1)),
                             shape=(parent.size, int(arrays["n_parents"])))
    layer = Layer(weights, arrays["bias"], clusters)
    names = stored_names(path)
    if set(ParentBlocks.array_names(BLOCKS)) <= names:
        blocks = ParentBlocks.from_arrays(load_arrays(path, *ParentBlocks.array_names(BLOCKS)), BLOCKS)
        if blocks.node_lengths.size != layer.n_nodes or blocks.parent_keys.size != clusters.shape[1] + 1:
            raise ModelLoadError(f"{path}: the weights grouped by parent ({blocks.node_lengths.size} nodes under "
                                 f"{blocks.parent_keys.size - 1} parents) do not match the layer ({layer.n_nodes} under "
                                 f"{clusters.shape[1]}); save or train the model again")
        layer.use_blocks(blocks)
    elif f"{BY_NODE}data" in names:
        with reading(path):
            by_node = matrix_from_arrays(load_arrays(path, *(BY_NODE + part for part in MATRIX_PARTS)), BY_NODE)
        if by_node.shape != weights.shape[::-1]:
            raise ModelLoadError(f"{path}: the transposed weights {by_node.shape} do not match the weights {weights.shape}; "
                                 "save or train the model again")
        layer.use_transposed(by_node)
    return layer


def _check_chain(parts: ModelParts, layers: list[Layer]) -> None:
    problems = []
    n_parents = 1
    for index, layer in enumerate(layers):
        if layer.weights.shape != (parts.n_features, layer.n_nodes) or layer.clusters.shape[1] != n_parents:
            problems.append(f"{layer_file(index)} holds weights of shape {layer.weights.shape} under {layer.clusters.shape[1]} "
                            f"parents, not ({parts.n_features}, {layer.n_nodes}) under {n_parents}")
        n_parents = layer.n_nodes
    if n_parents != parts.examples.n_concepts:
        problems.append(f"the last layer has {n_parents} labels but the model {parts.examples.n_concepts} concepts")
    if problems:
        raise ModelLoadError(f"XMR model directory {parts.directory} is inconsistent: {'; '.join(problems)}")
