# The Mate application image (web, worker and beat share it).
# Python packages come from PyPI; a machine that reaches no index builds with the wheels of
# deploy/wheels instead (`make image` fills it and passes WHEELS_ONLY=1).
FROM python:3.11-slim
ARG WHEELS_ONLY=0
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MATE_VAR_DIR=/var/lib/mate
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/mate --create-home mate
COPY deploy/wheels /tmp/wheels
COPY pyproject.toml README.md ./
COPY mate mate
COPY configschema configschema
COPY tenants tenants
COPY jobs jobs
COPY toolservice toolservice
COPY templates templates
COPY static static
COPY manage.py gunicorn.conf.py ./
RUN if [ "$WHEELS_ONLY" = 1 ]; then set -- --no-index; fi \
    && pip install --no-cache-dir --find-links /tmp/wheels "$@" . \
    && rm -rf /tmp/wheels build *.egg-info \
    && DJANGO_SECRET_KEY=build MATE_ENCRYPTION_KEYS=b:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
       python manage.py collectstatic --noinput
USER mate
EXPOSE 8000
CMD ["gunicorn", "mate.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
