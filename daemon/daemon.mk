# daemon/: lsmd, the service.
#   $(B)/libdaemon.a    daemon/*.c but main.c (tests of daemon modules link it)
#   $(B)/lsmd           main.o + libdaemon + libshm + liblsm
#   $(B)/lsmd-kp        the same against liblsm-kp.a: the engine with its kill
#                       points (the daemon objects have none; for make stress)
#   asan-lsmd           the ASan+UBSan lsmd in $(ASAN_B) (tests/tests.mk says
#                       which tests attack it)
DAEMON_SRC  := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
DAEMON_OBJ  := $(DAEMON_SRC:%.c=$(B)/obj/%.o)
DAEMON_LIBS := -lnuma -linih -lsystemd -lmicrohttpd
ASAN_B      ?= build/san-address-undefined
ASAN_LSMD   := $(if $(findstring address,$(SAN)),$(abspath $(B))/lsmd,$(abspath $(ASAN_B))/lsmd)

ALL_TARGETS += $(B)/lsmd
PROGRAMS    += $(B)/lsmd $(B)/lsmd-kp
INSTALL_BIN += $(B)/lsmd

$(B)/obj/daemon/%.o: CFLAGS += -Ishm
$(B)/libdaemon.a: $(DAEMON_OBJ)
$(B)/lsmd: $(B)/obj/daemon/main.o $(B)/libdaemon.a $(B)/libshm.a $(B)/liblsm.a
$(B)/lsmd-kp: $(B)/obj/daemon/main.o $(B)/libdaemon.a $(B)/libshm.a $(B)/liblsm-kp.a
$(B)/lsmd $(B)/lsmd-kp: LIBS = $(DAEMON_LIBS) $(LDLIBS)

.PHONY: asan-lsmd
asan-lsmd:
	@$(if $(findstring address,$(SAN)),true,$(MAKE) --no-print-directory SAN=address,undefined COVERAGE= B=$(ASAN_B) $(ASAN_B)/lsmd)

# make install also installs the systemd unit (daemon/lsmd.service, its
# /usr/local paths rewritten to PREFIX and SYSCONFDIR), the sysusers.d
# entry for its user, and an example config when none is there yet.
SYSCONFDIR ?= $(PREFIX)/etc
UNIT_DIR   := $(PREFIX)/lib/systemd/system
.PHONY: install-service uninstall-service
install: install-service
uninstall: uninstall-service
install-service: daemon/lsmd.service daemon/lsmd.sysusers daemon/lsmd.conf
	install -d $(DESTDIR)$(UNIT_DIR) $(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(SYSCONFDIR)/lsmd
	sed -e 's|/usr/local/etc/|$(SYSCONFDIR)/|g' -e 's|/usr/local/bin/|$(PREFIX)/bin/|g' \
	    daemon/lsmd.service > $(DESTDIR)$(UNIT_DIR)/lsmd.service
	chmod 644 $(DESTDIR)$(UNIT_DIR)/lsmd.service
	install -m 644 daemon/lsmd.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/lsmd.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/lsmd/lsmd.conf || \
	    install -m 644 daemon/lsmd.conf $(DESTDIR)$(SYSCONFDIR)/lsmd/lsmd.conf
uninstall-service:
	rm -f $(DESTDIR)$(UNIT_DIR)/lsmd.service $(DESTDIR)$(PREFIX)/lib/sysusers.d/lsmd.conf
