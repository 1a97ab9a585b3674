/* SPDX-License-Identifier: Apache-2.0 */
/* Reading keys for `enrol psk` and `keyid` from a file or standard input; see key_input.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/key_input.h"
#include "util/file.h"

/* The longest key (M2M_SECRET_MAX octets) as hex, with room for white space around it. */
#define KEY_LINE_MAX (2 * M2M_SECRET_MAX + 32)

int cli_key_from_file(m2m_secret *key, const char *opt, const char *path, m2m_err *err)
{
    char what[PATH_MAX + 32];
    m2m_err e = {0};
    m2m_file_buf f;
    int rc = -1;

    m2m_secret_clear(key);
    if (m2m_file_read(path, M2M_SMALL_FILE_MAX, 0, &f, &e) != 0)
        return m2m_fail(err, e.code, "%s %s", opt, e.msg); /* e.msg starts with the path */
    snprintf(what, sizeof what, "%s %s", opt, path);
    if (strlen((const char *)f.data) != f.len)
        m2m_fail(err, M2M_E_PARSE, "%s: holds a NUL octet; it should hold one key in hex", what);
    else
        rc = m2m_secret_from_hex(key, (const char *)f.data, what, err);
    m2m_file_buf_free(&f);
    return rc;
}

/* The first line of standard input into line (cap octets, NUL-terminated, without the newline); the caller wipes
 * it. read(2), not stdio, so that no copy stays behind in a stdio buffer. Not util/file.h's m2m_fd_read, which
 * reads to the end: a person typing a key ends it with Enter, not with Ctrl-D. */
static int stdin_line(char *line, size_t cap, const char *what, const char *holds, m2m_err *err)
{
    size_t n = 0, max = cap - 1;
    int eol = 0;

    while (n < max && !eol) {
        ssize_t got = read(STDIN_FILENO, line + n, max - n);
        char *nl;
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return m2m_fail(err, M2M_E_IO, "%s: %s", what, strerror(errno));
        if (got == 0)
            break;
        nl = memchr(line + n, '\n', (size_t)got);
        if (nl != NULL) {
            n = (size_t)(nl - line);
            eol = 1;
        } else {
            n += (size_t)got;
        }
    }
    line[n] = '\0';
    if (!eol && n == max)
        return m2m_fail(err, M2M_E_PARSE, "%s: the first line is longer than %zu characters; it should hold %s",
                        what, max, holds);
    if (strlen(line) != n)
        return m2m_fail(err, M2M_E_PARSE, "%s: holds a NUL octet; it should hold %s", what, holds);
    return 0;
}

/* One line of hex from standard input. */
static int key_from_stdin(m2m_secret *key, const char *opt, m2m_err *err)
{
    char line[KEY_LINE_MAX + 1], what[64];
    int rc;

    m2m_secret_clear(key);
    snprintf(what, sizeof what, "%s - (standard input)", opt);
    rc = stdin_line(line, sizeof line, what, "one key in hex", err);
    if (rc == 0)
        rc = m2m_secret_from_hex(key, line, what, err);
    m2m_wipe(line, sizeof line);
    return rc;
}

int cli_token_input(char *out, size_t cap, const char *opt, const char *value, m2m_err *err)
{
    char what[PATH_MAX + 32];
    unsigned char *buf = NULL;
    size_t len = 0, start = 0, size = 0;
    m2m_file_buf f = {0};
    int rc = -1;

    out[0] = '\0';
    snprintf(what, sizeof what, "%s %s", opt, strcmp(value, "-") == 0 ? "- (standard input)" : value);
    if (strcmp(value, "-") == 0) {
        if ((buf = calloc(1, size = cap + 1)) == NULL)
            return m2m_fail(err, M2M_E_NOMEM, "out of memory");
        if (stdin_line((char *)buf, cap + 1, what, "one token", err) != 0)
            goto done;
        len = strlen((char *)buf);
    } else {
        m2m_err e = {0};
        if (m2m_file_read(value, M2M_SMALL_FILE_MAX, 0, &f, &e) != 0)
            return m2m_fail(err, e.code, "%s %s", opt, e.msg);
        buf = f.data, len = f.len, size = len + 1; /* freed below, wiped as any buffer of this function */
        if (strlen((const char *)buf) != len) {
            m2m_fail(err, M2M_E_PARSE, "%s: holds a NUL octet; it should hold one token", what);
            goto done;
        }
    }
    while (start < len && isspace(buf[start]))
        start++;
    while (len > start && isspace(buf[len - 1]))
        len--;
    if (len == start || len - start >= cap || memchr(buf + start, '\n', len - start) != NULL) {
        m2m_fail(err, M2M_E_PARSE, "%s: should hold one token on one line (at most %zu characters)", what, cap - 1);
        goto done;
    }
    memcpy(out, buf + start, len - start);
    out[len - start] = '\0';
    rc = 0;
done:
    if (buf != NULL) {
        m2m_wipe(buf, size);
        free(buf);
    }
    return rc;
}

int cli_key_from_arg(m2m_secret *key, const char *opt, const char *file_opt, char *value, m2m_err *err)
{
    int rc;
    if (strcmp(value, "-") == 0)
        return key_from_stdin(key, opt, err);
    fprintf(stderr, "m2mattach: warning: a key on the command line is visible to other users in ps and shell "
                    "history; use %s FILE or %s -\n", file_opt, opt);
    rc = m2m_secret_from_hex(key, value, opt, err);
    /* Too late for whoever looked already, but the rest of this process's life (and a core dump) is spared. */
    m2m_wipe(value, strlen(value));
    return rc;
}
