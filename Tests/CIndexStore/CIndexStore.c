// Reads the compiler's index store through libIndexStore's C API, loaded with dlopen so that
// nothing links against the toolchain. Only the keyword guard test uses it.
#include "CIndexStore.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *data;
    size_t length;
} string_ref;

typedef void *handle;

static const char *(*error_get_description)(handle);
static handle (*store_create)(const char *, handle *);
static void (*store_dispose)(handle);
static bool (*store_units_apply_f)(handle, unsigned, void *, bool (*)(void *, string_ref));
static handle (*unit_reader_create)(handle, const char *, handle *);
static void (*unit_reader_dispose)(handle);
static bool (*unit_reader_dependencies_apply_f)(handle, void *, bool (*)(void *, handle));
static int (*unit_dependency_get_kind)(handle);
static string_ref (*unit_dependency_get_filepath)(handle);
static string_ref (*unit_dependency_get_name)(handle);
static handle (*record_reader_create)(handle, const char *, handle *);
static void (*record_reader_dispose)(handle);
static bool (*record_reader_occurrences_apply_f)(handle, void *, bool (*)(void *, handle));
static handle (*occurrence_get_symbol)(handle);
static uint64_t (*occurrence_get_roles)(handle);
static void (*occurrence_get_line_col)(handle, unsigned *, unsigned *);
static bool (*occurrence_relations_apply_f)(handle, void *, bool (*)(void *, handle));
static string_ref (*symbol_get_usr)(handle);
static string_ref (*symbol_get_name)(handle);
static int (*symbol_get_kind)(handle);
static uint64_t (*relation_get_roles)(handle);
static handle (*relation_get_symbol)(handle);

static char message[512];

static const char *load(const char *library) {
    void *lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(message, sizeof message, "cannot load %s: %s", library, dlerror());
        return message;
    }
#define LOAD(var, symbol)                                                                   \
    do {                                                                                    \
        *(void **)&var = dlsym(lib, "indexstore_" symbol);                                  \
        if (!var) {                                                                         \
            snprintf(message, sizeof message, "%s has no indexstore_%s", library, symbol); \
            return message;                                                                 \
        }                                                                                   \
    } while (0)
    LOAD(error_get_description, "error_get_description");
    LOAD(store_create, "store_create");
    LOAD(store_dispose, "store_dispose");
    LOAD(store_units_apply_f, "store_units_apply_f");
    LOAD(unit_reader_create, "unit_reader_create");
    LOAD(unit_reader_dispose, "unit_reader_dispose");
    LOAD(unit_reader_dependencies_apply_f, "unit_reader_dependencies_apply_f");
    LOAD(unit_dependency_get_kind, "unit_dependency_get_kind");
    LOAD(unit_dependency_get_filepath, "unit_dependency_get_filepath");
    LOAD(unit_dependency_get_name, "unit_dependency_get_name");
    LOAD(record_reader_create, "record_reader_create");
    LOAD(record_reader_dispose, "record_reader_dispose");
    LOAD(record_reader_occurrences_apply_f, "record_reader_occurrences_apply_f");
    LOAD(occurrence_get_symbol, "occurrence_get_symbol");
    LOAD(occurrence_get_roles, "occurrence_get_roles");
    LOAD(occurrence_get_line_col, "occurrence_get_line_col");
    LOAD(occurrence_relations_apply_f, "occurrence_relations_apply_f");
    LOAD(symbol_get_usr, "symbol_get_usr");
    LOAD(symbol_get_name, "symbol_get_name");
    LOAD(symbol_get_kind, "symbol_get_kind");
    LOAD(relation_get_roles, "symbol_relation_get_roles");
    LOAD(relation_get_symbol, "symbol_relation_get_symbol");
#undef LOAD
    return NULL;
}

static char *copy(string_ref ref) {
    char *text = malloc(ref.length + 1);
    memcpy(text, ref.data, ref.length);
    text[ref.length] = 0;
    return text;
}

typedef struct {
    handle store;
    const char *prefix;
    void *context;
    cindexstore_callback callback;
    /// Records already read (several units may name one record).
    char **seen;
    size_t seen_count;
    size_t seen_capacity;
    /// The current record's file, and the relations text being built.
    char *file;
    char *relations;
    size_t relations_length;
} walk;

static bool collect_relation(void *context, handle relation) {
    walk *state = context;
    char *usr = copy(symbol_get_usr(relation_get_symbol(relation)));
    char line[64];
    int length = snprintf(line, sizeof line, "%llu ", (unsigned long long)relation_get_roles(relation));
    size_t needed = state->relations_length + (size_t)length + strlen(usr) + 2;
    state->relations = realloc(state->relations, needed);
    sprintf(state->relations + state->relations_length, "%s%s\n", line, usr);
    state->relations_length = needed - 1;
    free(usr);
    return true;
}

static bool visit_occurrence(void *context, handle occurrence) {
    walk *state = context;
    handle symbol = occurrence_get_symbol(occurrence);
    char *usr = copy(symbol_get_usr(symbol));
    char *name = copy(symbol_get_name(symbol));
    state->relations = calloc(1, 1);
    state->relations_length = 0;
    occurrence_relations_apply_f(occurrence, state, collect_relation);
    unsigned line = 0, column = 0;
    occurrence_get_line_col(occurrence, &line, &column);
    cindexstore_occurrence value = {
        .file = state->file,
        .usr = usr,
        .name = name,
        .kind = symbol_get_kind(symbol),
        .roles = occurrence_get_roles(occurrence),
        .line = line,
        .relations = state->relations,
    };
    state->callback(state->context, &value);
    free(usr);
    free(name);
    free(state->relations);
    state->relations = NULL;
    return true;
}

static bool visit_dependency(void *context, handle dependency) {
    walk *state = context;
    if (unit_dependency_get_kind(dependency) != 2) return true;  // INDEXSTORE_UNIT_DEPENDENCY_RECORD
    char *file = copy(unit_dependency_get_filepath(dependency));
    if (strncmp(file, state->prefix, strlen(state->prefix)) != 0) {
        free(file);
        return true;
    }
    char *record = copy(unit_dependency_get_name(dependency));
    for (size_t index = 0; index < state->seen_count; index++) {
        if (strcmp(state->seen[index], record) == 0) {
            free(record);
            free(file);
            return true;
        }
    }
    if (state->seen_count == state->seen_capacity) {
        state->seen_capacity = state->seen_capacity ? state->seen_capacity * 2 : 64;
        state->seen = realloc(state->seen, state->seen_capacity * sizeof(char *));
    }
    state->seen[state->seen_count++] = record;
    handle error = NULL;
    handle reader = record_reader_create(state->store, record, &error);
    if (reader) {
        state->file = file;
        record_reader_occurrences_apply_f(reader, state, visit_occurrence);
        record_reader_dispose(reader);
    }
    free(file);
    return true;
}

static bool visit_unit(void *context, string_ref unit_name) {
    walk *state = context;
    char *name = copy(unit_name);
    handle error = NULL;
    handle reader = unit_reader_create(state->store, name, &error);
    free(name);
    if (!reader) return true;
    unit_reader_dependencies_apply_f(reader, state, visit_dependency);
    unit_reader_dispose(reader);
    return true;
}

const char *cindexstore_read(const char *library, const char *store, const char *file_prefix, void *context,
                             cindexstore_callback callback) {
    const char *failure = load(library);
    if (failure) return failure;
    handle error = NULL;
    handle opened = store_create(store, &error);
    if (!opened) {
        snprintf(message, sizeof message, "cannot open the index store %s: %s", store,
                 error ? error_get_description(error) : "unknown error");
        return message;
    }
    walk state = {.store = opened, .prefix = file_prefix, .context = context, .callback = callback};
    store_units_apply_f(opened, 0, &state, visit_unit);
    for (size_t index = 0; index < state.seen_count; index++) free(state.seen[index]);
    free(state.seen);
    store_dispose(opened);
    return NULL;
}
