import {
  CameraAuthError,
  CameraCodecError,
  CameraConnectionError,
  CameraNotFoundError,
  CameraStreamError,
  classifyFfmpegExit,
  maskUrl,
} from '../../../drivers/camera';

describe('classifyFfmpegExit', () => {
  it.each([
    [['[rtsp @ 0x55] method DESCRIBE failed: 401 Unauthorized', 'rtsp://u:p@cam/x: Server returned 401 Unauthorized (authorization failed)'], CameraAuthError],
    [['[rtsp @ 0x55] method DESCRIBE failed: 404 Not Found', 'rtsp://cam/x: Server returned 404 Not Found'], CameraNotFoundError],
    [['/tmp/none.mp4: No such file or directory'], CameraNotFoundError],
    [['[tcp @ 0x55] Connection to tcp://127.0.0.1:1?timeout=0 failed: Connection refused'], CameraConnectionError],
    [['rtsp://10.0.0.9/x: Connection timed out'], CameraConnectionError],
    [['/tmp/x.bin: Invalid data found when processing input'], CameraCodecError],
    [['Decoder (codec hevc) not found for input stream #0:0'], CameraCodecError],
    [['something else went wrong'], CameraStreamError],
    [['ERROR: from element /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0: Could not open resource for reading and writing.', 'Additional debug info:', 'Failed to connect. (Generic error)', "ERROR: pipeline doesn't want to preroll."], CameraConnectionError],
    [['ERROR: from element /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0: Unauthorized', 'Additional debug info:', '../gst/rtsp/gstrtspsrc.c(6899): gst_rtspsrc_send ():', 'Unauthorized (401)'], CameraAuthError],
  ] as const)('turns %j into the right typed error', (lines, type) => {
    const err = classifyFfmpegExit(lines, 1, null);
    expect(err).toBeInstanceOf(type);
  });

  it('keeps the credentials of a camera URL out of the error', () => {
    const err = classifyFfmpegExit(['rtsp://u:p@cam/x: Server returned 401 Unauthorized (authorization failed)'], 1, null);
    expect(err.message).toContain('rtsp://***@cam/x: Server returned 401');
    expect(err.message).not.toContain('u:p@');
  });

  it('names the signal when ffmpeg died without a message', () => {
    expect(classifyFfmpegExit([], null, 'SIGKILL').message).toMatch(/killed by SIGKILL/);
  });
});

it('picks the specific gst-launch line as the detail, not the generic wrapper', () => {
  const err = classifyFfmpegExit(['ERROR: from element x: Not found', 'Additional debug info:', '../gst/rtsp/gstrtspsrc.c(6895): gst_rtspsrc_send ():', 'Not Found (404)', "ERROR: pipeline doesn't want to preroll."], 0, null);
  expect(err).toBeInstanceOf(CameraNotFoundError);
  expect(err.detail).toBe('Not Found (404)');
});

describe('maskUrl', () => {
  it('removes credentials from URLs in text', () => {
    expect(maskUrl('open rtsp://admin:secret@10.0.0.2:554/s1 failed')).toBe('open rtsp://***@10.0.0.2:554/s1 failed');
  });
});
