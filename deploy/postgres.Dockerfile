# PostgreSQL from Debian's packages, for compose.yaml where no image registry is reachable. It reads the
# variables the official postgres image reads (POSTGRES_DB, POSTGRES_USER, POSTGRES_PASSWORD) and keeps its
# data in the same place (/var/lib/postgresql/data), so POSTGRES_IMAGE=postgres:15 can take its place.
#
#   docker build --build-arg BASE_IMAGE=emomusic-base:bookworm -f deploy/postgres.Dockerfile -t emomusic-postgres:15 deploy
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
    && chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql \
    && chmod 700 /var/lib/postgresql/data

COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres"]
