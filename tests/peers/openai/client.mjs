// The official OpenAI npm client against afm serve. One JSON request on stdin, one JSON answer on stdout:
//   {"op":"chat","baseURL":"http://127.0.0.1:P/v1","body":{...}} -> {"message":{...},"finish_reason":"...","usage":{...}}
//   {"op":"stream","baseURL":...,"body":{...}} -> {"content":"...","tool_calls":[...],"finish_reason":"...","chunks":n,
//      "argument_deltas":n}
//      (deltas put together as the client's documentation shows: content appended, tool calls by index)
//   {"op":"tool_round_trip","baseURL":...,"body":{...},"result":"..."} -> {"call":{...},"finish_reason":"...",
//      "next":{"message":{...},"finish_reason":"..."}}: the forced call, its result sent back as a tool message, the next turn.
//   {"op":"raw_chat"|"raw_completion",...} -> {"response":{...}}: the client's parsed answer, whole
//   {"op":"raw_chat_stream"|"raw_completion_stream",...} -> {"chunks":[...]}: every chunk the client parsed
//   {"op":"retrieve","baseURL":...,"id":"..."} -> {"model":{...}}
//   {"op":"conversation","baseURL":...,"body":{...},"turns":["...",...]} -> {"answers":[...]}: a chat of several turns,
//      each the whole conversation so far (every other turn streamed), as a chat application sends it
// "apiKey" sets the client's key (default "unused"); a failure answers {"error", "status"}.
import OpenAI from "openai";
import { readFileSync } from "node:fs";

const request = JSON.parse(readFileSync(0, "utf8"));
const client = new OpenAI({ baseURL: request.baseURL, apiKey: request.apiKey ?? "unused", maxRetries: 0, timeout: 60_000 });
let answer;
try {
  if (request.op === "chat") {
    const completion = await client.chat.completions.create(request.body);
    answer = { message: completion.choices[0].message, finish_reason: completion.choices[0].finish_reason, usage: completion.usage };
  } else if (request.op === "stream") {
    const stream = await client.chat.completions.create({ ...request.body, stream: true });
    let content = "", finish = null, chunks = 0, argumentDeltas = 0;
    const calls = [];
    for await (const chunk of stream) {
      chunks++;
      const choice = chunk.choices[0];
      if (!choice) continue;
      content += choice.delta?.content ?? "";
      for (const delta of choice.delta?.tool_calls ?? []) {
        calls[delta.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } };
        const call = calls[delta.index];
        if (delta.id) call.id = delta.id;
        if (delta.function?.name) call.function.name += delta.function.name;
        if (delta.function?.arguments) { call.function.arguments += delta.function.arguments; argumentDeltas++; }
      }
      finish = choice.finish_reason ?? finish;
    }
    answer = { content, tool_calls: calls, finish_reason: finish, chunks, argument_deltas: argumentDeltas };
  } else if (request.op === "tool_round_trip") {
    const first = await client.chat.completions.create(request.body);
    const message = first.choices[0].message;
    const call = message.tool_calls[0];
    const messages = [...request.body.messages, message, { role: "tool", tool_call_id: call.id, content: request.result }];
    const next = await client.chat.completions.create({ ...request.body, messages, tool_choice: "none" });
    answer = {
      call, finish_reason: first.choices[0].finish_reason,
      next: { message: next.choices[0].message, finish_reason: next.choices[0].finish_reason, usage: next.usage },
    };
  } else if (request.op === "raw_chat") {
    answer = { response: await client.chat.completions.create(request.body) };
  } else if (request.op === "raw_completion") {
    answer = { response: await client.completions.create(request.body) };
  } else if (request.op === "raw_chat_stream" || request.op === "raw_completion_stream") {
    const api = request.op === "raw_chat_stream" ? client.chat.completions : client.completions;
    const chunks = [];
    for await (const chunk of await api.create({ ...request.body, stream: true })) chunks.push(chunk);
    answer = { chunks };
  } else if (request.op === "retrieve") {
    answer = { model: await client.models.retrieve(request.id) };
  } else if (request.op === "conversation") {
    const messages = [...request.body.messages];
    const answers = [];
    for (const [i, turn] of request.turns.entries()) {
      messages.push({ role: "user", content: turn });
      let content = "";
      if (i % 2 === 1) {
        for await (const chunk of await client.chat.completions.create({ ...request.body, messages, stream: true }))
          content += chunk.choices[0]?.delta?.content ?? "";
      } else {
        content = (await client.chat.completions.create({ ...request.body, messages })).choices[0].message.content;
      }
      answers.push(content);
      messages.push({ role: "assistant", content });
    }
    answer = { answers };
  } else {
    answer = { error: `unknown op ${request.op}` };
  }
} catch (e) {
  answer = { error: String(e?.message ?? e), status: e?.status ?? null };
}
process.stdout.write(JSON.stringify(answer) + "\n");
