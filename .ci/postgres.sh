#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for the tests and print its URL (no database in it; each
# test creates its own). Installs the Debian `postgresql` package if it is missing. The cluster
# runs as the `postgres` user when this runs as root (`initdb` refuses root), on a free
# loopback port, in a temporary directory. Stop it with: .ci/postgres.sh stop DIR
set -euo pipefail

if [ "${1:-}" = "stop" ]; then
    dir="$2"
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    else
        "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    exit 0
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "installing postgresql (Debian package)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
dir="$(mktemp -d /tmp/lsps-ci-pg.XXXXXX)"
# A port nothing listens on (bash's /dev/tcp connect fails on a free one).
port=$((40000 + RANDOM % 20000))
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
as_pg=()
if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
    as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c max_connections=200" start >/dev/null
echo "dir=$dir"
echo "url=postgres://postgres@127.0.0.1:$port"
