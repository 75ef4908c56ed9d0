// Subscribes through the gateway as a frontend does, with the reference client of one
// transport, and prints each result as a JSON line until `count` results arrived.
//
//   node subscribe.mjs ws|sse <graphql url> <token> <subscription document> <count>
//
// An error (GraphQL or transport) is printed as {"error": …} and exits 1.
import { createClient as createWsClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import WebSocket from 'ws';

const [transport, url, token, query, countText] = process.argv.slice(2);
const count = Number(countText);
const authorization = `Bearer ${token}`;

const client =
  transport === 'ws'
    ? createWsClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { Authorization: authorization },
        retryAttempts: 0,
      })
    : createSseClient({ url, headers: { Authorization: authorization }, retryAttempts: 0 });

let seen = 0;
try {
  for await (const result of client.iterate({ query })) {
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    process.stdout.write(JSON.stringify(result.data) + '\n');
    seen += 1;
    if (seen >= count) break;
  }
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e?.message ?? e) }) + '\n');
  process.exitCode = 1;
}
client.dispose();
process.exit(process.exitCode ?? 0);
