import { describe, expect, it } from 'vitest';
import { encodeFolded, foldedName } from '../../src/encode/folded.js';
import { buildTestProfile, F } from '../helpers/build-test-profile.js';

describe('encodeFolded', () => {
  it('prints merged, sorted stacks of sample counts with the process name first', () => {
    expect(encodeFolded(buildTestProfile())).toBe(
      [
        'api-server;main;handle_request;__write;entry_SYSCALL_64_[k];do_syscall_64_[k];ksys_write_[k] 2',
        'api-server;main;handle_request;hot_a 6',
        'api-server;main;handle_request;hot_b 3',
        'batch-job;worker_main;hot_a;worker+0x1234 4',
        'batch-job;worker_main;idle_loop 1',
        '',
      ].join('\n'),
    );
  });

  it('prints the chosen value and omits stacks whose value is zero', () => {
    expect(encodeFolded(buildTestProfile(), { valueIndex: 1 })).toBe(
      [
        'api-server;main;handle_request;__write;entry_SYSCALL_64_[k];do_syscall_64_[k];ksys_write_[k] 20000000',
        'api-server;main;handle_request;hot_a 60000000',
        'api-server;main;handle_request;hot_b 30000000',
        'batch-job;worker_main;hot_a;worker+0x1234 40000000',
        '',
      ].join('\n'),
    );
  });

  it('replaces separators and line breaks inside names', () => {
    expect(foldedName('a;b\nc\r\nd')).toBe('a:b c d');
    const profile = buildTestProfile({
      samples: [
        {
          pid: 7,
          tid: 7,
          threadName: 'odd;comm',
          frames: [{ ...F.main, functionName: 'operator;\n()' }],
          values: [2, 1],
        },
      ],
      processes: new Map(),
    });
    expect(encodeFolded(profile)).toBe('odd:comm;operator: () 2\n');
  });

  it('shows Python frames with their file and line, as py-spy does', () => {
    const py = (functionName: string, line: number) =>
      ({ ...F.main, functionName, kind: 'cpython' as const, fileName: '/srv/shop/app.py', line });
    const profile = buildTestProfile({
      samples: [
        {
          pid: 7,
          tid: 7,
          threadName: 'python3',
          frames: [py('checkout_total', 4), py('handler', 9), { ...F.main, functionName: '_PyEval_EvalFrameDefault' }],
          values: [3, 1],
        },
        { pid: 7, tid: 7, threadName: 'python3', frames: [{ ...py('<module>', 0) }], values: [1, 1] },
      ],
      processes: new Map(),
    });
    expect(encodeFolded(profile)).toBe(
      'python3;<module> (app.py) 1\npython3;_PyEval_EvalFrameDefault;handler (app.py:9);checkout_total (app.py:4) 3\n',
    );
  });

  it('returns an empty string for an empty profile and rejects a bad index', () => {
    expect(encodeFolded(buildTestProfile({ samples: [] }))).toBe('');
    expect(() => encodeFolded(buildTestProfile(), { valueIndex: 2 })).toThrow(
      'encoding folded stacks: value index 2 out of range for 2 sample types',
    );
  });
});
