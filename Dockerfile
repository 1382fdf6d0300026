# Sawmill's dashboard in a container: mount the GitOps repository at /repo
# (read-only is enough: Sawmill never writes to it) and a volume at /data.
#   docker build -t sawmill .
#   docker run -p 8000:8000 -v "$PWD:/repo:ro" -v sawmill-data:/data sawmill
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
ENV SAWMILL_DATABASE_URL=sqlite:////data/sawmill.db \
    SAWMILL_REPO=/repo
EXPOSE 8000
CMD ["sawmill", "serve", "--host", "0.0.0.0", "--port", "8000"]
