# lsmd: the top Makefile.  Flags, switches and the targets you type live
# here; each component's fragment (*.mk, included below) says what it builds
# and adds its outputs to the lists ALL_TARGETS, TESTS, PROGRAMS, INSTALL_*.
#
#   make                 the libraries, lsmd, lsmctl, lsmbench, fillbench
#   make test [T="test_db ..."]   check-layers, then every cmocka suite (engine
#                        ones once per I/O backend; T= runs only those)
#   make check-layers    include and call rules between layers, no circles
#   make run             lsmd in the foreground, data in ./var
#   make install [PREFIX=/usr/local] [DESTDIR=]   libraries, headers, .pc, bin/,
#                        man pages, bash completion
#   make uninstall [PREFIX=...]   removes what install put there
#   make bench           embedded vs rocksdb vs lmdb vs lsmd (scripts/bench.sh)
#   make bench-build     only builds lsmbench (with the bench packages)
#   make test-numa       NUMA placement in a QEMU guest (tests/numa/numa.mk)
#   make test-crashfs    crash consistency on ext4 with dm-log-writes, in a QEMU
#                        guest (tests/crashfs/crashfs.mk)
#   make stress [DURATION=60] [STRESS_FLAGS=...]   kill/restart/verify cycles
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS=...] libFuzzer targets (clang)
#   make fuzz-build      only builds them;  make fuzz-corpus: rewrites the seeds
#   make valgrind        the fast unit tests under valgrind
#   make coverage [T=...]  make test in build/coverage with --coverage, then a
#                        gcovr report in build/coverage/report/
#   make deps            install missing Debian packages (scripts/deps.sh);
#                        run, test and bench install their own set first
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
# The release, read from engine/lsm.h (the one place it is written): the .pc
# files' Version and the shared libraries' names derive from it.
LSM_VERSION   := $(shell sed -n 's/^\#define LSM_VERSION "\(.*\)"/\1/p' engine/lsm.h)
LSM_SOVERSION := $(firstword $(subst ., ,$(LSM_VERSION)))
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

test_bin = $(patsubst %.sh,$(B)/tests/%,$(patsubst %.c,$(B)/tests/%,$(notdir $(1))))

# What the fragments fill in.
ALL_TARGETS     :=      # built by `make`
TESTS           :=      # test sources, in run order: tests/*/test_X.c (or .sh) -> $(B)/tests/test_X
PROGRAMS        :=      # every linked program (the one link rule below)
INSTALL_LIB     :=      # -> $(PREFIX)/lib
INSTALL_INCLUDE :=      # -> $(PREFIX)/include
INSTALL_PC      :=      # -> $(PREFIX)/lib/pkgconfig
INSTALL_BIN     :=      # -> $(PREFIX)/bin
INSTALL_SO      :=      # shared libraries (lib/libX.so.VERSION and its two links)
INSTALL_MAN     :=      # -> $(PREFIX)/share/man/manN
INSTALL_COMPLETION :=   # -> $(PREFIX)/share/bash-completion/completions

include engine/engine.mk shm/shm.mk libclient/libclient.mk tools/tools.mk daemon/daemon.mk \
        bench/bench.mk man/man.mk tests/tests.mk tests/fuzz/fuzz.mk tests/stress/stress.mk \
        tests/crashfs/crashfs.mk tests/numa/numa.mk

TESTS_RUN     := $(if $(T),$(filter $(patsubst %,\%/%.c,$(T)) $(patsubst %,\%/%.sh,$(T)),$(TESTS)),$(TESTS))
TEST_PROGRAMS := $(call test_bin,$(filter %.c,$(TESTS)))
$(if $(T),$(if $(TESTS_RUN),,$(error T="$(T)": no such test program)))

.PHONY: all test test-now check-layers run install uninstall deps deps-check clean coverage
all: $(ALL_TARGETS)

# Feature tests (bench.mk's HAVE_ROCKSDB, ...) are read when make starts, so
# a target that installs packages first runs a second make for the rest: it
# sees what deps.sh has just installed.
# DEPS_SH: tests/install/test_fresh_clone.sh puts a stand-in there.
SUBMAKE := $(MAKE) --no-print-directory
DEPS_SH ?= scripts/deps.sh

test:
	@$(DEPS_SH) check-or-install test
	@$(SUBMAKE) test-now
test-now: check-layers all $(call test_bin,$(TESTS_RUN))
	@SAN='$(SAN)' scripts/run-tests.sh $(B)/tests $(TESTS_RUN)

# Reads the includes of the sources and the symbol tables of the engine's
# and daemon's objects (scripts/check-layers.py; known: scripts/layers-known.txt).
check-layers: $(ENGINE_OBJ) $(DAEMON_OBJ) $(B)/obj/daemon/main.o
	@scripts/check-layers.py --self-test
	@scripts/check-layers.py --objdir $(B)/obj

# Only what building and running lsmd needs (deps.sh's run set): no clang,
# no RocksDB.
run:
	@$(DEPS_SH) check-or-install run
	@$(SUBMAKE) all
	@mkdir -p var
	@echo "lsmd: data in ./var/db; stop with Ctrl-C (SIGINT drains and syncs)"
	exec $(B)/lsmd --dir var/db

# The .pc files are rewritten for this PREFIX (a plain `make` wrote the one
# it was given); each shared library goes in as libX.so.VERSION with the
# links libX.so.MAJOR (its SONAME, what programs load) and libX.so (-lX).
# The loader's cache learns of new libraries in /usr/local/lib (root, a real
# install only: DESTDIR is a staging tree).
LDCONFIG = @if [ -z '$(DESTDIR)' ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi
INSTALL_DIRS := lib lib/pkgconfig include bin share/man/man1 share/man/man3 share/man/man8 \
                share/bash-completion/completions
install: all
	install -d $(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALL_DIRS))
	install -m 644 $(INSTALL_LIB) $(DESTDIR)$(PREFIX)/lib/
	for so in $(INSTALL_SO); do \
	  install -m 755 $(B)/$$so.$(LSM_VERSION) $(DESTDIR)$(PREFIX)/lib/ && \
	  ln -sf $$so.$(LSM_VERSION) $(DESTDIR)$(PREFIX)/lib/$$so.$(LSM_SOVERSION) && \
	  ln -sf $$so.$(LSM_SOVERSION) $(DESTDIR)$(PREFIX)/lib/$$so || exit 1; done
	install -m 644 $(INSTALL_INCLUDE) $(DESTDIR)$(PREFIX)/include/
	for pc in $(INSTALL_PC); do \
	  sed -e 's|^prefix=.*|prefix=$(PREFIX)|' $$pc > $(DESTDIR)$(PREFIX)/lib/pkgconfig/$${pc##*/} || exit 1; done
	install -m 755 $(INSTALL_BIN) $(DESTDIR)$(PREFIX)/bin/
	for m in $(INSTALL_MAN); do \
	  install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/ || exit 1; done
	install -m 644 $(INSTALL_COMPLETION) $(DESTDIR)$(PREFIX)/share/bash-completion/completions/
	$(LDCONFIG)

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/lib/,$(notdir $(INSTALL_LIB))) \
	  $(foreach so,$(INSTALL_SO),$(foreach v,.$(LSM_VERSION) .$(LSM_SOVERSION) '',$(DESTDIR)$(PREFIX)/lib/$(so)$(v))) \
	  $(addprefix $(DESTDIR)$(PREFIX)/include/,$(notdir $(INSTALL_INCLUDE))) \
	  $(addprefix $(DESTDIR)$(PREFIX)/lib/pkgconfig/,$(notdir $(INSTALL_PC))) \
	  $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(INSTALL_BIN))) \
	  $(foreach m,$(INSTALL_MAN),$(DESTDIR)$(PREFIX)/share/man/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
	  $(addprefix $(DESTDIR)$(PREFIX)/share/bash-completion/completions/,$(notdir $(INSTALL_COMPLETION)))
	$(LDCONFIG)

deps:
	@scripts/deps.sh install

# Every package make test needs (other targets name their own set).
deps-check:
	@$(DEPS_SH) check-or-install test

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

# The installed static archives ($(B)/public/): the members linked into one
# relocatable object whose symbols are all made local but the API's
# ($(API_PREFIX)*), so an application's own arena_new or histogram_init
# does not clash with the library's.  (The in-tree archives above keep the
# internal names: tests and tools call them.)
$(B)/public/%.a:
	@mkdir -p $(dir $@)
	$(LD) -r -o $(@:.a=.o) $(filter %.o,$^)
	objcopy --wildcard --keep-global-symbol='$(API_PREFIX)*' $(@:.a=.o)
	@rm -f $@
	ar rcs $@ $(@:.a=.o)

# The pkg-config files, one template (scripts/lsm.pc.in) for both: each
# fragment sets PC_* for its file.  make install rewrites the prefix.
$(B)/%.pc: scripts/lsm.pc.in engine/lsm.h
	@mkdir -p $(B)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@NAME@|$(PC_NAME)|' -e 's|@VERSION@|$(LSM_VERSION)|' \
	  -e 's|@DESCRIPTION@|$(PC_DESCRIPTION)|' -e 's|@REQUIRES_PRIVATE@|$(PC_REQUIRES_PRIVATE)|' \
	  -e 's|@LIBS_PRIVATE@|$(PC_LIBS_PRIVATE)|' $< > $@

# A shared library: $(B)/libX.so.VERSION (its fragment's link rule; SONAME
# libX.so.MAJOR), then the links libX.so.MAJOR and libX.so beside it.
$(B)/%.so: $(B)/%.so.$(LSM_VERSION)
	ln -sf $(notdir $<) $(B)/$*.so.$(LSM_SOVERSION)
	ln -sf $*.so.$(LSM_SOVERSION) $@

LIBS = $(LDLIBS)
$(PROGRAMS) $(TEST_PROGRAMS):
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LIBS)

-include $(shell find build -name '*.d' 2>/dev/null)
.SECONDARY:
