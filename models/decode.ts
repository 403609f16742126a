/**
 * Enrolment photos and CLI images (JPEG, PNG, WebP...) decoded with sharp into raw RGB frames, with the
 * EXIF orientation applied so a phone photo taken sideways is upright.
 */
import sharp from 'sharp';
import { TerminalError } from '../core/errors';
import type { RawFrame } from './image';

export class ImageDecodeError extends TerminalError {
  readonly code = 'image-decode';
}

export async function decodeImage(input: string | Buffer): Promise<RawFrame> {
  try {
    const { data, info } = await sharp(input, { failOn: 'error' })
      .rotate() // honour EXIF orientation
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new ImageDecodeError(`expected 3 channels after decoding, got ${info.channels}`);
    return { width: info.width, height: info.height, format: 'rgb24', data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    const what = typeof input === 'string' ? input : 'image buffer';
    throw new ImageDecodeError(`${what} could not be decoded as an image: ${(e as Error).message}`, { cause: e });
  }
}
