#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the tests (scripts/test.sh starts it; nothing else uses it):
#   bash scripts/postgres.sh start DIR    # initdb in DIR, start on a free 127.0.0.1 port, trust auth,
#                                         # create database ktsx_test; prints the URL to use
#   bash scripts/postgres.sh stop DIR
# Installs Debian's postgresql-15 when it is missing. initdb refuses root, so as root the server runs as
# the `postgres` user the package creates.
set -euo pipefail
action=${1:?start or stop}
dir=${2:?a directory for the cluster}
bin=/usr/lib/postgresql/15/bin
as_owner=()
[ "$(id -u)" -eq 0 ] && as_owner=(runuser -u postgres --)

case "$action" in
start)
    if [ ! -x "$bin/initdb" ]; then
        sudo=""
        [ "$(id -u)" -ne 0 ] && sudo=sudo
        echo "installing Debian packages: postgresql-15 postgresql-client-15" >&2
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql-15 postgresql-client-15 >/dev/null
    fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    rm -rf "$dir"
    mkdir -p "$dir/data" "$dir/socket"
    [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir"
    "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
    # Durability settings off: the tests' data is thrown away with the cluster.
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -k $dir/socket -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30
    "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qc "CREATE DATABASE ktsx_test" >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/ktsx_test?sslmode=disable"
    ;;
stop)
    [ -d "$dir/data" ] && "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
