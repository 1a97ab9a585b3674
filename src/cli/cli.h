/* SPDX-License-Identifier: Apache-2.0 */
/* Subcommands of the m2mattach binary. Each takes the arguments after its own name (argv[0] is the subcommand
 * name, as for getopt) and returns the process exit status: 0 success, 1 refused/failed, 2 usage error. */
#ifndef M2M_CLI_H
#define M2M_CLI_H

int cmd_keyid(int argc, char **argv);
int cmd_registrar(int argc, char **argv);
int cmd_enrol(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_request(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_pki(int argc, char **argv);
int cmd_bsf(int argc, char **argv);
int cmd_briefing(int argc, char **argv);

#endif
