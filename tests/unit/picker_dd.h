/*
 * picker_dd.h — the commands of the pickers' data-driven cases
 * (testdata/picker_leveled.txt, testdata/picker_tiered.txt) over the model
 * tree of picker_sim.h.  Header-only like picker_sim.h.
 *
 *   runs [nkeys=N]      a new tree (nkeys default 100000) of sorted runs
 *                       given newest first, one a line: L<level> xCOUNT
 *                       [busy] [old] (sim_build_runs); prints the tree and
 *                       the picker's count of sorted runs
 *   define [nkeys=N]    a new tree (and the test's default options) with
 *                       the files given one a line, numbered from 1 in order:
 *                         L<level> LO-HI xCOUNT #SEQ [t=UNIX]
 *                           COUNT keys spread over [LO, HI], sequences
 *                           from SEQ up
 *                         L<level> KEY#SEQ[,DEL] ... [t=UNIX]
 *                           the entries themselves
 *                       t: the file's creation time (default the model's
 *                       clock, 1700000000); prints the tree
 *   add                 more files, the same way
 *   options K=V ...     base, target (entries), ratio, trigger, periodic,
 *                       now, floor (a file number, or "next"), tiered_ratio,
 *                       min_merge, max_runs, amp; clock: the model's clock
 *                       (the creation time of files made from then on)
 *   ballast             a file at L6 holding the last key, as big as base x
 *                       ratio^5, so the dynamic level targets are the static
 *                       ones (base at L1); refits it after options change
 *   busy N ... / idle N ... / idle all
 *                       being_compacted on the numbered files
 *   pick [apply]        the picker's choice (checked against the rules of
 *   manual L [apply]    compaction.h); apply runs the model's executor,
 *                       checks every read, and prints the tree
 *   settle [max=N]      picks and applies until nothing is due
 *   targets / scores    the dynamic level targets / the non-zero level
 *                       scores, sorted runs and whether bytes are pending
 *   cut L FIRST END     compaction_clean_cut of files [FIRST, END) of level L
 *   overlaps L LO HI    compaction_level_overlaps of keys [LO, HI] in level L
 * The tree prints file numbers by level ("*": busy, "(N del)": tombstones).
 * Sizes print in entries (ENTRY_BYTES each).
 */
#ifndef LSM_TEST_PICKER_DD_H
#define LSM_TEST_PICKER_DD_H

#include <stddef.h>

#include "datadriven.h"
#include "picker_sim.h"

typedef struct picker_dd {
    const compaction_picker *p;
    picker_options (*defaults)(void);
    sim s;
    bool live;
    picker_options o;
    file_meta *ballast;
} picker_dd;

/* A file at level holding count keys spread evenly over [lo, hi], with
 * sequences from seq up; returns it (the version holds it). */
SIM_FN file_meta *sim_put(sim *s, int level, uint32_t lo, uint32_t hi, size_t count, uint64_t seq)
{
    assert_true(count >= 1 && count <= (size_t)(hi - lo) + 1);
    entry *e = malloc(count * sizeof *e);
    assert_non_null(e);
    for (size_t i = 0; i < count; i++) {
        uint32_t k = count == 1 ? lo : lo + (uint32_t)((uint64_t)(hi - lo) * i / (count - 1));
        e[i] = (entry){ k, seq + i, false };
    }
    uint64_t number = s->next_number;
    sim_add(s, level, e, count);
    free(e);
    for (size_t i = 0; i < s->v->nfiles[level]; i++)
        if (s->v->files[level][i]->number == number)
            return s->v->files[level][i];
    fail_msg("file %llu not found", (unsigned long long)number);
    return NULL;
}

/* Sizes the ballast file f for o (see "ballast" above). */
SIM_FN void sim_ballast_fit(const sim *s, file_meta *f, const picker_options *o)
{
    double size = (double)o->level_base_bytes;
    for (int i = 0; i < 5; i++)
        size *= o->level_size_ratio;
    f->size = (uint64_t)size;
    level_targets t;
    picker_level_targets(o, s->v, &t);
    assert_int_equal(t.first_needed, 1);
    assert_int_equal(t.bytes[1], o->level_base_bytes);
}

/* One sorted run of a hand-made tree (newest first in a list). */
#define MAX_RUNS_SPEC 16
typedef struct runspec {
    int level;
    size_t entries;
    bool busy;    /* all its files being_compacted */
    bool expired; /* created long ago (1000; the others at 1000000) */
} runspec;

typedef struct built {
    file_meta *first[MAX_RUNS_SPEC]; /* the run's first file */
    size_t n;
} built;

/* Builds the runs r[0..n) (newest first) oldest first, so newer runs get
 * newer sequences, each spread over all keys; a level run of more than
 * one entry is cut into two files.  Leaves the clock at 1000000. */
SIM_FN void sim_build_runs(sim *s, const runspec *r, size_t n, built *out)
{
    assert_true(n <= MAX_RUNS_SPEC);
    out->n = n;
    uint64_t seq = 1;
    for (size_t i = n; i-- > 0;) {
        size_t count = r[i].entries;
        assert_true(count >= 1 && count <= s->nkeys);
        entry *e = malloc(count * sizeof *e);
        assert_non_null(e);
        for (size_t j = 0; j < count; j++) {
            uint32_t k = count == 1 ? 0 : (uint32_t)((uint64_t)(s->nkeys - 1) * j / (count - 1));
            e[j] = (entry){ k, seq++, false };
        }
        s->now = r[i].expired ? 1000 : 1000000;
        size_t cut = r[i].level > 0 && count > 1 ? count / 2 : count;
        uint64_t first = s->next_number;
        sim_add(s, r[i].level, e, cut);
        if (cut < count)
            sim_add(s, r[i].level, e + cut, count - cut);
        free(e);
        const version *v = s->v;
        out->first[i] = NULL;
        for (size_t j = 0; j < v->nfiles[r[i].level]; j++) {
            file_meta *f = v->files[r[i].level][j];
            if (f->number == first)
                out->first[i] = f;
            if (f->number >= first)
                f->being_compacted = r[i].busy;
        }
        assert_non_null(out->first[i]);
    }
    s->now = 1000000;
}

SIM_FN file_meta *dd_file(const dd_case *c, const sim *s, const char *num)
{
    char *end;
    unsigned long long n = strtoull(num, &end, 10);
    for (int l = 0; *num && !*end && l < LSM_NUM_LEVELS; l++)
        for (size_t i = 0; i < s->v->nfiles[l]; i++)
            if (s->v->files[l][i]->number == n)
                return s->v->files[l][i];
    dd_fail(c, "no file %s", num);
}

SIM_FN void dd_tree(dd_case *c, const sim *s)
{
    for (int l = 0; l < LSM_NUM_LEVELS; l++) {
        if (!s->v->nfiles[l])
            continue;
        dd_printf(c, "L%d:", l);
        for (size_t i = 0; i < s->v->nfiles[l]; i++) {
            const file_meta *f = s->v->files[l][i];
            dd_printf(c, " %llu%s", (unsigned long long)f->number, f->being_compacted ? "*" : "");
            if (f->deletions)
                dd_printf(c, "(%llu del)", (unsigned long long)f->deletions);
        }
        dd_printf(c, "\n");
    }
}

SIM_FN void dd_compaction(dd_case *c, const sim *s, const compaction *k)
{
    if (!k) {
        dd_printf(c, "none%s\n", compaction_version_busy(s->v) ? " (a file is busy)" : "");
        return;
    }
    int from = 0;
    while (!k->ninputs[from])
        from++;
    dd_printf(c, "%s %s: L%d -> L%d%s%s\n", k->style, compaction_reason_name(k->reason), from,
              k->output_level, k->trivial_move ? ", trivial move" : "",
              k->bottommost ? ", bottommost" : "");
    for (int l = 0; l < LSM_NUM_LEVELS; l++) {
        if (!k->ninputs[l])
            continue;
        dd_printf(c, "  L%d:", l);
        for (size_t i = 0; i < k->ninputs[l]; i++)
            dd_printf(c, " %llu", (unsigned long long)k->inputs[l][i]->number);
        dd_printf(c, "\n");
    }
    slice u = ikey_user(k->smallest);
    dd_printf(c, "  size %llu, target %llu, seqs %llu-%llu, smallest %.*s#%llu\n",
              (unsigned long long)(k->input_bytes / ENTRY_BYTES),
              (unsigned long long)(k->target_file_bytes / ENTRY_BYTES),
              (unsigned long long)k->min_seq, (unsigned long long)k->max_seq, (int)u.size, u.data,
              (unsigned long long)ikey_seq(k->smallest));
}

SIM_FN void dd_add_files(dd_case *c, picker_dd *d)
{
    for (int i = 0; i < c->ninput; i++) {
        char line[512];
        snprintf(line, sizeof line, "%s", c->input[i]);
        char *w = strtok(line, " ");
        int level;
        if (!w || sscanf(w, "L%d", &level) != 1 || level < 0 || level >= LSM_NUM_LEVELS)
            dd_fail(c, "not a file: %s", c->input[i]);
        entry e[128];
        size_t n = 0;
        unsigned lo = 0, hi = 0, count = 0;
        unsigned long long seq = 0;
        bool range = false;
        uint64_t now = d->s.now;
        for (w = strtok(NULL, " "); w; w = strtok(NULL, " ")) {
            unsigned long long t;
            char del[8] = "";
            unsigned k;
            if (sscanf(w, "t=%llu", &t) == 1)
                d->s.now = t;
            else if (sscanf(w, "%u-%u", &lo, &hi) == 2)
                range = true;
            else if (sscanf(w, "x%u", &count) == 1 || (w[0] == '#' && sscanf(w, "#%llu", &seq) == 1))
                continue;
            else if (n < 128 && sscanf(w, "%u#%llu%7s", &k, &t, del) >= 2 &&
                     (!del[0] || strcmp(del, ",DEL") == 0))
                e[n++] = (entry){ k, t, del[0] != 0 };
            else
                dd_fail(c, "not a file: %s", c->input[i]);
        }
        if (range)
            sim_put(&d->s, level, lo, hi, count, seq);
        else
            sim_add(&d->s, level, e, n);
        d->s.now = now;
    }
}

/* The options command's names: a field of picker_options and its unit. */
enum dd_unit { DD_U64, DD_ENTRIES, DD_INT, DD_DOUBLE };
static const struct dd_option {
    const char *name;
    enum dd_unit unit;
    size_t off;
} dd_option_names[] = {
    { "base", DD_ENTRIES, offsetof(picker_options, level_base_bytes) },
    { "target", DD_ENTRIES, offsetof(picker_options, target_file_bytes) },
    { "ratio", DD_DOUBLE, offsetof(picker_options, level_size_ratio) },
    { "trigger", DD_INT, offsetof(picker_options, l0_compaction_trigger) },
    { "periodic", DD_U64, offsetof(picker_options, periodic_compaction_seconds) },
    { "now", DD_U64, offsetof(picker_options, now_unix) },
    { "floor", DD_U64, offsetof(picker_options, manual_floor) },
    { "tiered_ratio", DD_DOUBLE, offsetof(picker_options, tiered_size_ratio) },
    { "min_merge", DD_INT, offsetof(picker_options, tiered_min_merge) },
    { "max_runs", DD_INT, offsetof(picker_options, tiered_max_runs) },
    { "amp", DD_DOUBLE, offsetof(picker_options, tiered_max_space_amp) },
};

SIM_FN void dd_options(dd_case *c, picker_options *o, sim *s)
{
    for (int i = 0; i < c->nargs; i++) {
        char k[32];
        double v;
        if (strcmp(c->args[i], "floor=next") == 0) {
            o->manual_floor = s->next_number;
            continue;
        }
        if (sscanf(c->args[i], "%31[a-z_]=%lf", k, &v) != 2)
            dd_fail(c, "not K=V: %s", c->args[i]);
        if (strcmp(k, "clock") == 0) {
            s->now = (uint64_t)v;
            continue;
        }
        size_t j = 0, n = sizeof dd_option_names / sizeof dd_option_names[0];
        while (j < n && strcmp(dd_option_names[j].name, k) != 0)
            j++;
        if (j == n)
            dd_fail(c, "unknown option %s", k);
        char *field = (char *)o + dd_option_names[j].off;
        switch (dd_option_names[j].unit) {
        case DD_U64: *(uint64_t *)field = (uint64_t)v; break;
        case DD_ENTRIES: *(uint64_t *)field = (uint64_t)v * ENTRY_BYTES; break;
        case DD_INT: *(int *)field = (int)v; break;
        case DD_DOUBLE: *(double *)field = v; break;
        }
    }
}

SIM_FN void picker_dd_case(dd_case *c, void *arg)
{
    picker_dd *d = arg;
    const char *cmd = c->cmd;
    if (strcmp(cmd, "define") == 0 || strcmp(cmd, "runs") == 0) {
        if (d->live)
            sim_free(&d->s);
        sim_init(&d->s, (uint32_t)dd_arg_long(c, "nkeys", cmd[0] == 'r' ? 100000 : 1000), 1);
        d->live = true;
        d->o = d->defaults();
        d->ballast = NULL;
    } else if (!d->live) {
        dd_fail(c, "define a tree first");
    }
    sim *s = &d->s;
    if (strcmp(cmd, "define") == 0 || strcmp(cmd, "add") == 0) {
        dd_add_files(c, d);
        dd_tree(c, s);
    } else if (strcmp(cmd, "runs") == 0) {
        runspec r[MAX_RUNS_SPEC];
        built b;
        if (c->ninput > MAX_RUNS_SPEC)
            dd_fail(c, "more than %d runs", MAX_RUNS_SPEC);
        for (int i = 0; i < c->ninput; i++) {
            char flags[2][8] = { "", "" };
            unsigned long n;
            int got = sscanf(c->input[i], "L%d x%lu %7s %7s", &r[i].level, &n, flags[0], flags[1]);
            if (got < 2)
                dd_fail(c, "not a run: %s", c->input[i]);
            r[i].entries = n;
            r[i].busy = r[i].expired = false;
            for (int f = 0; f < got - 2; f++) {
                if (strcmp(flags[f], "busy") == 0)
                    r[i].busy = true;
                else if (strcmp(flags[f], "old") == 0)
                    r[i].expired = true;
                else
                    dd_fail(c, "not a run: %s", c->input[i]);
            }
        }
        sim_build_runs(s, r, (size_t)c->ninput, &b);
        dd_tree(c, s);
        dd_printf(c, "runs %d\n", d->p->sorted_runs(s->v));
    } else if (strcmp(cmd, "options") == 0) {
        dd_options(c, &d->o, s);
        dd_printf(c, "ok\n");
    } else if (strcmp(cmd, "ballast") == 0) {
        if (!d->ballast) {
            uint64_t now = s->now;
            s->now = 0; /* unknown age: never periodic */
            d->ballast = sim_put(s, 6, s->nkeys - 1, s->nkeys - 1, 1, 1);
            s->now = now;
        }
        sim_ballast_fit(s, d->ballast, &d->o);
        dd_printf(c, "L6: %llu, size %llu\n", (unsigned long long)d->ballast->number,
                  (unsigned long long)(d->ballast->size / ENTRY_BYTES));
    } else if (strcmp(cmd, "busy") == 0 || strcmp(cmd, "idle") == 0) {
        bool busy = cmd[0] == 'b';
        if (c->nargs == 1 && strcmp(c->args[0], "all") == 0) {
            for (int l = 0; l < LSM_NUM_LEVELS; l++)
                for (size_t i = 0; i < s->v->nfiles[l]; i++)
                    s->v->files[l][i]->being_compacted = busy;
        } else {
            for (int i = 0; i < c->nargs; i++)
                dd_file(c, s, c->args[i])->being_compacted = busy;
        }
        dd_tree(c, s);
    } else if (strcmp(cmd, "pick") == 0 || strcmp(cmd, "manual") == 0) {
        compaction *k;
        if (cmd[0] == 'p') {
            k = sim_pick(d->p, &d->o, s->v);
        } else {
            char *end;
            long level = c->nargs ? strtol(c->args[0], &end, 10) : 0;
            if (!c->nargs || *end)
                dd_fail(c, "manual LEVEL [apply]");
            k = sim_pick_manual(d->p, &d->o, s->v, (int)level);
        }
        dd_compaction(c, s, k);
        if (k && dd_arg(c, "apply")) {
            sim_apply(s, k);
            sim_check_reads(s);
            dd_tree(c, s);
        }
        compaction_free(k);
    } else if (strcmp(cmd, "settle") == 0) {
        int steps = sim_settle(s, d->p, &d->o, (int)dd_arg_long(c, "max", 100));
        sim_check_reads(s);
        dd_printf(c, "%d steps\n", steps);
        dd_tree(c, s);
    } else if (strcmp(cmd, "targets") == 0) {
        level_targets t;
        picker_level_targets(&d->o, s->v, &t);
        dd_printf(c, "base L%d, needed L%d, used L%d\n", t.base_level, t.first_needed,
                  t.first_used);
        for (int l = 1; l < LSM_NUM_LEVELS; l++)
            dd_printf(c, "L%d %llu\n", l, (unsigned long long)(t.bytes[l] / ENTRY_BYTES));
    } else if (strcmp(cmd, "scores") == 0) {
        int any = 0;
        for (int l = 0; l < LSM_NUM_LEVELS; l++) {
            double sc = d->p->level_score(&d->o, s->v, l);
            if (sc != 0.0)
                dd_printf(c, "%sL%d %g", any++ ? ", " : "", l, sc);
        }
        dd_printf(c, "%s; runs %d, pending %s\n", any ? "" : "all 0", d->p->sorted_runs(s->v),
                  d->p->pending_bytes(&d->o, s->v) ? "yes" : "no");
    } else if ((strcmp(cmd, "cut") == 0 || strcmp(cmd, "overlaps") == 0) && c->nargs == 3) {
        int level = atoi(c->args[0]);
        size_t first = strtoul(c->args[1], NULL, 10), end = strtoul(c->args[2], NULL, 10);
        if (cmd[0] == 'c') {
            compaction_clean_cut(s->v, level, &first, &end);
        } else {
            char lo[16], hi[16];
            ukey(lo, (uint32_t)first);
            ukey(hi, (uint32_t)end);
            compaction_level_overlaps(s->v, level, slice_make(lo, strlen(lo)),
                                      slice_make(hi, strlen(hi)), &first, &end);
        }
        dd_printf(c, "[%zu, %zu)\n", first, end);
    } else {
        dd_fail(c, "unknown command");
    }
}

/* Runs testdata/name with picker p, each tree starting from defaults(). */
SIM_FN void picker_dd_run(const char *src_file, const char *name, const compaction_picker *p,
                          picker_options (*defaults)(void))
{
    picker_dd d = { .p = p, .defaults = defaults };
    dd_run(src_file, name, picker_dd_case, &d);
    if (d.live)
        sim_free(&d.s);
}

#endif
