# One image for every EmoMusic process: web, worker, beat and the release step (compose.yaml runs them
# with the Procfile's commands). It installs requirements.txt, the pins of what these processes import;
# training's TensorFlow, Keras, SciPy and Matplotlib (requirements-ml.txt) stay out of it.
#
# BASE_IMAGE: any Debian bookworm image with Python 3.11 and its venv module. Where Docker Hub is not
# reachable, deploy/base-image.sh builds one from Debian's packages:
#   docker build --build-arg BASE_IMAGE=emomusic-base:bookworm -t emomusic .
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

# The requirements go into a virtual environment, so that the same steps work on Debian's own python3
# (which refuses system-wide pip installs) and on the python images.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_ENV=production

WORKDIR /app
RUN python3 -m venv /opt/venv

# Dependencies first: this layer is rebuilt only when the pins change. PIP_INDEX_URL and PIP_EXTRA_INDEX_URL
# (build arguments, unset by default: PyPI) point pip at a mirror where PyPI is not reached directly.
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
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
