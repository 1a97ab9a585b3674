/* SPDX-License-Identifier: Apache-2.0 */
/* Keys for the CLI, kept off the command line: ps, /proc/PID/cmdline and shell history would show a key given
 * there to anyone on the machine. A key comes from a file (hex) or from one line of standard input ("-"). */
#ifndef M2M_CLI_KEY_INPUT_H
#define M2M_CLI_KEY_INPUT_H

#include "crypto/secret.h"
#include "m2mattach/error.h"

/* Reads the hex key held in path (white space around it ignored) with the bounded, wiping file reader. Errors
 * name opt and the file and never show any character of its content. */
int cli_key_from_file(m2m_secret *key, const char *opt, const char *path, m2m_err *err);
/* The value of a key option: "-" reads one line of hex from standard input. Anything else is taken as the key
 * itself, in hex, as before; that prints one warning on stderr naming file_opt and "opt -" instead, and the
 * argument is wiped in place once decoded (value points into argv). */
int cli_key_from_arg(m2m_secret *key, const char *opt, const char *file_opt, char *value, m2m_err *err);
/* An identity token (or any one-line secret) from a file or, for "-", from one line of standard input, white space
 * around it removed, into out (cap octets). Errors name opt and the file, never its content. */
int cli_token_input(char *out, size_t cap, const char *opt, const char *value, m2m_err *err);

#endif
