#ifndef VIGIL_CNFTABLES_H
#define VIGIL_CNFTABLES_H
// The kernel's nftables and nfnetlink constants, for the messages Vigil builds itself (NoAcceptFilter). glibc's
// socket headers first: the kernel's <linux/in.h> then leaves their definitions alone.
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#endif
