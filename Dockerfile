# supportbot in a container: the pinned dependencies from requirements.lock, the desk's code,
# a non-root user. `docker compose up -d` runs it with PostgreSQL (compose.yaml); README.md,
# "Deploying", says more.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
COPY requirements.lock /tmp/requirements.lock
# every package pinned, with its hashes: the image holds what CI tested
RUN /opt/venv/bin/pip install --require-hashes -r /tmp/requirements.lock
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY adapters adapters
COPY storage storage
COPY templates templates
# installed in place, without dependencies of its own (the lock has them all): the templates
# and the Slack manifest are read from beside the code. Compiled now, as the running user
# cannot write here.
RUN /opt/venv/bin/pip install --no-deps -e . \
    && /opt/venv/bin/python -m compileall -q bot adapters storage

FROM python:3.11-slim
RUN groupadd --system --gid 10001 supportbot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/supportbot --create-home \
        --shell /usr/sbin/nologin supportbot
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# The working directory holds what must outlive a container: the SQLite desk of the default
# DATABASE_URL and the Discord spool (messages waiting for the database).
WORKDIR /var/lib/supportbot
VOLUME /var/lib/supportbot
# numeric, so that a runtime that insists on non-root (runAsNonRoot) can tell
USER 10001:10001
# SUPPORTBOT_HTTP_PORT (set it to 3000 to match EXPOSE) serves /healthz, /readyz and Prometheus's
# /metrics whichever adapters run, and Slack's /slack/events in HTTP mode (whose port is 3000
# by default); Socket Mode and Discord need no port of their own
EXPOSE 3000
# Health: GET /healthz (the process answers) when SUPPORTBOT_HTTP_PORT is set; else
# `supportbot check` (the configuration, the database and its schema, each configured
# platform reached). Readiness (/readyz: database, adapters, the tick) is for a load
# balancer or an orchestrator's readiness probe, not a reason to restart.
HEALTHCHECK --interval=60s --timeout=60s --start-period=60s --retries=3 \
    CMD if [ -n "$SUPPORTBOT_HTTP_PORT" ]; then \
        python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['SUPPORTBOT_HTTP_PORT'], timeout=10)"; \
    else supportbot check; fi
# SIGTERM (docker stop) lets the bot finish its sends and leave cleanly
CMD ["supportbot", "run"]
