/* SPDX-License-Identifier: Apache-2.0 */
/* What the SQLite back-end's files share: the connection of a store handle and the error and exec helpers of
 * sqlite.c, for the files that add tables of their own (sqlite_gba.c). Nothing outside src/store/ includes it. */
#ifndef M2M_STORE_SQLITE_INTERNAL_H
#define M2M_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

sqlite3 *m2m_sqlite_db(m2m_store *st);
/* err = "store PATH: what: SQLite's message"; returns -1. */
int m2m_sqlite_fail(m2m_store *st, m2m_err *err, const char *what);
/* Runs sql (no parameters); -1 with err. */
int m2m_sqlite_exec(m2m_store *st, const char *sql, m2m_err *err);

/* The BSF's tables (sqlite_gba.c): the operations of store.h's m2m_store_gba_* (backend.h). */
int m2m_sqlite_gba_subscriber_add(m2m_store *st, const m2m_gba_subscriber *sub, m2m_err *err);
int m2m_sqlite_gba_subscriber_get(m2m_store *st, const char *impi, m2m_gba_subscriber *out, m2m_err *err);
int m2m_sqlite_gba_subscriber_set_sqn(m2m_store *st, const char *impi, uint64_t sqn, int raise_only,
                                      m2m_err *err);
int m2m_sqlite_gba_subscriber_remove(m2m_store *st, const char *impi, m2m_err *err);
int m2m_sqlite_gba_subscriber_list(m2m_store *st, void (*cb)(const m2m_gba_subscriber *s, void *ctx), void *ctx,
                                   m2m_err *err);
int m2m_sqlite_gba_bootstrap_put(m2m_store *st, const m2m_gba_bootstrap *b, m2m_err *err);
int m2m_sqlite_gba_bootstrap_get(m2m_store *st, const char *btid, int64_t now, m2m_gba_bootstrap *out,
                                 m2m_err *err);
int m2m_sqlite_gba_bootstrap_expire(m2m_store *st, int64_t now, int *removed, m2m_err *err);

#endif
