/* memtable_factory.c — making a memtable by implementation name
 * (memtable_new, memtable_create, memtable_impl_lookup/check; declared in
 * memtable.h).  The one place that knows every implementation: the
 * implementations build on memtable_base.c's common part, and memtable_base.c never
 * calls them directly.
 *
 * Thread safety: the table is constant; any thread. */
#include "memtable/memtable_base.h"

#include <errno.h>
#include <string.h>

memtable *memtable_new(void)
{
    memtable *m = NULL;
    return memtable_skiplist_create(&m) == 0 ? m : NULL;
}

static const struct {
    const char *name;
    int (*create)(memtable **out);
} impls[] = {
    { "skiplist", memtable_skiplist_create },
    { "vector", memtable_vector_create },
};

static int impl_index(const char *impl)
{
    if (!impl)
        impl = MEMTABLE_IMPL_DEFAULT;
    for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++)
        if (strcmp(impl, impls[i].name) == 0)
            return (int)i;
    return -1;
}

const char *memtable_impl_lookup(const char *impl)
{
    int i = impl_index(impl);
    return i < 0 ? NULL : impls[i].name;
}

int memtable_impl_check(const char *impl)
{
    return impl_index(impl) < 0 ? -EINVAL : 0;
}

int memtable_create(const char *impl, memtable **out)
{
    *out = NULL;
    int i = impl_index(impl);
    return i < 0 ? -EINVAL : impls[i].create(out);
}
