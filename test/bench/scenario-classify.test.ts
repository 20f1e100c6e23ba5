// The scenario's classification of frames: tracing by the innermost
// JavaScript frame outside Node.js, the access log by nginx's named anchor
// and its unnamed callee, access-log writes by the write(2) path (off-CPU:
// a wait inside the syscall, not a preemption on the way out), GC apart.
import { describe, expect, it } from 'vitest';
import {
  isAccessLogStack, isAccessLogWrite, isAccessLogWriteWait, isCallbackRunnerStack, isGcStack, isTracingStack, offCpuAccessLogWriteShare, offCpuAccessLogWriteTimeShare,
  onCpuAccessLogWriteShare, onCpuGcShare, onCpuShares, tracingSamples,
} from '../../bench/scenario/classify.js';
import type { Frame, Profile, ProfileSample } from '../../src/profile/model.js';

const OTEL = '/work/main/node_modules/@opentelemetry';
const js = (name: string, file: string): Frame => ({ functionName: name, kind: 'v8js', address: 0n, mapping: undefined, fileName: file, symbolized: true });
const native = (name: string): Frame => ({ functionName: name, kind: 'native', address: 0n, mapping: undefined, symbolized: true });
const kernel = (name: string): Frame => ({ functionName: name, kind: 'kernel', address: 0n, mapping: undefined, symbolized: true });
/** Root first, for reading; the model is leaf first. */
const stack = (...rootFirst: Frame[]): Frame[] => rootFirst.reverse();

const app = js('handler', '/srv/service.js');
const emit = js('emit', 'node:events');
const incoming = js('incomingRequest', `${OTEL}/instrumentation-http/build/src/http.js`);
const attributes = js('getIncomingRequestAttributes', `${OTEL}/instrumentation-http/build/src/utils.js`);
const patchedEnd = js('end', `${OTEL}/instrumentation-http/build/src/http.js`);
const nodeEnd = js('end', 'node:_http_outgoing');
const exportSpans = js('send', '/work/main/node_modules/@grpc/grpc-js/build/src/call.js');
const http2 = js('write', 'node:internal/http2/core');

const freeRequest = native('ngx_http_free_request');
const logHandler = native('nginx+0x4e6a0');
const writeFrames = [native('__GI___libc_write'), kernel('entry_SYSCALL_64'), kernel('ksys_write'), kernel('vfs_write')];

describe('scenario classification', () => {
  it('charges a sample to tracing by its innermost JavaScript frame outside Node.js', () => {
    expect(isTracingStack(stack(native('uv_run'), emit, incoming, attributes, native('Builtins_StringAdd')))).toBe(true);
    // The instrumentation calls the app's handler: the handler's work is the app's.
    expect(isTracingStack(stack(native('uv_run'), emit, incoming, emit, app, native('Builtins_JSONStringify')))).toBe(false);
    // Node.js APIs the exporter calls are exporting.
    expect(isTracingStack(stack(native('uv_run'), exportSpans, http2, native('uv_write')))).toBe(true);
    // The patched res.end only passes the app's response on to Node.js.
    expect(isTracingStack(stack(app, patchedEnd, nodeEnd, native('uv_write')))).toBe(false);
    expect(isTracingStack(stack(native('uv_run'), native('v8::internal::Heap::CollectGarbage')))).toBe(false);
    // A module's top-level code on a request's stack is a stale name: passed over.
    const wrapper = { ...js('(anonymous)', `${OTEL}/api/build/src/version.js`), line: 1 };
    expect(isTracingStack(stack(app, nodeEnd, wrapper, native('uv_write')))).toBe(false);
    expect(isTracingStack(stack(emit, incoming, wrapper))).toBe(true);
    // Without an SDK the API's no-op tracer runs the app's callback, inlined into it: the app's work.
    const noop = js('startActiveSpan', `${OTEL}/api/build/src/trace/NoopTracer.js`);
    expect(isTracingStack(stack(emit, app, noop, native('v8::internal::JsonStringifier::SerializeString')))).toBe(false);
    const sdkTracer = js('startActiveSpan', `${OTEL}/sdk-trace-base/build/src/Tracer.js`);
    expect(isTracingStack(stack(emit, app, sdkTracer, native('Builtins_StringAdd_CheckNone')))).toBe(true);
    // The SDK's startActiveSpan may have the callback inlined too: counted, and reported apart.
    expect(isCallbackRunnerStack(stack(emit, app, sdkTracer, native('Builtins_StringAdd_CheckNone')))).toBe(true);
    expect(isCallbackRunnerStack(stack(emit, app, sdkTracer, js('run', 'node:async_hooks')))).toBe(true);
    expect(isCallbackRunnerStack(stack(emit, incoming, attributes))).toBe(false);
    expect(isCallbackRunnerStack(stack(emit, app, noop))).toBe(false);
  });

  it('finds the access log under ngx_http_free_request\'s unnamed callee only', () => {
    const formatting = stack(native('ngx_http_set_keepalive'), freeRequest, logHandler, native('ngx_sprintf'));
    const writing = stack(native('ngx_http_set_keepalive'), freeRequest, logHandler, ...writeFrames);
    const destroying = stack(native('ngx_http_set_keepalive'), freeRequest, native('ngx_destroy_pool'), native('free'));
    expect(isAccessLogStack(formatting)).toBe(true);
    expect(isAccessLogStack(writing)).toBe(true);
    expect(isAccessLogStack(destroying)).toBe(false);
    // ngx_http_free_request's own time is not the log's.
    expect(isAccessLogStack(stack(native('ngx_http_set_keepalive'), freeRequest))).toBe(false);
    expect(isAccessLogWrite(writing)).toBe(true);
    expect(isAccessLogWrite(formatting)).toBe(false);
    // A write to the client socket is not the access log's.
    expect(isAccessLogWrite(stack(native('ngx_http_write_filter'), ...writeFrames))).toBe(false);
  });

  it('counts an access-log switch as a write wait only inside the syscall', () => {
    const prefix = [native('ngx_http_set_keepalive'), freeRequest, logHandler, native('write'), kernel('entry_SYSCALL_64_after_hwframe'), kernel('do_syscall_64')];
    // The FIFO is full: pipe_write waits for the shipper to read.
    const full = stack(...prefix, kernel('ksys_write'), kernel('vfs_write'), kernel('fifo_pipe_write'), kernel('anon_pipe_write'), kernel('schedule'), kernel('__schedule'));
    // The write finished and the CPU went to another task on the way back.
    const preempted = stack(...prefix, kernel('exit_to_user_mode_loop'), kernel('schedule'), kernel('__schedule'));
    expect(isAccessLogWriteWait(full)).toBe(true);
    expect(isAccessLogWriteWait(preempted)).toBe(false);
    expect(isAccessLogWrite(preempted)).toBe(true);
    // A socket write waiting in the same kernel path is not the log's.
    expect(isAccessLogWriteWait(stack(native('ngx_writev'), kernel('ksys_write'), kernel('vfs_write'), kernel('schedule')))).toBe(false);
  });

  it('tells V8\'s collector from the JIT and the mutator\'s write barrier', () => {
    expect(isGcStack(stack(native('start_thread'), native('v8::internal::ScavengerCollector::JobTask::Run(v8::JobDelegate*)')))).toBe(true);
    expect(isGcStack(stack(native('uv_run'), native('v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace)')))).toBe(true);
    expect(isGcStack(stack(native('start_thread'), native('v8::internal::OptimizingCompileDispatcher::CompileTask::RunInternal()')))).toBe(false);
    expect(isGcStack(stack(app, native('v8::internal::Heap::CombinedGenerationalAndSharedEphemeronBarrierSlow()')))).toBe(false);
  });

  it('gives shares in percent of the mesh\'s samples and of the proxy\'s switches', () => {
    const sample = (pid: number, frames: Frame[], values: number[]): ProfileSample => ({ pid, tid: pid, threadName: '', frames, values });
    const onCpu: Profile = {
      sampleTypes: [{ type: 'samples', unit: 'count' }], periodType: { type: 'cpu', unit: 'nanoseconds' }, period: 1, startTimeNs: 0n, durationNs: 0n, drops: {},
      processes: new Map([[1, { pid: 1, name: 'nginx', attributes: {} }], [2, { pid: 2, name: 'node', attributes: {} }]]),
      samples: [
        sample(1, stack(freeRequest, logHandler, native('ngx_sprintf')), [4]),
        sample(1, stack(freeRequest, logHandler, ...writeFrames), [1]),
        sample(1, stack(native('ngx_http_proxy_handler')), [45]),
        sample(2, stack(emit, incoming, attributes), [20]),
        sample(2, stack(emit, incoming, emit, app), [30]),
      ],
    };
    expect(onCpuShares(onCpu)).toEqual({ tracing: 20, accessLog: 5 });
    expect(onCpuAccessLogWriteShare(onCpu)).toBe(1);
    expect(tracingSamples(onCpu)).toBe(20);
    expect(onCpuGcShare({ ...onCpu, samples: [...onCpu.samples, sample(2, stack(native('v8::internal::Heap::CollectGarbage')), [10]),
      // GC under an OpenTelemetry frame is tracing's already, not counted twice.
      sample(2, stack(emit, incoming, native('v8::internal::Heap::CollectGarbage')), [10])] })).toBeCloseTo(100 * 10 / 120);
    const offCpu: Profile = {
      ...onCpu, sampleTypes: [{ type: 'switches', unit: 'count' }, { type: 'duration', unit: 'nanoseconds' }],
      samples: [
        sample(1, stack(freeRequest, logHandler, ...writeFrames), [25, 3]),
        sample(1, stack(native('ngx_process_events_and_timers'), kernel('ep_poll')), [75, 1]),
        // The service's switches are not in the proxy's denominator.
        sample(2, stack(native('uv_run'), kernel('ep_poll')), [900, 1]),
      ],
    };
    expect(offCpuAccessLogWriteShare(offCpu)).toBe(25);
    expect(offCpuAccessLogWriteTimeShare(offCpu)).toBe(75);
  });
});
