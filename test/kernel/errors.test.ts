import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { BpfError, ResourceLimitError, toResourceLimitError } from '../../src/kernel/index.js';

const { E2BIG, EINVAL, ENOMEM, EPERM } = constants.errno;

describe('toResourceLimitError', () => {
  it.each([['ENOMEM', ENOMEM], ['E2BIG', E2BIG], ['EPERM', EPERM]] as const)(
    'wraps a BpfError with %s as a ResourceLimitError that keeps errno and cause', (_, errno) => {
      const cause = new BpfError('creating map unwind_rows (16384 entries of 1024 bytes): refused', errno, '');
      const err = toResourceLimitError('creating the .eh_frame walker maps', cause);
      expect(err).toBeInstanceOf(ResourceLimitError);
      expect(err).toMatchObject({
        name: 'ResourceLimitError', errno, cause,
        message: 'creating the .eh_frame walker maps: creating map unwind_rows (16384 entries of 1024 bytes): refused',
      });
    });

  it('returns other errors unchanged: they are not about memory', () => {
    const invalid = new BpfError('creating map unwind_rows: invalid argument', EINVAL, '');
    const plain = new Error('creating map unwind_rows: name too long');
    expect(toResourceLimitError('creating the .eh_frame walker maps', invalid)).toBe(invalid);
    expect(toResourceLimitError('creating the .eh_frame walker maps', plain)).toBe(plain);
  });
});
