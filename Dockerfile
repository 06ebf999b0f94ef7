# semroute: the service image (CPU only). Build from the repository root:
#   docker build -t semroute .
# Checked without a container runtime by deploy/check_image.py (tests/test_deploy.py runs it).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    SEMROUTE_SERVICE__HOST=0.0.0.0 \
    SEMROUTE_SERVICE__PORT=8080

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin semroute
WORKDIR /app

# The CPU build of torch first, from its own index, so pip never pulls the multi-GB CUDA one.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

# Dependencies before the code, so that a code change does not reinstall them, at the exact
# versions the test suite passed with (constraints.txt).
COPY pyproject.toml README.md constraints.txt ./
RUN mkdir -p router service training \
    && touch router/__init__.py service/__init__.py training/__init__.py \
    && pip install -c constraints.txt . \
    && pip uninstall -y semroute \
    && rm -rf router service training build *.egg-info

COPY router router
COPY service service
COPY training training
COPY centroids centroids
# Editable: the project root stays /app, where the shipped centroids and var/ are found.
RUN pip install --no-deps -c constraints.txt -e . && chown -R semroute:semroute /app

USER semroute
# Artifacts prepared at build time (the ONNX export and its int8 copy, checked on the hold-out
# like every machine-built encoder file), so a container is ready seconds after it starts; and
# the default config checked.
RUN semroute prepare && semroute config check

EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8080/readyz', timeout=2).status != 200)"]
CMD ["semroute", "serve"]
