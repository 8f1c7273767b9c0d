import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULTS } from "./defaults.ts";
import { configSchema } from "./schema.ts";

const MINIMAL = {
  chains: [
    {
      chainId: 1,
      upstreams: [{ id: "a", url: "http://127.0.0.1:1", domain: { operator: "o", hosting: "h", region: "r" } }],
    },
  ],
};

const TOKEN = "an-admin-token-of-some-length";

/** The default store's own fields (`keyPrefix` belongs to a Redis store). */
const { keyPrefix: _redisOnly, ...sqliteStore } = DEFAULTS.store;

test("a minimal config gets every default from DEFAULTS", () => {
  const config = configSchema.parse(MINIMAL);
  assert.deepEqual(config.server, DEFAULTS.server);
  assert.deepEqual(config.store, sqliteStore);
  assert.deepEqual(config.log, DEFAULTS.log);
  assert.deepEqual(config.routing, DEFAULTS.routing);
  assert.deepEqual(config.health, DEFAULTS.health);
  const { connections, allowPrivateNetwork, ...upstream } = DEFAULTS.upstream;
  assert.deepEqual(config.upstream, upstream);
  assert.equal(config.chains[0]!.upstreams[0]!.allowPrivateNetwork, allowPrivateNetwork);
  assert.equal(config.chains[0]!.upstreams[0]!.connections, connections);
  // The admin listener has no default section: it is configured on purpose or not at all.
  assert.equal(config.admin, undefined);
  assert.deepEqual(configSchema.parse({ ...MINIMAL, admin: { token: TOKEN } }).admin, {
    ...DEFAULTS.admin,
    token: TOKEN,
  });
  // There is no admin listener without a token.
  assert.throws(() => configSchema.parse({ ...MINIMAL, admin: {} }));
  assert.deepEqual(config.websocket, DEFAULTS.websocket);
  const { anonymousRateLimit: _none, ...auth } = config.auth;
  assert.deepEqual(auth, { ...DEFAULTS.auth, keys: [], methodCosts: {} });
  assert.deepEqual(config.methods, DEFAULTS.methods);
  assert.deepEqual(config.calls, DEFAULTS.calls);
});

test("writing every default out explicitly is a valid config that changes nothing", () => {
  const { connections, allowPrivateNetwork, ...upstream } = DEFAULTS.upstream;
  const explicit = {
    server: DEFAULTS.server,
    admin: { ...DEFAULTS.admin, token: TOKEN },
    websocket: DEFAULTS.websocket,
    auth: DEFAULTS.auth,
    methods: DEFAULTS.methods,
    calls: DEFAULTS.calls,
    store: sqliteStore,
    log: DEFAULTS.log,
    routing: DEFAULTS.routing,
    health: DEFAULTS.health,
    upstream,
    chains: [{ chainId: 1, upstreams: [{ ...MINIMAL.chains[0]!.upstreams[0]!, connections, allowPrivateNetwork }] }],
  };
  assert.deepEqual(configSchema.parse(explicit), configSchema.parse({ ...MINIMAL, admin: { token: TOKEN } }));
});
