import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOapConnection } from '../../../src/export/skywalking/oap-connection.js';
import { EBPFProcessService } from '../../../src/gen/skywalking/ebpf/profiling/Process_pb.js';
import { startFakeOap, type FakeOap } from '../../helpers/start-fake-oap.js';

const openssl = (dir: string, ...args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
};

describe('oap connection over TLS', () => {
  let dir: string;
  let oap: FakeOap;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshprof-sw-tls-'));
    // A CA, and a server certificate for 127.0.0.1 signed by it.
    openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test-ca');
    openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=oap');
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem',
      '-days', '1', '-extfile', 'san.ext');
    oap = await startFakeOap(
      0,
      undefined,
      grpc.ServerCredentials.createSsl(null, [
        { private_key: readFileSync(join(dir, 'server.key')), cert_chain: readFileSync(join(dir, 'server.pem')) },
      ]),
    );
  });

  afterAll(async () => {
    await oap.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (tls: { caPath?: string; insecureSkipVerify?: boolean }, authentication?: string) => {
    const c = createOapConnection({
      addr: `127.0.0.1:${oap.port}`,
      callTimeoutMs: 3_000,
      authentication,
      tls: {
        enabled: true,
        caPath: tls.caPath,
        clientCertPath: undefined,
        clientKeyPath: undefined,
        insecureSkipVerify: tls.insecureSkipVerify ?? false,
      },
    });
    try {
      return await c.unary(EBPFProcessService.method.keepAlive, { ebpfAgentID: 'tls-agent' });
    } finally {
      c.close();
    }
  };

  it('refuses an unknown server certificate, unless told to skip verification', async () => {
    await expect(call({})).rejects.toThrow();
    await call({ insecureSkipVerify: true }, 'tok-1');
    expect(oap.record.keepAlives.at(-1)?.ebpfAgentID).toBe('tls-agent');
    expect(oap.record.authHeaders.at(-1)).toBe('tok-1');
  });

  it('trusts the configured CA', async () => {
    const before = oap.record.keepAlives.length;
    await call({ caPath: join(dir, 'ca.pem') });
    expect(oap.record.keepAlives.length).toBe(before + 1);
  });

  it('names an unreadable CA file', () => {
    expect(() => createOapConnection({
      addr: '127.0.0.1:1',
      tls: { enabled: true, caPath: join(dir, 'missing.pem'), clientCertPath: undefined, clientKeyPath: undefined, insecureSkipVerify: false },
    })).toThrow(/reading skywalking ca .*missing\.pem/);
  });
});
