// Drives OpenAI's Responses API from Node against ZtoApi: the openai SDK (create, stream, chains) and
// the Vercel AI SDK's default OpenAI model (which speaks the Responses API). Prints one JSON line.
// Usage: BASE_URL=http://127.0.0.1:PORT/v1 API_KEY=... node responses.mjs <scenario>
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, streamText, tool } from 'ai';
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY, maxRetries: 0 });
const provider = createOpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY });

const scenarios = {
  async create() {
    const response = await client.responses.create({ model: 'GLM-4.5', input: 'Hello' });
    return { id: response.id, status: response.status, text: response.output_text,
             types: response.output.map((item) => item.type), usage: response.usage };
  },

  async stream() {
    const stream = client.responses.stream({ model: 'GLM-4.5', input: 'Hello', reasoning: { effort: 'high' } });
    const types = [];
    let text = '';
    let summary = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.reasoning_summary_text.delta') summary += event.delta;
    }
    const final = await stream.finalResponse();
    return { types, text, summary, finalText: final.output_text, status: final.status };
  },

  async chain() {
    const first = await client.responses.create({ model: 'GLM-4.5', input: 'My name is Ada.' });
    const second = await client.responses.create({ model: 'GLM-4.5', input: 'What is my name?',
                                                   previous_response_id: first.id });
    const stream = client.responses.stream({ model: 'GLM-4.5', input: 'And again?',
                                             previous_response_id: second.id });
    const third = await stream.finalResponse();
    let missing;
    try {
      await client.responses.create({ model: 'GLM-4.5', input: 'Hi', previous_response_id: 'resp_nothing' });
    } catch (error) {
      missing = { name: error.constructor.name, status: error.status, param: error.param };
    }
    return { second: second.output_text, secondPrevious: second.previous_response_id, firstId: first.id,
             third: third.output_text, thirdPrevious: third.previous_response_id, secondId: second.id, missing };
  },

  async aiSdk() {
    const executed = [];
    const getWeather = tool({
      description: 'Get the current weather for a city.',
      inputSchema: jsonSchema({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'],
                                additionalProperties: false }),
      execute: async ({ city }) => { executed.push(city); return `sunny in ${city}`; },
    });
    const plain = await generateText({ model: provider('GLM-4.5'), prompt: 'Hello' });
    const streamed = streamText({ model: provider('GLM-4.5'), prompt: 'Hello' });
    let streamedText = '';
    for await (const piece of streamed.textStream) streamedText += piece;
    const withTool = await generateText({
      model: provider('GLM-4.5'), tools: { get_weather: getWeather }, maxRetries: 0,
      stopWhen: ({ steps }) => steps.length >= 2,
      prompt: '[[fake {"answer": "{\\"tool_calls\\": [{\\"name\\": \\"get_weather\\", \\"arguments\\": {\\"city\\": \\"Paris\\"}}]}"}]]',
    });
    return { plain: plain.text, reasoning: plain.reasoningText ?? null, streamed: streamedText, executed,
             steps: withTool.steps.length, toolResults: withTool.steps[0].toolResults.map((r) => r.output) };
  },
};

const result = await scenarios[process.argv[2]]();
console.log(JSON.stringify(result));
