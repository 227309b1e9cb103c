import assert from "node:assert/strict";
import { z } from "zod";
import { canonicalJson, ConfigError, configHash, parseConfig } from "../../core/config.ts";
import { sha256Hex } from "../../core/hash.ts";

Deno.test("canonical JSON sorts keys at every depth and drops whitespace", () => {
  const text = canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } });
  assert.equal(text, '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
});

Deno.test("canonical JSON normalizes numbers: 1.0, 1e0 and 1 agree, -0 is 0", () => {
  assert.equal(canonicalJson([1.0, 1e0, -0, 0.1, 1e-12, 2.5e21]), "[1,1,0,0.1,1e-12,2.5e+21]");
  assert.equal(configHash({ lr: 0.1, rho: 5e-2 }), configHash({ rho: 0.05, lr: 1e-1 }));
});

Deno.test("canonical JSON rejects values JSON cannot hold, naming where", () => {
  assert.throws(() => canonicalJson({ a: [1, NaN] }), /non-finite number NaN at \$\.a\[1\]/);
  assert.throws(() => canonicalJson({ f: () => 1 }), /unsupported function at \$\.f/);
  assert.equal(canonicalJson({ a: undefined, b: null }), '{"b":null}');
});

Deno.test("configHash is sha256 of the canonical JSON (known answer)", () => {
  // sha256("{}") and sha256("abc") are standard test vectors.
  assert.equal(
    configHash({}),
    "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
  );
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.notEqual(configHash({ lr: 0.1 }), configHash({ lr: 0.10000001 }));
});

Deno.test("parseConfig names every invalid field as a dotted path", () => {
  const schema = z.object({
    sam: z.object({ rho: z.number().positive() }),
    steps: z.number().int(),
  });
  assert.deepEqual(parseConfig(schema, { sam: { rho: 0.05 }, steps: 3 }), {
    sam: { rho: 0.05 },
    steps: 3,
  });
  try {
    parseConfig(schema, { sam: { rho: -1 }, steps: 1.5 });
    assert.fail("expected a ConfigError");
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.fields, ["sam.rho", "steps"]);
    assert.match(err.message, /sam\.rho: Too small/);
    assert.match(err.message, /steps: .*int/i);
  }
});

Deno.test("parseConfig rejects unknown keys when the schema is strict", () => {
  const schema = z.strictObject({ a: z.number() });
  assert.throws(() => parseConfig(schema, { a: 1, b: 2 }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /"b"/);
    return true;
  });
});
