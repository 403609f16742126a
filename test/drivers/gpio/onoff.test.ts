import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { GpioError } from '../../../drivers/gpio';
import { OnoffGpio, gpioOpenError } from '../../../drivers/gpio/onoff';

const ROOT = path.resolve(__dirname, '../../..');
const TSX = require.resolve('tsx/cli', { paths: [ROOT] });

// A fake sysfs GPIO tree in a private mount namespace: lines 17, 18 and 22 exist (as if exported
// before), line 99 does not. Needs root and unshare (util-linux), as CI has.
const SYSFS_SCRIPT = `
set -e
mount -t tmpfs x /sys/class
mkdir -p /sys/class/gpio
touch /sys/class/gpio/export /sys/class/gpio/unexport
for l in 17 18 22 23; do
  d=/sys/class/gpio/gpio$l; mkdir -p $d
  echo in > $d/direction; echo 0 > $d/value; echo 0 > $d/active_low; echo none > $d/edge
done
exec "$NODE" "$TSX" "$CHILD"
`;

function canUnshare(): boolean {
  const r = spawnSync('unshare', ['-m', 'true']);
  return r.status === 0;
}

describe('OnoffGpio (real onoff driver)', () => {
  it('refuses to open a line with a clear error when sysfs GPIO is not accessible', () => {
    const gpio = new OnoffGpio(new FakeClock(), silentLogger(), () => false);
    expect(() => gpio.output('lock', { line: 17, activeLow: false }, false)).toThrow(GpioError);
    expect(() => gpio.output('lock', { line: 17, activeLow: false }, false)).toThrow(/not accessible.*\/sys\/class\/gpio\/export/);
  });

  it('maps busy, missing and permission errno values to typed errors naming the line', () => {
    const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });
    expect(gpioOpenError(5, errno('EBUSY'))).toMatchObject({ code: 'gpio-line-busy', line: 5 });
    expect(gpioOpenError(5, errno('EBUSY')).message).toMatch(/line 5 is busy/);
    expect(gpioOpenError(6, errno('EINVAL'))).toMatchObject({ code: 'gpio-line-missing', line: 6 });
    expect(gpioOpenError(7, errno('EACCES'))).toMatchObject({ code: 'gpio-permission', line: 7 });
    expect(gpioOpenError(8, new Error('odd'))).toMatchObject({ code: 'gpio-io', line: 8 });
  });

  const sysfs = fs.existsSync('/sys/class/gpio/export') ? null : canUnshare() ? 'unshare' : null;
  (sysfs ? it : it.skip)(
    'drives outputs through a fake sysfs tree: glitch-free initial level, software polarity, typed errors',
    () => {
      const r = spawnSync('unshare', ['-m', 'sh', '-c', SYSFS_SCRIPT], {
        env: { ...process.env, NODE: process.execPath, TSX, CHILD: path.join(__dirname, 'onoff-child.ts') },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect({ status: r.status, stderr: r.stderr.includes('Error') ? r.stderr : '' }).toEqual({ status: 0, stderr: '' });
      const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
      // Active-low relay opened active: the direction write "low" sets level 0 as it becomes an output.
      expect(out['initial']).toEqual({ direction: 'low', value: '0', activeLow: '0', read: true });
      expect(out['afterInactive']).toEqual({ value: '1', read: false });
      expect(out['afterActive']).toEqual({ value: '0', read: true });
      expect(out['led']).toEqual({ direction: 'low', value: '1' });
      expect(out['missing']).toMatchObject({ code: 'gpio-line-missing', line: 99 });
      // onoff's edge interrupts need a real GPIO value file; on a regular file the driver says so.
      expect(out['input']).toMatchObject({ code: 'gpio-io' });
      expect(String((out['input'] as { message: string }).message)).toMatch(/cannot watch edges on GPIO line 18/);
      // A Wiegand pulse line is an input with edge interrupts on the falling edge (pulses pull it low).
      expect(out['pulse']).toMatchObject({ code: 'gpio-io', edge: 'falling', direction: 'in' });
      expect(out['exportWrites']).toBe('99');
    },
  );
});
