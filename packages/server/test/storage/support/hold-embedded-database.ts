// Test fixture (run with `node --import tsx`): opens the embedded database in <argv[2]>,
// prints the child's pid as one JSON line, then idles until killed.
import { openDatabase } from '../../../src/storage/database.js';
import { childPids } from './process-tree.js';

const handle = await openDatabase({ dataDir: process.argv[2]! });
await handle.ping();
process.stdout.write(`${JSON.stringify({ children: await childPids(process.pid) })}\n`);
setInterval(() => undefined, 60_000);
