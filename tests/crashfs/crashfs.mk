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
