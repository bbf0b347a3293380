# Redis from Debian's packages, for compose.yaml where no image registry is reachable; REDIS_IMAGE=redis:7.0
# can take its place (both keep their data in /data and run the command compose.yaml gives).
#
#   docker build --build-arg BASE_IMAGE=emomusic-base:bookworm -f deploy/redis.Dockerfile -t emomusic-redis:7.0 deploy
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
    && mkdir -p /data \
    && chown redis:redis /data

WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
