# mk/package.mk - `make deb`, `make rpm` and the guarded-account script.
# Included by the Makefile; see packaging/README.md.

SBINDIR ?= $(PREFIX)/sbin

# The guarded-account script and its man page go with `make install`.
install: install-account
install-account:
	install -d $(DESTDIR)$(SBINDIR)
	@mkdir -p $(B)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    packaging/pgkillguard-account.in >$(B)/pgkillguard-account
	install -m 0755 $(B)/pgkillguard-account $(DESTDIR)$(SBINDIR)/pgkillguard-account

uninstall: uninstall-account
uninstall-account:
	rm -f $(DESTDIR)$(SBINDIR)/pgkillguard-account

# Build tools for the packages (debhelper, lintian, rpm, groff, ...), installed
# on Debian when missing and run as root; see packaging/deps.sh.
package-deps:
	sh packaging/deps.sh

# Package builds happen outside build/: the Makefile includes every build/**/*.d,
# and a staged tree has etc/pgkillguard/policy.d.  One directory per tree.
PKG_DIR   = $(or $(TMPDIR),/tmp)/pgkillguard-pkg.$(shell printf %s '$(CURDIR)' | cksum | cut -d' ' -f1)
DEB_SRC   = $(PKG_DIR)/deb/pgkillguard-$(VERSION)
RPM_TOP   = $(PKG_DIR)/rpm

# A copy of the tree without build/ and .git, for the package builds.
define pkg_copy_tree
	rm -rf $(1) && mkdir -p $(1)
	tar --exclude=./build --exclude=./.git --exclude=./debian -cf - . | tar -xf - -C $(1)
endef

# dpkg-buildpackage -b in a copy of the tree, packaging/debian as ./debian;
# the .deb lands in build/.
deb: package-deps
	@v=$$(dpkg-parsechangelog -l packaging/debian/changelog -S Version); \
	case $$v in $(VERSION)-*) ;; *) echo "packaging/debian/changelog says $$v, the Makefile $(VERSION)" >&2; exit 1 ;; esac
	rm -rf $(PKG_DIR)/deb
	$(call pkg_copy_tree,$(DEB_SRC))
	cp -a packaging/debian $(DEB_SRC)/debian
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc
	cp $(PKG_DIR)/deb/pgkillguard_$(VERSION)-*.deb $(B)/
	@ls -1 $(B)/pgkillguard_$(VERSION)-*.deb

# rpmbuild -bb from a tarball of the tree; the .rpm lands in build/.
# debuginfo is off here (Debian's rpm has no find-debuginfo); %check runs.
deb-lintian: deb
	lintian --fail-on error $(B)/pgkillguard_$(VERSION)-*_$$(dpkg --print-architecture).deb

rpm: package-deps
	rm -rf $(RPM_TOP)
	$(call pkg_copy_tree,$(RPM_TOP)/src/pgkillguard-$(VERSION))
	mkdir -p $(RPM_TOP)/SOURCES
	tar -C $(RPM_TOP)/src -czf $(RPM_TOP)/SOURCES/pgkillguard-$(VERSION).tar.gz pgkillguard-$(VERSION)
	rpmbuild -bb --nodeps --define '_topdir $(abspath $(RPM_TOP))' \
	    --define 'debug_package %{nil}' --define 'pgkg_version $(VERSION)' \
	    packaging/rpm/pgkillguard.spec
	cp $(RPM_TOP)/RPMS/*/pgkillguard-$(VERSION)-*.rpm $(B)/
	@ls -1 $(B)/pgkillguard-$(VERSION)-*.rpm

clean: clean-packages
clean-packages:
	rm -rf $(PKG_DIR)

.PHONY: install-account uninstall-account package-deps deb deb-lintian rpm \
	clean-packages
