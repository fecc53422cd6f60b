{
  "targets": [
    {
      "target_name": "framesupplier_decoder",
      "sources": ["decoder.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=c11", "-O2", "-Wall", "-Wno-unused-parameter", "<!@(pkg-config --cflags libavformat libavcodec libswscale libavutil)"],
      "libraries": ["-lpthread", "<!@(pkg-config --libs libavformat libavcodec libswscale libavutil)"]
    },
    {
      "target_name": "framesupplier_shm",
      "sources": ["shm_map.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lpthread"]
    }
  ]
}
