/* workload.c — the workload table (workload.h). */
#include "workload.h"

#include <ctype.h>
#include <string.h>

/*                      read upd ins scan rmw */
#define MIX(r, u, i, s, m) { r, u, i, s, m }

static const workload k_workloads[] = {
    { "fillseq", WL_FILLSEQ, MIX(0, 100, 0, 0, 0), DIST_UNIFORM, true, false, false,
      "put keys 0..num-1 in ascending order" },
    { "fillrandom", WL_MIX, MIX(0, 100, 0, 0, 0), DIST_UNIFORM, true, false, false,
      "num puts of random keys in [0, num)" },
    { "overwrite", WL_MIX, MIX(0, 100, 0, 0, 0), DIST_UNIFORM, true, false, false,
      "fillrandom on a filled database" },
    { "readrandom", WL_MIX, MIX(100, 0, 0, 0, 0), DIST_UNIFORM, false, false, false,
      "gets of random keys" },
    { "multireadrandom", WL_MULTIREAD, MIX(100, 0, 0, 0, 0), DIST_UNIFORM, false, false, false,
      "multi-gets of --batch random keys (ops = keys)" },
    { "compact", WL_COMPACT, MIX(0, 0, 0, 0, 0), DIST_UNIFORM, false, false, false,
      "one full compaction, timed (MB/s = table bytes written)" },
    { "readseq", WL_READSEQ, MIX(0, 0, 0, 0, 0), DIST_UNIFORM, false, false, false,
      "one forward scan, an operation per entry" },
    { "seekrandom", WL_MIX, MIX(0, 0, 0, 100, 0), DIST_UNIFORM, false, true, false,
      "seek to a random key and read --seek-nexts more" },
    { "readwhilewriting", WL_READWHILEWRITING, MIX(100, 0, 0, 0, 0), DIST_UNIFORM, false,
      false, false, "readrandom while one extra thread writes random keys" },
    { "mixed", WL_MIX, MIX(50, 50, 0, 0, 0), DIST_UNIFORM, false, false, true,
      "--read-pct gets, the rest updates" },
    { "ycsb-a", WL_MIX, MIX(50, 50, 0, 0, 0), DIST_ZIPFIAN, false, false, false,
      "YCSB A: 50% read, 50% update, zipfian" },
    { "ycsb-b", WL_MIX, MIX(95, 5, 0, 0, 0), DIST_ZIPFIAN, false, false, false,
      "YCSB B: 95% read, 5% update, zipfian" },
    { "ycsb-c", WL_MIX, MIX(100, 0, 0, 0, 0), DIST_ZIPFIAN, false, false, false,
      "YCSB C: read only, zipfian" },
    { "ycsb-d", WL_MIX, MIX(95, 0, 5, 0, 0), DIST_LATEST, false, false, false,
      "YCSB D: 95% read latest, 5% insert" },
    { "ycsb-e", WL_MIX, MIX(0, 0, 5, 95, 0), DIST_ZIPFIAN, false, false, false,
      "YCSB E: 95% short scans, 5% insert, zipfian" },
    { "ycsb-f", WL_MIX, MIX(50, 0, 0, 0, 50), DIST_ZIPFIAN, false, false, false,
      "YCSB F: 50% read, 50% read-modify-write, zipfian" },
};

const char *op_class_name(int cls)
{
    static const char *names[NCLASS] = { "read", "write", "scan", "rmw", "bgwrite" };
    return cls >= 0 && cls < NCLASS ? names[cls] : "?";
}

const workload *workload_find(const char *s)
{
    /* Compare without '-' and '_' and case, so ycsb-a == ycsb_a == YCSBA. */
    char want[32];
    size_t n = 0;
    for (; *s && n + 1 < sizeof want; s++)
        if (*s != '-' && *s != '_')
            want[n++] = (char)tolower((unsigned char)*s);
    want[n] = 0;
    for (size_t i = 0; i < sizeof k_workloads / sizeof k_workloads[0]; i++) {
        char have[32];
        size_t m = 0;
        for (const char *p = k_workloads[i].name; *p; p++)
            if (*p != '-')
                have[m++] = *p;
        have[m] = 0;
        if (strcmp(have, want) == 0)
            return &k_workloads[i];
    }
    return NULL;
}

const workload *workload_list(size_t *n)
{
    *n = sizeof k_workloads / sizeof k_workloads[0];
    return k_workloads;
}

void workload_mix(const workload *w, int read_pct, op_mix *m)
{
    uint8_t pct[OP_NKINDS];
    memcpy(pct, w->pct, sizeof pct);
    if (w->mixed_read_pct) {
        int r = read_pct < 0 ? 0 : read_pct > 100 ? 100 : read_pct;
        memset(pct, 0, sizeof pct);
        pct[OP_READ] = (uint8_t)r;
        pct[OP_UPDATE] = (uint8_t)(100 - r);
    }
    int sum = 0;
    for (int k = 0; k < OP_NKINDS; k++)
        sum += pct[k];
    if (sum == 0)
        pct[OP_UPDATE] = 100;
    int c = 0;
    for (int k = 0; k < OP_NKINDS; k++) {
        c += pct[k];
        m->cum[k] = (uint8_t)c;
    }
}

bool workload_writes(const workload *w, int read_pct)
{
    if (w->kind == WL_FILLSEQ || w->kind == WL_READWHILEWRITING || w->kind == WL_COMPACT)
        return true;
    if (w->kind == WL_READSEQ || w->kind == WL_MULTIREAD)
        return false;
    op_mix m;
    workload_mix(w, read_pct, &m);
    /* Anything but reads and scans writes. */
    return m.cum[OP_NKINDS - 1] - m.cum[OP_READ] - (m.cum[OP_SCAN] - m.cum[OP_INSERT]) > 0;
}
