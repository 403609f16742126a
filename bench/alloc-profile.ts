/**
 * Reads a V8 sampling heap profile (`.heapprofile`, as `npm run bench:soak -- --alloc-profile` writes
 * for each process) and says where the sampled bytes were allocated: by allocating function (file:line)
 * and by the few frames of our own code above it. The soak's profiles keep only objects that outlived a
 * minor collection (promoted to the old generation, alive or garbage not yet collected by a major one),
 * so this lists what makes the heap used climb between major collections.
 *
 *   node --import tsx bench/alloc-profile.ts FILE.heapprofile [--top N] [--json]
 */
import { readFileSync } from 'node:fs';
import { r2, wantsJson } from './stats';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  selfSize: number;
  children: ProfileNode[];
}
export interface SamplingProfile {
  head: ProfileNode;
  samples: Array<{ size: number; nodeId: number; ordinal: number }>;
}

export interface AllocationSite {
  /** `function file:line` of the allocating frame (or of our code's nearest frame, for `ours`). */
  site: string;
  kb: number;
  share: number;
}

const frameName = (f: CallFrame): string => {
  const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/dist\//, '');
  return `${f.functionName || '(anonymous)'} ${file || '(native)'}:${f.lineNumber + 1}`;
};
/** Our code: compiled runtime, hub and drivers (not node_modules, not Node's own). */
const ours = (f: CallFrame): boolean => /\/dist\//.test(f.url) && !/node_modules/.test(f.url);

/** Sampled bytes by allocating frame and by our nearest frame above it, largest first. */
export function allocationSites(p: SamplingProfile, top = 20): { totalKb: number; bySite: AllocationSite[]; byOurFrame: AllocationSite[] } {
  const bySite = new Map<string, number>();
  const byOurs = new Map<string, number>();
  let total = 0;
  const walk = (n: ProfileNode, nearestOurs: string | null): void => {
    const here = ours(n.callFrame) ? frameName(n.callFrame) : nearestOurs;
    if (n.selfSize > 0) {
      total += n.selfSize;
      const site = frameName(n.callFrame);
      bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
      const key = here ?? '(no frame of ours)';
      byOurs.set(key, (byOurs.get(key) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, here);
  };
  walk(p.head, null);
  const list = (m: Map<string, number>): AllocationSite[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([site, bytes]) => ({ site, kb: r2(bytes / 1024), share: r2(total > 0 ? bytes / total : 0) }));
  return { totalKb: r2(total / 1024), bySite: list(bySite), byOurFrame: list(byOurs) };
}

/** The lines printed for one profile (also by bench:soak at the end of a run). */
export function allocationReport(name: string, p: SamplingProfile, top = 15): string[] {
  const r = allocationSites(p, top);
  const table = (title: string, rows: AllocationSite[]): string[] => [
    `| ${title} | KB | share |`,
    '|---|---|---|',
    ...rows.map((x) => `| ${x.site} | ${x.kb} | ${Math.round(x.share * 100)}% |`),
  ];
  return [
    `${name}: ${r.totalKb} KB sampled (objects that outlived a minor collection)`,
    ...table('allocated by', r.bySite),
    '',
    ...table('under our frame', r.byOurFrame),
  ];
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    process.stderr.write('usage: node --import tsx bench/alloc-profile.ts FILE.heapprofile [--top N] [--json]\n');
    process.exit(2);
  }
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 15;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as SamplingProfile;
  if (wantsJson()) console.log(JSON.stringify(allocationSites(profile, top)));
  else for (const line of allocationReport(file, profile, top)) console.log(line);
}
