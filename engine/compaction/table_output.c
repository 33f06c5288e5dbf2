/* table_output.c — see table_output.h. */
#include "compaction/table_output.h"

#include <errno.h>
#include <stdlib.h>

#include "base/filenames.h"

int table_output_open(lsm_io *io, const char *dir, version_set *vs, const sst_options *o,
                      table_output *t)
{
    t->b = NULL;
    t->number = version_set_new_file_number(vs);
    t->path = filename_table(dir, t->number);
    if (!t->path)
        return -ENOMEM;
    int rc = sst_builder_new(io, t->path, o, &t->b);
    if (rc != 0) {
        free(t->path);
        t->path = NULL;
    }
    return rc;
}

int table_output_finish(table_output *t, file_meta **out)
{
    *out = NULL;
    sst_props props = { 0 };
    int rc = sst_builder_finish(t->b, &props); /* frees the builder */
    t->b = NULL;
    file_meta *fm = rc == 0 ? file_meta_new() : NULL;
    if (rc == 0 && !fm)
        rc = -ENOMEM;
    if (rc != 0) {
        sst_props_free(&props);
        free(t->path);
        t->path = NULL;
        return rc;
    }
    fm->number = t->number;
    fm->size = props.file_size;
    fm->smallest = props.smallest; /* ownership moves to fm */
    fm->smallest_len = props.smallest_len;
    fm->largest = props.largest;
    fm->largest_len = props.largest_len;
    fm->min_seq = props.min_seq;
    fm->max_seq = props.max_seq;
    fm->entries = props.entries;
    fm->deletions = props.deletions;
    fm->created_unix = props.created_unix;
    free(t->path);
    t->path = NULL;
    *out = fm;
    return 0;
}

void table_output_abandon(table_output *t)
{
    if (t->b)
        sst_builder_abandon(t->b); /* unlinks the file */
    t->b = NULL;
    free(t->path);
    t->path = NULL;
}
