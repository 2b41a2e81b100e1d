// Drives the Vercel AI SDK (ai + @ai-sdk/openai, chat-completions model) against ZtoApi and prints one JSON line.
// Usage: BASE_URL=http://127.0.0.1:PORT/v1 API_KEY=... node vercel_ai.mjs <scenario>
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, isStepCount, jsonSchema, streamText, tool } from 'ai';
import { z } from 'zod';

const provider = createOpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY });
const model = provider.chat('GLM-4.5');
const WEATHER = "What's the weather in Paris?";

// Declared with a zod schema and no execute: the SDK returns the call to the caller.
const getWeatherZod = tool({
  description: 'Get the current weather for a city.',
  inputSchema: z.object({ city: z.string() }),
});

// Declared with a JSON schema and an execute function: the SDK runs it and sends the result back.
const executed = [];
const getWeatherExecuting = tool({
  description: 'Get the current weather for a city.',
  inputSchema: jsonSchema({
    type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false,
  }),
  execute: async ({ city }) => {
    executed.push(city);
    return `sunny, 18 degrees, in ${city}`;
  },
});

function describe(error) {
  if (!error || typeof error !== 'object') return { name: typeof error, message: String(error) };
  return { name: error.name ?? error.constructor?.name ?? null, message: error.message ?? String(error),
           statusCode: error.statusCode ?? null, responseBody: error.responseBody ?? null };
}

function usage(u) {
  return u ? { inputTokens: u.inputTokens ?? null, outputTokens: u.outputTokens ?? null,
               totalTokens: u.totalTokens ?? null } : null;
}

function calls(toolCalls) {
  return toolCalls.map((c) => ({ toolCallId: c.toolCallId, toolName: c.toolName, input: c.input,
                                 invalid: c.invalid ?? false, dynamic: c.dynamic ?? false }));
}

async function collect(result) {
  const types = [];
  const toolCallParts = [];
  const errors = [];
  const inputStarts = [];
  const inputDeltas = {};
  let text = '';
  let finishPart = null;
  for await (const part of result.fullStream) {
    types.push(part.type);
    if (part.type === 'text-delta') text += part.text;
    if (part.type === 'tool-call') toolCallParts.push(part);
    if (part.type === 'error') errors.push(describe(part.error));
    if (part.type === 'tool-input-start') inputStarts.push({ id: part.id, toolName: part.toolName });
    if (part.type === 'tool-input-delta') inputDeltas[part.id] = (inputDeltas[part.id] ?? '') + part.delta;
    if (part.type === 'finish') finishPart = { finishReason: part.finishReason, totalUsage: usage(part.totalUsage) };
  }
  return {
    types: [...new Set(types)], text, errors, toolCalls: calls(toolCallParts), inputStarts, inputDeltas,
    finishPart, finishReason: await result.finishReason, usage: usage(await result.usage),
    totalUsage: usage(await result.totalUsage),
  };
}

const scenarios = {
  async text() {
    const result = await generateText({ model, prompt: 'Hello, please introduce yourself' });
    return { text: result.text, finishReason: result.finishReason, toolCalls: calls(result.toolCalls),
             usage: usage(result.usage) };
  },

  async streamText() {
    return collect(streamText({ model, prompt: 'Hello, please introduce yourself' }));
  },

  async toolCall() {
    const result = await generateText({ model, prompt: WEATHER, tools: { get_weather: getWeatherZod } });
    return { text: result.text, finishReason: result.finishReason, toolCalls: calls(result.toolCalls),
             contentTypes: result.content.map((p) => p.type), usage: usage(result.usage) };
  },

  async toolRoundTrip() {
    const result = await generateText({
      model, prompt: WEATHER, tools: { get_weather: getWeatherExecuting }, stopWhen: isStepCount(2) });
    return {
      text: result.text, finishReason: result.finishReason, executed,
      steps: result.steps.map((s) => ({
        finishReason: s.finishReason, text: s.text, toolCalls: calls(s.toolCalls),
        toolResults: s.toolResults.map((r) => ({ toolCallId: r.toolCallId, toolName: r.toolName, output: r.output })),
      })),
      totalUsage: usage(result.totalUsage),
    };
  },

  async streamTool() {
    return collect(streamText({ model, prompt: WEATHER, tools: { get_weather: getWeatherZod } }));
  },

  async streamToolRoundTrip() {
    const result = streamText({
      model, prompt: WEATHER, tools: { get_weather: getWeatherExecuting }, stopWhen: isStepCount(2) });
    const seen = await collect(result);
    const steps = await result.steps;
    return { ...seen, executed, stepFinishReasons: steps.map((s) => s.finishReason),
             toolResults: steps.flatMap((s) => s.toolResults.map((r) => ({ toolName: r.toolName, output: r.output }))) };
  },

  async streamTwoTools() {
    return collect(streamText({
      model, prompt: "What's the weather in Paris and in Tokyo?", tools: { get_weather: getWeatherZod } }));
  },
};

const scenario = scenarios[process.argv[2]];
if (!scenario) {
  console.error(`unknown scenario ${process.argv[2]}; known: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
try {
  console.log(JSON.stringify(await scenario()));
} catch (error) {
  console.log(JSON.stringify({ thrown: describe(error) }));
}
