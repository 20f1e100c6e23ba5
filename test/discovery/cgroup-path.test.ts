import { describe, expect, it } from 'vitest';
import { parseCgroupFile, parseCgroupLines, parseCgroupPath } from '../../src/discovery/cgroup-path.js';

const ID = '3f1c5e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e';
const UID = '0f6b5e9c-3c3a-4bb0-9f1e-5a2f1e7d9c11';
const UID_ = UID.replaceAll('-', '_');

describe('parseCgroupPath', () => {
  it('reads containerd under the systemd driver, burstable', () => {
    const p = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`;
    expect(parseCgroupPath(p)).toEqual({ containerId: ID, runtime: 'containerd', podUid: UID, qosClass: 'Burstable', path: p });
  });

  it('reads a guaranteed pod (no QoS slice) under the systemd driver', () => {
    const p = `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`;
    expect(parseCgroupPath(p)).toMatchObject({ containerId: ID, podUid: UID, qosClass: 'Guaranteed' });
  });

  it('reads cgroupfs driver paths', () => {
    expect(parseCgroupPath(`/kubepods/besteffort/pod${UID}/${ID}`)).toMatchObject({
      containerId: ID,
      runtime: 'unknown',
      podUid: UID,
      qosClass: 'BestEffort',
    });
    expect(parseCgroupPath(`/kubepods/pod${UID}/${ID}`)).toMatchObject({ podUid: UID, qosClass: 'Guaranteed' });
  });

  it('reads CRI-O, Docker and Podman', () => {
    expect(parseCgroupPath(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope`))
      .toMatchObject({ containerId: ID, runtime: 'cri-o', podUid: UID, qosClass: 'BestEffort' });
    expect(parseCgroupPath(`/system.slice/docker-${ID}.scope`)).toMatchObject({ containerId: ID, runtime: 'docker', podUid: undefined });
    expect(parseCgroupPath(`/docker/${ID}`)).toMatchObject({ containerId: ID, runtime: 'docker' });
    expect(parseCgroupPath(`/machine.slice/libpod-${ID}.scope/container`)).toMatchObject({ containerId: ID, runtime: 'podman' });
    expect(parseCgroupPath(`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`)).toMatchObject({
      containerId: ID,
      runtime: 'podman',
    });
  });

  it('does not take a conmon scope for the container', () => {
    expect(parseCgroupPath(`/machine.slice/crio-conmon-${ID}.scope`).containerId).toBeUndefined();
    expect(parseCgroupPath(`/machine.slice/libpod-conmon-${ID}.scope`).containerId).toBeUndefined();
  });

  it('picks the innermost container for kind-style nested nodes', () => {
    const node = 'a'.repeat(64);
    const p = `/system.slice/docker-${node}.scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`;
    expect(parseCgroupPath(p)).toMatchObject({ containerId: ID, runtime: 'containerd' });
  });

  it('ignores paths of ordinary services and namespace-relative prefixes', () => {
    expect(parseCgroupPath('/system.slice/ssh.service')).toMatchObject({ containerId: undefined, podUid: undefined, qosClass: undefined });
    expect(parseCgroupPath(`/../../kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`)).toMatchObject({ containerId: ID, podUid: UID });
  });
});

describe('parseCgroupFile', () => {
  it('reads a v2-only file', () => {
    const text = `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope\n`;
    expect(parseCgroupFile(text)).toMatchObject({ containerId: ID, podUid: UID });
  });

  it('reads a hybrid v1 file where only the v1 controllers hold the container', () => {
    const text = [
      `12:pids:/kubepods/burstable/pod${UID}/${ID}`,
      `11:memory:/kubepods/burstable/pod${UID}/${ID}`,
      `1:name=systemd:/kubepods/burstable/pod${UID}/${ID}`,
      '0::/',
      '',
    ].join('\n');
    const info = parseCgroupFile(text);
    expect(info).toMatchObject({ containerId: ID, podUid: UID, qosClass: 'Burstable' });
    expect(info.path).toBe(`/kubepods/burstable/pod${UID}/${ID}`);
  });

  it('returns no container for a host process', () => {
    const text = '9:name=systemd:/user.slice\n4:memory:/user.slice\n0::/user.slice/user-0.slice/session-1.scope\n';
    expect(parseCgroupFile(text)).toEqual({
      containerId: undefined,
      runtime: undefined,
      podUid: undefined,
      qosClass: undefined,
      path: '/user.slice/user-0.slice/session-1.scope',
    });
  });

  it('splits lines with colons in the path', () => {
    expect(parseCgroupLines('3:cpu,cpuacct:/a:b\n0::/x\n')).toEqual([
      { hierarchyId: 3, controllers: ['cpu', 'cpuacct'], path: '/a:b' },
      { hierarchyId: 0, controllers: [], path: '/x' },
    ]);
  });
});
