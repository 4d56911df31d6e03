#define _GNU_SOURCE
#include "CVigilShim.h"
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <syslog.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

int cvigil_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}

int cvigil_parent_death_signal(void) {
    return SIGRTMIN + 3;
}

int cvigil_gettid(void) {
    return (int)syscall(SYS_gettid);
}

int cvigil_set_keep_capabilities(int keep) {
    return prctl(PR_SET_KEEPCAPS, (unsigned long)(keep ? 1 : 0), 0, 0, 0);
}

int cvigil_transparent_huge_pages_disabled(void) {
    return prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
}

int cvigil_disable_transparent_huge_pages(int disable) {
    return prctl(PR_SET_THP_DISABLE, (unsigned long)(disable ? 1 : 0), 0, 0, 0);
}

void cvigil_openlog(int facility) {
    openlog("vigild", LOG_PID | LOG_NDELAY, facility);
}

void cvigil_syslog(int priority, const char *message) {
    syslog(priority, "%s", message);
}

int cvigil_lock_file(int fd) {
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    return fcntl(fd, F_OFD_SETLK, &lock);
}

short cvigil_spawn_setsid_flag(void) {
    return POSIX_SPAWN_SETSID;
}

int cvigil_signalfd(const sigset_t *mask) {
    return signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

int cvigil_read_signal(int fd) {
    struct signalfd_siginfo info;
    ssize_t count;
    do {
        count = read(fd, &info, sizeof info);
    } while (count < 0 && errno == EINTR);
    return count == (ssize_t)sizeof info ? (int)info.ssi_signo : -1;
}

int cvigil_pidfd_open(int pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int cvigil_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

int cvigil_accept_nonblocking(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int cvigil_setns_network(int fd) {
    return setns(fd, CLONE_NEWNET);
}

int cvigil_set_process_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

int cvigil_set_cpu_affinity(const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) {
            errno = EINVAL;
            return -1;
        }
        CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity(0, sizeof(set), &set);
}

int cvigil_lock_memory(void) {
    return mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
}

int cvigil_enter_net_namespace(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    int result = setns(fd, CLONE_NEWNET);
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}

long cvigil_recv_datagram(int fd, void *buffer, unsigned long length, struct cvigil_datagram_info *info) {
    struct sockaddr_storage from;
    char control[256] __attribute__((aligned(__alignof__(struct cmsghdr))));
    struct iovec vector = {.iov_base = buffer, .iov_len = length};
    struct msghdr header;
    memset(&header, 0, sizeof header);
    memset(info, 0, sizeof *info);
    info->ttl = -1;
    header.msg_name = &from;
    header.msg_namelen = sizeof from;
    header.msg_iov = &vector;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    ssize_t received;
    do {
        received = recvmsg(fd, &header, MSG_DONTWAIT);
    } while (received < 0 && errno == EINTR);
    if (received < 0) return -1;
    info->truncated = (header.msg_flags & MSG_TRUNC) != 0;
    if (from.ss_family == AF_INET) {
        struct sockaddr_in *address = (struct sockaddr_in *)&from;
        memcpy(info->source, &address->sin_addr, 4);
        info->source_length = 4;
        info->source_port = ntohs(address->sin_port);
    } else if (from.ss_family == AF_INET6) {
        struct sockaddr_in6 *address = (struct sockaddr_in6 *)&from;
        memcpy(info->source, &address->sin6_addr, 16);
        info->source_length = 16;
        info->source_port = ntohs(address->sin6_port);
    }
    for (struct cmsghdr *message = CMSG_FIRSTHDR(&header); message; message = CMSG_NXTHDR(&header, message)) {
        if (message->cmsg_level == IPPROTO_IP && message->cmsg_type == IP_TTL) {
            int value;
            memcpy(&value, CMSG_DATA(message), sizeof value);
            info->ttl = value;
        } else if (message->cmsg_level == IPPROTO_IPV6 && message->cmsg_type == IPV6_HOPLIMIT) {
            int value;
            memcpy(&value, CMSG_DATA(message), sizeof value);
            info->ttl = value;
        } else if (message->cmsg_level == IPPROTO_IP && message->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo packet;
            memcpy(&packet, CMSG_DATA(message), sizeof packet);
            memcpy(info->destination, &packet.ipi_addr, 4);
            info->destination_length = 4;
        } else if (message->cmsg_level == IPPROTO_IPV6 && message->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo packet;
            memcpy(&packet, CMSG_DATA(message), sizeof packet);
            memcpy(info->destination, &packet.ipi6_addr, 16);
            info->destination_length = 16;
        }
    }
    return (long)received;
}

unsigned long cvigil_heap_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

#include <elf.h>
#include <link.h>

struct cvigil_executable {
    uintptr_t base;
    const ElfW(Phdr) *headers;
    size_t count;
};

static int cvigil_first_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct cvigil_executable *executable = data;
    executable->base = (uintptr_t)info->dlpi_addr;
    executable->headers = info->dlpi_phdr;
    executable->count = info->dlpi_phnum;
    return 1; // The first object dl_iterate_phdr reports is the executable.
}

int cvigil_executable_section(const char *name, uintptr_t *start, size_t *size) {
    struct cvigil_executable executable = {0};
    dl_iterate_phdr(cvigil_first_object, &executable);
    if (executable.headers == NULL || executable.count == 0 || executable.count > 64) return -1;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int found = -1;
    Elf64_Ehdr header;
    Elf64_Phdr programs[64];
    Elf64_Shdr *sections = NULL;
    char *names = NULL;
    if (pread(fd, &header, sizeof header, 0) != (ssize_t)sizeof header
        || memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64
        || header.e_shentsize != sizeof(Elf64_Shdr) || header.e_shnum == 0 || header.e_shnum > 4096
        || header.e_shstrndx >= header.e_shnum || header.e_phentsize != sizeof(Elf64_Phdr)
        || header.e_phnum != executable.count)
        goto done;
    // The file must be the program this process runs (under valgrind, /proc/self/exe is valgrind): its program
    // headers are the ones the dynamic linker reports for the executable.
    size_t programSize = executable.count * sizeof(Elf64_Phdr);
    if (pread(fd, programs, programSize, (off_t)header.e_phoff) != (ssize_t)programSize
        || memcmp(programs, executable.headers, programSize) != 0)
        goto done;
    size_t table = (size_t)header.e_shnum * sizeof(Elf64_Shdr);
    sections = malloc(table);
    if (sections == NULL || pread(fd, sections, table, (off_t)header.e_shoff) != (ssize_t)table) goto done;
    const Elf64_Shdr *strings = &sections[header.e_shstrndx];
    if (strings->sh_size == 0 || strings->sh_size > (1 << 20)) goto done;
    names = malloc(strings->sh_size + 1);
    if (names == NULL || pread(fd, names, strings->sh_size, (off_t)strings->sh_offset) != (ssize_t)strings->sh_size)
        goto done;
    names[strings->sh_size] = 0;
    for (unsigned i = 0; i < header.e_shnum; i++) {
        const Elf64_Shdr *section = &sections[i];
        if (section->sh_name >= strings->sh_size || strcmp(names + section->sh_name, name) != 0) continue;
        if (section->sh_type != SHT_PROGBITS || (section->sh_flags & SHF_ALLOC) == 0) break;
        // Wholly inside the part of a loaded segment that the file backs.
        for (size_t p = 0; p < executable.count; p++) {
            const Elf64_Phdr *segment = &programs[p];
            if (segment->p_type == PT_LOAD && section->sh_addr >= segment->p_vaddr
                && section->sh_addr + section->sh_size <= segment->p_vaddr + segment->p_filesz) {
                *start = executable.base + (uintptr_t)section->sh_addr;
                *size = (size_t)section->sh_size;
                found = 0;
            }
        }
        break;
    }
done:
    free(names);
    free(sections);
    close(fd);
    return found;
}
