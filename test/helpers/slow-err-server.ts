/**
 * A Node HTTP server in its own process (so a sampler can follow its pid):
 * /err answers 500, /slow 200 after 150 ms, anything else 200.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './free-port.js';

const SERVER = `
require('node:http').createServer((req, res) => {
  if (req.url === '/err') { res.statusCode = 500; res.end('boom'); return; }
  if (req.url === '/slow') { setTimeout(() => res.end('late'), 150); return; }
  res.end('ok');
}).listen(Number(process.argv[1]), '127.0.0.1', () => console.log('listening'));
`;

/** Starts the server on a free port of 127.0.0.1 and waits until it listens. */
export async function startSlowErrServer(env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', SERVER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'], env });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { child, port };
}
