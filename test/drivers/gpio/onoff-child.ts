// Runs inside a private mount namespace whose /sys/class is a tmpfs holding a fake sysfs GPIO tree
// (see onoff.test.ts). Exercises the real onoff driver and prints one JSON object with what it saw.
import * as fs from 'node:fs';
import { SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { OnoffGpio } from '../../../drivers/gpio/onoff';

const root = '/sys/class/gpio';
const file = (line: number, f: string): string => fs.readFileSync(`${root}/gpio${line}/${f}`, 'utf8').trim();
const result: Record<string, unknown> = {};
const gpio = new OnoffGpio(new SystemClock(), silentLogger());

const relay = gpio.output('lock', { line: 17, activeLow: true }, true);
result['initial'] = { direction: file(17, 'direction'), value: file(17, 'value'), activeLow: file(17, 'active_low'), read: relay.read() };
relay.write(false);
result['afterInactive'] = { value: file(17, 'value'), read: relay.read() };
relay.write(true);
result['afterActive'] = { value: file(17, 'value'), read: relay.read() };

const led = gpio.output('led', { line: 22, activeLow: false }, false);
led.write(true);
result['led'] = { direction: file(22, 'direction'), value: file(22, 'value') };

try {
  gpio.output('buzzer', { line: 99, activeLow: false }, false);
  result['missing'] = 'no error';
} catch (err) {
  const e = err as { code?: string; message?: string; line?: number };
  result['missing'] = { code: e.code, line: e.line, message: e.message };
}
try {
  gpio.input('door', { line: 18, activeLow: true, debounceMs: 10 });
  result['input'] = 'opened';
} catch (err) {
  const e = err as { code?: string; message?: string };
  result['input'] = { code: e.code, message: e.message };
}
try {
  gpio.pulseInput('wiegand.d0', { line: 23, activeLow: true });
  result['pulse'] = 'opened';
} catch (err) {
  const e = err as { code?: string; message?: string };
  result['pulse'] = { code: e.code, message: e.message, edge: file(23, 'edge'), direction: file(23, 'direction') };
}
gpio.close();
result['exportWrites'] = fs.readFileSync(`${root}/export`, 'utf8');
process.stdout.write(JSON.stringify(result) + '\n');
