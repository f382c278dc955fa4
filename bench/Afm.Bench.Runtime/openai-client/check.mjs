// Calls an `afm serve` endpoint with the official OpenAI client: list models, a completion, a streamed
// chat completion, a completion with each adapter /v1/models lists, and a request for an adapter the model does not
// have, which must be refused with a 404. Usage: node check.mjs http://127.0.0.1:5000
import OpenAI from "openai";

const baseURL = (process.argv[2] ?? "http://127.0.0.1:5000") + "/v1";
const client = new OpenAI({ baseURL, apiKey: "not-needed" });

const models = await client.models.list();
const model = models.data[0].id;
console.log(`models: ${models.data.map(m => m.id).join(", ")}`);

const completion = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 16, temperature: 0 });
console.log(`completion (${completion.usage.completion_tokens} tokens, finish ${completion.choices[0].finish_reason}): ${JSON.stringify(completion.choices[0].text)}`);

const stream = await client.chat.completions.create({
  model, stream: true, max_tokens: 16, temperature: 0,
  messages: [{ role: "user", content: "Tell me about the river." }],
});
let text = "", chunks = 0;
for await (const chunk of stream) { text += chunk.choices[0]?.delta?.content ?? ""; chunks++; }
console.log(`streamed chat (${chunks} chunks): ${JSON.stringify(text)}`);

for (const adapter of models.data.slice(1)) {
  const adapted = await client.completions.create({ model: adapter.id, prompt: "Once upon a time", max_tokens: 16, temperature: 0 });
  console.log(`completion with ${adapted.model}: ${JSON.stringify(adapted.choices[0].text)}`);
}

try {
  await client.completions.create({ model: `${model}:no-such-adapter`, prompt: "x", max_tokens: 2 });
  console.log("unknown adapter request: UNEXPECTEDLY ACCEPTED");
  process.exit(1);
} catch (e) {
  console.log(`unknown adapter request refused: ${e.status} ${e.error?.code ?? e.code}`);
  if (e.status !== 404) process.exit(1);
}
