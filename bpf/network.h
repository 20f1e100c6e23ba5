/* What the network sampler shares with user space (src/samplers/
 * network-layout.ts); fixed-width types only. */
#ifndef __NETWORK_H
#define __NETWORK_H

#define NET_COMM_LEN 16
/* bytes kept of a request's first line, and of a response's status line */
#define NET_REQUEST_LEN 96
#define NET_RESPONSE_LEN 16
/* requests a connection may have waiting for their responses (pipelining) */
#define NET_PIPELINE 4

enum net_role {
	NET_ROLE_SERVER = 0,	/* this process read the request and wrote the response */
	NET_ROLE_CLIENT = 1,	/* this process wrote the request and read the response */
};

enum net_proto {
	NET_PROTO_UNKNOWN = 0,	/* HTTP/1.x, or not seen to be HTTP at all */
	NET_PROTO_HTTP2 = 1,	/* the HTTP/2 connection preface went through */
};

/* http_event.flags */
#define NET_F_TLS 1		/* plaintext seen through SSL_read/SSL_write */
#define NET_F_NO_RESPONSE 2	/* the connection closed with this request unanswered */
#define NET_F_HEAD 4		/* its request head went to `h1_heads` first (an h1_head_event) */

/* Index of the per-CPU `drops` array: why something was lost. */
enum net_drop_reason {
	NET_DROP_RINGBUF_FULL = 0,	/* an exchange lost: ring buffer full */
	NET_DROP_CONNS_FULL = 1,	/* a request lost: `conns` full */
	NET_DROP_PIPELINE_FULL = 2,	/* a request lost: NET_PIPELINE already waiting */
	NET_DROP_NO_REQUEST = 3,	/* a response whose request was not seen (before start) */
	NET_DROP_TCP_FULL = 4,		/* TCP counters lost: `tcp0/1` full */
	NET_DROP_SOCKS_FULL = 5,	/* a connection not followed: `socks` full */
	NET_DROP_ACTIVE_FULL = 6,	/* a syscall not followed: its `active` slot was taken */
	NET_DROP_H2_UNFOLLOWED = 7,	/* an HTTP/2 direction no longer followed: frames out of reach */
	NET_DROP_STACKS_RING_FULL = 8,	/* an on-CPU stack of a request lost: `request_stacks` full */
	NET_DROP_H2_HEADERS_RING_FULL = 9,	/* an HTTP/2 header block lost: `h2_headers` full */
	NET_DROP_GO_TLS_FD_UNKNOWN = 10,	/* Go crypto/tls plaintext whose socket was not found: no peer address */
	NET_DROP_GO_TLS_READ_NO_ENTRY = 11,	/* a tls.(*Conn).Read return without its entry (begun before the start) */
	NET_DROP_CONNECTION_REUSED = 12,	/* a request left waiting by a connection whose close was missed, found at a new connection on its socket */
	NET_DROP_SCRATCH_BUSY = 13,	/* an HTTP/2 walk not made: this CPU's scratch was in use by a preempted program */
	NET_DROP_H1_HEADS_FULL = 14,	/* a request head not kept for trace context: `h1_pending` full */
	NET_DROP_H1_HEADS_RING_FULL = 15,	/* a kept request's head lost: `h1_heads` full */
	NET_DROP_H1_SCRATCH_BUSY = 16,	/* a request head not copied or sent: this CPU's key scratch was in use by a preempted program */
	NET_DROP_MAX = 17,
};

/* One request and its response (or its connection's close), matched in the
 * kernel; sent through the `events` ring buffer. Addresses are in network
 * order (IPv4 in the first 4 bytes), ports in host order. */
struct http_event {
	__u64 start_ns;		/* request seen (CLOCK_MONOTONIC) */
	__u64 end_ns;		/* response seen, or the close */
	__u32 tgid;
	__u32 tid;		/* the thread that saw the response */
	__u16 family;		/* AF_INET, AF_INET6, or 0 when the socket is unknown */
	__u16 local_port;
	__u16 peer_port;
	__u8 role;		/* enum net_role */
	__u8 flags;		/* NET_F_* */
	__u8 local_addr[16];
	__u8 peer_addr[16];
	__u16 request_len;	/* bytes of request[] captured */
	__u16 response_len;
	char comm[NET_COMM_LEN];
	char request[NET_REQUEST_LEN];
	char response[NET_RESPONSE_LEN];
};

/* bytes of an HTTP/1.x request head kept at most, for its trace headers;
 * h1_keep_config.head_len (user space's setting) may ask for fewer */
#define NET_H1_HEAD_MAX 1024

/* h1_keep[0], written by user space: which exchanges may be kept (a sampled
 * or slow-request consumer wants them), so their request heads are worth
 * copying. head_len 0: none is, and nothing is copied. */
struct h1_keep_config {
	__u64 min_duration_ns;	/* kept at least this long... */
	__u32 head_len;		/* bytes of each request head to copy, at most NET_H1_HEAD_MAX; 0 off */
	__u16 min_status;	/* ...or with a status at least this (or no response at all) */
	__u16 pad;
};

/* The first bytes of an HTTP/1.x request (line and headers) of an exchange
 * that may be kept; sent through `h1_heads` just before its http_event
 * (flag NET_F_HEAD), which it names by (tgid, start_ns). Only head_len bytes
 * of head[] travel. */
struct h1_head_event {
	__u64 start_ns;
	__u32 tgid;
	__u16 head_len;		/* bytes of head[] captured */
	__u16 pad;
	char head[NET_H1_HEAD_MAX];
};

/* bytes kept of an HTTP/2 HEADERS or CONTINUATION frame's payload */
#define NET_H2_BLOCK_LEN 1024
/* h2_header_event.type of the connection preface: a new connection, new HPACK tables */
#define NET_H2_PREFACE 0xff
/* h2_header_event.type of the rest of the previous header frame of this
 * direction, which the call before ended in the middle of: block holds
 * what of it begins this call (frame_len bytes of it are in this call) */
#define NET_H2_REST 0xfe

/* One HTTP/2 HEADERS or CONTINUATION frame (or the preface) of a followed
 * connection, for HPACK decoding in user space; sent through the
 * `h2_headers` ring buffer. seq counts this direction's header frames: a gap
 * means a frame was lost and the direction's HPACK table is out of step. */
struct h2_header_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__u64 conn;		/* struct sock *: the connection */
	__u32 tgid;
	__u32 tid;
	__u32 stream_id;
	__u32 frame_len;	/* the frame's payload length */
	__u32 seq;
	__u16 block_len;	/* bytes of block[] captured (less than frame_len: cut) */
	__u16 family;		/* as http_event */
	__u16 local_port;
	__u16 peer_port;
	__u8 type;		/* 1 HEADERS, 9 CONTINUATION, NET_H2_PREFACE or NET_H2_REST */
	__u8 flags;		/* the frame's flags */
	__u8 dir;		/* 0 read, 1 write */
	__u8 tls;
	__u8 local_addr[16];
	__u8 peer_addr[16];
	char comm[NET_COMM_LEN];
	__u8 block[NET_H2_BLOCK_LEN];	/* the payload, padding and priority included */
};

/* frames kept of each stack sampled during a request */
#define NET_STACK_DEPTH 32

/* One on-CPU sample of a thread while it serves a request (it read the
 * request and has not written the response yet); sent through the
 * `request_stacks` ring buffer. start_ns is the request's http_event.start_ns. */
struct request_stack_event {
	__u64 start_ns;
	__u32 tgid;
	__u32 tid;
	__u32 user_len;		/* bytes of user[] filled */
	__u32 kernel_len;
	__u64 user[NET_STACK_DEPTH];	/* leaf first, frame-pointer walk */
	__u64 kernel[NET_STACK_DEPTH];
};

/* Key of the TCP counters: one process, one side, one peer. The server side
 * keeps its own address and port and drops the client's ephemeral port; the
 * client side keeps the server's address and port. */
struct net_tcp_key {
	__u32 tgid;
	__u8 role;
	__u8 proto;	/* enum net_proto: what the connection was seen to speak */
	__u16 family;
	__u16 local_port;
	__u16 peer_port;
	__u8 local_addr[16];
	__u8 peer_addr[16];
};

/* TCP counters of one tcp_key within a generation */
struct net_tcp_value {
	__u64 bytes_sent;
	__u64 bytes_received;
	__u64 opened;
	__u64 closed;
	__u64 retransmits;
	__u64 rtt_sum_us;	/* smoothed RTT at each close and, at most once a second, while in use; summed */
	__u64 rtt_count;
	__u64 h2_streams;	/* HTTP/2 streams opened: HEADERS frames with a new, higher stream id */
};

#endif /* __NETWORK_H */
