// Types for the part of node-rtsp-stream the preview relay uses (the package ships none).
declare module 'node-rtsp-stream/mpeg1muxer' {
  import type { ChildProcess } from 'node:child_process';
  import type { EventEmitter } from 'node:events';

  interface Mpeg1MuxerOptions {
    url: string;
    ffmpegPath: string;
    /** Output options appended after `-f mpegts -codec:v mpeg1video`; an empty value adds the key alone. */
    ffmpegOptions?: Record<string, string | number>;
  }

  class Mpeg1Muxer extends EventEmitter {
    constructor(options: Mpeg1MuxerOptions);
    stream: ChildProcess;
    on(event: 'mpeg1data', listener: (data: Buffer) => void): this;
    on(event: 'ffmpegStderr', listener: (data: Buffer) => void): this;
    on(event: 'exitWithError', listener: () => void): this;
  }

  export = Mpeg1Muxer;
}
