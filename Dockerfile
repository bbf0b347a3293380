# One image for every EmoMusic process: web, worker, beat and the release step (compose.yaml runs them
# with the Procfile's commands). It installs requirements.txt, the same pinned file `make setup` installs
# into .venv (requirements-dev.txt starts with `-r requirements.txt` and adds only test and lint tools).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_ENV=production

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the pins change.
COPY requirements.txt ./
RUN python -m pip install -r requirements.txt

COPY . .

# Static files are collected into the image (WhiteNoise serves them); the key and host here exist only for
# this step, which needs neither.
RUN SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput \
    && useradd --system --create-home --home-dir /home/emomusic emomusic \
    && mkdir -p /app/var \
    && chown emomusic /app/var

USER emomusic
EXPOSE 8000
CMD ["gunicorn", "emomusic_site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
