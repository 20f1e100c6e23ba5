/**
 * What the scenario's table counts, frame by frame. Explicit rules, explained
 * in docs/scenario.md:
 *
 * - tracing: a sample whose innermost JavaScript frame outside Node.js
 *   itself belongs to the OpenTelemetry SDK or its OTLP gRPC export path
 *   (files under node_modules/@opentelemetry/*, @grpc/grpc-js, protobufjs,
 *   as the service's perf map names them): OTel's own work and the native
 *   code and Node.js APIs it calls (see isTracingStack), except the API's
 *   no-op tracer, whose samples are the app's callback inlined.
 * - access log: Debian's nginx has no symbols for static functions, and the
 *   log module's are all static (ngx_http_log_handler, its formatters, its
 *   write). The named anchor is ngx_http_free_request, which runs the log
 *   phase through its one static callee on this path (ngx_http_log_request,
 *   then the log handler): a stack where ngx_http_free_request calls an
 *   unnamed nginx frame is the access log's, whatever lies below.
 * - access-log write (on-CPU): an access-log stack in the write(2) path
 *   (libc's write or the kernel's ksys_write/vfs_write).
 * - access-log write (off-CPU): an access-log stack switched out inside the
 *   write(2) syscall (ksys_write/vfs_write on the kernel stack: waiting for
 *   room in the pipe), not preempted on the way back to user space.
 * - GC: V8's garbage collector (its Heap, Scavenger, marking and sweeping
 *   frames, on the main thread or V8's worker threads), which no stack ties
 *   to whoever allocated; reported beside tracing, never in it.
 */
import type { Frame, Profile, ProfileSample } from '../../src/profile/model.js';

/** Frames of tracing: the OTel JS SDK, the OTLP exporter and its gRPC transport and serializer. */
export const TRACING_FRAME = /\/node_modules\/(?:@opentelemetry\/|@grpc\/grpc-js\/|protobufjs\/)/;

/** The named nginx function whose unnamed callee is the access-log phase. */
export const ACCESS_LOG_ANCHOR = 'ngx_http_free_request';

/** An unnamed frame in nginx's own executable, as meshprof names it (`module+0xOFFSET`). */
export const UNNAMED_NGINX_FRAME = /^nginx\+0x[0-9a-f]+$/;

/** Frames of the write(2) path, user and kernel side. */
export const WRITE_FRAMES: ReadonlySet<string> = new Set(['write', '__write', '__libc_write', '__GI___libc_write', 'ksys_write', '__x64_sys_write', 'vfs_write']);

/** Kernel frames of a write(2) in progress: a switch under them is a wait inside the write. */
export const WRITE_SYSCALL_FRAMES: ReadonlySet<string> = new Set(['ksys_write', 'vfs_write']);

/** V8's garbage collector, as its C++ frames are named. */
export const GC_FRAME = /^v8::internal::(?:Heap::(?:CollectGarbage|PerformGarbageCollection|Scavenge|MarkCompact)|Scavenger|MinorGCJob|MarkCompactCollector|MinorMarkSweep|ConcurrentMarking|IncrementalMarking|Sweeper|GCTracer|MemoryAllocator::Unmapper|PointersUpdatingJob|Evacuat)/;

/**
 * The API's no-op tracer and context manager, which run when no SDK is
 * registered: they do nothing but call the app's callback, which V8 inlines
 * into them (measured: 25% of an SDK-less service's samples were the
 * handler's JSON.stringify named NoopTracer.startActiveSpan). A sample
 * under them is the app's.
 */
export const NOOP_API_FRAME = /\/node_modules\/@opentelemetry\/api\/build\/src\/(?:trace\/NoopTracer|context\/NoopContextManager)\.js$/;

/** OTel's instrumentation wrappers: their calls into the API they wrap are the app's work, not tracing's. */
export const WRAPPER_FRAME = /\/node_modules\/@opentelemetry\/instrumentation(?:-http)?\//;

/**
 * A CommonJS module's top-level code (`(anonymous) file.js:1`): it runs once,
 * at require, never per request. Such a name on a request's stack is a stale
 * perf map entry for code space V8 reused without a new entry (measured: up
 * to 16% of an SDK-less service named so), so the frame says nothing and is
 * passed over.
 */
export function isModuleWrapper(f: Frame): boolean {
  return f.functionName === '(anonymous)' && f.line === 1;
}

/**
 * True when a stack (leaf first, as the model stores it) is tracing's work:
 * its innermost JavaScript frame outside Node.js itself is OpenTelemetry's.
 * Native code and V8 builtins count for the JavaScript that called them, and
 * Node.js's own JavaScript (`node:*`) for the code that called it, except
 * where an instrumentation wrapper only passes a call on to the API it wraps
 * (the patched `res.end` writing the response is the app's cost).
 */
export function isTracingStack(frames: readonly Frame[]): boolean {
  let throughNode = false;
  for (const f of frames) {
    // A JavaScript frame's file is apart from its name (perf map `name file:line:col`).
    const file = f.kind === 'v8js' || f.fileName !== undefined ? f.fileName : undefined;
    if (file === undefined || isModuleWrapper(f)) continue;
    if (file.startsWith('node:')) {
      throughNode = true;
      continue;
    }
    if (!TRACING_FRAME.test(file) || NOOP_API_FRAME.test(file)) return false;
    return !(throughNode && WRAPPER_FRAME.test(file));
  }
  return false;
}

/**
 * OpenTelemetry functions that call the app's callback (startActiveSpan,
 * context.with and the context managers' with): V8 may inline the callback
 * into them, and then the app's work is named after them. Tracing samples
 * whose innermost OpenTelemetry frame is one of these are counted as
 * tracing but reported apart, to see when that happened.
 */
export const CALLBACK_RUNNER = /^(?:startActiveSpan|with)$/;

/** True when a tracing stack's innermost OpenTelemetry frame is a callback runner. */
export function isCallbackRunnerStack(frames: readonly Frame[]): boolean {
  if (!isTracingStack(frames)) return false;
  const f = frames.find((x) => (x.kind === 'v8js' || x.fileName !== undefined) && x.fileName !== undefined && !x.fileName.startsWith('node:') && !isModuleWrapper(x));
  return f !== undefined && CALLBACK_RUNNER.test(f.functionName);
}

/** True when ngx_http_free_request's callee on this stack is an unnamed nginx frame: the log phase. */
export function isAccessLogStack(frames: readonly Frame[]): boolean {
  const i = frames.findIndex((f) => f.functionName === ACCESS_LOG_ANCHOR);
  // Leaf first: the callee of frames[i] is frames[i - 1].
  const callee = i > 0 ? frames[i - 1] : undefined;
  return callee !== undefined && callee.kind !== 'kernel' && UNNAMED_NGINX_FRAME.test(callee.functionName);
}

/** True when an access-log stack is in the write(2) path. */
export function isAccessLogWrite(frames: readonly Frame[]): boolean {
  return isAccessLogStack(frames) && frames.some((f) => WRITE_FRAMES.has(f.functionName));
}

/**
 * True when an off-CPU access-log stack waited inside write(2): the log's
 * FIFO was full. A preemption on return from the syscall
 * (exit_to_user_mode_loop) has no ksys_write/vfs_write below it: that is
 * the CPU being busy, which the short log sees as often as the long one.
 */
export function isAccessLogWriteWait(frames: readonly Frame[]): boolean {
  return isAccessLogStack(frames) && frames.some((f) => f.kind === 'kernel' && WRITE_SYSCALL_FRAMES.has(f.functionName));
}

/** True when a stack is V8's garbage collector at work. */
export function isGcStack(frames: readonly Frame[]): boolean {
  return frames.some((f) => GC_FRAME.test(f.functionName));
}

const processName = (p: Profile, s: ProfileSample): string => p.processes.get(s.pid)?.name ?? s.threadName;

/** Sum of value `index` over the samples `keep` selects, and over all. */
function shareOf(p: Profile, index: number, keep: (s: ProfileSample) => boolean, within: (s: ProfileSample) => boolean = () => true): number {
  let total = 0;
  let hit = 0;
  for (const s of p.samples) {
    if (!within(s)) continue;
    const v = s.values[index] ?? 0;
    total += v;
    if (keep(s)) hit += v;
  }
  return total === 0 ? 0 : (100 * hit) / total;
}

/** On-CPU shares, in percent of every sample of the mesh (proxy and service): the budget's CPU. */
export function onCpuShares(p: Profile): { tracing: number; accessLog: number } {
  return {
    tracing: shareOf(p, 0, (s) => isTracingStack(s.frames)),
    accessLog: shareOf(p, 0, (s) => isAccessLogStack(s.frames)),
  };
}

/** On-CPU share of tracing samples named after a callback runner (part of the tracing share), in percent. */
export function onCpuCallbackRunnerShare(p: Profile): number {
  return shareOf(p, 0, (s) => isCallbackRunnerStack(s.frames));
}

/** On-CPU share of V8's garbage collector (not in tracing's), in percent of the mesh's samples. */
export function onCpuGcShare(p: Profile): number {
  return shareOf(p, 0, (s) => !isTracingStack(s.frames) && isGcStack(s.frames));
}

/** On-CPU samples tracing took, a count to divide by requests (not a share, which shrinks as the rest grows). */
export function tracingSamples(p: Profile): number {
  let n = 0;
  for (const s of p.samples) if (isTracingStack(s.frames)) n += s.values[0] ?? 0;
  return n;
}

/** On-CPU share of the access log's write(2) path alone (the rest of the access log's share is formatting), in percent. */
export function onCpuAccessLogWriteShare(p: Profile): number {
  return shareOf(p, 0, (s) => isAccessLogWrite(s.frames));
}

/** Share of the proxy's off-CPU switches (value 0) that waited in an access-log write, in percent. */
export function offCpuAccessLogWriteShare(p: Profile, proxyName = 'nginx'): number {
  return shareOf(p, 0, (s) => isAccessLogWriteWait(s.frames), (s) => processName(p, s) === proxyName);
}

/** The same, in share of the proxy's off-CPU time (value 1), in percent. */
export function offCpuAccessLogWriteTimeShare(p: Profile, proxyName = 'nginx'): number {
  return shareOf(p, 1, (s) => isAccessLogWriteWait(s.frames), (s) => processName(p, s) === proxyName);
}
