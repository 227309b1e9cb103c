import assert from "node:assert/strict";
import { parseCsv, toCsv } from "../../core/csv.ts";

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

Deno.test("parseCsv reads back what toCsv writes, quotes included", () => {
  const rows = [
    { kind: "a", x: 0.1 + 0.2, y: -0 },
    { kind: "b,c", x: 1e-12 },
    { kind: 'say "hi"\nthere', x: NaN, y: true },
  ];
  const parsed = parseCsv(toCsv(["kind", "x", "y"], rows));
  assert.deepEqual(parsed, [
    { kind: "a", x: "0.30000000000000004", y: "0" },
    { kind: "b,c", x: "1e-12", y: "" },
    { kind: 'say "hi"\nthere', x: "NaN", y: "true" },
  ]);
  assert.deepEqual(parseCsv("a,b\r\n1,2\r\n"), [{ a: "1", b: "2" }]);
  assert.throws(() => parseCsv('a\n"open'), /unterminated/);
  assert.throws(() => parseCsv("a,b\n1\n"), /record 2 has 1 fields/);
});
