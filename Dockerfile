# nyiops production image: one image for web (gunicorn), worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    NYIOPS_ENV=production NYIOPS_VAR_DIR=/var/lib/nyiops STATIC_ROOT=/app/staticfiles

RUN useradd --system --home /var/lib/nyiops --create-home nyiops \
    && mkdir /fleet && chown nyiops /fleet  # the demo fleet's state volume starts as this
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY . .
# collectstatic needs settings that import cleanly; these build-time values are not used at run time.
RUN SECRET_KEY=build-only NYIOPS_SECRET_KEYS=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= \
    python manage.py collectstatic --no-input -v 0
USER nyiops
EXPOSE 8000
# Sync workers: 2 x cores + 1 (gunicorn's rule) for the 2-core target. With 3, 50 wallboards
# queued in the listen backlog (RELIABILITY F1, BENCHMARKS.md: partials p95 516 ms vs 180 ms).
CMD ["gunicorn", "nyiops.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "5", \
     "--timeout", "30", "--access-logfile", "-"]
