# syntax=docker/dockerfile:1
# Stepline's production image: `docker compose build` (see README "Running in production").

# Stage 1: front-end packages from the npm registry (htmx), pinned by package-lock.json; the
# same files the Makefile's `setup` copies into static/vendor.
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error \
    && mkdir -p vendor \
    && cp node_modules/htmx.org/dist/htmx.min.js vendor/

# Stage 2: the Python dependencies and the app, installed into a virtualenv. The dependencies
# are exactly requirements.lock's (versions and hashes; `make lock` writes it from
# pyproject.toml), so two builds install the same packages; then the app alone, without deps.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml ./
COPY app ./app
RUN pip install --no-deps . && pip check

# Stage 3: the runtime: the virtualenv, the sources the commands need, no build tools, no root.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH FLASK_APP=wsgi
RUN useradd --system --create-home --uid 1000 stepline
WORKDIR /srv/stepline
COPY --from=build /opt/venv /opt/venv
COPY app ./app
COPY migrations ./migrations
COPY static ./static
COPY wsgi.py gunicorn.conf.py ./
COPY --from=assets /build/vendor ./static/vendor
# instance/ holds nothing in production (secrets come from the environment) but must be writable.
RUN mkdir -p instance && chown stepline:stepline instance
USER stepline
EXPOSE 8000
# Liveness of the default command (gunicorn): /healthz answers without touching another service.
# Slim images have no curl; Python's urllib does. docker-compose.yml asks `web` for /readyz
# instead and switches the check off for the services that serve no HTTP.
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=5)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
