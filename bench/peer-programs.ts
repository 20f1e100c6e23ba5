/**
 * The small C programs the peers benchmark runs beside the tools: a
 * CPU-bound spinner whose iteration rate is the work a tool takes away, an
 * exec churner (short-lived processes for exec tracking to follow), and a
 * wrapper that runs a tool and reports its rusage, children included, once
 * it ends, which Node's child_process cannot.
 */
import { compileC, type CProgram } from './c-program.js';

/* Spins for argv[1] ms of wall time, then prints "ITERATIONS WALL_MS CPU_MS".
 * The clock is read every 65,536 steps, so the check costs nothing. */
const SPINNER = `#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;

__attribute__((noinline)) static unsigned long step(unsigned long x) {
  return x * 6364136223846793005UL + 1442695040888963407UL;
}

static double ms(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  double limit = argc > 1 ? strtod(argv[1], 0) : 1000, wall = ms(CLOCK_MONOTONIC), cpu = ms(CLOCK_PROCESS_CPUTIME_ID);
  unsigned long n = 0, x = 1;
  do {
    for (int i = 0; i < 65536; i++) x = step(x);
    n += 65536;
  } while (ms(CLOCK_MONOTONIC) - wall < limit);
  sink = x;
  printf("%lu %.3f %.3f\\n", n, ms(CLOCK_MONOTONIC) - wall, ms(CLOCK_PROCESS_CPUTIME_ID) - cpu);
  return 0;
}
`;

/* Runs argv[2] (default /bin/true) argv[1] times a second on an absolute
 * clock until SIGTERM, then prints "EXECS WALL_MS". */
const CHURNER = `#define _GNU_SOURCE
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  prctl(PR_SET_PDEATHSIG, SIGTERM); /* a bench that dies must not leave churn behind for the next run */
  long rate = argc > 1 ? strtol(argv[1], 0, 10) : 10, step = 1000000000L / (rate > 0 ? rate : 1), execs = 0;
  char *prog = argc > 2 ? argv[2] : "/bin/true";
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term; /* no SA_RESTART: the sleep ends on SIGTERM */
  sigaction(SIGTERM, &sa, 0);
  struct timespec start, next;
  clock_gettime(CLOCK_MONOTONIC, &start);
  next = start;
  while (!stop) {
    pid_t pid = fork();
    if (pid == 0) { execl(prog, prog, (char *)0); _exit(127); }
    if (pid > 0) { waitpid(pid, 0, 0); execs++; }
    next.tv_nsec += step;
    while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, 0);
  }
  struct timespec end;
  clock_gettime(CLOCK_MONOTONIC, &end);
  printf("%ld %.3f\\n", execs, (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6);
  return 0;
}
`;

/* Runs argv[1..] as its child, passes SIGTERM and SIGINT on, and writes
 * "UTIME_US STIME_US MAXRSS_KB STATUS" to fd 3 when the child ends: wait4's
 * rusage covers the child and every descendant it reaped. */
const WRAPPER = `#define _GNU_SOURCE
#include <errno.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;
static void forward(int sig) { if (child > 0) kill(child, sig); }

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  prctl(PR_SET_PDEATHSIG, SIGTERM); /* passed on to the tool, like a stop from the bench */
  fcntl(3, F_SETFD, FD_CLOEXEC);
  child = fork();
  if (child < 0) return 126;
  if (child == 0) { execvp(argv[1], argv + 1); _exit(127); }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sigaction(SIGTERM, &sa, 0);
  sigaction(SIGINT, &sa, 0);
  struct rusage ru;
  int status = 0;
  while (wait4(child, &status, 0, &ru) < 0 && errno == EINTR) {}
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  dprintf(3, "%ld %ld %ld %d\\n", ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
          ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec, ru.ru_maxrss, code);
  return code;
}
`;

/** The three compiled helpers; `dispose()` removes them. */
export interface PeerPrograms {
  readonly spinner: CProgram;
  readonly churner: CProgram;
  readonly wrapper: CProgram;
  dispose(): void;
}

/** Compiles the helpers with gcc (-O2; the spinner keeps frame pointers so its stacks are whole). */
export function compilePeerPrograms(): PeerPrograms {
  const spinner = compileC('spinner', SPINNER, ['-O2', '-fno-omit-frame-pointer']);
  const churner = compileC('churner', CHURNER, ['-O2']);
  const wrapper = compileC('rusage-wrapper', WRAPPER, ['-O2']);
  return {
    spinner,
    churner,
    wrapper,
    dispose: () => { spinner.dispose(); churner.dispose(); wrapper.dispose(); },
  };
}

/** What the rusage wrapper wrote to fd 3 when its tool ended. */
export interface WrapperRusage {
  /** utime + stime of the tool and every descendant it reaped. */
  readonly cpuMs: number;
  readonly maxRssKb: number;
  /** wait4's exit status as the wrapper wrote it. */
  readonly status: number;
}

/** Reads the wrapper's "UTIME_US STIME_US MAXRSS_KB STATUS" line; undefined when it wrote none (it did not run to the end). */
export function parseWrapperRusage(text: string): WrapperRusage | undefined {
  const [utimeUs, stimeUs, maxRssKb, status] = text.trim().split(/\s+/).map(Number);
  if (utimeUs === undefined || stimeUs === undefined || maxRssKb === undefined || status === undefined) return undefined;
  if (![utimeUs, stimeUs, maxRssKb, status].every(Number.isFinite)) return undefined;
  return { cpuMs: (utimeUs + stimeUs) / 1000, maxRssKb, status };
}
