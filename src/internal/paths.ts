/** Where things live by default, for every part that needs to agree on it. */

/** Where the shared-memory frame stores live (a tmpfs): the writers' and the model servers' default, and the config's. */
export const DEFAULT_SHM_DIR = '/dev/shm/framesupplier';
