# tests/crashfs/: crash consistency on a real file system (dm-log-writes).
#   $(B)/replay-log      lists a dm-log-writes log and replays it onto a
#                        device or image up to an entry (tests/crashfs/
#                        log_writes.h: the log's layout)
#   test_log_writes      (make test) the reader and replay-log on logs laid
#                        out as the kernel's target writes them
CRASHFS_OBJ := $(B)/obj/tests/crashfs/log_writes.o

TESTS    += tests/crashfs/test_log_writes.c
PROGRAMS += $(B)/replay-log

$(B)/obj/tests/crashfs/%.o: CFLAGS += -Itests/crashfs -DREPLAY_LOG_BIN='"$(abspath $(B))/replay-log"'
$(B)/replay-log: $(B)/obj/tests/crashfs/replay_log.o $(CRASHFS_OBJ)
$(B)/replay-log: private LIBS =

$(B)/tests/test_log_writes: $(B)/obj/tests/crashfs/test_log_writes.o $(CRASHFS_OBJ) \
                            $(TEST_HELPERS_OBJ) | $(B)/replay-log
$(B)/tests/test_log_writes: private LIBS = -lcmocka

#   $(B)/tests/crashfs_guest   runs inside the guest: the workload on ext4
#                        under dm-log-writes, then the check at each replay
#                        point (tests/crashfs/crashfs_guest.c)
#   $(B)/tests/test_crashfs    the host side, in make test: boots the guest
#                        (tests/crashfs/guest.sh) and reads its verdict; exit
#                        77 with the reason when the guest cannot run here
#   make test-crashfs [LSM_CRASHFS_POINTS=0]   only that (0: every point)
CRASHFS_GUEST := $(B)/tests/crashfs_guest

TESTS    += tests/crashfs/test_crashfs.c
PROGRAMS += $(CRASHFS_GUEST)

$(CRASHFS_GUEST): $(B)/obj/tests/crashfs/crashfs_guest.o $(TEST_HELPERS_OBJ) $(B)/liblsmd.a \
	$(B)/liblsm.a
$(CRASHFS_GUEST): private LIBS = -lcmocka $(LDLIBS)

$(B)/tests/test_crashfs: $(B)/obj/tests/crashfs/test_crashfs.o $(TEST_HELPERS_OBJ)
$(B)/tests/test_crashfs: private LIBS = -lcmocka
$(B)/tests/test_crashfs: | $(CRASHFS_GUEST) $(B)/replay-log $(B)/lsmd
$(B)/obj/tests/crashfs/test_crashfs.o: CFLAGS += \
	-DCRASHFS_GUEST_SH='"$(abspath tests/crashfs/guest.sh)"' \
	-DCRASHFS_GUEST_BIN='"$(abspath $(CRASHFS_GUEST))"'

.PHONY: test-crashfs
test-crashfs: $(B)/tests/test_crashfs
	$(B)/tests/test_crashfs
