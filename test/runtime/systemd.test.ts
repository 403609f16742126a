import { FakeClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { SystemdNotifier } from '../../runtime/systemd';

describe('systemd notifier', () => {
  it('does nothing outside systemd', () => {
    const sent: string[][] = [];
    const n = new SystemdNotifier({}, new FakeClock(), silentLogger(), (a) => sent.push(a));
    n.ready();
    n.startWatchdog(() => true);
    n.stop();
    expect(sent).toEqual([]);
  });

  it('pings the watchdog at half its period only while the loop is healthy', () => {
    const sent: string[][] = [];
    const clock = new FakeClock();
    let healthy = true;
    const n = new SystemdNotifier({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '20000000' }, clock, silentLogger(), (a) => sent.push(a));
    n.ready();
    n.startWatchdog(() => healthy);
    clock.advance(9_999);
    expect(sent).toEqual([['--ready']]);
    clock.advance(1);
    expect(sent).toEqual([['--ready'], ['WATCHDOG=1']]);
    healthy = false;
    clock.advance(10_000);
    expect(sent).toHaveLength(2); // withheld: systemd will restart the stuck process
    n.stop();
    expect(sent.at(-1)).toEqual(['STOPPING=1']);
  });
});
