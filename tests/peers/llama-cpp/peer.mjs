// llama.cpp as a peer runtime (through node-llama-cpp's prebuilt binaries, CPU only, never built here).
// One JSON request on stdin, one JSON answer on stdout:
//   {"op":"generate","model":"m.gguf","lora":"a.gguf"?,"prompt":[ids],"steps":32,"threads":1}
//      -> {"tokens":[ids]}: greedy (temperature 0) from the prompt's ids, no tokenization, no stop at end of text;
//         the KV cache is F32 so an F32 model is compared with ours at float precision.
//   {"op":"tokenize","model":"m.gguf","text":"..."} -> {"ids":[ids]} (special tokens parsed, no BOS added)
//   {"op":"bench","model":"m.gguf","prompt":[ids],"steps":N,"threads":T}
//      -> {"tokensPerSecond":x,"peakRssBytes":n,"loadMs":x}: decode speed over N greedy steps after the prompt.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { readFileSync } from "node:fs";

const request = JSON.parse(readFileSync(0, "utf8"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const loadStart = performance.now();
const model = await llama.loadModel({ modelPath: request.model, gpuLayers: 0 });
let answer;
if (request.op === "tokenize") {
  answer = { ids: Array.from(model.tokenize(request.text, true)) };
} else {
  const context = await model.createContext({
    contextSize: Math.max(64, request.prompt.length + request.steps + 1),
    threads: request.threads ?? 1,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
    ...(request.lora ? { lora: { adapters: [{ filePath: request.lora, scale: 1 }] } } : {}),
  });
  const loadMs = performance.now() - loadStart;
  const sequence = context.getSequence();
  const tokens = [];
  let decodeStart = 0;
  for await (const token of sequence.evaluate(request.prompt, { temperature: 0 })) {
    if (tokens.length === 0) decodeStart = performance.now();
    tokens.push(token);
    if (tokens.length >= request.steps) break;
  }
  if (request.op === "bench") {
    const seconds = (performance.now() - decodeStart) / 1000;
    answer = { tokensPerSecond: (tokens.length - 1) / seconds, peakRssBytes: peakRss(), loadMs };
  } else {
    answer = { tokens };
  }
  await context.dispose();
}
await model.dispose();
process.stdout.write(JSON.stringify(answer) + "\n");

function peakRss() {
  const line = readFileSync("/proc/self/status", "utf8").split("\n").find(l => l.startsWith("VmHWM:"));
  return Number(line.trim().split(/\s+/)[1]) * 1024;
}
