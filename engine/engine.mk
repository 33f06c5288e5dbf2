# engine/: the embedded engine, liblsm (public header engine/lsm.h).
#   $(B)/liblsm.a, $(B)/liblsm.so  every engine/*.c and engine/*/*.c; the .so
#                       (liblsm.so.VERSION, SONAME liblsm.so.MAJOR) exports
#                       lsm_* only (engine/liblsm.map); liblsm.a keeps the
#                       internal names for the tree's tests and tools
#   $(B)/public/liblsm.a  the installed archive: lsm_* only (Makefile)
#   $(B)/lsm.pc         pkg-config file, from scripts/lsm.pc.in
#   $(B)/liblsm-kp.a    the engine again with -DLSM_KILLPOINTS, in $(B)/obj-kp/
#                       (for test_killpoint and lsmd-kp)
ENGINE_SRC := $(wildcard engine/*.c engine/*/*.c)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(B)/obj/%.o)
KP_OBJ     := $(ENGINE_SRC:%.c=$(B)/obj-kp/%.o)

ALL_TARGETS     += $(B)/liblsm.a $(B)/liblsm.so $(B)/public/liblsm.a $(B)/lsm.pc
INSTALL_LIB     += $(B)/public/liblsm.a
INSTALL_SO      += liblsm.so
INSTALL_INCLUDE += engine/lsm.h
INSTALL_PC      += $(B)/lsm.pc

$(B)/liblsm.a: $(ENGINE_OBJ)
$(B)/public/liblsm.a: $(ENGINE_OBJ)
$(B)/public/liblsm.a: API_PREFIX = lsm_
$(B)/liblsm-kp.a: $(KP_OBJ)
$(B)/obj-kp/%.o: CFLAGS += -DLSM_KILLPOINTS

$(B)/liblsm.so.$(LSM_VERSION): $(ENGINE_OBJ) engine/liblsm.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,liblsm.so.$(LSM_SOVERSION) \
	  -Wl,--version-script=engine/liblsm.map -o $@ $(ENGINE_OBJ) $(LDLIBS)

$(B)/lsm.pc: PC_NAME = lsm
$(B)/lsm.pc: PC_DESCRIPTION = the lsmd log-structured merge tree storage engine
$(B)/lsm.pc: PC_LIBS_PRIVATE = -luring -lxxhash -lpthread -lm
