/*
 * cli.h - the pgkillguard command: shared helpers and subcommands.
 */
#ifndef PGKG_CLI_H
#define PGKG_CLI_H

#include <stdnoreturn.h>

#define PGKG_PRINTF(a, b) __attribute__((format(printf, a, b)))

noreturn void die(const char *fmt, ...) PGKG_PRINTF(1, 2);
noreturn void die_errno(const char *fmt, ...) PGKG_PRINTF(1, 2);
void pgkg_warn(const char *fmt, ...) PGKG_PRINTF(1, 2);

int pgkg_cmd_explain(int argc, char **argv);
int pgkg_cmd_check(int argc, char **argv);
int pgkg_cmd_force_kill(int argc, char **argv);
int pgkg_helper_main(int argc, char **argv);
int pgkg_login_shell(int argc, char **argv);

#endif
