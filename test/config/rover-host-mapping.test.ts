import { describe, expect, it } from 'vitest';
import { resolveMeshprofEnv } from '../../src/config/meshprof-env.js';

describe("a Rover DaemonSet's host mappings", () => {
  it('reads the host /proc under ROVER_HOST_MAPPING (Rover mounts the host / there), after the more specific names', () => {
    expect(resolveMeshprofEnv({ ROVER_HOST_MAPPING: '/host/' }).agent.procRoot).toBe('/host/proc');
    expect(resolveMeshprofEnv({ ROVER_HOST_MAPPING: '/host' }).discovery.procRoot).toBe('/host/proc');
    expect(resolveMeshprofEnv({ ROVER_HOST_MAPPING: '/host', ROVER_HOST_PROC_MAPPING: '/hp' }).agent.procRoot).toBe('/hp');
    expect(resolveMeshprofEnv({ ROVER_HOST_MAPPING: '/host', MESHPROF_HOST_PROC: '/mine' }).agent.procRoot).toBe('/mine');
    expect(resolveMeshprofEnv({}).agent.procRoot).toBe('/proc');
  });
});
