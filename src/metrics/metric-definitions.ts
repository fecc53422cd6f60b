/**
 * The metrics set whole from each scrape's stats() snapshot: their names, types and help, in one place (the
 * exporter, system-metrics.ts, fills them). Names are framesupplier_ in base units; counters end in _total.
 */
import type { Registry } from 'prom-client';
import { SnapshotMetric } from './snapshot-metric.js';

/** The metrics set whole from each snapshot, registered in `registry` and listed in `all`. */
export function defineSnapshots(registry: Registry, all: SnapshotMetric[], quantiles: readonly (readonly [string, string, string])[]) {
  const def = (type: 'counter' | 'gauge' | 'histogram', name: string, help: string): SnapshotMetric => {
    const metric = new SnapshotMetric(registry, { name, help, type });
    all.push(metric);
    return metric;
  };
  const counter = (name: string, help: string): SnapshotMetric => def('counter', name, help);
  const gauge = (name: string, help: string): SnapshotMetric => def('gauge', name, help);
  return {
    systemState: gauge('framesupplier_system_state', "1 for the system's current state, 0 for the others."),
    cameraState: gauge('framesupplier_camera_state', "1 for each camera's current capture state (or disabled), 0 for the others."),
    captureRestarts: counter(
      'framesupplier_capture_restarts_total',
      'Capture restarts (decoder or ffmpeg started again after a failure, a stall or a file end with loop).',
    ),
    framesDecoded: counter('framesupplier_capture_frames_decoded_total', 'Frames the capture decoded.'),
    decodeFps: gauge('framesupplier_capture_fps', 'Frames per second the capture decodes, over the last 5 s.'),
    streamReceived: counter('framesupplier_stream_frames_received_total', "Frames of the camera's stream read (packets), decoded or held (ADR 0052)."),
    streamDecoded: counter('framesupplier_stream_frames_decoded_total', "Frames of the camera's stream decoded, snapshot bursts included."),
    streamConverted: counter('framesupplier_stream_frames_converted_total', "Frames of the camera's stream converted for a reader or a snapshot."),
    streamUsed: counter('framesupplier_stream_frames_used_total', "Frames of the camera's stream its readers took."),
    streamCpuPerFrame: gauge(
      'framesupplier_stream_decode_cpu_seconds_per_frame',
      "The stream's decoder thread CPU time per decoded frame, over the capture's life (in-process decoder).",
    ),
    streamBufferBytes: gauge('framesupplier_stream_packet_buffer_bytes', 'Packets the stream holds since its keyframe before the last, to decode on demand.'),
    published: counter('framesupplier_frames_published_total', "Frames the camera's supplier accepted."),
    inboxDrops: counter('framesupplier_inbox_drops_total', "Frames overwritten in the supplier's inbox before distribution took them (should stay near 0)."),
    workerState: gauge('framesupplier_worker_state', "1 for each worker's current state, 0 for the others."),
    workerRestarts: counter('framesupplier_worker_restarts_total', 'Worker restarts: by its restart policy, and asked for.'),
    delivered: counter('framesupplier_worker_frames_delivered_total', 'Frames the worker read, over all its incarnations.'),
    dropped: counter('framesupplier_worker_frames_dropped_total', 'Frames the worker missed because it was busy (a newer frame replaced them).'),
    gated: counter('framesupplier_worker_frames_gated_total', "Frames let pass by the worker's maxFps, by design (not drops)."),
    staleSkips: counter('framesupplier_worker_stale_skips_total', 'Frames refused at read time for being older than maxAgeMs.'),
    results: counter('framesupplier_worker_results_total', 'Results the worker emitted.'),
    taken: counter('framesupplier_worker_frames_taken_total', "Frames a model worker's model ran on and answered (of the frames it was delivered)."),
    skipped: counter(
      'framesupplier_worker_frames_skipped_total',
      'Frames a model worker was delivered that its model never ran on, by reason (overwritten, superseded, stale, error, unanswered).',
    ),
    asks: counter(
      'framesupplier_worker_asks_total',
      "A vlm worker's asks of its model server, by outcome: sent (requests made), answered, stale (answered past staleAfterMs), error.",
    ),
    askSkips: counter(
      'framesupplier_worker_asks_skipped_total',
      'Triggers a vlm worker let pass without a request, by reason (no fresh frame within its age budget, busy, its rate, the endpoint’s rate or concurrency, paused after a 429…).',
    ),
    asksPending: gauge('framesupplier_worker_asks_pending', "Objects waiting for a vlm worker's model now (ADR 0067): one entry per object."),
    asksPendingWait: gauge(
      'framesupplier_worker_asks_pending_seconds',
      'How long the objects a vlm worker asked about waited for its model (recent asks), by quantile (0.5, 0.99).',
    ),
    askTokens: counter(
      'framesupplier_worker_asks_tokens_total',
      "Tokens a vlm worker's answers counted (the server's usage fields), by kind (prompt, completion).",
    ),
    endpointTokens: counter(
      'framesupplier_vlm_endpoint_tokens_total',
      'Tokens the answers of one vlm endpoint (url and model) counted over every worker of the process, by kind (prompt, completion).',
    ),
    endpointTokensHour: gauge(
      'framesupplier_vlm_endpoint_tokens_last_hour',
      "Tokens one vlm endpoint's answers counted in the last hour, what budgets.endpoint.tokensPerHour caps.",
    ),
    frameAge: def(
      'histogram',
      'framesupplier_worker_frame_age_seconds',
      "Age of each frame the worker processed: at its read (module, thread, command), at the model's answer for the frames a model worker's model ran on.",
    ),
    hopAge: def(
      'histogram',
      'framesupplier_frame_age_seconds',
      'Age of frames at each hop of their way (capture → hop): decoded and converted per camera (worker=""), then per worker delivered, taken (by its model), result, published (MQTT) and sent (dashboard). A model worker\'s hops count the frames its model ran on.',
    ),
    dropAlert: gauge('framesupplier_worker_drop_alert', "1 while the worker's drop alert is raised: it cannot keep up."),
    objectiveMissed: gauge(
      'framesupplier_worker_objective_missed',
      '1 while the worker misses its freshness objective (its skip tolerance or its age budget, over the last 10 s); the reason is in stats and on MQTT.',
    ),
    skipRatio: gauge(
      'framesupplier_worker_skip_ratio',
      'Share of the frames offered to the worker it missed (dropped, stale when read, or skipped by its model) over the last minute.',
    ),
    withinBudget: gauge(
      'framesupplier_worker_within_budget_ratio',
      "Share of the worker's results whose frame was within its age budget (capture → result ≤ maxAgeMs) over the last minute.",
    ),
    decodeAddedAge: gauge(
      'framesupplier_worker_decode_added_age_seconds',
      "The age its stream's decoding adds to each frame the worker takes, on average (keyframes only: (keyframe interval − frame interval) ÷ 2; 0 under decode: auto).",
    ),
    decodeNotDecoded: gauge(
      'framesupplier_worker_decode_frames_not_decoded_ratio',
      "Share of the worker's stream's frames not decoded, over the stream's life (the in-process decoder; absent with ffmpeg).",
    ),
    waitingForModel: gauge('framesupplier_worker_waiting_for_model', '1 while a model worker waits for its model server to be ready.'),
    modelState: gauge('framesupplier_model_server_state', "1 for each model server's current state, 0 for the others."),
    modelRestarts: counter('framesupplier_model_server_restarts_total', 'Model server process starts after the first.'),
    modelPing: gauge('framesupplier_model_server_ping_seconds', "How long the model server's last health ping took."),
    modelRequests: counter(
      'framesupplier_model_requests_total',
      'Requests of a camera the model server finished, by outcome (served, superseded, stale), as its own stats count them.',
    ),
    modelQuantiles: quantiles.map(([, name, help]) => gauge(name, help)),
    modelMaxBatch: gauge('framesupplier_model_max_batch', "Frames one call of the model takes at most (its server's max_batch; 1: one frame a call)."),
    modelBatchSize: (['p50', 'p99'] as const).map((p) =>
      gauge(
        `framesupplier_model_batch_size_${p}`,
        `Frames a call of the model held, ${p} over its recent calls, as the system's workers' answers tell them (each call counted once).`,
      ),
    ),
    modelBatchOldestAge: (['p50', 'p99'] as const).map((p) =>
      gauge(`framesupplier_model_batch_oldest_frame_age_${p}_seconds`, `Age of a call's oldest frame when the call began, ${p} over the model's recent calls.`),
    ),
    modelCallFixed: gauge(
      'framesupplier_model_call_fixed_seconds',
      "A call's fixed cost (a, of a + b·n), learned from the model's answers by least squares over its recent calls.",
    ),
    modelCallPerFrame: gauge(
      'framesupplier_model_call_per_frame_seconds',
      "What each frame adds to a call (b, of a + b·n), learned from the model's answers by least squares over its recent calls.",
    ),
    motionFrames: counter(
      'framesupplier_motion_frames_total',
      "Frames the camera's motion detection measured, by state: motion, whole (a whole-picture change), still (warming included) (ADR 0066).",
    ),
    motionShare: gauge('framesupplier_motion_share_ratio', "Share of the camera's picture that moved on its last frame measured, 0–1."),
    motionRegions: gauge('framesupplier_motion_regions', 'Moving regions on the last frame measured.'),
    motionActivity: gauge('framesupplier_motion_activity_ratio', "Share of the camera's frames measured that had motion, over its life."),
    motionOnsets: counter('framesupplier_motion_onsets_total', 'Motion onsets: motion after a still spell.'),
    gateRuns: counter(
      'framesupplier_worker_gate_runs_total',
      'Frames a motion-gated worker let go to its model, by reason (first, motion, onset, whole, stationary, unknown).',
    ),
    gateStill: counter(
      'framesupplier_worker_frames_still_total',
      'Frames a motion-gated worker did not run its model on because nothing moved and nothing tracked was due a recheck: model runs saved (neither drops nor misses).',
    ),
    onsetLatency: gauge(
      'framesupplier_worker_onset_detection_seconds',
      "A motion-gated worker's onset → first detection latency (capture of the onset frame to the result), p50 and p99 of the last 256 onsets.",
    ),
    regionFrames: counter(
      'framesupplier_worker_region_frames_total',
      'Frames a motion-gated worker sent to its model as crops around what moves and what it tracks (ADR 0069): one a frame, however many crops.',
    ),
    gateModelCalls: counter(
      'framesupplier_worker_gate_model_calls_total',
      'Model calls of a motion-gated worker with regions, by what they ran on (on: crop, whole): what its model server counts.',
    ),
    wholeFallbacks: counter(
      'framesupplier_worker_whole_fallbacks_total',
      'Frames a motion-gated worker with regions ran whole because their crops would have covered more than regionsWholeAbove of the picture (or been too many).',
    ),
    // Fall alerts answered (ADR 0157-0159): what a care buyer asks, per camera.
    fallStanding: gauge(
      'framesupplier_fall_alerts_standing',
      'Fall and person-down alerts that stand now (a person down, or lost while down and not acknowledged).',
    ),
    fallUnacknowledged: gauge('framesupplier_fall_alerts_unacknowledged', 'Fall and person-down alerts not yet acknowledged.'),
    fallAcknowledged: counter('framesupplier_fall_alerts_acknowledged_total', "A camera's fall alerts acknowledged since start."),
    fallToAcknowledge: counter(
      'framesupplier_fall_time_to_acknowledge_seconds_total',
      "Time from each acknowledged alert's `new` to its acknowledgement, summed: divided by framesupplier_fall_alerts_acknowledged_total, the mean.",
    ),
    fallToAcknowledgeMax: gauge('framesupplier_fall_time_to_acknowledge_max_seconds', 'The longest time to acknowledge of a camera since start.'),
    fallOnFloor: counter(
      'framesupplier_fall_time_on_floor_seconds_total',
      'Time on the floor (the first sighting down to the person up or the acknowledgement) of the acknowledged alerts, summed.',
    ),
    fallOnFloorMax: gauge('framesupplier_fall_time_on_floor_max_seconds', 'The longest time on the floor of an acknowledged alert of a camera since start.'),
    roomAssisted: gauge(
      'framesupplier_room_assisted',
      '1 while a single-occupancy room has two or more people tracked (a carer there: its fall alerts held as assisted).',
    ),
    roomAssistedSeconds: counter('framesupplier_room_assisted_seconds_total', 'Time a single-occupancy room has spent assisted since start.'),
    mqttConnected: gauge('framesupplier_mqtt_connected', '1 while the MQTT client is connected to the broker.'),
    mqttQueued: gauge('framesupplier_mqtt_queued_events', 'Events waiting for the broker in the bounded queue.'),
    mqttQueuedBytes: gauge('framesupplier_mqtt_queued_bytes', 'Bytes of the events waiting for the broker.'),
    mqttDropped: counter('framesupplier_mqtt_dropped_events_total', 'Events dropped because the queue for the broker was full.'),
    mqttReconnects: counter('framesupplier_mqtt_reconnects_total', 'Reconnections to the broker.'),
    mqttPublished: counter('framesupplier_mqtt_published_messages_total', 'Messages published to the broker.'),
  };
}
