#!/usr/bin/python3
"""Test RTSP server: GStreamer's gst-rtsp-server serving an H.264 MP4 file.

usage: rtsp_server.py PORT FILE [NAME=FILE ...]    (PORT 0 picks a free port)
Prints "READY <port>" on stdout once it listens, then serves
rtsp://127.0.0.1:<port>/stream until killed, and each NAME=FILE at
rtsp://127.0.0.1:<port>/NAME (a camera's substream: the same scene at
another size, encoded with the same timestamps). No transcoding: the file's
H.264 is packetised as it is, paced in real time by the pipeline clock.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
port, path = sys.argv[1], sys.argv[2]
mounts = [("stream", path)] + [tuple(arg.split("=", 1)) for arg in sys.argv[3:]]
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
for name, file in mounts:
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( filesrc location="{file}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )'
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory(f"/{name}", factory)
if server.attach(None) == 0:
    sys.exit(f"could not listen on port {port}")
print(f"READY {server.get_bound_port()}", flush=True)
GLib.MainLoop().run()
