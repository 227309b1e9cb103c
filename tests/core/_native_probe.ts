/**
 * Prints the sha256 of the ResNet-20 parameters after two SGD steps on the native backend
 * (thread count from `LATE_SAM_NATIVE_THREADS`): `native_test.ts` compares processes.
 *
 * @module
 */
import { useBackend } from "../../core/backend.ts";
import { sha256Hex } from "../../core/hash.ts";
import { flatParams, makeStepper } from "../bench/step_fixture.ts";

await useBackend("native");
const step = makeStepper("resnet20", "sgd", 8);
step();
const params = step();
const flat = flatParams(params);
console.log(sha256Hex(new Uint8Array(flat.buffer)));
