/*
 * shellmain.c - pgkillguard-shell: a login shell for guarded accounts.
 *
 * A program of its own (not a name of `pgkillguard`) because it is the one
 * an administrator may install setuid root: it does nothing but start the
 * configured shell under the enforced guard.  See shell.c.
 */
#include "cli.h"

int main(int argc, char **argv)
{
	return pgkg_login_shell(argc, argv);
}
