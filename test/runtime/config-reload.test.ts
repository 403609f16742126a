import { parseConfig, type Config } from '../../runtime/config';
import { planReload } from '../../runtime/config-reload';

const base = {
  terminalId: 't-1',
  door: { doorId: 'door-1', buildingId: 'b-1', timeZone: 'Asia/Shanghai' },
  camera: { kind: 'rtsp', url: 'rtsp://10.0.0.5/stream' },
  gpio: { driver: 'fake', outputs: { lock: { line: 17 } }, inputs: { door: { line: 5 } } },
  lock: { lockType: 'fail-secure' },
  paths: { dataDir: '/var/lib/doorway', secretFile: '/etc/doorway/device.secret' },
};

function cfg(over: Record<string, unknown> = {}): Config {
  return parseConfig({ ...base, ...over }, 'test', '/');
}

describe('planReload', () => {
  it('finds nothing to do when the file parses to the same config', () => {
    expect(planReload(cfg(), cfg())).toEqual({ outcome: 'unchanged', live: [], restart: [] });
  });

  it('applies door, decision, liveness and evidence changes live', () => {
    const next = cfg({
      door: { ...base.door, timeZone: 'Asia/Urumqi' },
      decision: { match: 0.6 },
      liveness: 'strict',
      evidence: { minFrames: 4 },
    });
    expect(planReload(cfg(), next)).toEqual({ outcome: 'applied', live: ['decision', 'door', 'evidence', 'liveness'], restart: [] });
  });

  it('needs a restart for the camera, GPIO lines, hub, paths or the face tracker gap, and says which live changes ride along', () => {
    expect(planReload(cfg(), cfg({ camera: { kind: 'rtsp', url: 'rtsp://10.0.0.6/stream' }, decision: { match: 0.6 } }))).toEqual({
      outcome: 'restart',
      live: ['decision'],
      restart: ['camera'],
    });
    expect(planReload(cfg(), cfg({ gpio: { ...base.gpio, outputs: { lock: { line: 18 } } } })).restart).toEqual(['gpio']);
    expect(planReload(cfg(), cfg({ paths: { ...base.paths, dataDir: '/data' } })).restart).toEqual(['paths']);
    expect(planReload(cfg(), cfg({ evidence: { trackGapMs: 900 } })).restart).toEqual(['evidence']);
    const hub = { url: 'mqtts://hub:8883', caFile: 'ca', certFile: 'c', keyFile: 'k', hubPublicKeyFile: 'h' };
    expect(planReload(cfg({ hub }), cfg({ hub: { ...hub, url: 'mqtts://hub2:8883' } })).restart).toEqual(['hub']);
  });
});
