# The batch training image (infra/k8s/training/cronjob.yaml): llara with the [train] extra.
# torch==2.13.0 from PyPI bundles its CUDA libraries, so the same image trains on the GPU node
# (nvidia.com/gpu) or, without one, on CPU.
#   docker build -f infra/docker/train.Dockerfile -t ghcr.io/llara-plus-plus/llara-train:0.1.0 .
FROM python:3.11-slim-bookworm
RUN useradd --uid 10001 --create-home llara
WORKDIR /app
COPY pyproject.toml README.md ./
COPY layers ./layers
COPY training ./training
RUN pip install --no-cache-dir ".[train]"
USER 10001
ENV LLARA_HOME=/work HF_HUB_OFFLINE=1
HEALTHCHECK NONE
ENTRYPOINT ["llara"]
CMD ["train", "--json"]
