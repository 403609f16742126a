// Child process for the orphan test: runs an RtspSource and prints the ffmpeg pid once frames flow.
// The test then SIGKILLs this process and checks that ffmpeg went with it.
import { SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { RtspSource, rtspSourceConfigSchema } from '../../../drivers/camera';

const src = new RtspSource(rtspSourceConfigSchema.parse({ url: process.argv[2] }), { clock: new SystemClock(), logger: silentLogger() });
let printed = false;
src.on('frame', () => {
  if (printed) return;
  printed = true;
  process.stdout.write(`FFMPEG_PID ${src.pid ?? 0}\n`);
});
src.start();
