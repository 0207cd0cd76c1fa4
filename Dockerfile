# syntax=docker/dockerfile:1
# Multi-stage build: wheels in a builder, a slim runtime with a non-root user.
FROM python:3.11-slim AS builder
WORKDIR /src
RUN pip install --no-cache-dir --upgrade "pip>=24.2" build
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN groupadd --system monitor && useradd --system --gid monitor --home-dir /app --shell /usr/sbin/nologin monitor \
 && apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
COPY --from=builder /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
WORKDIR /app
RUN mkdir -p /app/data /etc/monitor && chown -R monitor:monitor /app/data
VOLUME ["/app/data"]
ENV MONITOR_CONFIG=/etc/monitor/monitor.yaml \
    MONITOR_DATABASE_URL=sqlite:////app/data/monitor.db \
    MONITOR_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
USER monitor
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "monitor"]
CMD ["run"]
