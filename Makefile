# lsmd — one plain Makefile.  See README.md.
#
#   make                 build/liblsm.a build/liblsm.so build/lsm.pc
#   make test            every cmocka suite (engine ones once per I/O backend)
#   make test SAN=address,undefined | SAN=thread
#   make deps            install missing Debian packages (scripts/deps.sh)
#   make install PREFIX=/usr/local

CC      ?= cc
PREFIX  ?= /usr/local
SAN     ?=
OPT     ?= -O2

comma := ,
ifeq ($(SAN),)
B := build
else
B := build/san-$(subst $(comma),-,$(SAN))
endif

WARN    := -Wall -Wextra -Werror -Wstrict-prototypes -Wshadow
CFLAGS  := -std=gnu11 $(OPT) -g $(WARN) -fPIC -pthread -D_GNU_SOURCE -MMD -MP -Iengine $(EXTRA_CFLAGS)
LDLIBS  := -luring -lxxhash -lpthread -lm
ifneq ($(SAN),)
CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
endif

ENGINE_SRC := $(wildcard engine/*.c)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(B)/obj/%.o)

TEST_HELPERS_SRC := $(wildcard tests/helpers/*.c)
TEST_HELPERS_OBJ := $(TEST_HELPERS_SRC:%.c=$(B)/obj/%.o)
TEST_SRC  := $(wildcard tests/unit/test_*.c tests/crash/test_*.c)
TEST_BIN  := $(patsubst %.c,$(B)/tests/%,$(notdir $(TEST_SRC)))

.PHONY: all test deps deps-check install clean
all: $(B)/liblsm.a $(B)/liblsm.so $(B)/lsm.pc $(B)/fillbench

# A small timing program for the embedded engine (bench/fillbench.c).
$(B)/fillbench: $(B)/obj/bench/fillbench.o $(B)/liblsm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/liblsm.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/liblsm.so: $(ENGINE_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/lsm.pc: scripts/lsm.pc.in
	@mkdir -p $(B)
	sed -e 's|@PREFIX@|$(PREFIX)|g' $< > $@

# Test programs: tests/{unit,crash}/test_X.c -> $(B)/tests/test_X
vpath test_%.c tests/unit tests/crash
$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(TEST_HELPERS_OBJ) $(B)/liblsm.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)
$(B)/tests/test_%: $(B)/obj/tests/crash/test_%.o $(TEST_HELPERS_OBJ) $(B)/liblsm.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

$(B)/obj/tests/%.o: CFLAGS += -Itests/helpers

test: deps-check all $(TEST_BIN)
	@scripts/run-tests.sh $(B)/tests $(TEST_SRC)

deps:
	@scripts/deps.sh install

deps-check:
	@scripts/deps.sh check-or-install

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(B)/liblsm.a $(B)/liblsm.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 engine/lsm.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(B)/lsm.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
.SECONDARY:

# ---- shm transport + client library (shm/, libclient/) --------------------
#   build/libshm.a     internal: the transport (daemon and client share it)
#   build/liblsmd.a    client library: libclient/*.c + the libshm objects
#   build/liblsmd.so   the same, shared;  build/lsmd.pc for pkg-config
# Every test program also links liblsmd.a and libshm.a and sees -Ishm
# -Ilibclient, so a test can include shm/ and libclient/ headers.
SHM_SRC    := $(wildcard shm/*.c)
SHM_OBJ    := $(SHM_SRC:%.c=$(B)/obj/%.o)
# libclient/lsmctl.c is the CLI (its own section below), not library code.
CLIENT_SRC := $(filter-out libclient/lsmctl.c,$(wildcard libclient/*.c))
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(B)/obj/%.o)

all: $(B)/libshm.a $(B)/liblsmd.a $(B)/liblsmd.so $(B)/lsmd.pc

$(B)/obj/shm/%.o $(B)/obj/libclient/%.o: CFLAGS += -Ishm -Ilibclient
$(B)/obj/tests/%.o: CFLAGS += -Ishm -Ilibclient

$(B)/libshm.a: $(SHM_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/liblsmd.a: $(CLIENT_OBJ) $(SHM_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/liblsmd.so: $(CLIENT_OBJ) $(SHM_OBJ)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,liblsmd.so -o $@ $^

$(B)/lsmd.pc:
	@mkdir -p $(B)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: lsmd' 'Description: client library of the lsmd key-value service' \
	  'Version: 0.1' 'Libs: -L$${libdir} -llsmd' 'Cflags: -I$${includedir}' > $@

$(TEST_BIN): $(B)/liblsmd.a $(B)/libshm.a
$(TEST_BIN): LDLIBS := $(B)/liblsmd.a $(B)/libshm.a $(LDLIBS)

.PHONY: install-lsmd
install: install-lsmd
install-lsmd: $(B)/liblsmd.a $(B)/liblsmd.so $(B)/lsmd.pc
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(B)/liblsmd.a $(B)/liblsmd.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 libclient/lsmd.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(B)/lsmd.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
# ---- end shm transport + client library -------------------------------------

# ---- lsmd daemon, lsmctl, service integration tests -------------------------
#   build/lsmd           daemon/*.c (libdaemon.a = all but main.o) + libshm + liblsm
#   build/lsmctl         libclient/lsmctl.c + liblsmd + liblsm
#   build/tests/test_X   from tests/integration/test_X.c: cmocka programs that
#                        start the lsmd of the same build ($(B)/lsmd) on a temp
#                        dir and real client processes; run by `make test`.
#                        test_bad_clients always runs against an ASan+UBSan
#                        lsmd (build/san-address-undefined/lsmd).
#   make run             build, then lsmd in the foreground, data in ./var
DAEMON_SRC  := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
DAEMON_OBJ  := $(DAEMON_SRC:%.c=$(B)/obj/%.o)
DAEMON_LIBS := -lnuma -linih
ITEST_SRC   := $(wildcard tests/integration/test_*.c)
ITEST_BIN   := $(patsubst %.c,$(B)/tests/%,$(notdir $(ITEST_SRC)))
DUNIT_BIN   := $(B)/tests/test_snapshot_registry $(B)/tests/test_daemon_config
ASAN_B      ?= build/san-address-undefined
ASAN_LSMD   := $(if $(findstring address,$(SAN)),$(abspath $(B))/lsmd,$(abspath $(ASAN_B))/lsmd)

.PHONY: run install-daemon asan-lsmd
all: $(B)/lsmd $(B)/lsmctl

$(B)/obj/daemon/%.o: CFLAGS += -Ishm
$(B)/obj/tests/%.o: CFLAGS += -Idaemon -DLSMD_BIN='"$(abspath $(B))/lsmd"' \
	-DLSMCTL_BIN='"$(abspath $(B))/lsmctl"' -DLSMD_ASAN_BIN='"$(ASAN_LSMD)"'

$(B)/libdaemon.a: $(DAEMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/lsmd: $(B)/obj/daemon/main.o $(B)/libdaemon.a $(B)/libshm.a $(B)/liblsm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS) $(LDLIBS)

$(B)/lsmctl: $(B)/obj/libclient/lsmctl.o $(B)/liblsmd.a $(B)/liblsm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

ITEST_HELPERS_OBJ := $(B)/obj/tests/integration/harness.o
$(B)/tests/test_%: $(B)/obj/tests/integration/test_%.o $(ITEST_HELPERS_OBJ) $(TEST_HELPERS_OBJ) $(B)/liblsmd.a $(B)/liblsm.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

# Unit tests of daemon modules (tests/unit/test_snapshot_registry.c, ...).
$(DUNIT_BIN): | $(B)/libdaemon.a
$(DUNIT_BIN): LDLIBS := $(B)/libdaemon.a $(B)/liblsmd.a $(B)/libshm.a $(B)/liblsm.a $(DAEMON_LIBS) $(LDLIBS)

# The ASan daemon the bad-client test attacks (built in its own tree).
asan-lsmd:
	@$(if $(findstring address,$(SAN)),true,$(MAKE) --no-print-directory SAN=address,undefined B=$(ASAN_B) $(ASAN_B)/lsmd)
$(B)/tests/test_bad_clients: | asan-lsmd

TEST_SRC += $(ITEST_SRC)
test: $(ITEST_BIN) $(B)/lsmd $(B)/lsmctl

run: deps-check all
	@mkdir -p var
	@echo "lsmd: data in ./var/db; stop with Ctrl-C (SIGINT drains and syncs)"
	exec $(B)/lsmd --dir var/db

install: install-daemon
install-daemon: $(B)/lsmd $(B)/lsmctl
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(B)/lsmd $(B)/lsmctl $(DESTDIR)$(PREFIX)/bin/
# ---- end lsmd daemon, lsmctl, service integration tests ----------------------
