#include "CVigilShim.h"
#include <sys/prctl.h>

int cvigil_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}

int cvigil_set_keep_capabilities(int keep) {
    return prctl(PR_SET_KEEPCAPS, (unsigned long)(keep ? 1 : 0), 0, 0, 0);
}
