/* SPDX-License-Identifier: Apache-2.0 */
/* Command-line values shared by the subcommands: one reading of a number, a duration and a size each, with an
 * error line that names the command, the option and the value. 0, or -1 after printing why. */
#ifndef M2M_CLI_ARGS_H
#define M2M_CLI_ARGS_H

#include <stdint.h>

/* a whole number from min to max */
int cli_int(const char *cmd, const char *opt, const char *s, int min, int max, int *out);
/* "90", "30s", "15m", "12h", "7d" -> seconds, 1 .. max_days days */
int cli_duration(const char *cmd, const char *opt, const char *s, int64_t max_days, int64_t *out);
/* "65536", "64k", "16M", "1G" -> bytes, 0 .. 1 TiB */
int cli_size(const char *cmd, const char *opt, const char *s, long long *out);

#endif
