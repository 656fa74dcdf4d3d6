#!/usr/bin/env bash
# A throwaway Redis server for tests (never for real data: persistence off, a password written in
# plain text beside it).
#
#   redis-test-server.sh start DIR   starts redis-server on a free TCP port of 127.0.0.1 (no unix
#                                    socket, no RDB snapshots, no AOF), requiring a random
#                                    password, and writes its URL,
#                                    redis://default:PASSWORD@127.0.0.1:PORT/0, to DIR/url.
#                                    Does nothing if that server is already running. If DIR holds
#                                    a server that is no longer running (see `kill`), starts it
#                                    again on the same port and password, so the URL stays valid.
#   redis-test-server.sh kill DIR    kills the server at once (SIGKILL, like a crash) and keeps
#                                    DIR, so that `start DIR` brings it back on the same URL.
#   redis-test-server.sh stop DIR    stops the server and removes DIR. Does nothing if DIR is absent.
#
# Quiet on success; on failure says why on stderr (with the server log) and exits non-zero.
set -euo pipefail

REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
readonly MARKER=.plinth-redis-test-server

die() {
  echo "redis-test-server: $*" >&2
  exit 1
}

usage() {
  die "usage: $0 start DIR | kill DIR | stop DIR"
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

# The pid of DIR's server if it is running, else nothing. The server runs in DIR (its `dir`
# setting), which finds it even while its pid file is missing or half written (it is starting,
# or a start was reported failed while it still came up).
running_pid() {
  local dir=$1 pid proc
  pid=$(cat "$dir/redis.pid" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]] && is_server_in "$pid" "$dir"; then
    echo "$pid"
    return 0
  fi
  for proc in /proc/[0-9]*; do
    pid=${proc#/proc/}
    if is_server_in "$pid" "$dir"; then
      echo "$pid"
      return 0
    fi
  done
}

# True if process `pid` is a live redis-server running in folder `dir`.
is_server_in() {
  local pid=$1 dir=$2
  [[ /proc/$pid/cwd -ef $dir ]] && alive "$pid" &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q redis-server
}

# True while process `pid` runs. A killed daemon may linger as a zombie until its parent (often
# a container's init) reaps it; it holds no port any more, so it counts as gone.
alive() {
  local pid=$1 stat state
  read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
  state=${stat##*) }
  state=${state%% *}
  [[ -n $state && $state != Z && $state != X ]]
}

# Sends one command (RESP inline) to the server on `port` and prints the first reply line.
ask() {
  local port=$1 password=$2 command=$3
  local reply
  reply=$(
    exec 2>/dev/null
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'AUTH default %s\r\n%s\r\n' "$password" "$command" >&3
    timeout 5 head -n 2 <&3 | tail -n 1
  ) || true
  echo "${reply%$'\r'}"
}

wait_until_ready() {
  local dir=$1 port=$2 password=$3
  for _ in $(seq 1 200); do
    if [[ $(ask "$port" "$password" PING) == "+PONG" ]]; then
      return 0
    fi
    # The daemon died (its pid file may still be half written while it starts: not a number yet).
    local pid
    pid=$(cat "$dir/redis.pid" 2>/dev/null || true)
    if [[ $pid =~ ^[0-9]+$ ]] && ! alive "$pid"; then
      break
    fi
    sleep 0.05
  done
  return 1
}

kill_server() {
  local dir=$1 pid
  [[ -f $dir/$MARKER ]] || die "$dir is not a folder this script created"
  pid=$(running_pid "$dir")
  if [[ -n $pid ]]; then
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      alive "$pid" || break
      sleep 0.05
    done
    ! alive "$pid" || die "the server (pid $pid) did not die"
  fi
  rm -f "$dir/redis.pid"
}

stop_server() {
  local dir=$1 pid
  [[ -e $dir ]] || return 0
  [[ -f $dir/$MARKER ]] || die "$dir is not a folder this script created; not removing it"
  pid=$(running_pid "$dir")
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do
      alive "$pid" || break
      sleep 0.05
    done
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    if alive "$pid"; then
      show_log "$dir/redis.log"
      die "the server (pid $pid) did not stop"
    fi
  fi
  rm -rf "$dir"
}

# Starts redis-server for DIR on `port`; returns non-zero if it did not come up.
launch() {
  local dir=$1 port=$2 password=$3
  rm -f "$dir/redis.pid"
  # The password goes through a config file, not the command line, so `ps` does not show it.
  cat >"$dir/redis.conf" <<EOF
# redis-test-server.sh: a disposable test server.
bind 127.0.0.1
port $port
# No unixsocket line: Redis opens no unix socket unless told to.
protected-mode yes
requirepass $password
save ""
appendonly no
dir $dir
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
databases 16
EOF
  chmod 0600 "$dir/redis.conf"
  "$REDIS_SERVER" "$dir/redis.conf" >"$dir/launch.log" 2>&1 || return 1
  wait_until_ready "$dir" "$port" "$password"
}

start_server() {
  local dir=$1
  if [[ -f $dir/url && -f $dir/$MARKER && -n $(running_pid "$dir") ]]; then
    return 0
  fi
  [[ -x $REDIS_SERVER ]] || die "redis-server not found at $REDIS_SERVER (set REDIS_SERVER)"

  # A server killed with `kill`: start it again where it was.
  if [[ -f $dir/url && -f $dir/$MARKER && -f $dir/port && -f $dir/password ]]; then
    local port password
    port=$(cat "$dir/port")
    password=$(cat "$dir/password")
    if ! launch "$dir" "$port" "$password"; then
      show_log "$dir/launch.log"
      show_log "$dir/redis.log"
      die "the Redis test server did not restart on port $port"
    fi
    return 0
  fi

  # Left over from a server that is no longer running: begin again.
  stop_server "$dir"
  mkdir -p "$dir"
  chmod 0700 "$dir"
  touch "$dir/$MARKER"
  local password
  password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  local port started=""
  for _ in 1 2 3 4 5; do
    port=$(pick_port)
    if launch "$dir" "$port" "$password"; then
      started=yes
      break
    fi
    # Another process may have taken the port between the check and the start: try another.
    local pid
    pid=$(running_pid "$dir")
    if [[ -n $pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
    grep -q "Address already in use" "$dir/redis.log" 2>/dev/null || break
    rm -f "$dir/redis.log"
  done
  if [[ -z $started ]]; then
    show_log "$dir/launch.log"
    show_log "$dir/redis.log"
    die "the Redis test server did not start"
  fi
  echo "$port" >"$dir/port"
  (umask 077 && echo "$password" >"$dir/password")
  (umask 077 && echo "redis://default:$password@127.0.0.1:$port/0" >"$dir/url.tmp")
  mv "$dir/url.tmp" "$dir/url"
}

[[ $# -eq 2 ]] || usage
dir=$(realpath -m -- "$2")
[[ $dir != / ]] || die "refusing to use / as the server folder"
case $1 in
  start) start_server "$dir" ;;
  kill) kill_server "$dir" ;;
  stop) stop_server "$dir" ;;
  *) usage ;;
esac
