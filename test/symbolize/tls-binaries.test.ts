// Which binaries carry their own TLS: OpenSSL linked in is found by its defined symbols, not by the imports of a program that links libssl.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTlsBinary } from '../../src/symbolize/tls-binaries.js';
import { compileFixture } from '../helpers/compile-fixture.js';

const LIBSSL_A = '/usr/lib/x86_64-linux-gnu/libssl.a';

describe('findTlsBinary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-binaries-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds OpenSSL linked statically into a program', () => {
    const binary = compileFixture('static-tls.c', {
      libs: ['-Wl,-Bstatic', '-lssl', '-lcrypto', '-Wl,-Bdynamic', '-lpthread', '-ldl'], inputs: [LIBSSL_A],
    });
    expect(findTlsBinary(binary)).toEqual({ kind: 'openssl', path: binary });
  });

  it('leaves a program that imports SSL_read from libssl.so to the library\'s probes', () => {
    const binary = compileFixture('static-tls.c', { name: 'dynamic-tls', libs: ['-lssl', '-lcrypto'] });
    expect(findTlsBinary(binary)).toEqual({ kind: 'none', reason: 'neither Go nor a static OpenSSL/BoringSSL' });
  });

  it('says which file is not ELF', () => {
    const junk = join(dir, 'junk');
    writeFileSync(junk, 'not an elf file at all, just text');
    expect(() => findTlsBinary(junk)).toThrow(/junk/);
  });
});
