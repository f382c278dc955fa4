// Hugging Face's JavaScript renderer of chat templates (@huggingface/jinja), the reference the chat template tests
// compare with. One JSON request on stdin, one JSON answer on stdout:
//   {"template": "...", "messages": [...], "tools": [...]?, "bos_token": "..."?, "eos_token": "..."?,
//    "add_generation_prompt": true} -> {"text": "..."} or {"error": "..."} (the template raised or failed to parse)
import { Template } from "@huggingface/jinja";
import { readFileSync } from "node:fs";

const request = JSON.parse(readFileSync(0, "utf8"));
let answer;
try {
  const context = {
    messages: request.messages,
    add_generation_prompt: request.add_generation_prompt ?? true,
    bos_token: request.bos_token ?? "",
    eos_token: request.eos_token ?? "",
  };
  if (request.tools) context.tools = request.tools;
  answer = { text: new Template(request.template).render(context) };
} catch (e) {
  answer = { error: String(e?.message ?? e) };
}
process.stdout.write(JSON.stringify(answer) + "\n");
