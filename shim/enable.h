/*
 * enable.h - `pgkillguard enable`, `disable`, `status` and the internal
 * `__preload-test` (the test process `enable` runs before it writes).
 */
#ifndef PGKG_ENABLE_H
#define PGKG_ENABLE_H

int pgkg_cmd_enable(int argc, char **argv);
int pgkg_cmd_disable(int argc, char **argv);
int pgkg_cmd_status(int argc, char **argv);
int pgkg_preload_test_main(int argc, char **argv);

#endif
