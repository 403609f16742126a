#!/usr/bin/python3
"""Minimal RTSP server for tests and benchmarks (Debian: gir1.2-gst-rtsp-server-1.0, python3-gi,
gstreamer1.0-plugins-{base,good,bad,ugly}, gstreamer1.0-libav). Run with the system /usr/bin/python3.

Serves H.264 over RTSP on 127.0.0.1:<port><path>. Sources:
  --source pattern   videotestsrc (moving ball), live
  --source stamp     frames made here; the top row of 16x16 blocks encodes the wall-clock time in ms
                     (low 32 bits, bit 31 first, white = 1) at the moment the frame is handed to the
                     encoder, so a reader can measure capture-to-delivery age; a bar moves across
  --source file      a video file, decoded and re-encoded (plays once)
Prints "READY <port>" on stdout when it is listening. Stops on SIGTERM/SIGINT.
Auth: --user/--password require HTTP basic auth (to test auth failures).
"""
import argparse
import signal
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

BLOCK = 16
BITS = 32


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--path", default="/test")
    ap.add_argument("--source", choices=["pattern", "stamp", "file"], default="pattern")
    ap.add_argument("--file")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--bitrate", type=int, default=1500, help="kbit/s")
    ap.add_argument("--user")
    ap.add_argument("--password")
    args = ap.parse_args()

    Gst.init(None)
    w, h, fps = args.width, args.height, args.fps
    enc = (
        f"x264enc tune=zerolatency speed-preset=ultrafast bitrate={args.bitrate} key-int-max={fps} "
        f"! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1"
    )
    if args.source == "pattern":
        launch = (
            f"( videotestsrc is-live=true pattern=ball ! video/x-raw,width={w},height={h},framerate={fps}/1 "
            f"! videoconvert ! {enc} )"
        )
    elif args.source == "file":
        uri = Gst.filename_to_uri(args.file)
        launch = (
            f"( uridecodebin uri={uri} ! videoconvert ! videoscale ! videorate "
            f"! video/x-raw,width={w},height={h},framerate={fps}/1 ! {enc} )"
        )
    else:
        launch = (
            f"( appsrc name=src is-live=true format=time do-timestamp=true "
            f"caps=video/x-raw,format=RGB,width={w},height={h},framerate={fps}/1 "
            f"! videoconvert ! video/x-raw,format=I420 ! {enc} )"
        )

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)
    factory.set_latency(0)

    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        basic = GstRtspServer.RTSPAuth.make_basic(args.user, args.password or "")
        auth.add_basic(basic, token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role("user", "media.factory.access", True)
        perms.add_permission_for_role("user", "media.factory.construct", True)
        factory.set_permissions(perms)

    if args.source == "stamp":
        stride = w * 3
        base = bytearray(b"\x40" * (w * h * 3))
        state = {"n": 0, "timer": None, "due": 0.0}
        period = 1.0 / fps

        def push(appsrc):
            frame = bytearray(base)
            now = int(time.time() * 1000) & 0xFFFFFFFF
            white = b"\xff" * (BLOCK * 3)
            black = b"\x00" * (BLOCK * 3)
            for i in range(BITS):
                blk = white if (now >> (BITS - 1 - i)) & 1 else black
                x0 = i * BLOCK * 3
                for y in range(BLOCK):
                    off = y * stride + x0
                    frame[off:off + BLOCK * 3] = blk
            bx = ((state["n"] * 8) % (w - BLOCK)) * 3
            bar = b"\xc0" * (BLOCK * 3)
            for y in range(2 * BLOCK, h):
                off = y * stride + bx
                frame[off:off + BLOCK * 3] = bar
            state["n"] += 1
            ret = appsrc.emit("push-buffer", Gst.Buffer.new_wrapped(bytes(frame)))
            return ret == Gst.FlowReturn.OK

        def on_configure(_factory, media):
            appsrc = media.get_element().get_child_by_name("src")
            if state["timer"] is not None:
                GLib.source_remove(state["timer"])

            state["due"] = time.monotonic()

            def tick():
                # Paced on an absolute schedule so the stream keeps exactly `fps` on average.
                if time.monotonic() < state["due"]:
                    return True
                state["due"] += period
                if not push(appsrc):
                    state["timer"] = None
                    return False
                return True

            state["timer"] = GLib.timeout_add(2, tick)

        factory.connect("media-configure", on_configure)

    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print("ERROR cannot listen", flush=True)
        sys.exit(2)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
