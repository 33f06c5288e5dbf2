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

ENGINE_SRC := $(wildcard engine/*.c engine/*/*.c)
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

# The version script keeps everything but lsm_* private (engine/liblsm.map).
$(B)/liblsm.so: $(ENGINE_OBJ) engine/liblsm.map
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=engine/liblsm.map -o $@ $(ENGINE_OBJ) $(LDLIBS)

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
	@SAN='$(SAN)' scripts/run-tests.sh $(B)/tests $(TEST_SRC)

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

# engine/errors.c: lsmd_strerror falls back to lsm_strerror for the engine's
# codes, so the client library carries that one engine object.
$(B)/liblsmd.a: $(CLIENT_OBJ) $(SHM_OBJ) $(B)/obj/engine/errors.o
	@rm -f $@
	ar rcs $@ $^

# Only lsmd_* is exported (libclient/liblsmd.map).
$(B)/liblsmd.so: $(CLIENT_OBJ) $(SHM_OBJ) $(B)/obj/engine/errors.o libclient/liblsmd.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,liblsmd.so -Wl,--version-script=libclient/liblsmd.map \
	  -o $@ $(CLIENT_OBJ) $(SHM_OBJ) $(B)/obj/engine/errors.o

$(B)/lsmd.pc:
	@mkdir -p $(B)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: lsmd' 'Description: client library of the lsmd key-value service' \
	  'Version: 0.1' 'Libs: -L$${libdir} -llsmd' 'Cflags: -I$${includedir}' > $@

$(TEST_BIN): $(B)/liblsmd.a $(B)/libshm.a
$(TEST_BIN): LDLIBS := $(B)/liblsmd.a $(B)/libshm.a $(LDLIBS)

# test_exports reads the shared libraries' symbol tables.
$(B)/obj/tests/unit/test_exports.o: CFLAGS += -DLIB_DIR='"$(abspath $(B))"'
$(B)/tests/test_exports: | $(B)/liblsm.so $(B)/liblsmd.so

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
#   build/lsmctl         libclient/lsmctl.c + liblsmd + liblsm + libviz
#   build/libviz.a       libclient/viz/*.c: the compaction-schedule picture,
#                        SVG primitives and stats JSON walker that lsmctl and
#                        lsmbench share (not part of liblsmd)
#   build/tests/test_X   from tests/integration/test_X.c: cmocka programs that
#                        start the lsmd of the same build ($(B)/lsmd) on a temp
#                        dir and real client processes; run by `make test`.
#                        test_bad_clients and test_big_batch always run against an ASan+UBSan
#                        lsmd (build/san-address-undefined/lsmd).
#   make run             build, then lsmd in the foreground, data in ./var
DAEMON_SRC  := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
DAEMON_OBJ  := $(DAEMON_SRC:%.c=$(B)/obj/%.o)
DAEMON_LIBS := -lnuma -linih
ITEST_SRC   := $(wildcard tests/integration/test_*.c)
ITEST_BIN   := $(patsubst %.c,$(B)/tests/%,$(notdir $(ITEST_SRC)))
DUNIT_BIN   := $(B)/tests/test_snapshot_registry $(B)/tests/test_daemon_config \
               $(B)/tests/test_uid_quota
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

VIZ_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard libclient/viz/*.c))
$(B)/libviz.a: $(VIZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/lsmctl: $(B)/obj/libclient/lsmctl.o $(B)/liblsmd.a $(B)/liblsm.a $(B)/libviz.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

ITEST_HELPERS_OBJ := $(B)/obj/tests/integration/harness.o $(B)/obj/tests/integration/honest.o
$(B)/tests/test_%: $(B)/obj/tests/integration/test_%.o $(ITEST_HELPERS_OBJ) $(TEST_HELPERS_OBJ) $(B)/liblsmd.a $(B)/liblsm.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(DAEMON_LIBS) $(LDLIBS)

# Unit tests of daemon modules (tests/unit/test_snapshot_registry.c, ...).
$(DUNIT_BIN): | $(B)/libdaemon.a
$(DUNIT_BIN): LDLIBS := $(B)/libdaemon.a $(B)/liblsmd.a $(B)/libshm.a $(B)/liblsm.a $(DAEMON_LIBS) $(LDLIBS)

# The ASan daemon the bad-client test attacks (built in its own tree).
asan-lsmd:
	@$(if $(findstring address,$(SAN)),true,$(MAKE) --no-print-directory SAN=address,undefined B=$(ASAN_B) $(ASAN_B)/lsmd)
$(B)/tests/test_bad_clients $(B)/tests/test_snapshot_caps $(B)/tests/test_admission \
  $(B)/tests/test_big_batch: | asan-lsmd
$(B)/tests/test_admin_auth: | asan-lsmd $(B)/lsmctl

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

# ---- reliability: kill points, fuzz targets, valgrind (docs/reliability.md) --
#   make KILLPOINTS=1              everything with KILLPOINT() compiled in, into build/kp/
#                                  (-DLSM_KILLPOINTS; its own build tree)
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="wal_reader ..."]
#                                  builds each libFuzzer target (clang,
#                                  ASan+UBSan) into $(B)/fuzz/ and runs it
#                                  (stderr closed: the engine's lines about
#                                  corrupt inputs; crash reports still show)
#   make fuzz-build                only builds them
#   make fuzz-corpus               rewrites the seeds in tests/fuzz/corpus/
#   make valgrind                  the fast unit tests under valgrind
# `make test` also builds
#   $(B)/tests/test_killpoint      against $(B)/liblsm-kp.a: the engine
#                                  compiled again with -DLSM_KILLPOINTS
#   $(B)/fuzz-replay/fuzz_X        each target's LLVMFuzzerTestOneInput with
#                                  a plain main (any compiler, no libFuzzer)
#   $(B)/tests/test_fuzz_replay    replays tests/fuzz/corpus/X/ and
#                                  tests/fuzz/regressions/X/ through them
ifeq ($(KILLPOINTS),1)
CFLAGS += -DLSM_KILLPOINTS
endif

KP_OBJ := $(ENGINE_SRC:%.c=$(B)/obj-kp/%.o)
$(B)/obj-kp/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DLSM_KILLPOINTS -c $< -o $@
$(B)/liblsm-kp.a: $(KP_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(B)/obj/tests/unit/test_killpoint.o: CFLAGS += -DLSM_KILLPOINTS
$(B)/tests/test_killpoint: $(B)/obj/tests/unit/test_killpoint.o $(TEST_HELPERS_OBJ) $(B)/liblsm-kp.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_B       := $(B)/fuzz
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -O1 -g $(WARN) -pthread -D_GNU_SOURCE -MMD -MP -Iengine -Ishm \
                -Itests/fuzz $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_LIB_OBJ := $(ENGINE_SRC:%.c=$(FUZZ_B)/obj/%.o) $(SHM_SRC:%.c=$(FUZZ_B)/obj/%.o) \
                $(FUZZ_B)/obj/tests/fuzz/fuzzkit.o
FUZZ_REPLAY  := $(FUZZ_TARGETS:%=$(B)/fuzz-replay/fuzz_%)

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@
$(FUZZ_B)/fuzz_%: $(FUZZ_B)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

$(B)/obj/tests/fuzz/%.o: CFLAGS += -Itests/fuzz
$(B)/fuzz-replay/fuzz_%: $(B)/obj/tests/fuzz/fuzz_%.o $(B)/obj/tests/fuzz/replay_main.o \
                         $(B)/obj/tests/fuzz/fuzzkit.o $(B)/liblsm.a $(B)/libshm.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/obj/tests/fuzz/test_fuzz_replay.o: CFLAGS += -DFUZZ_SRC_DIR='"$(abspath tests/fuzz)"' \
	-DFUZZ_REPLAY_DIR='"$(abspath $(B))/fuzz-replay"'
# The replay programs are real prerequisites, not order-only: with
# .SECONDARY, a missing order-only one (a new target) was never built.
$(B)/tests/test_fuzz_replay: $(B)/obj/tests/fuzz/test_fuzz_replay.o $(TEST_HELPERS_OBJ) $(FUZZ_REPLAY)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -lcmocka
TEST_SRC += tests/fuzz/test_fuzz_replay.c
test: $(B)/tests/test_fuzz_replay

# Seeds: tests/fuzz/gen_corpus.c writes them with the engine's own writers.
$(B)/fuzz-replay/gen_corpus: $(B)/obj/tests/fuzz/gen_corpus.o $(B)/obj/tests/fuzz/fuzzkit.o \
                             $(B)/liblsm.a $(B)/libshm.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: fuzz fuzz-build fuzz-corpus valgrind
fuzz-corpus: $(B)/fuzz-replay/gen_corpus
	LSMD_LOG_LEVEL=error $< tests/fuzz/corpus
fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_B)/corpus/$$t $(FUZZ_B)/artifacts/$$t; \
	  regs=tests/fuzz/regressions/$$t; [ -d $$regs ] || regs=; \
	  echo "=== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  LSMD_LOG_LEVEL=error nice -n 10 $(FUZZ_B)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	    -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 -close_fd_mask=2 \
	    -artifact_prefix=$(FUZZ_B)/artifacts/$$t/ \
	    $(FUZZ_B)/corpus/$$t tests/fuzz/corpus/$$t $$regs || { \
	    echo "fuzz $$t FAILED: the input is in $(FUZZ_B)/artifacts/$$t/;" \
	         "fix it and keep it in tests/fuzz/regressions/$$t/"; exit 1; }; \
	done

VALGRIND_TESTS ?= crc32c arena skiplist memtable block bloom batch wal version_edit
ifneq ($(SAN),)
ifneq ($(filter valgrind,$(MAKECMDGOALS)),)
$(error make valgrind needs a build without SAN (valgrind and the sanitizers exclude each other))
endif
endif
valgrind: $(VALGRIND_TESTS:%=$(B)/tests/test_%)
	@for t in $(VALGRIND_TESTS); do \
	  echo "=== valgrind test_$$t (io=posix)"; \
	  LSMD_IO=posix LSMD_LOG_LEVEL=error valgrind -q --error-exitcode=1 --leak-check=full \
	    $(B)/tests/test_$$t || { echo "--- valgrind test_$$t FAILED"; exit 1; }; \
	done; echo "=== valgrind: all clean"
# ---- end reliability ----------------------------------------------------------

# ---- lsmbench (bench/) --------------------------------------------------------
#   build/lsmbench       bench/lsmbench.c + build/libbench.a (every bench/*.c but
#                        fillbench.c) + liblsmd + liblsm; -linih; the rocksdb
#                        target (and -lrocksdb) only when /usr/include/rocksdb/c.h
#                        exists (librocksdb-dev); likewise the lmdb target (and
#                        -llmdb) only when /usr/include/lmdb.h exists (liblmdb-dev)
#                        + libviz (libclient/viz/, shared with lsmctl)
#   tests/unit/test_bench_*.c link libbench.a and libviz.a
#   make bench           a short side-by-side comparison, 1,000,000 keys:
#                        embedded, rocksdb and lmdb (if built) and lsmd (if $(B)/lsmd is
#                        built: started on a temp dir and socket, stopped after)
HAVE_ROCKSDB   := $(if $(wildcard /usr/include/rocksdb/c.h),1,)
HAVE_LMDB      := $(if $(wildcard /usr/include/lmdb.h),1,)
BENCH_SRC      := $(filter-out bench/fillbench.c bench/lsmbench.c \
                    $(if $(HAVE_ROCKSDB),,bench/target_rocksdb.c) \
                    $(if $(HAVE_LMDB),,bench/target_lmdb.c),$(wildcard bench/*.c))
BENCH_OBJ      := $(BENCH_SRC:%.c=$(B)/obj/%.o)
BENCH_LIBS     := -linih $(if $(HAVE_ROCKSDB),-lrocksdb) $(if $(HAVE_LMDB),-llmdb)
BENCH_TEST_BIN := $(filter $(B)/tests/test_bench_%,$(TEST_BIN))

$(B)/obj/bench/%.o: CFLAGS += -Ibench -Ilibclient $(if $(HAVE_ROCKSDB),-DLSMBENCH_ROCKSDB) \
	$(if $(HAVE_LMDB),-DLSMBENCH_LMDB)
$(B)/obj/tests/unit/test_bench_%.o: CFLAGS += -Ibench

all: $(B)/lsmbench

$(B)/libbench.a: $(BENCH_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/lsmbench: $(B)/obj/bench/lsmbench.o $(B)/libbench.a $(B)/libviz.a $(B)/liblsmd.a $(B)/liblsm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(BENCH_LIBS) $(LDLIBS)

$(BENCH_TEST_BIN): $(B)/libbench.a $(B)/libviz.a
$(BENCH_TEST_BIN): LDLIBS := $(B)/libbench.a $(B)/libviz.a $(B)/liblsmd.a $(B)/libshm.a $(B)/liblsm.a \
	$(BENCH_LIBS) $(LDLIBS)

# make bench: the six db_bench workloads; fills write BENCH_NUM keys, reads do
# BENCH_READS operations; the daemon gets the same engine settings.
BENCH_NUM   ?= 1000000
BENCH_READS ?= 200000
BENCH_LIST  ?= fillseq,fillrandom,overwrite,readrandom,readseq,seekrandom
BENCH_DB    := --memtable-bytes 64M --cache-bytes 64M --bloom-bits 10
BENCH_FLAGS ?= --num $(BENCH_NUM) --reads $(BENCH_READS) --key-size 16 --value-size 100 \
	--seek-nexts 10 --iodepth 32 $(BENCH_DB) --benchmarks $(BENCH_LIST)

.PHONY: bench
bench: $(B)/lsmbench
	@tmp=$$(mktemp -d /tmp/lsmbench.XXXXXX); pid=; \
	trap '[ -n "$$pid" ] && kill -TERM $$pid 2>/dev/null && wait $$pid; rm -rf $$tmp' EXIT; \
	trap 'exit 130' INT TERM; \
	targets="--target embedded:$$tmp/embedded"; \
	$(if $(HAVE_ROCKSDB),targets="$$targets --target rocksdb:$$tmp/rocksdb";,\
	  echo "make bench: no rocksdb column (install librocksdb-dev and rebuild)";) \
	$(if $(HAVE_LMDB),targets="$$targets --target lmdb:$$tmp/lmdb";,\
	  echo "make bench: no lmdb column (install liblmdb-dev and rebuild)";) \
	if [ -x $(B)/lsmd ]; then \
	  $(B)/lsmd --dir $$tmp/lsmd-db --socket $$tmp/lsmd.sock --memtable-bytes 64M \
	    --block-cache-bytes 64M --bloom-bits-per-key 10 >$$tmp/lsmd.log 2>&1 & pid=$$!; \
	  for i in $$(seq 100); do [ -S $$tmp/lsmd.sock ] && break; sleep 0.1; done; \
	  if [ -S $$tmp/lsmd.sock ]; then targets="$$targets --target lsmd:$$tmp/lsmd.sock"; \
	  else echo "make bench: lsmd did not start, no lsmd column:"; cat $$tmp/lsmd.log; fi; \
	else echo "make bench: no lsmd column ($(B)/lsmd is not built yet)"; fi; \
	echo "$(B)/lsmbench $$targets $(BENCH_FLAGS)"; \
	$(B)/lsmbench $$targets $(BENCH_FLAGS)
# ---- end lsmbench ---------------------------------------------------------------

# ---- stress driver (tests/stress/; docs/reliability.md, "Stress") -------------
#   $(B)/lsmd-kp         lsmd linked with $(B)/liblsm-kp.a: the engine with its
#                        kill points compiled in (engine/base/killpoint.h); the daemon
#                        objects themselves have none, so no second build tree
#   $(B)/stress          the driver: tests/stress/*.c + liblsmd (+ liblsm for
#                        killpoint_names)
#   make stress [DURATION=60] [STRESS_FLAGS="--clients 8 --seed N ..."]
#                        builds both, runs the driver under nice for DURATION
#                        seconds of kill/restart/verify cycles; exits non-zero
#                        on any lost synced write, hole or failed reopen
#   tests/integration/test_stress_smoke.c (make test) runs it for a few cycles;
#   $(B)/tests/test_stress_oracle (make test) checks the oracle on made-up
#   histories
STRESS_SRC   := $(filter-out tests/stress/test_%.c,$(wildcard tests/stress/*.c))
STRESS_OBJ   := $(STRESS_SRC:%.c=$(B)/obj/%.o)
DURATION     ?= 60
STRESS_FLAGS ?=

$(B)/lsmd-kp: $(B)/obj/daemon/main.o $(B)/libdaemon.a $(B)/libshm.a $(B)/liblsm-kp.a
	$(CC) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS) $(LDLIBS)

$(B)/obj/tests/stress/%.o: CFLAGS += -Itests/stress -DSTRESS_LSMD='"$(abspath $(B))/lsmd-kp"'
$(B)/stress: $(STRESS_OBJ) $(B)/liblsmd.a $(B)/liblsm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The oracle's own unit test (tests/stress/test_stress_oracle.c), in make test.
$(B)/tests/test_stress_oracle: $(B)/obj/tests/stress/test_stress_oracle.o \
                               $(B)/obj/tests/stress/oracle.o $(TEST_HELPERS_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka
TEST_SRC += tests/stress/test_stress_oracle.c
test: $(B)/tests/test_stress_oracle

$(B)/obj/tests/integration/test_stress_smoke.o: CFLAGS += \
	-DSTRESS_BIN='"$(abspath $(B))/stress"' -DLSMD_KP_BIN='"$(abspath $(B))/lsmd-kp"'
$(B)/tests/test_stress_smoke: | $(B)/stress $(B)/lsmd-kp

.PHONY: stress
stress: $(B)/stress $(B)/lsmd-kp
	nice -n 10 $(B)/stress --lsmd $(B)/lsmd-kp --duration $(DURATION) $(STRESS_FLAGS)
# ---- end stress driver ----------------------------------------------------------
