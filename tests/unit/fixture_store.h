/* SPDX-License-Identifier: Apache-2.0 */
/* Which store back-end a test runs against. Without M2M_TEST_PG a store is a file in the test's directory
 * (SQLite). Under tests/pg/with_cluster.sh, M2M_TEST_PG is the connection string of a throw-away PostgreSQL
 * cluster (no dbname) and every store is a new, empty database in it -- so one test program checks both back-ends.
 * Header-only. */
#ifndef M2M_TEST_FIXTURE_STORE_H
#define M2M_TEST_FIXTURE_STORE_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The cluster's connection string, or NULL (SQLite). */
static inline const char *fixture_pg(void)
{
    const char *c = getenv("M2M_TEST_PG");
    return c != NULL && c[0] != '\0' ? c : NULL;
}

/* Creates database name in the cluster. 0, or -1 (printed). */
static inline int fixture_pg_createdb(const char *name)
{
    char conninfo[512], sql[128];
    PGconn *c;
    PGresult *r;
    int rc;
    snprintf(conninfo, sizeof conninfo, "%s dbname=postgres", fixture_pg());
    c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "fixture: cannot reach the test cluster: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    r = PQexec(c, sql);
    rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "fixture: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* A location for a new store: dir/name.db, or a new database (key=value form) in the test cluster. */
static inline int fixture_store_location(const char *dir, const char *name, char *out, size_t cap)
{
    static int seq;
    char db[64];
    if (fixture_pg() == NULL) {
        snprintf(out, cap, "%s/%s.db", dir, name);
        return 0;
    }
    snprintf(db, sizeof db, "t%ld_%d", (long)getpid(), ++seq);
    snprintf(out, cap, "%s dbname=%s", fixture_pg(), db);
    return fixture_pg_createdb(db);
}

/* Runs one SQL statement on the store's database (PostgreSQL tests only). 0, or -1 (printed). */
static inline int fixture_pg_exec(const char *location, const char *sql)
{
    PGconn *c = PQconnectdb(location);
    PGresult *r = PQexec(c, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "fixture: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* Stops or starts the test cluster's server (tests/pg/with_cluster.sh exports how). 0, or -1. */
static inline int fixture_pg_ctl(const char *what)
{
    char cmd[1024];
    const char *bin = getenv("M2M_TEST_PG_BIN"), *dir = getenv("M2M_TEST_PG_DIR"), *run = getenv("M2M_TEST_PG_RUN");
    if (bin == NULL || dir == NULL)
        return -1;
    if (strcmp(what, "stop") == 0)
        snprintf(cmd, sizeof cmd, "%s '%s/pg_ctl' -D '%s/data' -m fast -w -t 60 stop >/dev/null", run ? run : "", bin,
                 dir);
    else
        snprintf(cmd, sizeof cmd, "%s '%s/pg_ctl' -D '%s/data' -l '%s/server.log' -w -t 60 -o \"-c listen_addresses='' "
                 "-c unix_socket_directories='%s' -c max_connections=200\" start >/dev/null", run ? run : "", bin, dir,
                 dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
