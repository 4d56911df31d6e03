#ifndef VIGIL_CVIGILSHIM_H
#define VIGIL_CVIGILSHIM_H

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>

/// Asks the kernel to send `signal` to the calling process when its parent dies.
/// glibc's prctl(2) is variadic and does not import into Swift. Returns 0 or -1 with errno set.
int cvigil_set_parent_death_signal(int signal);

/// The signal a worker asks for at its parent's death: SIGRTMIN + 3, which nothing else sends it, so a worker tells
/// the watchdog's death from an operator's SIGTERM (SIGRTMIN is a function call in glibc, not a constant).
int cvigil_parent_death_signal(void);

/// The calling thread's kernel thread id (gettid(2)), for `/proc/PID/task/TID`.
int cvigil_gettid(void);

/// Keeps permitted capabilities across setuid (PR_SET_KEEPCAPS). Returns 0 or -1 with errno set.
int cvigil_set_keep_capabilities(int keep);

/// Whether transparent huge pages are off for the calling process (PR_GET_THP_DISABLE): 1, 0, or -1 with errno set.
int cvigil_transparent_huge_pages_disabled(void);

/// Turns transparent huge pages off (`disable` non-zero) or back to the system's setting for the calling process
/// (PR_SET_THP_DISABLE: the whole process, inherited by children and kept across execve). Returns 0 or -1 with errno.
int cvigil_disable_transparent_huge_pages(int disable);

/// Opens the connection to syslog with ident "vigild" and `facility` (LOG_LOCAL0…LOG_LOCAL7).
void cvigil_openlog(int facility);

/// Logs one message at `priority`; glibc's syslog(3) is variadic and does not import into Swift.
void cvigil_syslog(int priority, const char *message);

/// Takes a write lock on the whole file as an open file description lock (F_OFD_SETLK), which
/// belongs to the descriptor, not the process. Returns 0, or -1 with errno set (EAGAIN: held elsewhere).
int cvigil_lock_file(int fd);

/// posix_spawn's POSIX_SPAWN_SETSID flag (a GNU extension that does not import into Swift).
short cvigil_spawn_setsid_flag(void);

/// A non-blocking, close-on-exec signalfd(2) for `mask` (the signals must be blocked already).
/// Returns the descriptor, or -1 with errno set.
int cvigil_signalfd(const sigset_t *mask);

/// Reads one signal from a signalfd: its number, or -1 (errno EAGAIN when none is pending).
int cvigil_read_signal(int fd);

/// pidfd_open(2): a close-on-exec descriptor that becomes readable when child `pid` exits (kernel >= 5.3).
/// glibc's wrapper is not visible to Swift. Returns the descriptor, or -1 with errno set.
int cvigil_pidfd_open(int pid);

/// Names the calling thread (15 bytes at most), as `ps -L` and `top -H` show it: pthread_setname_np is a GNU
/// extension. Returns 0 or an error number.
int cvigil_set_thread_name(const char *name);

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC (a GNU extension that does not import into Swift): the new
/// descriptor is close-on-exec from the start, so a worker spawned by another thread never inherits it.
/// Returns the descriptor, or -1 with errno set.
int cvigil_accept_nonblocking(int fd);

/// setns(2) into the network namespace open at `fd` (CLONE_NEWNET), for the calling thread only; a GNU extension
/// that does not import into Swift. Returns 0 or -1 with errno set.
int cvigil_setns_network(int fd);

/// prctl(PR_SET_NAME): names the calling thread; on the main thread, the process as `ps` and /proc/PID/status show
/// it (15 bytes at most). glibc's prctl is variadic. Returns 0 or -1 with errno set.
int cvigil_set_process_name(const char *name);

/// sched_setaffinity(2) of the calling thread (and the threads it creates later) to the `count` CPUs in `cpus`;
/// CPU_SET is a macro. Returns 0 or -1 with errno set.
int cvigil_set_cpu_affinity(const int *cpus, int count);

/// mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT), as keepalived's `*_no_swap`. Returns 0 or -1 with errno set.
int cvigil_lock_memory(void);

/// Where the running executable's section `name` (an allocated SHT_PROGBITS section, such as ".rodata") lies in this
/// process: its address (the executable's load address, from dl_iterate_phdr, plus the section's) and size, read from
/// the section headers of /proc/self/exe. Returns 0, or -1 when the file cannot be read, is not a 64-bit ELF file, is
/// not the program this process runs (its program headers differ from those the dynamic linker reports: under
/// valgrind /proc/self/exe is valgrind), or has no such section wholly inside the file-backed part of a loaded segment
/// (a binary stripped of its section headers).
int cvigil_executable_section(const char *name, uintptr_t *start, size_t *size);

/// setns(2) of the calling thread into the network namespace bound at `path` (/run/netns/NAME, as `ip netns add`
/// makes it); processes it spawns afterwards start there. setns is a GNU extension. Returns 0 or -1 with errno set.
int cvigil_enter_net_namespace(const char *path);
/// What `cvigil_recv_datagram` learnt of one datagram besides its payload.
struct cvigil_datagram_info {
    /// The sender's address (4 or 16 bytes, network order) and UDP port.
    unsigned char source[16];
    int source_length;
    unsigned short source_port;
    /// The address the datagram was sent to (IP_PKTINFO / IPV6_PKTINFO); length 0 when not given.
    unsigned char destination[16];
    int destination_length;
    /// The TTL or hop limit it arrived with (IP_RECVTTL / IPV6_RECVHOPLIMIT), -1 when not given.
    int ttl;
    /// The datagram was longer than the buffer (MSG_TRUNC).
    int truncated;
};

/// Receives one datagram without blocking (recvmsg(2), MSG_DONTWAIT, retried on EINTR), with the control messages
/// Swift cannot walk (the CMSG_* macros): the TTL or hop limit and the destination address. Returns the payload's
/// length, or -1 with errno set (EAGAIN when none is waiting).
long cvigil_recv_datagram(int fd, void *buffer, unsigned long length, struct cvigil_datagram_info *info);

/// Bytes the allocator has handed out and not had back, over all its arenas and its own mappings (mallinfo2's
/// uordblks + hblkhd): what a benchmark reads to tell what a data structure holds on the heap.
unsigned long cvigil_heap_in_use(void);

#endif
