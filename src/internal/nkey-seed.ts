/**
 * What a NATS user NKey seed looks like (SU and base32), once: the config's
 * validator judges an inline `cluster.auth.nkeySeed` by it, the cluster node
 * the content of an `nkeySeedFile` when it reads it at start.
 */
export const isUserNkeySeed = (text: string): boolean => /^SU[A-Z2-7]{50,}$/.test(text);
