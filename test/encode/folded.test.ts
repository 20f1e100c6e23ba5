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

  it('returns an empty string for an empty profile and rejects a bad index', () => {
    expect(encodeFolded(buildTestProfile({ samples: [] }))).toBe('');
    expect(() => encodeFolded(buildTestProfile(), { valueIndex: 2 })).toThrow(
      'encoding folded stacks: value index 2 out of range for 2 sample types',
    );
  });
});
