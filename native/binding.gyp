{
  # The decoder links the system's libav* (found by pkg-config): its libav core (decoder_core.c, plain C, built and
  # tested without Node by native/test/) behind the N-API glue (decoder.c, malloc_figures.c). The shared-memory
  # mapper (with peerCredentials, peercred.c, the motion detector's passes, motion.c, the fatal-signal report, fatal_report.c, and sd_notify's datagram, notify.c; -ffp-contract=off keeps
  # their arithmetic that of the JavaScript's) needs only libc. Where libav's headers are missing, only the mapper is
  # built (with_decoder=0), so one missing library never costs the other addon.
  "variables": {
    "with_decoder%": "<!(pkg-config --exists libavformat libavcodec libswscale libavutil && echo 1 || echo 0)"
  },
  "targets": [
    {
      "target_name": "framesupplier_shm",
      "sources": ["shm_map.c", "sigbus_guard.c", "peercred.c", "motion.c", "fatal_report.c", "notify.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=c11", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lpthread", "-ldl"]
    }
  ],
  "conditions": [
    ["with_decoder==1", {
      "targets": [
        {
          "target_name": "framesupplier_decoder",
          "sources": ["decoder.c", "decoder_core.c", "malloc_figures.c"],
          "defines": ["NAPI_VERSION=8"],
          "cflags_c": ["-std=c11", "-O2", "-Wall", "-Wno-unused-parameter", "<!@(pkg-config --cflags libavformat libavcodec libswscale libavutil)"],
          "libraries": ["-lpthread", "<!@(pkg-config --libs libavformat libavcodec libswscale libavutil)"]
        }
      ]
    }]
  ]
}
