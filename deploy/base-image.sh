#!/usr/bin/env bash
# Builds a Debian bookworm image with Python 3.11, venv and pip, from Debian's packages alone, for building
# the Dockerfile where no image registry is reachable (the Dockerfile's default base, python:3.11-slim-bookworm,
# comes from Docker Hub):
#
#   deploy/base-image.sh                      # -> emomusic-base:bookworm
#   docker build --build-arg BASE_IMAGE=emomusic-base:bookworm -t emomusic .
#
# debootstrap lays a minimal bookworm (--variant=minbase) with python3, python3-venv and ca-certificates into
# a temporary folder, adds the certificates named in CA_CERTIFICATES to Debian's bundle, drops apt's downloaded
# lists and packages, and `docker import`s the tree as one layer whose pip verifies HTTPS against that bundle
# (PIP_CERT). Bookworm's python3 is 3.11, the version pyproject.toml asks for.
#
# Arguments: the image's tag (default emomusic-base:bookworm). Environment:
#   MIRROR           the Debian mirror (default http://deb.debian.org/debian)
#   CA_CERTIFICATES  PEM files of certificate authorities to trust besides Debian's, separated by spaces: those
#                    of a proxy that re-signs HTTPS on the way to PyPI (default: none)
# Needs root, debootstrap and a running Docker engine.
set -euo pipefail

tag=${1:-emomusic-base:bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}

if [ "$(id -u)" -ne 0 ]; then
  echo "debootstrap needs root: sudo $0 $*" >&2
  exit 1
fi
for tool in debootstrap docker; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (Debian: apt-get install $tool)" >&2; exit 1; }
done

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT

debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$mirror"
for certificate in ${CA_CERTIFICATES:-}; do
  cp "$certificate" "$rootfs/usr/local/share/ca-certificates/$(basename "$certificate" .crt).crt"
done
chroot "$rootfs" update-ca-certificates
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

tar -C "$rootfs" -c . | docker import --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' --change 'CMD ["python3"]' - "$tag"
echo "Built $tag"
