import assert from "node:assert/strict";
import { toCsv } from "../../core/csv.ts";

Deno.test("CSV writes a header, round-trip numbers and empty missing cells", () => {
  const text = toCsv(["kind", "x", "y"], [
    { kind: "a", x: 0.1 + 0.2, y: -0 },
    { kind: "b,c", x: 1e-12 },
    { kind: 'say "hi"', x: NaN, y: true },
  ]);
  assert.equal(
    text,
    'kind,x,y\na,0.30000000000000004,0\n"b,c",1e-12,\n"say ""hi""",NaN,true\n',
  );
  assert.equal(Number("0.30000000000000004"), 0.1 + 0.2);
});
