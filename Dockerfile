# syntax=docker/dockerfile:1
# Sawmill as a service: it tracks SAWMILL_REPO (a git URL, kept as a bare mirror under /data) and keeps
# its store (SQLite by default, or SAWMILL_DATABASE_URL=postgresql://...) beside it. docs/deploy.md
# takes it from here to Kubernetes or Flux and a working webhook.
#   docker build -t sawmill .
#   docker run --read-only --tmpfs /tmp -p 8000:8000 -v sawmill-data:/data \
#     -e SAWMILL_REPO=https://github.com/org/platform.git sawmill
# tests/deploy/test_image_cmd.py runs this file's CMD with its final ENV (no registry is reachable
# where the tests run, so the image itself is not built there).

# -- build: a wheel, installed non-editable with its runtime dependencies into a venv ----------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY app ./app
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/sawmill \
 && /opt/sawmill/bin/pip install "$(echo /wheels/sawmill-*.whl)[postgres]"
# The wheel holds the app package only, and the code looks for its templates, static files and
# migrations beside that package (app/web/render.py, app/store/db.py): put them there.
COPY templates ./templates
COPY static ./static
COPY migrations ./migrations
RUN site="$(/opt/sawmill/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
 && cp -r templates static migrations "$site/" \
 && cp app/demo/progress.md "$site/app/demo/" \
 && SAWMILL_DATA_DIR=/tmp/check /opt/sawmill/bin/sawmill migrate \
 && /opt/sawmill/bin/python -c 'from app.web.render import STATIC, TEMPLATES; assert (TEMPLATES / "base.html").is_file() and (STATIC / "app.css").is_file()' \
 && rm -rf /tmp/check

# -- runtime: python, git, tini and the venv; nothing from the test extra ----------------------------
FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="sawmill" \
      org.opencontainers.image.description="Tracks a GitOps repository's move from legacy tests to kyverno/chainsaw" \
      org.opencontainers.image.licenses="Apache-2.0"
# git: Sawmill mirrors and reads repositories with it. tini: PID 1 that reaps the helpers
# (git-remote-https, ssh) a git killed on a timeout leaves behind.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 sawmill \
 && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin sawmill \
 && mkdir /data \
 && chown 10001:10001 /data
COPY --from=build /opt/sawmill /opt/sawmill

# Everything Sawmill writes goes to /data (mirrors, the SQLite file; HOME too, for git and ssh's
# known_hosts), so the root filesystem can be read-only; mount a tmpfs or emptyDir at /tmp.
# No safe.directory here: mirrors belong to the user that runs Sawmill. A repository mounted
# from the host is the exception (docs/deploy.md).
ENV PATH=/opt/sawmill/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/data \
    SAWMILL_DATA_DIR=/data
VOLUME /data
WORKDIR /data
USER 10001:10001
EXPOSE 8000
# python, not curl (slim has none); no proxy, whatever HTTP_PROXY the operator set for git.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["sawmill", "serve", "--host", "0.0.0.0", "--port", "8000"]
