# Stage 1: front-end packages from the npm registry (htmx), pinned by package-lock.json.
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && mkdir -p vendor && cp node_modules/htmx.org/dist/htmx.min.js vendor/

# Stage 2: the Python app.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 FLASK_APP=wsgi
WORKDIR /srv/stepline
COPY pyproject.toml ./
COPY app ./app
RUN pip install --no-cache-dir .
COPY . .
COPY --from=assets /build/vendor ./static/vendor
RUN useradd --system --uid 1000 stepline && mkdir -p instance && chown stepline instance
USER stepline
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "wsgi:app"]
