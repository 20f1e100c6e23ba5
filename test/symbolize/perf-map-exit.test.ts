// Perf maps of processes that exit before their samples are symbolized.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPerfMapResolver } from '../../src/symbolize/perf-map.js';

const dir = mkdtempSync(join(tmpdir(), 'perf-map-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('perf maps after exit', () => {
  it('names frames from a map prepared while the process lived, after its /proc entry is gone', () => {
    // A container process: pid 4242 on the host, 7 in its namespace.
    const root = join(dir, 'proc');
    mkdirSync(join(root, '4242', 'root', 'tmp'), { recursive: true });
    writeFileSync(join(root, '4242', 'status'), 'Name:\tnode\nNSpid:\t4242\t7\n');
    writeFileSync(join(root, '4242', 'root', 'tmp', 'perf-7.map'), '1000 40 JS:*hotFunction /app/hot.js:5:21\n');
    const resolver = createPerfMapResolver({ procRoot: root });
    resolver.prepare(4242);
    rmSync(join(root, '4242'), { recursive: true }); // the process exited: its root is gone
    expect(resolver.resolve(4242, 0x1010n)).toMatchObject({ name: 'hotFunction', kind: 'v8js', fileName: '/app/hot.js', line: 5 });
    resolver.retainOnly((pid) => pid !== 4242);
    expect(resolver.resolve(4242, 0x1010n)).toBeUndefined();
  });

  it('reads /tmp/perf-PID.map of a host process that is already gone', () => {
    const pid = 3_999_999; // above the default pid_max: no such process
    const path = `/tmp/perf-${pid}.map`;
    writeFileSync(path, '2000 10 py::hot_loop:/srv/hot.py\n');
    try {
      expect(createPerfMapResolver().resolve(pid, 0x2004n)).toMatchObject({ name: 'hot_loop', kind: 'cpython', fileName: '/srv/hot.py' });
    } finally {
      rmSync(path, { force: true });
    }
  });

  it('names code that reuses the space of freed code after its new line, though the old line still covers it', () => {
    // V8 freed a start-up function and compiled another into its space: the
    // old entry covers the address until the map's newer line is read.
    const pid = 3_999_998;
    const path = `/tmp/perf-${pid}.map`;
    writeFileSync(path, '3000 200 JS:*(anonymous) /app/node_modules/lib/enum.js:12:1\n');
    let clock = 0;
    try {
      const resolver = createPerfMapResolver({ now: () => clock });
      expect(resolver.resolve(pid, 0x3048n)).toMatchObject({ name: '(anonymous)', fileName: '/app/node_modules/lib/enum.js' });
      appendFileSync(path, '3040 80 JS:*decodeRows /app/client.js:40:3\n');
      clock += 500; // within the throttle: the map is not read again yet
      expect(resolver.resolve(pid, 0x3048n)?.name).toBe('(anonymous)');
      clock += 600;
      expect(resolver.resolve(pid, 0x3048n)).toMatchObject({ name: 'decodeRows', fileName: '/app/client.js', line: 40 });
    } finally {
      rmSync(path, { force: true });
    }
  });
});

describe('perf map resolver memory', () => {
  it('drops the maps of pids the caller no longer knows, found or not, and keeps the rest', () => {
    const kept = 3_999_997;
    const path = `/tmp/perf-${kept}.map`;
    writeFileSync(path, '4000 10 JS:*kept /app/kept.js:1:1\n');
    try {
      const resolver = createPerfMapResolver();
      // Samples of processes gone before they were read: each looks for a map.
      for (let pid = 3_999_900; pid < 3_999_950; pid++) expect(resolver.resolve(pid, 0x1000n)).toBeUndefined();
      expect(resolver.resolve(kept, 0x4004n)?.name).toBe('kept');
      expect(resolver.size).toBe(51);
      resolver.retainOnly((pid) => pid === kept);
      expect(resolver.size).toBe(1);
      expect(resolver.resolve(kept, 0x4004n)?.name).toBe('kept');
    } finally {
      rmSync(path, { force: true });
    }
  });
});
