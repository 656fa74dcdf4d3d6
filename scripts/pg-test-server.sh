#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for tests (never for real data: trust authentication, fsync
# off).
#
#   pg-test-server.sh start DIR   creates a cluster under DIR, starts it on a free TCP port of
#                                 127.0.0.1 (and a unix socket inside DIR) and writes its URL,
#                                 postgresql://postgres@127.0.0.1:PORT/postgres, to DIR/url.
#                                 Does nothing if that server is already running.
#   pg-test-server.sh stop DIR    stops the server and removes DIR. Does nothing if DIR is absent.
#
# As root the server runs as the `postgres` user, since initdb refuses to run as root. If that
# user cannot reach DIR, or DIR is too long for a unix socket path, the cluster lives in a
# private folder under /tmp that DIR/runtime names and `stop` removes.
# Quiet on success; on failure says why on stderr (with the server log) and exits non-zero.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
readonly MARKER=.plinth-pg-test-server

die() {
  echo "pg-test-server: $*" >&2
  exit 1
}

usage() {
  die "usage: $0 start DIR | stop DIR"
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# The folder holding the cluster (data/, sock/, server.log): DIR itself or the one DIR/runtime
# names.
runtime_of() {
  local dir=$1
  if [[ -f $dir/runtime ]]; then
    cat "$dir/runtime"
  else
    echo "$dir"
  fi
}

is_running() {
  local runtime=$1
  [[ -d $runtime/data ]] && as_owner "$PG_BIN/pg_ctl" -D "$runtime/data" status >/dev/null 2>&1
}

show_log() {
  local log=$1
  if [[ -f $log ]]; then
    echo "--- $log (last lines) ---" >&2
    tail -n 20 "$log" >&2
  fi
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free TCP port found on 127.0.0.1"
}

stop_server() {
  local dir=$1
  [[ -e $dir ]] || return 0
  [[ -f $dir/$MARKER ]] || die "$dir is not a folder this script created; not removing it"
  local runtime
  runtime=$(runtime_of "$dir")
  if is_running "$runtime"; then
    as_owner "$PG_BIN/pg_ctl" -D "$runtime/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      as_owner "$PG_BIN/pg_ctl" -D "$runtime/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
      true
    if is_running "$runtime"; then
      show_log "$runtime/server.log"
      die "the server in $runtime/data did not stop"
    fi
  fi
  if [[ $runtime != "$dir" ]]; then
    rm -rf "$runtime"
  fi
  rm -rf "$dir"
}

start_server() {
  local dir=$1
  if [[ -f $dir/url ]] && is_running "$(runtime_of "$dir")"; then
    return 0
  fi
  # Left over from a server that is no longer running: begin again.
  stop_server "$dir"

  [[ -x $PG_BIN/initdb ]] || die "PostgreSQL binaries not found in $PG_BIN (set PG_BIN)"
  mkdir -p "$dir"
  touch "$dir/$MARKER"
  local runtime=$dir
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      runtime=""
    fi
  fi
  # A unix socket path is limited to 107 bytes, including "/.s.PGSQL.NNNNN".
  if [[ -z $runtime || ${#runtime} -gt 80 ]]; then
    runtime=$(mktemp -d /tmp/plinth-pg.XXXXXX)
    echo "$runtime" >"$dir/runtime"
    if [[ $(id -u) -eq 0 ]]; then
      chown postgres:postgres "$runtime"
    fi
  fi
  as_owner mkdir -p "$runtime/sock"

  if ! as_owner "$PG_BIN/initdb" -D "$runtime/data" -U postgres --auth=trust -E UTF8 \
    --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
    show_log "$dir/initdb.log"
    die "initdb failed in $runtime/data"
  fi
  cat >>"$runtime/data/postgresql.conf" <<EOF
# pg-test-server.sh: a disposable test cluster.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$runtime/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
shared_buffers = 32MB
EOF

  local port started=""
  for _ in 1 2 3 4 5; do
    port=$(pick_port)
    if as_owner "$PG_BIN/pg_ctl" -D "$runtime/data" -l "$runtime/server.log" -o "-p $port" -w \
      -t 60 start >"$dir/pg_ctl.log" 2>&1; then
      started=yes
      break
    fi
    # Another process may have taken the port between the check and the start: try another.
    grep -q "could not bind\|could not create listen socket" "$runtime/server.log" 2>/dev/null ||
      break
  done
  if [[ -z $started ]]; then
    show_log "$dir/pg_ctl.log"
    show_log "$runtime/server.log"
    die "the PostgreSQL test server did not start"
  fi
  echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$dir/url.tmp"
  mv "$dir/url.tmp" "$dir/url"
}

[[ $# -eq 2 ]] || usage
dir=$(realpath -m -- "$2")
[[ $dir != / ]] || die "refusing to use / as the server folder"
case $1 in
  start) start_server "$dir" ;;
  stop) stop_server "$dir" ;;
  *) usage ;;
esac
