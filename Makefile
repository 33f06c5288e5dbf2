# lsmd: the top Makefile.  Flags, switches and the targets you type live
# here; each component's fragment (*.mk, included below) says what it builds
# and adds its outputs to the lists ALL_TARGETS, TESTS, PROGRAMS, INSTALL_*.
#
#   make                 the libraries, lsmd, lsmctl, lsmbench, fillbench
#   make test [T="test_db ..."]   check-layers, then every cmocka suite (engine
#                        ones once per I/O backend; T= runs only those)
#   make check-layers    include and call rules between layers, no circles
#   make run             lsmd in the foreground, data in ./var
#   make install [PREFIX=/usr/local] [DESTDIR=]   libraries, headers, .pc, bin/
#   make uninstall [PREFIX=...]   removes what install put there
#   make bench           embedded vs rocksdb vs lmdb vs lsmd (scripts/bench.sh)
#   make stress [DURATION=60] [STRESS_FLAGS=...]   kill/restart/verify cycles
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS=...] libFuzzer targets (clang)
#   make fuzz-build      only builds them;  make fuzz-corpus: rewrites the seeds
#   make valgrind        the fast unit tests under valgrind
#   make coverage [T=...]  make test in build/coverage with --coverage, then a
#                        gcovr report in build/coverage/report/
#   make deps            install missing Debian packages (scripts/deps.sh);
#                        deps-check: only when missing (before test and run)
#   make asan-lsmd       the ASan+UBSan lsmd the attack tests start
#   make clean
#
# Switches: SAN=address,undefined | SAN=thread -> build/san-*/;
# KILLPOINTS=1 -> build/kp/ (or build/san-*/kp/); COVERAGE=1 -> build/coverage/.

.DEFAULT_GOAL := all
CC      ?= cc
PREFIX  ?= /usr/local
SAN     ?=
OPT     ?= -O2

comma := ,
ifeq ($(COVERAGE),1)
# at the usual -O2: gcc warns (-Werror) on this tree at -O0, -Og and -O1
B := build/coverage
else ifeq ($(SAN),)
B := build
else
B := build/san-$(subst $(comma),-,$(SAN))
endif
ifeq ($(KILLPOINTS),1)
B := $(B)/kp
endif

WARN    := -Wall -Wextra -Werror -Wstrict-prototypes -Wshadow
CFLAGS  := -std=gnu11 $(OPT) -g $(WARN) -fPIC -pthread -D_GNU_SOURCE -MMD -MP -Iengine $(EXTRA_CFLAGS)
LDLIBS  := -luring -lxxhash -lpthread -lm
ifneq ($(SAN),)
CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
ifneq ($(findstring thread,$(SAN)),)
# gcc warns that TSan does not model standalone fences (shm's seqlock and
# futex handshakes use them); the accesses they order are atomics anyway.
CFLAGS  += -Wno-tsan
endif
endif
ifeq ($(KILLPOINTS),1)
CFLAGS  += -DLSM_KILLPOINTS
endif
ifeq ($(COVERAGE),1)
CFLAGS  += --coverage
LDFLAGS += --coverage
endif

test_bin = $(patsubst %.c,$(B)/tests/%,$(notdir $(1)))

# What the fragments fill in.
ALL_TARGETS     :=      # built by `make`
TESTS           :=      # test sources, in run order: tests/*/test_X.c -> $(B)/tests/test_X
PROGRAMS        :=      # every linked program (the one link rule below)
INSTALL_LIB     :=      # -> $(PREFIX)/lib
INSTALL_INCLUDE :=      # -> $(PREFIX)/include
INSTALL_PC      :=      # -> $(PREFIX)/lib/pkgconfig
INSTALL_BIN     :=      # -> $(PREFIX)/bin

include engine/engine.mk shm/shm.mk libclient/libclient.mk tools/tools.mk daemon/daemon.mk \
        bench/bench.mk tests/tests.mk tests/fuzz/fuzz.mk tests/stress/stress.mk tests/numa/numa.mk

TESTS_RUN     := $(if $(T),$(filter $(patsubst %,\%/%.c,$(T)),$(TESTS)),$(TESTS))
TEST_PROGRAMS := $(call test_bin,$(TESTS))
$(if $(T),$(if $(TESTS_RUN),,$(error T="$(T)": no such test program)))

.PHONY: all test check-layers run install uninstall deps deps-check clean coverage
all: $(ALL_TARGETS)

test: check-layers deps-check all $(call test_bin,$(TESTS_RUN))
	@SAN='$(SAN)' scripts/run-tests.sh $(B)/tests $(TESTS_RUN)

# Reads the includes of the sources and the symbol tables of the engine's
# and daemon's objects (scripts/check-layers.py; known: scripts/layers-known.txt).
check-layers: $(ENGINE_OBJ) $(DAEMON_OBJ) $(B)/obj/daemon/main.o
	@scripts/check-layers.py --self-test
	@scripts/check-layers.py --objdir $(B)/obj

run: deps-check all
	@mkdir -p var
	@echo "lsmd: data in ./var/db; stop with Ctrl-C (SIGINT drains and syncs)"
	exec $(B)/lsmd --dir var/db

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(INSTALL_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(INSTALL_INCLUDE) $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(INSTALL_PC) $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(INSTALL_BIN) $(DESTDIR)$(PREFIX)/bin/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/lib/,$(notdir $(INSTALL_LIB))) \
	  $(addprefix $(DESTDIR)$(PREFIX)/include/,$(notdir $(INSTALL_INCLUDE))) \
	  $(addprefix $(DESTDIR)$(PREFIX)/lib/pkgconfig/,$(notdir $(INSTALL_PC))) \
	  $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(INSTALL_BIN)))

deps:
	@scripts/deps.sh install

deps-check:
	@scripts/deps.sh check-or-install

# One pass of the suite (short sizes) over instrumented objects, then a
# report of the code outside tests/ (counts from earlier runs are dropped).
coverage:
	@scripts/deps.sh check-or-install gcovr
	@find build/coverage -name '*.gcda' -delete 2>/dev/null || true
	LSM_TEST_SHORT=1 $(MAKE) --no-print-directory COVERAGE=1 test T='$(T)'
	@mkdir -p build/coverage/report
	gcovr --root . --exclude 'tests/' --txt build/coverage/report/summary.txt \
	  --html-details build/coverage/report/index.html build/coverage
	@tail -n 3 build/coverage/report/summary.txt; echo "coverage: build/coverage/report/index.html"

clean:
	rm -rf build

# The one compile recipe (obj-kp/: the engine again, with -DLSM_KILLPOINTS),
# the one archive rule (members: the prerequisites a fragment names) and the
# one link rule (objects and archives from the prerequisites, in their order,
# then the program's LIBS: $(LDLIBS) unless its fragment says otherwise).
define compile
@mkdir -p $(dir $@)
$(CC) $(CFLAGS) -c $< -o $@
endef
$(B)/obj/%.o: %.c
	$(compile)
$(B)/obj-kp/%.o: %.c
	$(compile)

$(B)/%.a:
	@rm -f $@
	ar rcs $@ $^

LIBS = $(LDLIBS)
$(PROGRAMS) $(TEST_PROGRAMS):
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LIBS)

-include $(shell find build -name '*.d' 2>/dev/null)
.SECONDARY:
