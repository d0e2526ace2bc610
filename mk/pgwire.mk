# mk/pgwire.mk - the rewrite speaks the PostgreSQL protocol itself on the
# common path (shim/pgwire.c) and loads libpq only when it must, so neither
# program pays for libpq and its ~20 libraries at start (see BENCHMARKS.md).
# To be folded into SUP_SRC in the Makefile.
$(B)/pgkillguard $(B)/pgkillguard-shell: $(B)/shim/pgwire.o
