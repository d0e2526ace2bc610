# mk/man.mk - the man pages (packaging/man/, roff written by hand): installed
# by `make install`; `make man-check` renders each with groff -ww and fails
# on any warning.  tests/integration/79-man.sh also checks them against
# `pgkillguard --help`.

MAN_PAGES := $(wildcard packaging/man/*.[158])

install: install-man
install-man:
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	@set -e; for p in $(MAN_PAGES); do \
	    echo "install -m 0644 $$p $(DESTDIR)$(MANDIR)/man$${p##*.}/"; \
	    install -m 0644 $$p $(DESTDIR)$(MANDIR)/man$${p##*.}/; done

uninstall: uninstall-man
uninstall-man:
	rm -f $(foreach p,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)))

# Pages that are only a `.so` link are rendered in an installed tree (79-man.sh).
man-check:
	@set -e; for p in $(MAN_PAGES); do \
	    grep -q '^\.so ' $$p && continue; \
	    w=$$(groff -ww -man -Tutf8 $$p 2>&1 >/dev/null); \
	    if [ -n "$$w" ]; then echo "$$p:"; echo "$$w"; exit 1; fi; \
	    echo "$$p: no warnings"; done

.PHONY: install-man uninstall-man man-check
