#ifndef VIGIL_CVIGILSHIM_H
#define VIGIL_CVIGILSHIM_H

/// Asks the kernel to send `signal` to the calling process when its parent dies.
/// glibc's prctl(2) is variadic and does not import into Swift. Returns 0 or -1 with errno set.
int cvigil_set_parent_death_signal(int signal);

/// Keeps permitted capabilities across setuid (PR_SET_KEEPCAPS). Returns 0 or -1 with errno set.
int cvigil_set_keep_capabilities(int keep);

#endif
