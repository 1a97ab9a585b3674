# SPDX-License-Identifier: Apache-2.0
# A throw-away PostgreSQL cluster for the tests: the server binaries Debian's `postgresql` package installs
# (initdb, pg_ctl), a data directory in a temporary directory, a Unix socket there and no TCP listener, no system
# service. initdb refuses to run as root, so as root the cluster runs as the `postgres` user (or `nobody`).
# One initdb is kept as a template (per user and server version, made under a lock) and copied for each cluster:
# initdb costs seconds, a copy a fraction of one.
#
# Usage (sourced): pg_cluster_start || exit $?   (77 = no PostgreSQL here: the caller skips)
#   sets PG_DIR (socket directory), PG_CONNINFO ("host=PG_DIR user=postgres", no dbname), PG_RUN (run as the
#   cluster's owner); pg_createdb NAME; pg_restart [fast|immediate]; pg_stop_server; pg_start_server;
#   pg_cluster_stop (call it on exit).

PG_BIN=${M2M_PG_BIN:-}
if [ -z "$PG_BIN" ]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
PG_DIR=
PG_CONNINFO=
PG_RUN=
PG_OWNER=

pg_cluster_start() {
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
    echo "SKIP: no PostgreSQL server binaries (initdb, pg_ctl in /usr/lib/postgresql/*/bin or \$M2M_PG_BIN):" \
         "install the 'postgresql' package (scripts/install-deps.sh does)" >&2
    return 77
  fi
  if [ "$(id -u)" -eq 0 ]; then
    if getent passwd postgres >/dev/null; then PG_OWNER=postgres; else PG_OWNER=nobody; fi
    PG_RUN="runuser -u $PG_OWNER --"
  else
    PG_OWNER=$(id -un)
    PG_RUN=
  fi
  local version template lock
  version=$("$PG_BIN/pg_ctl" --version | awk '{print $NF}')
  template=/tmp/m2m-pg-template-$(id -u)-$version
  lock=$template.lock
  (
    flock 9
    if [ ! -f "$template/ready" ]; then
      rm -rf "$template"
      mkdir -p "$template"
      chown "$PG_OWNER" "$template"
      $PG_RUN "$PG_BIN/initdb" -D "$template/data" -A trust -U postgres -E UTF8 --no-sync >"$template.log" 2>&1 ||
        { cat "$template.log" >&2; exit 1; }
      touch "$template/ready"
    fi
  ) 9>"$lock" || return 1
  PG_DIR=$(mktemp -d /tmp/m2m-pg-XXXXXX)
  chmod 755 "$PG_DIR"
  cp -a "$template/data" "$PG_DIR/data"
  chown -R "$PG_OWNER" "$PG_DIR"
  PG_CONNINFO="host=$PG_DIR user=postgres"
  pg_start_server || return 1
}

pg_start_server() {
  # fsync stays on: the tests kill servers and expect what was committed to be there
  $PG_RUN "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$PG_DIR' -c max_connections=200" start >/dev/null ||
    { echo "cannot start PostgreSQL in $PG_DIR:" >&2; tail -n 20 "$PG_DIR/server.log" >&2; return 1; }
}

pg_stop_server() {
  $PG_RUN "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m "${1:-fast}" -w -t 60 stop >/dev/null
}

pg_restart() {
  pg_stop_server "${1:-fast}" && pg_start_server
}

pg_createdb() {
  "$PG_BIN/createdb" -h "$PG_DIR" -U postgres "$1"
}

pg_cluster_stop() {
  if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
    $PG_RUN "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
