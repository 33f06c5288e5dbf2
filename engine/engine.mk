# engine/: the embedded engine, liblsm (public header engine/lsm.h).
#   $(B)/liblsm.a, $(B)/liblsm.so  every engine/*.c and engine/*/*.c; the .so
#                       exports lsm_* only (engine/liblsm.map)
#   $(B)/lsm.pc         pkg-config file, from scripts/lsm.pc.in
#   $(B)/liblsm-kp.a    the engine again with -DLSM_KILLPOINTS, in $(B)/obj-kp/
#                       (for test_killpoint and lsmd-kp)
ENGINE_SRC := $(wildcard engine/*.c engine/*/*.c)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(B)/obj/%.o)
KP_OBJ     := $(ENGINE_SRC:%.c=$(B)/obj-kp/%.o)

ALL_TARGETS     += $(B)/liblsm.a $(B)/liblsm.so $(B)/lsm.pc
INSTALL_LIB     += $(B)/liblsm.a $(B)/liblsm.so
INSTALL_INCLUDE += engine/lsm.h
INSTALL_PC      += $(B)/lsm.pc

$(B)/liblsm.a: $(ENGINE_OBJ)
$(B)/liblsm-kp.a: $(KP_OBJ)
$(B)/obj-kp/%.o: CFLAGS += -DLSM_KILLPOINTS

$(B)/liblsm.so: $(ENGINE_OBJ) engine/liblsm.map
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=engine/liblsm.map -o $@ $(ENGINE_OBJ) $(LDLIBS)

$(B)/lsm.pc: scripts/lsm.pc.in
	@mkdir -p $(B)
	sed -e 's|@PREFIX@|$(PREFIX)|g' $< > $@
