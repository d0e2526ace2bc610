# The attacker programs of the enforced guard (tests/attack/, issue 9):
# built for `make check`, driven by tests/integration/72-attacks.sh.

$(B)/tests/attack: tests/attack/attack.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS) -lpthread

# The supervisor's own credentials after it gives up root: the real
# pgkg_drop_privileges() and pgkg_act_as(), then attempts on root's processes.
$(B)/tests/dropcheck: tests/attack/dropcheck.c $(B)/shim/actas.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< $(B)/shim/actas.o $(CORE_OBJ) $(LDFLAGS) -lpthread


# The red-team review's attacker programs (tests/attack/r1.c, R1-NOTES.md),
# driven by tests/integration/71-attacks-r1.sh.
$(B)/tests/r1: tests/attack/r1.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -o $@ $< $(LDFLAGS) -lpthread

# The second review's attacker programs (tests/attack/r2.c, R2-NOTES.md),
# driven by tests/integration/71-attacks-r2.sh.
$(B)/tests/r2: tests/attack/r2.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -o $@ $< $(LDFLAGS) -lpthread
