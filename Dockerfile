# coordbot in one container: chat (Telegram), reminders, delivery and the calendar server.
#   docker build -t coordbot .
#   docker run -d -p 127.0.0.1:8080:8080 -v coordbot-data:/var/lib/coordbot \
#     -e COORDBOT_TELEGRAM_TOKEN=... coordbot
# deploy/compose.yaml runs it with PostgreSQL; the README's Operations section has the rest.

# Build stage: a venv with exactly the hash-checked versions of requirements.lock (runtime,
# PostgreSQL driver, DKIM), then coordbot itself without resolving anything again.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# The dependencies first: this layer is reused until the lock file changes.
COPY requirements.lock ./
RUN python -m venv /opt/coordbot \
    && /opt/coordbot/bin/pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
COPY schedules ./schedules
RUN /opt/coordbot/bin/pip install --no-deps . \
    && /opt/coordbot/bin/pip check

# Run stage: the venv only (no build tools, no source tree), as an unprivileged user.
FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/coordbot --create-home \
        --shell /usr/sbin/nologin coordbot
COPY --from=build /opt/coordbot /opt/coordbot
# The database (SQLite unless COORDBOT_BOT_DATABASE_URL names PostgreSQL) lives in the volume;
# the calendar server listens on every interface of the container, port 8080.
ENV PATH=/opt/coordbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COORDBOT_BOT_DATABASE_URL=sqlite:////var/lib/coordbot/coordbot.sqlite3 \
    COORDBOT_CALENDAR_LISTEN=0.0.0.0:8080
# Numeric, so that a runtime can check that the user is not root.
USER 10001:10001
WORKDIR /var/lib/coordbot
VOLUME ["/var/lib/coordbot"]
EXPOSE 8080
# GET /healthz on the port of COORDBOT_CALENDAR_LISTEN answers "ok" while the server runs
# (python, since the slim image has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ['COORDBOT_CALENDAR_LISTEN'].rpartition(':')[2]; body = urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).read(); sys.exit(body.strip() != b'ok')"]
# coordbot stops cleanly on SIGTERM (docker stop).
STOPSIGNAL SIGTERM
ENTRYPOINT ["coordbot"]
CMD ["run"]
