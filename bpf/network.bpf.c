// SPDX-License-Identifier: GPL-2.0
/* Network sampler: HTTP/1.x exchanges and TCP counters of the targeted
 * processes, from raw tracepoints and uprobes only (no kprobes, no fentry).
 *
 * At sys_enter of the read/write family the buffer is remembered; at
 * sys_exit its first bytes are classified. A request line is queued on its
 * connection (up to NET_PIPELINE waiting: keep-alive and pipelining), a
 * status line takes the oldest one off and the pair goes to user space as
 * one http_event. TLS plaintext comes from uprobes on SSL_read/SSL_write
 * (and _ex); SSL_set_fd and the syscalls made inside an SSL call tie the
 * SSL object to its socket; Go's crypto/tls is probed in the binary, its
 * tls.Conn followed to the socket's fd. TCP bytes, connections, retransmits and RTT are
 * summed per (process, side, peer) in two generations of counters, as the
 * stack samplers do. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "network.h"
#include "sampler.h"
#include "compat.h"

const volatile bool filter_tgid = false;
const volatile __u32 self_tgid = 0;
/* set when user space samples the stacks of requests: only then are serving threads marked */
const volatile bool want_request_stacks = false;

/* x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl) */
#define NR_read 0
#define NR_write 1
#define NR_readv 19
#define NR_writev 20
#define NR_sendfile 40
#define NR_connect 42
#define NR_accept 43
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47
#define NR_accept4 288

/* control[0]: generation of the TCP counters, run-time "all targets" switch */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sampler_control);
} control SEC(".maps");

/* targets: tgid -> 1 for every process to follow when filter_tgid */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

struct active_call {
	__u64 pid_tgid;	/* the thread in this slot's call, 0 when free */
	__u64 buf;	/* first buffer of the call, 0 for sendfile/accept/connect */
	__u64 buf_len;	/* bytes of that buffer for the vector calls (its iovec), else 0: all of ret */
	__u32 fd;
	__u32 nr;
	/* the thread inside an SSL_read/SSL_write (ssl_active has the call):
	 * checked here so plain syscalls skip that LRU lookup */
	__u64 ssl_pid_tgid;
	/* the thread serving a request it read (want_request_stacks), and the
	 * request's start: an array slot instead of a hash entry per request */
	__u32 serving_tid;
	__u64 serving_start_ns;
	/* whether the thread known_pid_tgid is followed, as of targets_epoch
	 * known_epoch: the read/write family of every process on the host asks,
	 * and an array slot answers faster than the `targets` hash */
	__u64 known_pid_tgid;
	__u32 known_epoch;
	__u8 known_targeted;
};

/* slots of `active`: a power of two above the default pid_max (32768) */
#define ACTIVE_SLOTS 65536

/* active[tid % ACTIVE_SLOTS]: the syscall a thread is in, from enter to
 * exit (and its SSL call and the request it serves, see active_call). An array, not a hash: a slot costs a load, where a hash update and
 * delete at every followed syscall cost locks (sys_exit also runs for a
 * killed thread, so slots are freed). Two threads in one slot at once: the
 * second call is not followed and counted. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ACTIVE_SLOTS);
	__type(key, __u32);
	__type(value, struct active_call);
} active SEC(".maps");

/* both ends of a socket as http_event carries them, read once per socket */
struct sock_ends {
	__u16 family;
	__u16 local_port;
	__u16 peer_port;
	__u8 local_addr[16];
	__u8 peer_addr[16];
};

/* Writes a socket's ends into an event (any with these five fields), or
 * zeros without them: ring buffer memory is not zeroed. */
#define put_ends(ev, ends)							\
	do {									\
		const struct sock_ends *__e = (ends);				\
		if (__e) {							\
			(ev)->family = __e->family;				\
			(ev)->local_port = __e->local_port;			\
			(ev)->peer_port = __e->peer_port;			\
			__builtin_memcpy((ev)->local_addr, __e->local_addr, 16);	\
			__builtin_memcpy((ev)->peer_addr, __e->peer_addr, 16);	\
		} else {							\
			(ev)->family = 0;					\
			(ev)->local_port = 0;					\
			(ev)->peer_port = 0;					\
			__builtin_memset((ev)->local_addr, 0, 16);		\
			__builtin_memset((ev)->peer_addr, 0, 16);		\
		}								\
	} while (0)

/* targets_epoch[0]: bumped by user space after each change of `targets` or
 * of control.all_targets, so threads' cached answers (active_call.known_*)
 * are asked again */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} targets_epoch SEC(".maps");

struct sock_info {
	struct net_tcp_key key;
	struct sock_ends ends;
	__u64 ssl;	/* the SSL object on this socket, 0 for none */
	/* HTTP/2, per direction (0 read, 1 write): bytes of the current frame
	 * still to come before the next frame header, and whether the frames
	 * are still followed */
	__u32 h2_skip[2];
	__u8 h2_lost[2];
	/* per direction: the call before ended inside a header frame's payload
	 * (h2_skip bytes of it to come), which is sent on as NET_H2_REST; in
	 * h2_lost's padding: sock_info() builds one on the syscall exit's stack */
	__u8 h2_rest[2];
	__u32 h2_max_stream;	/* highest stream id seen opening in either direction */
	__u32 h2_seq[2];	/* header frames sent to user space, per direction */
	__u64 rtt_ns;		/* when the smoothed RTT was last sampled (see sample_rtt) */
};

/* socks: struct sock * -> its owner, side and peer, until TCP_CLOSE */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct sock_info);
} socks SEC(".maps");

struct ssl_call {
	__u64 ssl;
	__u64 buf;
	__u64 len_ptr;	/* size_t * of the _ex variants, else 0 */
};

/* ssl_active: thread -> the SSL_read/SSL_write it is in (LRU, as active) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct ssl_call);
} ssl_active SEC(".maps");

/* ssl_socks: SSL * -> struct sock *; LRU because SSL_free is not hooked,
 * and a forgotten entry only costs that connection's peer address */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} ssl_socks SEC(".maps");

struct conn_key {
	__u32 tgid;
	__u32 tls;
	__u64 id;	/* struct sock *, or SSL * when tls */
};

struct http_conn {
	__u64 start_ns[NET_PIPELINE];
	__u16 request_len[NET_PIPELINE];
	__u32 head, tail;	/* requests head..tail-1 wait, slot = index % NET_PIPELINE */
	__u8 role[NET_PIPELINE];
	char request[NET_PIPELINE][NET_REQUEST_LEN];
};

/* conns: connection -> its requests waiting for a response */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct conn_key);
	__type(value, struct http_conn);
} conns SEC(".maps");

/* conn_zero[0]: an empty http_conn to create entries from (never written) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct http_conn);
} conn_zero SEC(".maps");

/* h1_keep[0]: struct h1_keep_config, written by user space */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h1_keep_config);
} h1_keep SEC(".maps");

struct h1_head_key {
	struct conn_key conn;
	__u32 slot;	/* the request's slot in its http_conn */
	__u32 pad;
};

/* h1_pending: a waiting request -> its head, while user space keeps
 * requests (h1_keep); deleted when its exchange is sent. Not preallocated:
 * with requests not kept it holds nothing and costs no memory. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct h1_head_key);
	__type(value, struct h1_head_event);
} h1_pending SEC(".maps");

/* h1_key_scratch[0]: the h1_pending key being looked up on this CPU; off
 * the stack, which the TLS probes' call chains fill to the verifier's limit.
 * owner: claimed by compare-and-swap, as h2_calls, since a uprobe run can be
 * preempted by another run on this CPU. */
struct h1_key_slot {
	__u64 owner;
	struct h1_head_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h1_key_slot);
} h1_key_scratch SEC(".maps");


/* h1_head_zero[0]: a blank h1_pending value to create entries from (never written) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h1_head_event);
} h1_head_zero SEC(".maps");

/* h1_heads: struct h1_head_event records of the exchanges that may be kept */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} h1_heads SEC(".maps");

/* tcp0/tcp1: struct net_tcp_key -> struct net_tcp_value, one map per generation */
struct tcp_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct net_tcp_key);
	__type(value, struct net_tcp_value);
};
struct tcp_map tcp0 SEC(".maps");
struct tcp_map tcp1 SEC(".maps");

/* request_stacks: struct request_stack_event records */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} request_stacks SEC(".maps");

/* events: struct http_event records */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* h2_headers: struct h2_header_event records */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} h2_headers SEC(".maps");

/* drops[reason]: see enum net_drop_reason */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NET_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* This CPU's h1_key_scratch, claimed; NULL (counted) when another run holds it. */
static __always_inline struct h1_key_slot *claim_h1_key(void)
{
	__u32 zero = 0;
	struct h1_key_slot *ks = bpf_map_lookup_elem(&h1_key_scratch, &zero);

	if (!ks)
		return NULL;
	if (__sync_val_compare_and_swap(&ks->owner, 0, 1) != 0) {
		percpu_count(&drops, NET_DROP_H1_SCRATCH_BUSY);
		return NULL;
	}
	return ks;
}

static __always_inline bool targeted(__u32 tgid)
{
	__u32 zero = 0;
	struct sampler_control *ctl;

	if (self_tgid && tgid == self_tgid)
		return false;
	if (!filter_tgid)
		return true;
	ctl = bpf_map_lookup_elem(&control, &zero);
	if (ctl && ctl->all_targets)
		return true;
	return bpf_map_lookup_elem(&targets, &tgid) != NULL;
}

/* bpf_rdonly_cast (6.2+): a kernel address as a typed pointer the tp_btf
 * programs load from directly (checked loads, no helper call); weak so the
 * object still loads where it is missing (the raw_tp programs do not use it). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* The TCP socket behind the current task's fd, or NULL for anything else.
 * `btf`: in a tp_btf program, where the walk is direct loads from the
 * current task (one probe-read, of the fd slot) instead of a dozen
 * probe-reads; a constant, so each program keeps one of the two paths. */
static __always_inline struct sock *fd_sock(__u32 fd, bool btf)
{
	struct file **fds;
	struct file *f = NULL;
	struct socket *sock;
	struct sock *sk;
	__u16 family;

	if (btf) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct fdtable *fdt = task->files->fdt;

		if (!fdt || fd >= fdt->max_fds)
			return NULL;
		fds = fdt->fd;
		if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
			return NULL;
		f = bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
		if (!f || (f->f_inode->i_mode & S_IFMT) != S_IFSOCK)
			return NULL;
		sock = bpf_rdonly_cast(f->private_data, bpf_core_type_id_kernel(struct socket));
		if (!sock)
			return NULL;
		sk = sock->sk;
		if (!sk)
			return NULL;
		family = sk->__sk_common.skc_family;
		if ((family != AF_INET && family != AF_INET6) || sk->sk_type != SOCK_STREAM ||
		    sk->sk_protocol != IPPROTO_TCP)
			return NULL;
		return sk;
	}

	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if ((family != AF_INET && family != AF_INET6) || BPF_CORE_READ(sk, sk_type) != SOCK_STREAM ||
	    BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return NULL;
	return sk;
}

/* Both ends of sk: IPv4 addresses in the first 4 bytes, ports host order. */
static __always_inline void read_ends(struct sock *sk, struct sock_ends *e)
{
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->peer_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	__builtin_memset(e->local_addr, 0, 16);
	__builtin_memset(e->peer_addr, 0, 16);
	if (e->family == AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)e->local_addr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)e->peer_addr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO((struct in6_addr *)e->local_addr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)e->peer_addr, sk, __sk_common.skc_v6_daddr);
	}
}

/* A new connection's counters, from the program's data rather than its
 * stack: tcp_counters is inlined into the HTTP/2 walk's bpf_loop callback,
 * whose frame tops the syscall exit's chain of calls (sys_exit, h2_frames,
 * h2_step), and 64 zeroed bytes on it took that chain past 512 bytes. */
const struct net_tcp_value tcp_zero = {};

/* The counters of si's key in the current generation, created at zero. */
static __always_inline struct net_tcp_value *tcp_counters(struct sock_info *si)
{
	struct net_tcp_value *v;
	struct sampler_control *ctl;
	__u32 zero = 0;
	void *tcp;

	ctl = bpf_map_lookup_elem(&control, &zero);
	if (!ctl)
		return NULL;
	tcp = ctl->generation ? (void *)&tcp1 : (void *)&tcp0;
	v = bpf_map_lookup_elem(tcp, &si->key);
	if (v)
		return v;
	/* EEXIST: another CPU made it first; either way it is looked up again */
	bpf_map_update_elem(tcp, &si->key, &tcp_zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(tcp, &si->key);
	if (!v)
		percpu_count(&drops, NET_DROP_TCP_FULL);
	return v;
}

static __always_inline bool same_ends(const struct sock_ends *a, const struct sock_ends *b)
{
	if (a->family != b->family || a->local_port != b->local_port || a->peer_port != b->peer_port)
		return false;
	for (int i = 0; i < 16; i++)
		if (a->local_addr[i] != b->local_addr[i] || a->peer_addr[i] != b->peer_addr[i])
			return false;
	return true;
}

/* Forgets the request heads kept for conn's waiting requests (slots head
 * to tail), as its requests go without an exchange: h1_pending would keep
 * them until full otherwise. */
static __noinline void forget_heads(struct conn_key *key, __u32 head, __u32 tail)
{
	struct h1_keep_config *cfg;
	struct h1_key_slot *ks;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&h1_keep, &zero);
	if (!cfg || !cfg->head_len || !(ks = claim_h1_key()))
		return;
	ks->key.conn = *key;
	ks->key.pad = 0;
	for (int i = 0; i < NET_PIPELINE; i++) {
		if (head == tail)
			break;
		ks->key.slot = head & (NET_PIPELINE - 1);
		bpf_map_delete_elem(&h1_pending, &ks->key);
		head++;
	}
	ks->owner = 0;
}

/* Counts and forgets the requests a gone connection left waiting: on its
 * socket (sk) and, under TLS, on its SSL object (ssl, 0 for none). */
static __always_inline void abandon_requests(__u32 tgid, __u64 sk, __u64 ssl)
{
	struct conn_key key = { .tgid = tgid, .id = sk };
	struct http_conn *conn;

	for (int tls = 0; tls < 2; tls++) {
		if (tls) {
			if (!ssl)
				break;
			key.tls = 1;
			key.id = ssl;
		}
		conn = bpf_map_lookup_elem(&conns, &key);
		if (!conn)
			continue;
		if (conn->tail != conn->head) {
			percpu_add(&drops, NET_DROP_CONNECTION_REUSED, conn->tail - conn->head);
			forget_heads(&key, conn->head, conn->tail);
		}
		bpf_map_delete_elem(&conns, &key);
	}
}

/* Adds sk's smoothed RTT (tcp_sock.srtt_us, 8 times the RTT in us) to the
 * counters, at most once a second per connection: a keep-alive connection
 * that outlives the recording has an RTT too, not only one at its close. */
#define RTT_SAMPLE_NS 1000000000ULL
static __always_inline void sample_rtt(struct sock *sk, struct sock_info *si, struct net_tcp_value *v)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 srtt;

	if (si->rtt_ns && now - si->rtt_ns < RTT_SAMPLE_NS)
		return;
	srtt = BPF_CORE_READ((struct tcp_sock *)sk, srtt_us) >> 3;
	/* 0 until the handshake measured one: asked again at the next call */
	if (!srtt)
		return;
	si->rtt_ns = now;
	__sync_fetch_and_add(&v->rtt_sum_us, srtt);
	__sync_fetch_and_add(&v->rtt_count, 1);
}

/* sk's entry in `socks`, made for tgid on first sight. role < 0: unknown
 * (a connection older than the sampler): the side with the lower port is
 * taken as the server, since clients bind ephemeral ports. */
static __always_inline struct sock_info *sock_info(struct sock *sk, __u32 tgid, int role, bool opened)
{
	__u64 key = (__u64)sk;
	struct sock_info si = {}, *p;
	struct net_tcp_value *v;

	p = bpf_map_lookup_elem(&socks, &key);
	if (p && !opened)
		return p;
	/* its ends are kept with the socket: every exchange on it reports them
	 * without reading sk again */
	read_ends(sk, &si.ends);
	if (p && opened) {
		/* the same ends: the same connection, a second connect() after
		 * EINPROGRESS (it returns 0 once the handshake is done), not a new one */
		if (same_ends(&p->ends, &si.ends))
			return p;
		/* other ends: a reused struct sock whose close was missed (its
		 * program did not run, nested under another); the new connection
		 * starts afresh (HTTP/2 state included) and what the old one left
		 * waiting is counted, not matched to the new one's responses */
		abandon_requests(p->key.tgid, key, p->ssl);
	}
	if (role < 0)
		role = si.ends.local_port < si.ends.peer_port ? NET_ROLE_SERVER : NET_ROLE_CLIENT;
	si.key.tgid = tgid;
	si.key.role = role;
	si.key.family = si.ends.family;
	if (role == NET_ROLE_SERVER) {
		si.key.local_port = si.ends.local_port;
		__builtin_memcpy(si.key.local_addr, si.ends.local_addr, 16);
	} else {
		si.key.peer_port = si.ends.peer_port;
	}
	__builtin_memcpy(si.key.peer_addr, si.ends.peer_addr, 16);
	bpf_map_update_elem(&socks, &key, &si, p ? BPF_ANY : BPF_NOEXIST);
	p = bpf_map_lookup_elem(&socks, &key);
	if (!p) {
		percpu_count(&drops, NET_DROP_SOCKS_FULL);
		return NULL;
	}
	if (opened && (v = tcp_counters(p)))
		__sync_fetch_and_add(&v->opened, 1);
	return p;
}

/* Length of the method of a request line starting at p, or 0. */
static __always_inline int method_len(const char *p)
{
	if (p[0] == 'G' && p[1] == 'E' && p[2] == 'T' && p[3] == ' ')
		return 3;
	if (p[0] == 'P' && p[1] == 'U' && p[2] == 'T' && p[3] == ' ')
		return 3;
	if (p[0] == 'P' && p[1] == 'O' && p[2] == 'S' && p[3] == 'T' && p[4] == ' ')
		return 4;
	if (p[0] == 'H' && p[1] == 'E' && p[2] == 'A' && p[3] == 'D' && p[4] == ' ')
		return 4;
	if (p[0] == 'P' && p[1] == 'A' && p[2] == 'T' && p[3] == 'C' && p[4] == 'H' && p[5] == ' ')
		return 5;
	if (p[0] == 'T' && p[1] == 'R' && p[2] == 'A' && p[3] == 'C' && p[4] == 'E' && p[5] == ' ')
		return 5;
	if (p[0] == 'D' && p[1] == 'E' && p[2] == 'L' && p[3] == 'E' && p[4] == 'T' && p[5] == 'E' && p[6] == ' ')
		return 6;
	if (p[0] == 'O' && p[1] == 'P' && p[2] == 'T' && p[3] == 'I' && p[4] == 'O' && p[5] == 'N' && p[6] == 'S' &&
	    p[7] == ' ')
		return 7;
	if (p[0] == 'C' && p[1] == 'O' && p[2] == 'N' && p[3] == 'N' && p[4] == 'E' && p[5] == 'C' && p[6] == 'T' &&
	    p[7] == ' ')
		return 7;
	return 0;
}

static __always_inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "PRI * HTTP/2.0": the client's HTTP/2 connection preface (RFC 9113, 3.4) */
static __always_inline bool is_h2_preface(const char *p)
{
	return p[0] == 'P' && p[1] == 'R' && p[2] == 'I' && p[3] == ' ' && p[4] == '*' && p[5] == ' ' &&
	       p[6] == 'H' && p[7] == 'T' && p[8] == 'T' && p[9] == 'P' && p[10] == '/' && p[11] == '2';
}

/* steps of a call's walk (a frame header, or the next buffer of a vector
 * call), and buffers of a vector call followed; more and the direction is
 * given up. bpf_loop verifies a step once, so only the run time grows with
 * them: many concurrent streams put a hundred frames in one writev. */
#define H2_STEPS 256
#define H2_IOVECS 128

/* Sends one header frame (or the preface, type NET_H2_PREFACE) of sk to
 * user space with what of its payload is at src (avail bytes). */
static __always_inline void h2_header_out(struct sock_info *si, struct sock *sk, bool tls, __u32 dir, __u8 type,
					  __u8 flags, __u32 sid, __u32 flen, __u64 src, __u64 avail)
{
	struct h2_header_event *e;
	__u64 n = flen < avail ? flen : avail;

	e = bpf_ringbuf_reserve(&h2_headers, sizeof(*e), 0);
	if (!e) {
		/* the seq gap tells user space its HPACK table is out of step */
		si->h2_seq[dir & 1]++;
		percpu_count(&drops, NET_DROP_H2_HEADERS_RING_FULL);
		return;
	}
	if (n > NET_H2_BLOCK_LEN)
		n = NET_H2_BLOCK_LEN;
	if (n && bpf_probe_read_user(e->block, n, (void *)src))
		n = 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->conn = (__u64)sk;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->stream_id = sid;
	e->frame_len = flen;
	e->seq = si->h2_seq[dir & 1]++;
	e->block_len = n;
	e->type = type;
	e->flags = flags;
	e->dir = dir;
	e->tls = tls;
	/* the preface only: a connection's ends do not change */
	put_ends(e, type == NET_H2_PREFACE ? &si->ends : NULL);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* Scalar state of one frame walk. In a map value, not on the stack: loads
 * from it are unknown to the verifier, so the bpf_loop callback converges
 * after one pass instead of one per distinct offset. */
struct h2_walk_state {
	__u64 len;		/* bytes of the call */
	__u64 off;		/* the next frame header, from the start of the call */
	__u64 base;		/* the buffer holding bytes seg_start..seg_end-1 */
	__u64 seg_start, seg_end;
	__u64 iov, iovcnt;	/* a vector call's iovec array, else 0 */
	__u32 k;		/* next iovec */
	__u32 dir;
	__u8 tls;
	__u8 lost;
	__u8 rest;		/* the last frame is a header frame the call ends inside */
	__u64 rest_len;		/* bytes of the previous call's last header frame that begin this call, sent first */
};

/* h2_walk_states[0]: the walk in progress on this CPU, used only by the
 * run that owns h2_calls[0] (h2_call.owner) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h2_walk_state);
} h2_walk_states SEC(".maps");

/* bpf_loop context of a frame walk */
struct h2_walk {
	struct sock_info *si;
	struct sock *sk;
	struct h2_walk_state *st;
};

/* One step of the walk: a frame header, or the next buffer of a vector
 * call. A bpf_loop callback, verified once however many steps run. */
static long h2_step(__u64 i, struct h2_walk *ctx)
{
	struct sock_info *si = ctx->si;
	struct h2_walk_state *w = ctx->st;
	struct net_tcp_value *v;
	struct iovec vec;
	__u64 end, src, avail;
	__u32 flen, sid;
	__u8 h[9], type, flags;

	if (w->rest_len) {
		/* first step: the rest of the previous call's last header frame,
		 * at the start of the first buffer (the walk starts past it) */
		type = NET_H2_REST;
		flags = 0;
		sid = 0;
		flen = w->rest_len;
		src = w->base;
		avail = w->seg_end;
		w->rest_len = 0;
		goto out;
	}
	if (w->off >= w->len)
		return 1;
	if (w->off >= w->seg_end) {
		/* the frame goes on in the vector call's next buffer */
		if (w->k >= w->iovcnt || w->k >= H2_IOVECS ||
		    bpf_probe_read_user(&vec, sizeof(vec), (void *)(w->iov + w->k * sizeof(vec)))) {
			w->lost = 1;
			return 1;
		}
		w->k++;
		w->seg_start = w->seg_end;
		w->seg_end += (__u64)vec.iov_len;
		w->base = (__u64)vec.iov_base;
		return 0;
	}
	end = w->seg_end < w->len ? w->seg_end : w->len;
	/* a header split across calls or buffers */
	if (w->off + 9 > end || bpf_probe_read_user(h, sizeof(h), (void *)(w->base + (w->off - w->seg_start)))) {
		w->lost = 1;
		return 1;
	}
	flen = ((__u32)h[0] << 16) | ((__u32)h[1] << 8) | h[2];
	sid = ((__u32)(h[5] & 0x7f) << 24) | ((__u32)h[6] << 16) | ((__u32)h[7] << 8) | h[8];
	type = h[3];
	flags = h[4];
	if (type == 1 /* HEADERS */ && sid > si->h2_max_stream) {
		si->h2_max_stream = sid;
		v = tcp_counters(si);
		if (v)
			__sync_fetch_and_add(&v->h2_streams, 1);
	}
	src = w->base + (w->off + 9 - w->seg_start);
	avail = end - (w->off + 9);
	/* a header frame whose payload goes on in the next call (written in
	 * two writes, or read before all of it arrived): that part is sent on
	 * too, if the whole frame fits what one record copies */
	w->rest = (type == 1 || type == 9) && w->off + 9 + flen > w->len && flen <= NET_H2_BLOCK_LEN;
	w->off += 9 + flen;
out:
	if (type == 1 || type == 9 /* CONTINUATION */ || type == NET_H2_REST)
		h2_header_out(si, ctx->sk, w->tls, w->dir, type, flags, sid, flen, src, avail);
	return 0;
}

/* One call's bytes on an HTTP/2 connection, for h2_frames. */
struct h2_call {
	/* non-zero while a program run uses this CPU's h2_calls and
	 * h2_walk_states: a uprobe program is preemptible (PREEMPT kernels;
	 * only migration is disabled), and another task's run on this CPU
	 * would overwrite the walk under it. Claimed by compare-and-swap. */
	__u64 owner;
	__u64 sk;		/* struct sock *, its key in `socks` */
	__u64 buf, len, readable;
	__u64 iov, iovcnt;
	__u32 start;		/* 24 past the preface, which is sent first, else 0 */
	__u8 is_write;
	__u8 tls;
};

/* h2_calls[0]: the call being walked on this CPU. Not on the stack: with a
 * Go TLS return probe's frame under it, the walk's chain passed 512 bytes. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h2_call);
} h2_calls SEC(".maps");

/* Walks the HTTP/2 frame headers of a call's bytes (RFC 9113, 4.1: 24-bit
 * length, type, flags, 31-bit stream id), from `start` past what the
 * previous call left of its last frame; counts HEADERS frames that open a
 * stream (an id above every id seen: the response's HEADERS reuse the
 * request's) and sends HEADERS and CONTINUATION payloads to user space. The
 * first `readable` bytes are at buf; a vector call's next buffers come from
 * its iovec array `iov` (iovcnt entries, 0 for other calls). A global
 * function: verified once, not once per path of the syscall exit reaching
 * it, which the frame loop would multiply past the verifier's limit. */
__noinline int h2_frames(struct h2_call *c)
{
	struct h2_walk w = {};
	struct h2_walk_state *st;
	struct sock_info *si;
	__u32 dir, zero = 0;
	__u64 skey;

	if (!c)
		return 0;
	skey = c->sk;
	si = bpf_map_lookup_elem(&socks, &skey);
	st = bpf_map_lookup_elem(&h2_walk_states, &zero);
	if (!si || !st)
		return 0;
	dir = c->is_write ? 1 : 0;
	if (c->start)
		h2_header_out(si, (struct sock *)skey, c->tls, dir, NET_H2_PREFACE, 0, 0, 0, 0, 0);
	if (si->h2_lost[dir & 1])
		return 0;
	/* the rest of the header frame the previous call ended inside, as far
	 * as this call has it: the walk's first step sends it (here, a second
	 * copy of h2_header_out passed the 512-byte stack under a Go TLS probe) */
	st->rest_len = 0;
	if (si->h2_rest[dir & 1]) {
		st->rest_len = si->h2_skip[dir & 1] < c->len ? si->h2_skip[dir & 1] : c->len;
		/* still more to come in the next call: sent on from there */
		si->h2_rest[dir & 1] = si->h2_skip[dir & 1] > c->len;
	}
	st->len = c->len;
	st->off = (__u64)c->start + si->h2_skip[dir & 1];
	st->base = c->buf;
	st->seg_start = 0;
	st->seg_end = c->readable;
	st->iov = c->iov;
	st->iovcnt = c->iovcnt;
	st->k = 1;
	st->dir = dir;
	st->tls = c->tls;
	st->lost = 0;
	st->rest = 0;
	w.si = si;
	w.sk = (struct sock *)skey;
	w.st = st;
	bpf_loop(H2_STEPS, h2_step, &w, 0);
	if (st->lost || st->off < st->len) {
		si->h2_lost[dir & 1] = 1;
		percpu_count(&drops, NET_DROP_H2_UNFOLLOWED);
		return 0;
	}
	si->h2_skip[dir & 1] = st->off - st->len;
	if (st->rest)
		si->h2_rest[dir & 1] = 1;
	return 0;
}

/* "HTTP/1.x NNN" */
static __always_inline bool is_status_line(const char *p)
{
	return p[0] == 'H' && p[1] == 'T' && p[2] == 'T' && p[3] == 'P' && p[4] == '/' && p[5] == '1' &&
	       p[6] == '.' && is_digit(p[7]) && p[8] == ' ' && is_digit(p[9]) && is_digit(p[10]) &&
	       is_digit(p[11]);
}

/* The thread's slot in `active` (see there). */
static __always_inline struct active_call *thread_slot(__u32 tid)
{
	__u32 slot = tid & (ACTIVE_SLOTS - 1);

	return bpf_map_lookup_elem(&active, &slot);
}

/* Copies the first bytes of conn's newest request (head_len of h1_keep, of
 * the `readable` at buf) into h1_pending, when user space keeps requests:
 * one user copy into the map value, no scanning here. lead >= 0: a byte
 * read before buf (Go's one-byte Read), put first. */
static __always_inline void copy_head(struct h1_keep_config *cfg, struct h1_head_key *hk, struct conn_key *key,
				      struct http_conn *conn, __u64 buf, __u64 readable, int lead)
{
	__u32 slot = conn->tail & (NET_PIPELINE - 1);
	__u64 start_ns = conn->start_ns[slot];
	struct h1_head_event *v;
	__u32 zero = 0, n, off = 0;
	void *init;

	hk->conn = *key;
	hk->slot = slot;
	hk->pad = 0;
	v = bpf_map_lookup_elem(&h1_pending, hk);
	if (!v) {
		init = bpf_map_lookup_elem(&h1_head_zero, &zero);
		if (!init)
			return;
		bpf_map_update_elem(&h1_pending, hk, init, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&h1_pending, hk);
		if (!v) {
			percpu_count(&drops, NET_DROP_H1_HEADS_FULL);
			return;
		}
	}
	n = cfg->head_len;
	/* the lead byte is one of head_len's */
	if (lead >= 0 && n > 0)
		n--;
	if (readable < n)
		n = readable;
	/* a clamp, not a mask: a whole NET_H1_HEAD_MAX must stay itself, not become 0 */
	if (lead >= 0) {
		v->head[0] = lead;
		off = 1;
		bpf_clamp_umax(n, NET_H1_HEAD_MAX - 1);
		if (bpf_probe_read_user(v->head + 1, n, (void *)buf))
			n = 0;
	} else {
		bpf_clamp_umax(n, NET_H1_HEAD_MAX);
		if (bpf_probe_read_user(v->head, n, (void *)buf))
			n = 0;
	}
	v->head_len = n + off;
	v->start_ns = start_ns;
	v->tgid = key->tgid;
}

/* copy_head with this CPU's key scratch claimed. Not inlined, as send_head:
 * the TLS probes' frames are at the verifier's stack limit. */
static __noinline void keep_head(struct conn_key *key, struct http_conn *conn, __u64 buf, __u64 readable, int lead)
{
	struct h1_keep_config *cfg;
	struct h1_key_slot *ks;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&h1_keep, &zero);
	if (!cfg || !cfg->head_len || !buf || !(ks = claim_h1_key()))
		return;
	copy_head(cfg, &ks->key, key, conn, buf, readable, lead);
	ks->owner = 0;
}

/* Sends the head h1_pending holds for conn's oldest request to user space,
 * when its exchange may be kept (no response, a status or a duration at least
 * h1_keep's), and forgets it; true when sent. */
static __always_inline bool send_kept_head(struct h1_keep_config *cfg, struct h1_head_key *hk, struct conn_key *key,
					   struct http_conn *conn, const char *status)
{
	__u32 slot = conn->head & (NET_PIPELINE - 1);
	__u64 start_ns = conn->start_ns[slot], now = bpf_ktime_get_ns();
	struct h1_head_event *v;
	__u32 code, len;
	bool sent = false;

	hk->conn = *key;
	hk->slot = slot;
	hk->pad = 0;
	v = bpf_map_lookup_elem(&h1_pending, hk);
	if (!v)
		return false;
	code = status ? (status[9] - '0') * 100 + (status[10] - '0') * 10 + (status[11] - '0') : 0;
	if (v->start_ns == start_ns && (!status || code >= cfg->min_status || now - start_ns >= cfg->min_duration_ns)) {
		len = v->head_len;
		bpf_clamp_umax(len, NET_H1_HEAD_MAX);
		if (bpf_ringbuf_output(&h1_heads, v, offsetof(struct h1_head_event, head) + len, BPF_RB_NO_WAKEUP))
			percpu_count(&drops, NET_DROP_H1_HEADS_RING_FULL);
		else
			sent = true;
	}
	bpf_map_delete_elem(&h1_pending, hk);
	return sent;
}

static __noinline bool send_head(struct conn_key *key, struct http_conn *conn, const char *status)
{
	struct h1_keep_config *cfg;
	struct h1_key_slot *ks;
	__u32 zero = 0;
	bool sent;

	cfg = bpf_map_lookup_elem(&h1_keep, &zero);
	if (!cfg || !cfg->head_len || !(ks = claim_h1_key()))
		return false;
	sent = send_kept_head(cfg, &ks->key, key, conn, status);
	ks->owner = 0;
	return sent;
}

/* Queues a request line on its connection: its first n bytes, in head; its
 * buffer (buf, readable bytes, after a `lead` byte when >= 0) for keep_head. */
static __always_inline void on_request(struct conn_key *key, bool is_write, const char *head, __u32 n, __u64 buf,
				       __u64 readable, int lead)
{
	struct http_conn *conn;
	__u32 zero = 0, slot;
	void *init;

	conn = bpf_map_lookup_elem(&conns, key);
	if (!conn) {
		init = bpf_map_lookup_elem(&conn_zero, &zero);
		if (!init)
			return;
		bpf_map_update_elem(&conns, key, init, BPF_NOEXIST);
		conn = bpf_map_lookup_elem(&conns, key);
		if (!conn) {
			percpu_count(&drops, NET_DROP_CONNS_FULL);
			return;
		}
	}
	if (conn->tail - conn->head >= NET_PIPELINE) {
		percpu_count(&drops, NET_DROP_PIPELINE_FULL);
		return;
	}
	slot = conn->tail & (NET_PIPELINE - 1);
	__builtin_memcpy(conn->request[slot], head, NET_REQUEST_LEN);
	conn->start_ns[slot] = bpf_ktime_get_ns();
	conn->request_len[slot] = n;
	conn->role[slot] = is_write ? NET_ROLE_CLIENT : NET_ROLE_SERVER;
	keep_head(key, conn, buf, readable, lead);
	conn->tail++;
	if (want_request_stacks && !is_write) {
		/* this thread serves the request until it writes a response: its on-CPU samples are the request's */
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		struct active_call *a = thread_slot(tid);

		if (a) {
			a->serving_start_ns = conn->start_ns[slot];
			a->serving_tid = tid;
		}
	}
}

/* Sends the oldest waiting request of conn with what ended it: the status
 * line in `status` (n bytes), or none when the connection closed. The ends
 * come from the socket's entry (none when it is unknown). */
static __always_inline void emit(struct http_conn *conn, struct conn_key *key, __u8 flags, struct sock_info *si,
				 const char *status, __u32 n)
{
	struct http_event *out;
	__u32 slot = conn->head & (NET_PIPELINE - 1), tgid = key->tgid;

	/* first: user space reads it before the exchange that names it */
	if (send_head(key, conn, status))
		flags |= NET_F_HEAD;
	conn->head++;
	out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);
	if (!out) {
		percpu_count(&drops, NET_DROP_RINGBUF_FULL);
		return;
	}
	out->start_ns = conn->start_ns[slot];
	out->end_ns = bpf_ktime_get_ns();
	out->tgid = tgid;
	out->tid = (__u32)bpf_get_current_pid_tgid();
	out->role = conn->role[slot];
	out->flags = flags;
	out->request_len = conn->request_len[slot];
	__builtin_memcpy(out->request, conn->request[slot], NET_REQUEST_LEN);
	out->response_len = n;
	if (status)
		__builtin_memcpy(out->response, status, NET_RESPONSE_LEN);
	else
		__builtin_memset(out->response, 0, NET_RESPONSE_LEN);
	bpf_get_current_comm(out->comm, sizeof(out->comm));
	put_ends(out, si ? &si->ends : NULL);
	/* user space polls on a timer: no wakeup per event */
	bpf_ringbuf_submit(out, BPF_RB_NO_WAKEUP);
}

static __always_inline void on_response(struct conn_key *key, bool is_write, struct sock_info *si,
					const char *status, __u32 n)
{
	struct http_conn *conn = bpf_map_lookup_elem(&conns, key);
	__u32 slot;

	if (!conn || conn->head == conn->tail) {
		percpu_count(&drops, NET_DROP_NO_REQUEST);
		return;
	}
	slot = conn->head & (NET_PIPELINE - 1);
	/* a server writes its responses, a client reads them */
	if (conn->role[slot] != (is_write ? NET_ROLE_SERVER : NET_ROLE_CLIENT)) {
		percpu_count(&drops, NET_DROP_NO_REQUEST);
		return;
	}
	if (want_request_stacks && is_write) {
		struct active_call *a = thread_slot((__u32)bpf_get_current_pid_tgid());

		if (a)
			a->serving_tid = 0;
	}
	emit(conn, key, key->tls ? NET_F_TLS : 0, si, status, n < NET_RESPONSE_LEN ? n : NET_RESPONSE_LEN);
}

/* Classifies the first bytes of a buffer that went through a connection
 * (sk's entry si, when known); `readable` bytes of the len are at buf (all
 * but for vector calls). */
static __always_inline void on_data(__u32 tgid, __u64 id, bool tls, struct sock *sk, struct sock_info *si, __u64 buf,
				    long len, __u64 readable, struct pt_regs *regs, __u32 nr, bool is_write)
{
	struct conn_key key = { .tgid = tgid, .tls = tls, .id = id };
	/* on the stack: one user copy per buffer, into the destination the
	 * kernel's usercopy checks clear fastest */
	char head[NET_REQUEST_LEN] = {};
	__u32 n, h2_start = 0;

	if (!buf || len <= 0)
		return;
	if (si && sk && si->key.proto == NET_PROTO_HTTP2)
		goto h2;
	if (len < 12)
		return;
	n = len > NET_REQUEST_LEN ? NET_REQUEST_LEN : len;
	if (bpf_probe_read_user(head, n, (void *)buf))
		return;
	if (method_len(head)) {
		on_request(&key, is_write, head, n, buf, readable, -1);
	} else if (is_h2_preface(head)) {
		/* the connection's bytes count as h2 from here, and its frames are walked past the 24-byte preface */
		if (si && sk) {
			si->key.proto = NET_PROTO_HTTP2;
			h2_start = 24;
			goto h2;
		}
	}
	else if (is_status_line(head))
		on_response(&key, is_write, si, head, n);
	return;
h2:
	{
		__u32 zero = 0;
		struct h2_call *call = bpf_map_lookup_elem(&h2_calls, &zero);
		__u64 msg, iov = 0, iovcnt = 0;

		if (!call)
			return;
		if (__sync_val_compare_and_swap(&call->owner, 0, 1) != 0) {
			/* the walk cannot be made: the direction is out of step from here */
			si->h2_lost[is_write ? 1 : 0] = 1;
			percpu_count(&drops, NET_DROP_SCRATCH_BUSY);
			return;
		}
		/* a vector call's frames are followed past its first buffer (the
		 * saved user registers still hold the syscall's arguments at exit) */
		if (regs && (__u64)len > readable) {
			if (nr == NR_readv || nr == NR_writev) {
				iov = PT_REGS_PARM2_CORE_SYSCALL(regs);
				iovcnt = PT_REGS_PARM3_CORE_SYSCALL(regs);
			} else if (nr == NR_sendmsg || nr == NR_recvmsg) {
				msg = PT_REGS_PARM2_CORE_SYSCALL(regs);
				if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(msg + offsetof(struct user_msghdr, msg_iov))) ||
				    bpf_probe_read_user(&iovcnt, sizeof(iovcnt), (void *)(msg + offsetof(struct user_msghdr, msg_iovlen))))
					iov = iovcnt = 0;
			}
		}
		call->sk = (__u64)sk;
		call->buf = buf;
		call->len = len;
		call->readable = readable;
		call->iov = iov;
		call->iovcnt = iovcnt;
		call->start = h2_start;
		call->is_write = is_write;
		call->tls = tls;
		h2_frames(call);
		/* released: nothing of the walk is read after this */
		call->owner = 0;
	}
}

static __always_inline bool in_family(long id)
{
	switch (id) {
	case NR_read: case NR_write: case NR_sendto: case NR_recvfrom: case NR_readv: case NR_writev:
	case NR_sendmsg: case NR_recvmsg: case NR_sendfile: case NR_connect: case NR_accept: case NR_accept4:
		return true;
	}
	return false;
}

/* `btf`: regs is a BTF pointer (tp_btf) and is loaded from directly. The
 * order is the cheapest rejection first: every syscall of the host passes
 * here, a register compare turns most away, a map lookup the rest of the
 * processes not followed; only then are the arguments read. */
static __always_inline int on_enter(struct pt_regs *regs, long id, bool btf)
{
	__u64 pid_tgid, buf = 0, buf_len = 0, arg2;
	__u32 zero = 0, *epoch;
	struct active_call *p;
	struct user_msghdr msg;
	struct iovec iov;
	__u32 fd;

	if (!in_family(id))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	p = thread_slot((__u32)pid_tgid);
	epoch = bpf_map_lookup_elem(&targets_epoch, &zero);
	if (!p || !epoch)
		return 0;
	/* the epoch is read before `targets`: an answer from a map older than it is asked again */
	if (p->known_pid_tgid != pid_tgid || p->known_epoch != *epoch) {
		p->known_epoch = *epoch;
		p->known_targeted = targeted(pid_tgid >> 32);
		p->known_pid_tgid = pid_tgid;
	}
	if (!p->known_targeted)
		return 0;
	if (btf) {
		fd = regs->di;
		arg2 = regs->si;
	} else {
		fd = PT_REGS_PARM1_CORE_SYSCALL(regs);
		arg2 = PT_REGS_PARM2_CORE_SYSCALL(regs);
	}
	switch (id) {
	case NR_read: case NR_write: case NR_sendto: case NR_recvfrom:
		buf = arg2;
		break;
	case NR_readv: case NR_writev:
		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)arg2))
			return 0;
		buf = (__u64)iov.iov_base;
		buf_len = iov.iov_len;
		break;
	case NR_sendmsg: case NR_recvmsg:
		if (bpf_probe_read_user(&msg, sizeof(msg), (void *)arg2) ||
		    bpf_probe_read_user(&iov, sizeof(iov), msg.msg_iov))
			return 0;
		buf = (__u64)iov.iov_base;
		buf_len = iov.iov_len;
		break;
	}
	if (p->pid_tgid && p->pid_tgid != pid_tgid) {
		percpu_count(&drops, NET_DROP_ACTIVE_FULL);
		return 0;
	}
	p->buf = buf;
	p->buf_len = buf_len;
	p->fd = fd;
	p->nr = id;
	p->pid_tgid = pid_tgid;
	return 0;
}

static __always_inline int on_exit(struct pt_regs *regs, long ret, bool btf)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct active_call *p;
	struct sock_info *si;
	struct ssl_call *ssl;
	struct net_tcp_value *v;
	struct sock *sk;
	bool is_write, in_ssl;
	__u64 skey, buf, buf_len;
	__u32 nr, fd;

	p = thread_slot((__u32)pid_tgid);
	if (!p || p->pid_tgid != pid_tgid)
		return 0;
	nr = p->nr;
	fd = p->fd;
	buf = p->buf;
	buf_len = p->buf_len;
	in_ssl = p->ssl_pid_tgid == pid_tgid;
	/* released once read: a thread sharing the slot may claim it from here */
	p->pid_tgid = 0;
	if (nr == NR_accept || nr == NR_accept4) {
		if (ret >= 0 && (sk = fd_sock(ret, btf)))
			sock_info(sk, tgid, NET_ROLE_SERVER, true);
		return 0;
	}
	if (nr == NR_connect) {
		/* EINPROGRESS: a non-blocking connect on its way */
		if ((ret == 0 || ret == -115) && (sk = fd_sock(fd, btf)))
			sock_info(sk, tgid, NET_ROLE_CLIENT, true);
		return 0;
	}
	if (ret <= 0)
		return 0;
	sk = fd_sock(fd, btf);
	if (!sk)
		return 0;
	si = sock_info(sk, tgid, -1, false);
	if (!si)
		return 0;
	is_write = nr == NR_write || nr == NR_writev || nr == NR_sendto || nr == NR_sendmsg || nr == NR_sendfile;
	v = tcp_counters(si);
	if (v) {
		if (is_write)
			__sync_fetch_and_add(&v->bytes_sent, ret);
		else
			__sync_fetch_and_add(&v->bytes_received, ret);
		sample_rtt(sk, si, v);
	}
	ssl = in_ssl ? bpf_map_lookup_elem(&ssl_active, &pid_tgid) : NULL;
	if (ssl) {
		/* ciphertext of an SSL call: it names the SSL object's socket */
		skey = (__u64)sk;
		bpf_map_update_elem(&ssl_socks, &ssl->ssl, &skey, BPF_ANY);
		si->ssl = ssl->ssl;
		return 0;
	}
	/* a socket under TLS (an SSL object or a Go tls.Conn named it) carries
	 * ciphertext outside the probed calls too (Go's syscalls are never
	 * inside one): its plaintext comes from the uprobes, and a TLS record
	 * walked as HTTP/2 frames would wreck that connection's walk */
	if (si->ssl)
		return 0;
	on_data(tgid, (__u64)sk, false, sk, si, buf, ret, buf_len && buf_len < (__u64)ret ? buf_len : (__u64)ret,
		regs, nr, is_write);
	return 0;
}

/* tp_btf (5.5+; with bpf_rdonly_cast, 6.2+): direct loads; user space
 * attaches these, or the raw_tp pair below where they do not load. */
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id)
{
	return on_enter(regs, id, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	return on_exit(regs, ret, true);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	return on_enter(regs, id, false);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	return on_exit(regs, ret, false);
}

/* Sends what closed connections left unanswered, then forgets them. */
static __always_inline void flush_conn(struct conn_key *key, struct sock_info *si)
{
	struct http_conn *conn = bpf_map_lookup_elem(&conns, key);

	if (!conn)
		return;
	for (int i = 0; i < NET_PIPELINE; i++) {
		if (conn->head == conn->tail)
			break;
		emit(conn, key, NET_F_NO_RESPONSE | (key->tls ? NET_F_TLS : 0), si, NULL, 0);
	}
	bpf_map_delete_elem(&conns, key);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
	__u64 skey = (__u64)sk;
	struct conn_key key = {};
	struct sock_info *si;
	struct net_tcp_value *v;
	__u32 srtt;

	if (newstate != TCP_CLOSE)
		return 0;
	si = bpf_map_lookup_elem(&socks, &skey);
	if (!si)
		return 0;
	v = tcp_counters(si);
	if (v) {
		__sync_fetch_and_add(&v->closed, 1);
		srtt = BPF_CORE_READ((struct tcp_sock *)sk, srtt_us) >> 3;
		if (srtt) {
			__sync_fetch_and_add(&v->rtt_sum_us, srtt);
			__sync_fetch_and_add(&v->rtt_count, 1);
		}
	}
	key.tgid = si->key.tgid;
	key.id = skey;
	flush_conn(&key, si);
	if (si->ssl) {
		key.tls = 1;
		key.id = si->ssl;
		flush_conn(&key, si);
		bpf_map_delete_elem(&ssl_socks, &si->ssl);
	}
	bpf_map_delete_elem(&socks, &skey);
	return 0;
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_skb, struct sock *sk, struct sk_buff *skb)
{
	__u64 skey = (__u64)sk;
	struct sock_info *si = bpf_map_lookup_elem(&socks, &skey);
	struct net_tcp_value *v;

	if (si && (v = tcp_counters(si)))
		__sync_fetch_and_add(&v->retransmits, 1);
	return 0;
}

/* TLS: the plaintext of SSL_read/SSL_write, on the connection of its SSL * */

static __always_inline int ssl_enter(void *ssl, void *buf, void *len_ptr)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ssl_call c = { .ssl = (__u64)ssl, .buf = (__u64)buf, .len_ptr = (__u64)len_ptr };
	struct active_call *a;

	if (!targeted(pid_tgid >> 32))
		return 0;
	if (bpf_map_update_elem(&ssl_active, &pid_tgid, &c, BPF_ANY)) {
		percpu_count(&drops, NET_DROP_ACTIVE_FULL);
		return 0;
	}
	/* the syscalls of this call look the call up only when this says so */
	a = thread_slot((__u32)pid_tgid);
	if (a)
		a->ssl_pid_tgid = pid_tgid;
	return 0;
}

/* ret: bytes for SSL_read/SSL_write, 1 for success of the _ex variants */
static __always_inline int ssl_exit(long ret, bool is_write)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ssl_call *p, c;
	struct sock_info *si = NULL;
	struct sock *sk = NULL;
	struct active_call *a;
	__u64 *skp, len = ret, skey;

	p = bpf_map_lookup_elem(&ssl_active, &pid_tgid);
	if (!p)
		return 0;
	c = *p;
	bpf_map_delete_elem(&ssl_active, &pid_tgid);
	a = thread_slot((__u32)pid_tgid);
	if (a && a->ssl_pid_tgid == pid_tgid)
		a->ssl_pid_tgid = 0;
	if (ret <= 0)
		return 0;
	if (c.len_ptr && bpf_probe_read_user(&len, sizeof(len), (void *)c.len_ptr))
		return 0;
	skp = bpf_map_lookup_elem(&ssl_socks, &c.ssl);
	/* a socket that closed (or was never seen) has no ends to report */
	if (skp) {
		skey = *skp;
		si = bpf_map_lookup_elem(&socks, &skey);
	}
	if (si)
		sk = (struct sock *)skey;
	on_data(pid_tgid >> 32, c.ssl, true, sk, si, c.buf, len, len, NULL, 0, is_write);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buf, int num)
{
	return ssl_enter(ssl, buf, NULL);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	return ssl_enter(ssl, buf, readbytes);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_exit, int ret)
{
	return ssl_exit(ret, false);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, const void *buf, int num)
{
	return ssl_enter(ssl, (void *)buf, NULL);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, const void *buf, size_t num, size_t *written)
{
	return ssl_enter(ssl, (void *)buf, written);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_exit, int ret)
{
	return ssl_exit(ret, true);
}

/* SSL_set_fd(ssl, fd): nginx's way of giving a connection to OpenSSL */
SEC("uprobe")
int BPF_KPROBE(ssl_set_fd, void *ssl, int fd)
{
	__u64 key = (__u64)ssl, skey;
	struct sock_info *si;
	struct sock *sk;

	if (!targeted(bpf_get_current_pid_tgid() >> 32) || !(sk = fd_sock(fd, false)))
		return 0;
	skey = (__u64)sk;
	bpf_map_update_elem(&ssl_socks, &key, &skey, BPF_ANY);
	si = bpf_map_lookup_elem(&socks, &skey);
	if (si)
		si->ssl = key;
	return 0;
}

/* Go crypto/tls: uprobes on tls.(*Conn).Write and Read of a Go binary,
 * Go 1.17+ register ABI on amd64 (receiver RAX, []byte RBX/RCX/RDI; at
 * return n in RAX; the goroutine in R14). No uretprobes: they overwrite a
 * return address on a goroutine stack the runtime may move, so Read's
 * returns are probed at each RET instruction instead. */

/* The fd behind a tls.Conn, through offsets stable since Go 1.9: the
 * net.Conn interface's data word (+8) is a *net.TCPConn, whose first word
 * is its *netFD, whose poll.FD.Sysfd is at +16 (after the fdMutex). */
#define GO_IFACE_DATA 8
#define GO_POLL_FD_SYSFD 16

struct go_read_key {
	__u32 tgid;
	__u32 pad;
	__u64 g;	/* the runtime.g of the goroutine (R14) */
};

struct go_read {
	__u64 conn;	/* *tls.Conn */
	__u64 buf;
};

/* go_reads: (tgid, goroutine) -> its tls.(*Conn).Read; by goroutine, not
 * thread, since a goroutine blocked in Read resumes on any thread. LRU: a
 * Read still waiting when the recording stops is never returned from. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct go_read_key);
	__type(value, struct go_read);
} go_reads SEC(".maps");

static __always_inline struct sock *go_conn_sock(__u64 conn)
{
	__u64 data = 0, netfd = 0;
	__s64 sysfd = -1;

	if (bpf_probe_read_user(&data, sizeof(data), (void *)(conn + GO_IFACE_DATA)) || !data)
		return NULL;
	if (bpf_probe_read_user(&netfd, sizeof(netfd), (void *)data) || !netfd)
		return NULL;
	if (bpf_probe_read_user(&sysfd, sizeof(sysfd), (void *)(netfd + GO_POLL_FD_SYSFD)) || sysfd < 0 ||
	    sysfd > 0x7fffffff)
		return NULL;
	return fd_sock(sysfd, false);
}

/* go_head_byte: *tls.Conn -> the one byte its last Read returned. net/http's
 * server reads one byte in the background while a handler runs (to see the
 * client go away), so on a keep-alive connection the next request's first
 * byte comes alone and the rest in the following Read. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} go_head_byte SEC(".maps");

/* A Read that follows a one-byte Read: its head is that byte then its own
 * bytes, classified as on_data does for HTTP/1.x. */
/* Not inlined: its copy of the head gets a frame of its own, not one on top
 * of on_data's and the HTTP/2 walk's (512 bytes for the whole call chain). */
static __noinline void go_tls_joined_read(struct conn_key *key, struct sock_info *si, __u8 first, __u64 buf, long len)
{
	char head[NET_REQUEST_LEN] = {};
	__u32 n;

	if (len + 1 < 12)
		return;
	n = len > NET_REQUEST_LEN - 1 ? NET_REQUEST_LEN - 1 : len;
	head[0] = first;
	if (bpf_probe_read_user(head + 1, n, (void *)buf))
		return;
	if (method_len(head))
		on_request(key, false, head, n + 1, buf, len, first);
	else if (is_status_line(head))
		on_response(key, false, si, head, n + 1);
}

/* Plaintext of one tls.Conn call: the tls.Conn is the connection's id, its
 * socket (when found) gives the ends and flushes it at close, as SSL_set_fd. */
static __always_inline void go_tls_data(__u32 tgid, __u64 conn, __u64 buf, long len, bool is_write)
{
	struct conn_key key = { .tgid = tgid, .tls = 1, .id = conn };
	struct sock *sk = go_conn_sock(conn);
	struct sock_info *si = NULL;
	__u64 skey = (__u64)sk;
	__u8 *head, first;

	if (sk) {
		si = bpf_map_lookup_elem(&socks, &skey);
		/* a closed socket has lost its port: no entry made for it (none would be removed) */
		if (!si && BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_CLOSE)
			si = sock_info(sk, tgid, -1, false);
	}

	if (si)
		si->ssl = conn;
	else
		percpu_count(&drops, NET_DROP_GO_TLS_FD_UNKNOWN);
	if (!is_write && len == 1) {
		if (!bpf_probe_read_user(&first, 1, (void *)buf))
			bpf_map_update_elem(&go_head_byte, &conn, &first, BPF_ANY);
		return;
	}
	if (!is_write && (!si || si->key.proto != NET_PROTO_HTTP2) && (head = bpf_map_lookup_elem(&go_head_byte, &conn))) {
		first = *head;
		bpf_map_delete_elem(&go_head_byte, &conn);
		go_tls_joined_read(&key, si, first, buf, len);
		return;
	}
	on_data(tgid, conn, true, si ? sk : NULL, si, buf, len, len, NULL, 0, is_write);
}

/* EFLAGS bits (arch/x86/include/uapi/asm/processor-flags.h) */
#define X86_EFLAGS_CF 0x0001
#define X86_EFLAGS_ZF 0x0040

/* The entry probes sit on the `jbe` of the function's stack check, which the
 * kernel emulates: taken (CF or ZF), the goroutine grows its stack in
 * morestack and the function starts over, so that pass is not the call. */
static __always_inline bool go_stack_grows(struct pt_regs *ctx)
{
	return ctx->flags & (X86_EFLAGS_CF | X86_EFLAGS_ZF);
}

SEC("uprobe")
int go_tls_write(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (go_stack_grows(ctx) || !targeted(tgid))
		return 0;
	/* the whole plaintext is at entry; Write returns only once all of it is sent or failed */
	go_tls_data(tgid, ctx->ax, ctx->bx, (long)ctx->cx, true);
	return 0;
}

SEC("uprobe")
int go_tls_read_enter(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct go_read_key key = { .tgid = tgid, .g = ctx->r14 };
	struct go_read r = { .conn = ctx->ax, .buf = ctx->bx };

	if (go_stack_grows(ctx) || !targeted(tgid))
		return 0;
	if (bpf_map_update_elem(&go_reads, &key, &r, BPF_ANY))
		percpu_count(&drops, NET_DROP_ACTIVE_FULL);
	return 0;
}

/* at each RET of tls.(*Conn).Read: RAX = n */
SEC("uprobe")
int go_tls_read_return(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct go_read_key key = { .tgid = tgid, .g = ctx->r14 };
	struct go_read *p, r;
	long n = (long)ctx->ax;

	if (!targeted(tgid))
		return 0;
	p = bpf_map_lookup_elem(&go_reads, &key);
	if (!p) {
		percpu_count(&drops, NET_DROP_GO_TLS_READ_NO_ENTRY);
		return 0;
	}
	r = *p;
	bpf_map_delete_elem(&go_reads, &key);
	if (n > 0)
		go_tls_data(tgid, r.conn, r.buf, n, false);
	return 0;
}

/* On-CPU samples of threads serving a request (cpu-clock perf events, when
 * user space attaches them): the stacks of slow requests. */
SEC("perf_event")
int request_sample(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct request_stack_event *e;
	struct active_call *a;
	long n;

	a = thread_slot(tid);
	if (!a || !tid || a->serving_tid != tid)
		return 0;
	e = bpf_ringbuf_reserve(&request_stacks, sizeof(*e), 0);
	if (!e) {
		percpu_count(&drops, NET_DROP_STACKS_RING_FULL);
		return 0;
	}
	e->start_ns = a->serving_start_ns;
	e->tgid = pid_tgid >> 32;
	e->tid = tid;
	n = bpf_get_stack(ctx, e->user, sizeof(e->user), BPF_F_USER_STACK);
	e->user_len = n > 0 ? n : 0;
	n = bpf_get_stack(ctx, e->kernel, sizeof(e->kernel), 0);
	e->kernel_len = n > 0 ? n : 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
