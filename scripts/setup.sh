#!/usr/bin/env bash
# Installs everything a fresh clone needs on Debian 12 (apt tools, npm deps) and builds it all.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# gpg/gpgconf make the test keys, openssl the test CA, ip/unshare the network namespaces of the
# network tests, script(1) their pseudo-terminal, python3 the seed's ACI hosting example, curl the
# fetch benchmark's reference.
for tool in xz:xz-utils bzip2:bzip2 gzip:gzip tar:tar gpg:gnupg gpgconf:gnupg openssl:openssl ip:iproute2 unshare:util-linux script:bsdutils python3:python3 curl:curl; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need_apt+=("${tool##*:}")
done
# Docker/OCI tests: a real registry, image building and pushing without a Docker engine, htpasswd
# for Basic auth, and a static busybox as the images' userland.
for tool in docker-registry:docker-registry skopeo:skopeo umoci:umoci htpasswd:apache2-utils; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need_apt+=("${tool##*:}")
done
dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)
# The addon builds Intel's ISA-L (gzip inflate) from source: an assembler and autotools.
for tool in nasm:nasm autoreconf:autoconf automake:automake libtoolize:libtool make:make; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need_apt+=("${tool##*:}")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: please install: ${need_apt[*]}" >&2
    exit 1
  fi
  echo "setup: apt-get install ${need_apt[*]}" >&2
  # a fresh Debian image has no package lists yet
  if ! apt-cache show "${need_apt[0]}" >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -d node_modules/clipanion ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install` honours package-lock.json; `npm ci` refuses it here because npm leaves other
  # platforms' optional packages of @napi-rs/cli out of the lock file.
  echo "setup: npm install" >&2
  npm install --no-audit --no-fund --loglevel=error
fi

bash scripts/build.sh
