import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

/**
 * A loopback port nothing listens on right now, drawn from below the kernel's
 * ephemeral range. A port from `listen(0)` is ephemeral: once released, any
 * outgoing connection or `listen(0)` elsewhere (a parallel test file) may take
 * it before our caller binds it again, which failed CI with EADDRINUSE. Ports
 * below the range are only ever handed out by an explicit bind.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  // Below 1024 needs privilege in general; keep well clear of well-known ports.
  const floor = 10_000;
  if (low - floor < 1_000) return listenOn(0);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = floor + Math.floor(Math.random() * (low - floor));
    try {
      return await listenOn(port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  return listenOn(0);
}

/** The first port of the kernel's ephemeral range. */
function ephemeralLow(): number {
  try {
    const lo = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(lo)) return lo;
  } catch {
    // Not Linux, or /proc hidden: fall through to the kernel default.
  }
  return 32_768;
}

function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}
