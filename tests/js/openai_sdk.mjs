// Drives the official openai Node SDK against ZtoApi and prints one JSON line of observations.
// Usage: BASE_URL=http://127.0.0.1:PORT/v1 API_KEY=... node openai_sdk.mjs <scenario>
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY, maxRetries: 0 });
const HELLO = [{ role: 'user', content: 'Hello, please introduce yourself' }];
const SECOND = process.env.SECOND_MODEL || 'GLM-4.6';   // chat.z.ai's second text model in the dialect under test

function directive(script) {
  return [{ role: 'user', content: `[[fake ${JSON.stringify(script)}]]` }];
}

function describe(error) {
  return {
    name: error.constructor.name, status: error.status ?? null, code: error.code ?? null,
    param: error.param ?? null, type: error.type ?? null, message: error.message,
    requestID: error.requestID ?? null,
    isAPIError: error instanceof OpenAI.APIError,
  };
}

async function caught(promise) {
  try {
    await promise;
    return { name: 'no error' };
  } catch (error) {
    return describe(error);
  }
}

function summarize(chunks) {
  return {
    count: chunks.length,
    ids: [...new Set(chunks.map((c) => c.id))],
    objects: [...new Set(chunks.map((c) => c.object))],
    roles: chunks.flatMap((c) => c.choices.map((choice) => choice.delta.role)).filter(Boolean),
    finishReasons: chunks.flatMap((c) => c.choices.map((choice) => choice.finish_reason)).filter(Boolean),
    text: chunks.flatMap((c) => c.choices.map((choice) => choice.delta.content ?? '')).join(''),
    reasoning: chunks.flatMap((c) => c.choices.map((choice) => choice.delta.reasoning_content ?? '')).join(''),
    lastChoices: chunks.at(-1)?.choices ?? null,
    usages: chunks.map((c) => c.usage ?? null),
  };
}

const scenarios = {
  async models() {
    const list = await client.models.list();
    const one = await client.models.retrieve(SECOND);
    return { ids: list.data.map((m) => m.id), owners: list.data.map((m) => m.owned_by),
             retrieved: one.id, unknown: await caught(client.models.retrieve('no-such-model')) };
  },

  async create() {
    const completion = await client.chat.completions.create({ model: 'GLM-4.5', messages: HELLO });
    const choice = completion.choices[0];
    return { id: completion.id, object: completion.object, role: choice.message.role,
             text: choice.message.content, reasoning: choice.message.reasoning_content,
             finishReason: choice.finish_reason, usage: completion.usage,
             requestID: completion._request_id };
  },

  async stream() {
    const { data: stream, request_id } = await client.chat.completions
      .create({ model: SECOND, messages: HELLO, stream: true }).withResponse();
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    return { ...summarize(chunks), requestID: request_id };
  },

  async streamUsage() {
    const stream = await client.chat.completions.create({
      model: 'GLM-4.5', messages: HELLO, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    return summarize(chunks);
  },

  async streamHelper() {
    const stream = client.chat.completions.stream({
      model: 'GLM-4.5', messages: HELLO, stream_options: { include_usage: true } });
    const deltas = [];
    stream.on('content', (delta) => deltas.push(delta));
    const final = await stream.finalChatCompletion();
    const choice = final.choices[0];
    return { role: choice.message.role, text: choice.message.content, finishReason: choice.finish_reason,
             usage: final.usage, deltas: deltas.join('') };
  },

  async badRequest() {
    return {
      emptyMessages: await caught(client.chat.completions.create({ model: 'GLM-4.5', messages: [] })),
      temperature: await caught(client.chat.completions.create({ model: 'GLM-4.5', messages: HELLO, temperature: 3 })),
      streamOptions: await caught(client.chat.completions.create({
        model: 'GLM-4.5', messages: HELLO, stream_options: { include_usage: true } })),
      unknownModel: await caught(client.chat.completions.create({ model: 'gpt-4o', messages: HELLO })),
    };
  },

  async wrongKey() {
    const wrong = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: 'sk-wrong', maxRetries: 0 });
    return { models: await caught(wrong.models.list()),
             chat: await caught(wrong.chat.completions.create({ model: 'GLM-4.5', messages: HELLO })) };
  },

  async upstream500() {
    const messages = directive({ fault: 'http500' });
    return {
      plain: await caught(client.chat.completions.create({ model: 'GLM-4.5', messages })),
      streaming: await caught((async () => {
        for await (const _ of await client.chat.completions.create({ model: 'GLM-4.5', messages, stream: true }));
      })()),
    };
  },

  async midStream() {
    const chunks = [];
    const error = await caught((async () => {
      const stream = await client.chat.completions.create({
        model: 'GLM-4.5', stream: true, messages: directive({ fault: 'error_mid', answer: 'a b c d e f g', chunk: 2 }) });
      for await (const chunk of stream) chunks.push(chunk);
    })());
    return { error, ...summarize(chunks) };
  },
};

const scenario = scenarios[process.argv[2]];
if (!scenario) {
  console.error(`unknown scenario ${process.argv[2]}; known: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
console.log(JSON.stringify(await scenario()));
