/**
 * Face tracking across frames: a detection continues the track whose last box overlaps it most (IoU at
 * least `minIou`); otherwise it starts a new track. A track not seen for `maxGapMs` has ended (the person
 * left). A door sees one or two people at a time, so greedy matching is enough.
 */
import { iou, type Box } from '../../models/nms';

export interface TrackerOptions {
  minIou: number;
  maxGapMs: number;
}

export interface Track {
  readonly id: number;
  box: Box;
  readonly firstSeen: number;
  lastSeen: number;
  hits: number;
}

export class FaceTracker {
  private nextId = 1;
  private readonly tracks = new Map<number, Track>();

  constructor(private readonly opts: TrackerOptions) {}

  /** Assigns each box a track (same order as `boxes`) and returns tracks that ended before `now`. */
  update(boxes: readonly Box[], now: number): { assigned: Track[]; ended: Track[] } {
    const ended = this.expire(now);
    const free = new Set(this.tracks.values());
    const assigned: Track[] = [];
    for (const box of boxes) {
      let best: Track | null = null;
      let bestIou = this.opts.minIou;
      for (const t of free) {
        const o = iou(t.box, box);
        if (o >= bestIou) {
          best = t;
          bestIou = o;
        }
      }
      if (best) {
        free.delete(best);
        best.box = box;
        best.lastSeen = now;
        best.hits++;
        assigned.push(best);
      } else {
        const t: Track = { id: this.nextId++, box, firstSeen: now, lastSeen: now, hits: 1 };
        this.tracks.set(t.id, t);
        assigned.push(t);
      }
    }
    return { assigned, ended };
  }

  /** Removes and returns the tracks not seen within maxGapMs of `now`. */
  expire(now: number): Track[] {
    const ended: Track[] = [];
    for (const t of this.tracks.values()) {
      if (now - t.lastSeen > this.opts.maxGapMs) {
        ended.push(t);
        this.tracks.delete(t.id);
      }
    }
    return ended;
  }

  get size(): number {
    return this.tracks.size;
  }
}
