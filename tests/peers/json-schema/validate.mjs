// Ajv (an independent JSON Schema validator) on afm serve's structured output. One JSON request on stdin, one JSON
// answer on stdout:
//   {"pairs":[{"schema":{...},"content":"<the response's message content>"}]} ->
//   {"results":[{"parses":bool,"valid":bool,"errors":"..."}]}: the content parsed as JSON, then validated against its schema.
import Ajv from "ajv";
import { readFileSync } from "node:fs";

const request = JSON.parse(readFileSync(0, "utf8"));
// strict: a keyword Ajv does not know is an error in the schema, not ignored; allErrors: every violation in the message.
const ajv = new Ajv({ strict: true, allErrors: true });
const results = request.pairs.map(({ schema, content }) => {
  let instance;
  try {
    instance = JSON.parse(content);
  } catch (e) {
    return { parses: false, valid: false, errors: String(e.message) };
  }
  const validate = ajv.compile(schema);
  const valid = validate(instance);
  return { parses: true, valid, errors: valid ? "" : ajv.errorsText(validate.errors) };
});
process.stdout.write(JSON.stringify({ results }) + "\n");
