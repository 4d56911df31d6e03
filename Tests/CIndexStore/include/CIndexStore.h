#ifndef CINDEXSTORE_H
#define CINDEXSTORE_H

#include <stdbool.h>
#include <stdint.h>

/// One symbol occurrence in the compiler's index store (swift build writes one for debug builds).
typedef struct {
    /// The source file the occurrence is in.
    const char *file;
    const char *usr;
    const char *name;
    /// indexstore_symbol_kind_t (19 is an instance property, 12 a function, 16 an instance method).
    int kind;
    /// indexstore_symbol_role_t bits (1 declaration, 2 definition, 4 reference, 8 read, 16 write).
    uint64_t roles;
    unsigned line;
    /// The related symbols as "ROLES USR" lines (ROLES in decimal: 1<<9 child of, 1<<15 accessor of,
    /// 1<<16 contained by).
    const char *relations;
} cindexstore_occurrence;

typedef void (*cindexstore_callback)(void *context, const cindexstore_occurrence *occurrence);

/// Loads libIndexStore from `library`, opens the store at `store`, and calls `callback` for every
/// occurrence in a record whose source file starts with `file_prefix`.
/// Returns NULL, or a message saying what failed (static storage).
const char *cindexstore_read(const char *library, const char *store, const char *file_prefix, void *context,
                             cindexstore_callback callback);

#endif
