# mk/completion.mk - bash completion for pgkillguard, installed by
# `make install` (and so by both packages) where bash-completion looks for it.

COMPLETIONDIR ?= $(DATADIR)/bash-completion/completions

install: install-completion
install-completion:
	install -d $(DESTDIR)$(COMPLETIONDIR)
	install -m 0644 packaging/completion/pgkillguard.bash $(DESTDIR)$(COMPLETIONDIR)/pgkillguard

uninstall: uninstall-completion
uninstall-completion:
	rm -f $(DESTDIR)$(COMPLETIONDIR)/pgkillguard

.PHONY: install-completion uninstall-completion
