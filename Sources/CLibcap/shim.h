#ifndef VIGIL_CLIBCAP_H
#define VIGIL_CLIBCAP_H
#include <sys/capability.h>
#endif
