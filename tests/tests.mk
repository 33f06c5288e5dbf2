# tests/: cmocka programs, tests/{unit,crash,integration}/test_X.c -> $(B)/tests/test_X,
# run by make test in the order of TESTS (scripts/run-tests.sh); last, the
# shell test tests/install/test_fresh_clone.sh (a git clone built, installed
# and linked against as a new user would).  Every test
# object sees -Itests/helpers -Ishm -Ilibclient -Idaemon and where the
# programs it starts live (LSMD_BIN, LSMCTL_BIN, LSMD_ASAN_BIN).
#   unit, crash         + tests/helpers; liblsmd, libshm, liblsm; a daemon
#                       module's test also libdaemon, a bench module's libbench
#   test_killpoint, test_checkpoint_crash
#                       against liblsm-kp.a (the engine with its kill points)
#   integration         + harness.o honest.o: start the lsmd of the same build
#                       on a temp dir and real client processes; the attack
#                       tests start the ASan+UBSan lsmd (asan-lsmd)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
CRASH_SRC  := $(wildcard tests/crash/test_*.c)
ITEST_SRC  := $(wildcard tests/integration/test_*.c)
UNIT_BIN   := $(call test_bin,$(UNIT_SRC) $(CRASH_SRC))
ITEST_BIN  := $(call test_bin,$(ITEST_SRC))
DAEMON_UNIT_BIN := $(addprefix $(B)/tests/,test_snapshot_registry test_daemon_config test_uid_quota test_config_keys)
BENCH_UNIT_BIN  := $(filter $(B)/tests/test_bench_%,$(UNIT_BIN))
ATTACK_BIN := $(addprefix $(B)/tests/,test_bad_clients test_snapshot_caps test_admission test_lsmd_multi_get \
                test_big_batch test_admin_auth)
TEST_HELPERS_OBJ  := $(patsubst %.c,$(B)/obj/%.o,$(wildcard tests/helpers/*.c))
ITEST_HELPERS_OBJ := $(B)/obj/tests/integration/harness.o $(B)/obj/tests/integration/honest.o \
                     $(B)/obj/tests/integration/scrape.o

TESTS += $(UNIT_SRC) $(CRASH_SRC) $(ITEST_SRC) tests/install/test_deps_sets.sh \
         tests/install/test_man_completion.sh \
         tests/install/test_fresh_clone.sh
$(B)/tests/test_%: tests/install/test_%.sh
	@mkdir -p $(dir $@)
	install -m 755 $< $@
$(B)/tests/test_man_completion: $(MAN_PAGES) $(B)/lsmctl $(B)/lsmd $(B)/lsmbench

$(B)/obj/tests/%.o: CFLAGS += -Itests/helpers -Ishm -Ilibclient -Idaemon \
	-DLSMD_BIN='"$(abspath $(B))/lsmd"' -DLSMCTL_BIN='"$(abspath $(B))/lsmctl"' \
	-DLSMD_ASAN_BIN='"$(ASAN_LSMD)"' -DLSMD_FAULT_BIN='"$(abspath $(B))/tests/lsmd-fault"'
$(B)/obj/tests/unit/test_bench_%.o: CFLAGS += -Ibench
$(B)/obj/tests/unit/test_killpoint.o: CFLAGS += -DLSM_KILLPOINTS
# test_exports reads the shared libraries' symbol tables.
$(B)/obj/tests/unit/test_exports.o: CFLAGS += -DLIB_DIR='"$(abspath $(B))"'

# What each program links, in link order.
$(call test_bin,$(UNIT_SRC)):  $(B)/tests/%: $(B)/obj/tests/unit/%.o $(TEST_HELPERS_OBJ)
$(B)/tests/test_lsmd_client: $(B)/obj/tests/unit/fake_lsmd.o
$(call test_bin,$(CRASH_SRC)): $(B)/tests/%: $(B)/obj/tests/crash/%.o $(TEST_HELPERS_OBJ)
$(ITEST_BIN): $(B)/tests/%: $(B)/obj/tests/integration/%.o $(ITEST_HELPERS_OBJ) $(TEST_HELPERS_OBJ)
$(DAEMON_UNIT_BIN): $(B)/libdaemon.a
$(BENCH_UNIT_BIN):  $(B)/libbench.a $(B)/libviz.a
$(UNIT_BIN): $(B)/liblsmd.a $(B)/libshm.a
KP_TEST_BIN := $(B)/tests/test_killpoint $(B)/tests/test_checkpoint_crash
$(filter-out $(KP_TEST_BIN),$(UNIT_BIN)): $(B)/liblsm.a
$(KP_TEST_BIN): $(B)/liblsm-kp.a
$(ITEST_BIN): $(B)/liblsmd.a $(B)/liblsm.a

$(UNIT_BIN): private LIBS = -lcmocka $(LDLIBS)
$(DAEMON_UNIT_BIN) $(ITEST_BIN): private LIBS = -lcmocka $(DAEMON_LIBS) $(LDLIBS)
$(BENCH_UNIT_BIN): private LIBS = -lcmocka $(BENCH_LIBS) $(LDLIBS)

$(B)/tests/test_exports: | $(B)/liblsm.so $(B)/liblsmd.so $(B)/public/liblsm.a $(B)/public/liblsmd.a
$(ATTACK_BIN): | asan-lsmd
$(B)/tests/test_admin_auth $(B)/tests/test_daemon_direct_io $(B)/tests/test_options_persist \
  $(B)/tests/test_dump_changes $(B)/tests/test_lsmd_checkpoint: | $(B)/lsmctl
$(B)/tests/test_inspect $(B)/tests/test_repair: | $(B)/lsmctl

# lsmd-fault: lsmd on the engine's fault I/O backend, armed by a trigger
# file (tests/integration/lsmd_fault.c); for test_parked_gets.
PROGRAMS += $(B)/tests/lsmd-fault
$(B)/tests/lsmd-fault: $(B)/obj/daemon/main.o $(B)/obj/tests/integration/lsmd_fault.o \
	$(B)/libdaemon.a $(B)/libshm.a $(B)/liblsm.a
$(B)/tests/lsmd-fault: LIBS = -Wl,--wrap=lsm_open $(DAEMON_LIBS) $(LDLIBS)
$(B)/tests/test_parked_gets: | $(B)/tests/lsmd-fault

# valgrind: the fast unit tests, io=posix (valgrind does not model io_uring).
VALGRIND_TESTS ?= crc32c arena skiplist memtable block bloom batch wal version_edit
ifneq ($(SAN),)
ifneq ($(filter valgrind,$(MAKECMDGOALS)),)
$(error make valgrind needs a build without SAN (valgrind and the sanitizers exclude each other))
endif
endif
.PHONY: valgrind
valgrind: $(VALGRIND_TESTS:%=$(B)/tests/test_%)
	@scripts/valgrind-tests.sh $(B)/tests $(VALGRIND_TESTS)

# test_daemon_signals runs systemd-analyze verify on the unit in the tree.
$(B)/obj/tests/integration/test_daemon_signals.o: CFLAGS += -DLSMD_UNIT_FILE='"$(abspath daemon/lsmd.service)"'
