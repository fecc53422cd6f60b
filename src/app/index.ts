/** The composition root: the system and its adapters, built from one config and started and stopped in order. */
export { App, createApp, type AppOptions, type AppHttpOptions, type DashboardAddress } from './app.js';
export { careCameras, createOutsideWatch, OutsideWatch, systemDownCause, type OutsideWatchOptions, type OutsideWatchedCamera } from './outside-watch.js';
