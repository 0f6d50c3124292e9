# The serving image for Knative (openwhisk/knative/): the llara layer and its HTTP server.
#   docker build -f infra/docker/serve.Dockerfile -t ghcr.io/llara-plus-plus/llara-serve:0.1.0 .
FROM python:3.11-slim-bookworm
RUN useradd --uid 10001 --create-home llara
WORKDIR /app
COPY pyproject.toml README.md ./
COPY layers ./layers
COPY training ./training
COPY openwhisk/knative/trigger.py ./trigger.py
RUN pip install --no-cache-dir .
USER 10001
ENV LLARA_HOME=/tmp/llara PORT=8080
EXPOSE 8080
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=3)"
CMD ["sh", "-c", "exec llara serve --host 0.0.0.0 --port ${PORT}"]
