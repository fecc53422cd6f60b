/**
 * The config schema's cluster section (src/cluster, ADR 0021): `cluster:`, cameras spread over nodes through
 * NATS (servers, this node's id and share, leases, what cameras from the cluster may run, NATS auth and TLS).
 * Stands on the schema's shared parts alone.
 */
import { Type } from '@sinclair/typebox';
import { DEFAULT_LEASE_MS, SHORTEST_LEASE_MS } from '../../internal/lease-tick.js';
import { closed, id, ms } from './shared.js';

export const ClusterSchema = Type.Object(
  {
    servers: Type.Array(Type.String({ pattern: '^(nats|tls|ws|wss)://' }), { minItems: 1, description: 'NATS server URLs, e.g. nats://nats.local:4222.' }),
    nodeId: Type.Optional(id("This node's id in the cluster. Default (framesupplier run): the id made at first start and kept in the state directory.")),
    capacity: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1_000_000,
      default: 1,
      description: "This node's share weight: cameras are spread in proportion to it.",
    }),
    leaseMs: ms(`How long a camera's lease lasts without renewal, at least ${SHORTEST_LEASE_MS} (a node renews it at least twice)`, DEFAULT_LEASE_MS),
    marginMs: ms('Clock skew allowance added to a lease before another node may claim it', 1_000),
    settleMs: Type.Optional(
      ms('Planned moves give cameras only to nodes that have run this long without a stall or a lost NATS connection. Default 2 × leaseMs.'),
    ),
    allowExec: Type.Boolean({
      default: false,
      description:
        'Run cameras from the cluster (added through the bus, a KV write, or the HTTP API in cluster mode) that have command workers or module workers naming a file. Default false: this node refuses them, unless its own file names the camera with the same entry.',
    }),
    envPrefixes: Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), {
      default: [],
      uniqueItems: true,
      description:
        'Besides the variables this file references, ${NAME} in cameras from the cluster may name variables starting with one of these prefixes. This node expands them from its own environment.',
    }),
    auth: Type.Optional(
      Type.Object(
        {
          user: Type.Optional(Type.String({ minLength: 1, description: 'User name (with password).' })),
          password: Type.Optional(Type.String({ minLength: 1, description: 'Password (with user); write ${NAME} and keep it in the environment.' })),
          token: Type.Optional(Type.String({ minLength: 1, description: 'Token; write ${NAME} and keep it in the environment.' })),
          nkeySeedFile: Type.Optional(Type.String({ minLength: 1, description: "A file holding the user's NKey seed (SU…)." })),
          nkeySeed: Type.Optional(Type.String({ minLength: 1, description: "The user's NKey seed (SU…) itself; write ${NAME}." })),
          credsFile: Type.Optional(
            Type.String({ minLength: 1, description: "A .creds file (the user's JWT and NKey seed, as nsc writes it): decentralised auth with an operator." }),
          ),
        },
        {
          ...closed,
          description:
            'How this node authenticates to NATS: user and password, a token, an NKey, or a creds file (one of them). Credentials in a server URL (nats://user:pass@host, nats://token@host) are used too when this is absent.',
        },
      ),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          ca: Type.Optional(Type.String({ minLength: 1, description: "PEM file of the CA that signed the servers' certificates (a private CA)." })),
          cert: Type.Optional(
            Type.String({ minLength: 1, description: "PEM file of this node's client certificate (with key), for servers that verify clients." }),
          ),
          key: Type.Optional(Type.String({ minLength: 1, description: "PEM file of the client certificate's private key." })),
        },
        { ...closed, description: "TLS to NATS: tls:// server URLs, or any server that requires TLS. Absent: the system's CAs." },
      ),
    ),
  },
  { ...closed, description: "Join a cluster: the cameras become the cluster's desired state in NATS KV and run on the nodes that claim them." },
);
