#!/bin/sh
# Install the Debian packages meter builds, tests and benchmarks with.
# Runs apt-get as root, or through sudo when started by another user.
# -f: $PKGS below is split into words on purpose, never globbed
set -euf
PKGS="build-essential pkg-config libyajl-dev libxml2-dev libcurl4-openssl-dev
libcsv-dev libsqlite3-dev sqlite3 zlib1g-dev libical-dev bats jq mandoc tzdata
time miller libssl-dev python3 openssl clang libclang-rt-14-dev valgrind
libxml2-utils chromium postgresql libpq-dev mosquitto mosquitto-clients
libmosquitto-dev libgsl-dev python3-numpy"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=
else
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # PKGS is this script's own fixed list of package names, split on purpose
$SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
# shellcheck disable=SC2086 # counted as words, as apt-get gets them
echo "deps: the $(echo $PKGS | wc -w) packages meter needs are installed"
