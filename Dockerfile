# Sawmill as a service in a container: it tracks SAWMILL_REPO (a git URL, mirrored under /data,
# or a repository mounted at /repo, read-only is enough) and keeps its store in the /data volume.
#   docker build -t sawmill .
#   docker run -p 8000:8000 -v sawmill-data:/data \
#     -e SAWMILL_REPO=https://github.com/org/platform.git -e SAWMILL_GIT_TOKEN_FILE=/run/secrets/git-token sawmill
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 sawmill

WORKDIR /srv/sawmill
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
RUN pip install --no-cache-dir --editable . \
 && mkdir /data && chown sawmill /data \
 && git config --system --add safe.directory '*'

USER sawmill
ENV SAWMILL_DATA_DIR=/data \
    SAWMILL_REPO=/repo
EXPOSE 8000
CMD ["sawmill", "serve", "--host", "0.0.0.0", "--port", "8000"]
