/* compaction_picker.c — what compaction_picker.h declares that no single
 * picker owns: the option defaults and the registry of pickers by name.
 * The one place that knows every picker: pickers build on compaction.c,
 * and compaction.c never names them.
 *
 * Thread safety: the registry is constant; any thread. */
#include "compaction/compaction_picker.h"

#include <stddef.h>
#include <string.h>

void picker_options_init(picker_options *o)
{
    memset(o, 0, sizeof *o);
    o->l0_compaction_trigger = 4;
    o->level_size_ratio = 10.0;
    o->level_base_bytes = UINT64_C(256) << 20;
    o->target_file_bytes = UINT64_C(64) << 20;
    o->tiered_size_ratio = 1.0;
    o->tiered_min_merge = 4;
    o->tiered_max_runs = 12;
    o->tiered_max_space_amp = 2.0;
}

const compaction_picker *compaction_picker_find(const char *name)
{
    static const compaction_picker *const all[] = { &picker_leveled, &picker_tiered };
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}
