// Runs inside a private mount namespace with a fake sysfs GPIO tree (see process.test.ts): a lock
// controller on the real onoff driver, granted (released), then ended the way argv[3] says.
import * as fs from 'node:fs';
import { SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { OnoffGpio } from '../../../drivers/gpio/onoff';
import { LockController, installLockExitGuards, lockConfigSchema } from '../../../drivers/lock';

const lockType = process.argv[2] === 'fail-secure' ? 'fail-secure' : 'fail-safe';
const mode = process.argv[3] ?? 'sigterm';
const value = (): string => fs.readFileSync('/sys/class/gpio/gpio17/value', 'utf8').trim();

const gpio = new OnoffGpio(new SystemClock(), silentLogger());
const relay = gpio.output('lock', { line: 17, activeLow: false }, LockController.relayActiveWhen(lockType, true));
const config = lockConfigSchema.parse({ lockType, unlockPulseMs: 60_000 });
const lock = new LockController({ relay, inputs: {}, clock: new SystemClock(), config, logger: silentLogger() });
installLockExitGuards(lock);
lock.start();
process.stdout.write(`started=${value()}\n`);
lock.grant('face');
process.stdout.write(`granted=${value()}\n`);
setTimeout(() => {
  if (mode === 'sigterm') process.kill(process.pid, 'SIGTERM');
  else if (mode === 'sigkill') process.kill(process.pid, 'SIGKILL');
  else throw new Error('simulated crash');
}, 10);
