#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs a test program against a throw-away PostgreSQL cluster of its own: starts it (tests/pg/cluster.sh), runs
# "$@" with M2M_TEST_PG set to the cluster's connection string (no dbname: each test makes the databases it
# needs) and M2M_TEST_PG_DIR / M2M_TEST_PG_BIN / M2M_TEST_PG_RUN so a test can restart the server, then removes
# the cluster. Exits 77 (CTest: skipped) when this machine has no PostgreSQL server binaries.
set -uo pipefail
. "$(dirname "$0")/cluster.sh"
trap pg_cluster_stop EXIT
pg_cluster_start
rc=$?
if [ $rc -ne 0 ]; then exit $rc; fi
export M2M_TEST_PG="$PG_CONNINFO" M2M_TEST_PG_DIR="$PG_DIR" M2M_TEST_PG_BIN="$PG_BIN" M2M_TEST_PG_RUN="$PG_RUN"
"$@"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
  echo "--- PostgreSQL server log (last lines) ---" >&2
  tail -n 20 "$PG_DIR/server.log" >&2
fi
exit $rc
