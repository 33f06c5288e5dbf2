# shm/: the shared-memory transport the daemon and the client library share.
#   $(B)/libshm.a       internal; sources see -Ishm -Ilibclient
SHM_SRC := $(wildcard shm/*.c)
SHM_OBJ := $(SHM_SRC:%.c=$(B)/obj/%.o)

ALL_TARGETS += $(B)/libshm.a

$(B)/libshm.a: $(SHM_OBJ)
$(B)/obj/shm/%.o: CFLAGS += -Ishm -Ilibclient
